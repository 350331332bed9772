-- The download row's foreign keys as pairs, as on SQLite (its 0019), so
-- the row takes one index entry fewer on a free download and two on a
-- charged one (the purchase's and membership's were partial). The file's,
-- purchase's and membership's indexes served no read; they were there for
-- the keys' lookups on a parent's delete or key change, which the library
-- never does (files, purchases and memberships change state, they are not
-- deleted, and a PostgreSQL update that leaves a key as it was checks
-- nothing).
-- The keys stay, each led by a column an index the reads need already
-- leads with:
-- - the file is the download's workflow's: (workflow_id, file_id), found
--   through the workflow's history index;
-- - the purchase or membership is the downloading user's: (user_id,
--   purchase_id), (user_id, membership_id), through the user's index.
-- Both hold of every download the access rule grants (a purchase or a
-- membership covers only its own user) and are stricter than the single
-- keys were. The constraints keep their names, which the store maps to
-- `NotFound` of the file, purchase or membership. A pair with a NULL is
-- not checked, so a charged download must name its user.
--
-- The keys and the CHECK are added NOT VALID: this statement's lock on the
-- download rows (which stops reads and writes) then lasts no longer than
-- the catalog change, and migration 0018 checks the rows already there
-- under a lock that lets downloads go on. A row that breaks a pair fails
-- 0018 with the key and the row's values.
ALTER TABLE workflow_files ADD CONSTRAINT workflow_files_workflow_id_id_key
    UNIQUE (workflow_id, id);
ALTER TABLE workflow_purchases ADD CONSTRAINT workflow_purchases_user_id_id_key
    UNIQUE (user_id, id);
ALTER TABLE memberships ADD CONSTRAINT memberships_user_id_id_key UNIQUE (user_id, id);

ALTER TABLE workflow_downloads
    DROP CONSTRAINT workflow_downloads_file_id_fkey,
    DROP CONSTRAINT workflow_downloads_purchase_id_fkey,
    DROP CONSTRAINT workflow_downloads_membership_id_fkey,
    ADD CONSTRAINT workflow_downloads_file_id_fkey FOREIGN KEY (workflow_id, file_id)
        REFERENCES workflow_files (workflow_id, id) ON DELETE CASCADE NOT VALID,
    ADD CONSTRAINT workflow_downloads_purchase_id_fkey FOREIGN KEY (user_id, purchase_id)
        REFERENCES workflow_purchases (user_id, id) NOT VALID,
    ADD CONSTRAINT workflow_downloads_membership_id_fkey FOREIGN KEY (user_id, membership_id)
        REFERENCES memberships (user_id, id) NOT VALID,
    ADD CONSTRAINT workflow_downloads_charged_user
        CHECK (user_id IS NOT NULL OR (purchase_id IS NULL AND membership_id IS NULL)) NOT VALID;

DROP INDEX idx_workflow_downloads_file;
DROP INDEX idx_workflow_downloads_purchase;
DROP INDEX idx_workflow_downloads_membership;

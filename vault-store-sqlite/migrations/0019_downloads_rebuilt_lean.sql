-- The download row, the one row every download writes, rebuilt to write
-- fewer pages. A commit writes each page it dirtied to the WAL (two
-- writes and a checksum of the whole page each); a download dirtied one
-- leaf in each of the row's seven b-trees, now four. Measured with
-- `PROFILE_SQL` (benches/HISTORY.md): 77 -> 65 us a download on the
-- bench's 10k set without the three indexes and the IN lists.
--
-- * Three indexes are gone: the file's, the purchase's and the
--   membership's. No read used them; they were there for the foreign
--   keys' lookups on a parent's delete or key change, which the library
--   never does (files, purchases and memberships change state, they are
--   not deleted, and their edits set the paired column only when it
--   changes). The foreign keys stay, widened to pairs whose first column
--   an index the reads need already leads with:
--   - the file is the download's workflow's: (workflow_id, file_id), led
--     by the workflow's history index;
--   - the purchase or membership is the downloading user's:
--     (user_id, purchase_id), (user_id, membership_id), led by the user's
--     history index.
--   Both pairs hold of every download the access rule grants (a purchase
--   or membership covers only its own user), and are stricter than the
--   single keys were. Each parent gains the unique pair its key needs. A
--   pair with a NULL is not checked, so a download charged to a purchase
--   or membership must name its user (a CHECK).
-- * "Has this user downloaded this workflow before" (archived workflows
--   stay open to those who did) is a row per pair in
--   `workflow_downloaders`, written once, at the pair's first download,
--   where an index of (user, workflow) over the download rows took an
--   entry on every download. A repeated download writes nothing there.
-- * The CHECK lists are spelled as OR chains: SQLite evaluates an `IN`
--   list of three or more constants through an ephemeral index it builds
--   and drops on every insert (~12k instructions each here).
CREATE UNIQUE INDEX idx_workflow_files_workflow_id ON workflow_files (workflow_id, id);
CREATE UNIQUE INDEX idx_workflow_purchases_user_id ON workflow_purchases (user_id, id);
CREATE UNIQUE INDEX idx_memberships_user_id ON memberships (user_id, id);

CREATE TABLE workflow_downloads_lean (
    id            TEXT PRIMARY KEY,
    user_id       TEXT,
    workflow_id   TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    file_id       TEXT NOT NULL,
    file_version  TEXT NOT NULL,
    download_type TEXT NOT NULL CHECK (
        download_type = 'free' OR download_type = 'purchased'
        OR download_type = 'membership' OR download_type = 'trial'
    ),
    source        TEXT NOT NULL CHECK (
        source = 'free' OR source = 'purchase' OR source = 'membership' OR source = 'staff'
    ),
    purchase_id   TEXT,
    membership_id TEXT,
    ip_hash       TEXT,
    user_agent    TEXT,
    referrer      TEXT,
    country_code  TEXT,
    downloaded_at TEXT NOT NULL,
    CHECK (user_id IS NOT NULL OR (purchase_id IS NULL AND membership_id IS NULL)),
    FOREIGN KEY (workflow_id, file_id) REFERENCES workflow_files (workflow_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (user_id, purchase_id) REFERENCES workflow_purchases (user_id, id),
    FOREIGN KEY (user_id, membership_id) REFERENCES memberships (user_id, id)
);
INSERT INTO workflow_downloads_lean (id, user_id, workflow_id, file_id, file_version,
    download_type, source, purchase_id, membership_id, ip_hash, user_agent, referrer,
    country_code, downloaded_at)
SELECT id, user_id, workflow_id, file_id, file_version, download_type, source, purchase_id,
    membership_id, ip_hash, user_agent, referrer, country_code, downloaded_at
FROM workflow_downloads ORDER BY rowid;
DROP TABLE workflow_downloads;
ALTER TABLE workflow_downloads_lean RENAME TO workflow_downloads;

CREATE INDEX idx_workflow_downloads_user ON workflow_downloads (user_id, downloaded_at DESC, id);
CREATE INDEX idx_workflow_downloads_workflow
    ON workflow_downloads (workflow_id, downloaded_at DESC, id);

-- Keyed by the workflow first, so the key also serves the foreign key's
-- lookup; the access read's probe names both columns.
CREATE TABLE workflow_downloaders (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (workflow_id, user_id)
) WITHOUT ROWID;
INSERT INTO workflow_downloaders (workflow_id, user_id)
SELECT DISTINCT workflow_id, user_id FROM workflow_downloads WHERE user_id IS NOT NULL;

-- A user's purchases covering a workflow, found in the user's index
-- alone. The access read walked the user's purchases and probed the
-- items' primary key for each (ten seeks of text keys for a user of ten
-- purchases, ~1.6k instructions each: callgrind, `profile_loop
-- check_access sqlite`). A purchase of one workflow (one-time, or included
-- in a membership) covers the workflow its row names; only a bundle's
-- needs its items. With the type and the workflow in the index, a
-- purchase of another workflow is passed over without reading its row.
-- It replaces 0001's index of the user's purchases, which it serves as
-- well.
CREATE INDEX idx_workflow_purchases_user_items
    ON workflow_purchases (user_id, created_at DESC, id, purchase_type, workflow_id);
DROP INDEX idx_workflow_purchases_user;

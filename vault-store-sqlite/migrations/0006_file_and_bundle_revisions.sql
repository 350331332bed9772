-- Files and bundles are edited like workflows: each edit is written only
-- over the revision it was made from, and bumps it.
ALTER TABLE workflow_files ADD COLUMN revision INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE workflow_bundles ADD COLUMN revision INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0);

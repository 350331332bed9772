-- A workflow's page (the seed's `workflow_assets` and `workflow_docs`) and
-- the soft delete of workflows (the seed's `workflows.is_deleted`, kept as
-- the instant it happened: NULL while the workflow is live).
--
-- Positions are the store's: every write that moves them (append, removal,
-- reorder) rewrites a workflow's positions as `0..n` in one transaction,
-- by vault-core's rules (`catalog::page`). They are not UNIQUE per
-- workflow because a reorder rewrites them one row at a time.
ALTER TABLE workflows ADD COLUMN deleted_at TEXT;

CREATE TABLE workflow_assets (
    id          TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'thumbnail', 'video', 'file')),
    url         TEXT NOT NULL,
    alt         TEXT NOT NULL,
    position    INTEGER NOT NULL CHECK (position >= 0),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0)
);
CREATE INDEX idx_workflow_assets_wf ON workflow_assets (workflow_id, position, id);

CREATE TABLE workflow_docs (
    id          TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    position    INTEGER NOT NULL CHECK (position >= 0),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0)
);
CREATE INDEX idx_workflow_docs_wf ON workflow_docs (workflow_id, position, id);

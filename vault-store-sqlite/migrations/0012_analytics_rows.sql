-- The rows the analytics check (vault-core's insight::rebuild) counts a
-- day's refunds, favorites and reviews again from: each refund's share per
-- workflow, each favorite added (kept after an unfavorite deletes the
-- bookmark), and each review's first approval (kept after a deletion).
CREATE TABLE purchase_refunds (
    purchase_id  TEXT NOT NULL REFERENCES workflow_purchases (id) ON DELETE CASCADE,
    workflow_id  TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    refunded_at  TEXT NOT NULL
);
CREATE INDEX idx_purchase_refunds_purchase ON purchase_refunds (purchase_id);
CREATE INDEX idx_purchase_refunds_time ON purchase_refunds (refunded_at);
-- A workflow's deletion cascades here; without it each one scans the table.
CREATE INDEX idx_purchase_refunds_workflow ON purchase_refunds (workflow_id);

CREATE TABLE workflow_favorite_adds (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    added_at    TEXT NOT NULL
);
CREATE INDEX idx_workflow_favorite_adds_time ON workflow_favorite_adds (added_at);
CREATE INDEX idx_workflow_favorite_adds_workflow ON workflow_favorite_adds (workflow_id);
-- Bookmarks held now were each added once; ones removed before this
-- migration left no trace, so days before it may differ in favorites.
INSERT INTO workflow_favorite_adds (workflow_id, added_at)
SELECT workflow_id, created_at FROM workflow_favorites;

-- When a review was first approved. Approved reviews before this migration
-- take their last moderation as their first approval.
ALTER TABLE workflow_reviews ADD COLUMN approved_at TEXT;
UPDATE workflow_reviews SET approved_at = COALESCE(moderated_at, updated_at) WHERE status = 'approved';

-- Each review's first approval, kept after the review is deleted (the
-- day's `reviews` figure counted it).
CREATE TABLE workflow_review_approvals (
    review_id   TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    approved_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX idx_workflow_review_approvals_time ON workflow_review_approvals (approved_at);
CREATE INDEX idx_workflow_review_approvals_workflow ON workflow_review_approvals (workflow_id);
INSERT INTO workflow_review_approvals (review_id, workflow_id, approved_at)
SELECT id, workflow_id, approved_at FROM workflow_reviews WHERE approved_at IS NOT NULL;

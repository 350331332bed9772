-- The listings across workflows (vault-core `community::review_query` and
-- `community::comment_feed`): a user's own reviews and comments, the
-- moderation queue by status, recent and hidden comments. Each index is the
-- filter, then the listing's order, so a page is one range read from its
-- cursor, never a scan of the pages before it.

-- Reviews are ordered by (created_at, id), read forwards (oldest first) or
-- backwards (newest first). The user index replaces the one on user_id
-- alone, which it covers.
DROP INDEX idx_workflow_reviews_user;
CREATE INDEX idx_workflow_reviews_user_created ON workflow_reviews (user_id, created_at, id);
CREATE INDEX idx_workflow_reviews_status_created ON workflow_reviews (status, created_at, id);
CREATE INDEX idx_workflow_reviews_created ON workflow_reviews (created_at, id);

-- The comment feed is newest first, ties by id ascending, as a workflow's
-- listing, and never lists deleted comments; hidden ones are few, so
-- the staff's hidden-only view has an index of its own.
CREATE INDEX idx_comments_user_newest ON comments (user_id, created_at DESC, id)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_comments_newest ON comments (created_at DESC, id)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_comments_hidden_newest ON comments (created_at DESC, id)
    WHERE is_hidden = 1 AND deleted_at IS NULL;

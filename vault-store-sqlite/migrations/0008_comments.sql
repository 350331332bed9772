-- Comments (the seed's `comments` and `comment_likes`): threads at most
-- three levels deep, soft-deleted so replies keep their parent, hidden by
-- moderators, liked once per user. `likes_count` moves in the same
-- transaction as the like rows, so it always equals them.
CREATE TABLE comments (
    id                TEXT PRIMARY KEY,
    workflow_id       TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    parent_comment_id TEXT REFERENCES comments (id) ON DELETE CASCADE,
    depth             INTEGER NOT NULL CHECK (depth >= 0 AND depth < 3),
    user_id           TEXT NOT NULL,
    content           TEXT NOT NULL,
    is_edited         INTEGER NOT NULL DEFAULT 0 CHECK (is_edited IN (0, 1)),
    is_hidden         INTEGER NOT NULL DEFAULT 0 CHECK (is_hidden IN (0, 1)),
    deleted_at        TEXT,
    likes_count       INTEGER NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    revision          INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    -- A comment at depth 0 has no parent; a reply always has one.
    CHECK ((parent_comment_id IS NULL) = (depth = 0)),
    -- A deleted comment keeps its place, not its words.
    CHECK (deleted_at IS NULL OR content = '')
);
-- The two listing orders, each key descending then id.
CREATE INDEX idx_comments_workflow_newest ON comments (workflow_id, created_at DESC, id);
CREATE INDEX idx_comments_workflow_liked ON comments (workflow_id, likes_count DESC, id);
CREATE INDEX idx_comments_parent ON comments (parent_comment_id);

CREATE TABLE comment_likes (
    comment_id TEXT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_id)
) WITHOUT ROWID;
CREATE INDEX idx_comment_likes_user ON comment_likes (user_id);

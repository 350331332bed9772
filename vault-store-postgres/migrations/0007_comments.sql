-- Comments (the seed's `comments` and `comment_likes`): threads at most
-- three levels deep, soft-deleted so replies keep their parent, hidden by
-- moderators, liked once per user. `likes_count` moves in the same
-- transaction as the like rows, so it always equals them.
CREATE TABLE comments (
    id                UUID PRIMARY KEY,
    workflow_id       UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    parent_comment_id UUID REFERENCES comments (id) ON DELETE CASCADE,
    depth             SMALLINT NOT NULL CHECK (depth >= 0 AND depth < 3),
    user_id           TEXT NOT NULL,
    content           TEXT NOT NULL,
    is_edited         BOOLEAN NOT NULL DEFAULT FALSE,
    is_hidden         BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at        TIMESTAMPTZ,
    likes_count       BIGINT NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    revision          BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0),
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
    comment_id UUID NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX idx_comment_likes_user ON comment_likes (user_id);

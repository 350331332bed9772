-- The marketplace seed's users, user_settings, system_settings and
-- audit_logs (issue "Accounts, settings, an audit trail...").

-- One row per app user that has an account, keyed by the app's user id
-- (purchases, downloads and reviews already refer to it as text).
CREATE TABLE accounts (
    user_id       TEXT PRIMARY KEY,
    email         TEXT,
    -- Email::key (lower case): the unique index decides between concurrent
    -- sign-ups inside their writes. NULL once erased.
    email_key     TEXT,
    display_name  TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT,
    bio           TEXT,
    website       TEXT,
    location      TEXT,
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    credential    TEXT,
    last_login_at TIMESTAMPTZ,
    banned_at     TIMESTAMPTZ,
    ban_reason    TEXT,
    deleted_at    TIMESTAMPTZ,
    erased_at     TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    revision      BIGINT NOT NULL CHECK (revision >= 0)
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);
-- Keys compare as bytes, as in Rust and SQLite (cursor pages).
CREATE INDEX accounts_newest ON accounts (created_at DESC, user_id COLLATE "C" DESC);

CREATE TABLE user_settings (
    user_id             TEXT PRIMARY KEY REFERENCES accounts (user_id),
    email_notifications BOOLEAN NOT NULL,
    workflow_updates    BOOLEAN NOT NULL,
    marketing_emails    BOOLEAN NOT NULL,
    locale              TEXT NOT NULL,
    timezone            TEXT NOT NULL
);

-- Typed by the registry in vault-core (settings::system): the key names
-- the type, the value is its text form.
CREATE TABLE system_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit_logs (
    id          UUID PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     JSONB NOT NULL
);
CREATE INDEX audit_logs_newest ON audit_logs (at DESC, id DESC);
CREATE INDEX audit_logs_by_actor ON audit_logs (actor_id, at DESC, id DESC);
CREATE INDEX audit_logs_by_target ON audit_logs (target_type, target_id, at DESC, id DESC);

-- Append-only for every role, the table's owner included: UPDATE, DELETE
-- and TRUNCATE raise.
CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only';
END;
$$;
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

-- The marketplace seed's users, user_settings, system_settings and
-- audit_logs (issue "Accounts, settings, an audit trail...").

-- One row per app user that has an account; the app's user id is the key
-- (purchases, downloads and reviews already refer to it as text).
CREATE TABLE accounts (
    user_id       TEXT PRIMARY KEY,
    email         TEXT,
    -- Email::key (lower case): uniqueness is decided here, inside the
    -- write, so concurrent sign-ups with one address give one account.
    -- NULL once erased (several NULLs never clash).
    email_key     TEXT UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT,
    bio           TEXT,
    website       TEXT,
    location      TEXT,
    role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    credential    TEXT,
    last_login_at TEXT,
    banned_at     TEXT,
    ban_reason    TEXT,
    deleted_at    TEXT,
    erased_at     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    revision      INTEGER NOT NULL CHECK (revision >= 0)
);
CREATE INDEX accounts_newest ON accounts (created_at DESC, user_id DESC);

CREATE TABLE user_settings (
    user_id             TEXT PRIMARY KEY REFERENCES accounts (user_id),
    email_notifications INTEGER NOT NULL CHECK (email_notifications IN (0, 1)),
    workflow_updates    INTEGER NOT NULL CHECK (workflow_updates IN (0, 1)),
    marketing_emails    INTEGER NOT NULL CHECK (marketing_emails IN (0, 1)),
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
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     TEXT NOT NULL
);
CREATE INDEX audit_logs_newest ON audit_logs (at DESC, id DESC);
CREATE INDEX audit_logs_by_actor ON audit_logs (actor_id, at DESC, id DESC);
CREATE INDEX audit_logs_by_target ON audit_logs (target_type, target_id, at DESC, id DESC);

-- Append-only: whatever connects to the file, an entry is never changed
-- or removed.
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

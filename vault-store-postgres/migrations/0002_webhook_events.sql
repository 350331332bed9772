-- Webhook events from the payment provider (seed 003's stripe_webhook_events):
-- each event id is applied at most once; the newest applied `created` per
-- object keeps older events from rolling state back.
CREATE TABLE stripe_webhook_events (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    object_id   TEXT,
    created     TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('received', 'processed', 'failed')),
    attempts    INTEGER NOT NULL CHECK (attempts >= 0),
    last_error  TEXT,
    applied     BOOLEAN NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX idx_stripe_webhook_events_object ON stripe_webhook_events (object_id, created)
    WHERE status = 'processed' AND applied;
CREATE INDEX idx_stripe_webhook_events_status ON stripe_webhook_events (status, received_at);

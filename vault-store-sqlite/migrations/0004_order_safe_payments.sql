-- Payments that arrive out of order (vault-core's `refund` and `subscription`
-- docs): what the vault must remember so that the final state depends only
-- on which provider events happened, not on the order they arrived in.

-- How a purchase's dispute closed: an opening delivered after its close then
-- changes nothing.
ALTER TABLE workflow_purchases ADD COLUMN dispute_outcome TEXT
    CHECK (dispute_outcome IN ('won', 'lost'));

-- The stamps (created, rank, event id) of the provider events a membership's
-- status and terms came from, as JSON: an older event changes nothing.
ALTER TABLE memberships ADD COLUMN provider_sync TEXT;

-- One membership follows one provider subscription: two deliveries that
-- would both start it cannot both insert.
DROP INDEX idx_memberships_subscription;
CREATE UNIQUE INDEX idx_memberships_subscription ON memberships (stripe_subscription_id)
    WHERE stripe_subscription_id IS NOT NULL;

-- Webhook events that refer to something not known yet are parked with
-- their payload; parked ones that wait too long expire. SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt.
CREATE TABLE stripe_webhook_events_new (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    object_id   TEXT,
    created     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'parked', 'expired')),
    attempts    INTEGER NOT NULL CHECK (attempts >= 0),
    last_error  TEXT,
    applied     INTEGER NOT NULL CHECK (applied IN (0, 1)),
    received_at TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    finished_at TEXT,
    waiting_for TEXT,
    parked_at   TEXT,
    payload     TEXT,
    CHECK (status <> 'parked' OR (waiting_for IS NOT NULL AND parked_at IS NOT NULL AND payload IS NOT NULL))
);
INSERT INTO stripe_webhook_events_new
    (id, event_type, object_id, created, status, attempts, last_error, applied, received_at,
     claimed_at, finished_at)
SELECT id, event_type, object_id, created, status, attempts, last_error, applied, received_at,
       claimed_at, finished_at
FROM stripe_webhook_events;
DROP TABLE stripe_webhook_events;
ALTER TABLE stripe_webhook_events_new RENAME TO stripe_webhook_events;
CREATE INDEX idx_stripe_webhook_events_status ON stripe_webhook_events (status, received_at, id);
CREATE INDEX idx_stripe_webhook_events_waiting ON stripe_webhook_events (waiting_for, received_at, id)
    WHERE status = 'parked';

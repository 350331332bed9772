-- Payments that arrive out of order (vault-core's `refund` and `subscription`
-- docs): what the vault must remember so that the final state depends only
-- on which provider events happened, not on the order they arrived in.

-- How a purchase's dispute closed: an opening delivered after its close then
-- changes nothing.
ALTER TABLE workflow_purchases ADD COLUMN dispute_outcome TEXT
    CHECK (dispute_outcome IN ('won', 'lost'));

-- The stamps (created, rank, event id) of the provider events a membership's
-- status and terms came from: an older event changes nothing.
ALTER TABLE memberships ADD COLUMN provider_sync JSONB;

-- One membership follows one provider subscription: two deliveries that
-- would both start it cannot both insert.
DROP INDEX idx_memberships_subscription;
CREATE UNIQUE INDEX idx_memberships_subscription ON memberships (stripe_subscription_id)
    WHERE stripe_subscription_id IS NOT NULL;

-- Webhook events that refer to something not known yet are parked with
-- their payload; parked ones that wait too long expire.
ALTER TABLE stripe_webhook_events DROP CONSTRAINT stripe_webhook_events_status_check;
ALTER TABLE stripe_webhook_events
    ADD CONSTRAINT stripe_webhook_events_status_check
        CHECK (status IN ('received', 'processed', 'failed', 'parked', 'expired')),
    ADD COLUMN waiting_for TEXT,
    ADD COLUMN parked_at TIMESTAMPTZ,
    ADD COLUMN payload TEXT,
    ADD CONSTRAINT stripe_webhook_events_parked_check
        CHECK (status <> 'parked' OR (waiting_for IS NOT NULL AND parked_at IS NOT NULL AND payload IS NOT NULL));
DROP INDEX idx_stripe_webhook_events_object;
DROP INDEX idx_stripe_webhook_events_status;
CREATE INDEX idx_stripe_webhook_events_status ON stripe_webhook_events (status, received_at, id);
CREATE INDEX idx_stripe_webhook_events_waiting ON stripe_webhook_events (waiting_for, received_at, id)
    WHERE status = 'parked';

-- The active_memberships view agrees with vault-core's rule
-- (`ActiveMembershipRow::of`): it reads the same instants the rule reads.

-- When a past-due membership's grace ends, fixed as it is written past due
-- (`Membership::settle_grace`). Rows already past due get the default
-- policy's three days from when they became past due.
ALTER TABLE memberships ADD COLUMN grace_ends_at TEXT;
UPDATE memberships
   SET grace_ends_at = strftime('%Y-%m-%dT%H:%M:%f', COALESCE(past_due_since, current_period_end), '+3 days') || '000000Z'
 WHERE status = 'past_due';

-- The instant a report is read at: empty, the view reads the database's
-- clock; a store writes one row inside the transaction that reads the view
-- (the vault's injected clock) and removes it before it commits.
CREATE TABLE vault_report_clock (
    at TEXT NOT NULL
);

DROP VIEW active_memberships;

-- Timestamps are fixed-width RFC 3339 text with nine fractional digits, so
-- text order is time order; days are whole days of the exact difference.
CREATE VIEW active_memberships AS
WITH clock(now) AS (
    SELECT COALESCE((SELECT max(at) FROM vault_report_clock),
                    strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000000Z')
),
live AS (
    SELECT m.*,
           CASE m.status
               WHEN 'trialing' THEN COALESCE(m.trial_ends_at, m.current_period_end)
               WHEN 'past_due' THEN m.grace_ends_at
               ELSE m.current_period_end
           END AS standing_ends_at
    FROM memberships m
    WHERE m.status IN ('trialing', 'active', 'past_due')
)
SELECT l.id, l.user_id, l.tier, l.status, l.trial_ends_at, l.current_period_start,
       l.current_period_end, l.period_download_limit, l.period_downloads_used,
       l.cancel_at_period_end, l.past_due_since, l.grace_ends_at, l.canceled_at, l.ended_at,
       l.features, l.enrolled_at, l.stripe_customer_id, l.stripe_subscription_id,
       l.stripe_price_id, l.provider_sync, l.created_at, l.updated_at, l.revision,
       CASE
           WHEN l.status = 'trialing' THEN 'trial'
           WHEN l.status = 'past_due' THEN 'grace'
           WHEN l.cancel_at_period_end = 1 THEN 'ending'
           ELSE 'active'
       END AS computed_status,
       (unixepoch(substr(l.standing_ends_at, 1, 19)) - unixepoch(substr(clock.now, 1, 19))
        - (CAST(substr(l.standing_ends_at, 21, 9) AS INTEGER) < CAST(substr(clock.now, 21, 9) AS INTEGER))
       ) / 86400 AS days_remaining,
       CASE WHEN l.period_download_limit IS NULL THEN NULL
            ELSE MAX(l.period_download_limit - l.period_downloads_used, 0) END AS downloads_remaining
FROM live l, clock
WHERE l.standing_ends_at > clock.now;

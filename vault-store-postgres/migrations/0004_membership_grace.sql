-- The active_memberships view agrees with vault-core's rule
-- (`ActiveMembershipRow::of`): it reads the same instants the rule reads.

-- When a past-due membership's grace ends, fixed as it is written past due
-- (`Membership::settle_grace`). Rows already past due get the default
-- policy's three days from when they became past due.
ALTER TABLE memberships ADD COLUMN grace_ends_at TIMESTAMPTZ;
UPDATE memberships
   SET grace_ends_at = COALESCE(past_due_since, current_period_end) + interval '3 days'
 WHERE status = 'past_due';

-- The view reads its instant from the transaction-local setting
-- `vault.report_now` when a store sets it (the vault's injected clock),
-- else the database's clock. Recreated with the options it had (the
-- row-level-security script makes it a security_invoker view).
DO $$
DECLARE
    opts text[];
BEGIN
    SELECT reloptions INTO opts FROM pg_class WHERE oid = 'active_memberships'::regclass;
    DROP VIEW active_memberships;
    CREATE VIEW active_memberships AS
    WITH clock AS (
        SELECT COALESCE(NULLIF(current_setting('vault.report_now', true), '')::timestamptz, now()) AS now
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
               WHEN l.cancel_at_period_end THEN 'ending'
               ELSE 'active'
           END AS computed_status,
           floor(EXTRACT(EPOCH FROM l.standing_ends_at - clock.now) / 86400)::bigint AS days_remaining,
           CASE WHEN l.period_download_limit IS NULL THEN NULL
                ELSE GREATEST(l.period_download_limit - l.period_downloads_used, 0) END AS downloads_remaining
    FROM live l, clock
    WHERE l.standing_ends_at > clock.now;
    IF opts IS NOT NULL THEN
        EXECUTE format('ALTER VIEW active_memberships SET (%s)', array_to_string(opts, ', '));
    END IF;
END
$$;

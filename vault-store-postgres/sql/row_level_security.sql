-- Optional row-level security, for apps that expose the database directly
-- (PostgREST, Supabase, a BI tool). vault-store-postgres does not need it:
-- it connects as the owner of the tables, which RLS does not restrict (the
-- policies are not FORCEd), and it enforces access in vault-core.
--
-- Apply after the migration, as the tables' owner:
--     psql -f sql/row_level_security.sql    or    install_row_level_security(&pool)
-- Re-running it is harmless.
--
-- Roles (cluster-wide, NOLOGIN: grant them to your login roles):
--   vault_anon     anonymous visitors: published content only
--   vault_user     a signed-in user, identified per transaction or session by
--                  SET app.user_id = '<user id>' (SET LOCAL / set_config(..., true)
--                  inside a transaction when connections are pooled). Sees
--                  published content plus their own purchases, downloads,
--                  favorites, memberships, reviews and votes.
--   vault_service  the service role: full access to every row.
--
-- Users only read through these policies: every write moves counters that
-- the store maintains in the same transaction, so writes go through the
-- service (Vault over PgStore, or vault_service).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vault_anon') THEN
        CREATE ROLE vault_anon NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vault_user') THEN
        CREATE ROLE vault_user NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vault_service') THEN
        CREATE ROLE vault_service NOLOGIN;
    END IF;
END
$$;

-- The signed-in user, or NULL (which matches no row).
CREATE OR REPLACE FUNCTION vault_current_user_id() RETURNS TEXT
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '') $$;

GRANT USAGE ON SCHEMA public TO vault_anon, vault_user, vault_service;
GRANT EXECUTE ON FUNCTION vault_current_user_id() TO vault_anon, vault_user, vault_service;

-- Public catalog: anonymous visitors and users read it, filtered below.
GRANT SELECT ON workflow_categories, workflows, workflow_files, workflow_updates,
    workflow_bundles, workflow_bundle_items, workflow_reviews, workflow_download_counts,
    workflow_file_download_counts, workflow_category_download_counts
    TO vault_anon, vault_user;
-- Per-user data: users read their own rows.
GRANT SELECT ON memberships, workflow_purchases, workflow_purchase_items, workflow_downloads,
    workflow_favorites, workflow_review_votes, active_memberships,
    workflow_purchase_download_counts
    TO vault_user;
-- The service role does everything with the data, not with the migration
-- history.
GRANT ALL ON ALL TABLES IN SCHEMA public TO vault_service;
DO $$
BEGIN
    IF to_regclass('_sqlx_migrations') IS NOT NULL THEN
        REVOKE ALL ON _sqlx_migrations FROM vault_service;
    END IF;
END
$$;

-- Views check the querying role's policies, not their owner's.
ALTER VIEW active_memberships SET (security_invoker = true);
ALTER VIEW workflow_stats SET (security_invoker = true);

ALTER TABLE workflow_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_updates ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_bundles ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_bundle_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_purchases ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_purchase_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_downloads ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_review_votes ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_download_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_file_download_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_category_download_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_purchase_download_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_analytics_visitors ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_favorites ENABLE ROW LEVEL SECURITY;

-- Service role: every row of every table.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['workflow_categories', 'workflows', 'workflow_files',
        'workflow_updates', 'workflow_bundles', 'workflow_bundle_items', 'memberships',
        'workflow_purchases', 'workflow_purchase_items', 'workflow_downloads',
        'workflow_reviews', 'workflow_review_votes', 'workflow_analytics',
        'workflow_analytics_visitors', 'workflow_favorites', 'workflow_download_counts',
        'workflow_file_download_counts', 'workflow_category_download_counts',
        'workflow_purchase_download_counts']
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS service_all ON %I', t);
        EXECUTE format('CREATE POLICY service_all ON %I TO vault_service USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- Public reads of published content.
DROP POLICY IF EXISTS public_read ON workflow_categories;
CREATE POLICY public_read ON workflow_categories FOR SELECT TO vault_anon, vault_user
    USING (is_active);

DROP POLICY IF EXISTS public_read ON workflows;
CREATE POLICY public_read ON workflows FOR SELECT TO vault_anon, vault_user
    USING (status IN ('published', 'coming_soon'));

-- A workflow's download count, where its workflow is readable (the
-- workflows policy applies inside the sub-query).
DROP POLICY IF EXISTS public_read ON workflow_download_counts;
CREATE POLICY public_read ON workflow_download_counts FOR SELECT TO vault_anon, vault_user
    USING (EXISTS (SELECT 1 FROM workflows w WHERE w.id = workflow_download_counts.workflow_id));

-- A file's and a category's download counts, where the file or category is
-- readable (their policies apply inside the sub-queries).
DROP POLICY IF EXISTS public_read ON workflow_file_download_counts;
CREATE POLICY public_read ON workflow_file_download_counts FOR SELECT TO vault_anon, vault_user
    USING (EXISTS (SELECT 1 FROM workflow_files f
                   WHERE f.id = workflow_file_download_counts.file_id));
DROP POLICY IF EXISTS public_read ON workflow_category_download_counts;
CREATE POLICY public_read ON workflow_category_download_counts FOR SELECT
    TO vault_anon, vault_user
    USING (EXISTS (SELECT 1 FROM workflow_categories c
                   WHERE c.id = workflow_category_download_counts.category_id));

-- File metadata (not the bytes, which the app serves through signed URLs):
-- public previews of published workflows for everyone; every file of a
-- workflow for users holding a completed purchase that covers it.
DROP POLICY IF EXISTS public_read ON workflow_files;
CREATE POLICY public_read ON workflow_files FOR SELECT TO vault_anon, vault_user
    USING (access ->> 'level' = 'public'
           AND EXISTS (SELECT 1 FROM workflows w
                       WHERE w.id = workflow_files.workflow_id AND w.status = 'published'));
DROP POLICY IF EXISTS owner_read ON workflow_files;
CREATE POLICY owner_read ON workflow_files FOR SELECT TO vault_user
    USING (EXISTS (SELECT 1 FROM workflow_purchases p
                   WHERE p.user_id = vault_current_user_id()
                     AND p.payment_status IN ('completed', 'partially_refunded')
                     AND p.item_workflows @> ARRAY[workflow_files.workflow_id]));

DROP POLICY IF EXISTS public_read ON workflow_updates;
CREATE POLICY public_read ON workflow_updates FOR SELECT TO vault_anon, vault_user
    USING (EXISTS (SELECT 1 FROM workflows w
                   WHERE w.id = workflow_updates.workflow_id
                     AND w.status IN ('published', 'coming_soon')));

DROP POLICY IF EXISTS public_read ON workflow_bundles;
CREATE POLICY public_read ON workflow_bundles FOR SELECT TO vault_anon, vault_user
    USING (is_active);

DROP POLICY IF EXISTS public_read ON workflow_bundle_items;
CREATE POLICY public_read ON workflow_bundle_items FOR SELECT TO vault_anon, vault_user
    USING (EXISTS (SELECT 1 FROM workflow_bundles b
                   WHERE b.id = workflow_bundle_items.bundle_id AND b.is_active));

-- Reviews: approved ones for everyone, and a user's own in any status.
DROP POLICY IF EXISTS public_read ON workflow_reviews;
CREATE POLICY public_read ON workflow_reviews FOR SELECT TO vault_anon, vault_user
    USING (status = 'approved');
DROP POLICY IF EXISTS own_read ON workflow_reviews;
CREATE POLICY own_read ON workflow_reviews FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

-- A user's own rows.
DROP POLICY IF EXISTS own_read ON memberships;
CREATE POLICY own_read ON memberships FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

DROP POLICY IF EXISTS own_read ON workflow_purchases;
CREATE POLICY own_read ON workflow_purchases FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

DROP POLICY IF EXISTS own_read ON workflow_purchase_items;
CREATE POLICY own_read ON workflow_purchase_items FOR SELECT TO vault_user
    USING (EXISTS (SELECT 1 FROM workflow_purchases p
                   WHERE p.id = workflow_purchase_items.purchase_id
                     AND p.user_id = vault_current_user_id()));

DROP POLICY IF EXISTS own_read ON workflow_purchase_download_counts;
CREATE POLICY own_read ON workflow_purchase_download_counts FOR SELECT TO vault_user
    USING (EXISTS (SELECT 1 FROM workflow_purchases p
                   WHERE p.id = workflow_purchase_download_counts.purchase_id
                     AND p.user_id = vault_current_user_id()));

DROP POLICY IF EXISTS own_read ON workflow_downloads;
CREATE POLICY own_read ON workflow_downloads FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

DROP POLICY IF EXISTS own_read ON workflow_favorites;
CREATE POLICY own_read ON workflow_favorites FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

DROP POLICY IF EXISTS own_read ON workflow_review_votes;
CREATE POLICY own_read ON workflow_review_votes FOR SELECT TO vault_user
    USING (user_id = vault_current_user_id());

-- workflow_analytics, workflow_analytics_visitors and the workflow_stats
-- view: no policy but the service role's, so nobody else sees a row.

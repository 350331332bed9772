-- Rolls back migrations 0001 to 0021 (the seed's rollback, plus the tables
-- this backend adds). Destroys every Workflow Vault row.
--
-- Not in the migrations directory on purpose: sqlx::migrate! must never run
-- it. Apply by hand (psql -f sql/rollback.sql) or with
-- vault_store_postgres::rollback(&pool). Row-level security policies go with
-- their tables; the roles from sql/row_level_security.sql are cluster-wide
-- and stay (drop them yourself if no other database uses them).

DROP FUNCTION IF EXISTS vault_fail(TEXT) CASCADE;
DROP TABLE IF EXISTS workflow_purchase_download_counts CASCADE;
DROP TABLE IF EXISTS workflow_file_download_counts CASCADE;
DROP TABLE IF EXISTS workflow_category_download_counts CASCADE;
DROP FUNCTION IF EXISTS download_counts_follow() CASCADE;
DROP TABLE IF EXISTS workflow_download_counts CASCADE;
DROP FUNCTION IF EXISTS workflow_download_counts_follow() CASCADE;
DROP TABLE IF EXISTS workflow_review_approvals CASCADE;
DROP TABLE IF EXISTS workflow_favorite_adds CASCADE;
DROP TABLE IF EXISTS purchase_refunds CASCADE;
DROP TABLE IF EXISTS job_log CASCADE;
DROP TABLE IF EXISTS job_queue CASCADE;
DROP TABLE IF EXISTS workflow_docs CASCADE;
DROP TABLE IF EXISTS workflow_assets CASCADE;
DROP TABLE IF EXISTS comment_likes CASCADE;
DROP TABLE IF EXISTS comments CASCADE;
DROP TABLE IF EXISTS audit_logs CASCADE;
DROP FUNCTION IF EXISTS audit_logs_append_only() CASCADE;
DROP TABLE IF EXISTS system_settings CASCADE;
DROP TABLE IF EXISTS user_settings CASCADE;
DROP TABLE IF EXISTS accounts CASCADE;
DROP TABLE IF EXISTS stripe_webhook_events CASCADE;
DROP VIEW IF EXISTS workflow_stats CASCADE;
DROP VIEW IF EXISTS active_memberships CASCADE;
DROP TABLE IF EXISTS workflow_favorites CASCADE;
DROP TABLE IF EXISTS workflow_analytics_visitors CASCADE;
DROP TABLE IF EXISTS workflow_analytics CASCADE;
DROP TABLE IF EXISTS workflow_review_votes CASCADE;
DROP TABLE IF EXISTS workflow_reviews CASCADE;
DROP TABLE IF EXISTS workflow_downloads CASCADE;
DROP TABLE IF EXISTS workflow_purchase_items CASCADE;
DROP TABLE IF EXISTS workflow_purchases CASCADE;
DROP TABLE IF EXISTS memberships CASCADE;
DROP TABLE IF EXISTS workflow_bundle_items CASCADE;
DROP TABLE IF EXISTS workflow_bundles CASCADE;
DROP TABLE IF EXISTS workflow_updates CASCADE;
DROP TABLE IF EXISTS workflow_files CASCADE;
DROP TABLE IF EXISTS workflows CASCADE;
DROP TABLE IF EXISTS workflow_categories CASCADE;
DROP FUNCTION IF EXISTS vault_current_user_id() CASCADE;
-- Migration 0019's domains, once no column uses them.
DROP DOMAIN IF EXISTS vault_count, vault_version, vault_download_type, vault_download_source,
    vault_country_code, vault_json_object;

-- Forget the migration so migrate() applies it again.
DO $$
BEGIN
    IF to_regclass('_sqlx_migrations') IS NOT NULL THEN
        DELETE FROM _sqlx_migrations WHERE version IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21);
    END IF;
END
$$;

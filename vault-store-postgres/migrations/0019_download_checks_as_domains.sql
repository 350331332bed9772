-- The one-column CHECKs of the tables every download writes become domain
-- constraints, with the same conditions.
--
-- Why: PostgreSQL keeps a table's CHECK constraints as text and turns them
-- back into expressions (stringToNode, then ExecPrepareExpr) on every
-- execution of a statement that inserts or updates the table, whatever the
-- plan cache holds. A download's one statement writes the download row
-- (seven CHECKs), the day's analytics row (eleven) and four counters (one
-- each): callgrind on the server, 1000 downloads on the bench's 10k data,
-- counted ~270k of the ~2.1M instructions a download costs the server in
-- those checks, most of it reading the text. A domain's constraints are
-- read once per connection (the type cache) and compiled into the
-- statement's plan state like any expression: the guard stays, the
-- reading goes.
--
-- Left as table CHECKs: the download row's three that tie two columns
-- (a charged download names its user, a purchase or membership source
-- names its row), and the two on columns the `workflow_stats` view reads
-- (`workflow_analytics.currency`, `workflow_download_counts.download_count`),
-- whose type a view pins.
--
-- The domains are created bare, the columns moved onto them (a change to a
-- domain without constraints rewrites nothing), then each domain takes its
-- constraint NOT VALID and the table CHECKs go: catalog changes only, so
-- the ACCESS EXCLUSIVE locks this migration takes last no longer than
-- they. A NOT VALID constraint holds for every row written from here on;
-- migration 0021 checks the rows already there, under locks that let
-- reads go on.
--
-- Deploying: the columns' types change, and PostgreSQL refuses a
-- statement prepared before that which returns one of them ("cached plan
-- must not change result type", SQLSTATE 0A000). Connections of instances
-- still running an older version hold such statements (sqlx keeps them
-- per connection): restart or recycle those instances' pools once this
-- has run.

CREATE DOMAIN vault_count AS BIGINT;
CREATE DOMAIN vault_version AS TEXT;
CREATE DOMAIN vault_download_type AS TEXT;
CREATE DOMAIN vault_download_source AS TEXT;
CREATE DOMAIN vault_country_code AS TEXT;
CREATE DOMAIN vault_json_object AS JSONB;

ALTER TABLE workflow_downloads
    ALTER COLUMN file_version TYPE vault_version,
    ALTER COLUMN download_type TYPE vault_download_type,
    ALTER COLUMN source TYPE vault_download_source,
    ALTER COLUMN country_code TYPE vault_country_code;
ALTER TABLE workflow_analytics
    ALTER COLUMN views TYPE vault_count,
    ALTER COLUMN unique_visitors TYPE vault_count,
    ALTER COLUMN clicks TYPE vault_count,
    ALTER COLUMN downloads TYPE vault_count,
    ALTER COLUMN purchases TYPE vault_count,
    ALTER COLUMN favorites TYPE vault_count,
    ALTER COLUMN shares TYPE vault_count,
    ALTER COLUMN reviews TYPE vault_count,
    ALTER COLUMN traffic_sources TYPE vault_json_object,
    ALTER COLUMN countries TYPE vault_json_object;
ALTER TABLE workflow_file_download_counts ALTER COLUMN download_count TYPE vault_count;
ALTER TABLE workflow_category_download_counts ALTER COLUMN total_downloads TYPE vault_count;
ALTER TABLE workflow_purchase_download_counts ALTER COLUMN downloads_used TYPE vault_count;

ALTER DOMAIN vault_count ADD CONSTRAINT vault_count_not_negative CHECK (VALUE >= 0) NOT VALID;
ALTER DOMAIN vault_version ADD CONSTRAINT vault_version_semver
    CHECK (VALUE ~ '^[0-9]+\.[0-9]+\.[0-9]+$') NOT VALID;
ALTER DOMAIN vault_download_type ADD CONSTRAINT vault_download_type_known
    CHECK (VALUE IN ('free', 'purchased', 'membership', 'trial')) NOT VALID;
ALTER DOMAIN vault_download_source ADD CONSTRAINT vault_download_source_known
    CHECK (VALUE IN ('free', 'purchase', 'membership', 'staff')) NOT VALID;
ALTER DOMAIN vault_country_code ADD CONSTRAINT vault_country_code_alpha2
    CHECK (VALUE ~ '^[A-Z]{2}$') NOT VALID;
ALTER DOMAIN vault_json_object ADD CONSTRAINT vault_json_object_is_object
    CHECK (jsonb_typeof(VALUE) = 'object') NOT VALID;

ALTER TABLE workflow_downloads
    DROP CONSTRAINT workflow_downloads_file_version_check,
    DROP CONSTRAINT workflow_downloads_download_type_check,
    DROP CONSTRAINT workflow_downloads_source_check,
    DROP CONSTRAINT workflow_downloads_country_code_check;
ALTER TABLE workflow_analytics
    DROP CONSTRAINT workflow_analytics_views_check,
    DROP CONSTRAINT workflow_analytics_unique_visitors_check,
    DROP CONSTRAINT workflow_analytics_clicks_check,
    DROP CONSTRAINT workflow_analytics_downloads_check,
    DROP CONSTRAINT workflow_analytics_purchases_check,
    DROP CONSTRAINT workflow_analytics_favorites_check,
    DROP CONSTRAINT workflow_analytics_shares_check,
    DROP CONSTRAINT workflow_analytics_reviews_check,
    DROP CONSTRAINT workflow_analytics_traffic_sources_check,
    DROP CONSTRAINT workflow_analytics_countries_check;
ALTER TABLE workflow_file_download_counts
    DROP CONSTRAINT workflow_file_download_counts_download_count_check;
ALTER TABLE workflow_category_download_counts
    DROP CONSTRAINT workflow_category_download_counts_total_downloads_check;
ALTER TABLE workflow_purchase_download_counts
    DROP CONSTRAINT workflow_purchase_download_counts_downloads_used_check;

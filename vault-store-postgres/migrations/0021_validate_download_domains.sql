-- Checks the rows already there against migration 0019's domain
-- constraints, in a migration of its own: validating a domain constraint
-- takes a SHARE lock on each table with a column of the domain, which
-- lets reads go on while it scans (writes wait). The rows met the table
-- CHECKs 0019 replaced, with the same conditions, so this finds nothing
-- on a database this crate wrote.
ALTER DOMAIN vault_count VALIDATE CONSTRAINT vault_count_not_negative;
ALTER DOMAIN vault_version VALIDATE CONSTRAINT vault_version_semver;
ALTER DOMAIN vault_download_type VALIDATE CONSTRAINT vault_download_type_known;
ALTER DOMAIN vault_download_source VALIDATE CONSTRAINT vault_download_source_known;
ALTER DOMAIN vault_country_code VALIDATE CONSTRAINT vault_country_code_alpha2;
ALTER DOMAIN vault_json_object VALIDATE CONSTRAINT vault_json_object_is_object;

-- A column's type change drops its statistics: the planner gets them back
-- here rather than at the next autovacuum.
ANALYZE workflow_downloads (file_version, download_type, source, country_code);
ANALYZE workflow_analytics (views, unique_visitors, clicks, downloads, purchases, favorites,
    shares, reviews, traffic_sources, countries);
ANALYZE workflow_file_download_counts (download_count);
ANALYZE workflow_category_download_counts (total_downloads);
ANALYZE workflow_purchase_download_counts (downloads_used);

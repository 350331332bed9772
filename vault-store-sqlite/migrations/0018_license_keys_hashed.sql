-- License keys are no longer stored. A purchase's key is derived from its
-- id under the app's secret (vault-core's `LicenseKey::derive`), so the
-- storefront can show it again; the row keeps the key's SHA-256, which finds
-- the purchase by the key its buyer presents and keeps keys unique. The
-- column keeps its UNIQUE and NOT NULL; the Rust step after this file
-- replaces each key already stored by its digest (SQLite has no SHA-256 of
-- its own), with `secure_delete` on, so the replaced text is overwritten
-- in the file and not left in its free space.
ALTER TABLE workflow_purchases RENAME COLUMN license_key TO license_key_hash;

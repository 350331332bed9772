-- License keys are no longer stored. A purchase's key is derived from its
-- id under the app's secret (vault-core's `LicenseKey::derive`), so the
-- storefront can show it again; the row keeps the key's SHA-256, which finds
-- the purchase by the key its buyer presents and keeps keys unique. The
-- column keeps its UNIQUE and NOT NULL; each key already stored (canonical
-- text) is replaced by its digest, so a key its buyer holds still matches.
-- The replaced versions stay in the table's dead tuples until VACUUM
-- reclaims them.
ALTER TABLE workflow_purchases RENAME COLUMN license_key TO license_key_hash;
UPDATE workflow_purchases
   SET license_key_hash = encode(sha256(convert_to(license_key_hash, 'UTF8')), 'hex');

//! Versioned migrations, embedded in the crate and tracked in
//! `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};
use vault_core::store::{StoreError, StoreResult};

// Append only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_workflow_vault.sql"),
    include_str!("../migrations/0002_webhook_events.sql"),
    include_str!("../migrations/0003_downloads_by_user_and_workflow.sql"),
    include_str!("../migrations/0004_order_safe_payments.sql"),
    include_str!("../migrations/0005_membership_grace.sql"),
    include_str!("../migrations/0006_file_and_bundle_revisions.sql"),
    include_str!("../migrations/0007_accounts_audit_settings.sql"),
    include_str!("../migrations/0008_comments.sql"),
    include_str!("../migrations/0009_workflow_pages.sql"),
    include_str!("../migrations/0010_community_listings.sql"),
    include_str!("../migrations/0011_jobs.sql"),
    include_str!("../migrations/0012_analytics_rows.sql"),
    include_str!("../migrations/0013_search_words.sql"),
    include_str!("../migrations/0014_search_tokens.sql"),
    include_str!("../migrations/0015_category_listings.sql"),
    include_str!("../migrations/0016_card_thumbnails.sql"),
    include_str!("../migrations/0017_purchases_by_user_and_item.sql"),
    include_str!("../migrations/0018_license_keys_hashed.sql"),
    include_str!("../migrations/0019_downloads_rebuilt_lean.sql"),
];

/// Migrations 0013 (the workflows' search words) and 0014 (the full-text
/// table's tokenizer) are finished in Rust: the words are vault-core's
/// split, which SQL cannot spell.
const SEARCH_WORDS: [u32; 2] = [13, 14];

/// Migration 0018 (license keys replaced by their digests) is finished in
/// Rust: SQLite has no SHA-256 of its own.
const LICENSE_KEY_DIGESTS: u32 = 18;

/// Migration 0019 keys each download row by pairs (its workflow's file, its
/// user's purchase or membership): rows that break them are found first,
/// so the migration refuses with their count instead of a bare foreign-key
/// failure.
const DOWNLOAD_PAIRS: u32 = 19;

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Why a database could not be brought to this crate's schema.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The database was written by a newer version of this crate.
    #[error(
        "database schema version {found} is newer than this vault-store-sqlite supports ({supported}); upgrade the crate"
    )]
    TooNew {
        /// Its schema version.
        found: u32,
        /// The newest this crate knows.
        supported: u32,
    },
    /// Download rows that migration 0019's keys refuse: each names a file
    /// of another workflow, or a purchase or membership that is not its
    /// user's (or names one with no user). The migration left the file as
    /// it was; fix or delete those rows, then open it again.
    #[error(
        "{count} download rows name a file of another workflow, or a purchase or membership not their user's (one is {example}); fix or delete them, then open the database again"
    )]
    DownloadsOffTheirKeys {
        /// How many rows.
        count: u64,
        /// One of their ids.
        example: String,
    },
}

fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn too_new(found: u32) -> StoreError {
    StoreError::backend(
        "sqlite",
        SchemaError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        },
    )
}

/// Refuses a database written by a newer version of this crate, reading
/// only: called before anything that would change the file (the journal
/// mode is persistent), so a refused database is left exactly as it was.
pub(crate) fn refuse_too_new(conn: &Connection) -> StoreResult<()> {
    let v = version(conn).map_err(|e| StoreError::backend("sqlite", e))?;
    if v > SCHEMA_VERSION {
        return Err(too_new(v));
    }
    Ok(())
}

/// Applies pending migrations, each in its own immediate transaction that
/// re-reads the version, so two processes opening a fresh file at once apply
/// each migration exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let db = |e| StoreError::backend("sqlite", e);
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let v = version(&tx).map_err(db)?;
        if v > SCHEMA_VERSION {
            return Err(too_new(v));
        }
        let Some(sql) = MIGRATIONS.get(v as usize) else {
            return Ok(());
        };
        if v + 1 == DOWNLOAD_PAIRS {
            downloads_fit_their_pairs(&tx)?;
        }
        tx.execute_batch(sql).map_err(db)?;
        if SEARCH_WORDS.contains(&(v + 1)) {
            crate::catalog::search::backfill(&tx)?;
        }
        if v + 1 == LICENSE_KEY_DIGESTS {
            crate::commerce::hash_stored_license_keys(&tx)?;
        }
        tx.pragma_update(None, "user_version", v + 1).map_err(db)?;
        tx.commit().map_err(db)?;
        if v + 1 == LICENSE_KEY_DIGESTS {
            // `secure_delete` scrubbed what the digests replaced, but not
            // the pages the file had free before: a key an older version
            // moved off a page (a split, a merge) may lie in one, and
            // only a page reused gets written over. VACUUM writes the
            // file anew with no free pages. The replaced pages are in the
            // file until a checkpoint writes the new ones over them: do
            // it now, not at some later commit. Best effort: VACUUM waits
            // for another connection's write (and past the busy timeout
            // fails, leaving the old free pages until a VACUUM of the
            // caller's); a reader of another process may hold back the
            // checkpoint, and then a later one writes the pages over.
            let _ = conn.execute_batch("VACUUM");
            let _ = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE");
        }
    }
}

/// Refuses migration 0019 while a download row would break its keys: the
/// rebuild copies every row under them, and one that does not fit failed
/// with SQLite's bare "FOREIGN KEY constraint failed".
fn downloads_fit_their_pairs(tx: &Connection) -> StoreResult<()> {
    let (count, example): (i64, Option<String>) = tx
        .query_row(
            "SELECT count(*), min(d.id) FROM workflow_downloads d \
             WHERE NOT EXISTS (SELECT 1 FROM workflow_files f \
                               WHERE f.id = d.file_id AND f.workflow_id = d.workflow_id) \
             OR (d.purchase_id IS NOT NULL AND (d.user_id IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM workflow_purchases p \
                  WHERE p.id = d.purchase_id AND p.user_id = d.user_id))) \
             OR (d.membership_id IS NOT NULL AND (d.user_id IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM memberships m \
                  WHERE m.id = d.membership_id AND m.user_id = d.user_id)))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| StoreError::backend("sqlite", e))?;
    match example {
        Some(example) if count > 0 => Err(StoreError::backend(
            "sqlite",
            SchemaError::DownloadsOffTheirKeys {
                count: u64::try_from(count).unwrap_or(0),
                example,
            },
        )),
        _ => Ok(()),
    }
}

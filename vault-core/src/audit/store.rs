//! The audit trail's part of the storage contract (see [`crate::store`]).
//!
//! There is no call that writes an entry on its own: every entry is handed
//! to the store with the staff write it records (`insert_workflow`,
//! `update_account`, `put_setting`, ...), and the store writes it **last,
//! in the same transaction**, so a write that fails (its guard, a clash,
//! the entry's own insert) leaves neither the change nor the entry. There is
//! no call that edits or deletes one either; both SQL stores also refuse
//! `UPDATE` and `DELETE` on the table with a trigger.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::audit::entry::{AuditQuery, AuditRecord};
use crate::value::error::StoreResult;
use crate::value::keyset::Listing;

/// Reading the trail.
#[async_trait]
pub trait AuditStore: Send + Sync + Debug {
    /// The entries `query` selects, newest first (by instant, then id), in
    /// cursor pages.
    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<Listing<AuditRecord>>;
}

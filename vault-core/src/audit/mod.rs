//! The audit trail (the marketplace seed's `audit_logs`): who did what to
//! which record, written in the same transaction as the write it records,
//! and never edited or deleted.

pub mod entry;
pub mod store;

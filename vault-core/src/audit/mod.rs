//! The audit trail (the marketplace seed's `audit_logs`): who did what to
//! which record, written in the same transaction as the write it records.
//!
//! In progress (issue "Accounts, settings, an audit trail..."): the entry
//! and its checked values are here; the storage contract (append-only, with
//! triggers refusing UPDATE and DELETE in both SQL stores) and the service
//! writes come next.

pub mod entry;

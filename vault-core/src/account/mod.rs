//! Accounts (the marketplace seed's `users`): the record the vault keeps
//! for an app's user id, and the rules of its life. The host app still
//! authenticates; a user id with no account acts as before.
//!
//! In progress (issue "Accounts, settings, an audit trail..."): the checked
//! values and the lifecycle rules are here; the storage contract, the
//! service methods and the check inside the one access read come next.

pub mod email;
pub mod profile;
pub mod settings;

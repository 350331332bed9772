//! Accounts (the marketplace seed's `users` and `user_settings`): the
//! record the vault keeps for an app's user id, and the rules of its life.
//! The host app still authenticates; a user id with no account acts as
//! before. A banned, deleted or erased account is refused every call
//! ([`crate::value::error::Error::Refused`]).

pub mod email;
pub mod profile;
pub mod settings;
pub mod store;

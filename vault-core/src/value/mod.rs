//! The floor everything stands on: checked values and the words every area
//! speaks. Once you hold one of these, it is valid: each is built through a
//! constructor that checks it, and deserializing goes through the same
//! checks.
//!
//! Nothing here depends on any other module of the crate.

pub mod actor;
pub mod clock;
pub mod country;
pub mod decision;
pub mod delta;
pub mod error;
pub mod ids;
pub mod ip;
pub mod keyset;
pub mod money;
pub mod quota;
pub mod slug;
pub mod status;
pub mod tag;
pub mod tier;
pub mod validation;
pub mod version;

/// The largest unsigned integer (a counter, a size in bytes) every store
/// holds: SQLite's `INTEGER` and PostgreSQL's `BIGINT` are signed 64-bit.
/// Values from callers are checked against it where they are built.
pub const MAX_INTEGER: u64 = i64::MAX as u64;

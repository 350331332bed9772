//! The crate's `testkit` helpers: a fresh PostgreSQL database per test.
#![allow(unused_imports, unreachable_pub)]

pub use vault_store_postgres::testkit::*;

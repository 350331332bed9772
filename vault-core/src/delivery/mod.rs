//! Who may download what, and the downloads themselves.

pub mod access;
pub mod charge;
pub mod download;
pub mod store;

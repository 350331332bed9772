//! Analytics: daily counters per workflow and the reporting views.

pub mod analytics;
pub mod rebuild;
pub mod store;

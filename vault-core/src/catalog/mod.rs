//! The catalog: categories, workflows and their files, updates and bundles,
//! and how they are listed and searched.

pub mod bundle;
pub mod card;
pub mod category;
pub mod file;
pub mod page;
pub mod page_store;
pub mod query;
pub mod store;
pub mod update;
pub mod wedge;
pub mod workflow;

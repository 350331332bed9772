//! Reviews, ratings and favorites: what buyers say about workflows.

pub mod favorite;
pub mod rating;
pub mod review;
pub mod store;

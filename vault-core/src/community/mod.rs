//! Reviews, ratings, comments and favorites: what buyers say about workflows.

pub mod comment;
pub mod favorite;
pub mod rating;
pub mod review;
pub mod store;

//! Reviews, ratings, comments and favorites: what buyers say about workflows.

pub mod comment;
pub mod comment_feed;
pub mod comment_query;
pub mod comment_store;
pub mod favorite;
pub mod rating;
pub mod review;
pub mod review_query;
pub mod store;

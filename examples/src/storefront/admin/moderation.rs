//! The moderation queue: reviews waiting for a decision and recent comments.

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// The queue's routes.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

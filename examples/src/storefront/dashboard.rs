//! What a signed-in user has: purchases, membership, downloads, favorites, reviews, comments, settings.

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

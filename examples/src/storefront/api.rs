//! The JSON API under `/api` and its OpenAPI document.

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

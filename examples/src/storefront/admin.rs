//! Staff pages: workflows, moderation, accounts, refunds, the audit log.

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

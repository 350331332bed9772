//! The built-in fake Stripe: a checkout page (pay, fail, cancel), refunds and subscription cancels, delivering signed webhooks to the storefront, so the whole loop runs offline.

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

//! Buying and getting: checkout (through Stripe or the built-in fake), the
//! Stripe webhook, downloads of granted files, refunds and memberships.

use std::sync::Arc;

use axum::Router;
use vault_core::Vault;
use vault_core::store::Store;

use super::{AppState, Config};

/// Which Stripe the storefront talks to.
#[derive(Debug, Clone)]
pub enum StripeSetup {
    /// The built-in fake Stripe, served by the storefront itself.
    Fake,
}

/// Files, payments and the fake Stripe.
#[derive(Debug)]
pub struct Shop {}

impl Shop {
    /// The shop for `config`.
    pub fn new(_vault: &Vault<dyn Store>, _config: &Config) -> Self {
        Self {}
    }
}

/// The shop's routes.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

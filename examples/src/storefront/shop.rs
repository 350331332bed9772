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

/// What the workflow page offers the visitor: buy, download, or join
/// (rendered by `templates/offer.html` inside the workflow page).
#[derive(Debug, Default)]
pub struct Offer {}

/// The offer for `w` to `v`, given the vault's access decision.
pub(super) async fn offer(
    _app: &AppState,
    _v: &super::Visitor,
    _w: &vault_core::catalog::workflow::Workflow,
    _decision: &vault_core::AccessDecision,
) -> Result<Offer, super::PageError> {
    Ok(Offer {})
}

/// The shop's routes.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}

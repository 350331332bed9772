//! Buying and getting: checkout (through Stripe or the built-in fake), the
//! Stripe webhook, downloads of granted files, bundles, memberships and
//! refunds.
//!
//! Money only moves at Stripe. The storefront opens a pending purchase,
//! sends the buyer to a Checkout Session, and waits for Stripe's webhook to
//! complete it (vault-stripe's [`WebhookHandler`] does the applying); the
//! return page only says whether that has happened yet. Refunds and
//! membership cancels are asked of Stripe the same way, and the webhook
//! that follows moves the vault. With [`StripeSetup::Fake`] the Stripe on
//! the other end is [`super::fake_stripe`], served by this same router, so
//! the same client and webhook code run offline.

mod bundles;
mod checkout;
mod download;
mod membership;
mod offer;
mod refund;

pub(super) use checkout::{open_bundle, open_membership, open_workflow};
pub(super) use download::download;
pub(super) use membership::cancel_current;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use object_store::ObjectStore;
use vault_core::store::{Store, WebhookStore};
use vault_core::{Clock, Vault};
use vault_stripe::client::{ApiKey, StripeClient};
use vault_stripe::signature::{Verifier, WebhookSecret};
use vault_stripe::webhook::{Handled, WebhookConfig, WebhookHandler};

use super::fake_stripe::FakeStripe;
use super::{AppState, Config, PageError};

pub(super) use offer::offer;
pub use offer::{Offer, OfferFile};

/// Which Stripe the storefront talks to.
#[derive(Debug, Clone)]
pub enum StripeSetup {
    /// The built-in fake Stripe, served by the storefront itself under
    /// `/fake-stripe`, with an API key and webhook secret made up at start.
    Fake,
    /// Stripe's API (or anything that speaks it at `api_base`).
    Real {
        /// The secret API key (`sk_…`); its `Debug` shows only the mode.
        api_key: ApiKey,
        /// The webhook endpoint's signing secret (`whsec_…`); never shown.
        webhook_secret: WebhookSecret,
        /// Another API host than `https://api.stripe.com`.
        api_base: Option<String>,
    },
}

impl StripeSetup {
    /// Stripe's API when `STRIPE_SECRET_KEY` and `STRIPE_WEBHOOK_SECRET`
    /// are set (and `STRIPE_API_BASE`, if another host is wanted);
    /// otherwise `None`, and the caller keeps the fake.
    pub fn from_env() -> Option<Self> {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Some(Self::Real {
            api_key: ApiKey::new(var("STRIPE_SECRET_KEY")?),
            webhook_secret: WebhookSecret::new(var("STRIPE_WEBHOOK_SECRET")?),
            api_base: var("STRIPE_API_BASE"),
        })
    }
}

/// How often parked webhook events are looked at again.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Files, payments and the fake Stripe.
pub struct Shop {
    // Built once; `None` when the configuration could not make one (a bad
    // API base), which every payment page reports as our fault.
    client: Result<StripeClient, String>,
    secret: WebhookSecret,
    vault: Vault<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Where the bytes of workflow files live.
    pub files: Arc<dyn ObjectStore>,
    /// The built-in fake Stripe, when that is the one in use.
    pub fake: Option<FakeStripe>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's Debug redacts its key; the secret's redacts itself.
        f.debug_struct("Shop")
            .field("client", &self.client)
            .field("secret", &self.secret)
            .field("fake", &self.fake)
            .finish_non_exhaustive()
    }
}

/// 32 random bytes as hex, for the fake's made-up key and secret.
fn random_hex() -> String {
    let mut b = [0u8; 32];
    // Without OS randomness the fake's secret could be guessed: fail loudly.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system gives no randomness");
    const_hex::encode(b)
}

impl Shop {
    /// The shop for `config`: the Stripe client against the configured API
    /// base (the fake's is `{public_url}/fake-stripe`), the webhook secret,
    /// and the files.
    pub fn new(vault: &Vault<dyn Store>, config: &Config) -> Self {
        let (key, secret, base, fake) = match &config.stripe {
            StripeSetup::Fake => {
                let key = format!("sk_test_fake_{}", random_hex());
                let secret = WebhookSecret::new(format!("whsec_fake_{}", random_hex()));
                let fake = FakeStripe::new(&config.public_url, &key, secret.clone());
                (
                    ApiKey::new(key),
                    secret,
                    Some(format!("{}/fake-stripe", config.public_url)),
                    Some(fake),
                )
            }
            StripeSetup::Real {
                api_key,
                webhook_secret,
                api_base,
            } => (
                api_key.clone(),
                webhook_secret.clone(),
                api_base.clone(),
                None,
            ),
        };
        let mut builder = StripeClient::builder(key);
        if let Some(base) = base {
            builder = builder.base_url(base);
        }
        let shop = Self {
            client: builder.build().map_err(|e| e.to_string()),
            secret,
            vault: vault.clone(),
            clock: Arc::clone(&config.clock),
            files: Arc::clone(&config.files),
            fake,
        };
        shop.sweep_in_background();
        shop
    }

    /// Every minute, what vault-stripe asks of its users: parked events
    /// whose object appeared without an event are applied, and those that
    /// waited too long expire ([`WebhookHandler::sweep`]). Runs on the
    /// current tokio runtime, if there is one, until it shuts down.
    fn sweep_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let parts = (
            self.vault.clone(),
            Arc::clone(&self.clock),
            self.secret.clone(),
        );
        runtime.spawn(async move {
            let (vault, clock, secret) = parts;
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match handler(&vault, &clock, &secret).await {
                    Ok(h) => {
                        if let Err(e) = h.sweep().await {
                            tracing::warn!(error = %e, "webhook sweep failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e.message, "webhook sweep could not start"),
                }
            }
        });
    }

    /// The Stripe client, or a 500 page when none could be built.
    pub(super) fn client(&self) -> Result<&StripeClient, PageError> {
        self.client.as_ref().map_err(PageError::internal)
    }

    /// The webhook handler, with the per-period download limits of the
    /// membership plans as they are now. Built per delivery because staff
    /// may change the plans at any time; it holds nothing but handles.
    pub(super) async fn hooks(&self) -> Result<WebhookHandler<dyn Store>, PageError> {
        handler(&self.vault, &self.clock, &self.secret).await
    }
}

/// A webhook handler over `vault` with the plans' limits as they are now.
async fn handler(
    vault: &Vault<dyn Store>,
    clock: &Arc<dyn Clock>,
    secret: &WebhookSecret,
) -> Result<WebhookHandler<dyn Store>, PageError> {
    let plans = vault.membership_plans(&vault_core::Actor::Service).await?;
    let config = WebhookConfig {
        tier_limits: plans
            .iter()
            .map(|p| (p.tier, p.period_download_limit))
            .collect(),
        ..WebhookConfig::default()
    };
    let store: Arc<dyn Store> = Arc::clone(vault.store());
    let events: Arc<dyn WebhookStore> = store;
    Ok(WebhookHandler::new(
        vault.clone(),
        events,
        Arc::clone(clock),
        Verifier::new(secret.clone()),
        config,
    ))
}

/// `POST /stripe/webhook` (and `/api/stripe/webhook`): the raw body and its
/// `Stripe-Signature` go to vault-stripe's handler; the answer's status is
/// the one it asks for (200 handled, 400 refused, 409 in progress, 500
/// retry later), with a small JSON body naming the outcome.
pub(super) async fn stripe_webhook(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let hooks = match app.shop.hooks().await {
        Ok(h) => h,
        Err(e) => return e.into_json(),
    };
    let (status, body) = match hooks.handle(&body, signature).await {
        Ok(handled) => {
            let outcome = match &handled {
                Handled::Applied { .. } => "applied",
                Handled::Duplicate { .. } => "duplicate",
                Handled::Parked { .. } => "parked",
                Handled::InProgress { .. } => "in_progress",
                Handled::GaveUp { .. } => "gave_up",
                Handled::Expired { .. } => "expired",
                _ => "handled",
            };
            (
                handled.status_code(),
                serde_json::json!({ "received": true, "outcome": outcome }),
            )
        }
        Err(e) => {
            // The error names the refusal or the event, never the secret.
            tracing::warn!(error = %e, "stripe webhook refused or failed");
            (
                e.status_code(),
                serde_json::json!({ "received": false, "error": e.to_string() }),
            )
        }
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// Where a signed-out visitor goes to sign in before coming back to `next`
/// (a page of this site).
fn sign_in_first(next: &str) -> Response {
    let mut q = form_urlencoded::Serializer::for_suffix(String::from("/sign-in?"), 9);
    q.append_pair("next", next);
    Redirect::to(&q.finish()).into_response()
}

/// A form with nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
struct NoFields {}

/// The shop's routes.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/checkout/workflow/{slug}", post(checkout::workflow))
        .route("/checkout/bundle/{slug}", post(checkout::bundle))
        .route("/checkout/membership/{tier}", post(checkout::membership))
        .route("/checkout/done", get(checkout::done))
        .route("/checkout/canceled", get(checkout::canceled))
        .route("/stripe/webhook", post(stripe_webhook))
        .route("/download/{slug}/{file_id}", get(download::download))
        .route("/bundles", get(bundles::list))
        .route("/bundles/{slug}", get(bundles::page))
        .route("/membership", get(membership::page))
        .route("/membership/cancel", post(membership::cancel))
        .route("/admin/purchases/{id}/refund", post(refund::refund))
}

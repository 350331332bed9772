//! The built-in fake Stripe: a checkout page (pay, fail, cancel), refunds
//! and subscription cancels, delivering signed webhooks to the storefront,
//! so the whole loop runs offline.
//!
//! It answers the same API calls vault-stripe's client makes
//! (`POST /v1/checkout/sessions`, `POST /v1/refunds`,
//! `POST`/`DELETE /v1/subscriptions/{id}`) under `/fake-stripe`, with the
//! JSON shapes Stripe returns, checking the bearer key and honouring
//! `Idempotency-Key`. Its checkout page stands in for Stripe's hosted one;
//! each button is a plain form. What Stripe would then send, it sends: the
//! events of [`objects`], signed as Stripe signs them
//! (`t=…,v1=HMAC-SHA256(secret, "t.body")`), POSTed to the storefront's
//! `/stripe/webhook` before the browser is redirected, so the page the
//! buyer lands on already knows.
//!
//! Everything lives in this process's memory: a restart forgets sessions,
//! payments and subscriptions (the vault keeps what the webhooks wrote).

mod api;
mod console;
mod objects;
mod page;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::Value;
use vault_stripe::signature::WebhookSecret;

use super::AppState;

/// How many delivered events the fake keeps for its event log.
const LOG: usize = 200;

/// How many idempotency keys the fake remembers before it starts over.
const KEYS: usize = 10_000;

/// A made-up Stripe id: `prefix` and 24 random lowercase hex digits.
fn fake_id(prefix: &str) -> String {
    let mut b = [0u8; 12];
    // The ids only need to be distinct; without OS randomness nothing
    // else in the storefront works either.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system gives no randomness");
    format!("{prefix}{}", const_hex::encode(b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Payment,
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    Complete,
    Expired,
}

/// A Checkout Session as the fake keeps it.
#[derive(Clone)]
struct Session {
    id: String,
    mode: Mode,
    status: Status,
    name: String,
    amount: i64,
    currency: String,
    /// For subscriptions: `month` or `year`, and its months.
    interval: Option<(String, u32)>,
    client_reference_id: Option<String>,
    customer_email: Option<String>,
    customer: Option<String>,
    metadata: BTreeMap<String, String>,
    intent_metadata: BTreeMap<String, String>,
    subscription_metadata: BTreeMap<String, String>,
    price_id: Option<String>,
    trial_days: Option<u32>,
    success_url: String,
    cancel_url: String,
    created: i64,
    payment_intent: Option<String>,
    subscription: Option<String>,
    declined: bool,
}

/// A paid PaymentIntent and its charge.
#[derive(Debug, Clone)]
struct Payment {
    intent: String,
    charge: String,
    amount: i64,
    currency: String,
    refunded: i64,
    metadata: BTreeMap<String, String>,
}

/// A subscription as the fake keeps it.
#[derive(Debug, Clone)]
struct Sub {
    id: String,
    customer: String,
    status: &'static str,
    price_id: String,
    amount: i64,
    currency: String,
    interval: String,
    metadata: BTreeMap<String, String>,
    item: String,
    created: i64,
    period: (i64, i64),
    trial: Option<(i64, i64)>,
    cancel_at_period_end: bool,
    canceled_at: Option<i64>,
    ended_at: Option<i64>,
    /// When its latest event was created.
    last_event: i64,
}

impl Sub {
    /// The `created` of its next event: now, or a second after its latest
    /// one. Stripe's events about one subscription are minutes or days
    /// apart; the console's buttons are pressed within a second, and the
    /// vault orders a subscription's events by `created`.
    fn tick(&mut self, now: i64) -> i64 {
        self.last_event = now.max(self.last_event + 1);
        self.last_event
    }
}

/// One delivered event, for the fake's event log.
#[derive(Debug, Clone, serde::Serialize)]
struct Delivered {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The storefront's answer (0: not reached).
    status: u16,
    body: String,
    signature: String,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    payments: HashMap<String, Payment>,
    subscriptions: HashMap<String, Sub>,
    idempotent: HashMap<String, (u16, Value)>,
    delivered: Vec<Delivered>,
}

/// The fake Stripe of one storefront.
pub struct FakeStripe {
    public_url: String,
    api_key: String,
    secret: WebhookSecret,
    http: Option<reqwest::Client>,
    state: Mutex<State>,
}

impl std::fmt::Debug for FakeStripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the key, the secret, nor session ids: only how many.
        let sessions = self.state().sessions.len();
        f.debug_struct("FakeStripe")
            .field("public_url", &self.public_url)
            .field("sessions", &sessions)
            .finish_non_exhaustive()
    }
}

impl FakeStripe {
    /// A fake answering at `{public_url}/fake-stripe` to `api_key`, signing
    /// its webhooks with `secret`.
    pub fn new(public_url: &str, api_key: &str, secret: WebhookSecret) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            secret,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(8))
                .build()
                .ok(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep
        // serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signs and POSTs each event to the storefront's webhook, in order,
    /// as Stripe would (trying a failed delivery twice more), and logs
    /// what the storefront answered.
    async fn deliver(&self, events: Vec<Value>, now: DateTime<Utc>) {
        let url = format!("{}/stripe/webhook", self.public_url);
        for event in events {
            let body = event.to_string();
            let signature = self.secret.header(now.timestamp(), body.as_bytes());
            let mut status = 0;
            if let Some(http) = &self.http {
                for _ in 0..3 {
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("stripe-signature", &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    status = sent.map_or(0, |r| r.status().as_u16());
                    if (200..300).contains(&status) {
                        break;
                    }
                }
            }
            let kind = event["type"].as_str().unwrap_or_default().to_owned();
            if !(200..300).contains(&status) {
                tracing::warn!(kind = %kind, status, "fake stripe: webhook not accepted");
            }
            let mut st = self.state();
            if st.delivered.len() >= LOG {
                st.delivered.remove(0);
            }
            st.delivered.push(Delivered {
                id: event["id"].as_str().unwrap_or_default().to_owned(),
                kind,
                status,
                body,
                signature,
            });
        }
    }
}

/// The routes of this area (answering 404 when the fake is not in use).
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/fake-stripe/v1/checkout/sessions",
            post(api::create_session),
        )
        .route("/fake-stripe/v1/refunds", post(api::create_refund))
        .route(
            "/fake-stripe/v1/subscriptions/{id}",
            post(api::update_subscription).delete(api::delete_subscription),
        )
        .route("/fake-stripe/checkout/{id}", get(page::checkout))
        .route("/fake-stripe/checkout/{id}/pay", post(page::pay))
        .route("/fake-stripe/checkout/{id}/fail", post(page::fail))
        .route("/fake-stripe/checkout/{id}/cancel", post(page::cancel))
        .route("/fake-stripe/events", get(page::events))
        .route("/fake-stripe/subscriptions", get(console::console))
        .route(
            "/fake-stripe/subscriptions/{id}/renew",
            post(console::renew),
        )
        .route(
            "/fake-stripe/subscriptions/{id}/fail-renewal",
            post(console::fail_renewal),
        )
        .route("/fake-stripe/subscriptions/{id}/end", post(console::end))
}

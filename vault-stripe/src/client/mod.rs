//! The outgoing Stripe API client: a small typed client for what the vault
//! needs.
//!
//! * [`StripeClient::create_checkout_session`] for a workflow or a bundle
//!   (a one-time payment priced from a [`Money`](vault_core::value::money::Money))
//!   or a membership tier (a subscription to a Stripe Price), with the
//!   app's own `client_reference_id` and metadata if it likes (never over
//!   the vault's `vault_purchase_id`);
//! * [`StripeClient::create_customer`] and [`StripeClient::retrieve_customer`];
//! * [`StripeClient::cancel_subscription`], now or at the period's end;
//! * [`StripeClient::create_refund`], whole or in part.
//!
//! Every request carries `Authorization: Bearer <key>` and the pinned
//! [`STRIPE_API_VERSION`]; every `POST` carries an `Idempotency-Key` (random,
//! or the caller's from [`RequestOptions`]) that stays the same across the
//! retries of one call. Retries follow [`retry`]'s rule with capped,
//! jittered exponential backoff that never waits less than 0.5 s. Bodies are form-encoded with bracketed keys
//! by [`form::Form`]. Error responses become a typed [`StripeError`] that
//! keeps the status and `Request-Id`.
//!
//! The API key never appears in `Debug` output or in the `tracing` events
//! the client emits (target `vault_stripe::client`: one `debug` per try,
//! a `warn` before each retry).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vault_core::value::ids::PurchaseId;
//! use vault_core::value::money::{Currency, Money};
//! use vault_stripe::client::{
//!     ApiKey, CheckoutSessionParams, RequestOptions, ReturnUrls, StripeClient,
//! };
//!
//! let client = StripeClient::new(ApiKey::new("sk_test_…"))?;
//! let purchase = PurchaseId::parse("0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e")?;
//! let params = CheckoutSessionParams::workflow(
//!     purchase,
//!     "Lead router for n8n",
//!     Money::from_minor(1900, Currency::USD),
//!     ReturnUrls::new("https://vault.example/ok?s={CHECKOUT_SESSION_ID}", "https://vault.example/cart"),
//! );
//! // One purchase, one session: a key derived from the purchase makes a
//! // resubmission return the same session instead of a second one.
//! let opts = RequestOptions::new().idempotency_key(format!("checkout-{purchase}"));
//! let session = client.create_checkout_session(&params, &opts).await?;
//! println!("send the buyer to {:?}", session.url);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;

mod checkout;
mod customer;
mod error;
pub mod form;
mod refund;
mod resources;
pub mod retry;
mod subscription;
mod transport;

pub use checkout::{
    CheckoutCustomer, CheckoutItem, CheckoutMode, CheckoutPaymentStatus, CheckoutSession,
    CheckoutSessionParams, CheckoutSessionStatus, METADATA_PURCHASE_ID, METADATA_TIER,
    METADATA_USER_ID, RESERVED_METADATA_KEYS, ReturnUrls,
};
pub use customer::{Customer, CustomerParams};
pub use error::{ApiError, StripeError};
pub use form::Form;
pub use refund::{Refund, RefundParams, RefundReason, RefundStatus};
pub use retry::{RetryPolicy, Sleeper, TokioSleeper};
pub use subscription::{CancelAt, Subscription, SubscriptionStatus};
pub use transport::{
    HttpRequest, HttpResponse, HttpTransport, Method, ReqwestTransport, TransportError,
    TransportErrorKind,
};

/// The Stripe API version every request pins in its `Stripe-Version`
/// header, so that the account's default version (set in the dashboard)
/// cannot change the shape of what the client reads.
///
/// It is the version that Stripe's official Python library 16.1.0 pins,
/// the library this client is compared against in
/// `tests/client_parity.rs`. Move both together, after reading Stripe's
/// changelog for the objects above.
pub const STRIPE_API_VERSION: &str = "2026-10-28.endive";

/// Stripe's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

const USER_AGENT: &str = concat!("vault-stripe/", env!("CARGO_PKG_VERSION"));
const LOG_TARGET: &str = "vault_stripe::client";
/// Stripe's limit on an idempotency key's length.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A secret (`sk_…`) or restricted (`rk_…`) API key. Its `Debug` shows at
/// most the mode prefix (`sk_test_`), never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    fn expose(&self) -> &str {
        &self.0
    }

    /// The public part of the key: its mode prefix when it has a known one.
    fn prefix(&self) -> &'static str {
        ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
            .into_iter()
            .find(|p| self.0.starts_with(p))
            .unwrap_or("")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}<redacted>)", self.prefix())
    }
}

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    idempotency_key: Option<String>,
}

impl RequestOptions {
    /// No options: a fresh random idempotency key for a `POST`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this `Idempotency-Key` instead of a random one (up to 255
    /// printable ASCII characters). Derive it from what the call is for
    /// (a purchase id) to make repeating the whole call safe too.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// Why a client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key is empty or has characters a header cannot carry.
    #[error("the API key is empty or not printable ASCII")]
    InvalidApiKey,
    /// The base URL is not `http://…` or `https://…`.
    #[error("the base URL must start with http:// or https://, got {0:?}")]
    InvalidBaseUrl(String),
    /// The default transport could not start.
    #[error("the HTTP transport could not start: {0}")]
    Transport(TransportError),
}

/// Builds a [`StripeClient`].
#[derive(Debug)]
pub struct StripeClientBuilder {
    api_key: ApiKey,
    base_url: String,
    transport: Option<Arc<dyn HttpTransport>>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
}

impl StripeClientBuilder {
    /// Another API host (a local server in tests, a proxy). A trailing `/`
    /// is dropped.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Another transport than [`ReqwestTransport`].
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Another way to wait between retries than the tokio timer.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The retry policy (default: 2 retries, 0.5 s doubling up to 5 s,
    /// jittered but never below 0.5 s).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Just the number of retries after the first try.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The client.
    pub fn build(self) -> Result<StripeClient, ConfigError> {
        let key = self.api_key.expose();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::InvalidApiKey);
        }
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        let lower = base_url.to_ascii_lowercase();
        let host = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.contains(['?', '#', ' '])) {
            return Err(ConfigError::InvalidBaseUrl(self.base_url));
        }
        let transport = match self.transport {
            Some(t) => t,
            None => Arc::new(ReqwestTransport::new().map_err(ConfigError::Transport)?),
        };
        Ok(StripeClient {
            api_key: self.api_key,
            base_url,
            transport,
            sleeper: self.sleeper,
            retry: self.retry,
        })
    }
}

/// The Stripe API client. Cheap to clone; share one per API key.
#[derive(Debug, Clone)]
pub struct StripeClient {
    api_key: ApiKey,
    base_url: String,
    transport: Arc<dyn HttpTransport>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
}

impl StripeClient {
    /// A client for Stripe's API host with the defaults.
    pub fn new(api_key: ApiKey) -> Result<Self, ConfigError> {
        Self::builder(api_key).build()
    }

    /// A builder, to change the base URL, transport, sleeper or retries.
    pub fn builder(api_key: ApiKey) -> StripeClientBuilder {
        StripeClientBuilder {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            transport: None,
            sleeper: Arc::new(TokioSleeper),
            retry: RetryPolicy::default(),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// `POST /v1/checkout/sessions`.
    pub async fn create_checkout_session(
        &self,
        params: &CheckoutSessionParams,
        opts: &RequestOptions,
    ) -> Result<CheckoutSession, StripeError> {
        let form = params.to_form()?;
        self.request(Method::Post, "/v1/checkout/sessions", &form, opts)
            .await
    }

    /// `POST /v1/customers`.
    pub async fn create_customer(
        &self,
        params: &CustomerParams,
        opts: &RequestOptions,
    ) -> Result<Customer, StripeError> {
        let form = params.to_form()?;
        self.request(Method::Post, "/v1/customers", &form, opts)
            .await
    }

    /// `GET /v1/customers/{id}` (a deleted customer comes back with
    /// `deleted: true`).
    pub async fn retrieve_customer(&self, id: &str) -> Result<Customer, StripeError> {
        let path = format!("/v1/customers/{}", path_id("customer id", id)?);
        self.request(Method::Get, &path, &Form::new(), &RequestOptions::new())
            .await
    }

    /// Cancels a subscription now (`DELETE /v1/subscriptions/{id}`) or at
    /// the end of its period (`POST /v1/subscriptions/{id}` with
    /// `cancel_at_period_end=true`). `opts` only matters for the `POST`.
    pub async fn cancel_subscription(
        &self,
        id: &str,
        when: CancelAt,
        opts: &RequestOptions,
    ) -> Result<Subscription, StripeError> {
        let path = format!("/v1/subscriptions/{}", path_id("subscription id", id)?);
        match when {
            CancelAt::Now => {
                self.request(Method::Delete, &path, &Form::new(), opts)
                    .await
            }
            CancelAt::PeriodEnd => {
                let mut form = Form::new();
                form.push("cancel_at_period_end", "true");
                self.request(Method::Post, &path, &form, opts).await
            }
        }
    }

    /// `POST /v1/refunds`.
    pub async fn create_refund(
        &self,
        params: &RefundParams,
        opts: &RequestOptions,
    ) -> Result<Refund, StripeError> {
        let form = params.to_form()?;
        self.request(Method::Post, "/v1/refunds", &form, opts).await
    }

    /// Any call: `path` from the base URL (`/v1/…`), `form` as the body of
    /// a `POST` or the query of a `GET`/`DELETE`, the 2xx JSON body read as
    /// `T`. Retries, headers and errors as for the typed calls.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &Form,
        opts: &RequestOptions,
    ) -> Result<T, StripeError> {
        let resp = self.send(method, path, form, opts).await?;
        serde_json::from_slice(&resp.body).map_err(|e| StripeError::Decode {
            status: resp.status,
            request_id: resp.header("request-id").map(str::to_owned),
            message: format!("{e}; body starts {}", error::snippet(&resp.body)),
        })
    }

    /// Sends with retries; `Ok` only for a 2xx response.
    async fn send(
        &self,
        method: Method,
        path: &str,
        form: &Form,
        opts: &RequestOptions,
    ) -> Result<HttpResponse, StripeError> {
        if !path.starts_with('/') {
            return Err(StripeError::InvalidParams(format!(
                "path must start with '/', got {path:?}"
            )));
        }
        let mut url = format!("{}{}", self.base_url, path);
        let mut body = None;
        let mut headers = vec![
            (
                "Authorization".to_owned(),
                format!("Bearer {}", self.api_key.expose()),
            ),
            ("Stripe-Version".to_owned(), STRIPE_API_VERSION.to_owned()),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        let idempotency_key = match method {
            Method::Post => {
                let key = match &opts.idempotency_key {
                    Some(k) => {
                        check_idempotency_key(k)?;
                        k.clone()
                    }
                    None => new_idempotency_key(),
                };
                headers.push((
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ));
                headers.push(("Idempotency-Key".to_owned(), key.clone()));
                body = Some(form.encode());
                Some(key)
            }
            Method::Get | Method::Delete => {
                if !form.is_empty() {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&form.encode());
                }
                None
            }
        };
        let request = HttpRequest {
            method,
            url,
            headers,
            body,
        };
        let idem = idempotency_key.as_deref().unwrap_or("");

        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            tracing::debug!(
                target: LOG_TARGET,
                %method, path, attempt, idempotency_key = idem,
                "stripe request"
            );
            let outcome = self.transport.send(request.clone()).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let may_retry = attempt <= self.retry.max_retries;
            match outcome {
                Ok(resp) if (200..300).contains(&resp.status) => {
                    tracing::debug!(
                        target: LOG_TARGET,
                        %method, path, attempt, status = resp.status,
                        request_id = resp.header("request-id").unwrap_or(""),
                        elapsed_ms, "stripe response"
                    );
                    return Ok(resp);
                }
                Ok(resp) => {
                    let should_retry =
                        retry::should_retry_status(resp.status, resp.header("stripe-should-retry"));
                    let request_id = resp.header("request-id").unwrap_or("");
                    if should_retry && may_retry {
                        let delay = self.retry.backoff(attempt, fastrand::f64());
                        tracing::warn!(
                            target: LOG_TARGET,
                            %method, path, attempt, status = resp.status, request_id,
                            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            idempotency_key = idem, "stripe request failed; retrying"
                        );
                        self.sleeper.sleep(delay).await;
                        continue;
                    }
                    tracing::debug!(
                        target: LOG_TARGET,
                        %method, path, attempt, status = resp.status, request_id,
                        elapsed_ms, "stripe error response"
                    );
                    return Err(StripeError::from_response(&resp));
                }
                Err(e) => {
                    if e.kind.is_retryable() && may_retry {
                        let delay = self.retry.backoff(attempt, fastrand::f64());
                        tracing::warn!(
                            target: LOG_TARGET,
                            %method, path, attempt, error = %e,
                            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            idempotency_key = idem, "stripe request got no response; retrying"
                        );
                        self.sleeper.sleep(delay).await;
                        continue;
                    }
                    tracing::debug!(
                        target: LOG_TARGET,
                        %method, path, attempt, error = %e, "stripe request got no response"
                    );
                    return Err(StripeError::Connection {
                        source: e,
                        attempts: attempt,
                    });
                }
            }
        }
    }
}

/// A random UUID-v4-formatted key (122 random bits).
pub fn new_idempotency_key() -> String {
    let mut v = fastrand::u128(..);
    v = (v & !(0xF << 76)) | (0x4 << 76); // version 4
    v = (v & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn check_idempotency_key(key: &str) -> Result<(), StripeError> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(StripeError::InvalidParams(
            "an idempotency key is 1 to 255 printable ASCII characters".to_owned(),
        ));
    }
    Ok(())
}

/// An object id as one path segment: refused when blank or a dot segment,
/// percent-encoded otherwise.
fn path_id(what: &str, id: &str) -> Result<String, StripeError> {
    if id.trim().is_empty() || id == "." || id == ".." {
        return Err(StripeError::InvalidParams(format!(
            "{what} {id:?} is not an id"
        )));
    }
    Ok(form::encode_path_segment(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_look_like_uuid_v4() {
        let a = new_idempotency_key();
        let b = new_idempotency_key();
        assert_ne!(a, b);
        for k in [&a, &b] {
            let parts: Vec<&str> = k.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{k}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "{k}"
            );
            assert!(k.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let k = ApiKey::new("sk_test_51SECRETabcdef");
        let s = format!("{k:?}");
        assert_eq!(s, "ApiKey(sk_test_<redacted>)");
        assert_eq!(
            format!("{:?}", ApiKey::new("whatever-secret")),
            "ApiKey(<redacted>)"
        );
    }

    #[test]
    fn path_ids_are_checked_and_encoded() {
        assert_eq!(path_id("id", "cus_123").ok().as_deref(), Some("cus_123"));
        assert_eq!(path_id("id", "a/b?c").ok().as_deref(), Some("a%2Fb%3Fc"));
        assert!(path_id("id", "..").is_err());
        assert!(path_id("id", " ").is_err());
    }

    #[test]
    fn builder_checks_key_and_url() {
        let b = |url: &str| {
            StripeClient::builder(ApiKey::new("sk_test_x"))
                .base_url(url)
                .build()
        };
        assert!(matches!(b("ftp://x"), Err(ConfigError::InvalidBaseUrl(_))));
        assert!(matches!(b("https://"), Err(ConfigError::InvalidBaseUrl(_))));
        let c = b("http://127.0.0.1:9/").expect("valid");
        assert_eq!(c.base_url(), "http://127.0.0.1:9");
        let bad = StripeClient::builder(ApiKey::new("sk_test_x\r\nX: y")).build();
        assert!(matches!(bad, Err(ConfigError::InvalidApiKey)));
        assert!(matches!(
            StripeClient::new(ApiKey::new("")),
            Err(ConfigError::InvalidApiKey)
        ));
    }
}

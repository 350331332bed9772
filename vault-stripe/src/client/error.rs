//! Stripe's errors, typed.
//!
//! An error response carries `{"error": {"type", "code", "message", "param",
//! "decline_code", …}}`; [`StripeError`] sorts it by type and status the way
//! Stripe's official libraries do, and every variant keeps the HTTP status
//! and the `Request-Id` Stripe support asks for.

use std::fmt;

use serde::Deserialize;

use super::transport::{HttpResponse, TransportError};

/// The body of one Stripe error response, with the status and request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The `Request-Id` response header.
    pub request_id: Option<String>,
    /// Stripe's `error.type` (`card_error`, `invalid_request_error`,
    /// `api_error`, `idempotency_error`, …); `api_error` when the body had
    /// none.
    pub error_type: String,
    /// `error.code` (`resource_missing`, `card_declined`, …).
    pub code: Option<String>,
    /// `error.message`, meant for people.
    pub message: Option<String>,
    /// `error.param`: the parameter at fault.
    pub param: Option<String>,
    /// `error.decline_code`, for declined cards.
    pub decline_code: Option<String>,
    /// `error.doc_url`.
    pub doc_url: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("(no message)"))?;
        write!(f, " [status {}, type {}", self.status, self.error_type)?;
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(param) = &self.param {
            write!(f, ", param {param}")?;
        }
        if let Some(decline) = &self.decline_code {
            write!(f, ", decline_code {decline}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", request {id}")?;
        }
        f.write_str("]")
    }
}

/// Everything a Stripe call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StripeError {
    /// The card was declined or cannot be charged (`card_error`, 402).
    #[error("card error: {0}")]
    Card(Box<ApiError>),
    /// Bad parameters or a missing object (`invalid_request_error`, 400/404).
    #[error("invalid request: {0}")]
    InvalidRequest(Box<ApiError>),
    /// The API key is missing, wrong or revoked (401).
    #[error("authentication failed: {0}")]
    Authentication(Box<ApiError>),
    /// The key may not do this (403).
    #[error("permission denied: {0}")]
    Permission(Box<ApiError>),
    /// Too many requests (429, or a 400 with code `rate_limit`).
    #[error("rate limited: {0}")]
    RateLimit(Box<ApiError>),
    /// The `Idempotency-Key` was reused with different parameters
    /// (`idempotency_error`).
    #[error("idempotency error: {0}")]
    Idempotency(Box<ApiError>),
    /// Stripe's side failed (`api_error`, 5xx, or anything not above).
    #[error("Stripe API error: {0}")]
    Api(Box<ApiError>),
    /// No response: connecting failed, timed out or broke, on every try.
    #[error("connection error after {attempts} attempt(s): {source}")]
    Connection {
        /// The last try's failure.
        source: TransportError,
        /// How many requests were sent.
        attempts: u32,
    },
    /// A successful response whose body is not the expected JSON.
    #[error("unexpected response body (status {status}): {message}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// The `Request-Id` response header.
        request_id: Option<String>,
        /// What did not parse.
        message: String,
    },
    /// The call's parameters were refused before anything was sent.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The app's metadata used a key the vault writes itself (such as
    /// `vault_purchase_id`), which it may not overwrite; nothing was sent.
    /// Rename the app's key.
    #[error("metadata key {key:?} is the vault's own; the app may not set it")]
    ReservedMetadataKey {
        /// The key.
        key: String,
    },
}

impl StripeError {
    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Decode { status, .. } => Some(*status),
            _ => self.api_error().map(|e| e.status),
        }
    }

    /// Stripe's `Request-Id`, when there was a response that had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Decode { request_id, .. } => request_id.as_deref(),
            _ => self.api_error().and_then(|e| e.request_id.as_deref()),
        }
    }

    /// The error body, for the variants that come from a Stripe error
    /// response.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Card(e)
            | Self::InvalidRequest(e)
            | Self::Authentication(e)
            | Self::Permission(e)
            | Self::RateLimit(e)
            | Self::Idempotency(e)
            | Self::Api(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// Sorts a non-2xx response into a variant.
    pub(crate) fn from_response(resp: &HttpResponse) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Body,
        }
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "type")]
            error_type: Option<String>,
            code: Option<String>,
            message: Option<String>,
            param: Option<String>,
            decline_code: Option<String>,
            doc_url: Option<String>,
        }

        let request_id = resp.header("request-id").map(str::to_owned);
        let status = resp.status;
        let err = match serde_json::from_slice::<Envelope>(&resp.body) {
            Ok(Envelope { error: b }) => ApiError {
                status,
                request_id,
                error_type: b.error_type.unwrap_or_else(|| "api_error".to_owned()),
                code: b.code,
                message: b.message,
                param: b.param,
                decline_code: b.decline_code,
                doc_url: b.doc_url,
            },
            Err(_) => ApiError {
                status,
                request_id,
                error_type: "api_error".to_owned(),
                code: None,
                message: Some(format!(
                    "HTTP {status} without a Stripe error body: {}",
                    snippet(&resp.body)
                )),
                param: None,
                decline_code: None,
                doc_url: None,
            },
        };
        Self::classify(err)
    }

    fn classify(e: ApiError) -> Self {
        let ty = e.error_type.clone();
        let e = Box::new(e);
        if ty == "idempotency_error" {
            Self::Idempotency(e)
        } else if e.status == 429 || (e.status == 400 && e.code.as_deref() == Some("rate_limit")) {
            Self::RateLimit(e)
        } else if ty == "card_error" || e.status == 402 {
            Self::Card(e)
        } else if e.status == 401 {
            Self::Authentication(e)
        } else if e.status == 403 {
            Self::Permission(e)
        } else if ty == "invalid_request_error" || e.status == 400 || e.status == 404 {
            Self::InvalidRequest(e)
        } else {
            Self::Api(e)
        }
    }
}

/// The start of a body, for messages (bodies of error pages can be long).
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        s.push('…');
    }
    s
}

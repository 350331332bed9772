//! What a request that failed shows: one classification of the vault's
//! errors into a status, a stable code and the field at fault, rendered as
//! a page for people and as JSON for the API.
//!
//! No cause of a 500 reaches the page: it goes to the log, and the page
//! says something went wrong on our side.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use vault_core::{Error, StoreError, ValidationError};

/// A request that could not be served: its status, a stable code, the field
/// at fault (if one is), and a message for the person who asked.
#[derive(Debug)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid`, `not_found`, `denied`, ...).
    pub code: &'static str,
    /// The input field at fault, for 400 and 422.
    pub field: Option<String>,
    /// What to tell the person.
    pub message: String,
    /// Seconds to wait before trying again (429, 503).
    pub retry_after: Option<u64>,
}

const OUR_SIDE: &str = "Something went wrong on our side; please try again.";

impl PageError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            field: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 401: the page needs a signed-in user.
    pub fn sign_in_first() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            "Please sign in first.",
        )
    }

    /// 400: a value in the URL or the request's framing is wrong.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid", message);
        e.field = Some(field.into());
        e
    }

    /// 422: a form's value is wrong.
    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        e.field = Some(field.into());
        e
    }

    /// 429, with the seconds to wait.
    pub fn too_many(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 500: the cause is logged, the page says nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", OUR_SIDE)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        let (status, field) = match &e {
            Error::Invalid(v) => (StatusCode::UNPROCESSABLE_ENTITY, Some(v.field().to_owned())),
            Error::CurrencyMismatch { .. } | Error::Overflow { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, None)
            }
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, None),
            Error::Forbidden { .. } | Error::Refused { .. } | Error::Denied(_) => {
                (StatusCode::FORBIDDEN, None)
            }
            Error::AlreadyExists { .. }
            | Error::Conflict { .. }
            | Error::InvalidTransition { .. } => (StatusCode::CONFLICT, None),
            Error::Store(StoreError::Busy { .. }) => (StatusCode::SERVICE_UNAVAILABLE, None),
            _ => return Self::internal(&e),
        };
        let message = match &e {
            Error::Denied(d) => d.summary(),
            Error::Store(StoreError::Busy { .. }) => {
                "We are busy right now; please try again in a moment.".to_owned()
            }
            _ => e.to_string(),
        };
        Self {
            status,
            code: e.kind(),
            field,
            message,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
        }
    }
}

impl PageError {
    /// A vault error for a call whose input came from the URL: a refused
    /// value is the request's fault (400), not a form's (422).
    pub fn from_url(e: Error) -> Self {
        let mut p = Self::from(e);
        if p.status == StatusCode::UNPROCESSABLE_ENTITY {
            p.status = StatusCode::BAD_REQUEST;
        }
        p
    }
}

/// A value parsed from the URL (query or path) that does not parse: 400.
impl From<ValidationError> for PageError {
    fn from(e: ValidationError) -> Self {
        let field = e.field().to_owned();
        Self::bad_request(field, e.to_string())
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: super::Nav,
    status: u16,
    message: &'a str,
    field: Option<&'a str>,
}

impl PageError {
    fn with_retry(&self, mut res: Response) -> Response {
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }

    /// The error as the API's JSON body: `{"error": {"code", "field",
    /// "message"}}`.
    pub fn into_json(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "field": self.field, "message": self.message }
        });
        let res = (self.status, axum::Json(body)).into_response();
        self.with_retry(res)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            nav: super::session::CURRENT_NAV
                .try_with(Clone::clone)
                .unwrap_or_default(),
            status: self.status.as_u16(),
            message: &self.message,
            field: self.field.as_deref(),
        };
        let res = match askama::Template::render(&page) {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message.clone()).into_response(),
        };
        self.with_retry(res)
    }
}

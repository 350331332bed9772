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

/// A handler that panicked, as the friendly 500 page: the panic's message
/// may hold anything (a value, a secret), so neither the page nor the log
/// repeats it; the request's span says which route it was.
pub fn panic_page(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    PageError::internal("a handler panicked").into_response()
}

/// The same for the JSON API: a 500 with the `internal` code.
pub fn panic_json(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    PageError::internal("a handler panicked").into_json()
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
    heading: &'static str,
    message: &'a str,
    field: Option<&'a str>,
}

/// A page's heading in words a visitor reads, where the status code is for
/// machines.
fn heading(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request could not be read",
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Already done",
        422 => "Please check the form",
        429 => "Too many attempts",
        503 => "Busy right now",
        s if s >= 500 => "Something went wrong on our side",
        _ => "That did not work",
    }
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
            heading: heading(self.status),
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

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use vault_core::value::error::Entity;
    use vault_core::{Currency, Error, Refusal, StoreError, ValidationError};

    use super::{OUR_SIDE, PageError};

    fn invalid() -> Error {
        Error::Invalid(ValidationError::new(
            "title",
            vault_core::value::validation::Reason::Empty,
        ))
    }

    /// Every variant a caller can act on, with the status, code and field
    /// it maps to.
    #[test]
    fn each_vault_error_has_its_status_code_and_field() {
        let cases: Vec<(Error, u16, &str, Option<&str>)> = vec![
            (invalid(), 422, "invalid", Some("title")),
            (
                Error::CurrencyMismatch {
                    expected: Currency::USD,
                    found: Currency::EUR,
                },
                422,
                "currency_mismatch",
                None,
            ),
            (Error::Overflow { what: "total" }, 422, "overflow", None),
            (
                Error::NotFound {
                    entity: Entity::Workflow,
                    key: "x".into(),
                },
                404,
                "not_found",
                None,
            ),
            (
                Error::AlreadyExists {
                    entity: Entity::Review,
                    key: "x".into(),
                },
                409,
                "already_exists",
                None,
            ),
            (
                Error::Forbidden {
                    action: "publish",
                    reason: "publishing is for staff",
                },
                403,
                "forbidden",
                None,
            ),
            (
                Error::Refused {
                    refusal: Refusal::Banned,
                },
                403,
                "refused",
                None,
            ),
            (
                Error::InvalidTransition {
                    entity: Entity::Membership,
                    state: "canceled",
                    event: "renew",
                },
                409,
                "invalid_transition",
                None,
            ),
            (
                Error::Conflict {
                    entity: Entity::Purchase,
                    key: "p".into(),
                    reason: "changed",
                },
                409,
                "conflict",
                None,
            ),
            (
                Error::Store(StoreError::busy("sqlite", "database is locked")),
                503,
                "busy",
                None,
            ),
        ];
        for (e, status, code, field) in cases {
            let shown = e.to_string();
            let p = PageError::from(e);
            assert_eq!(p.status.as_u16(), status, "{shown}");
            assert_eq!(p.code, code, "{shown}");
            assert_eq!(p.field.as_deref(), field, "{shown}");
            assert_eq!(p.retry_after.is_some(), status == 503, "{shown}");
        }
        // The reason a 403 gives is the vault's words.
        let p = PageError::from(Error::Forbidden {
            action: "publish",
            reason: "publishing is for staff",
        });
        assert!(p.message.contains("publishing is for staff"));
    }

    #[test]
    fn a_value_from_the_url_is_the_requests_fault() {
        let p = PageError::from_url(invalid());
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(p.field.as_deref(), Some("title"));
        let p = PageError::from_url(Error::NotFound {
            entity: Entity::Workflow,
            key: "x".into(),
        });
        assert_eq!(p.status, StatusCode::NOT_FOUND);
    }

    /// A broken row or a failed connection is a 500 that says nothing of
    /// its cause (a table, a stored value, a host).
    #[test]
    fn a_500_hides_its_cause() {
        for e in [
            Error::Store(StoreError::corrupt(
                "accounts",
                "display_name",
                "Secret Person",
            )),
            Error::Store(StoreError::backend(
                "postgres",
                "connection to db.internal:5432 refused",
            )),
        ] {
            let p = PageError::from(e);
            assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(p.code, "internal");
            assert_eq!(p.message, OUR_SIDE);
            assert_eq!(p.field, None);
        }
    }

    #[tokio::test]
    async fn busy_says_when_to_retry_as_a_page_and_as_json() {
        use axum::response::IntoResponse;
        let busy = || PageError::from(Error::Store(StoreError::busy("sqlite", "locked")));
        let page = busy().into_response();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(page.headers()["retry-after"], "1");
        let json = busy().into_json();
        assert_eq!(json.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(json.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "busy");
        let page = busy().into_response();
        let body = axum::body::to_bytes(page.into_body(), 1 << 16)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("try again in a moment"), "{html}");
        assert!(!html.contains("locked"), "{html}");
    }
}

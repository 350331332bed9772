//! The storefront: the marketplace a person opens in a browser, on the
//! library's public API only. Server-rendered pages (askama templates,
//! escaped by default), no JavaScript needed.
//!
//! This first slice is the read side a visitor sees: the catalog (search,
//! sort, cursor pages) and a workflow's page (details, files, reviews,
//! comments, and the access decision explained in words). Sign-in,
//! checkout, downloads, the dashboard and the admin pages come next.
//!
//! Every value from the URL is parsed into vault-core's checked types; a
//! bad one is a 400 page naming the field, a missing or hidden record a
//! 404, and nothing is written by any page here.

mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use vault_core::store::Store;
use vault_core::{Error, Vault};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The vault the pages read.
    pub vault: Vault<dyn Store>,
}

/// The storefront's router over `vault`, for the binary and for tests that
/// start it in-process.
pub fn router(vault: Vault<dyn Store>) -> Router {
    Router::new()
        .route("/", get(pages::catalog))
        .route("/workflows/{slug}", get(pages::workflow))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { PageError::not_found("no such page") })
        .with_state(Arc::new(AppState { vault }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(TraceLayer::new_for_http())
}

/// A page that could not be shown: its status and a message for the person
/// who asked, rendered with the site's layout.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Forbidden { .. } | Error::Refused { .. } | Error::Denied(_) => {
                StatusCode::FORBIDDEN
            }
            Error::AlreadyExists { .. } | Error::Conflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The cause goes to the log, not to the visitor.
            tracing::error!(error = %e, "page failed");
            "Something went wrong on our side; please try again.".to_owned()
        } else {
            e.to_string()
        };
        Self { status, message }
    }
}

impl From<vault_core::ValidationError> for PageError {
    fn from(e: vault_core::ValidationError) -> Self {
        Error::Invalid(e).into()
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            message: &self.message,
        };
        match askama::Template::render(&page) {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}

/// Renders a template into a response, or a 500 page.
fn render(t: &impl askama::Template) -> Result<Html<String>, PageError> {
    t.render().map(Html).map_err(|e| {
        tracing::error!(error = %e, "template failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Something went wrong on our side; please try again.".into(),
        }
    })
}

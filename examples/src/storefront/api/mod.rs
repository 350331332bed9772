//! The JSON API under `/api` and its OpenAPI document
//! (`GET /api/openapi.json`), on the same vault calls as the pages.
//!
//! # Who is asking
//! The session cookie the pages use (the [`Visitor`](super::Visitor) the
//! session layer resolves): a browser signed in on the site is signed in on
//! the API. Reads are open to anonymous visitors (they see what the pages
//! show); `/api/me/...` and every write need a signed-in user, else `401`
//! with the code `sign_in_required`.
//!
//! # Cross-site requests
//! A cookie-authenticated API must refuse writes forged by other sites. The
//! pages do it with a CSRF token in every form; the API does it by media
//! type: every `POST`, `PUT`, `PATCH` and `DELETE` must carry
//! `Content-Type: application/json` (parameters such as `charset` allowed),
//! bodiless ones included, else `415` with the code
//! `unsupported_media_type` and nothing is done. A cross-site HTML form can
//! only send `application/x-www-form-urlencoded`, `multipart/form-data` or
//! `text/plain`; a script on another origin that sets
//! `application/json` triggers a CORS preflight, and this API answers no
//! CORS headers, so the browser never sends the request. The session
//! cookie's `SameSite=Lax` is a second fence, not the only one.
//!
//! # Errors
//! Every failure is `{"error": {"code", "field", "message"}}`
//! ([`PageError::into_json`](super::PageError::into_json)) with a stable
//! `code`: `invalid` (400 for the URL, 422 for a body, `field` naming the
//! value), `not_found`, `sign_in_required`, `forbidden`, `denied`,
//! `already_exists`/`conflict` (409), `busy` (503, `Retry-After`),
//! `rate_limited` (429), `unsupported_media_type` (415),
//! `method_not_allowed` (405). Malformed JSON is a 400 naming `body`; a
//! body of the wrong shape (a wrong type, a missing or unknown field) a 422
//! naming the field.
//!
//! # Layout
//! [`routes`] lists every route once ([`served_routes`] reads the same
//! table, so a test can hold the OpenAPI document to it); the handlers live
//! by area: [`catalog`] (workflows, access, categories, bundles),
//! [`community`] (reviews, comments, favorites), [`me`] (what the signed-in
//! user has); [`extract`] parses requests into checked types, [`dto`] holds
//! the JSON shapes, [`openapi`] the document.
//!
//! Not here: the download itself (`GET /api/workflows/{slug}/download`)
//! and the Stripe webhook belong to the shop (`shop::webhook` and the
//! shop's download route), which adds them when it lands.

pub mod catalog;
pub mod community;
pub mod dto;
pub mod extract;
pub mod me;
pub mod openapi;
pub mod shop;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use vault_core::{Error, ValidationError};

use super::{AppState, PageError};

/// A failed API request: a [`PageError`] rendered as JSON.
#[derive(Debug)]
pub struct ApiError(pub PageError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json()
    }
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        Self(e)
    }
}

/// A vault error from a call whose input came in a body: a refused value
/// is a 422 (calls on input from the URL use [`ApiError::url`]).
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(PageError::from(e))
    }
}

/// A value from the URL that does not parse: 400 naming it.
impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self(PageError::from(e))
    }
}

impl ApiError {
    /// A vault error for a call whose input came from the URL (400, not 422).
    pub fn url(e: Error) -> Self {
        Self(PageError::from_url(e))
    }

    fn with(status: StatusCode, code: &'static str, message: &str) -> Self {
        let mut e = PageError::not_found(message);
        e.status = status;
        e.code = code;
        Self(e)
    }

    /// 415: a write without `Content-Type: application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::with(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send this request with Content-Type: application/json",
        )
    }
}

/// What API handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

/// One route the API serves: its method and its path below `/api`, as
/// axum spells it (`/workflows/{slug}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: &'static str,
    /// The path below `/api`.
    pub path: &'static str,
}

/// Builds the router and the list of what it serves from the same calls,
/// so the list cannot leave a route out.
#[derive(Default)]
struct Table {
    router: Router<Arc<AppState>>,
    served: Vec<Route>,
}

impl Table {
    fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        // The methods below are all standard ones, which always convert.
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        self.router = self.router.route(path, on(filter, handler));
        self.served.push(Route {
            method: method_name(&method),
            path,
        });
        self
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "GET",
    }
}

/// Every route, once.
fn table() -> Table {
    use Method as M;
    Table::default()
        .add(M::GET, "/openapi.json", openapi::document)
        .add(M::GET, "/workflows", catalog::list_workflows)
        .add(M::GET, "/workflows/{slug}", catalog::workflow)
        .add(M::GET, "/workflows/{slug}/access", catalog::access)
        .add(M::GET, "/workflows/{slug}/reviews", community::reviews)
        .add(M::POST, "/workflows/{slug}/reviews", community::post_review)
        .add(M::POST, "/reviews/{id}/votes", community::vote)
        .add(M::GET, "/workflows/{slug}/comments", community::comments)
        .add(
            M::POST,
            "/workflows/{slug}/comments",
            community::post_comment,
        )
        .add(M::POST, "/comments/{id}/likes", community::like)
        .add(M::DELETE, "/comments/{id}/likes", community::unlike)
        .add(M::POST, "/workflows/{slug}/favorite", community::favorite)
        .add(
            M::DELETE,
            "/workflows/{slug}/favorite",
            community::unfavorite,
        )
        .add(M::GET, "/me/favorites", me::favorites)
        .add(M::GET, "/me/purchases", me::purchases)
        .add(M::GET, "/me/purchases/{id}", me::purchase)
        .add(M::GET, "/me/memberships", me::memberships)
        .add(M::GET, "/me/downloads", me::downloads)
        .add(M::GET, "/categories", catalog::categories)
        .add(M::GET, "/bundles", catalog::bundles)
        .add(
            M::GET,
            "/workflows/{slug}/files/{file_id}/download",
            shop::download,
        )
        .add(M::POST, "/stripe/webhook", shop::stripe_webhook)
        .add(M::POST, "/checkout", shop::checkout)
        .add(M::POST, "/me/membership/cancel", shop::cancel_membership)
}

/// Every route the API serves, relative to `/api`.
pub fn served_routes() -> Vec<Route> {
    table().served
}

/// The routes of this area (nested under `/api`).
pub(super) fn routes() -> Router<Arc<AppState>> {
    table()
        .router
        .fallback(|| async { ApiError(PageError::not_found("no such API route")) })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            super::error::panic_json,
        ))
        .method_not_allowed_fallback(|| async {
            ApiError::with(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take this method",
            )
        })
        .layer(axum::middleware::from_fn(json_only))
}

/// True when the request says its body is JSON.
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Refuses a state-changing request that is not declared JSON, before any
/// handler runs (see the module docs: this is the API's CSRF defence).
async fn json_only(req: Request, next: Next) -> Response {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if writes && !is_json(req.headers()) {
        return ApiError::unsupported_media_type().into_response();
    }
    next.run(req).await
}

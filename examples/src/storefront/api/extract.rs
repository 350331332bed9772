//! Requests parsed at the boundary: who is asking, path segments, query
//! strings and JSON bodies, each rejection a JSON error naming the field
//! (never axum's plain-text rejections).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use vault_core::{Actor, Slug, UserId, ValidationError};

use super::super::session::Visitor;
use super::super::{AppState, PageError};
use super::{ApiError, ApiResult, is_json};

/// The largest JSON body the API reads: a review's body is at most 10 000
/// characters, 64 KiB holds it in any encoding with room to spare.
pub const MAX_BODY: usize = 64 * 1024;

/// The person behind an API request (the session layer's [`Visitor`]),
/// rejecting as JSON.
#[derive(Debug, Clone)]
pub struct Caller(pub Visitor);

impl Caller {
    /// The vault's actor: anonymous when signed out.
    pub fn actor(&self) -> Actor {
        self.0.actor()
    }

    /// The signed-in user, or 401 `sign_in_required`.
    pub fn user(&self) -> ApiResult<&UserId> {
        self.0
            .user
            .as_ref()
            .map(|s| &s.user)
            .ok_or_else(|| ApiError(PageError::sign_in_first()))
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<AppState>) -> ApiResult<Self> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError(PageError::internal("the session layer is missing")))
    }
}

/// A path segment, rejecting as JSON.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(t)| ApiPath(t))
            .map_err(|e| ApiError(PageError::bad_request("path", e.body_text())))
    }
}

/// A workflow's slug from the path. One that cannot be a slug names no
/// workflow: 404, as the pages answer.
pub fn workflow_slug(raw: &str) -> ApiResult<Slug> {
    Slug::parse(raw).map_err(|_| ApiError(PageError::not_found("no such workflow")))
}

/// A query string, rejecting as JSON: 400 naming the parameter when serde
/// says which, else `query`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let raw = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(raw).map(ApiQuery).map_err(|e| {
            let message = e.to_string();
            let field = named_field(&message).unwrap_or("query").to_owned();
            ApiError(PageError::bad_request(field, message))
        })
    }
}

/// The field serde names in "missing field `x`", "unknown field `x`" or
/// "duplicate field `x`".
fn named_field(message: &str) -> Option<&str> {
    let rest = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.find(p).map(|at| &message[at + p.len()..]))?;
    rest.find('`').map(|end| &rest[..end])
}

/// A JSON body: `Content-Type: application/json` (else 415), at most
/// [`MAX_BODY`] bytes, deserialized with the field at fault named: 400
/// `body` for JSON that does not parse, 422 with the field's path for a
/// value of the wrong type, a missing or an unknown field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// An optional JSON body: none at all (zero bytes) is `T::default()`;
/// anything else is read as [`ApiJson`] reads it.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, _: &S) -> ApiResult<Bytes> {
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            let mut e = PageError::bad_request("body", format!("at most {MAX_BODY} bytes"));
            e.status = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            ApiError(e)
        })
}

/// Deserializes `bytes`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if !inner.is_data() {
            return ApiError(PageError::bad_request("body", message));
        }
        let field = match (named_field(&message), path.as_str()) {
            (Some(name), "." | "") => name.to_owned(),
            // An unknown field's path already ends with it; a missing
            // one's is its parent's.
            (Some(name), at) if at == name || at.ends_with(&format!(".{name}")) => at.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, "." | "") => "body".to_owned(),
            (None, at) => at.to_owned(),
        };
        ApiError(PageError::unprocessable(field, message))
    })?;
    // Trailing bytes after the value are malformed JSON too.
    de.end()
        .map_err(|e| ApiError(PageError::bad_request("body", e.to_string())))?;
    Ok(value)
}

/// A refused value from a body, renamed to the field the API calls it:
/// 422 naming `field`.
pub fn body_field(field: &str, e: ValidationError) -> ApiError {
    ApiError(PageError::unprocessable(field, e.to_string()))
}

/// A refused value from the URL, renamed to the parameter the API calls
/// it: 400 naming `param`.
pub fn url_param(param: &str, e: ValidationError) -> ApiError {
    ApiError(PageError::bad_request(param, e.to_string()))
}

//! The shop's two API routes: a granted download's bytes, and Stripe's
//! webhook. Both call the shop's own handlers, so the rules live once; a
//! refusal comes back in the API's JSON error shape.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::super::session::Visitor;
use super::super::{AppState, shop};
use super::dto::ErrorBody;

/// A file's bytes, when the vault grants the caller the download (the
/// quota is charged and the download recorded first).
#[utoipa::path(get, path = "/api/workflows/{slug}/files/{file_id}/download", tag = "catalog",
    params(
        ("slug" = String, Path, description = "The workflow's slug"),
        ("file_id" = String, Path, description = "The file's id"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment", content_type = "application/octet-stream"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Denied, with the reason in words", body = ErrorBody),
        (status = 404, description = "No such workflow or file", body = ErrorBody),
    ))]
pub async fn download(
    state: State<Arc<AppState>>,
    v: Visitor,
    Path((slug, file_id)): Path<(String, String)>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    match shop::download(state, v, Path((slug, file_id)), ext, headers).await {
        Ok(r) => r,
        Err(e) => e.into_json(),
    }
}

/// Stripe's webhook endpoint (the same as `/stripe/webhook`): the raw body
/// and its `Stripe-Signature` header. 200 when handled (also a repeat),
/// 400 for a bad signature, 409 while another delivery applies it, 500 to
/// be delivered again.
#[utoipa::path(post, path = "/api/stripe/webhook", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "The event, as Stripe sent it"),
    params(("Stripe-Signature" = String, Header, description = "t=...,v1=...")),
    responses(
        (status = 200, description = "Handled"),
        (status = 400, description = "Signature refused"),
        (status = 409, description = "Being applied by another delivery"),
        (status = 500, description = "Not applied; deliver again"),
    ))]
pub async fn stripe_webhook(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shop::stripe_webhook(state, headers, body)
        .await
        .into_response()
}

//! The shop's API routes: starting a checkout, canceling a membership, a
//! granted download's bytes, and Stripe's webhook. Each calls the shop's
//! own functions, so the rules live once; a refusal comes back in the
//! API's JSON error shape.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vault_core::{PricingTier, Slug};

use super::super::session::Visitor;
use super::super::{AppState, PageError, shop};
use super::dto::{ErrorBody, MembershipDto};
use super::extract::{ApiJson, Caller, body_field};
use super::me::membership_dto;
use super::{ApiError, ApiResult};

/// What to buy: exactly one of the three.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// A workflow's slug.
    workflow: Option<String>,
    /// A bundle's slug (the rest of it, at the buyer's price).
    bundle: Option<String>,
    /// A membership plan's tier (`basic`, `pro`, `premium`).
    membership: Option<String>,
}

/// Where to send the buyer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutDto {
    /// Stripe's hosted checkout page for the new session.
    url: String,
}

/// Starts a checkout: a pending purchase (or, for a membership, nothing
/// until Stripe confirms) and its Stripe Checkout Session. The buyer pays
/// on `url`; Stripe's webhook completes the purchase.
#[utoipa::path(post, path = "/api/checkout", tag = "payments",
    request_body = CheckoutBody,
    responses(
        (status = 201, description = "The session", body = CheckoutDto),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such workflow, bundle or plan", body = ErrorBody),
        (status = 409, description = "Owned already, or another membership runs", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "Not exactly one of `workflow`, `bundle`, `membership`", body = ErrorBody),
    ))]
pub async fn checkout(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> ApiResult<(StatusCode, Json<CheckoutDto>)> {
    let buyer = caller
        .0
        .user
        .as_ref()
        .ok_or_else(|| ApiError(PageError::sign_in_first()))?;
    let slug = |field: &str, s: &str| Slug::parse(s).map_err(|e| body_field(field, e));
    let url = match (&body.workflow, &body.bundle, &body.membership) {
        (Some(w), None, None) => shop::open_workflow(&app, buyer, &slug("workflow", w)?).await?,
        (None, Some(b), None) => shop::open_bundle(&app, buyer, &slug("bundle", b)?).await?,
        (None, None, Some(t)) => {
            let tier: PricingTier = t.parse().map_err(|e| body_field("membership", e))?;
            shop::open_membership(&app, buyer, tier).await?
        }
        _ => {
            return Err(ApiError(PageError::unprocessable(
                "workflow",
                "give exactly one of workflow, bundle or membership",
            )));
        }
    };
    Ok((StatusCode::CREATED, Json(CheckoutDto { url })))
}

/// Cancels the caller's membership at the end of the period it is paid
/// for (through Stripe); the membership as it stands now.
#[utoipa::path(post, path = "/api/me/membership/cancel", tag = "me",
    responses(
        (status = 200, description = "The membership", body = MembershipDto),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No membership to cancel", body = ErrorBody),
    ))]
pub async fn cancel_membership(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<MembershipDto>> {
    let member = caller
        .0
        .user
        .as_ref()
        .ok_or_else(|| ApiError(PageError::sign_in_first()))?;
    let m = shop::cancel_current(&app, member).await?;
    Ok(Json(membership_dto(&m)))
}

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

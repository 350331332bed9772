//! What the signed-in user has: bookmarks, purchases, memberships and
//! downloads. Every route here is `401 sign_in_required` when signed out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use vault_core::PurchaseId;
use vault_core::commerce::membership::Membership;
use vault_core::commerce::purchase::{Purchase, PurchaseItem};
use vault_core::store::Store;
use vault_core::vault::Vault;

use super::super::AppState;
use super::ApiError;
use super::ApiResult;
use super::catalog::{limit, workflow_ref};
use super::dto::{
    DownloadDto, ErrorBody, FavoriteDto, MembershipDto, MoneyDto, PurchaseDto, QuotaDto,
};
use super::extract::{ApiPath, ApiQuery, Caller, url_param};

/// The caller's bookmarks, newest first.
#[utoipa::path(get, path = "/api/me/favorites", tag = "me",
    responses(
        (status = 200, description = "Bookmarks", body = [FavoriteDto]),
        (status = 401, description = "Sign in first", body = ErrorBody),
    ))]
pub async fn favorites(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<FavoriteDto>>> {
    let user = caller.user()?.clone();
    let favs = app.vault.favorites(&caller.actor(), &user).await?;
    let mut out = Vec::with_capacity(favs.len());
    for f in favs {
        out.push(FavoriteDto {
            workflow: workflow_ref(&app, &caller, f.workflow_id).await?,
            note: f.note,
            tags: f.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            created_at: f.created_at,
        });
    }
    Ok(Json(out))
}

/// The caller's purchases, with their license keys and download quotas.
#[utoipa::path(get, path = "/api/me/purchases", tag = "me",
    responses(
        (status = 200, description = "Purchases", body = [PurchaseDto]),
        (status = 401, description = "Sign in first", body = ErrorBody),
    ))]
pub async fn purchases(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<PurchaseDto>>> {
    let user = caller.user()?.clone();
    let all = app.vault.purchases_for_user(&caller.actor(), &user).await?;
    Ok(Json(
        all.iter().map(|p| purchase_dto(&app.vault, p)).collect(),
    ))
}

/// One of the caller's purchases. Another user's purchase is a 404, as
/// if it did not exist: its id tells the caller nothing.
#[utoipa::path(get, path = "/api/me/purchases/{id}", tag = "me",
    params(("id" = String, Path, description = "The purchase's id (a UUID)")),
    responses(
        (status = 200, description = "The purchase", body = PurchaseDto),
        (status = 400, description = "`id` is not a UUID", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such purchase of the caller's", body = ErrorBody),
    ))]
pub async fn purchase(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PurchaseDto>> {
    let id = PurchaseId::parse(&id).map_err(|e| url_param("id", e))?;
    caller.user()?;
    let p = app
        .vault
        .purchase(&caller.actor(), id)
        .await
        .map_err(ApiError::url)?;
    Ok(Json(purchase_dto(&app.vault, &p)))
}

fn purchase_dto(vault: &Vault<dyn Store>, p: &Purchase) -> PurchaseDto {
    PurchaseDto {
        id: p.id.as_uuid(),
        purchase_type: p.item.purchase_type().to_string(),
        workflows: p.item.workflows().iter().map(|w| w.as_uuid()).collect(),
        bundle_id: match &p.item {
            PurchaseItem::Bundle { bundle_id, .. } => Some(bundle_id.as_uuid()),
            _ => None,
        },
        status: p.status.to_string(),
        license_type: p.license_type.to_string(),
        license_key: vault.license_key(p).map(String::from),
        license_expires_at: p.license_expires_at,
        updates_until: p.updates_until,
        quota: QuotaDto::from(p.quota),
        amount: MoneyDto::from(&p.amount),
        tax: MoneyDto::from(&p.tax),
        total: MoneyDto::from(&p.total),
        refunded: p.refund.as_ref().map(|r| MoneyDto::from(&r.refunded)),
        created_at: p.created_at,
        completed_at: p.completed_at,
    }
}

/// The caller's memberships, newest first.
#[utoipa::path(get, path = "/api/me/memberships", tag = "me",
    responses(
        (status = 200, description = "Memberships", body = [MembershipDto]),
        (status = 401, description = "Sign in first", body = ErrorBody),
    ))]
pub async fn memberships(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<MembershipDto>>> {
    let user = caller.user()?.clone();
    let all = app
        .vault
        .memberships_for_user(&caller.actor(), &user)
        .await?;
    Ok(Json(all.iter().map(membership_dto).collect()))
}

/// A membership as the API shows it.
pub fn membership_dto(m: &Membership) -> MembershipDto {
    MembershipDto {
        id: m.id.as_uuid(),
        tier: m.tier.to_string(),
        status: m.status.to_string(),
        trial_ends_at: m.trial_ends_at,
        period_start: m.period.start,
        period_end: m.period.end,
        quota: QuotaDto::from(m.quota),
        cancel_at_period_end: m.cancel_at_period_end,
        ended_at: m.ended_at,
    }
}

/// The downloads query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// How many, 1 to 100 (default 50), newest first.
    limit: Option<String>,
}

/// The caller's downloads, newest first.
#[utoipa::path(get, path = "/api/me/downloads", tag = "me", params(DownloadParams),
    responses(
        (status = 200, description = "Downloads", body = [DownloadDto]),
        (status = 400, description = "`limit` is wrong", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
    ))]
pub async fn downloads(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(p): ApiQuery<DownloadParams>,
) -> ApiResult<Json<Vec<DownloadDto>>> {
    let user = caller.user()?.clone();
    let limit = limit(&p.limit, 50)?;
    let all = app
        .vault
        .downloads_for_user(&caller.actor(), &user, limit)
        .await?;
    Ok(Json(
        all.iter()
            .map(|d| DownloadDto {
                id: d.id.as_uuid(),
                workflow_id: d.workflow_id.as_uuid(),
                file_id: d.file_id.as_uuid(),
                file_version: d.file_version.to_string(),
                kind: d.kind.to_string(),
                downloaded_at: d.downloaded_at,
            })
            .collect(),
    ))
}

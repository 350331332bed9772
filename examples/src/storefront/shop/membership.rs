//! Memberships: the plans on sale, the member's own membership, and
//! canceling it at the period's end through Stripe (the webhook that
//! follows moves the membership).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use vault_core::commerce::membership::Membership;
use vault_stripe::client::{CancelAt, RequestOptions};

use super::super::session::{CsrfForm, SignedIn, Visitor};
use super::super::{AppState, Nav, PageError, render};
use super::NoFields;

/// The member's membership that has not ended, if any.
pub(super) async fn current(
    app: &AppState,
    member: &SignedIn,
) -> Result<Option<Membership>, PageError> {
    Ok(app
        .vault
        .memberships_for_user(&member.actor, &member.user)
        .await?
        .into_iter()
        .find(|m| !m.status.is_ended()))
}

struct PlanView {
    tier: String,
    name: String,
    price: String,
    trial: Option<String>,
    downloads: String,
}

struct MineView {
    tier: String,
    status: String,
    trial_ends: Option<String>,
    period_ends: String,
    cancel_at_period_end: bool,
    quota: String,
    cancelable: bool,
}

#[derive(askama::Template)]
#[template(path = "shop_membership.html")]
struct MembershipPage {
    nav: Nav,
    plans: Vec<PlanView>,
    mine: Option<MineView>,
}

/// `GET /membership`: the plans with price and trial; the member's own
/// membership and its cancel button.
pub(super) async fn page(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Html<String>, PageError> {
    let actor = v.actor();
    let plans = app
        .vault
        .membership_plans(&actor)
        .await?
        .into_iter()
        .map(|p| PlanView {
            tier: p.tier.to_string(),
            name: p.name,
            price: format!("{} a {}", p.price, p.interval.as_str()),
            trial: p.trial_days.map(|d| format!("{d}-day free trial")),
            downloads: p.period_download_limit.map_or_else(
                || "unlimited downloads".to_owned(),
                |n| format!("{n} downloads a {}", p.interval.as_str()),
            ),
        })
        .collect();
    let mine = match &v.user {
        Some(member) => current(&app, member).await?.map(|m| MineView {
            tier: m.tier.to_string(),
            status: m.status.to_string(),
            trial_ends: m.trial_ends_at.map(|t| t.date_naive().to_string()),
            period_ends: m.period.end.date_naive().to_string(),
            cancel_at_period_end: m.cancel_at_period_end,
            quota: match m.quota.limit {
                Some(l) => format!("{} of {l} downloads used this period", m.quota.used),
                None => format!("{} downloads this period", m.quota.used),
            },
            cancelable: !m.cancel_at_period_end && m.provider.subscription_id.is_some(),
        }),
        None => None,
    };
    render(&MembershipPage {
        nav: Nav::of(&v),
        plans,
        mine,
    })
}

/// `POST /membership/cancel`: asks Stripe to end the subscription at the
/// period's end. The membership keeps its access until then; Stripe's
/// `customer.subscription.updated` records the cancel in the vault.
pub(super) async fn cancel(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    cancel_current(&app, v.signed_in()?).await?;
    Ok(Redirect::to("/membership").into_response())
}

/// Cancels the member's current membership at the end of its period,
/// through Stripe (whose `customer.subscription.updated` records it);
/// returns the membership as the vault holds it now. 404 without one, 422
/// for one not billed through Stripe. The pages and the API both call it.
pub(in crate::storefront) async fn cancel_current(
    app: &AppState,
    member: &SignedIn,
) -> Result<Membership, PageError> {
    let m = current(app, member)
        .await?
        .ok_or_else(|| PageError::not_found("you have no membership to cancel"))?;
    let sub = m.provider.subscription_id.as_deref().ok_or_else(|| {
        PageError::unprocessable("membership", "this membership is not billed through Stripe")
    })?;
    if !m.cancel_at_period_end {
        app.shop
            .client()?
            .cancel_subscription(
                sub,
                CancelAt::PeriodEnd,
                &RequestOptions::new().idempotency_key(format!("cancel-{}", m.id)),
            )
            .await
            .map_err(PageError::internal)?;
    }
    Ok(current(app, member).await?.unwrap_or(m))
}

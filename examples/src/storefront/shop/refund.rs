//! Refunds, by staff: asked of Stripe; the `charge.refunded` webhook that
//! follows runs the vault's refund cascade (and takes the access away).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Html;
use vault_core::Actor;
use vault_core::value::ids::PurchaseId;
use vault_stripe::client::{RefundParams, RefundReason, RequestOptions};

use super::super::session::{CsrfForm, Visitor};
use super::super::{AppState, Nav, PageError, render};
use super::NoFields;

#[derive(askama::Template)]
#[template(path = "shop_refund.html")]
struct RefundPage {
    nav: Nav,
    purchase: String,
    status: String,
    refunded: String,
}

/// `POST /admin/purchases/{id}/refund` (staff): refunds what is left of the
/// purchase's payment in full.
pub(super) async fn refund(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Html<String>, PageError> {
    let staff = v.staff()?;
    let id = PurchaseId::parse(&id).map_err(|_| PageError::not_found("no such purchase"))?;
    let p = app.vault.purchase(&staff.actor, id).await?;
    let payment = p.payment_ref.as_ref().ok_or_else(|| {
        PageError::unprocessable("purchase", "this purchase has no payment to refund")
    })?;
    // Keyed by what was refunded before: a resubmitted form repeats the
    // same refund, while a later one (after a partial refund) is new.
    let before = p
        .refund
        .as_ref()
        .map_or_else(|| "0".to_owned(), |r| r.refunded.to_string());
    app.shop
        .client()?
        .create_refund(
            &RefundParams::new(payment.as_str()).reason(RefundReason::RequestedByCustomer),
            &RequestOptions::new()
                .idempotency_key(format!("refund-{id}-{before}").replace(' ', "-")),
        )
        .await
        .map_err(PageError::internal)?;
    // With the fake Stripe the webhook has arrived already; with Stripe's
    // it may still be on its way, and the page says what is known now.
    let p = app.vault.purchase(&Actor::Service, id).await?;
    render(&RefundPage {
        nav: Nav::of(&v),
        purchase: id.to_string(),
        status: p.status.to_string(),
        refunded: p
            .refund
            .as_ref()
            .map_or_else(|| "nothing yet".to_owned(), |r| r.refunded.to_string()),
    })
}

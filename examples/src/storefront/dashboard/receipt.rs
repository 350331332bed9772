//! `GET /dashboard/purchases/{id}`: one purchase, as its buyer (or staff)
//! sees it: what, when, what it cost, its license and its downloads.
//! Another user's purchase is a 404 like an unknown one (the vault says
//! `NotFound`, not `Forbidden`), so an id reveals nothing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Html;
use vault_core::PurchaseId;
use vault_core::commerce::purchase::PurchaseItem;

use super::super::session::Visitor;
use super::super::{AppState, Nav, PageError, render};
use super::{WorkflowLink, day, links};

#[derive(askama::Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    nav: Nav,
    id: String,
    items: Vec<WorkflowLink>,
    bundle: Option<String>,
    status: String,
    license_type: String,
    license_key: Option<String>,
    amount: String,
    tax: String,
    total: String,
    refunded: Option<String>,
    bought: String,
    completed: Option<String>,
    downloads: String,
    updates_until: Option<String>,
    license_expires: Option<String>,
}

pub(super) async fn receipt(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let me = v.signed_in()?;
    let id = PurchaseId::parse(&id).map_err(|_| PageError::not_found("no such purchase"))?;
    let p = app.vault.purchase(&me.actor, id).await?;
    let titles = links(&app, &me.actor, p.item.workflows()).await?;
    let bundle = match &p.item {
        PurchaseItem::Bundle { bundle_id, .. } => Some(
            app.vault
                .bundle(&me.actor, *bundle_id)
                .await
                .map_or_else(|_| "a bundle".to_owned(), |b| b.bundle.name),
        ),
        _ => None,
    };
    render(&ReceiptPage {
        nav: Nav::of(&v),
        id: p.id.to_string(),
        items: p
            .item
            .workflows()
            .iter()
            .filter_map(|w| titles.get(w).cloned())
            .collect(),
        bundle,
        status: p.status.to_string(),
        license_type: p.license_type.to_string(),
        license_key: app.vault.license_key(&p).map(String::from),
        amount: p.amount.to_string(),
        tax: p.tax.to_string(),
        total: p.total.to_string(),
        refunded: p.refund.as_ref().map(|r| r.refunded.to_string()),
        bought: day(p.created_at),
        completed: p.completed_at.map(day),
        downloads: match p.quota.limit {
            Some(l) => format!("{} of {l}", p.quota.used),
            None => format!("{} (unlimited)", p.quota.used),
        },
        updates_until: p.updates_until.map(day),
        license_expires: p.license_expires_at.map(day),
    })
}

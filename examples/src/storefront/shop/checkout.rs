//! Checkout: a pending purchase (or a membership's subscription) in the
//! vault, a Stripe Checkout Session for it, and the pages Stripe sends the
//! buyer back to.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::Purchase;
use vault_core::vault::{CheckoutItem as VaultItem, StartPurchase};
use vault_core::{PricingTier, Slug};
use vault_stripe::client::{CheckoutItem, CheckoutSessionParams, RequestOptions, ReturnUrls};

use super::super::session::{CsrfForm, SignedIn, Visitor};
use super::super::{AppState, Nav, PageError, render};
use super::{NoFields, sign_in_first};

/// A slug from the path that cannot exist names no page.
pub(super) fn slug_or_404(s: &str, what: &str) -> Result<Slug, PageError> {
    Slug::parse(s).map_err(|_| PageError::not_found(format!("no such {what}")))
}

/// The return URLs of a session: the done page (Stripe fills in the
/// session id) with what was bought, and the canceled page.
fn urls(app: &AppState, what: (&str, &str)) -> ReturnUrls {
    let mut done = form_urlencoded::Serializer::new(String::new());
    done.append_pair(what.0, what.1);
    let query = done.finish();
    ReturnUrls::new(
        format!(
            "{}/checkout/done?session={{CHECKOUT_SESSION_ID}}&{query}",
            app.public_url
        ),
        format!("{}/checkout/canceled?{query}", app.public_url),
    )
}

/// Opens a Checkout Session; returns Stripe's page for it.
async fn to_stripe(
    app: &AppState,
    buyer: &SignedIn,
    params: CheckoutSessionParams,
    idempotency_key: Option<String>,
) -> Result<String, PageError> {
    // Stripe pre-fills the email; a missing account only loses that.
    let params = match app.vault.account(&buyer.actor, &buyer.user).await {
        Ok(vault_core::Account {
            email: Some(email), ..
        }) => params.customer_email(email.as_str()),
        _ => params,
    };
    let opts = match idempotency_key {
        Some(k) => RequestOptions::new().idempotency_key(k),
        None => RequestOptions::new(),
    };
    let session = app
        .shop
        .client()?
        .create_checkout_session(&params, &opts)
        .await
        .map_err(PageError::internal)?;
    session
        .url
        .ok_or_else(|| PageError::internal("Stripe returned a session without a url"))
}

async fn start(app: &AppState, buyer: &SignedIn, item: VaultItem) -> Result<Purchase, PageError> {
    Ok(app
        .vault
        .start_purchase(
            &buyer.actor,
            StartPurchase {
                user_id: buyer.user.clone(),
                item,
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: Default::default(),
            },
        )
        .await?)
}

/// Starts buying one workflow: the pending purchase and its Checkout
/// Session; returns Stripe's page. The pages and the API both call it.
pub(in crate::storefront) async fn open_workflow(
    app: &AppState,
    buyer: &SignedIn,
    slug: &Slug,
) -> Result<String, PageError> {
    let w = app.vault.workflow_by_slug(&buyer.actor, slug).await?;
    let p = start(app, buyer, VaultItem::Workflow(w.id)).await?;
    let params = CheckoutSessionParams::workflow(
        p.id,
        w.content.title.clone(),
        p.total,
        urls(app, ("workflow", slug.as_str())),
    );
    // One purchase, one session: a resubmitted request gets the same one.
    to_stripe(app, buyer, params, Some(format!("checkout-{}", p.id))).await
}

/// `POST /checkout/workflow/{slug}`: buy one workflow.
pub(super) async fn workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let slug = slug_or_404(&slug, "workflow")?;
    let Some(buyer) = &v.user else {
        return Ok(sign_in_first(&format!("/workflows/{slug}")));
    };
    Ok(Redirect::to(&open_workflow(&app, buyer, &slug).await?).into_response())
}

/// Starts buying the rest of a bundle; returns Stripe's page.
pub(in crate::storefront) async fn open_bundle(
    app: &AppState,
    buyer: &SignedIn,
    slug: &Slug,
) -> Result<String, PageError> {
    let b = super::bundles::by_slug(app, &buyer.actor, slug).await?;
    let p = start(app, buyer, VaultItem::Bundle(b.id)).await?;
    let params = CheckoutSessionParams::bundle(
        p.id,
        b.name.clone(),
        p.total,
        urls(app, ("bundle", slug.as_str())),
    );
    to_stripe(app, buyer, params, Some(format!("checkout-{}", p.id))).await
}

/// `POST /checkout/bundle/{slug}`: buy the rest of a bundle.
pub(super) async fn bundle(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let slug = slug_or_404(&slug, "bundle")?;
    let Some(buyer) = &v.user else {
        return Ok(sign_in_first(&format!("/bundles/{slug}")));
    };
    Ok(Redirect::to(&open_bundle(&app, buyer, &slug).await?).into_response())
}

/// Starts joining the plan of `tier`, with its trial; returns Stripe's
/// page. 404 for a tier without a plan; 409 while another membership
/// runs.
pub(in crate::storefront) async fn open_membership(
    app: &AppState,
    member: &SignedIn,
    tier: PricingTier,
) -> Result<String, PageError> {
    let plan = app
        .vault
        .membership_plans(&member.actor)
        .await?
        .into_iter()
        .find(|p| p.tier == tier)
        .ok_or_else(|| PageError::not_found("no such membership plan"))?;
    // The vault keeps one membership per member: a second subscription
    // would wait for the first to end, while Stripe bills both.
    if let Some(m) = super::membership::current(app, member).await? {
        return Err(PageError {
            status: axum::http::StatusCode::CONFLICT,
            code: "conflict",
            field: None,
            message: format!(
                "You already have a {} membership ({}); cancel it before joining another plan.",
                m.tier, m.status
            ),
            retry_after: None,
        });
    }
    let params = CheckoutSessionParams::new(
        CheckoutItem::Membership {
            user_id: member.user.clone(),
            tier,
            price_id: plan.price_id.clone(),
            trial_period_days: plan.trial_days,
        },
        urls(app, ("membership", tier.as_str())),
    );
    to_stripe(app, member, params, None).await
}

/// `POST /checkout/membership/{tier}`: join a plan, with its trial.
pub(super) async fn membership(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(tier): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let tier: PricingTier = tier
        .parse()
        .map_err(|_| PageError::not_found("no such membership plan"))?;
    let Some(member) = &v.user else {
        return Ok(sign_in_first("/membership"));
    };
    Ok(Redirect::to(&open_membership(&app, member, tier).await?).into_response())
}

/// What the return pages were told was bought.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Bought {
    workflow: Option<String>,
    bundle: Option<String>,
    membership: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "shop_checkout_done.html")]
struct DonePage {
    nav: Nav,
    canceled: bool,
    confirmed: bool,
    heading: String,
    detail: String,
    back: Option<(String, String)>,
}

/// `GET /checkout/done?session=…`: where Stripe sends the buyer after
/// paying. The webhook, not this page, completes the purchase: the page
/// says whether it has arrived yet.
pub(super) async fn done(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(bought): Query<Bought>,
) -> Result<Html<String>, PageError> {
    let actor = v.actor();
    let mut confirmed = false;
    let mut back = None;
    if let Some(slug) = bought.workflow.as_deref().and_then(|s| Slug::parse(s).ok())
        && let Ok(w) = app.vault.workflow_by_slug(&actor, &slug).await
    {
        confirmed = v.user.is_some()
            && app
                .vault
                .check_access(&actor, w.id, None)
                .await
                .is_ok_and(|d| d.is_granted());
        back = Some((format!("/workflows/{slug}"), w.content.title.clone()));
    } else if let Some(slug) = bought.bundle.as_deref().and_then(|s| Slug::parse(s).ok()) {
        back = Some((format!("/bundles/{slug}"), "the bundle".to_owned()));
        if let (Some(buyer), Ok(b)) = (&v.user, super::bundles::by_slug(&app, &actor, &slug).await)
        {
            confirmed = app
                .vault
                .quote_bundle(&buyer.actor, b.id, LicenseType::Personal)
                .await
                .is_ok_and(|q| q.owned.len() == b.workflow_ids.len());
        }
    } else if bought.membership.is_some() {
        back = Some(("/membership".to_owned(), "your membership".to_owned()));
        if let Some(member) = &v.user {
            confirmed = super::membership::current(&app, member).await?.is_some();
        }
    }
    render(&DonePage {
        nav: Nav::of(&v),
        canceled: false,
        confirmed,
        heading: if confirmed {
            "Payment received".into()
        } else {
            "Payment received: being confirmed".into()
        },
        detail: if confirmed {
            "Thank you! It is yours now.".into()
        } else {
            "Thank you! Stripe is confirming the payment with us; this takes a few seconds. Reload this page in a moment.".into()
        },
        back,
    })
}

/// `GET /checkout/canceled`: the buyer went back from Stripe's page.
pub(super) async fn canceled(
    v: Visitor,
    Query(bought): Query<Bought>,
) -> Result<Html<String>, PageError> {
    let back = bought
        .workflow
        .as_deref()
        .and_then(|s| Slug::parse(s).ok())
        .map(|s| (format!("/workflows/{s}"), "back to the workflow".to_owned()))
        .or_else(|| {
            bought
                .bundle
                .as_deref()
                .and_then(|s| Slug::parse(s).ok())
                .map(|s| (format!("/bundles/{s}"), "back to the bundle".to_owned()))
        });
    render(&DonePage {
        nav: Nav::of(&v),
        canceled: true,
        confirmed: false,
        heading: "Checkout canceled".into(),
        detail: "Nothing was charged.".into(),
        back,
    })
}

//! Bundles: the list, and one bundle with its members, its savings and
//! what the rest of it costs the signed-in buyer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Html;
use vault_core::catalog::bundle::{Availability, Bundle};
use vault_core::commerce::license::LicenseType;
use vault_core::{Actor, Error, Slug};

use super::super::session::Visitor;
use super::super::{AppState, Nav, PageError, render};
use super::checkout::slug_or_404;

/// The bundle called `slug`, if `actor` may see it.
pub(super) async fn by_slug(
    app: &AppState,
    actor: &Actor,
    slug: &Slug,
) -> Result<Bundle, PageError> {
    app.vault
        .bundles(actor)
        .await?
        .into_iter()
        .find(|b| &b.slug == slug)
        .ok_or_else(|| PageError::not_found("no such bundle"))
}

struct Card {
    slug: String,
    name: String,
    description: String,
    price: String,
    original: String,
    members: usize,
}

#[derive(askama::Template)]
#[template(path = "shop_bundles.html")]
struct ListPage {
    nav: Nav,
    bundles: Vec<Card>,
}

/// `GET /bundles`: every bundle on show, with its price and what the
/// members cost apart.
pub(super) async fn list(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Html<String>, PageError> {
    let actor = v.actor();
    let mut bundles = Vec::new();
    for b in app.vault.bundles(&actor).await? {
        let view = app.vault.bundle(&actor, b.id).await?;
        bundles.push(Card {
            slug: b.slug.to_string(),
            name: b.name,
            description: b.description,
            price: view.pricing.price.to_string(),
            original: view.pricing.original.to_string(),
            members: b.workflow_ids.len(),
        });
    }
    render(&ListPage {
        nav: Nav::of(&v),
        bundles,
    })
}

struct Member {
    slug: String,
    title: String,
    price: String,
    owned: bool,
}

#[derive(askama::Template)]
#[template(path = "shop_bundle.html")]
struct BundlePage {
    nav: Nav,
    slug: String,
    name: String,
    description: String,
    members: Vec<Member>,
    price: String,
    original: String,
    savings: String,
    savings_percent: String,
    on_sale: bool,
    availability: String,
    /// What the signed-in buyer pays for the rest, when it differs from the
    /// price or they own some of it.
    your_price: Option<String>,
    owns_all: bool,
}

/// `GET /bundles/{slug}`: the members, the savings, and for a signed-in
/// buyer the complete-the-bundle price.
pub(super) async fn page(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
) -> Result<Html<String>, PageError> {
    let slug = slug_or_404(&slug, "bundle")?;
    let actor = v.actor();
    let b = by_slug(&app, &actor, &slug).await?;
    let view = app.vault.bundle(&actor, b.id).await?;
    let quote = match &v.user {
        Some(u) => Some(
            app.vault
                .quote_bundle(&u.actor, b.id, LicenseType::Personal)
                .await?,
        ),
        None => None,
    };
    let mut members = Vec::new();
    for id in &b.workflow_ids {
        let w = match app.vault.workflow(&actor, *id).await {
            Ok(w) => w,
            // A member taken off the shelf is not listed.
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        members.push(Member {
            slug: w.content.slug.to_string(),
            title: w.content.title.clone(),
            price: w
                .content
                .price
                .map_or_else(|| "membership only".to_owned(), |p| p.to_string()),
            owned: quote.as_ref().is_some_and(|q| q.owned.contains(id)),
        });
    }
    let (on_sale, availability) = match view.availability {
        Availability::OnSale => (true, "on sale".to_owned()),
        Availability::NotYet { from } => (false, format!("on sale from {}", from.date_naive())),
        Availability::Ended { until } => (false, format!("sale ended on {}", until.date_naive())),
        Availability::Inactive => (false, "not on sale".to_owned()),
    };
    let owns_all = quote
        .as_ref()
        .is_some_and(|q| q.owned.len() == b.workflow_ids.len());
    render(&BundlePage {
        nav: Nav::of(&v),
        slug: b.slug.to_string(),
        name: b.name,
        description: b.description,
        members,
        price: view.pricing.price.to_string(),
        original: view.pricing.original.to_string(),
        savings: view.pricing.savings.to_string(),
        savings_percent: view.pricing.savings_percent.normalize().to_string(),
        on_sale,
        availability,
        your_price: quote.as_ref().map(|q| q.price.to_string()),
        owns_all,
    })
}

//! The visitor's pages: the catalog and a workflow's page.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use rust_decimal::Decimal;
use serde::Deserialize;
use vault_core::Slug;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::query::{Cursor, PriceRange, WorkflowQuery, WorkflowSort};
use vault_core::community::rating::RatingSummary;
use vault_core::value::money::Money;
use vault_core::value::tag::Tag;
use vault_core::{Currency, PricingTier};

use axum::Router;
use axum::routing::get;

use super::community::{CommentView, ReviewView, comments_section, reviews_section};
use super::session::Visitor;
use super::{AppState, Nav, PageError, render};
use vault_core::catalog::file::FileAccess;
use vault_core::catalog::page::AssetKind;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(catalog))
        .route("/workflows/{slug}", get(workflow))
        .route("/categories/{slug}", get(category))
}

/// The catalog's query string, as typed: every field is parsed below.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CatalogParams {
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    category: Option<String>,
    tier: Option<String>,
    min: Option<String>,
    max: Option<String>,
    tag: Option<String>,
}

struct Card {
    slug: String,
    title: String,
    blurb: String,
    tier: String,
    price: String,
    rating: String,
    downloads: u64,
}

fn price(p: &Option<Money>) -> String {
    match p {
        Some(p) if !p.is_zero() => p.to_string(),
        _ => "free".into(),
    }
}

fn rating(r: RatingSummary) -> String {
    match r.average_display() {
        Some(avg) => format!("{avg}★ ({} reviews)", r.count),
        None => "no reviews yet".into(),
    }
}

impl From<&WorkflowCard> for Card {
    fn from(w: &WorkflowCard) -> Self {
        Self {
            slug: w.slug.to_string(),
            title: w.title.clone(),
            blurb: w.short_description.clone(),
            tier: w.pricing_tier.to_string(),
            price: price(&w.price),
            rating: rating(w.rating),
            downloads: w.download_count,
        }
    }
}

#[derive(askama::Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    nav: Nav,
    heading: String,
    intro: String,
    action: String,
    q: String,
    tag: String,
    min: String,
    max: String,
    sorts: Vec<(String, bool)>,
    tiers: Vec<(String, bool)>,
    categories: Vec<(String, String, bool)>,
    show_categories: bool,
    cards: Vec<Card>,
    next: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn price_bound(field: &'static str, v: &Option<String>) -> Result<Option<Decimal>, PageError> {
    given(v)
        .map(|t| {
            t.parse::<Decimal>()
                .map_err(|_| PageError::bad_request(field, "a price such as 25 or 49.00"))
        })
        .transpose()
}

/// `GET /?q=&category=&tier=&min=&max=&tag=&sort=&cursor=`: published
/// workflows, 20 a page.
async fn catalog(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(params): Query<CatalogParams>,
) -> Result<Html<String>, PageError> {
    listing(&app, &v, params, None).await
}

/// `GET /categories/{slug}`: the catalog of one business system.
async fn category(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    Query(mut params): Query<CatalogParams>,
) -> Result<Html<String>, PageError> {
    params.category = Some(slug);
    listing(&app, &v, params, Some(())).await
}

async fn listing(
    app: &AppState,
    v: &Visitor,
    params: CatalogParams,
    category_page: Option<()>,
) -> Result<Html<String>, PageError> {
    let actor = v.actor();
    let sort = match given(&params.sort) {
        None => WorkflowSort::WedgeScore,
        Some(word) => WorkflowSort::parse(word)?,
    };
    let cursor = given(&params.cursor).map(Cursor::decode).transpose()?;
    let categories = app.vault.categories(&actor).await?;
    let category = match given(&params.category) {
        None => None,
        Some(slug) => Some(
            categories
                .iter()
                .find(|c| c.slug.as_str() == slug)
                .ok_or_else(|| {
                    if category_page.is_some() {
                        PageError::not_found("no such category")
                    } else {
                        PageError::bad_request("category", "no such category")
                    }
                })?,
        ),
    };
    // Errors name the URL's parameters, not core's field names.
    let tier: Option<PricingTier> = given(&params.tier)
        .map(str::parse)
        .transpose()
        .map_err(|e: vault_core::ValidationError| PageError::bad_request("tier", e.to_string()))?;
    let tag = given(&params.tag)
        .map(Tag::parse)
        .transpose()
        .map_err(|e| PageError::bad_request("tag", e.to_string()))?;
    let (min, max) = (
        price_bound("min", &params.min)?,
        price_bound("max", &params.max)?,
    );
    let price = if min.is_some() || max.is_some() {
        Some(PriceRange::new(Currency::USD, min, max)?)
    } else {
        None
    };
    let text = given(&params.q).map(str::to_owned);
    let query = WorkflowQuery {
        text: text.clone(),
        category: category.map(|c| c.id),
        tiers: tier.into_iter().collect(),
        price,
        tags: tag.iter().cloned().collect(),
        sort,
        cursor,
        limit: 20,
        ..WorkflowQuery::default()
    };
    let page = app
        .vault
        .list_cards(&actor, query)
        .await
        .map_err(PageError::from_url)?;
    let action = match (category_page, category) {
        (Some(()), Some(c)) => format!("/categories/{}", c.slug),
        _ => "/".to_owned(),
    };
    // The next page keeps every filter: the same query, resumed.
    let next = page.next.map(|c| {
        let mut q = form_urlencoded::Serializer::for_suffix(format!("{action}?"), action.len() + 1);
        q.append_pair("sort", &sort.to_string())
            .append_pair("cursor", &c.encode());
        for (k, v) in [
            ("q", &params.q),
            ("tier", &params.tier),
            ("min", &params.min),
            ("max", &params.max),
            ("tag", &params.tag),
        ] {
            if let Some(v) = given(v) {
                q.append_pair(k, v);
            }
        }
        if category_page.is_none()
            && let Some(c) = category
        {
            q.append_pair("category", c.slug.as_str());
        }
        q.finish()
    });
    let (heading, intro) = match (category_page, category) {
        (Some(()), Some(c)) => (c.name.clone(), c.description.clone()),
        _ => ("Catalog".to_owned(), String::new()),
    };
    render(&CatalogPage {
        nav: Nav::of(v),
        heading,
        intro,
        action,
        q: text.unwrap_or_default(),
        tag: tag.map(|t| t.as_str().to_owned()).unwrap_or_default(),
        min: min.map(|d| d.to_string()).unwrap_or_default(),
        max: max.map(|d| d.to_string()).unwrap_or_default(),
        sorts: WorkflowSort::ALL
            .iter()
            .map(|s| (s.to_string(), *s == sort))
            .collect(),
        tiers: PricingTier::ALL
            .iter()
            .map(|t| (t.to_string(), Some(*t) == tier))
            .collect(),
        categories: categories
            .iter()
            .map(|c| {
                (
                    c.slug.to_string(),
                    c.name.clone(),
                    category.is_some_and(|x| x.id == c.id),
                )
            })
            .collect(),
        show_categories: category_page.is_none(),
        cards: page.items.iter().map(Card::from).collect(),
        next,
    })
}

struct FileView {
    name: String,
    kind: String,
    version: String,
    access: String,
}

struct UpdateView {
    version: String,
    date: String,
    notes: String,
    changes: Vec<(String, String)>,
}

#[derive(askama::Template)]
#[template(path = "workflow.html")]
struct WorkflowPage {
    nav: Nav,
    slug: String,
    title: String,
    description: String,
    tier: String,
    price: String,
    rating: String,
    downloads: u64,
    wedge: Vec<(&'static str, String)>,
    tags: Vec<String>,
    includes: Vec<String>,
    granted: bool,
    decision: String,
    offer: super::shop::Offer,
    pictures: Vec<(String, String)>,
    media: Vec<(String, String, String)>,
    docs: Vec<(String, String)>,
    files: Vec<FileView>,
    updates: Vec<UpdateView>,
    reviews: Vec<ReviewView>,
    dimensions: Vec<(String, String)>,
    comments: Vec<CommentView>,
    favorite: Option<(String, String)>,
}

/// `GET /workflows/{slug}`: everything the visitor may see of one
/// workflow, whether they may download it (in words), and the forms to
/// review, comment, keep it as a favorite, and buy or download it.
async fn workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
) -> Result<Html<String>, PageError> {
    // A slug that cannot exist names no page.
    let slug = Slug::parse(&slug).map_err(|_| PageError::not_found("no such workflow"))?;
    let actor = v.actor();
    let vault = &app.vault;
    let w = vault.workflow_by_slug(&actor, &slug).await?;
    let decision = vault.check_access(&actor, w.id, None).await?;
    let offer = super::shop::offer(&app, &v, &w, &decision).await?;
    let files = vault
        .files(&actor, w.id)
        .await?
        .into_iter()
        .map(|f| FileView {
            name: f.file_name,
            kind: f.kind.to_string(),
            version: f.version.to_string(),
            access: match f.access {
                FileAccess::Public => "free preview".into(),
                FileAccess::Standard => "with the workflow".into(),
                FileAccess::OwnersOnly => "buyers only".into(),
                FileAccess::MinimumTier(t) => format!("{t} members and buyers"),
            },
        })
        .collect();
    let updates = vault
        .updates(&actor, w.id)
        .await?
        .into_iter()
        .rev()
        .map(|u| UpdateView {
            version: u.version.to_string(),
            date: u.released_at.format("%Y-%m-%d").to_string(),
            notes: u.release_notes,
            changes: u
                .changelog
                .into_iter()
                .map(|c| (c.kind.to_string(), c.text))
                .collect(),
        })
        .collect();
    // Images show inline; videos and documents are links (the page does
    // not embed a player).
    let (pictures, media): (Vec<_>, Vec<_>) = vault
        .assets(&actor, w.id)
        .await?
        .into_iter()
        .partition(|a| matches!(a.kind, AssetKind::Image | AssetKind::Thumbnail));
    let pictures = pictures.into_iter().map(|a| (a.url, a.alt)).collect();
    let media = media
        .into_iter()
        .map(|a| (a.kind.to_string(), a.url, a.alt))
        .collect();
    let docs = vault
        .docs(&actor, w.id)
        .await?
        .into_iter()
        .map(|d| (d.title, d.body))
        .collect();
    let (reviews, dimensions) = reviews_section(&app, &actor, &w).await?;
    let comments = comments_section(&app, &actor, &w).await?;
    let favorite = match &v.user {
        Some(me) => vault
            .favorites(&me.actor, &me.user)
            .await?
            .into_iter()
            .find(|f| f.workflow_id == w.id)
            .map(|f| {
                (
                    f.note.unwrap_or_default(),
                    f.tags
                        .iter()
                        .map(|t| t.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            }),
        None => None,
    };
    let wx = &w.content.wedge;
    render(&WorkflowPage {
        nav: Nav::of(&v),
        slug: w.content.slug.to_string(),
        title: w.content.title.clone(),
        description: if w.content.description.is_empty() {
            w.content.short_description.clone()
        } else {
            w.content.description.clone()
        },
        tier: w.content.pricing_tier.to_string(),
        price: price(&w.content.price),
        rating: rating(w.stats.rating.summary()),
        downloads: w.stats.download_count,
        wedge: vec![
            ("Score", wx.score.value().to_string()),
            ("Workflow complexity", wx.complexity.to_string()),
            ("Efficiency", wx.efficiency.value().to_string()),
            ("Digital maturity", wx.digital_maturity.to_string()),
            ("Growth potential", wx.growth_potential.to_string()),
            ("Excellence tier", wx.excellence_tier.to_string()),
        ],
        tags: w
            .content
            .tags
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        includes: w.content.includes.clone(),
        granted: decision.is_granted(),
        decision: decision.summary(),
        offer,
        pictures,
        media,
        docs,
        files,
        updates,
        reviews,
        dimensions,
        comments,
        favorite,
    })
}

//! The visitor's pages: the catalog and a workflow's page.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;
use vault_core::Slug;
use vault_core::catalog::query::{Cursor, WorkflowQuery, WorkflowSort};
use vault_core::catalog::workflow::Workflow;
use vault_core::community::comment_query::CommentOrder;

use axum::Router;
use axum::routing::get;

use super::session::Visitor;
use super::{AppState, Nav, PageError, render};

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(catalog))
        .route("/workflows/{slug}", get(workflow))
}

/// The catalog's query string, as typed: every field is parsed below.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CatalogParams {
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
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

fn price(w: &Workflow) -> String {
    match &w.content.price {
        Some(p) if !p.is_zero() => p.to_string(),
        _ => "free".into(),
    }
}

fn rating(w: &Workflow) -> String {
    let r = &w.stats.rating;
    match r.average_display() {
        Some(avg) => format!("{avg}★ ({} reviews)", r.count()),
        None => "no reviews yet".into(),
    }
}

impl From<&Workflow> for Card {
    fn from(w: &Workflow) -> Self {
        Self {
            slug: w.content.slug.to_string(),
            title: w.content.title.clone(),
            blurb: w.content.short_description.clone(),
            tier: w.content.pricing_tier.to_string(),
            price: price(w),
            rating: rating(w),
            downloads: w.stats.download_count,
        }
    }
}

#[derive(askama::Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    nav: Nav,
    q: String,
    sorts: Vec<(String, bool)>,
    cards: Vec<Card>,
    next: Option<String>,
}

/// `GET /?q=&sort=&cursor=`: published workflows, 20 a page.
async fn catalog(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(params): Query<CatalogParams>,
) -> Result<Html<String>, PageError> {
    let sort = match params.sort.as_deref() {
        None | Some("") => WorkflowSort::WedgeScore,
        Some(word) => WorkflowSort::parse(word)?,
    };
    let cursor = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(token) => Some(Cursor::decode(token)?),
    };
    let text = params
        .q
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let query = WorkflowQuery {
        text: text.clone(),
        sort,
        cursor,
        limit: 20,
        ..WorkflowQuery::default()
    };
    let page = app
        .vault
        .list_workflows(&v.actor(), query)
        .await
        .map_err(PageError::from_url)?;
    let next = page.next.map(|c| {
        let mut q = form_urlencoded::Serializer::for_suffix(String::from("/?"), 2);
        q.append_pair("sort", &sort.to_string())
            .append_pair("cursor", &c.encode());
        if let Some(t) = &text {
            q.append_pair("q", t);
        }
        q.finish()
    });
    render(&CatalogPage {
        nav: Nav::of(&v),
        q: text.unwrap_or_default(),
        sorts: WorkflowSort::ALL
            .iter()
            .map(|s| (s.to_string(), *s == sort))
            .collect(),
        cards: page.items.iter().map(Card::from).collect(),
        next,
    })
}

struct ReviewView {
    stars: String,
    title: String,
    body: String,
}

#[derive(askama::Template)]
#[template(path = "workflow.html")]
struct WorkflowPage {
    nav: Nav,
    title: String,
    description: String,
    tier: String,
    price: String,
    rating: String,
    downloads: u64,
    wedge: String,
    granted: bool,
    #[allow(dead_code)] // Read by offer.html once the shop fills it.
    offer: super::shop::Offer,
    decision: String,
    files: Vec<String>,
    reviews: Vec<ReviewView>,
    comments: Vec<String>,
}

/// `GET /workflows/{slug}`: everything a visitor may see of one workflow,
/// and whether they may download it, in words.
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
        .map(|f| format!("{} · {} · v{}", f.file_name, f.kind, f.version))
        .collect();
    let reviews = vault
        .reviews(&actor, w.id)
        .await?
        .into_iter()
        .map(|r| ReviewView {
            stars: "★".repeat(usize::from(r.input.rating.stars())),
            title: r.input.title,
            body: r.input.body,
        })
        .collect();
    let comments = vault
        .comments(&actor, w.id, CommentOrder::Newest, None, 50)
        .await?
        .items
        .into_iter()
        .map(|c| c.body)
        .collect();
    render(&WorkflowPage {
        nav: Nav::of(&v),
        title: w.content.title.clone(),
        description: if w.content.description.is_empty() {
            w.content.short_description.clone()
        } else {
            w.content.description.clone()
        },
        tier: w.content.pricing_tier.to_string(),
        price: price(&w),
        rating: rating(&w),
        downloads: w.stats.download_count,
        wedge: w.content.wedge.score.value().to_string(),
        granted: decision.is_granted(),
        offer,
        decision: decision.summary(),
        files,
        reviews,
        comments,
    })
}

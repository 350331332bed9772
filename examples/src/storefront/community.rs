//! What people say about a workflow: reviews with helpful votes, threaded
//! comments with likes, and favorites with a note and tags. The forms post
//! here and come back to the workflow's page; the page's sections are built
//! by [`reviews_section`] and [`comments_section`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::post;
use serde::Deserialize;
use vault_core::account::profile::Author;
use vault_core::catalog::workflow::Workflow;
use vault_core::community::comment::Comment;
use vault_core::community::comment_query::CommentOrder;
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ReviewInput, Vote};
use vault_core::value::ids::CommentId;
use vault_core::value::tag::parse_tags;
use vault_core::{Actor, ReviewId, Slug, UserId};

use super::session::{CsrfForm, Visitor};
use super::{AppState, PageError};

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/workflows/{slug}/reviews", post(review))
        .route("/workflows/{slug}/reviews/{id}/vote", post(vote))
        .route("/workflows/{slug}/comments", post(comment))
        .route("/workflows/{slug}/comments/{id}/like", post(like))
        .route("/workflows/{slug}/comments/{id}/unlike", post(unlike))
        .route("/workflows/{slug}/favorite", post(favorite))
        .route("/workflows/{slug}/unfavorite", post(unfavorite))
}

/// How a person's name shows next to what they wrote.
async fn names(
    app: &AppState,
    actor: &Actor,
    users: Vec<UserId>,
) -> Result<HashMap<UserId, String>, PageError> {
    let mut unique = users;
    unique.sort();
    unique.dedup();
    let mut out = HashMap::new();
    for chunk in unique.chunks(100) {
        let authors = app.vault.authors(actor, chunk).await?;
        for (u, a) in chunk.iter().zip(authors) {
            let name = match a {
                Author::Named { display_name, .. } => display_name,
                Author::Deleted => "deleted user".to_owned(),
                Author::Unknown => "a customer".to_owned(),
            };
            out.insert(u.clone(), name);
        }
    }
    Ok(out)
}

/// A review as the page shows it.
pub(super) struct ReviewView {
    pub(super) id: String,
    pub(super) stars: String,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) author: String,
    pub(super) verified: bool,
    pub(super) helpful: u64,
    pub(super) not_helpful: u64,
    pub(super) pending: bool,
}

/// The reviews of `w` and the per-dimension averages.
pub(super) async fn reviews_section(
    app: &AppState,
    actor: &Actor,
    w: &Workflow,
) -> Result<(Vec<ReviewView>, Vec<(String, String)>), PageError> {
    let reviews = app.vault.reviews(actor, w.id).await?;
    let who = names(
        app,
        actor,
        reviews.iter().map(|r| r.user_id.clone()).collect(),
    )
    .await?;
    let summary = app.vault.rating_summary(actor, w.id).await?;
    let dimensions = summary
        .dimensions
        .iter()
        .map(|(k, v)| (k.replace('_', " "), format!("{:.1}", v)))
        .collect();
    let views = reviews
        .into_iter()
        .map(|r| ReviewView {
            id: r.id.to_string(),
            stars: "★".repeat(usize::from(r.input.rating.stars())),
            author: who.get(&r.user_id).cloned().unwrap_or_default(),
            title: r.input.title,
            body: r.input.body,
            verified: r.verified_purchase,
            helpful: r.helpful_count,
            not_helpful: r.not_helpful_count,
            pending: r.status.to_string() != "approved",
        })
        .collect();
    Ok((views, dimensions))
}

/// A comment as the page shows it, in thread order with its depth.
pub(super) struct CommentView {
    pub(super) id: String,
    pub(super) depth: u8,
    pub(super) author: String,
    pub(super) body: String,
    pub(super) likes: u64,
    pub(super) deleted: bool,
    pub(super) hidden: bool,
    pub(super) edited: bool,
    pub(super) when: String,
}

/// The newest 100 comments of `w`, threaded: each top-level comment newest
/// first, its replies under it oldest first. A reply whose parent is not
/// on this page shows at the top level.
pub(super) async fn comments_section(
    app: &AppState,
    actor: &Actor,
    w: &Workflow,
) -> Result<Vec<CommentView>, PageError> {
    let page = app
        .vault
        .comments(actor, w.id, CommentOrder::Newest, None, 100)
        .await?;
    let who = names(
        app,
        actor,
        page.items.iter().map(|c| c.author.clone()).collect(),
    )
    .await?;
    let present: std::collections::HashSet<CommentId> = page.items.iter().map(|c| c.id).collect();
    let mut children: HashMap<CommentId, Vec<&Comment>> = HashMap::new();
    let mut roots = Vec::new();
    for c in &page.items {
        match c.parent_id {
            Some(p) if present.contains(&p) => children.entry(p).or_default().push(c),
            _ => roots.push(c),
        }
    }
    for v in children.values_mut() {
        v.sort_by_key(|c| (c.created_at, c.id));
    }
    let mut out = Vec::new();
    let mut stack: Vec<(&Comment, u8)> = roots.into_iter().rev().map(|c| (c, 0)).collect();
    while let Some((c, depth)) = stack.pop() {
        out.push(CommentView {
            id: c.id.to_string(),
            depth,
            author: who.get(&c.author).cloned().unwrap_or_default(),
            body: c.body.clone(),
            likes: c.like_count,
            deleted: c.deleted_at.is_some(),
            hidden: c.hidden,
            edited: c.edited,
            when: c.created_at.format("%Y-%m-%d %H:%M").to_string(),
        });
        if let Some(kids) = children.get(&c.id) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    Ok(out)
}

async fn workflow_of(app: &AppState, actor: &Actor, slug: &str) -> Result<Workflow, PageError> {
    let slug = Slug::parse(slug).map_err(|_| PageError::not_found("no such workflow"))?;
    Ok(app.vault.workflow_by_slug(actor, &slug).await?)
}

fn back(w: &Workflow, anchor: &str) -> Redirect {
    Redirect::to(&format!("/workflows/{}#{anchor}", w.content.slug))
}

fn stars(field: &'static str, s: &str) -> Result<Option<Rating>, PageError> {
    match s.trim() {
        "" => Ok(None),
        t => {
            let n: u8 = t
                .parse()
                .map_err(|_| PageError::unprocessable(field, "choose 1 to 5 stars"))?;
            Rating::new_field(field, n)
                .map(Some)
                .map_err(|e| PageError::unprocessable(field, e.to_string()))
        }
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    rating: String,
    title: String,
    body: String,
    #[serde(default)]
    complexity: String,
    #[serde(default)]
    efficiency: String,
    #[serde(default)]
    digital_maturity: String,
    #[serde(default)]
    growth: String,
    #[serde(default)]
    excellence: String,
}

/// `POST /workflows/{slug}/reviews`.
async fn review(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(f): CsrfForm<ReviewForm>,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(&app, &me.actor, &slug).await?;
    let rating = stars("rating", &f.rating)?
        .ok_or_else(|| PageError::unprocessable("rating", "choose 1 to 5 stars"))?;
    let mut dimensions = DimensionRatings::default();
    for (d, field, value) in [
        (Dimension::Complexity, "complexity", &f.complexity),
        (Dimension::Efficiency, "efficiency", &f.efficiency),
        (
            Dimension::DigitalMaturity,
            "digital_maturity",
            &f.digital_maturity,
        ),
        (Dimension::Growth, "growth", &f.growth),
        (Dimension::Excellence, "excellence", &f.excellence),
    ] {
        dimensions.set(d, stars(field, value)?);
    }
    let input = ReviewInput {
        rating,
        dimensions,
        title: f.title.trim().to_owned(),
        body: f.body.trim().to_owned(),
    };
    app.vault.submit_review(&me.actor, w.id, input).await?;
    Ok(back(&w, "reviews"))
}

#[derive(Deserialize)]
struct VoteForm {
    vote: String,
}

/// `POST /workflows/{slug}/reviews/{id}/vote` (`helpful`, `not_helpful`,
/// or `none` to take the vote back).
async fn vote(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<VoteForm>,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(&app, &me.actor, &slug).await?;
    let id = ReviewId::parse(&id).map_err(|_| PageError::not_found("no such review"))?;
    let vote = match f.vote.as_str() {
        "none" => None,
        word => Some(
            word.parse::<Vote>()
                .map_err(|e| PageError::unprocessable("vote", e.to_string()))?,
        ),
    };
    app.vault.vote_review(&me.actor, id, vote).await?;
    Ok(back(&w, "reviews"))
}

#[derive(Deserialize)]
struct CommentForm {
    body: String,
    #[serde(default)]
    parent: String,
}

/// `POST /workflows/{slug}/comments` (a reply names its `parent`).
async fn comment(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(&app, &me.actor, &slug).await?;
    let parent = match f.parent.trim() {
        "" => None,
        p => Some(
            CommentId::parse(p).map_err(|e| PageError::unprocessable("parent", e.to_string()))?,
        ),
    };
    app.vault
        .post_comment(&me.actor, w.id, parent, f.body.trim().to_owned())
        .await?;
    Ok(back(&w, "comments"))
}

#[derive(Deserialize)]
struct Plain {}

async fn set_like(
    app: &AppState,
    v: &Visitor,
    slug: &str,
    id: &str,
    like: bool,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(app, &me.actor, slug).await?;
    let id = CommentId::parse(id).map_err(|_| PageError::not_found("no such comment"))?;
    if like {
        app.vault.like_comment(&me.actor, id).await?;
    } else {
        app.vault.unlike_comment(&me.actor, id).await?;
    }
    Ok(back(&w, "comments"))
}

/// `POST /workflows/{slug}/comments/{id}/like`.
async fn like(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    set_like(&app, &v, &slug, &id, true).await
}

/// `POST /workflows/{slug}/comments/{id}/unlike`.
async fn unlike(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    set_like(&app, &v, &slug, &id, false).await
}

#[derive(Deserialize)]
struct FavoriteForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    tags: String,
}

/// `POST /workflows/{slug}/favorite`: adds it, or edits the note and tags
/// of one already kept.
async fn favorite(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(f): CsrfForm<FavoriteForm>,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(&app, &me.actor, &slug).await?;
    let note = Some(f.note.trim().to_owned()).filter(|n| !n.is_empty());
    let words: Vec<&str> = f
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let tags = parse_tags(&words).map_err(|e| PageError::unprocessable("tags", e.to_string()))?;
    match app
        .vault
        .add_favorite(&me.actor, w.id, note.clone(), tags.clone())
        .await
    {
        Ok(_) => {}
        Err(vault_core::Error::AlreadyExists { .. }) => {
            app.vault.edit_favorite(&me.actor, w.id, note, tags).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(back(&w, "favorite"))
}

/// `POST /workflows/{slug}/unfavorite`.
async fn unfavorite(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(slug): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.signed_in()?;
    let w = workflow_of(&app, &me.actor, &slug).await?;
    app.vault.remove_favorite(&me.actor, w.id).await?;
    Ok(back(&w, "favorite"))
}

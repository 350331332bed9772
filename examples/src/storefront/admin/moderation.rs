//! The moderation queue: reviews by status (pending first, oldest first, so
//! nobody waits longest), and the comment feed (newest first, visible or
//! hidden), each row with the buttons that decide it.
//!
//! The listings are the library's ([`vault_core::Vault::list_reviews`],
//! [`vault_core::Vault::comment_feed`]); a decision goes through
//! `moderate_review` / `moderate_comment` as the signed-in staff member, so
//! the library checks the role, recomputes the workflow's rating and writes
//! the audit entry in the same transaction.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use vault_core::community::comment_feed::CommentFeedQuery;
use vault_core::community::comment_query::CommentCursor;
use vault_core::community::review::ModerationStatus;
use vault_core::community::review_query::{ReviewCursor, ReviewQuery};
use vault_core::value::ids::CommentId;
use vault_core::{ReviewId, WorkflowId};

use super::super::dashboard::{WorkflowLink, links};
use super::{AdminPage, Cell, Plain, notice, text};
use crate::storefront::session::{CsrfForm, Visitor};
use crate::storefront::{AppState, PageError, render};

/// The queue's routes.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/moderation", get(reviews))
        .route("/admin/moderation/comments", get(comments))
        .route("/admin/reviews/{id}/moderate", post(moderate_review))
        .route("/admin/comments/{id}/hide", post(hide_comment))
        .route("/admin/comments/{id}/show", post(show_comment))
}

/// How much of a review or comment a row shows.
const EXCERPT: usize = 240;

fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

fn workflow_cell(
    titles: &std::collections::HashMap<WorkflowId, WorkflowLink>,
    id: &WorkflowId,
) -> Cell {
    match titles.get(id) {
        Some(WorkflowLink {
            title,
            slug: Some(slug),
        }) => Cell::Link(format!("/workflows/{slug}"), title.clone()),
        Some(l) => text(l.title.clone()),
        None => text(id.to_string()),
    }
}

fn user_cell(user: &vault_core::UserId) -> Cell {
    Cell::Link(format!("/admin/accounts/{user}"), user.to_string())
}

fn decide(id: ReviewId, to: ModerationStatus, label: &str) -> Cell {
    Cell::Button {
        action: format!("/admin/reviews/{id}/moderate"),
        label: label.to_owned(),
        field: Some(("status".to_owned(), to.as_str().to_owned())),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ReviewParams {
    status: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// `GET /admin/moderation?status=&cursor=`: reviews in one status, oldest
/// first; `pending` unless asked.
async fn reviews(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<ReviewParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let status = match p.status.as_deref() {
        None | Some("") => ModerationStatus::Pending,
        Some(s) => s
            .parse::<ModerationStatus>()
            .map_err(|e| PageError::bad_request("status", e.to_string()))?,
    };
    let mut query = ReviewQuery::queue(status);
    query.limit = 50;
    query.cursor = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(t) => Some(ReviewCursor::decode(t)?),
    };
    let page = app
        .vault
        .list_reviews(&me.actor, &query)
        .await
        .map_err(PageError::from_url)?;
    let titles = links(
        &app,
        &me.actor,
        page.items.iter().map(|r| r.workflow_id).collect::<Vec<_>>(),
    )
    .await?;
    let mut out = AdminPage::new(&v, "table", format!("Moderation: {status} reviews"));
    out.notice = notice(p.done.as_deref());
    out.tabs = ModerationStatus::ALL
        .iter()
        .map(|s| {
            (
                format!("/admin/moderation?status={s}"),
                format!("{s} reviews"),
                *s == status,
            )
        })
        .chain([(
            "/admin/moderation/comments".to_owned(),
            "comments".to_owned(),
            false,
        )])
        .collect();
    out.heads = vec![
        "Written (UTC)",
        "Workflow",
        "Reviewer",
        "Stars",
        "Title",
        "Review",
        "",
        "",
    ];
    out.rows = page
        .items
        .iter()
        .map(|r| {
            // The two decisions that move the review out of this status.
            let (first, second) = match r.status {
                ModerationStatus::Approved => (
                    decide(r.id, ModerationStatus::Rejected, "Reject"),
                    decide(r.id, ModerationStatus::Flagged, "Flag"),
                ),
                ModerationStatus::Rejected => (
                    decide(r.id, ModerationStatus::Approved, "Approve"),
                    text(""),
                ),
                ModerationStatus::Pending | ModerationStatus::Flagged => (
                    decide(r.id, ModerationStatus::Approved, "Approve"),
                    decide(r.id, ModerationStatus::Rejected, "Reject"),
                ),
            };
            vec![
                text(r.created_at.format("%Y-%m-%d %H:%M").to_string()),
                workflow_cell(&titles, &r.workflow_id),
                user_cell(&r.user_id),
                text(format!(
                    "{} of 5{}",
                    r.input.rating.stars(),
                    if r.verified_purchase {
                        " · verified purchase"
                    } else {
                        ""
                    }
                )),
                text(r.input.title.clone()),
                text(excerpt(&r.input.body)),
                first,
                second,
            ]
        })
        .collect();
    out.next = page
        .next
        .map(|c| format!("/admin/moderation?status={status}&cursor={}", c.encode()));
    render(&out)
}

#[derive(Deserialize)]
struct DecisionForm {
    status: String,
    note: Option<String>,
}

fn review_id(id: &str) -> Result<ReviewId, PageError> {
    ReviewId::parse(id).map_err(|_| PageError::not_found("no such review"))
}

fn comment_id(id: &str) -> Result<CommentId, PageError> {
    CommentId::parse(id).map_err(|_| PageError::not_found("no such comment"))
}

/// `POST /admin/reviews/{id}/moderate`: `status` (approved, rejected,
/// flagged, pending) and an optional `note`; back to the queue it came from.
async fn moderate_review(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let id = review_id(&id)?;
    let to = form
        .status
        .trim()
        .parse::<ModerationStatus>()
        .map_err(|e| PageError::unprocessable("status", e.to_string()))?;
    let note = form.note.filter(|n| !n.trim().is_empty());
    app.vault.moderate_review(&me.actor, id, to, note).await?;
    Ok(Redirect::to(&format!("/admin/moderation?done=review+{to}")))
}

#[derive(Debug, Default, Deserialize)]
struct CommentParams {
    hidden: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// `GET /admin/moderation/comments?hidden=&cursor=`: everyone's comments,
/// newest first; `hidden=yes` only the hidden ones, `hidden=no` only the
/// visible ones.
async fn comments(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<CommentParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let mut query = CommentFeedQuery::recent();
    query.limit = 50;
    query.hidden = match p.hidden.as_deref() {
        None | Some("") => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(_) => return Err(PageError::bad_request("hidden", "yes or no")),
    };
    query.cursor = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(t) => Some(CommentCursor::decode(t)?),
    };
    let page = app
        .vault
        .comment_feed(&me.actor, &query)
        .await
        .map_err(PageError::from_url)?;
    let titles = links(
        &app,
        &me.actor,
        page.items.iter().map(|c| c.workflow_id).collect::<Vec<_>>(),
    )
    .await?;
    let mut out = AdminPage::new(&v, "table", "Moderation: comments");
    out.notice = notice(p.done.as_deref());
    out.tabs = vec![
        (
            "/admin/moderation".to_owned(),
            "pending reviews".to_owned(),
            false,
        ),
        (
            "/admin/moderation/comments".to_owned(),
            "all comments".to_owned(),
            query.hidden.is_none(),
        ),
        (
            "/admin/moderation/comments?hidden=yes".to_owned(),
            "hidden comments".to_owned(),
            query.hidden == Some(true),
        ),
    ];
    out.heads = vec![
        "Posted (UTC)",
        "Workflow",
        "Author",
        "Comment",
        "Status",
        "",
    ];
    out.rows = page
        .items
        .iter()
        .map(|c| {
            let id = c.id;
            vec![
                text(c.created_at.format("%Y-%m-%d %H:%M").to_string()),
                workflow_cell(&titles, &c.workflow_id),
                user_cell(&c.author),
                text(excerpt(&c.body)),
                text(if c.hidden { "hidden" } else { "visible" }),
                if c.hidden {
                    super::button(format!("/admin/comments/{id}/show"), "Show")
                } else {
                    super::button(format!("/admin/comments/{id}/hide"), "Hide")
                },
            ]
        })
        .collect();
    let hidden = p.hidden.unwrap_or_default();
    out.next = page.next.map(|c| {
        format!(
            "/admin/moderation/comments?hidden={hidden}&cursor={}",
            c.encode()
        )
    });
    render(&out)
}

async fn set_hidden(
    app: &AppState,
    v: &Visitor,
    id: &str,
    hidden: bool,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let id = comment_id(id)?;
    app.vault.moderate_comment(&me.actor, id, hidden).await?;
    let done = if hidden {
        "comment+hidden"
    } else {
        "comment+shown"
    };
    Ok(Redirect::to(&format!(
        "/admin/moderation/comments?done={done}"
    )))
}

/// `POST /admin/comments/{id}/hide`.
async fn hide_comment(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    set_hidden(&app, &v, &id, true).await
}

/// `POST /admin/comments/{id}/show`.
async fn show_comment(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    set_hidden(&app, &v, &id, false).await
}

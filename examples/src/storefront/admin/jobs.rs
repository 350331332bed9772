//! The job queue and the webhook events for operators: jobs by state (due,
//! running, dead, …) with their last error and the buttons that retry or
//! cancel them; webhook events parked (waiting for what they refer to),
//! failed or expired, with what they wait for and their last error.
//!
//! Listing, retrying and cancelling are the library's
//! ([`vault_core::Vault::jobs`], `retry_job`, `cancel_job`): it checks the
//! role and writes the audit entry; a command that no longer applies (the
//! job finished meanwhile) is a 409 page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use vault_core::jobs::job::{JobId, JobKind, JobState};
use vault_core::jobs::store::JobQuery;
use vault_core::store::WebhookStatus;
use vault_core::value::keyset::After;

use super::{AdminPage, Cell, Plain, button, notice, text};
use crate::storefront::session::{CsrfForm, Visitor};
use crate::storefront::{AppState, PageError, render};

/// The routes of this page.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/jobs", get(jobs))
        .route("/admin/jobs/{id}/retry", post(retry))
        .route("/admin/jobs/{id}/cancel", post(cancel))
        .route("/admin/webhooks", get(webhooks))
}

/// The states the tabs offer, with their words: queued jobs are "due".
const TABS: [(JobState, &str); 5] = [
    (JobState::Queued, "due"),
    (JobState::Running, "running"),
    (JobState::Dead, "dead"),
    (JobState::Succeeded, "succeeded"),
    (JobState::Cancelled, "cancelled"),
];

#[derive(Debug, Default, Deserialize)]
struct JobParams {
    state: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

fn state_of(word: Option<&str>) -> Result<JobState, PageError> {
    match word {
        None | Some("") => Ok(JobState::Queued),
        Some(w) => TABS
            .iter()
            .find(|(_, tab)| *tab == w)
            .map(|(s, _)| *s)
            .ok_or_else(|| {
                PageError::bad_request("state", "one of due, running, dead, succeeded, cancelled")
            }),
    }
}

fn word_of(state: JobState) -> &'static str {
    TABS.iter()
        .find(|(s, _)| *s == state)
        .map_or("due", |(_, w)| *w)
}

/// `GET /admin/jobs?state=&kind=&cursor=`: jobs in one state (due unless
/// asked), newest first.
async fn jobs(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<JobParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let state = state_of(p.state.as_deref())?;
    let kind = match p.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(JobKind::parse(k)?),
    };
    let query = JobQuery {
        state: Some(state),
        kind: kind.clone(),
        after: match p.cursor.as_deref() {
            None | Some("") => None,
            Some(t) => Some(After::decode(t)?),
        },
        limit: 50,
        ..JobQuery::default()
    };
    let page = app.vault.jobs(&me.actor, &query).await?;
    let word = word_of(state);
    let mut out = AdminPage::new(&v, "table", format!("Jobs: {word}"));
    out.notice = notice(p.done.as_deref());
    out.tabs = TABS
        .iter()
        .map(|(s, w)| {
            (
                format!("/admin/jobs?state={w}"),
                format!("{w} jobs"),
                *s == state,
            )
        })
        .chain([(
            "/admin/webhooks".to_owned(),
            "webhook events".to_owned(),
            false,
        )])
        .collect();
    out.heads = vec![
        "Enqueued (UTC)",
        "Kind",
        "Attempts",
        "Runs at (UTC)",
        "Last error",
        "",
        "",
    ];
    out.rows = page
        .items
        .iter()
        .map(|j| {
            let retry = button(format!("/admin/jobs/{}/retry", j.id), "Retry now");
            let cancel = button(format!("/admin/jobs/{}/cancel", j.id), "Cancel");
            let (first, second) = match j.state {
                JobState::Queued => (retry, cancel),
                JobState::Running => (cancel, text("")),
                JobState::Dead | JobState::Cancelled => (retry, text("")),
                JobState::Succeeded => (text(""), text("")),
            };
            vec![
                text(j.created_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                text(j.kind.to_string()),
                text(format!("{} of {}", j.attempts, j.max_attempts)),
                text(match j.due_at() {
                    Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    None => "—".to_owned(),
                }),
                text(j.last_error.clone().unwrap_or_default()),
                first,
                second,
            ]
        })
        .collect();
    let kind_part = kind.map(|k| format!("&kind={k}")).unwrap_or_default();
    out.next = page
        .next
        .map(|c| format!("/admin/jobs?state={word}{kind_part}&cursor={}", c.encode()));
    render(&out)
}

fn job_id(id: &str) -> Result<JobId, PageError> {
    JobId::parse(id).map_err(|_| PageError::not_found("no such job"))
}

/// `POST /admin/jobs/{id}/retry`: runs it now (a dead or cancelled job
/// again, with its attempts counted afresh).
async fn retry(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let job = app.vault.retry_job(&me.actor, job_id(&id)?).await?;
    Ok(Redirect::to(&format!(
        "/admin/jobs?state={}&done=retried",
        word_of(job.state)
    )))
}

/// `POST /admin/jobs/{id}/cancel`.
async fn cancel(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    app.vault.cancel_job(&me.actor, job_id(&id)?).await?;
    Ok(Redirect::to("/admin/jobs?state=cancelled&done=cancelled"))
}

#[derive(Debug, Default, Deserialize)]
struct WebhookParams {
    status: Option<String>,
}

/// The statuses an operator looks at.
const EVENT_TABS: [WebhookStatus; 3] = [
    WebhookStatus::Parked,
    WebhookStatus::Failed,
    WebhookStatus::Expired,
];

/// `GET /admin/webhooks?status=`: webhook events parked (unless asked),
/// failed or expired, oldest first.
async fn webhooks(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<WebhookParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let status = match p.status.as_deref() {
        None | Some("") => WebhookStatus::Parked,
        Some(s) => s
            .parse::<WebhookStatus>()
            .ok()
            .filter(|s| EVENT_TABS.contains(s))
            .ok_or_else(|| PageError::bad_request("status", "one of parked, failed, expired"))?,
    };
    let events = app.vault.webhook_events(&me.actor, status, 100).await?;
    let mut out = AdminPage::new(&v, "table", format!("Webhook events: {status}"));
    out.tabs = EVENT_TABS
        .iter()
        .map(|s| {
            (
                format!("/admin/webhooks?status={s}"),
                format!("{s} events"),
                *s == status,
            )
        })
        .chain([(
            "/admin/jobs?state=dead".to_owned(),
            "dead jobs".to_owned(),
            false,
        )])
        .collect();
    out.heads = vec![
        "Received (UTC)",
        "Event",
        "Type",
        "Attempts",
        "Waiting for",
        "Last error",
    ];
    out.rows = events
        .iter()
        .map(|e| -> Vec<Cell> {
            vec![
                text(e.received_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                text(e.id.clone()),
                text(e.event_type.clone()),
                text(e.attempts.to_string()),
                text(e.waiting_for.clone().unwrap_or_default()),
                text(e.last_error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    render(&out)
}

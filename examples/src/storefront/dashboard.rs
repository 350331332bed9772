//! What a signed-in user has: purchases, membership, downloads, favorites,
//! their reviews and comments, and their profile and settings.
//!
//! Every read goes through the vault as the user themselves, so the
//! library's rules decide what they may see; this module only arranges it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vault_core::account::settings::{Locale, TimeZone, UserSettings};
use vault_core::commerce::purchase::PurchaseItem;
use vault_core::community::comment_feed::CommentFeedQuery;
use vault_core::community::comment_query::CommentCursor;
use vault_core::community::review_query::{ReviewCursor, ReviewQuery};
use vault_core::{Actor, Profile, WorkflowId};

mod receipt;

use super::session::{CsrfForm, Visitor};
use super::{AppState, Nav, PageError, render};

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/settings", get(settings_page))
        .route("/dashboard/purchases/{id}", get(receipt::receipt))
        .route("/dashboard/profile", post(save_profile))
        .route("/dashboard/preferences", post(save_preferences))
}

/// A workflow as a link: its title and slug, or a removed one.
#[derive(Debug, Clone)]
pub(super) struct WorkflowLink {
    pub(super) title: String,
    pub(super) slug: Option<String>,
}

/// The titles of `ids` as `actor` may see them (a removed workflow shows as
/// such): one read each, which a dashboard's few rows can afford.
pub(super) async fn links(
    app: &AppState,
    actor: &Actor,
    ids: impl IntoIterator<Item = WorkflowId>,
) -> Result<HashMap<WorkflowId, WorkflowLink>, PageError> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let link = match app.vault.workflow(actor, id).await {
            Ok(w) => WorkflowLink {
                title: w.content.title,
                slug: Some(w.content.slug.to_string()),
            },
            Err(vault_core::Error::NotFound { .. }) => WorkflowLink {
                title: "(a workflow no longer offered)".into(),
                slug: None,
            },
            Err(e) => return Err(e.into()),
        };
        out.insert(id, link);
    }
    Ok(out)
}

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

struct PurchaseRow {
    id: String,
    what: WorkflowLink,
    status: String,
    total: String,
    date: String,
    downloads: String,
}

struct MembershipRow {
    tier: String,
    status: String,
    period_end: String,
    trial_end: Option<String>,
    cancel_at_period_end: bool,
    can_cancel: bool,
}

struct DownloadRow {
    what: WorkflowLink,
    version: String,
    when: String,
}

struct ReviewRow {
    what: WorkflowLink,
    stars: String,
    title: String,
    status: String,
    date: String,
}

struct CommentRow {
    what: WorkflowLink,
    body: String,
    hidden: bool,
    date: String,
}

struct FavoriteRow {
    what: WorkflowLink,
    note: String,
    tags: String,
}

#[derive(askama::Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    name: String,
    notice: Option<String>,
    purchases: Vec<PurchaseRow>,
    memberships: Vec<MembershipRow>,
    downloads: Vec<DownloadRow>,
    favorites: Vec<FavoriteRow>,
    reviews: Vec<ReviewRow>,
    more_reviews: Option<String>,
    comments: Vec<CommentRow>,
    more_comments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    saved: Option<String>,
    canceled: Option<String>,
    /// Where the list of the user's reviews resumes (a cursor).
    reviews: Option<String>,
    /// Where the list of the user's comments resumes (a cursor).
    comments: Option<String>,
}

/// `GET /dashboard`.
async fn dashboard(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    let Some(me) = v.user.as_ref() else {
        return Ok(Redirect::to("/sign-in?next=/dashboard").into_response());
    };
    let (actor, user) = (&me.actor, &me.user);
    let vault = &app.vault;
    let account = vault.account(actor, user).await.ok();
    let mut purchases = vault.purchases_for_user(actor, user).await?;
    purchases.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    let memberships = vault.memberships_for_user(actor, user).await?;
    let downloads = vault.downloads_for_user(actor, user, 50).await?;
    let favorites = vault.favorites(actor, user).await?;
    let mut review_query = ReviewQuery::by_user(user.clone());
    review_query.cursor = match q.reviews.as_deref() {
        None | Some("") => None,
        Some(t) => Some(ReviewCursor::decode(t)?),
    };
    let reviews = vault
        .list_reviews(actor, &review_query)
        .await
        .map_err(PageError::from_url)?;
    let mut comment_query = CommentFeedQuery::by_author(user.clone());
    comment_query.cursor = match q.comments.as_deref() {
        None | Some("") => None,
        Some(t) => Some(CommentCursor::decode(t)?),
    };
    let comments = vault
        .comment_feed(actor, &comment_query)
        .await
        .map_err(PageError::from_url)?;
    let ids = purchases
        .iter()
        .filter_map(|p| match &p.item {
            PurchaseItem::Workflow { workflow_id }
            | PurchaseItem::MembershipIncluded { workflow_id, .. } => Some(*workflow_id),
            PurchaseItem::Bundle { .. } => None,
        })
        .chain(downloads.iter().map(|d| d.workflow_id))
        .chain(favorites.iter().map(|f| f.workflow_id))
        .chain(reviews.items.iter().map(|r| r.workflow_id))
        .chain(comments.items.iter().map(|c| c.workflow_id))
        .collect::<Vec<_>>();
    let titles = links(&app, actor, ids).await?;
    let link = |id: &WorkflowId| {
        titles.get(id).cloned().unwrap_or(WorkflowLink {
            title: "(unknown)".into(),
            slug: None,
        })
    };
    let mut bundle_names = HashMap::new();
    for p in &purchases {
        if let PurchaseItem::Bundle { bundle_id, .. } = &p.item
            && !bundle_names.contains_key(bundle_id)
        {
            let name = match vault.bundle(actor, *bundle_id).await {
                Ok(b) => format!("Bundle: {}", b.bundle.name),
                Err(_) => "A bundle".to_owned(),
            };
            bundle_names.insert(*bundle_id, name);
        }
    }
    let now = app.clock.now();
    let page = DashboardPage {
        nav: Nav::of(&v),
        name: account
            .map(|a| a.profile.display_name)
            .unwrap_or_else(|| user.to_string()),
        notice: if q.saved.is_some() {
            Some("Saved.".into())
        } else if q.canceled.is_some() {
            Some("Your membership will end at the end of the period you paid for.".into())
        } else {
            None
        },
        purchases: purchases
            .iter()
            .map(|p| PurchaseRow {
                id: p.id.to_string(),
                what: match &p.item {
                    PurchaseItem::Workflow { workflow_id }
                    | PurchaseItem::MembershipIncluded { workflow_id, .. } => link(workflow_id),
                    PurchaseItem::Bundle { bundle_id, .. } => WorkflowLink {
                        title: bundle_names.get(bundle_id).cloned().unwrap_or_default(),
                        slug: None,
                    },
                },
                status: p.status.to_string(),
                total: p.total.to_string(),
                date: day(p.created_at),
                downloads: match p.quota.limit {
                    Some(l) => format!("{} of {l}", p.quota.used),
                    None => format!("{} (unlimited)", p.quota.used),
                },
            })
            .collect(),
        memberships: memberships
            .iter()
            .map(|m| MembershipRow {
                tier: m.tier.to_string(),
                status: m.status.to_string(),
                period_end: day(m.period.end),
                trial_end: m.trial_ends_at.filter(|t| *t > now).map(day),
                cancel_at_period_end: m.cancel_at_period_end,
                can_cancel: !m.status.is_ended() && !m.cancel_at_period_end,
            })
            .collect(),
        downloads: downloads
            .iter()
            .map(|d| DownloadRow {
                what: link(&d.workflow_id),
                version: d.file_version.to_string(),
                when: d.downloaded_at.format("%Y-%m-%d %H:%M").to_string(),
            })
            .collect(),
        favorites: favorites
            .iter()
            .map(|f| FavoriteRow {
                what: link(&f.workflow_id),
                note: f.note.clone().unwrap_or_default(),
                tags: f
                    .tags
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        reviews: reviews
            .items
            .iter()
            .map(|r| ReviewRow {
                what: link(&r.workflow_id),
                stars: "★".repeat(usize::from(r.input.rating.stars())),
                title: r.input.title.clone(),
                status: r.status.to_string(),
                date: day(r.created_at),
            })
            .collect(),
        more_reviews: reviews
            .next
            .map(|c| format!("/dashboard?reviews={}#reviews", c.encode())),
        comments: comments
            .items
            .iter()
            .map(|c| CommentRow {
                what: link(&c.workflow_id),
                body: c.body.clone(),
                hidden: c.hidden,
                date: day(c.created_at),
            })
            .collect(),
        more_comments: comments
            .next
            .map(|c| format!("/dashboard?comments={}#comments", c.encode())),
    };
    Ok(render(&page)?.into_response())
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Nav,
    profile: Profile,
    email: String,
    settings: UserSettings,
    problem: Option<String>,
}

/// `GET /dashboard/settings`.
async fn settings_page(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Html<String>, PageError> {
    let me = v.signed_in()?;
    let account = app.vault.account(&me.actor, &me.user).await?;
    let settings = app.vault.user_settings(&me.actor, &me.user).await?;
    render(&SettingsPage {
        nav: Nav::of(&v),
        profile: account.profile,
        email: account
            .email
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        settings,
        problem: None,
    })
}

async fn settings_again(
    app: &AppState,
    v: &Visitor,
    e: PageError,
    profile: Option<Profile>,
) -> Response {
    let Ok(me) = v.signed_in() else {
        return e.into_response();
    };
    let (Ok(account), Ok(settings)) = (
        app.vault.account(&me.actor, &me.user).await,
        app.vault.user_settings(&me.actor, &me.user).await,
    ) else {
        return e.into_response();
    };
    let page = SettingsPage {
        nav: Nav::of(v),
        profile: profile.unwrap_or(account.profile),
        email: account
            .email
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        settings,
        problem: Some(match &e.field {
            Some(f) => format!("{f}: {}", e.message),
            None => e.message.clone(),
        }),
    };
    match render(&page) {
        Ok(html) => (e.status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct ProfileForm {
    display_name: String,
    bio: String,
    website: String,
    location: String,
}

fn optional(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// `POST /dashboard/profile`.
async fn save_profile(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, PageError> {
    let me = v.signed_in()?;
    let profile = Profile {
        display_name: form.display_name.trim().to_owned(),
        avatar_url: None,
        bio: optional(form.bio),
        website: optional(form.website),
        location: optional(form.location),
    };
    match app
        .vault
        .update_profile(&me.actor, &me.user, profile.clone())
        .await
    {
        Ok(_) => Ok(Redirect::to("/dashboard?saved=1").into_response()),
        Err(e) => Ok(settings_again(&app, &v, e.into(), Some(profile)).await),
    }
}

#[derive(Deserialize)]
struct PreferencesForm {
    email_notifications: Option<String>,
    workflow_updates: Option<String>,
    marketing_emails: Option<String>,
    locale: String,
    timezone: String,
}

/// `POST /dashboard/preferences`: unchecked boxes are absent from the form.
async fn save_preferences(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(form): CsrfForm<PreferencesForm>,
) -> Result<Response, PageError> {
    let me = v.signed_in()?;
    let parsed = (|| {
        Ok::<_, PageError>(UserSettings {
            email_notifications: form.email_notifications.is_some(),
            workflow_updates: form.workflow_updates.is_some(),
            marketing_emails: form.marketing_emails.is_some(),
            locale: Locale::parse(form.locale.trim())
                .map_err(|e| PageError::unprocessable("locale", e.to_string()))?,
            timezone: TimeZone::parse(form.timezone.trim())
                .map_err(|e| PageError::unprocessable("timezone", e.to_string()))?,
        })
    })();
    let result = match parsed {
        Ok(s) => app
            .vault
            .save_user_settings(&me.actor, &me.user, s)
            .await
            .map_err(PageError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/dashboard?saved=1").into_response()),
        Err(e) => Ok(settings_again(&app, &v, e, None).await),
    }
}

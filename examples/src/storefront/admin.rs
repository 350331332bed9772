//! Staff pages: workflows (create, edit, upload files, publish, archive),
//! accounts (ban, unban, role, their purchases with a refund button), the
//! moderation queue, the job queue and webhook events, and the audit log.
//!
//! Every page asks [`Visitor::staff`] first, and every write goes through
//! the vault as the signed-in staff member, so the library checks the role
//! again and writes the audit entry with the change.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vault_core::account::store::AccountQuery;
use vault_core::audit::entry::AuditQuery;
use vault_core::catalog::file::{FileAccess, FileKind, NewFile};
use vault_core::catalog::query::{Cursor, WorkflowQuery, WorkflowSort};
use vault_core::catalog::workflow::{WorkflowContent, WorkflowStatus};
use vault_core::value::keyset::After;
use vault_core::value::tag::parse_tags;
use vault_core::{Currency, Money, PricingTier, Role, Slug, UserId, Version, WorkflowId};

use super::session::{CsrfForm, SignedIn, Visitor};
use super::{AppState, Nav, PageError, render};

mod jobs;
mod moderation;

/// The access levels the upload form offers, by the word it sends.
const ACCESS_WORDS: [(&str, FileAccess); 7] = [
    ("standard", FileAccess::Standard),
    ("public", FileAccess::Public),
    ("owners_only", FileAccess::OwnersOnly),
    ("members_basic", FileAccess::MinimumTier(PricingTier::Basic)),
    ("members_pro", FileAccess::MinimumTier(PricingTier::Pro)),
    (
        "members_premium",
        FileAccess::MinimumTier(PricingTier::Premium),
    ),
    (
        "members_enterprise",
        FileAccess::MinimumTier(PricingTier::Enterprise),
    ),
];

fn access_word(a: FileAccess) -> &'static str {
    ACCESS_WORDS
        .iter()
        .find(|(_, x)| *x == a)
        .map_or("members", |(w, _)| *w)
}

/// The largest file an upload may carry.
pub const MAX_UPLOAD: usize = 20 << 20;

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/workflows", get(workflows).post(create_workflow))
        .route("/admin/workflows/new", get(new_workflow))
        .route("/admin/workflows/{id}", get(workflow).post(edit_workflow))
        .route("/admin/workflows/{id}/publish", post(publish))
        .route("/admin/workflows/{id}/archive", post(archive))
        .route(
            "/admin/workflows/{id}/files",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD + 64 * 1024)),
        )
        .route("/admin/accounts", get(accounts))
        .route("/admin/accounts/{user}", get(account))
        .route("/admin/accounts/{user}/ban", post(ban))
        .route("/admin/accounts/{user}/unban", post(unban))
        .route("/admin/accounts/{user}/role", post(set_role))
        .route("/admin/audit", get(audit))
        .merge(moderation::routes())
        .merge(jobs::routes())
}

#[derive(askama::Template)]
#[template(path = "admin.html")]
struct AdminPage {
    nav: Nav,
    kind: &'static str,
    title: String,
    notice: Option<String>,
    problem: Option<String>,
    rows: Vec<Vec<Cell>>,
    heads: Vec<&'static str>,
    next: Option<String>,
    form: Option<WorkflowForm>,
    categories: Vec<(String, String, bool)>,
    tiers: Vec<(String, bool)>,
    file_kinds: Vec<&'static str>,
    file_access: Vec<&'static str>,
    workflow_id: String,
    account: Option<AccountView>,
    /// Links above a table to its other views: (href, label, current).
    tabs: Vec<(String, String, bool)>,
}

/// The actions on one account.
struct AccountView {
    user: String,
    banned: bool,
    roles: Vec<(&'static str, bool)>,
}

/// One table cell: text, a link, or a button posting a form.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    Text(String),
    Link(String, String),
    Button {
        action: String,
        label: String,
        field: Option<(String, String)>,
    },
}

impl AdminPage {
    fn new(v: &Visitor, kind: &'static str, title: impl Into<String>) -> Self {
        Self {
            nav: Nav::of(v),
            kind,
            title: title.into(),
            notice: None,
            problem: None,
            rows: vec![],
            heads: vec![],
            next: None,
            form: None,
            categories: vec![],
            tiers: vec![],
            file_kinds: FileKind::ALL.iter().map(FileKind::as_str).collect(),
            file_access: ACCESS_WORDS.iter().map(|(w, _)| *w).collect(),
            workflow_id: String::new(),
            account: None,
            tabs: vec![],
        }
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn button(action: impl Into<String>, label: impl Into<String>) -> Cell {
    Cell::Button {
        action: action.into(),
        label: label.into(),
        field: None,
    }
}

async fn overview(v: Visitor) -> Result<Html<String>, PageError> {
    v.staff()?;
    render(&AdminPage::new(&v, "overview", "Admin"))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    cursor: Option<String>,
    q: Option<String>,
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    done.map(|d| format!("Done: {d}."))
}

/// `GET /admin/workflows`: every workflow, whatever its status.
async fn workflows(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<ListParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let cursor = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(t) => Some(Cursor::decode(t)?),
    };
    let page = app
        .vault
        .list_workflows(
            &me.actor,
            WorkflowQuery {
                statuses: vec![
                    WorkflowStatus::Draft,
                    WorkflowStatus::Published,
                    WorkflowStatus::ComingSoon,
                    WorkflowStatus::Archived,
                ],
                sort: WorkflowSort::Newest,
                cursor,
                limit: 50,
                ..WorkflowQuery::default()
            },
        )
        .await
        .map_err(PageError::from_url)?;
    let mut out = AdminPage::new(&v, "table", "Workflows");
    out.notice = notice(p.done.as_deref());
    out.heads = vec!["Title", "Status", "Price", "Downloads", "", ""];
    out.rows = page
        .items
        .iter()
        .map(|w| {
            let id = w.id;
            vec![
                Cell::Link(format!("/admin/workflows/{id}"), w.content.title.clone()),
                text(w.status.to_string()),
                text(
                    w.content
                        .price
                        .as_ref()
                        .map_or("free".to_owned(), ToString::to_string),
                ),
                text(w.stats.download_count.to_string()),
                if w.status == WorkflowStatus::Published {
                    text("")
                } else {
                    button(format!("/admin/workflows/{id}/publish"), "Publish")
                },
                if w.status == WorkflowStatus::Archived {
                    text("")
                } else {
                    button(format!("/admin/workflows/{id}/archive"), "Archive")
                },
            ]
        })
        .collect();
    out.next = page
        .next
        .map(|c| format!("/admin/workflows?cursor={}", c.encode()));
    render(&out)
}

/// The workflow form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct WorkflowForm {
    title: String,
    slug: String,
    category: String,
    tier: String,
    price: String,
    short_description: String,
    description: String,
    tags: String,
    wedge_score: String,
    download_limit: String,
}

fn field_err(field: &'static str) -> impl Fn(vault_core::ValidationError) -> PageError {
    move |e| PageError::unprocessable(field, e.to_string())
}

impl WorkflowForm {
    fn of(w: &vault_core::catalog::workflow::Workflow) -> Self {
        let c = &w.content;
        Self {
            title: c.title.clone(),
            slug: c.slug.to_string(),
            category: c.category_id.to_string(),
            tier: c.pricing_tier.to_string(),
            price: c
                .price
                .as_ref()
                .map(|m| m.amount().to_string())
                .unwrap_or_default(),
            short_description: c.short_description.clone(),
            description: c.description.clone(),
            tags: c
                .tags
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
            wedge_score: c.wedge.score.value().to_string(),
            download_limit: c.download_limit.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    /// The content the form describes, on top of `base` (what the form
    /// does not show is kept); each refusal names its field.
    fn content(&self, base: Option<WorkflowContent>) -> Result<WorkflowContent, PageError> {
        let slug = Slug::parse(self.slug.trim()).map_err(field_err("slug"))?;
        let category = self
            .category
            .parse()
            .map_err(|_| PageError::unprocessable("category", "choose a category"))?;
        let tier: PricingTier = self.tier.trim().parse().map_err(field_err("tier"))?;
        let mut c = match base {
            Some(mut c) => {
                c.slug = slug;
                c.category_id = category;
                c.pricing_tier = tier;
                c
            }
            None => WorkflowContent::new(slug, "", category, tier),
        };
        c.title = self.title.trim().to_owned();
        c.short_description = self.short_description.trim().to_owned();
        c.description = self.description.trim().to_owned();
        c.price = match self.price.trim() {
            "" => None,
            p => Some(
                p.parse()
                    .map_err(|_| PageError::unprocessable("price", "a number like 49.00"))
                    .and_then(|d| Money::new(d, Currency::USD).map_err(field_err("price")))?,
            ),
        };
        let tags: Vec<&str> = self
            .tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        c.tags = parse_tags(&tags).map_err(field_err("tags"))?;
        if !self.wedge_score.trim().is_empty() {
            let d =
                self.wedge_score.trim().parse().map_err(|_| {
                    PageError::unprocessable("wedge_score", "a number from 0 to 10")
                })?;
            c.wedge.score = vault_core::catalog::wedge::Score::new("wedge_score", d)
                .map_err(field_err("wedge_score"))?;
        }
        c.download_limit = match self.download_limit.trim() {
            "" => None,
            n => Some(n.parse().map_err(|_| {
                PageError::unprocessable("download_limit", "a whole number, or empty for unlimited")
            })?),
        };
        Ok(c)
    }
}

async fn form_page(
    app: &AppState,
    v: &Visitor,
    me: &SignedIn,
    title: String,
    form: WorkflowForm,
    workflow: Option<WorkflowId>,
) -> Result<AdminPage, PageError> {
    let mut out = AdminPage::new(v, "workflow", title);
    out.categories = app
        .vault
        .categories(&me.actor)
        .await?
        .into_iter()
        .map(|c| {
            let id = c.id.to_string();
            let selected = id == form.category;
            (id, c.name, selected)
        })
        .collect();
    out.tiers = PricingTier::ALL
        .iter()
        .map(|t| (t.to_string(), t.to_string() == form.tier))
        .collect();
    if let Some(id) = workflow {
        out.workflow_id = id.to_string();
        out.heads = vec!["File", "Kind", "Version", "Access", "Size"];
        out.rows = app
            .vault
            .files(&me.actor, id)
            .await?
            .into_iter()
            .map(|f| {
                vec![
                    text(f.file_name),
                    text(f.kind.to_string()),
                    text(f.version.to_string()),
                    text(access_word(f.access)),
                    text(format!("{} bytes", f.size_bytes)),
                ]
            })
            .collect();
    }
    out.form = Some(form);
    Ok(out)
}

async fn new_workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let form = WorkflowForm {
        tier: PricingTier::Free.to_string(),
        ..WorkflowForm::default()
    };
    render(&form_page(&app, &v, me, "New workflow".into(), form, None).await?)
}

async fn form_again(
    app: &AppState,
    v: &Visitor,
    me: &SignedIn,
    form: WorkflowForm,
    workflow: Option<WorkflowId>,
    e: PageError,
) -> Response {
    let title = if workflow.is_some() {
        "Edit workflow"
    } else {
        "New workflow"
    };
    match form_page(app, v, me, title.into(), form, workflow).await {
        Ok(mut page) => {
            page.problem = Some(match &e.field {
                Some(f) => format!("{f}: {}", e.message),
                None => e.message.clone(),
            });
            match render(&page) {
                Ok(html) => (e.status, html).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Err(_) => e.into_response(),
    }
}

/// `POST /admin/workflows`: a new draft.
async fn create_workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(form): CsrfForm<WorkflowForm>,
) -> Result<Response, PageError> {
    let me = v.staff()?;
    let made = match form.content(None) {
        Ok(c) => app
            .vault
            .create_workflow(&me.actor, c)
            .await
            .map_err(PageError::from),
        Err(e) => Err(e),
    };
    Ok(match made {
        Ok(w) => Redirect::to(&format!("/admin/workflows/{}?done=created", w.id)).into_response(),
        Err(e) => form_again(&app, &v, me, form, None, e).await,
    })
}

fn workflow_id(id: &str) -> Result<WorkflowId, PageError> {
    WorkflowId::parse(id).map_err(|_| PageError::not_found("no such workflow"))
}

/// `GET /admin/workflows/{id}`: the edit form, the files and the upload.
async fn workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let id = workflow_id(&id)?;
    let w = app.vault.workflow(&me.actor, id).await?;
    let mut page = form_page(
        &app,
        &v,
        me,
        format!("{} ({})", w.content.title, w.status),
        WorkflowForm::of(&w),
        Some(id),
    )
    .await?;
    page.notice = notice(p.done.as_deref());
    render(&page)
}

/// `POST /admin/workflows/{id}`.
async fn edit_workflow(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<WorkflowForm>,
) -> Result<Response, PageError> {
    let me = v.staff()?;
    let id = workflow_id(&id)?;
    let w = app.vault.workflow(&me.actor, id).await?;
    let edited = match form.content(Some(w.content)) {
        Ok(c) => app
            .vault
            .edit_workflow(&me.actor, id, c)
            .await
            .map_err(PageError::from),
        Err(e) => Err(e),
    };
    Ok(match edited {
        Ok(_) => Redirect::to(&format!("/admin/workflows/{id}?done=saved")).into_response(),
        Err(e) => form_again(&app, &v, me, form, Some(id), e).await,
    })
}

#[derive(Deserialize)]
struct Plain {}

async fn publish(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    app.vault
        .publish_workflow(&me.actor, workflow_id(&id)?)
        .await?;
    Ok(Redirect::to("/admin/workflows?done=published"))
}

async fn archive(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    app.vault
        .archive_workflow(&me.actor, workflow_id(&id)?)
        .await?;
    Ok(Redirect::to("/admin/workflows?done=archived"))
}

/// `POST /admin/workflows/{id}/files` (multipart: `csrf`, `version`,
/// `kind`, `access`, `primary`, `file`). The bytes go to the object store
/// under a fresh key first; the file record is written only after they
/// are stored, so a record never points at nothing. A record that fails
/// leaves an orphaned object, which costs space, not correctness.
async fn upload(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    mut parts: Multipart,
) -> Result<Response, PageError> {
    let me = v.staff()?;
    let id = workflow_id(&id)?;
    let mut fields = std::collections::HashMap::new();
    let mut file: Option<(String, axum::body::Bytes)> = None;
    while let Some(part) = parts
        .next_field()
        .await
        .map_err(|e| PageError::bad_request("file", e.body_text()))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = part.file_name().unwrap_or_default().to_owned();
            let data = part
                .bytes()
                .await
                .map_err(|e| PageError::bad_request("file", e.body_text()))?;
            file = Some((file_name, data));
        } else {
            let value = part
                .text()
                .await
                .map_err(|e| PageError::bad_request(name.clone(), e.body_text()))?;
            fields.insert(name, value);
        }
    }
    // The token is checked before anything is stored.
    v.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
    let (file_name, data) = file
        .filter(|(n, d)| !n.is_empty() && !d.is_empty())
        .ok_or_else(|| PageError::unprocessable("file", "choose a file to upload"))?;
    if data.len() > MAX_UPLOAD {
        return Err(PageError::unprocessable(
            "file",
            "the file is larger than 20 MiB",
        ));
    }
    let get = |k: &str| fields.get(k).map_or("", |s| s.trim());
    let version = Version::parse(get("version")).map_err(field_err("version"))?;
    let kind: FileKind = get("kind").parse().map_err(field_err("kind"))?;
    let access = ACCESS_WORDS
        .iter()
        .find(|(w, _)| *w == get("access"))
        .map(|(_, a)| *a)
        .ok_or_else(|| PageError::unprocessable("access", "choose who may download the file"))?;
    let storage_key = format!("uploads/{id}/{}", uuid::Uuid::new_v4());
    let mut new = NewFile::of_bytes(id, kind, file_name, storage_key, version, &data);
    new.access = access;
    new.is_primary = get("primary") == "on";
    let key = object_store::path::Path::from(new.storage_key.as_str());
    use object_store::ObjectStoreExt;
    app.files
        .put(&key, data.into())
        .await
        .map_err(PageError::internal)?;
    app.vault.add_file(&me.actor, new).await?;
    Ok(Redirect::to(&format!("/admin/workflows/{id}?done=uploaded")).into_response())
}

/// `GET /admin/accounts?q=&cursor=`.
async fn accounts(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<ListParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let after = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(t) => Some(After::decode(t)?),
    };
    let q =
        p.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    let listing = app
        .vault
        .accounts(
            &me.actor,
            &AccountQuery {
                text: q.clone(),
                after,
                limit: 50,
                ..AccountQuery::default()
            },
        )
        .await
        .map_err(PageError::from_url)?;
    let mut out = AdminPage::new(&v, "accounts", "Accounts");
    out.notice = notice(p.done.as_deref());
    out.heads = vec!["Account", "Email", "Role", "Standing", "Joined"];
    out.rows = listing
        .items
        .iter()
        .map(|a| {
            vec![
                Cell::Link(
                    format!("/admin/accounts/{}", a.user_id),
                    a.profile.display_name.clone(),
                ),
                text(a.email.as_ref().map_or("", |e| e.as_str())),
                text(a.role.as_str()),
                text(if a.banned_at.is_some() {
                    "banned"
                } else {
                    "ok"
                }),
                text(a.created_at.format("%Y-%m-%d").to_string()),
            ]
        })
        .collect();
    out.next = listing.next.map(|c| {
        let mut s = form_urlencoded::Serializer::for_suffix(String::from("/admin/accounts?"), 16);
        s.append_pair("cursor", &c.encode());
        if let Some(q) = &q {
            s.append_pair("q", q);
        }
        s.finish()
    });
    render(&out)
}

fn user_id(s: &str) -> Result<UserId, PageError> {
    UserId::parse(s).map_err(|_| PageError::not_found("no such account"))
}

/// `GET /admin/accounts/{user}`: standing, actions, purchases with refunds.
async fn account(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(user): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let user = user_id(&user)?;
    let a = app.vault.account(&me.actor, &user).await?;
    let purchases = app.vault.purchases_for_user(&me.actor, &user).await?;
    let mut out = AdminPage::new(
        &v,
        "account",
        format!(
            "{} <{}>",
            a.profile.display_name,
            a.email.as_ref().map_or("", |e| e.as_str())
        ),
    );
    out.notice = notice(p.done.as_deref());
    out.problem = a.banned_at.map(|_| {
        format!(
            "Banned: {}",
            a.ban_reason.as_deref().unwrap_or("no reason given")
        )
    });
    out.account = Some(AccountView {
        user: user.to_string(),
        banned: a.banned_at.is_some(),
        roles: [Role::User, Role::Admin]
            .iter()
            .map(|r| (r.as_str(), *r == a.role))
            .collect(),
    });
    out.heads = vec!["Purchase", "Status", "Total", "Date", ""];
    out.rows = purchases
        .iter()
        .map(|p| {
            vec![
                text(p.id.to_string()),
                text(p.status.to_string()),
                text(p.total.to_string()),
                text(p.created_at.format("%Y-%m-%d").to_string()),
                if p.status.is_paid() {
                    button(format!("/admin/purchases/{}/refund", p.id), "Refund")
                } else {
                    text("")
                },
            ]
        })
        .collect();
    render(&out)
}

#[derive(Deserialize)]
struct BanForm {
    reason: Option<String>,
}

async fn ban(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(user): Path<String>,
    CsrfForm(form): CsrfForm<BanForm>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let user = user_id(&user)?;
    let reason = form.reason.filter(|r| !r.trim().is_empty());
    app.vault.ban_account(&me.actor, &user, reason).await?;
    // Their sessions end now, not at their next request.
    app.sessions.end_all(&user);
    Ok(Redirect::to(&format!("/admin/accounts/{user}?done=banned")))
}

async fn unban(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(user): Path<String>,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let user = user_id(&user)?;
    app.vault.unban_account(&me.actor, &user).await?;
    Ok(Redirect::to(&format!(
        "/admin/accounts/{user}?done=unbanned"
    )))
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn set_role(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(user): Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Redirect, PageError> {
    let me = v.staff()?;
    let user = user_id(&user)?;
    let role = Role::parse(form.role.trim())
        .ok_or_else(|| PageError::unprocessable("role", "user or admin"))?;
    app.vault.set_role(&me.actor, &user, role).await?;
    Ok(Redirect::to(&format!(
        "/admin/accounts/{user}?done=role+changed"
    )))
}

/// `GET /admin/audit?cursor=`: the trail, newest first.
async fn audit(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Query(p): Query<ListParams>,
) -> Result<Html<String>, PageError> {
    let me = v.staff()?;
    let after = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(t) => Some(After::decode(t)?),
    };
    let listing = app
        .vault
        .audit_log(
            &me.actor,
            &AuditQuery {
                after,
                limit: 50,
                ..AuditQuery::default()
            },
        )
        .await
        .map_err(PageError::from_url)?;
    let mut out = AdminPage::new(&v, "table", "Audit log");
    out.heads = vec!["When (UTC)", "Who", "Action", "Target", "Changes"];
    out.rows = listing
        .items
        .iter()
        .map(|r| {
            vec![
                text(r.at.format("%Y-%m-%d %H:%M:%S").to_string()),
                text(
                    r.actor_id
                        .as_ref()
                        .map_or(r.actor_kind.clone(), ToString::to_string),
                ),
                text(r.action.as_str()),
                text(format!("{} {}", r.target, r.target_id)),
                text(r.changes.to_string()),
            ]
        })
        .collect();
    out.next = listing
        .next
        .map(|c| format!("/admin/audit?cursor={}", c.encode()));
    render(&out)
}

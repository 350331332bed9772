//! The API's JSON shapes. They are the API's own, not vault-core's types
//! serialized: the library may rename a field without changing the API,
//! and the OpenAPI document describes exactly what is sent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use vault_core::AccessDecision;
use vault_core::account::profile::Author;
use vault_core::catalog::category::Category;
use vault_core::catalog::file::{FileAccess, FileInfo};
use vault_core::catalog::workflow::Workflow;
use vault_core::community::comment::Comment;
use vault_core::community::review::Review;
use vault_core::value::money::Money;
use vault_core::value::quota::Quota;

/// The body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid`, `not_found`, `sign_in_required`,
    /// `forbidden`, `denied`, `already_exists`, `conflict`, `busy`,
    /// `rate_limited`, `unsupported_media_type`, `method_not_allowed`.
    pub code: String,
    /// The input field at fault, for 400 and 422.
    pub field: Option<String>,
    /// For people.
    pub message: String,
}

/// An amount of money.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyDto {
    /// The amount as a decimal string (`"49.00"`).
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<&Money> for MoneyDto {
    fn from(m: &Money) -> Self {
        Self {
            amount: m.amount(),
            currency: m.currency().code().to_owned(),
        }
    }
}

/// Downloads used against a limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaDto {
    /// Used.
    pub used: u32,
    /// The limit; absent when unlimited.
    pub limit: Option<u32>,
}

impl From<Quota> for QuotaDto {
    fn from(q: Quota) -> Self {
        Self {
            used: q.used,
            limit: q.limit,
        }
    }
}

/// A workflow as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowSummary {
    /// Id.
    pub id: Uuid,
    /// URL name.
    pub slug: String,
    /// Title.
    pub title: String,
    /// One line.
    pub short_description: String,
    /// Pricing tier (`free`, `basic`, `pro`, `premium`, `enterprise`).
    pub tier: String,
    /// One-time price; absent when free or sold only through memberships.
    pub price: Option<MoneyDto>,
    /// W.E.D.G.E. score, 0 to 10.
    pub wedge_score: Decimal,
    /// Mean of approved reviews, two places; absent without reviews.
    pub rating: Option<Decimal>,
    /// Approved reviews.
    pub review_count: u64,
    /// Downloads.
    pub downloads: u64,
    /// Tags.
    pub tags: Vec<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
}

impl From<&Workflow> for WorkflowSummary {
    fn from(w: &Workflow) -> Self {
        let c = &w.content;
        Self {
            id: w.id.as_uuid(),
            slug: c.slug.to_string(),
            title: c.title.clone(),
            short_description: c.short_description.clone(),
            tier: c.pricing_tier.to_string(),
            price: c
                .price
                .as_ref()
                .filter(|p| !p.is_zero())
                .map(MoneyDto::from),
            wedge_score: c.wedge.score.value(),
            rating: w.stats.rating.average_display(),
            review_count: w.stats.rating.count(),
            downloads: w.stats.download_count,
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            published_at: w.published_at,
        }
    }
}

/// One page of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowPage {
    /// The workflows of this page.
    pub items: Vec<WorkflowSummary>,
    /// Pass as `cursor` (with the same `sort`) for the next page; absent on
    /// the last.
    pub next: Option<String>,
}

/// A category (one of the nine business systems).
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// Id.
    pub id: Uuid,
    /// URL name, the `category` filter of the listing.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Icon.
    pub icon: String,
    /// Colour.
    pub color: String,
    /// Published workflows in it.
    pub workflow_count: u64,
    /// Their downloads.
    pub total_downloads: u64,
}

impl From<&Category> for CategoryDto {
    fn from(c: &Category) -> Self {
        Self {
            id: c.id.as_uuid(),
            slug: c.slug.to_string(),
            name: c.name.clone(),
            description: c.description.clone(),
            icon: c.icon.clone(),
            color: c.color.clone(),
            workflow_count: c.workflow_count,
            total_downloads: c.total_downloads,
        }
    }
}

/// The W.E.D.G.E. classification.
#[derive(Debug, Serialize, ToSchema)]
pub struct WedgeDto {
    /// Overall score, 0 to 10.
    pub score: Decimal,
    /// **W**orkflow complexity.
    pub complexity: String,
    /// **E**fficiency, 0 to 10.
    pub efficiency: Decimal,
    /// **D**igital maturity.
    pub digital_maturity: String,
    /// **G**rowth potential.
    pub growth_potential: String,
    /// **E**xcellence tier.
    pub excellence_tier: String,
}

/// A file of a workflow (what it is, not where it is stored).
#[derive(Debug, Serialize, ToSchema)]
pub struct FileDto {
    /// Id.
    pub id: Uuid,
    /// File name.
    pub file_name: String,
    /// `make`, `n8n`, `zapier`, `json`, `pdf`, ...
    pub kind: String,
    /// MIME type.
    pub mime_type: String,
    /// Version (`1.0.0`).
    pub version: String,
    /// The main file.
    pub is_primary: bool,
    /// `public`, `standard`, `minimum_tier:<tier>` or `owners_only`.
    pub access: String,
    /// Size.
    pub size_bytes: u64,
}

impl From<&FileInfo> for FileDto {
    fn from(f: &FileInfo) -> Self {
        Self {
            id: f.id.as_uuid(),
            file_name: f.file_name.clone(),
            kind: f.kind.to_string(),
            mime_type: f.mime_type.clone(),
            version: f.version.to_string(),
            is_primary: f.is_primary,
            access: match f.access {
                FileAccess::Public => "public".into(),
                FileAccess::Standard => "standard".into(),
                FileAccess::MinimumTier(t) => format!("minimum_tier:{t}"),
                FileAccess::OwnersOnly => "owners_only".into(),
            },
            size_bytes: f.size_bytes,
        }
    }
}

/// A workflow's rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingDto {
    /// Approved reviews.
    pub count: u64,
    /// Mean, two places.
    pub average: Option<Decimal>,
    /// Bayesian (damped) mean, two places.
    pub bayesian: Option<Decimal>,
    /// Reviews per star, one to five.
    pub distribution: Vec<u64>,
    /// Mean per W.E.D.G.E. dimension.
    pub dimensions: BTreeMap<String, Decimal>,
}

/// Everything a visitor may see of one workflow.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowDetail {
    /// As listed.
    #[serde(flatten)]
    pub summary: WorkflowSummary,
    /// Long description.
    pub description: String,
    /// Its category's slug.
    pub category: Option<String>,
    /// `draft`, `published`, `archived`, `coming_soon`.
    pub status: String,
    /// Current version.
    pub version: Option<String>,
    /// W.E.D.G.E.
    pub wedge: WedgeDto,
    /// Features.
    pub features: Vec<String>,
    /// Requirements.
    pub requirements: Vec<String>,
    /// What is included.
    pub includes: Vec<String>,
    /// Months of updates a purchase includes; absent: forever.
    pub update_months: Option<u32>,
    /// Downloads a purchase allows; absent: unlimited.
    pub download_limit: Option<u32>,
    /// Its files.
    pub files: Vec<FileDto>,
    /// Its rating.
    pub rating_summary: RatingDto,
}

/// One explained item of a decision: a reason or a remedy.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explained {
    /// Stable: `sign_in_required`, `no_entitlement`, `tier_too_low`, ...
    /// for reasons; `sign_in`, `buy`, `join`, `upgrade`, ... for remedies.
    pub code: String,
    /// In words.
    pub message: String,
    /// Its values (ids, dates, tiers, prices), by name.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// One rule consulted.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceStep {
    /// The rule, in words.
    pub rule: String,
    /// `grants`, `refuses` or `passes`.
    pub verdict: String,
    /// Why, in words.
    pub note: String,
}

/// Whether the caller may download a workflow now, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessDto {
    /// Granted.
    pub granted: bool,
    /// How (`free`, `purchased`, `member`, `trial`, `staff`), when granted.
    pub kind: Option<String>,
    /// One line for people.
    pub summary: String,
    /// The rule that decided.
    pub decided_by: String,
    /// For a denial, every reason.
    pub reasons: Vec<Explained>,
    /// For a denial, what would grant access.
    pub remedies: Vec<Explained>,
    /// Every rule consulted, in order.
    pub trace: Vec<TraceStep>,
}

/// Splits a tagged enum's JSON into its tag and the rest.
fn explain<T: Serialize + std::fmt::Display>(item: &T, tag: &str) -> Explained {
    let mut value = serde_json::to_value(item).unwrap_or_default();
    let code = value
        .as_object_mut()
        .and_then(|o| o.remove(tag))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Explained {
        code,
        message: item.to_string(),
        detail: value,
    }
}

impl From<&AccessDecision> for AccessDto {
    fn from(d: &AccessDecision) -> Self {
        use vault_core::value::decision::Verdict;
        Self {
            granted: d.is_granted(),
            kind: d.kind().and_then(|k| {
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            }),
            summary: d.summary(),
            decided_by: d.decided_by.to_string(),
            reasons: d.reasons.iter().map(|r| explain(r, "reason")).collect(),
            remedies: d.remedies.iter().map(|r| explain(r, "remedy")).collect(),
            trace: d
                .trace
                .iter()
                .map(|s| {
                    let (verdict, note) = match &s.verdict {
                        Verdict::Grants { kind } => (
                            "grants",
                            serde_json::to_value(kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                        ),
                        Verdict::Refuses(r) => ("refuses", r.to_string()),
                        Verdict::Passes { note } => ("passes", note.to_string()),
                    };
                    TraceStep {
                        rule: s.rule.to_string(),
                        verdict: verdict.into(),
                        note,
                    }
                })
                .collect(),
        }
    }
}

/// How an author is shown: a name, or "deleted user".
pub fn author_name(a: Option<&Author>) -> String {
    match a {
        Some(Author::Named { display_name, .. }) => display_name.clone(),
        Some(Author::Deleted) => "deleted user".into(),
        _ => "a customer".into(),
    }
}

/// A review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDto {
    /// Id.
    pub id: Uuid,
    /// Stars, 1 to 5.
    pub rating: u8,
    /// Stars per W.E.D.G.E. dimension, those given.
    pub dimensions: BTreeMap<String, u8>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Who wrote it, as shown.
    pub author: String,
    /// Written by the caller.
    pub mine: bool,
    /// The reviewer had bought it.
    pub verified_purchase: bool,
    /// Helpful votes.
    pub helpful_count: u64,
    /// Not-helpful votes.
    pub not_helpful_count: u64,
    /// `pending`, `approved`, `rejected`, `flagged` (others' reviews are
    /// always `approved`).
    pub status: String,
    /// Written.
    pub created_at: DateTime<Utc>,
}

impl ReviewDto {
    /// `r` as `viewer` sees it, its author shown as `author`.
    pub fn of(r: &Review, author: String, viewer: Option<&vault_core::UserId>) -> Self {
        use vault_core::community::rating::Dimension;
        let dimensions = Dimension::ALL
            .iter()
            .filter_map(|d| {
                let stars = r.input.dimensions.get(*d)?.stars();
                let name = serde_json::to_value(d).ok()?.as_str()?.to_owned();
                Some((name, stars))
            })
            .collect();
        Self {
            id: r.id.as_uuid(),
            rating: r.input.rating.stars(),
            dimensions,
            title: r.input.title.clone(),
            body: r.input.body.clone(),
            author,
            mine: viewer == Some(&r.user_id),
            verified_purchase: r.verified_purchase,
            helpful_count: r.helpful_count,
            not_helpful_count: r.not_helpful_count,
            status: r.status.to_string(),
            created_at: r.created_at,
        }
    }
}

/// A comment (flat: `parent_id` and `depth` rebuild the threads).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentDto {
    /// Id.
    pub id: Uuid,
    /// The comment it answers.
    pub parent_id: Option<Uuid>,
    /// 0 for a comment, 1 for a reply, 2 for a reply to a reply.
    pub depth: u8,
    /// Who wrote it, as shown.
    pub author: String,
    /// Written by the caller.
    pub mine: bool,
    /// Text; empty once deleted.
    pub body: String,
    /// Edited after posting.
    pub edited: bool,
    /// Deleted (kept so replies keep their place).
    pub deleted: bool,
    /// Likes.
    pub like_count: u64,
    /// Posted.
    pub created_at: DateTime<Utc>,
}

impl CommentDto {
    /// `c` as `viewer` sees it.
    pub fn of(c: &Comment, author: String, viewer: Option<&vault_core::UserId>) -> Self {
        Self {
            id: c.id.as_uuid(),
            parent_id: c.parent_id.map(|p| p.as_uuid()),
            depth: c.depth,
            author,
            mine: viewer == Some(&c.author),
            body: c.body.clone(),
            edited: c.edited,
            deleted: c.deleted_at.is_some(),
            like_count: c.like_count,
            created_at: c.created_at,
        }
    }
}

/// One page of comments.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    /// The comments of this page.
    pub items: Vec<CommentDto>,
    /// Pass as `cursor` (with the same `order`) for the next page.
    pub next: Option<String>,
}

/// A workflow named in a list of the caller's things.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRef {
    /// Id.
    pub id: Uuid,
    /// URL name; absent when the workflow is no longer shown.
    pub slug: Option<String>,
    /// Title; absent when the workflow is no longer shown.
    pub title: Option<String>,
}

/// A bookmarked workflow.
#[derive(Debug, Serialize, ToSchema)]
pub struct FavoriteDto {
    /// The workflow.
    pub workflow: WorkflowRef,
    /// Private note.
    pub note: Option<String>,
    /// Private tags.
    pub tags: Vec<String>,
    /// Bookmarked.
    pub created_at: DateTime<Utc>,
}

/// A purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseDto {
    /// Id.
    pub id: Uuid,
    /// `one_time`, `bundle` or `membership_included`.
    pub purchase_type: String,
    /// The workflows it grants.
    pub workflows: Vec<Uuid>,
    /// The bundle, for a bundle purchase.
    pub bundle_id: Option<Uuid>,
    /// `pending`, `completed`, `failed`, `refunded`, `partially_refunded`,
    /// `disputed`.
    pub status: String,
    /// `personal`, `team`, `commercial`, `enterprise`.
    pub license_type: String,
    /// The license key (the buyer's own), derived again on each read: the
    /// store keeps only its digest. Absent for a key issued under another
    /// license secret, which only its buyer still holds.
    pub license_key: Option<String>,
    /// When the license ends; absent: never.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Updates until; absent: forever.
    pub updates_until: Option<DateTime<Utc>>,
    /// Downloads used and allowed.
    pub quota: QuotaDto,
    /// Before tax.
    pub amount: MoneyDto,
    /// Tax.
    pub tax: MoneyDto,
    /// Charged.
    pub total: MoneyDto,
    /// Refunded so far.
    pub refunded: Option<MoneyDto>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Paid.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    /// Id.
    pub id: Uuid,
    /// Tier.
    pub tier: String,
    /// `trialing`, `active`, `past_due`, `canceled`, `expired`.
    pub status: String,
    /// End of the trial.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Current period's start.
    pub period_start: DateTime<Utc>,
    /// Current period's end.
    pub period_end: DateTime<Utc>,
    /// Downloads this period.
    pub quota: QuotaDto,
    /// Ends at the end of the period.
    pub cancel_at_period_end: bool,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// A download.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadDto {
    /// Id.
    pub id: Uuid,
    /// The workflow.
    pub workflow_id: Uuid,
    /// The file.
    pub file_id: Uuid,
    /// Its version.
    pub file_version: String,
    /// `free`, `purchased`, `membership`, `trial`.
    pub kind: String,
    /// When.
    pub downloaded_at: DateTime<Utc>,
}

/// A bundle on offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleDto {
    /// Id.
    pub id: Uuid,
    /// URL name.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its workflows.
    pub workflows: Vec<WorkflowRef>,
    /// The bundle's price.
    pub price: MoneyDto,
    /// The members' prices added up.
    pub original_price: MoneyDto,
    /// Saved against buying each.
    pub savings: MoneyDto,
    /// Saved, percent.
    pub savings_percent: Decimal,
    /// On sale now.
    pub on_sale: bool,
}

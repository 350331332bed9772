//! What the store-level cases (`*_store.rs`) share. Those cases call the
//! storage traits directly, with no service and no clock, the way a backend
//! is called once the service has decided: records are built by hand with
//! fixed ids (`wf_id(10)`), on days counted from one instant (`t(1)`), and a
//! [`Snapshot`] of everything the traits can read shows that a refused write
//! wrote nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::helpers::usd;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::catalog::bundle::{Bundle, NewBundle};
use crate::catalog::category::{Category, NewCategory};
use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile, WorkflowFile};
use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate, WorkflowUpdate};
use crate::catalog::wedge::Wedge;
use crate::catalog::workflow::{Media, Seo, Workflow, WorkflowContent, WorkflowStatus};
use crate::commerce::license::{LicenseKey, LicenseType};
use crate::commerce::membership::{Membership, MembershipStatus, NewMembership, Period};
use crate::commerce::purchase::{
    NewPurchase, PaymentRef, PaymentStatus, ProviderRefs, Purchase, PurchaseItem,
};
use crate::community::favorite::Favorite;
use crate::community::rating::{DimensionRatings, Rating, RatingAggregate, RatingDelta};
use crate::community::review::{ModerationStatus, Review, ReviewInput};
use crate::delivery::download::{Download, DownloadKind, DownloadSource, RequestMeta};
use crate::insight::analytics::{AnalyticsDelta, DailyAnalytics, WorkflowStatsRow};
use crate::store::{Entity, PurchaseWrite, Store, StoreError, StoreResult};
use crate::value::actor::{Actor, UserId};
use crate::value::clock::{MAX_DATE, MIN_DATE, SeededEntropy};
use crate::value::ids::{
    AuditId, BundleId, CategoryId, DownloadId, FileId, MembershipId, PurchaseId, ReviewId,
    UpdateId, WorkflowId,
};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::version::Version;

static AUDIT_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh audit entry for the cases that call a store's staff writes
/// directly: by the service, with an id no other entry of the process has.
pub fn audit() -> AuditEntry {
    let n = AUDIT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    AuditEntry::new(
        AuditId::from_uuid(Uuid::from_u128((0xa0d1_u128 << 112) | u128::from(n))),
        &Actor::Service,
        AuditAction::WorkflowEdited,
        Entity::Workflow,
        "store-case",
        DateTime::<Utc>::from_timestamp(1_739_437_200, 0).unwrap_or_default(),
    )
    .expect("a valid entry")
}

/// Asserts that a store call failed with an error matching `$pattern`.
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {{
        let result = $result;
        assert!(
            matches!(result, Err($pattern)),
            "expected {}, got {:?}",
            stringify!($pattern),
            result
        );
    }};
}
pub(super) use assert_err;

// ---------------------------------------------------------------- values

/// Day `day` of the cases' calendar (day 0 is 2024-10-04, midnight UTC).
pub(super) fn t(day: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000 + day)
}

pub(super) fn day(d: i64) -> NaiveDate {
    t(d).date_naive()
}

pub(super) fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

pub(super) fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

pub(super) fn pay(s: &str) -> PaymentRef {
    PaymentRef::parse(s).unwrap()
}

pub(super) fn cat_id(n: u128) -> CategoryId {
    CategoryId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn wf_id(n: u128) -> WorkflowId {
    WorkflowId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn file_id(n: u128) -> FileId {
    FileId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn bundle_id(n: u128) -> BundleId {
    BundleId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn purchase_id(n: u128) -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn membership_id(n: u128) -> MembershipId {
    MembershipId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn download_id(n: u128) -> DownloadId {
    DownloadId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn review_id(n: u128) -> ReviewId {
    ReviewId::from_uuid(Uuid::from_u128(n))
}

/// An analytics delta that counts nothing (it still creates its day's row).
pub(super) fn delta(workflow: u128, day: i64) -> AnalyticsDelta {
    AnalyticsDelta::none(wf_id(workflow), t(day))
}

// --------------------------------------------------------------- catalog

pub(super) fn category(n: u128, s: &str, order_index: i32) -> Category {
    NewCategory {
        slug: slug(s),
        name: format!("Category {n}"),
        description: String::new(),
        icon: String::new(),
        color: String::new(),
        order_index,
    }
    .build(cat_id(n), t(0))
    .unwrap()
}

pub(super) fn workflow(n: u128, s: &str, category: u128, status: WorkflowStatus) -> Workflow {
    let content = WorkflowContent {
        slug: slug(s),
        title: format!("Workflow {n}"),
        short_description: String::new(),
        description: String::new(),
        category_id: cat_id(category),
        wedge: Wedge::default(),
        pricing_tier: PricingTier::Pro,
        price: Some(usd(4900)),
        media: Media::default(),
        features: vec![],
        requirements: vec![],
        includes: vec![],
        tags: vec![],
        seo: Seo::default(),
        update_months: None,
        download_limit: None,
    };
    let mut w = Workflow::new_draft(wf_id(n), content, t(n as i64)).unwrap();
    w.status = status;
    w
}

pub(super) fn file(n: u128, workflow: u128, version: Version, primary: bool) -> WorkflowFile {
    NewFile {
        workflow_id: wf_id(workflow),
        kind: FileKind::Make,
        file_name: format!("file-{n}.json"),
        storage_key: format!("files/{n}"),
        mime_type: "application/json".into(),
        version,
        is_primary: primary,
        access: FileAccess::Standard,
        size_bytes: 100,
        checksum: Checksum::of(b"blueprint"),
    }
    .build(file_id(n), t(1))
    .unwrap()
}

pub(super) fn update(n: u128, workflow: u128, version: Version) -> WorkflowUpdate {
    NewUpdate {
        workflow_id: wf_id(workflow),
        version,
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Added,
            text: "a step".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: String::new(),
    }
    .build(UpdateId::from_uuid(Uuid::from_u128(n)), None, t(2))
    .unwrap()
}

pub(super) fn bundle(n: u128, s: &str, members: &[u128]) -> Bundle {
    let ids: Vec<WorkflowId> = members.iter().map(|m| wf_id(*m)).collect();
    let prices = vec![usd(4900); ids.len()];
    NewBundle {
        slug: slug(s),
        name: format!("Bundle {n}"),
        description: String::new(),
        workflow_ids: ids,
        price: usd(4900),
        valid_from: None,
        valid_until: None,
        seo: Seo::default(),
    }
    .build(bundle_id(n), &prices, t(3))
    .unwrap()
}

/// Category 1 (`ops`) and 2 (`growth`); workflow 10 published and 11
/// draft, both in category 1.
pub(super) async fn catalog(store: &dyn Store) {
    store
        .insert_category(&category(1, "ops", 1), &audit())
        .await
        .unwrap();
    store
        .insert_category(&category(2, "growth", 2), &audit())
        .await
        .unwrap();
    store
        .insert_workflow(
            &workflow(10, "lead-capture", 1, WorkflowStatus::Published),
            &audit(),
        )
        .await
        .unwrap();
    store
        .insert_workflow(
            &workflow(11, "invoice-chaser", 1, WorkflowStatus::Draft),
            &audit(),
        )
        .await
        .unwrap();
}

/// The catalog plus file 1 (of workflow 10), file 2 (of 11) and bundle 1
/// of both workflows.
pub(super) async fn shop(store: &dyn Store) {
    catalog(store).await;
    store
        .insert_file(&file(1, 10, Version::new(1, 0, 0), true), &audit())
        .await
        .unwrap();
    store
        .insert_file(&file(2, 11, Version::new(1, 0, 0), true), &audit())
        .await
        .unwrap();
    store
        .insert_bundle(&bundle(1, "starter", &[10, 11]), &audit())
        .await
        .unwrap();
}

pub(super) async fn workflow_count(store: &dyn Store, category: u128) -> u64 {
    store
        .category(cat_id(category))
        .await
        .unwrap()
        .unwrap()
        .workflow_count
}

// -------------------------------------------------------------- commerce

pub(super) fn direct(workflow: u128) -> PurchaseItem {
    PurchaseItem::Workflow {
        workflow_id: wf_id(workflow),
    }
}

pub(super) fn of_bundle(bundle: u128, members: &[u128]) -> PurchaseItem {
    PurchaseItem::Bundle {
        bundle_id: bundle_id(bundle),
        members: members.iter().map(|m| wf_id(*m)).collect(),
    }
}

/// A pending purchase created on `day`.
pub(super) fn purchase(
    n: u128,
    who: &str,
    item: PurchaseItem,
    limit: Option<u32>,
    day: i64,
) -> Purchase {
    NewPurchase {
        user_id: user(who),
        item,
        license_type: LicenseType::Personal,
        amount: usd(4900),
        tax: usd(0),
        download_limit: limit,
        license_expires_at: None,
        update_months: None,
        provider: ProviderRefs::default(),
    }
    .build(
        purchase_id(n),
        LicenseKey::generate(&SeededEntropy::new(n as u64)).hash(),
        t(day),
    )
    .unwrap()
}

pub(super) fn completed(mut p: Purchase, payment: &str) -> Purchase {
    p.complete(pay(payment), t(5)).unwrap();
    p
}

/// Sells `item` to `who` as purchase `n`: inserts it pending, then settles
/// its completion (counting the purchase, no analytics), the way a checkout
/// and its payment reach the store.
pub(super) async fn sell(store: &dyn Store, n: u128, who: &str, item: PurchaseItem) {
    let pending = purchase(n, who, item, None, 1);
    store.insert_purchase(&pending).await.unwrap();
    store
        .settle_purchase(&PurchaseWrite {
            purchase: completed(pending, &format!("pi_sold_{n}")),
            expected_status: PaymentStatus::Pending,
            expected_refunded: None,
            expected_dispute: None,
            count_purchase: true,
            analytics: vec![],
            refunds: vec![],
            audit: None,
            outbox: vec![],
        })
        .await
        .unwrap();
}

/// An active membership whose 30-day period starts on `day`, following
/// provider subscription `sub_{n}`.
pub(super) fn membership(n: u128, who: &str, day: i64, limit: Option<u32>) -> Membership {
    NewMembership {
        user_id: user(who),
        tier: PricingTier::Pro,
        period: Period::new(t(day), t(day + 30)).unwrap(),
        trial: false,
        period_download_limit: limit,
        features: BTreeMap::new(),
        provider: ProviderRefs {
            subscription_id: Some(format!("sub_{n}")),
            ..ProviderRefs::default()
        },
    }
    .build(membership_id(n), t(day))
    .unwrap()
}

// -------------------------------------------------------------- delivery

pub(super) fn download(
    n: u128,
    who: Option<&str>,
    workflow: u128,
    file: u128,
    day: i64,
) -> Download {
    Download {
        id: download_id(n),
        user_id: who.map(user),
        workflow_id: wf_id(workflow),
        file_id: file_id(file),
        file_version: Version::new(1, 0, 0),
        kind: DownloadKind::Purchased,
        source: DownloadSource::Free,
        request: RequestMeta::default(),
        downloaded_at: t(day),
    }
}

// ------------------------------------------------------------- community

pub(super) fn review(
    n: u128,
    workflow: u128,
    who: &str,
    stars: u8,
    status: ModerationStatus,
) -> Review {
    let input = ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions: DimensionRatings::default(),
        title: "Saves hours".into(),
        body: String::new(),
    };
    Review {
        status,
        approved_at: (status == ModerationStatus::Approved).then(|| t(1)),
        ..Review::submitted(review_id(n), wf_id(workflow), user(who), input, true, t(1))
    }
}

pub(super) fn rating_change(old: Option<&Review>, new: Option<&Review>) -> RatingDelta {
    RatingDelta::between(
        old.and_then(Review::contribution).as_ref(),
        new.and_then(Review::contribution).as_ref(),
    )
}

pub(super) async fn rating(store: &dyn Store, workflow: u128) -> RatingAggregate {
    store
        .workflow(wf_id(workflow))
        .await
        .unwrap()
        .unwrap()
        .stats
        .rating
}

pub(super) fn favorite(who: &str, workflow: u128, day: i64) -> Favorite {
    Favorite {
        user_id: user(who),
        workflow_id: wf_id(workflow),
        note: None,
        tags: vec![],
        created_at: t(day),
    }
}

// ---------------------------------------------------- refused calls

/// The kind and entity of a failure, for tables of refused calls.
pub(super) fn failure<T>(result: &StoreResult<T>) -> Option<(&'static str, Entity)> {
    match result {
        Err(StoreError::NotFound { entity, .. }) => Some(("not found", *entity)),
        Err(StoreError::AlreadyExists { entity, .. }) => Some(("exists", *entity)),
        Err(StoreError::Conflict { entity, .. }) => Some(("conflict", *entity)),
        Err(StoreError::LimitReached { entity, .. }) => Some(("limit", *entity)),
        _ => None,
    }
}

/// Every user the store-level cases name.
const USERS: [&str; 6] = ["ann", "bob", "cat", "mallory", "mod", "zed"];

/// Everything the storage traits read back: every category, bundle and
/// membership, every workflow (found through the stats view) with its
/// files, updates, reviews, downloads and daily rows, and what each of
/// [`USERS`] holds. Equal before and after a refused call: it wrote nothing.
#[derive(Debug, PartialEq)]
pub(super) struct Snapshot {
    categories: Vec<Category>,
    bundles: Vec<Bundle>,
    memberships: Vec<Membership>,
    stats: Vec<WorkflowStatsRow>,
    workflows: Vec<WorkflowSnapshot>,
    users: Vec<UserSnapshot>,
}

#[derive(Debug, PartialEq)]
struct WorkflowSnapshot {
    workflow: Option<Workflow>,
    files: Vec<WorkflowFile>,
    updates: Vec<WorkflowUpdate>,
    reviews: Vec<Review>,
    downloads: Vec<Download>,
    analytics: Vec<DailyAnalytics>,
}

#[derive(Debug, PartialEq)]
struct UserSnapshot {
    purchases: Vec<Purchase>,
    memberships: Vec<Membership>,
    favorites: Vec<Favorite>,
    downloads: Vec<Download>,
}

pub(super) async fn snapshot(store: &dyn Store) -> Snapshot {
    let mut stats = store.workflow_stats(None).await.unwrap();
    stats.sort_by_key(|r| r.workflow_id);
    let mut workflows = Vec::new();
    for id in stats.iter().map(|r| r.workflow_id) {
        workflows.push(WorkflowSnapshot {
            workflow: store.workflow(id).await.unwrap(),
            files: store.files(id).await.unwrap(),
            updates: store.updates(id).await.unwrap(),
            reviews: store.reviews_for_workflow(id, &[]).await.unwrap(),
            downloads: store.downloads_for_workflow(id, 10_000).await.unwrap(),
            analytics: store.analytics(id, MIN_DATE, MAX_DATE).await.unwrap(),
        });
    }
    let mut users = Vec::new();
    for who in USERS.map(user) {
        users.push(UserSnapshot {
            purchases: store.purchases_for_user(&who).await.unwrap(),
            memberships: store.memberships_for_user(&who).await.unwrap(),
            favorites: store.favorites_for_user(&who, None).await.unwrap(),
            downloads: store.downloads_for_user(&who, 10_000).await.unwrap(),
        });
    }
    Snapshot {
        categories: store.categories().await.unwrap(),
        bundles: store.bundles().await.unwrap(),
        memberships: store
            .memberships_with_status(MembershipStatus::ALL)
            .await
            .unwrap(),
        stats,
        workflows,
        users,
    }
}

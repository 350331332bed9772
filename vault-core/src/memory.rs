//! An in-memory backend: every storage trait over ordered maps behind one
//! mutex.
//!
//! [`MemoryStore`] is the reference implementation of the contract in
//! [`crate::store`]: apps use it in their own tests (and small deployments
//! that need no persistence), and the SQL backends are compared against it.
//!
//! # How it keeps the guarantees
//! * **One lock per call.** Every method takes the mutex once, checks every
//!   precondition (existence, uniqueness, guards, quotas, rating deltas), and
//!   only then writes. The write phase cannot fail, so a call either happens
//!   entirely or leaves the state exactly as it was. Nothing is awaited while
//!   the lock is held, and a poisoned lock is recovered rather than turned
//!   into a panic (no write phase can panic half-way).
//! * **Deterministic order.** Records live in `BTreeMap`s keyed by id, so
//!   every listing is ordered by its documented key and then by id.
//! * **Counters are the store's.** Updates keep the counters the store
//!   maintains (workflow stats, file download counts, bundle purchase counts,
//!   review vote counts, quota usage) and take every other field from the
//!   written record, timestamps included.
//!
//! # Where the contract leaves room, this backend decides
//! * An update naming a missing parent (a workflow's category, a file's
//!   workflow, a bundle's member) is `NotFound`, like an insert.
//! * A purchase must name an existing workflow, bundle (and members) or
//!   membership, on insert and on settlement.
//! * `quota.used` of purchases and memberships is a maintained counter:
//!   [`CommerceStore::settle_purchase`] keeps the stored value, and
//!   [`CommerceStore::update_membership`] keeps it unless the write starts a
//!   new period (a renewal resets the quota). A write prepared from a read
//!   taken before a download therefore cannot undo that download's charge.
//! * A download must name a file of its own workflow (else `NotFound` for the
//!   file).
//! * A review's workflow and author are its identity: an update or delete
//!   applies the delta to the stored review's workflow and keeps both.
//! * `memberships_with_status(&[])` is empty (no status matches), while
//!   `reviews_for_workflow(_, &[])` is every review, as documented.
//!
//! Lookups by slug, payment reference and subscription scan the records: this
//! backend is meant for tests and small catalogs, not for millions of rows.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::catalog::bundle::Bundle;
use crate::catalog::category::{Category, count_moves, counted_in};
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{Page, WorkflowQuery, run_query};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::commerce::membership::{Membership, MembershipStatus, claim_slot};
use crate::commerce::purchase::{PaymentRef, Purchase, PurchaseItem};
use crate::community::favorite::Favorite;
use crate::community::rating::{RatingAggregate, RatingDelta};
use crate::community::review::{ModerationStatus, Review, Vote};
use crate::delivery::charge::Charged;
use crate::delivery::download::Download;
use crate::insight::analytics::{
    ActiveMembershipRow, AnalyticsDelta, DailyAnalytics, VisitorKey, WorkflowStatsRow,
};
use crate::store::{
    AnalyticsStore, CatalogStore, Charge, CommerceStore, CommunityStore, DeliveryStore,
    PaymentState, PurchaseWrite,
};
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{
    BundleId, CategoryId, DownloadId, FileId, MembershipId, PurchaseId, ReviewId, UpdateId,
    WorkflowId,
};
use crate::value::slug::Slug;
use crate::value::tag::Tag;

/// A complete storage backend held in memory.
///
/// Cheap to create, safe to share between tasks, and gone when dropped.
/// Every method is atomic: see the [module docs](self).
///
/// ```
/// use std::sync::Arc;
///
/// use vault_core::MemoryStore;
/// use vault_core::store::{CatalogStore, Store};
///
/// // What an app hands its service in tests: any backend, as a trait object.
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
/// # runtime.block_on(async {
/// assert!(store.categories().await.expect("in memory").is_empty());
/// # });
/// ```
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    // Webhook events live apart from the domain state: they never share a
    // transaction with it.
    webhooks: Mutex<std::collections::BTreeMap<String, crate::store::WebhookEvent>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // The only way to the state. Check phases only read and write phases do
    // not panic, so a lock poisoned by a panic elsewhere still guards a
    // consistent state: carry on with it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// Counts rather than contents: a store can hold a whole catalog, and Debug
// output ends up in logs and test failures.
impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = match self.state.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return f
                    .debug_struct("MemoryStore")
                    .field("state", &"<locked>")
                    .finish();
            }
        };
        guard.summary(f)
    }
}

/// Everything stored. Each method checks first and writes last; helpers that
/// return `StoreResult` only read.
#[derive(Default)]
#[cfg_attr(test, derive(Debug, Clone, PartialEq))]
struct State {
    categories: BTreeMap<CategoryId, Category>,
    workflows: BTreeMap<WorkflowId, Workflow>,
    files: BTreeMap<FileId, WorkflowFile>,
    updates: BTreeMap<UpdateId, WorkflowUpdate>,
    bundles: BTreeMap<BundleId, Bundle>,
    purchases: BTreeMap<PurchaseId, Purchase>,
    memberships: BTreeMap<MembershipId, Membership>,
    downloads: BTreeMap<DownloadId, Download>,
    reviews: BTreeMap<ReviewId, Review>,
    votes: BTreeMap<(ReviewId, UserId), Vote>,
    favorites: BTreeMap<(UserId, WorkflowId), Favorite>,
    analytics: BTreeMap<(WorkflowId, NaiveDate), DailyAnalytics>,
    /// Visitors already counted as unique for a workflow on a day.
    visitors: BTreeSet<(WorkflowId, NaiveDate, VisitorKey)>,
}

/// Names this backend in [`StoreError::Backend`].
const REVISION_MOVED: &str = "stored revision is not the expected one";
const VERSION_NOT_GREATER: &str = "version is not greater than every stored version";
const RATING_MISMATCH: &str = "rating delta does not match the aggregate";

/// The count a vote adds to.
fn vote_count(review: &mut Review, vote: Vote) -> &mut u64 {
    match vote {
        Vote::Helpful => &mut review.helpful_count,
        Vote::NotHelpful => &mut review.not_helpful_count,
    }
}

/// Newest first: `(time, id)` pairs by time descending, then id ascending.
fn newest_first<T: Ord, I: Ord>(a: (T, I), b: (T, I)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

/// `LimitReached` when `used` has reached `limit`.
impl State {
    fn summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("categories", &self.categories.len())
            .field("workflows", &self.workflows.len())
            .field("files", &self.files.len())
            .field("updates", &self.updates.len())
            .field("bundles", &self.bundles.len())
            .field("purchases", &self.purchases.len())
            .field("memberships", &self.memberships.len())
            .field("downloads", &self.downloads.len())
            .field("reviews", &self.reviews.len())
            .field("votes", &self.votes.len())
            .field("favorites", &self.favorites.len())
            .field("analytics_rows", &self.analytics.len())
            .finish()
    }

    // ---- shared reads -------------------------------------------------

    fn workflow(&self, id: WorkflowId) -> StoreResult<&Workflow> {
        self.workflows
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Workflow, id))
    }

    fn category(&self, id: CategoryId) -> StoreResult<&Category> {
        self.categories
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Category, id))
    }

    fn workflow_with_slug(&self, slug: &Slug) -> Option<&Workflow> {
        self.workflows.values().find(|w| w.content.slug == *slug)
    }

    fn bundle_with_slug(&self, slug: &Slug) -> Option<&Bundle> {
        self.bundles.values().find(|b| b.slug == *slug)
    }

    /// Applies vault-core's category count moves of a workflow going from
    /// `before` to `after` (each `None` when absent).
    fn move_workflow_counts(&mut self, before: Option<&Workflow>, after: Option<&Workflow>) {
        let counted =
            |w: Option<&Workflow>| w.and_then(|w| counted_in(w.status, w.content.category_id));
        for (id, delta) in count_moves(counted(before), counted(after)) {
            if let Some(c) = self.categories.get_mut(&id) {
                c.workflow_count = c.workflow_count.saturating_add_signed(delta);
            }
        }
    }

    // ---- catalog ------------------------------------------------------

    fn insert_category(&mut self, category: &Category) -> StoreResult<()> {
        if self.categories.contains_key(&category.id) {
            return Err(StoreError::exists(Entity::Category, category.id));
        }
        if self.categories.values().any(|c| c.slug == category.slug) {
            return Err(StoreError::exists(Entity::Category, &category.slug));
        }
        self.categories.insert(category.id, category.clone());
        Ok(())
    }

    fn categories(&self) -> Vec<Category> {
        let mut all: Vec<Category> = self.categories.values().cloned().collect();
        all.sort_by(|a, b| {
            a.order_index
                .cmp(&b.order_index)
                .then_with(|| a.slug.cmp(&b.slug))
        });
        all
    }

    fn insert_workflow(&mut self, workflow: &Workflow) -> StoreResult<()> {
        if self.workflows.contains_key(&workflow.id) {
            return Err(StoreError::exists(Entity::Workflow, workflow.id));
        }
        if self.workflow_with_slug(&workflow.content.slug).is_some() {
            return Err(StoreError::exists(Entity::Workflow, &workflow.content.slug));
        }
        self.category(workflow.content.category_id)?;
        self.move_workflow_counts(None, Some(workflow));
        self.workflows.insert(workflow.id, workflow.clone());
        Ok(())
    }

    fn update_workflow(&mut self, workflow: &Workflow, expected_revision: u64) -> StoreResult<()> {
        let stored = self.workflow(workflow.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Workflow,
                workflow.id,
                REVISION_MOVED,
            ));
        }
        if let Some(other) = self.workflow_with_slug(&workflow.content.slug)
            && other.id != workflow.id
        {
            return Err(StoreError::exists(Entity::Workflow, &workflow.content.slug));
        }
        self.category(workflow.content.category_id)?;

        let mut next = workflow.clone();
        next.stats = stored.stats.clone();
        // Owned by insert_update, so an edit from an older read cannot roll
        // the version back.
        next.current_version = stored.current_version;
        let stored = stored.clone();
        self.move_workflow_counts(Some(&stored), Some(&next));
        self.workflows.insert(next.id, next);
        Ok(())
    }

    fn insert_file(&mut self, file: &WorkflowFile) -> StoreResult<()> {
        if self.files.contains_key(&file.id) {
            return Err(StoreError::exists(Entity::File, file.id));
        }
        self.workflow(file.workflow_id)?;
        self.put_file(file.clone());
        Ok(())
    }

    fn update_file(&mut self, file: &WorkflowFile) -> StoreResult<()> {
        let stored = self
            .files
            .get(&file.id)
            .ok_or_else(|| StoreError::not_found(Entity::File, file.id))?;
        self.workflow(file.workflow_id)?;
        let mut next = file.clone();
        next.download_count = stored.download_count;
        self.put_file(next);
        Ok(())
    }

    /// Stores a checked file, keeping at most one primary file per workflow.
    fn put_file(&mut self, file: WorkflowFile) {
        if file.is_primary {
            for other in self.files.values_mut() {
                if other.workflow_id == file.workflow_id && other.id != file.id {
                    other.is_primary = false;
                }
            }
        }
        self.files.insert(file.id, file);
    }

    fn files(&self, workflow: WorkflowId) -> Vec<WorkflowFile> {
        let mut files: Vec<WorkflowFile> = self
            .files
            .values()
            .filter(|f| f.workflow_id == workflow)
            .cloned()
            .collect();
        files.sort_by(|a, b| {
            b.is_primary
                .cmp(&a.is_primary)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| a.id.cmp(&b.id))
        });
        files
    }

    fn insert_update(&mut self, update: &WorkflowUpdate) -> StoreResult<()> {
        if self.updates.contains_key(&update.id) {
            return Err(StoreError::exists(Entity::Update, update.id));
        }
        self.workflow(update.workflow_id)?;
        if self
            .updates
            .values()
            .any(|u| u.workflow_id == update.workflow_id && u.version >= update.version)
        {
            return Err(StoreError::conflict(
                Entity::Update,
                update.id,
                VERSION_NOT_GREATER,
            ));
        }
        if let Some(w) = self.workflows.get_mut(&update.workflow_id) {
            w.current_version = Some(update.version);
        }
        self.updates.insert(update.id, update.clone());
        Ok(())
    }

    fn updates(&self, workflow: WorkflowId) -> Vec<WorkflowUpdate> {
        let mut updates: Vec<WorkflowUpdate> = self
            .updates
            .values()
            .filter(|u| u.workflow_id == workflow)
            .cloned()
            .collect();
        updates.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
        updates
    }

    fn check_members(&self, bundle: &Bundle) -> StoreResult<()> {
        bundle
            .workflow_ids
            .iter()
            .try_for_each(|id| self.workflow(*id).map(|_| ()))
    }

    fn insert_bundle(&mut self, bundle: &Bundle) -> StoreResult<()> {
        if self.bundles.contains_key(&bundle.id) {
            return Err(StoreError::exists(Entity::Bundle, bundle.id));
        }
        if self.bundle_with_slug(&bundle.slug).is_some() {
            return Err(StoreError::exists(Entity::Bundle, &bundle.slug));
        }
        self.check_members(bundle)?;
        self.bundles.insert(bundle.id, bundle.clone());
        Ok(())
    }

    fn update_bundle(&mut self, bundle: &Bundle) -> StoreResult<()> {
        let stored = self
            .bundles
            .get(&bundle.id)
            .ok_or_else(|| StoreError::not_found(Entity::Bundle, bundle.id))?;
        if let Some(other) = self.bundle_with_slug(&bundle.slug)
            && other.id != bundle.id
        {
            return Err(StoreError::exists(Entity::Bundle, &bundle.slug));
        }
        self.check_members(bundle)?;
        let mut next = bundle.clone();
        next.purchase_count = stored.purchase_count;
        self.bundles.insert(next.id, next);
        Ok(())
    }

    fn bundles(&self) -> Vec<Bundle> {
        let mut all: Vec<Bundle> = self.bundles.values().cloned().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug).then_with(|| a.id.cmp(&b.id)));
        all
    }

    // ---- commerce -----------------------------------------------------

    fn purchase(&self, id: PurchaseId) -> StoreResult<&Purchase> {
        self.purchases
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Purchase, id))
    }

    fn membership(&self, id: MembershipId) -> StoreResult<&Membership> {
        self.memberships
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Membership, id))
    }

    fn purchase_with_ref(&self, payment: &PaymentRef) -> Option<&Purchase> {
        self.purchases
            .values()
            .find(|p| p.payment_ref.as_ref() == Some(payment))
    }

    /// `AlreadyExists` when the purchase's payment reference settles another.
    fn check_payment_ref(&self, purchase: &Purchase) -> StoreResult<()> {
        if let Some(payment) = &purchase.payment_ref
            && let Some(other) = self.purchase_with_ref(payment)
            && other.id != purchase.id
        {
            return Err(StoreError::exists(Entity::Purchase, payment.as_str()));
        }
        Ok(())
    }

    /// `NotFound` when the item names a missing workflow, bundle or membership.
    fn check_item(&self, item: &PurchaseItem) -> StoreResult<()> {
        match item {
            PurchaseItem::Workflow { workflow_id } => {
                self.workflow(*workflow_id)?;
            }
            PurchaseItem::Bundle { bundle_id, members } => {
                if !self.bundles.contains_key(bundle_id) {
                    return Err(StoreError::not_found(Entity::Bundle, bundle_id));
                }
                for member in members {
                    self.workflow(*member)?;
                }
            }
            PurchaseItem::MembershipIncluded {
                workflow_id,
                membership_id,
            } => {
                self.workflow(*workflow_id)?;
                self.membership(*membership_id)?;
            }
        }
        Ok(())
    }

    fn insert_purchase(&mut self, purchase: &Purchase) -> StoreResult<()> {
        if self.purchases.contains_key(&purchase.id) {
            return Err(StoreError::exists(Entity::Purchase, purchase.id));
        }
        self.check_payment_ref(purchase)?;
        self.check_item(&purchase.item)?;
        self.purchases.insert(purchase.id, purchase.clone());
        Ok(())
    }

    fn purchases_of(&self, user: &UserId, keep: impl Fn(&Purchase) -> bool) -> Vec<Purchase> {
        let mut found: Vec<&Purchase> = self
            .purchases
            .values()
            .filter(|p| p.user_id == *user && keep(p))
            .collect();
        found.sort_by(|a, b| newest_first((a.created_at, a.id), (b.created_at, b.id)));
        found.into_iter().cloned().collect()
    }

    fn settle_purchase(&mut self, write: &PurchaseWrite) -> StoreResult<()> {
        write.verdict(
            self.purchases
                .get(&write.purchase.id)
                .map(|p| PaymentState {
                    status: p.status,
                    refunded: p.refund.as_ref().map(|r| r.refunded),
                    dispute: p.dispute_outcome,
                }),
        )?;
        let stored = self.purchase(write.purchase.id)?;
        self.check_payment_ref(&write.purchase)?;
        self.check_item(&write.purchase.item)?;
        self.check_analytics(&write.analytics)?;

        let mut next = write.purchase.clone();
        // Downloads charged since the caller read the purchase stay counted.
        next.quota.used = stored.quota.used;
        if write.count_purchase {
            // A set: a purchase counts once per workflow, whatever its item.
            let granted: BTreeSet<WorkflowId> = next.item.workflows().into_iter().collect();
            for id in granted {
                if let Some(w) = self.workflows.get_mut(&id) {
                    w.stats.purchase_count = w.stats.purchase_count.saturating_add(1);
                }
            }
            if let PurchaseItem::Bundle { bundle_id, .. } = &next.item
                && let Some(b) = self.bundles.get_mut(bundle_id)
            {
                b.purchase_count = b.purchase_count.saturating_add(1);
            }
        }
        self.purchases.insert(next.id, next);
        for delta in &write.analytics {
            self.apply_analytics(delta)?;
        }
        Ok(())
    }

    fn insert_membership(
        &mut self,
        membership: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        if self.memberships.contains_key(&membership.id) {
            return Err(StoreError::exists(Entity::Membership, membership.id));
        }
        if let Some(sub) = &membership.provider.subscription_id
            && self
                .memberships
                .values()
                .any(|m| m.provider.subscription_id.as_ref() == Some(sub))
        {
            return Err(StoreError::exists(Entity::Membership, sub));
        }
        let mine = self.memberships_where(|m| m.user_id == membership.user_id);
        let slot = claim_slot(&mine, membership, now, grace);
        for lapsed in slot.lapsed {
            self.memberships.insert(lapsed.id, lapsed);
        }
        if let Some(holder) = slot.held_by {
            return Err(StoreError::exists(
                Entity::Membership,
                format!("{} holds {holder}", membership.user_id),
            ));
        }
        self.memberships.insert(membership.id, membership.clone());
        Ok(())
    }

    fn update_membership(
        &mut self,
        membership: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()> {
        let stored = self.membership(membership.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Membership,
                membership.id,
                REVISION_MOVED,
            ));
        }
        let mut next = membership.clone();
        // Within one period the store's count of downloads is the truth; a
        // new period (a renewal) brings its own, reset quota.
        if next.period.start == stored.period.start {
            next.quota.used = stored.quota.used;
        }
        self.memberships.insert(next.id, next);
        Ok(())
    }

    fn memberships_where(&self, keep: impl Fn(&Membership) -> bool) -> Vec<Membership> {
        let mut found: Vec<&Membership> = self.memberships.values().filter(|m| keep(m)).collect();
        found.sort_by(|a, b| newest_first((a.created_at, a.id), (b.created_at, b.id)));
        found.into_iter().cloned().collect()
    }

    /// Checks a download's charge: the entitlement exists, is still in the
    /// state the decision saw, and has room.
    fn check_charge(&self, charge: &Charge) -> StoreResult<()> {
        let held = match *charge {
            Charge::Nothing => None,
            Charge::Purchase { id, .. } => self.purchases.get(&id).map(|p| Charged::Purchase {
                status: p.status,
                used: p.quota.used,
            }),
            Charge::Membership { id, .. } => {
                self.memberships.get(&id).map(|m| Charged::Membership {
                    status: m.status,
                    period_start: m.period.start,
                    used: m.quota.used,
                })
            }
        };
        charge.verdict(held)
    }

    fn record_download(
        &mut self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        let category = self.workflow(download.workflow_id)?.content.category_id;
        match self.files.get(&download.file_id) {
            Some(f) if f.workflow_id == download.workflow_id => {}
            // A file of another workflow is not a file of this one.
            _ => return Err(StoreError::not_found(Entity::File, download.file_id)),
        }
        if self.downloads.contains_key(&download.id) {
            return Err(StoreError::exists(Entity::Download, download.id));
        }
        self.check_analytics([analytics])?;
        self.check_charge(charge)?;

        let quota = match *charge {
            Charge::Nothing => None,
            Charge::Purchase { id, .. } => self.purchases.get_mut(&id).map(|p| &mut p.quota),
            Charge::Membership { id, .. } => self.memberships.get_mut(&id).map(|m| &mut m.quota),
        };
        if let Some(q) = quota {
            q.used = q.used.saturating_add(1);
        }
        if let Some(w) = self.workflows.get_mut(&download.workflow_id) {
            w.stats.download_count = w.stats.download_count.saturating_add(1);
        }
        if let Some(f) = self.files.get_mut(&download.file_id) {
            f.download_count = f.download_count.saturating_add(1);
        }
        if let Some(c) = self.categories.get_mut(&category) {
            c.total_downloads = c.total_downloads.saturating_add(1);
        }
        self.downloads.insert(download.id, download.clone());
        self.apply_analytics(analytics)?;
        Ok(())
    }

    fn downloads_where(&self, keep: impl Fn(&Download) -> bool, limit: u32) -> Vec<Download> {
        let mut found: Vec<&Download> = self.downloads.values().filter(|d| keep(d)).collect();
        found.sort_by(|a, b| newest_first((a.downloaded_at, a.id), (b.downloaded_at, b.id)));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        found.into_iter().take(limit).cloned().collect()
    }

    // ---- community ----------------------------------------------------

    fn review(&self, id: ReviewId) -> StoreResult<&Review> {
        self.reviews
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Review, id))
    }

    fn review_by(&self, workflow: WorkflowId, user: &UserId) -> Option<&Review> {
        self.reviews
            .values()
            .find(|r| r.workflow_id == workflow && r.user_id == *user)
    }

    /// The workflow's rating after `delta`; `Conflict` when the delta was
    /// computed against review states the aggregate does not contain.
    fn rated(&self, workflow: WorkflowId, delta: &RatingDelta) -> StoreResult<RatingAggregate> {
        self.workflow(workflow)?
            .stats
            .rating
            .apply(delta)
            .map_err(|_| StoreError::conflict(Entity::Workflow, workflow, RATING_MISMATCH))
    }

    fn set_rating(&mut self, workflow: WorkflowId, rating: RatingAggregate) {
        if let Some(w) = self.workflows.get_mut(&workflow) {
            w.stats.rating = rating;
        }
    }

    fn insert_review(
        &mut self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        if self.reviews.contains_key(&review.id) {
            return Err(StoreError::exists(Entity::Review, review.id));
        }
        self.workflow(review.workflow_id)?;
        if self
            .review_by(review.workflow_id, &review.user_id)
            .is_some()
        {
            return Err(StoreError::exists(
                Entity::Review,
                format!("{}/{}", review.workflow_id, review.user_id),
            ));
        }
        let rating = self.rated(review.workflow_id, delta)?;
        self.check_analytics(analytics)?;

        self.set_rating(review.workflow_id, rating);
        self.reviews.insert(review.id, review.clone());
        if let Some(d) = analytics {
            self.apply_analytics(d)?;
        }
        Ok(())
    }

    fn update_review(
        &mut self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        let stored = self.review(review.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Review,
                review.id,
                REVISION_MOVED,
            ));
        }
        let rating = self.rated(stored.workflow_id, delta)?;
        self.check_analytics(analytics)?;

        let mut next = review.clone();
        // Its workflow and author are what the review is; one delta cannot
        // move it between two aggregates.
        next.workflow_id = stored.workflow_id;
        next.user_id = stored.user_id.clone();
        next.helpful_count = stored.helpful_count;
        next.not_helpful_count = stored.not_helpful_count;
        self.set_rating(next.workflow_id, rating);
        self.reviews.insert(next.id, next);
        if let Some(d) = analytics {
            self.apply_analytics(d)?;
        }
        Ok(())
    }

    fn delete_review(
        &mut self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        let stored = self.review(id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(Entity::Review, id, REVISION_MOVED));
        }
        let workflow = stored.workflow_id;
        let rating = self.rated(workflow, delta)?;

        self.set_rating(workflow, rating);
        self.reviews.remove(&id);
        self.votes.retain(|(review, _), _| *review != id);
        Ok(())
    }

    fn set_vote(
        &mut self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        self.review(review)?;
        let key = (review, user.clone());
        let previous = match vote {
            Some(v) => self.votes.insert(key, v),
            None => self.votes.remove(&key),
        };
        if let Some(r) = self.reviews.get_mut(&review) {
            if let Some(p) = previous {
                let count = vote_count(r, p);
                *count = count.saturating_sub(1);
            }
            if let Some(v) = vote {
                let count = vote_count(r, v);
                *count = count.saturating_add(1);
            }
        }
        Ok(previous)
    }

    fn insert_favorite(
        &mut self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.workflow(favorite.workflow_id)?;
        let key = (favorite.user_id.clone(), favorite.workflow_id);
        if self.favorites.contains_key(&key) {
            return Err(StoreError::exists(
                Entity::Favorite,
                format!("{}/{}", favorite.user_id, favorite.workflow_id),
            ));
        }
        self.check_analytics([analytics])?;

        self.favorites.insert(key, favorite.clone());
        if let Some(w) = self.workflows.get_mut(&favorite.workflow_id) {
            w.stats.favorite_count = w.stats.favorite_count.saturating_add(1);
        }
        self.apply_analytics(analytics)?;
        Ok(())
    }

    fn delete_favorite(&mut self, user: &UserId, workflow: WorkflowId) -> bool {
        if self.favorites.remove(&(user.clone(), workflow)).is_none() {
            return false;
        }
        if let Some(w) = self.workflows.get_mut(&workflow) {
            w.stats.favorite_count = w.stats.favorite_count.saturating_sub(1);
        }
        true
    }

    fn update_favorite(&mut self, favorite: &Favorite) -> StoreResult<()> {
        let key = (favorite.user_id.clone(), favorite.workflow_id);
        let stored = self.favorites.get_mut(&key).ok_or_else(|| {
            StoreError::not_found(
                Entity::Favorite,
                format!("{}/{}", favorite.user_id, favorite.workflow_id),
            )
        })?;
        stored.note.clone_from(&favorite.note);
        stored.tags.clone_from(&favorite.tags);
        Ok(())
    }

    fn favorites_for_user(&self, user: &UserId, tag: Option<&Tag>) -> Vec<Favorite> {
        let mut found: Vec<&Favorite> = self
            .favorites
            .values()
            .filter(|f| f.user_id == *user && tag.is_none_or(|t| f.carries(t)))
            .collect();
        found.sort_by(|a, b| {
            newest_first((a.created_at, a.workflow_id), (b.created_at, b.workflow_id))
        });
        found.into_iter().cloned().collect()
    }

    // ---- analytics ----------------------------------------------------

    /// Checks that `deltas`, applied in order, can be: every workflow exists
    /// and each day's row takes its deltas by vault-core's rules
    /// ([`DailyAnalytics::apply`]: one currency per day, amounts in range),
    /// so a write is refused before anything of it is applied.
    fn check_analytics<'a, I>(&self, deltas: I) -> StoreResult<()>
    where
        I: IntoIterator<Item = &'a AnalyticsDelta>,
    {
        let mut rows: BTreeMap<(WorkflowId, NaiveDate), DailyAnalytics> = BTreeMap::new();
        for d in deltas {
            self.workflow(d.workflow_id)?;
            let key = (d.workflow_id, d.date);
            match rows.entry(key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(
                    self.analytics
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| DailyAnalytics::empty(d.workflow_id, d.date)),
                ),
            }
            .apply(d)?;
        }
        Ok(())
    }

    /// Applies a checked delta to its day's row, the unique visitor set and
    /// the workflow's view count.
    fn apply_analytics(&mut self, delta: &AnalyticsDelta) -> StoreResult<()> {
        let (workflow, date) = (delta.workflow_id, delta.date);
        let delta = match &delta.visitor {
            // A known visitor counts once per workflow and day, whatever the
            // delta's own `unique_visitors` says.
            Some(visitor) => {
                let first = self.visitors.insert((workflow, date, visitor.clone()));
                Cow::Owned(AnalyticsDelta {
                    unique_visitors: u64::from(first),
                    ..delta.clone()
                })
            }
            None => Cow::Borrowed(delta),
        };
        self.analytics
            .entry((workflow, date))
            .or_insert_with(|| DailyAnalytics::empty(workflow, date))
            .apply(&delta)?;
        if delta.views > 0
            && let Some(w) = self.workflows.get_mut(&workflow)
        {
            w.stats.view_count = w.stats.view_count.saturating_add(delta.views);
        }
        Ok(())
    }

    fn record_analytics(&mut self, delta: &AnalyticsDelta) -> StoreResult<()> {
        self.check_analytics([delta])?;
        self.apply_analytics(delta)?;
        Ok(())
    }

    fn daily_rows(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = &DailyAnalytics> {
        // `BTreeMap::range` panics on an inverted range; that range is empty.
        let bounds = (from <= to).then_some((workflow, from)..=(workflow, to));
        bounds
            .into_iter()
            .flat_map(|r| self.analytics.range(r))
            .map(|(_, row)| row)
    }

    fn stats_row(&self, w: &Workflow) -> WorkflowStatsRow {
        let mut total_revenue = Decimal::ZERO;
        let mut currency = None;
        // Oldest first: the latest day that names a currency wins.
        for row in self.daily_rows(w.id, NaiveDate::MIN, NaiveDate::MAX) {
            total_revenue = total_revenue.saturating_add(row.revenue.saturating_sub(row.refunds));
            currency = row.currency.or(currency);
        }
        WorkflowStatsRow {
            workflow_id: w.id,
            slug: w.content.slug.clone(),
            title: w.content.title.clone(),
            status: w.status,
            pricing_tier: w.content.pricing_tier,
            category_id: w.content.category_id,
            category_name: self
                .categories
                .get(&w.content.category_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            rating: w.stats.rating,
            total_purchases: w.stats.purchase_count,
            total_revenue,
            currency,
            favorite_count: w.stats.favorite_count,
            download_count: w.stats.download_count,
            view_count: w.stats.view_count,
        }
    }

    fn workflow_stats(&self, only: Option<WorkflowId>) -> Vec<WorkflowStatsRow> {
        self.workflows
            .values()
            .filter(|w| only.is_none_or(|id| id == w.id))
            .map(|w| self.stats_row(w))
            .collect()
    }
}

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn insert_category(&self, category: &Category) -> StoreResult<()> {
        self.lock().insert_category(category)
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        Ok(self.lock().categories())
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        Ok(self.lock().categories.get(&id).cloned())
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        Ok(self
            .lock()
            .categories
            .values()
            .find(|c| c.slug == *slug)
            .cloned())
    }

    async fn insert_workflow(&self, workflow: &Workflow) -> StoreResult<()> {
        self.lock().insert_workflow(workflow)
    }

    async fn update_workflow(
        &self,
        workflow: &Workflow,
        expected_revision: u64,
    ) -> StoreResult<()> {
        self.lock().update_workflow(workflow, expected_revision)
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        Ok(self.lock().workflows.get(&id).cloned())
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        Ok(self.lock().workflow_with_slug(slug).cloned())
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        query.validate()?;
        Ok(run_query(query, self.lock().workflows.values()))
    }

    async fn insert_file(&self, file: &WorkflowFile) -> StoreResult<()> {
        self.lock().insert_file(file)
    }

    async fn update_file(&self, file: &WorkflowFile) -> StoreResult<()> {
        self.lock().update_file(file)
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        Ok(self.lock().files.get(&id).cloned())
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        Ok(self.lock().files(workflow))
    }

    async fn insert_update(&self, update: &WorkflowUpdate) -> StoreResult<()> {
        self.lock().insert_update(update)
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        Ok(self.lock().updates(workflow))
    }

    async fn insert_bundle(&self, bundle: &Bundle) -> StoreResult<()> {
        self.lock().insert_bundle(bundle)
    }

    async fn update_bundle(&self, bundle: &Bundle) -> StoreResult<()> {
        self.lock().update_bundle(bundle)
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        Ok(self.lock().bundles.get(&id).cloned())
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        Ok(self.lock().bundle_with_slug(slug).cloned())
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        Ok(self.lock().bundles())
    }
}

#[async_trait]
impl CommerceStore for MemoryStore {
    async fn insert_purchase(&self, purchase: &Purchase) -> StoreResult<()> {
        self.lock().insert_purchase(purchase)
    }

    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>> {
        Ok(self.lock().purchases.get(&id).cloned())
    }

    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>> {
        Ok(self.lock().purchase_with_ref(payment).cloned())
    }

    async fn purchases_for_user(&self, user: &UserId) -> StoreResult<Vec<Purchase>> {
        Ok(self.lock().purchases_of(user, |_| true))
    }

    async fn purchases_covering(
        &self,
        user: &UserId,
        workflow: WorkflowId,
    ) -> StoreResult<Vec<Purchase>> {
        Ok(self.lock().purchases_of(user, |p| p.item.covers(workflow)))
    }

    async fn settle_purchase(&self, write: &PurchaseWrite) -> StoreResult<()> {
        self.lock().settle_purchase(write)
    }

    async fn insert_membership(
        &self,
        membership: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        self.lock().insert_membership(membership, now, grace)
    }

    async fn update_membership(
        &self,
        membership: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()> {
        self.lock().update_membership(membership, expected_revision)
    }

    async fn membership(&self, id: MembershipId) -> StoreResult<Option<Membership>> {
        Ok(self.lock().memberships.get(&id).cloned())
    }

    async fn membership_by_subscription(
        &self,
        subscription_id: &str,
    ) -> StoreResult<Option<Membership>> {
        if crate::commerce::purchase::ProviderRefs::check_id("subscription_id", subscription_id)
            .is_err()
        {
            return Ok(None);
        }
        Ok(self
            .lock()
            .memberships_where(|m| m.provider.subscription_id.as_deref() == Some(subscription_id))
            .into_iter()
            .next())
    }

    async fn memberships_for_user(&self, user: &UserId) -> StoreResult<Vec<Membership>> {
        Ok(self.lock().memberships_where(|m| m.user_id == *user))
    }

    async fn memberships_with_status(
        &self,
        statuses: &[MembershipStatus],
    ) -> StoreResult<Vec<Membership>> {
        Ok(self
            .lock()
            .memberships
            .values()
            .filter(|m| statuses.contains(&m.status))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl CommunityStore for MemoryStore {
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        self.lock().insert_review(review, delta, analytics)
    }

    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        self.lock()
            .update_review(review, expected_revision, delta, analytics)
    }

    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        self.lock().delete_review(id, expected_revision, delta)
    }

    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>> {
        Ok(self.lock().reviews.get(&id).cloned())
    }

    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>> {
        Ok(self.lock().review_by(workflow, user).cloned())
    }

    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>> {
        Ok(self
            .lock()
            .reviews
            .values()
            .filter(|r| {
                r.workflow_id == workflow && (statuses.is_empty() || statuses.contains(&r.status))
            })
            .cloned()
            .collect())
    }

    async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        self.lock().set_vote(review, user, vote)
    }

    async fn insert_favorite(
        &self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.lock().insert_favorite(favorite, analytics)
    }

    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        Ok(self.lock().delete_favorite(user, workflow))
    }

    async fn update_favorite(&self, favorite: &Favorite) -> StoreResult<()> {
        self.lock().update_favorite(favorite)
    }

    async fn favorites_for_user(
        &self,
        user: &UserId,
        tag: Option<&Tag>,
    ) -> StoreResult<Vec<Favorite>> {
        Ok(self.lock().favorites_for_user(user, tag))
    }
}

/// The default: each read takes the lock on its own, like any backend's
/// separate calls; the conformance suite holds other backends' one-call
/// overrides to it.
#[async_trait]
impl DeliveryStore for MemoryStore {
    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.lock().record_download(download, charge, analytics)
    }

    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>> {
        Ok(self
            .lock()
            .downloads_where(|d| d.user_id.as_ref() == Some(user), limit))
    }

    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>> {
        Ok(self
            .lock()
            .downloads_where(|d| d.workflow_id == workflow, limit))
    }

    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        Ok(self
            .lock()
            .downloads
            .values()
            .any(|d| d.workflow_id == workflow && d.user_id.as_ref() == Some(user)))
    }
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()> {
        self.lock().record_analytics(delta)
    }

    async fn active_memberships_report(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActiveMembershipRow>> {
        // Keyed by id, so already in id order; no policy grace, as the views.
        Ok(self
            .lock()
            .memberships
            .values()
            .filter_map(|m| ActiveMembershipRow::of(m, now, Duration::zero()))
            .collect())
    }

    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>> {
        crate::insight::analytics::check_days(from, to)?;
        Ok(self
            .lock()
            .daily_rows(workflow, from, to)
            .cloned()
            .collect())
    }

    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>> {
        Ok(self.lock().workflow_stats(workflow))
    }
}

mod webhooks;

#[cfg(test)]
mod tests {
    //! What only this store has: its lock, its `Debug`, and a counter state
    //! no call of the storage traits can produce. Everything every backend
    //! shares is a conformance case (`crate::testkit`, the `store_*` cases
    //! for the traits called directly), run on this store by
    //! `tests/conformance_memory.rs`.

    use super::*;
    use crate::catalog::workflow::WorkflowStatus;

    use std::sync::Arc;

    use uuid::Uuid;

    use crate::catalog::category::NewCategory;
    use crate::catalog::wedge::Wedge;
    use crate::catalog::workflow::{Media, Seo, WorkflowContent};
    use crate::value::money::{Currency, Money};
    use crate::value::tier::PricingTier;

    fn t(day: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000 + day)
    }

    fn wf_id(n: u128) -> WorkflowId {
        WorkflowId::from_uuid(Uuid::from_u128(n))
    }

    fn category(n: u128, slug: &str) -> Category {
        NewCategory {
            slug: Slug::parse(slug).unwrap(),
            name: format!("Category {n}"),
            description: String::new(),
            icon: String::new(),
            color: String::new(),
            order_index: n as i32,
        }
        .build(CategoryId::from_uuid(Uuid::from_u128(n)), t(0))
        .unwrap()
    }

    fn workflow(n: u128, slug: &str, category: u128, status: WorkflowStatus) -> Workflow {
        let content = WorkflowContent {
            slug: Slug::parse(slug).unwrap(),
            title: format!("Workflow {n}"),
            short_description: String::new(),
            description: String::new(),
            category_id: CategoryId::from_uuid(Uuid::from_u128(category)),
            wedge: Wedge::default(),
            pricing_tier: PricingTier::Pro,
            price: Some(Money::from_minor(4900, Currency::USD)),
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

    /// Category 1 (`ops`) and 2 (`growth`); workflow 10 published and 11
    /// draft, both in category 1.
    async fn catalog() -> MemoryStore {
        let store = MemoryStore::new();
        store.insert_category(&category(1, "ops")).await.unwrap();
        store.insert_category(&category(2, "growth")).await.unwrap();
        store
            .insert_workflow(&workflow(10, "lead-capture", 1, WorkflowStatus::Published))
            .await
            .unwrap();
        store
            .insert_workflow(&workflow(11, "invoice-chaser", 1, WorkflowStatus::Draft))
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn debug_shows_counts_not_contents() {
        let store = catalog().await;
        let shown = format!("{store:?}");
        assert!(shown.contains("workflows: 2"), "{shown}");
        assert!(!shown.contains("lead-capture"), "{shown}");
        let guard = store.lock();
        assert!(format!("{store:?}").contains("<locked>"));
        drop(guard);
    }

    #[tokio::test]
    async fn a_poisoned_lock_is_recovered() {
        let store = Arc::new(catalog().await);
        let holder = Arc::clone(&store);
        let crashed = std::thread::spawn(move || {
            let _guard = holder.lock();
            panic!("a panic while holding the lock");
        })
        .join();
        assert!(crashed.is_err());
        assert!(store.state.is_poisoned());
        assert_eq!(store.categories().await.unwrap().len(), 2);
        store
            .insert_workflow(&workflow(12, "after", 2, WorkflowStatus::Published))
            .await
            .unwrap();
        assert!(format!("{store:?}").contains("workflows: 3"));
    }

    /// A favorite count below the favorites it counts (drift no trait call
    /// can cause: counts move only with the favorites) never goes below
    /// zero when one of them is deleted.
    #[tokio::test]
    async fn a_drifted_favorite_count_stays_at_zero() {
        let store = catalog().await;
        let bob = UserId::parse("bob").unwrap();
        let favorite = Favorite {
            user_id: bob.clone(),
            workflow_id: wf_id(10),
            note: None,
            tags: vec![],
            created_at: t(3),
        };
        store
            .insert_favorite(&favorite, &AnalyticsDelta::none(wf_id(10), t(3)))
            .await
            .unwrap();
        let favorites =
            |store: &MemoryStore| store.lock().workflows[&wf_id(10)].stats.favorite_count;
        assert_eq!(favorites(&store), 1);
        store
            .lock()
            .workflows
            .get_mut(&wf_id(10))
            .unwrap()
            .stats
            .favorite_count = 0;
        assert!(store.delete_favorite(&bob, wf_id(10)).await.unwrap());
        assert_eq!(favorites(&store), 0);
    }
}

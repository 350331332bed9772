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
use crate::insight::analytics::{AnalyticsDelta, DailyAnalytics, VisitorKey, WorkflowStatsRow};
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

    fn favorites_for_user(&self, user: &UserId) -> Vec<Favorite> {
        let mut found: Vec<&Favorite> = self
            .favorites
            .values()
            .filter(|f| f.user_id == *user)
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

    async fn favorites_for_user(&self, user: &UserId) -> StoreResult<Vec<Favorite>> {
        Ok(self.lock().favorites_for_user(user))
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
    use super::*;
    use crate::catalog::workflow::WorkflowStatus;

    use uuid::Uuid;

    use std::sync::Arc;

    use crate::catalog::bundle::NewBundle;
    use crate::catalog::category::NewCategory;
    use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
    use crate::catalog::query::{Cursor, WorkflowSort};
    use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
    use crate::catalog::wedge::Wedge;
    use crate::catalog::workflow::{Media, Seo, WorkflowContent};
    use crate::commerce::license::{LicenseKey, LicenseType};
    use crate::commerce::membership::{MembershipEvent, NewMembership, Period};
    use crate::commerce::purchase::{NewPurchase, PaymentStatus, ProviderRefs};
    use crate::community::rating::{DimensionRatings, Rating};
    use crate::community::review::ReviewInput;
    use crate::delivery::download::{DownloadKind, DownloadSource, RequestMeta};
    use crate::value::clock::SeededEntropy;
    use crate::value::money::{Currency, Money};
    use crate::value::tier::PricingTier;
    use crate::value::version::Version;

    // ---- fixtures -----------------------------------------------------

    fn t(day: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000 + day)
    }

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    fn slug(s: &str) -> Slug {
        Slug::parse(s).unwrap()
    }

    fn cat_id(n: u128) -> CategoryId {
        CategoryId::from_uuid(Uuid::from_u128(n))
    }

    fn wf_id(n: u128) -> WorkflowId {
        WorkflowId::from_uuid(Uuid::from_u128(n))
    }

    fn file_id(n: u128) -> FileId {
        FileId::from_uuid(Uuid::from_u128(n))
    }

    fn bundle_id(n: u128) -> BundleId {
        BundleId::from_uuid(Uuid::from_u128(n))
    }

    fn category(n: u128, s: &str, order_index: i32) -> Category {
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

    fn workflow(n: u128, s: &str, category: u128, status: WorkflowStatus) -> Workflow {
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

    fn file(n: u128, workflow: u128, version: Version, primary: bool) -> WorkflowFile {
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

    fn update(n: u128, workflow: u128, version: Version) -> WorkflowUpdate {
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

    fn bundle(n: u128, s: &str, members: &[u128]) -> Bundle {
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
    async fn catalog() -> MemoryStore {
        let store = MemoryStore::new();
        store.insert_category(&category(1, "ops", 1)).await.unwrap();
        store
            .insert_category(&category(2, "growth", 2))
            .await
            .unwrap();
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

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn delta(workflow: u128, day: i64) -> AnalyticsDelta {
        AnalyticsDelta::none(wf_id(workflow), t(day))
    }

    fn day(d: i64) -> NaiveDate {
        t(d).date_naive()
    }

    fn purchase_id(n: u128) -> PurchaseId {
        PurchaseId::from_uuid(Uuid::from_u128(n))
    }

    fn membership_id(n: u128) -> MembershipId {
        MembershipId::from_uuid(Uuid::from_u128(n))
    }

    fn download_id(n: u128) -> DownloadId {
        DownloadId::from_uuid(Uuid::from_u128(n))
    }

    fn pay(s: &str) -> PaymentRef {
        PaymentRef::parse(s).unwrap()
    }

    fn direct(workflow: u128) -> PurchaseItem {
        PurchaseItem::Workflow {
            workflow_id: wf_id(workflow),
        }
    }

    fn of_bundle(bundle: u128, members: &[u128]) -> PurchaseItem {
        PurchaseItem::Bundle {
            bundle_id: bundle_id(bundle),
            members: members.iter().map(|m| wf_id(*m)).collect(),
        }
    }

    /// A pending purchase created on `day`.
    fn purchase(n: u128, who: &str, item: PurchaseItem, limit: Option<u32>, day: i64) -> Purchase {
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
            LicenseKey::generate(&SeededEntropy::new(n as u64)),
            t(day),
        )
        .unwrap()
    }

    fn completed(mut p: Purchase, payment: &str) -> Purchase {
        p.complete(pay(payment), t(5)).unwrap();
        p
    }

    /// An active membership whose 30-day period starts on `day`.
    fn membership(n: u128, who: &str, day: i64, limit: Option<u32>) -> Membership {
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

    fn download(n: u128, who: Option<&str>, workflow: u128, file: u128, day: i64) -> Download {
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

    /// The catalog plus file 1 (of workflow 10), file 2 (of 11) and bundle
    /// 1 of both workflows.
    async fn shop() -> MemoryStore {
        let store = catalog().await;
        store
            .insert_file(&file(1, 10, Version::new(1, 0, 0), true))
            .await
            .unwrap();
        store
            .insert_file(&file(2, 11, Version::new(1, 0, 0), true))
            .await
            .unwrap();
        store
            .insert_bundle(&bundle(1, "starter", &[10, 11]))
            .await
            .unwrap();
        store
    }

    fn review_id(n: u128) -> ReviewId {
        ReviewId::from_uuid(Uuid::from_u128(n))
    }

    fn review(n: u128, workflow: u128, who: &str, stars: u8, status: ModerationStatus) -> Review {
        Review {
            id: review_id(n),
            workflow_id: wf_id(workflow),
            user_id: user(who),
            input: ReviewInput {
                rating: Rating::new(stars).unwrap(),
                dimensions: DimensionRatings::default(),
                title: "Saves hours".into(),
                body: String::new(),
            },
            verified_purchase: true,
            helpful_count: 0,
            not_helpful_count: 0,
            status,
            moderated_by: None,
            moderated_at: None,
            moderation_note: None,
            created_at: t(1),
            updated_at: t(1),
            revision: 0,
        }
    }

    fn rating_change(old: Option<&Review>, new: Option<&Review>) -> RatingDelta {
        RatingDelta::between(
            old.and_then(Review::contribution).as_ref(),
            new.and_then(Review::contribution).as_ref(),
        )
    }

    async fn rating(store: &MemoryStore, workflow: u128) -> RatingAggregate {
        store
            .workflow(wf_id(workflow))
            .await
            .unwrap()
            .unwrap()
            .stats
            .rating
    }

    fn favorite(who: &str, workflow: u128, day: i64) -> Favorite {
        Favorite {
            user_id: user(who),
            workflow_id: wf_id(workflow),
            note: None,
            tags: vec![],
            created_at: t(day),
        }
    }

    fn snapshot(store: &MemoryStore) -> State {
        store.lock().clone()
    }

    async fn workflow_count(store: &MemoryStore, category: u128) -> u64 {
        store
            .category(cat_id(category))
            .await
            .unwrap()
            .unwrap()
            .workflow_count
    }

    /// The kind and entity of a failure, for tables of refused calls.
    fn failure<T>(result: &StoreResult<T>) -> Option<(&'static str, Entity)> {
        match result {
            Err(StoreError::NotFound { entity, .. }) => Some(("not found", *entity)),
            Err(StoreError::AlreadyExists { entity, .. }) => Some(("exists", *entity)),
            Err(StoreError::Conflict { entity, .. }) => Some(("conflict", *entity)),
            Err(StoreError::LimitReached { entity, .. }) => Some(("limit", *entity)),
            _ => None,
        }
    }

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

    // ---- catalog tests ------------------------------------------------

    #[tokio::test]
    async fn categories_are_unique_and_ordered() {
        let store = MemoryStore::new();
        store.insert_category(&category(1, "b", 2)).await.unwrap();
        store.insert_category(&category(2, "z", 1)).await.unwrap();
        store.insert_category(&category(3, "a", 2)).await.unwrap();
        let before = snapshot(&store);
        assert_err!(
            store.insert_category(&category(1, "other", 0)).await,
            StoreError::AlreadyExists {
                entity: Entity::Category,
                ..
            }
        );
        assert_err!(
            store.insert_category(&category(4, "a", 0)).await,
            StoreError::AlreadyExists {
                entity: Entity::Category,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let order: Vec<CategoryId> = store
            .categories()
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(order, vec![cat_id(2), cat_id(3), cat_id(1)]);
        assert_eq!(
            store.category_by_slug(&slug("z")).await.unwrap(),
            Some(category(2, "z", 1))
        );
        assert_eq!(store.category(cat_id(9)).await.unwrap(), None);
        assert_eq!(store.category_by_slug(&slug("nope")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn insert_workflow_checks_uniqueness_and_category_and_counts_published() {
        let store = catalog().await;
        assert_eq!(workflow_count(&store, 1).await, 1);
        let before = snapshot(&store);
        assert_err!(
            store
                .insert_workflow(&workflow(10, "fresh", 1, WorkflowStatus::Published))
                .await,
            StoreError::AlreadyExists {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_err!(
            store
                .insert_workflow(&workflow(12, "lead-capture", 1, WorkflowStatus::Published))
                .await,
            StoreError::AlreadyExists {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_err!(
            store
                .insert_workflow(&workflow(12, "fresh", 9, WorkflowStatus::Published))
                .await,
            StoreError::NotFound {
                entity: Entity::Category,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let mut counted = workflow(12, "fresh", 2, WorkflowStatus::Published);
        counted.stats.download_count = 7;
        store.insert_workflow(&counted).await.unwrap();
        store
            .insert_workflow(&workflow(13, "soon", 2, WorkflowStatus::ComingSoon))
            .await
            .unwrap();
        assert_eq!(workflow_count(&store, 2).await, 1);
        assert_eq!(
            store.workflow(wf_id(12)).await.unwrap(),
            Some(counted.clone())
        );
        assert_eq!(
            store.workflow_by_slug(&slug("fresh")).await.unwrap(),
            Some(counted)
        );
        assert_eq!(store.workflow(wf_id(99)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn update_workflow_is_guarded_and_keeps_counters() {
        let store = catalog().await;
        store
            .insert_workflow(&workflow(12, "taken", 2, WorkflowStatus::Draft))
            .await
            .unwrap();
        {
            // Counters moved by other writes since the editor's read.
            let mut s = store.lock();
            let w = s.workflows.get_mut(&wf_id(10)).unwrap();
            w.stats.download_count = 5;
            w.stats.favorite_count = 2;
        }
        let before = snapshot(&store);

        let mut edit = workflow(10, "lead-capture", 1, WorkflowStatus::Published);
        edit.content.title = "Lead capture v2".into();
        edit.revision = 1;
        edit.updated_at = t(5);
        assert_err!(
            store.update_workflow(&edit, 3).await,
            StoreError::Conflict {
                entity: Entity::Workflow,
                ..
            }
        );
        let mut missing = edit.clone();
        missing.id = wf_id(99);
        missing.content.slug = slug("missing");
        assert_err!(
            store.update_workflow(&missing, 0).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        let mut clash = edit.clone();
        clash.content.slug = slug("taken");
        assert_err!(
            store.update_workflow(&clash, 0).await,
            StoreError::AlreadyExists {
                entity: Entity::Workflow,
                ..
            }
        );
        let mut orphan = edit.clone();
        orphan.content.category_id = cat_id(9);
        assert_err!(
            store.update_workflow(&orphan, 0).await,
            StoreError::NotFound {
                entity: Entity::Category,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        store.update_workflow(&edit, 0).await.unwrap();
        let stored = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(stored.content.title, "Lead capture v2");
        assert_eq!(stored.revision, 1);
        assert_eq!(stored.updated_at, t(5));
        assert_eq!(stored.stats.download_count, 5);
        assert_eq!(stored.stats.favorite_count, 2);
        // The old revision no longer matches.
        assert_err!(
            store.update_workflow(&edit, 0).await,
            StoreError::Conflict { .. }
        );
    }

    #[tokio::test]
    async fn update_workflow_maintains_both_category_counts() {
        let store = catalog().await;
        assert_eq!(
            (
                workflow_count(&store, 1).await,
                workflow_count(&store, 2).await
            ),
            (1, 0)
        );
        // Publish the draft: +1 in its category.
        let mut w11 = store.workflow(wf_id(11)).await.unwrap().unwrap();
        w11.status = WorkflowStatus::Published;
        w11.revision = 1;
        store.update_workflow(&w11, 0).await.unwrap();
        assert_eq!(workflow_count(&store, 1).await, 2);
        // Move it, published, to category 2: -1 there, +1 here.
        w11.content.category_id = cat_id(2);
        w11.revision = 2;
        store.update_workflow(&w11, 1).await.unwrap();
        assert_eq!(
            (
                workflow_count(&store, 1).await,
                workflow_count(&store, 2).await
            ),
            (1, 1)
        );
        // Archive and move back at once: only category 2 loses one.
        w11.content.category_id = cat_id(1);
        w11.status = WorkflowStatus::Archived;
        w11.revision = 3;
        store.update_workflow(&w11, 2).await.unwrap();
        assert_eq!(
            (
                workflow_count(&store, 1).await,
                workflow_count(&store, 2).await
            ),
            (1, 0)
        );
        // An edit that changes neither leaves counts alone.
        let mut w10 = store.workflow(wf_id(10)).await.unwrap().unwrap();
        w10.content.title = "Renamed".into();
        w10.revision = 1;
        store.update_workflow(&w10, 0).await.unwrap();
        assert_eq!(workflow_count(&store, 1).await, 1);
    }

    #[tokio::test]
    async fn list_workflows_follows_query_semantics() {
        let store = catalog().await;
        for n in 12..=14 {
            let mut w = workflow(n, &format!("wf-{n}"), 2, WorkflowStatus::Published);
            w.stats.download_count = n as u64;
            store.insert_workflow(&w).await.unwrap();
        }
        let query = WorkflowQuery {
            sort: WorkflowSort::Downloads,
            limit: 2,
            ..WorkflowQuery::default()
        };
        let page = store.list_workflows(&query).await.unwrap();
        let ids: Vec<WorkflowId> = page.items.iter().map(|w| w.id).collect();
        assert_eq!(ids, vec![wf_id(14), wf_id(13)]);
        let next = page.next.unwrap();
        assert_eq!(next, Cursor::after(&page.items[1], WorkflowSort::Downloads));
        let page = store
            .list_workflows(&WorkflowQuery {
                cursor: Some(next),
                ..query
            })
            .await
            .unwrap();
        let ids: Vec<WorkflowId> = page.items.iter().map(|w| w.id).collect();
        // The draft (11) is not listed.
        assert_eq!(ids, vec![wf_id(12), wf_id(10)]);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn files_keep_one_primary_and_their_download_count() {
        let store = catalog().await;
        let v1 = Version::new(1, 0, 0);
        let v2 = Version::new(2, 0, 0);
        store.insert_file(&file(1, 10, v1, true)).await.unwrap();
        store.insert_file(&file(2, 10, v2, false)).await.unwrap();
        store.insert_file(&file(3, 10, v2, false)).await.unwrap();
        store.insert_file(&file(4, 11, v1, true)).await.unwrap();
        let before = snapshot(&store);
        assert_err!(
            store.insert_file(&file(1, 10, v2, false)).await,
            StoreError::AlreadyExists {
                entity: Entity::File,
                ..
            }
        );
        assert_err!(
            store.insert_file(&file(5, 99, v1, true)).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_err!(
            store.update_file(&file(5, 10, v1, true)).await,
            StoreError::NotFound {
                entity: Entity::File,
                ..
            }
        );
        assert_err!(
            store.update_file(&file(2, 99, v1, true)).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let ids = |files: Vec<WorkflowFile>| files.iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.files(wf_id(10)).await.unwrap()),
            vec![file_id(1), file_id(2), file_id(3)]
        );

        // A new primary demotes the old one, in this workflow only.
        store.insert_file(&file(6, 10, v1, true)).await.unwrap();
        assert!(!store.file(file_id(1)).await.unwrap().unwrap().is_primary);
        assert!(store.file(file_id(4)).await.unwrap().unwrap().is_primary);
        assert_eq!(
            ids(store.files(wf_id(10)).await.unwrap()),
            vec![file_id(6), file_id(2), file_id(3), file_id(1)]
        );

        // Updating keeps the stored download count and applies the rule.
        store
            .lock()
            .files
            .get_mut(&file_id(3))
            .unwrap()
            .download_count = 4;
        let mut edit = file(3, 10, v2, true);
        edit.file_name = "renamed.json".into();
        edit.download_count = 0;
        store.update_file(&edit).await.unwrap();
        let stored = store.file(file_id(3)).await.unwrap().unwrap();
        assert_eq!(stored.file_name, "renamed.json");
        assert_eq!(stored.download_count, 4);
        assert!(!store.file(file_id(6)).await.unwrap().unwrap().is_primary);
        let primaries = store
            .files(wf_id(10))
            .await
            .unwrap()
            .iter()
            .filter(|f| f.is_primary)
            .count();
        assert_eq!(primaries, 1);
        assert_eq!(store.file(file_id(99)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn updates_only_move_forward_and_set_the_current_version() {
        let store = catalog().await;
        store
            .insert_update(&update(1, 10, Version::new(1, 0, 0)))
            .await
            .unwrap();
        store
            .insert_update(&update(2, 10, Version::new(1, 2, 0)))
            .await
            .unwrap();
        // Another workflow's history is separate.
        store
            .insert_update(&update(3, 11, Version::new(1, 0, 0)))
            .await
            .unwrap();
        let before = snapshot(&store);
        for (n, v) in [(4, Version::new(1, 2, 0)), (5, Version::new(1, 1, 0))] {
            assert_err!(
                store.insert_update(&update(n, 10, v)).await,
                StoreError::Conflict {
                    entity: Entity::Update,
                    ..
                }
            );
        }
        assert_err!(
            store
                .insert_update(&update(1, 10, Version::new(3, 0, 0)))
                .await,
            StoreError::AlreadyExists {
                entity: Entity::Update,
                ..
            }
        );
        assert_err!(
            store
                .insert_update(&update(6, 99, Version::new(1, 0, 0)))
                .await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        store
            .insert_update(&update(7, 10, Version::new(1, 10, 0)))
            .await
            .unwrap();
        let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(w.current_version, Some(Version::new(1, 10, 0)));
        let versions: Vec<Version> = store
            .updates(wf_id(10))
            .await
            .unwrap()
            .iter()
            .map(|u| u.version)
            .collect();
        assert_eq!(
            versions,
            vec![
                Version::new(1, 0, 0),
                Version::new(1, 2, 0),
                Version::new(1, 10, 0)
            ]
        );
    }

    #[tokio::test]
    async fn bundles_check_members_and_keep_purchase_count() {
        let store = catalog().await;
        store
            .insert_bundle(&bundle(1, "starter", &[10, 11]))
            .await
            .unwrap();
        store
            .insert_bundle(&bundle(2, "agency", &[10, 11]))
            .await
            .unwrap();
        let before = snapshot(&store);
        assert_err!(
            store.insert_bundle(&bundle(1, "other", &[10, 11])).await,
            StoreError::AlreadyExists {
                entity: Entity::Bundle,
                ..
            }
        );
        assert_err!(
            store.insert_bundle(&bundle(3, "starter", &[10, 11])).await,
            StoreError::AlreadyExists {
                entity: Entity::Bundle,
                ..
            }
        );
        assert_err!(
            store.insert_bundle(&bundle(3, "third", &[10, 99])).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_err!(
            store.update_bundle(&bundle(3, "third", &[10, 11])).await,
            StoreError::NotFound {
                entity: Entity::Bundle,
                ..
            }
        );
        assert_err!(
            store.update_bundle(&bundle(1, "agency", &[10, 11])).await,
            StoreError::AlreadyExists {
                entity: Entity::Bundle,
                ..
            }
        );
        assert_err!(
            store.update_bundle(&bundle(1, "starter", &[10, 99])).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        store
            .lock()
            .bundles
            .get_mut(&bundle_id(1))
            .unwrap()
            .purchase_count = 3;
        let mut edit = bundle(1, "starter-kit", &[11, 10]);
        edit.is_active = false;
        store.update_bundle(&edit).await.unwrap();
        let stored = store.bundle(bundle_id(1)).await.unwrap().unwrap();
        assert_eq!(stored.purchase_count, 3);
        assert!(!stored.is_active);
        assert_eq!(stored.workflow_ids, vec![wf_id(11), wf_id(10)]);
        assert_eq!(
            store.bundle_by_slug(&slug("starter-kit")).await.unwrap(),
            Some(stored)
        );
        assert_eq!(store.bundle_by_slug(&slug("starter")).await.unwrap(), None);
        let slugs: Vec<String> = store
            .bundles()
            .await
            .unwrap()
            .iter()
            .map(|b| b.slug.to_string())
            .collect();
        assert_eq!(slugs, vec!["agency", "starter-kit"]);
    }

    // ---- analytics tests ----------------------------------------------

    #[tokio::test]
    async fn record_analytics_fills_daily_rows_and_view_counts() {
        let store = catalog().await;
        let before = snapshot(&store);
        assert_err!(
            store.record_analytics(&delta(99, 0)).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let mut view = delta(10, 0);
        view.views = 1;
        view.traffic_source = Some("google.com".into());
        store.record_analytics(&view).await.unwrap();
        store.record_analytics(&view).await.unwrap();
        let mut sale = delta(10, 0);
        sale.purchases = 1;
        sale.revenue = Decimal::new(4900, 2);
        sale.currency = Some(Currency::USD);
        store.record_analytics(&sale).await.unwrap();
        // A delta without views creates its row but leaves view_count alone.
        store.record_analytics(&delta(10, 2)).await.unwrap();

        let rows = store.analytics(wf_id(10), day(0), day(2)).await.unwrap();
        assert_eq!(rows.len(), 2);
        let first = &rows[0];
        assert_eq!((first.date, first.views, first.purchases), (day(0), 2, 1));
        assert_eq!(first.revenue, Decimal::new(4900, 2));
        assert_eq!(first.traffic_sources.get("google.com"), Some(&2));
        assert_eq!(rows[1], DailyAnalytics::empty(wf_id(10), day(2)));
        let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(w.stats.view_count, 2);
        // Counters do not touch the workflow's timestamps.
        assert_eq!(
            w.updated_at,
            workflow(10, "x", 1, WorkflowStatus::Draft).updated_at
        );
    }

    #[tokio::test]
    async fn a_visitor_is_unique_once_per_workflow_and_day() {
        let store = catalog().await;
        let seen = |wf: u128, d: i64, who: &str| {
            let mut v = delta(wf, d);
            v.views = 1;
            // Ignored when a visitor is named: the store decides.
            v.unique_visitors = 5;
            v.visitor = Some(VisitorKey::User(user(who)));
            v
        };
        store.record_analytics(&seen(10, 0, "ann")).await.unwrap();
        store.record_analytics(&seen(10, 0, "ann")).await.unwrap();
        store.record_analytics(&seen(10, 0, "bob")).await.unwrap();
        store.record_analytics(&seen(10, 1, "ann")).await.unwrap();
        store.record_analytics(&seen(11, 0, "ann")).await.unwrap();
        // Without a visitor key the delta's own count is added.
        let mut anonymous = delta(10, 0);
        anonymous.unique_visitors = 3;
        store.record_analytics(&anonymous).await.unwrap();

        let unique = |rows: Vec<DailyAnalytics>| {
            rows.iter()
                .map(|r| (r.views, r.unique_visitors))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            unique(store.analytics(wf_id(10), day(0), day(1)).await.unwrap()),
            vec![(3, 5), (1, 1)]
        );
        assert_eq!(
            unique(store.analytics(wf_id(11), day(0), day(0)).await.unwrap()),
            vec![(1, 1)]
        );
    }

    #[tokio::test]
    async fn analytics_ranges_are_inclusive_and_oldest_first() {
        let store = catalog().await;
        for d in [3, 1, 2, 5] {
            store.record_analytics(&delta(10, d)).await.unwrap();
        }
        store.record_analytics(&delta(11, 2)).await.unwrap();
        let dates: Vec<NaiveDate> = store
            .analytics(wf_id(10), day(1), day(3))
            .await
            .unwrap()
            .iter()
            .map(|r| r.date)
            .collect();
        assert_eq!(dates, vec![day(1), day(2), day(3)]);
        assert!(
            store
                .analytics(wf_id(10), day(3), day(1))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .analytics(wf_id(99), day(0), day(9))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn workflow_stats_sum_net_revenue_per_workflow() {
        let store = catalog().await;
        let money = |d: i64, revenue: i64, refunds: i64| {
            let mut m = delta(10, d);
            m.revenue = Decimal::new(revenue, 2);
            m.refunds = Decimal::new(refunds, 2);
            m.currency = Some(Currency::USD);
            m
        };
        store.record_analytics(&money(0, 4900, 0)).await.unwrap();
        store.record_analytics(&money(1, 2900, 4900)).await.unwrap();
        let mut views = delta(10, 2);
        views.views = 4;
        store.record_analytics(&views).await.unwrap();
        {
            let mut s = store.lock();
            let w = s.workflows.get_mut(&wf_id(10)).unwrap();
            w.stats.purchase_count = 2;
            w.stats.download_count = 3;
            w.stats.favorite_count = 1;
        }

        let rows = store.workflow_stats(None).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.workflow_id).collect::<Vec<_>>(),
            vec![wf_id(10), wf_id(11)]
        );
        let r = &rows[0];
        assert_eq!(r.slug, slug("lead-capture"));
        assert_eq!(r.category_name, "Category 1");
        assert_eq!(r.status, WorkflowStatus::Published);
        assert_eq!(r.total_revenue, Decimal::new(2900, 2));
        assert_eq!(r.currency, Some(Currency::USD));
        assert_eq!(
            (
                r.total_purchases,
                r.download_count,
                r.favorite_count,
                r.view_count
            ),
            (2, 3, 1, 4)
        );
        let idle = &rows[1];
        assert_eq!((idle.total_revenue, idle.currency), (Decimal::ZERO, None));

        assert_eq!(
            store.workflow_stats(Some(wf_id(10))).await.unwrap(),
            vec![r.clone()]
        );
        assert!(
            store
                .workflow_stats(Some(wf_id(99)))
                .await
                .unwrap()
                .is_empty()
        );
    }

    // ---- commerce tests -----------------------------------------------

    #[tokio::test]
    async fn purchases_are_unique_and_name_existing_items() {
        let store = shop().await;
        store
            .insert_membership(&membership(1, "ann", 0, None), t(0), Duration::days(3))
            .await
            .unwrap();
        let p1 = purchase(1, "ann", direct(10), Some(5), 1);
        let p2 = completed(purchase(2, "ann", of_bundle(1, &[10, 11]), None, 2), "pi_2");
        let p3 = purchase(
            3,
            "ann",
            PurchaseItem::MembershipIncluded {
                workflow_id: wf_id(11),
                membership_id: membership_id(1),
            },
            None,
            3,
        );
        let p4 = purchase(4, "bob", direct(10), None, 4);
        for p in [&p1, &p2, &p3, &p4] {
            store.insert_purchase(p).await.unwrap();
        }
        let before = snapshot(&store);
        assert_err!(
            store.insert_purchase(&p1).await,
            StoreError::AlreadyExists {
                entity: Entity::Purchase,
                ..
            }
        );
        let reused = completed(purchase(5, "bob", direct(11), None, 5), "pi_2");
        assert_err!(
            store.insert_purchase(&reused).await,
            StoreError::AlreadyExists {
                entity: Entity::Purchase,
                ..
            }
        );
        for (item, entity) in [
            (direct(99), Entity::Workflow),
            (of_bundle(9, &[10, 11]), Entity::Bundle),
            (of_bundle(1, &[10, 99]), Entity::Workflow),
            (
                PurchaseItem::MembershipIncluded {
                    workflow_id: wf_id(10),
                    membership_id: membership_id(9),
                },
                Entity::Membership,
            ),
        ] {
            let result = store
                .insert_purchase(&purchase(6, "bob", item, None, 6))
                .await;
            assert_eq!(failure(&result), Some(("not found", entity)), "{result:?}");
        }
        assert_eq!(snapshot(&store), before);

        assert_eq!(
            store.purchase(purchase_id(1)).await.unwrap(),
            Some(p1.clone())
        );
        assert_eq!(store.purchase(purchase_id(9)).await.unwrap(), None);
        assert_eq!(
            store.purchase_by_payment_ref(&pay("pi_2")).await.unwrap(),
            Some(p2.clone())
        );
        assert_eq!(
            store.purchase_by_payment_ref(&pay("pi_x")).await.unwrap(),
            None
        );
        let ids = |ps: Vec<Purchase>| ps.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.purchases_for_user(&user("ann")).await.unwrap()),
            vec![purchase_id(3), purchase_id(2), purchase_id(1)]
        );
        assert_eq!(
            ids(store
                .purchases_covering(&user("ann"), wf_id(10))
                .await
                .unwrap()),
            vec![purchase_id(2), purchase_id(1)]
        );
        assert_eq!(
            ids(store
                .purchases_covering(&user("ann"), wf_id(11))
                .await
                .unwrap()),
            vec![purchase_id(3), purchase_id(2)]
        );
        assert!(
            store
                .purchases_covering(&user("bob"), wf_id(11))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn settle_purchase_is_guarded_and_counts_once() {
        let store = shop().await;
        let pending = purchase(1, "ann", of_bundle(1, &[10, 11]), Some(3), 1);
        store.insert_purchase(&pending).await.unwrap();
        store
            .insert_purchase(&completed(
                purchase(2, "bob", direct(10), None, 1),
                "pi_taken",
            ))
            .await
            .unwrap();
        let mut sale = delta(10, 5);
        sale.purchases = 1;
        sale.revenue = Decimal::new(2450, 2);
        sale.currency = Some(Currency::USD);
        let mut sale_11 = sale.clone();
        sale_11.workflow_id = wf_id(11);
        let write = PurchaseWrite {
            purchase: completed(pending.clone(), "pi_1"),
            expected_status: PaymentStatus::Pending,
            expected_refunded: None,
            expected_dispute: None,
            count_purchase: true,
            analytics: vec![sale.clone(), sale_11],
        };
        // A day whose revenue cannot grow any further.
        store
            .lock()
            .analytics
            .entry((wf_id(11), day(6)))
            .or_insert_with(|| DailyAnalytics::empty(wf_id(11), day(6)))
            .revenue = Decimal::MAX;
        let before = snapshot(&store);

        let mut missing = write.clone();
        missing.purchase.id = purchase_id(9);
        assert_err!(
            store.settle_purchase(&missing).await,
            StoreError::NotFound {
                entity: Entity::Purchase,
                ..
            }
        );
        let mut stale = write.clone();
        stale.expected_status = PaymentStatus::Completed;
        assert_err!(
            store.settle_purchase(&stale).await,
            StoreError::Conflict {
                entity: Entity::Purchase,
                ..
            }
        );
        let taken = PurchaseWrite {
            purchase: completed(pending.clone(), "pi_taken"),
            ..write.clone()
        };
        assert_err!(
            store.settle_purchase(&taken).await,
            StoreError::AlreadyExists {
                entity: Entity::Purchase,
                ..
            }
        );
        // A bad delta after a good one: neither is applied.
        let mut orphan = write.clone();
        orphan.analytics.push(delta(99, 5));
        assert_err!(
            store.settle_purchase(&orphan).await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        let mut overflow = write.clone();
        let mut huge = delta(11, 6);
        huge.revenue = Decimal::ONE;
        huge.currency = Some(Currency::USD);
        overflow.analytics.push(huge);
        assert_err!(
            store.settle_purchase(&overflow).await,
            StoreError::Invalid(_)
        );
        assert_eq!(snapshot(&store), before);

        store.settle_purchase(&write).await.unwrap();
        let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
        assert_eq!(stored, write.purchase);
        for wf in [10, 11] {
            let w = store.workflow(wf_id(wf)).await.unwrap().unwrap();
            assert_eq!(w.stats.purchase_count, 1);
            let rows = store.analytics(wf_id(wf), day(5), day(5)).await.unwrap();
            assert_eq!(rows[0].purchases, 1);
            assert_eq!(rows[0].revenue, Decimal::new(2450, 2));
        }
        assert_eq!(
            store
                .bundle(bundle_id(1))
                .await
                .unwrap()
                .unwrap()
                .purchase_count,
            1
        );
        // A replayed completion finds the status moved.
        assert_err!(
            store.settle_purchase(&write).await,
            StoreError::Conflict { .. }
        );

        // Downloads charged after the refund's read stay counted, and a
        // write that does not complete the purchase counts nothing.
        store
            .lock()
            .purchases
            .get_mut(&purchase_id(1))
            .unwrap()
            .quota
            .used = 2;
        let mut refunded = stored.clone();
        refunded.status = PaymentStatus::PartiallyRefunded;
        refunded.updated_at = t(7);
        store
            .settle_purchase(&PurchaseWrite {
                purchase: refunded.clone(),
                expected_status: PaymentStatus::Completed,
                expected_refunded: None,
                expected_dispute: None,
                count_purchase: false,
                analytics: vec![],
            })
            .await
            .unwrap();
        let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
        assert_eq!(stored.status, PaymentStatus::PartiallyRefunded);
        assert_eq!(stored.updated_at, t(7));
        assert_eq!(stored.quota.used, 2);
        let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(w.stats.purchase_count, 1);
    }

    #[tokio::test]
    async fn memberships_are_guarded_and_listed() {
        let store = shop().await;
        let m1 = membership(1, "ann", 0, Some(10));
        let m2 = membership(2, "ann", 5, None);
        let mut m3 = membership(3, "bob", 1, None);
        m3.status = MembershipStatus::Canceled;
        for m in [&m1, &m3] {
            store
                .insert_membership(m, t(0), Duration::days(3))
                .await
                .unwrap();
        }
        // Two live memberships of one user, as no start can make them today
        // (the one-membership rule refuses the second), to test the listings.
        store.lock().memberships.insert(m2.id, m2.clone());
        let before = snapshot(&store);
        assert_err!(
            store.insert_membership(&m1, t(0), Duration::days(3)).await,
            StoreError::AlreadyExists {
                entity: Entity::Membership,
                ..
            }
        );
        assert_err!(
            store
                .update_membership(&membership(9, "ann", 0, None), 0)
                .await,
            StoreError::NotFound {
                entity: Entity::Membership,
                ..
            }
        );
        assert_err!(
            store.update_membership(&m1, 7).await,
            StoreError::Conflict {
                entity: Entity::Membership,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let ids = |ms: Vec<Membership>| ms.iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.memberships_for_user(&user("ann")).await.unwrap()),
            vec![membership_id(2), membership_id(1)]
        );
        assert_eq!(
            store.membership_by_subscription("sub_1").await.unwrap(),
            Some(m1.clone())
        );
        assert_eq!(
            store.membership_by_subscription("sub_x").await.unwrap(),
            None
        );
        assert_eq!(
            ids(store
                .memberships_with_status(&[MembershipStatus::Active])
                .await
                .unwrap()),
            vec![membership_id(1), membership_id(2)]
        );
        assert_eq!(
            ids(store
                .memberships_with_status(&[MembershipStatus::Canceled, MembershipStatus::Active])
                .await
                .unwrap()),
            vec![membership_id(1), membership_id(2), membership_id(3)]
        );
        assert!(store.memberships_with_status(&[]).await.unwrap().is_empty());

        // Three downloads happen after the member's read; a tier change in
        // the same period keeps them, a renewal starts a fresh quota.
        store
            .lock()
            .memberships
            .get_mut(&membership_id(1))
            .unwrap()
            .quota
            .used = 3;
        let mut edit = m1.clone();
        edit.apply(
            &MembershipEvent::ChangeTier {
                tier: PricingTier::Premium,
                period_download_limit: Some(20),
            },
            t(2),
        )
        .unwrap();
        edit.revision = 1;
        store.update_membership(&edit, 0).await.unwrap();
        let stored = store.membership(membership_id(1)).await.unwrap().unwrap();
        assert_eq!(stored.tier, PricingTier::Premium);
        assert_eq!((stored.quota.used, stored.quota.limit), (3, Some(20)));
        assert_eq!(stored.revision, 1);

        let mut renewed = stored.clone();
        renewed
            .apply(
                &MembershipEvent::Renew {
                    period: Period::new(t(30), t(60)).unwrap(),
                },
                t(30),
            )
            .unwrap();
        renewed.revision = 2;
        store.update_membership(&renewed, 1).await.unwrap();
        let stored = store.membership(membership_id(1)).await.unwrap().unwrap();
        assert_eq!(stored, renewed);
        assert_eq!(stored.quota.used, 0);
    }

    #[tokio::test]
    async fn record_download_checks_everything_before_writing() {
        let store = shop().await;
        let p = completed(purchase(1, "ann", direct(10), Some(2), 1), "pi_1");
        store.insert_purchase(&p).await.unwrap();
        let m = membership(1, "ann", 0, Some(1));
        store
            .insert_membership(&m, t(0), Duration::days(3))
            .await
            .unwrap();
        let by_purchase = |limit| Charge::Purchase {
            id: purchase_id(1),
            expected_status: PaymentStatus::Completed,
            limit,
        };
        let by_membership = Charge::Membership {
            id: membership_id(1),
            expected_status: MembershipStatus::Active,
            period_start: t(0),
            limit: Some(1),
        };
        let none = delta(10, 1);
        let before = snapshot(&store);

        let refused: Vec<(Download, Charge, AnalyticsDelta, (&str, Entity))> = vec![
            (
                download(1, Some("ann"), 99, 1, 1),
                Charge::Nothing,
                none.clone(),
                ("not found", Entity::Workflow),
            ),
            (
                download(1, Some("ann"), 10, 99, 1),
                Charge::Nothing,
                none.clone(),
                ("not found", Entity::File),
            ),
            (
                download(1, Some("ann"), 10, 2, 1),
                Charge::Nothing,
                none.clone(),
                ("not found", Entity::File),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Nothing,
                delta(99, 1),
                ("not found", Entity::Workflow),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Purchase {
                    id: purchase_id(9),
                    expected_status: PaymentStatus::Completed,
                    limit: None,
                },
                none.clone(),
                ("not found", Entity::Purchase),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Purchase {
                    id: purchase_id(1),
                    expected_status: PaymentStatus::Pending,
                    limit: None,
                },
                none.clone(),
                ("conflict", Entity::Purchase),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Membership {
                    id: membership_id(9),
                    expected_status: MembershipStatus::Active,
                    period_start: t(0),
                    limit: None,
                },
                none.clone(),
                ("not found", Entity::Membership),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Membership {
                    id: membership_id(1),
                    expected_status: MembershipStatus::PastDue,
                    period_start: t(0),
                    limit: None,
                },
                none.clone(),
                ("conflict", Entity::Membership),
            ),
            (
                download(1, Some("ann"), 10, 1, 1),
                Charge::Membership {
                    id: membership_id(1),
                    expected_status: MembershipStatus::Active,
                    period_start: t(30),
                    limit: None,
                },
                none.clone(),
                ("conflict", Entity::Membership),
            ),
        ];
        for (d, charge, analytics, expected) in &refused {
            let result = store.record_download(d, charge, analytics).await;
            assert_eq!(failure(&result), Some(*expected), "{result:?}");
        }
        assert_eq!(snapshot(&store), before);

        let mut counted = delta(10, 1);
        counted.downloads = 1;
        for n in 1..=2 {
            store
                .record_download(
                    &download(n, Some("ann"), 10, 1, 1),
                    &by_purchase(Some(2)),
                    &counted,
                )
                .await
                .unwrap();
        }
        let before = snapshot(&store);
        assert_err!(
            store
                .record_download(
                    &download(3, Some("ann"), 10, 1, 1),
                    &by_purchase(Some(2)),
                    &counted
                )
                .await,
            StoreError::LimitReached {
                entity: Entity::Purchase,
                limit: 2,
                ..
            }
        );
        assert_err!(
            store
                .record_download(
                    &download(1, Some("ann"), 10, 1, 1),
                    &Charge::Nothing,
                    &counted
                )
                .await,
            StoreError::AlreadyExists {
                entity: Entity::Download,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        // Unlimited charges are still counted; free ones touch no quota.
        store
            .record_download(
                &download(3, Some("ann"), 10, 1, 1),
                &by_purchase(None),
                &counted,
            )
            .await
            .unwrap();
        store
            .record_download(&download(4, None, 10, 1, 1), &Charge::Nothing, &counted)
            .await
            .unwrap();
        assert_eq!(
            store
                .purchase(purchase_id(1))
                .await
                .unwrap()
                .unwrap()
                .quota
                .used,
            3
        );

        store
            .record_download(
                &download(5, Some("ann"), 10, 1, 2),
                &by_membership,
                &counted,
            )
            .await
            .unwrap();
        assert_err!(
            store
                .record_download(
                    &download(6, Some("ann"), 10, 1, 2),
                    &by_membership,
                    &counted
                )
                .await,
            StoreError::LimitReached {
                entity: Entity::Membership,
                limit: 1,
                ..
            }
        );
        let m = store.membership(membership_id(1)).await.unwrap().unwrap();
        assert_eq!(m.quota.used, 1);
        // Counters never move timestamps.
        assert_eq!(m.updated_at, t(0));

        let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(w.stats.download_count, 5);
        let f = store.file(file_id(1)).await.unwrap().unwrap();
        assert_eq!(f.download_count, 5);
        let c = store.category(cat_id(1)).await.unwrap().unwrap();
        assert_eq!(c.total_downloads, 5);
        let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
        assert_eq!(rows[0].downloads, 5);
        assert_eq!(
            store
                .downloads_for_workflow(wf_id(10), 100)
                .await
                .unwrap()
                .len(),
            5
        );
    }

    #[tokio::test]
    async fn downloads_are_listed_newest_first() {
        let store = shop().await;
        let none = delta(10, 0);
        for d in [
            download(1, Some("ann"), 10, 1, 1),
            download(2, Some("ann"), 10, 1, 3),
            download(3, Some("ann"), 11, 2, 2),
            download(4, None, 10, 1, 4),
            download(5, Some("ann"), 10, 1, 3),
        ] {
            store
                .record_download(&d, &Charge::Nothing, &none)
                .await
                .unwrap();
        }
        let ids = |ds: Vec<Download>| ds.iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.downloads_for_user(&user("ann"), 10).await.unwrap()),
            vec![
                download_id(2),
                download_id(5),
                download_id(3),
                download_id(1)
            ]
        );
        assert_eq!(
            ids(store.downloads_for_user(&user("ann"), 2).await.unwrap()),
            vec![download_id(2), download_id(5)]
        );
        assert!(
            store
                .downloads_for_user(&user("ann"), 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(store.downloads_for_workflow(wf_id(10), 10).await.unwrap()),
            vec![
                download_id(4),
                download_id(2),
                download_id(5),
                download_id(1)
            ]
        );
        assert!(store.has_downloaded(&user("ann"), wf_id(11)).await.unwrap());
        assert!(!store.has_downloaded(&user("bob"), wf_id(10)).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_downloads_never_exceed_the_limit() {
        let store = Arc::new(shop().await);
        let p = completed(purchase(1, "ann", direct(10), Some(5), 1), "pi_1");
        store.insert_purchase(&p).await.unwrap();
        let tasks: Vec<_> = (1..=32)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let charge = Charge::Purchase {
                        id: purchase_id(1),
                        expected_status: PaymentStatus::Completed,
                        limit: Some(5),
                    };
                    store
                        .record_download(
                            &download(n, Some("ann"), 10, 1, 1),
                            &charge,
                            &delta(10, 1),
                        )
                        .await
                })
            })
            .collect();
        let (mut ok, mut full) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::LimitReached { limit: 5, .. }) => full += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((ok, full), (5, 27));
        assert_eq!(
            store
                .downloads_for_workflow(wf_id(10), 100)
                .await
                .unwrap()
                .len(),
            5
        );
        let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
        assert_eq!(stored.quota.used, 5);
        let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
        assert_eq!(w.stats.download_count, 5);
    }

    // ---- community tests ----------------------------------------------

    #[tokio::test]
    async fn insert_review_is_unique_per_user_and_moves_the_rating() {
        let store = catalog().await;
        let ann = review(1, 10, "ann", 5, ModerationStatus::Approved);
        let mut counted = delta(10, 1);
        counted.reviews = 1;
        store
            .insert_review(&ann, &rating_change(None, Some(&ann)), Some(&counted))
            .await
            .unwrap();
        let before = snapshot(&store);

        let refused = [
            // Same id, another author.
            (
                review(1, 10, "bob", 4, ModerationStatus::Approved),
                None,
                ("exists", Entity::Review),
            ),
            // Same author, same workflow.
            (
                review(2, 10, "ann", 4, ModerationStatus::Approved),
                None,
                ("exists", Entity::Review),
            ),
            (
                review(2, 99, "bob", 4, ModerationStatus::Approved),
                None,
                ("not found", Entity::Workflow),
            ),
            (
                review(2, 10, "bob", 4, ModerationStatus::Approved),
                Some(delta(99, 1)),
                ("not found", Entity::Workflow),
            ),
        ];
        for (r, analytics, expected) in &refused {
            let result = store
                .insert_review(r, &rating_change(None, Some(r)), analytics.as_ref())
                .await;
            assert_eq!(failure(&result), Some(*expected), "{result:?}");
        }
        // A delta that removes a review the aggregate never counted.
        let ghost = review(9, 10, "zed", 2, ModerationStatus::Approved);
        let result = store
            .insert_review(
                &review(2, 10, "bob", 4, ModerationStatus::Pending),
                &rating_change(Some(&ghost), None),
                None,
            )
            .await;
        assert!(
            matches!(
                &result,
                Err(StoreError::Conflict {
                    entity: Entity::Workflow,
                    reason: "rating delta does not match the aggregate",
                    ..
                })
            ),
            "{result:?}"
        );
        assert_eq!(snapshot(&store), before);

        let agg = rating(&store, 10).await;
        assert_eq!((agg.count(), agg.sum()), (1, 5));
        let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
        assert_eq!(rows[0].reviews, 1);

        // A pending review is stored but does not count.
        let bob = review(2, 10, "bob", 1, ModerationStatus::Pending);
        store
            .insert_review(&bob, &rating_change(None, Some(&bob)), None)
            .await
            .unwrap();
        assert_eq!(rating(&store, 10).await, agg);

        assert_eq!(store.review(review_id(1)).await.unwrap(), Some(ann.clone()));
        assert_eq!(store.review(review_id(9)).await.unwrap(), None);
        assert_eq!(
            store.review_by_user(wf_id(10), &user("bob")).await.unwrap(),
            Some(bob.clone())
        );
        assert_eq!(
            store.review_by_user(wf_id(11), &user("bob")).await.unwrap(),
            None
        );
        let ids = |rs: Vec<Review>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.reviews_for_workflow(wf_id(10), &[]).await.unwrap()),
            vec![review_id(1), review_id(2)]
        );
        assert_eq!(
            ids(store
                .reviews_for_workflow(wf_id(10), &[ModerationStatus::Pending])
                .await
                .unwrap()),
            vec![review_id(2)]
        );
        assert!(
            store
                .reviews_for_workflow(wf_id(11), &[])
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn update_review_is_guarded_and_keeps_votes() {
        let store = catalog().await;
        let pending = review(1, 10, "ann", 4, ModerationStatus::Pending);
        store
            .insert_review(&pending, &rating_change(None, Some(&pending)), None)
            .await
            .unwrap();
        // Votes arrive after the moderator read the review.
        store
            .set_vote(review_id(1), &user("bob"), Some(Vote::Helpful))
            .await
            .unwrap();
        let mut approved = pending.clone();
        approved.status = ModerationStatus::Approved;
        approved.moderated_by = Some(user("mod"));
        approved.revision = 1;
        approved.updated_at = t(3);
        let approve = rating_change(Some(&pending), Some(&approved));
        let before = snapshot(&store);

        assert_err!(
            store.update_review(&approved, 5, &approve, None).await,
            StoreError::Conflict {
                entity: Entity::Review,
                ..
            }
        );
        let mut missing = approved.clone();
        missing.id = review_id(9);
        assert_err!(
            store.update_review(&missing, 0, &approve, None).await,
            StoreError::NotFound {
                entity: Entity::Review,
                ..
            }
        );
        assert_err!(
            store
                .update_review(&approved, 0, &rating_change(Some(&approved), None), None)
                .await,
            StoreError::Conflict {
                entity: Entity::Workflow,
                reason: "rating delta does not match the aggregate",
                ..
            }
        );
        assert_err!(
            store
                .update_review(&approved, 0, &approve, Some(&delta(99, 3)))
                .await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let mut counted = delta(10, 3);
        counted.reviews = 1;
        // The caller's copy says "no votes" and names another workflow and
        // author; neither is taken.
        let mut write = approved.clone();
        write.workflow_id = wf_id(11);
        write.user_id = user("mallory");
        store
            .update_review(&write, 0, &approve, Some(&counted))
            .await
            .unwrap();
        let stored = store.review(review_id(1)).await.unwrap().unwrap();
        assert_eq!(stored.status, ModerationStatus::Approved);
        assert_eq!(stored.updated_at, t(3));
        assert_eq!((stored.helpful_count, stored.not_helpful_count), (1, 0));
        assert_eq!(
            (stored.workflow_id, stored.user_id.clone()),
            (wf_id(10), user("ann"))
        );
        let mut expected = approved.clone();
        expected.helpful_count = 1;
        assert_eq!(stored, expected);
        let agg = rating(&store, 10).await;
        assert_eq!((agg.count(), agg.sum()), (1, 4));
        assert_eq!(rating(&store, 11).await, RatingAggregate::default());
        let rows = store.analytics(wf_id(10), day(3), day(3)).await.unwrap();
        assert_eq!(rows[0].reviews, 1);
    }

    #[tokio::test]
    async fn delete_review_removes_it_with_its_votes() {
        let store = catalog().await;
        let r = review(1, 10, "ann", 3, ModerationStatus::Approved);
        store
            .insert_review(&r, &rating_change(None, Some(&r)), None)
            .await
            .unwrap();
        store
            .set_vote(review_id(1), &user("bob"), Some(Vote::NotHelpful))
            .await
            .unwrap();
        let removal = rating_change(Some(&r), None);
        let before = snapshot(&store);
        assert_err!(
            store.delete_review(review_id(1), 1, &removal).await,
            StoreError::Conflict {
                entity: Entity::Review,
                ..
            }
        );
        assert_err!(
            store.delete_review(review_id(9), 0, &removal).await,
            StoreError::NotFound {
                entity: Entity::Review,
                ..
            }
        );
        let wrong = rating_change(
            Some(&review(1, 10, "ann", 5, ModerationStatus::Approved)),
            None,
        );
        assert_err!(
            store.delete_review(review_id(1), 0, &wrong).await,
            StoreError::Conflict {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        store
            .delete_review(review_id(1), 0, &removal)
            .await
            .unwrap();
        assert_eq!(store.review(review_id(1)).await.unwrap(), None);
        assert!(store.lock().votes.is_empty());
        assert_eq!(rating(&store, 10).await, RatingAggregate::default());
        assert_err!(
            store
                .set_vote(review_id(1), &user("bob"), Some(Vote::Helpful))
                .await,
            StoreError::NotFound {
                entity: Entity::Review,
                ..
            }
        );
        // The author may review again.
        let again = review(2, 10, "ann", 4, ModerationStatus::Approved);
        store
            .insert_review(&again, &rating_change(None, Some(&again)), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn one_vote_per_user_and_review() {
        let store = catalog().await;
        let r = review(1, 10, "ann", 3, ModerationStatus::Approved);
        store
            .insert_review(&r, &rating_change(None, Some(&r)), None)
            .await
            .unwrap();
        let counts = |store: &MemoryStore| {
            let s = store.lock();
            let r = &s.reviews[&review_id(1)];
            (r.helpful_count, r.not_helpful_count)
        };
        let bob = user("bob");
        let steps = [
            (&bob, Some(Vote::Helpful), None, (1, 0)),
            (&bob, Some(Vote::Helpful), Some(Vote::Helpful), (1, 0)),
            (&bob, Some(Vote::NotHelpful), Some(Vote::Helpful), (0, 1)),
            (&user("cat"), Some(Vote::Helpful), None, (1, 1)),
            (&bob, None, Some(Vote::NotHelpful), (1, 0)),
            (&bob, None, None, (1, 0)),
        ];
        for (who, vote, previous, after) in steps {
            assert_eq!(
                store.set_vote(review_id(1), who, vote).await.unwrap(),
                previous
            );
            assert_eq!(counts(&store), after);
        }
        let before = snapshot(&store);
        assert_err!(
            store
                .set_vote(review_id(9), &bob, Some(Vote::Helpful))
                .await,
            StoreError::NotFound {
                entity: Entity::Review,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);
        // Votes are counters: the review's revision and timestamps stay.
        let stored = store.review(review_id(1)).await.unwrap().unwrap();
        assert_eq!((stored.revision, stored.updated_at), (0, t(1)));
    }

    #[tokio::test]
    async fn favorites_are_unique_and_counted() {
        let store = catalog().await;
        let mut counted = delta(10, 1);
        counted.favorites = 1;
        store
            .insert_favorite(&favorite("ann", 10, 1), &counted)
            .await
            .unwrap();
        store
            .insert_favorite(&favorite("ann", 11, 2), &delta(11, 2))
            .await
            .unwrap();
        store
            .insert_favorite(&favorite("bob", 10, 3), &delta(10, 3))
            .await
            .unwrap();
        let before = snapshot(&store);
        assert_err!(
            store
                .insert_favorite(&favorite("ann", 10, 4), &delta(10, 4))
                .await,
            StoreError::AlreadyExists {
                entity: Entity::Favorite,
                ..
            }
        );
        assert_err!(
            store
                .insert_favorite(&favorite("ann", 99, 4), &delta(99, 4))
                .await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_err!(
            store
                .insert_favorite(&favorite("cat", 10, 4), &delta(99, 4))
                .await,
            StoreError::NotFound {
                entity: Entity::Workflow,
                ..
            }
        );
        assert_eq!(snapshot(&store), before);

        let favorites =
            |store: &MemoryStore, wf: u128| store.lock().workflows[&wf_id(wf)].stats.favorite_count;
        assert_eq!(favorites(&store, 10), 2);
        let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
        assert_eq!(rows[0].favorites, 1);
        let mine: Vec<WorkflowId> = store
            .favorites_for_user(&user("ann"))
            .await
            .unwrap()
            .iter()
            .map(|f| f.workflow_id)
            .collect();
        assert_eq!(mine, vec![wf_id(11), wf_id(10)]);

        assert!(
            store
                .delete_favorite(&user("ann"), wf_id(10))
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_favorite(&user("ann"), wf_id(10))
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_favorite(&user("cat"), wf_id(99))
                .await
                .unwrap()
        );
        assert_eq!(favorites(&store, 10), 1);
        // The count never goes below zero, even if it drifted.
        store
            .lock()
            .workflows
            .get_mut(&wf_id(10))
            .unwrap()
            .stats
            .favorite_count = 0;
        assert!(
            store
                .delete_favorite(&user("bob"), wf_id(10))
                .await
                .unwrap()
        );
        assert_eq!(favorites(&store, 10), 0);
        // Deleted favorites can be added again.
        store
            .insert_favorite(&favorite("ann", 10, 5), &delta(10, 5))
            .await
            .unwrap();
    }

    // ---- the store as a whole -----------------------------------------

    #[tokio::test]
    async fn usable_as_a_shared_trait_object() {
        use crate::store::Store;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        store.insert_category(&category(1, "ops", 1)).await.unwrap();
        assert_eq!(store.categories().await.unwrap().len(), 1);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_edits_of_one_revision_let_exactly_one_through() {
        let store = Arc::new(catalog().await);
        let tasks: Vec<_> = (0..16)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let mut edit = workflow(10, "lead-capture", 1, WorkflowStatus::Published);
                    edit.content.title = format!("Edit {n}");
                    edit.revision = 1;
                    store.update_workflow(&edit, 0).await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(
            store.workflow(wf_id(10)).await.unwrap().unwrap().revision,
            1
        );
    }
}

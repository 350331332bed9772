//! The storage contract: what a backend must store and guarantee.
//!
//! A backend implements four async traits, grouped by area, plus
//! [`AccessStore`] (whose one method has a default built from the others;
//! override it to read in one hand-off), and gets [`Store`] for free. All
//! are `Send + Sync` and usable as `dyn`. A backend
//! translates to its storage; it holds no business rules: decisions (access,
//! prices, rating deltas, refund effects) are computed by vault-core and
//! handed to the store as data.
//!
//! # Guarantees every backend must give
//! * **Atomic writes.** Each method is one transaction: it happens entirely
//!   or not at all. The counters the seed kept with triggers (download counts,
//!   favorite counts, rating aggregates, category workflow counts and total
//!   downloads, bundle purchase counts, daily analytics) change in the same
//!   transaction as the row that moves them.
//! * **Guarded writes.** Writes with a precondition commit only if it still
//!   holds *at commit time*, whatever other writers (threads or processes) do
//!   meanwhile:
//!   - [`CommerceStore::record_download`] with a [`Charge`]: the entitlement
//!     is still in the state the decision saw and its quota has room; the
//!     quota's `used` is incremented in the same transaction. N concurrent
//!     downloads against limit L give exactly L successes.
//!   - [`CommerceStore::settle_purchase`]: the purchase is still in
//!     `expected_status` with `expected_refunded` refunded and
//!     `expected_dispute` (completion, failure, refunds, disputes).
//!   - [`CommerceStore::insert_membership`]: the user holds no other
//!     membership in good standing (the rule is vault-core's
//!     [`crate::commerce::membership::claim_slot`], evaluated inside the write).
//!   - `update_*` methods taking `expected_revision`: the stored revision
//!     equals it (optimistic concurrency); the new revision is stored.
//!   - [`CatalogStore::insert_update`]: the version is greater than every
//!     stored version of the workflow.
//!
//!   A failed precondition is [`StoreError::Conflict`] (state changed) or
//!   [`StoreError::LimitReached`] (quota full), and nothing is written.
//! * **Uniqueness.** Ids; workflow, category and bundle slugs; one review per
//!   (workflow, user); one favorite per (user, workflow); one vote per
//!   (review, user); purchase payment references; membership provider
//!   subscription ids. A clash is
//!   [`StoreError::AlreadyExists`] and nothing is written.
//! * **References.** Writes naming a missing parent fail with
//!   [`StoreError::NotFound`], on insert and on update: a workflow's
//!   category, a file's workflow, a bundle's members, a purchase's workflow,
//!   bundle or membership, a download's workflow and file (which must belong
//!   to that workflow). A review's workflow and author never change.
//! * **Timestamps.** `updated_at` is whatever the written record carries (the
//!   service sets it from its clock); counter increments do not touch it.
//!
//! The conformance suite ([`crate::testkit`], feature `testkit`) checks all
//! of this; a backend is done when it passes every case.

mod access;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use self::access::{AccessQuery, AccessRead, AccessStore, FileWanted, compose_access_read};
use crate::catalog::bundle::Bundle;
use crate::catalog::category::Category;
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{Page, WorkflowQuery};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::commerce::membership::{Membership, MembershipStatus};
use crate::commerce::purchase::{PaymentRef, PaymentStatus, Purchase};
pub use crate::commerce::webhook::{
    Claim, Finish, NewWebhookEvent, WebhookEvent, WebhookStatus, WebhookStore, claim_decision,
    claimed_record, expired_record, finished_record,
};
use crate::community::favorite::Favorite;
use crate::community::rating::RatingDelta;
use crate::community::review::{ModerationStatus, Review, Vote};
use crate::delivery::download::Download;
use crate::insight::analytics::{AnalyticsDelta, DailyAnalytics, WorkflowStatsRow};
pub use crate::value::MAX_INTEGER;
use crate::value::actor::UserId;
pub use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{
    BundleId, CategoryId, FileId, MembershipId, PurchaseId, ReviewId, WorkflowId,
};
use crate::value::slug::Slug;

/// Categories, workflows, files, updates and bundles.
#[async_trait]
pub trait CatalogStore: Send + Sync + Debug {
    /// Inserts a category. `AlreadyExists` on id or slug.
    async fn insert_category(&self, category: &Category) -> StoreResult<()>;
    /// All categories, by `order_index` then slug.
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    /// One category.
    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>>;
    /// One category by slug.
    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>>;

    /// Inserts a workflow (its counters as given, normally zero).
    /// `AlreadyExists` on id or slug; `NotFound` for a missing category.
    /// Maintains the category's `workflow_count` (published workflows).
    async fn insert_workflow(&self, workflow: &Workflow) -> StoreResult<()>;
    /// Replaces a workflow's content, status and lifecycle fields, never its
    /// counters nor `current_version` (owned by
    /// [`CatalogStore::insert_update`]), if the stored revision is
    /// `expected_revision`.
    /// Maintains both categories' `workflow_count` when status or category
    /// changes. `AlreadyExists` when the new slug is taken.
    async fn update_workflow(&self, workflow: &Workflow, expected_revision: u64)
    -> StoreResult<()>;
    /// One workflow.
    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>>;
    /// One workflow by slug.
    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>>;
    /// A page of workflows, with [`crate::catalog::query`] semantics. `Invalid` when
    /// the query fails [`WorkflowQuery::validate`] (the service checks it
    /// first; a direct caller may not have).
    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>>;

    /// Inserts a file. `NotFound` for a missing workflow. A primary file makes
    /// the workflow's other files non-primary in the same transaction.
    async fn insert_file(&self, file: &WorkflowFile) -> StoreResult<()>;
    /// Replaces a file's editable fields (not its download count), with the
    /// same primary rule. `NotFound` when missing.
    async fn update_file(&self, file: &WorkflowFile) -> StoreResult<()>;
    /// One file.
    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>>;
    /// A workflow's files: primary first, then by version descending, then id.
    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>>;

    /// Inserts an update if its version is greater than every stored version
    /// of the workflow (else `Conflict`), and sets the workflow's
    /// `current_version` in the same transaction.
    async fn insert_update(&self, update: &WorkflowUpdate) -> StoreResult<()>;
    /// A workflow's updates, oldest version first.
    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>>;

    /// Inserts a bundle. `AlreadyExists` on id or slug; `NotFound` when a
    /// member workflow is missing.
    async fn insert_bundle(&self, bundle: &Bundle) -> StoreResult<()>;
    /// Replaces a bundle's editable fields (not `purchase_count`).
    async fn update_bundle(&self, bundle: &Bundle) -> StoreResult<()>;
    /// One bundle.
    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>>;
    /// One bundle by slug.
    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>>;
    /// All bundles, by slug.
    async fn bundles(&self) -> StoreResult<Vec<Bundle>>;
}

/// What a download is charged to, with the state the access decision saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Nothing (free content, staff).
    Nothing,
    /// A purchase's license quota.
    Purchase {
        /// Purchase.
        id: PurchaseId,
        /// Its status must still be this.
        expected_status: PaymentStatus,
        /// `used` must be below this (`None`: unlimited, but still counted).
        limit: Option<u32>,
    },
    /// A membership's period quota.
    Membership {
        /// Membership.
        id: MembershipId,
        /// Its status must still be this.
        expected_status: MembershipStatus,
        /// Its period must still start here (a renewal resets the quota).
        period_start: DateTime<Utc>,
        /// `used` must be below this.
        limit: Option<u32>,
    },
}

/// A guarded purchase write: the new state of the purchase, valid only if
/// the stored status is still `expected_status`, with its side effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseWrite {
    /// The purchase as it should be stored.
    pub purchase: Purchase,
    /// Status it must have at commit time.
    pub expected_status: PaymentStatus,
    /// Refunded total it must have at commit time (`None`: nothing refunded).
    /// With the status, this makes two refunds that both read the same
    /// partially refunded purchase conflict instead of one overwriting the
    /// other.
    pub expected_refunded: Option<crate::value::money::Money>,
    /// Dispute outcome it must have at commit time. With the two above, this
    /// is the whole payment state a settlement was computed from: a dispute
    /// closed meanwhile (which may move neither status nor refunds) still
    /// makes the write conflict.
    pub expected_dispute: Option<crate::commerce::purchase::DisputeOutcome>,
    /// Add one to `purchase_count` of every workflow the purchase grants
    /// (and of its bundle): true when this write completes the purchase.
    pub count_purchase: bool,
    /// Analytics increments (purchases, revenue, refunds).
    pub analytics: Vec<AnalyticsDelta>,
}

/// Purchases, memberships and downloads.
#[async_trait]
pub trait CommerceStore: Send + Sync + Debug {
    /// Inserts a purchase. `AlreadyExists` on id or payment reference.
    async fn insert_purchase(&self, purchase: &Purchase) -> StoreResult<()>;
    /// One purchase.
    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>>;
    /// The purchase settled by `payment`.
    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>>;
    /// A user's purchases, newest first.
    async fn purchases_for_user(&self, user: &UserId) -> StoreResult<Vec<Purchase>>;
    /// A user's purchases (any status) whose item grants `workflow`, directly
    /// or through a bundle.
    async fn purchases_covering(
        &self,
        user: &UserId,
        workflow: WorkflowId,
    ) -> StoreResult<Vec<Purchase>>;
    /// Applies a guarded purchase write (see [`PurchaseWrite`]). `Conflict`
    /// when the status moved; `AlreadyExists` when the payment reference is
    /// taken by another purchase. The stored `quota.used` is kept (downloads
    /// own it), whatever the written purchase carries.
    async fn settle_purchase(&self, write: &PurchaseWrite) -> StoreResult<()>;

    /// Inserts a membership under the one-membership rule, evaluated inside
    /// the write over the user's stored memberships with
    /// [`crate::commerce::membership::claim_slot`] at `now` with `grace`: memberships
    /// whose time ran out move to expired (revision bumped) in the same
    /// transaction, and one in good standing refuses the insert with
    /// `AlreadyExists` (concurrent starts for one user, from any thread or
    /// process, give exactly one membership). `AlreadyExists` too on the id
    /// or on a provider subscription id another membership carries.
    async fn insert_membership(
        &self,
        membership: &Membership,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> StoreResult<()>;
    /// Replaces a membership if its stored revision is `expected_revision`.
    /// The stored `quota.used` is kept (downloads own it) unless the write
    /// starts a new period, which resets it as written.
    async fn update_membership(
        &self,
        membership: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()>;
    /// One membership.
    async fn membership(&self, id: MembershipId) -> StoreResult<Option<Membership>>;
    /// The membership with this provider subscription id (unique). `None`
    /// for an id [`ProviderRefs::check_id`](crate::commerce::purchase::ProviderRefs::check_id)
    /// refuses (a NUL byte, whitespace), which no membership can carry.
    async fn membership_by_subscription(
        &self,
        subscription_id: &str,
    ) -> StoreResult<Option<Membership>>;
    /// A user's memberships, newest first.
    async fn memberships_for_user(&self, user: &UserId) -> StoreResult<Vec<Membership>>;
    /// Memberships in any of `statuses`, by id (none for an empty list).
    async fn memberships_with_status(
        &self,
        statuses: &[MembershipStatus],
    ) -> StoreResult<Vec<Membership>>;

    /// Records a download, atomically: checks and increments the charge's
    /// quota (`Conflict` if its state moved, `LimitReached` if `used` has
    /// reached the *charge's* limit), inserts
    /// the download, adds one to the workflow's, file's and category's
    /// download counters, and applies `analytics`.
    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()>;
    /// A user's downloads, newest first, at most `limit`.
    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>>;
    /// A workflow's downloads, newest first, at most `limit`.
    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>>;
    /// True when `user` has downloaded `workflow` before.
    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool>;
}

/// Reviews, votes and favorites.
#[async_trait]
pub trait CommunityStore: Send + Sync + Debug {
    /// Inserts a review and applies `delta` to the workflow's rating
    /// aggregate. `AlreadyExists` for a second review by the same user.
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()>;
    /// Replaces a review if its stored revision is `expected_revision`, and
    /// applies `delta` to the aggregate (not the vote counts, which are
    /// maintained by [`CommunityStore::set_vote`]).
    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()>;
    /// Deletes a review (and its votes) if its revision is
    /// `expected_revision`, applying `delta`.
    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()>;
    /// One review.
    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>>;
    /// A user's review of a workflow.
    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>>;
    /// A workflow's reviews in any of `statuses` (empty: all), by id.
    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>>;
    /// Sets (or with `None` clears) `user`'s vote on a review, adjusting the
    /// review's helpful counts in the same transaction. Returns the previous
    /// vote. `NotFound` for a missing review.
    async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<crate::community::review::Vote>,
    ) -> StoreResult<Option<Vote>>;

    /// Adds a favorite, the workflow's `favorite_count` and `analytics`.
    /// `AlreadyExists` when already favorited.
    async fn insert_favorite(
        &self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()>;
    /// Removes a favorite and decrements the count; false when there was none.
    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool>;
    /// A user's favorites, newest first.
    async fn favorites_for_user(&self, user: &UserId) -> StoreResult<Vec<Favorite>>;
}

/// Daily analytics and the reporting views.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + Debug {
    /// Applies a delta to its day's row (creating it). Views also add to the
    /// workflow's `view_count`; a delta with a `visitor` adds one unique
    /// visitor only the first time that visitor is seen that day.
    /// `NotFound` for a missing workflow.
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()>;
    /// A workflow's daily rows for `from..=to`, oldest first. `Invalid` when
    /// a date fails [`crate::insight::analytics::check_days`].
    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>>;
    /// The seed's `workflow_stats` view, one row per workflow (or one).
    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>>;
}

/// A complete backend: every area. Implemented automatically.
pub trait Store:
    CatalogStore + CommerceStore + CommunityStore + AnalyticsStore + AccessStore
{
}

impl<T> Store for T where
    T: CatalogStore + CommerceStore + CommunityStore + AnalyticsStore + AccessStore
{
}

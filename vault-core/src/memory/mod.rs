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
//!   [`CommerceStore::settle_purchase`](crate::store::CommerceStore::settle_purchase) keeps the stored value, and
//!   [`CommerceStore::update_membership`](crate::store::CommerceStore::update_membership) keeps it unless the write starts a
//!   new period (a renewal resets the quota). A write prepared from a read
//!   taken before a download therefore cannot undo that download's charge.
//! * A download must name a file of its own workflow (else `NotFound` for the
//!   file).
//! * A review's workflow and author are its identity: an update or delete
//!   applies the delta to the stored review's workflow and keeps both.
//! * `memberships_with_status(&[])` is empty (no status matches), while
//!   `reviews_for_workflow(_, &[])` is every review, as documented.
//!
//! # How it stays fast
//! Secondary indexes (`index.rs`: slugs, payment references, subscriptions,
//! each user's purchases, memberships and downloads, each workflow's files,
//! updates and reviews, and the words of every workflow's searchable text)
//! keep every lookup the benches make from scanning the records. Each
//! indexed record kind is written by one `put_*` function that keeps its
//! indexes, and debug builds check after every write that they equal a
//! rebuild from the records. An index only narrows where to look: core's
//! rules decide. Still walked whole: a listing without text (every
//! workflow, filtered and sorted by core's `run_query`), memberships by
//! status, a user's favorites, the votes of a deleted review, and a
//! workflow's assets and guides (at most fifty each).
//!
//! # Where things are
//! This file holds the store, its lock and the helpers every area shares;
//! each area's records and storage trait have a file named after the area
//! (`catalog`, `page`, `commerce`, `community`, `delivery`, `insight`,
//! `webhooks`);
//! `index` holds the secondary indexes and the `put_*` functions that are
//! the only writers of the records they index.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::profile::Account;
use crate::account::settings::UserSettings;
use crate::audit::entry::{AuditEntry, AuditRecord};
use crate::catalog::bundle::Bundle;
use crate::catalog::category::{Category, count_moves, counted_in};
use crate::catalog::file::WorkflowFile;
use crate::catalog::page::{WorkflowAsset, WorkflowDoc};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::commerce::membership::Membership;
use crate::commerce::purchase::Purchase;
use crate::community::favorite::Favorite;
use crate::community::review::{Review, Vote};
use crate::delivery::download::Download;
use crate::insight::analytics::{DailyAnalytics, VisitorKey};
use crate::settings::system::Setting;
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{
    AssetId, AuditId, BundleId, CategoryId, DocId, DownloadId, FileId, MembershipId, PurchaseId,
    ReviewId, UpdateId, WorkflowId,
};

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
    webhooks: Mutex<webhooks::Events>,
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

    // Every write call: the lock, the write, and (in debug builds) the check
    // that the indexes still equal a rebuild from the records.
    fn write<R>(&self, write: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let out = write(&mut state);
        state.debug_check_indexes();
        out
    }

    // A staff write: its entry's id is checked first (the only way the
    // entry's own insert can fail), then the write checks and writes, and
    // the entry is added only when the write succeeded: both or neither.
    fn audited<R>(
        &self,
        audit: Option<&AuditEntry>,
        write: impl FnOnce(&mut State) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.write(|s| {
            if let Some(a) = audit
                && s.audit.contains_key(&a.id)
            {
                return Err(StoreError::exists(Entity::AuditEntry, a.id));
            }
            let out = write(s)?;
            if let Some(a) = audit {
                s.audit.insert(a.id, a.record());
            }
            Ok(out)
        })
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
    /// Every favorite added (workflow, when), kept after an unfavorite: the
    /// day's `favorites` figure counted again.
    favorite_adds: Vec<(WorkflowId, DateTime<Utc>)>,
    /// Each review's first approval (workflow, when), kept after the
    /// review is deleted; written only by `index::put_review`.
    review_approvals: BTreeMap<ReviewId, (WorkflowId, DateTime<Utc>)>,
    /// Every refund's share per workflow.
    refunds: Vec<crate::commerce::refund::RefundLine>,
    comments: comment::Comments,
    assets: BTreeMap<AssetId, WorkflowAsset>,
    docs: BTreeMap<DocId, WorkflowDoc>,
    analytics: BTreeMap<(WorkflowId, NaiveDate), DailyAnalytics>,
    /// Visitors already counted as unique for a workflow on a day.
    visitors: BTreeSet<(WorkflowId, NaiveDate, VisitorKey)>,
    accounts: BTreeMap<UserId, Account>,
    /// Each account's [`Email::key`](crate::account::email::Email::key);
    /// written only by `account::put_account`.
    emails: BTreeMap<String, UserId>,
    user_settings: BTreeMap<UserId, UserSettings>,
    settings: BTreeMap<&'static str, Setting>,
    audit: BTreeMap<AuditId, AuditRecord>,
    /// The job queue (in the domain state: outbox jobs commit with their
    /// write).
    jobs: jobs::Jobs,
    /// Written only by the `put_*` functions of `index.rs`.
    index: Index,
}

/// Names this backend in [`StoreError::Backend`].
const REVISION_MOVED: &str = "stored revision is not the expected one";
const VERSION_NOT_GREATER: &str = "version is not greater than every stored version";
const RATING_MISMATCH: &str = "rating delta does not match the aggregate";

/// Newest first: `(time, id)` pairs by time descending, then id ascending.
fn newest_first<T: Ord, I: Ord>(a: (T, I), b: (T, I)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

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
            .field("accounts", &self.accounts.len())
            .field("audit_entries", &self.audit.len())
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

    /// Applies vault-core's category count moves of a workflow going from
    /// `before` to `after` (each `None` when absent).
    fn move_workflow_counts(&mut self, before: Option<&Workflow>, after: Option<&Workflow>) {
        let counted = |w: Option<&Workflow>| {
            w.and_then(|w| counted_in(w.status, w.is_deleted(), w.content.category_id))
        };
        for (id, delta) in count_moves(counted(before), counted(after)) {
            if let Some(c) = self.categories.get_mut(&id) {
                c.workflow_count = c.workflow_count.saturating_add_signed(delta);
            }
        }
    }
}

use self::index::Index;

mod account;
mod catalog;
mod comment;
mod commerce;
mod community;
mod delivery;
mod index;
mod insight;
mod jobs;
mod page;
mod webhooks;

#[cfg(test)]
mod tests {
    //! What only this store has: its lock, its `Debug`, its indexes, and a
    //! counter state no call of the storage traits can produce. Everything every backend
    //! shares is a conformance case (`crate::testkit`, the `store_*` cases
    //! for the traits called directly), run on this store by
    //! `tests/conformance_memory.rs`.

    use super::*;
    use crate::catalog::query::{Page, WorkflowQuery};
    use crate::catalog::workflow::WorkflowStatus;
    use crate::insight::analytics::AnalyticsDelta;
    use crate::store::{CatalogStore, CommunityStore};
    use crate::value::slug::Slug;

    use chrono::{DateTime, Duration, Utc};

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

    fn audit() -> AuditEntry {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(1);
        AuditEntry::new(
            AuditId::from_uuid(Uuid::from_u128(u128::from(
                SEQ.fetch_add(1, Ordering::Relaxed),
            ))),
            &crate::value::actor::Actor::Service,
            crate::audit::entry::AuditAction::WorkflowEdited,
            Entity::Workflow,
            "memory-case",
            t(0),
        )
        .unwrap()
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
        store
            .insert_category(&category(1, "ops"), &audit())
            .await
            .unwrap();
        store
            .insert_category(&category(2, "growth"), &audit())
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
            .insert_workflow(
                &workflow(12, "after", 2, WorkflowStatus::Published),
                &audit(),
            )
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

    /// A record written past its `put_*` leaves the indexes behind; the
    /// next write call's check names it (debug builds, where tests run).
    #[cfg(debug_assertions)]
    #[tokio::test]
    #[should_panic(expected = "an index drifted")]
    async fn a_write_past_the_indexes_is_caught() {
        let store = catalog().await;
        let stray = workflow(12, "stray", 2, WorkflowStatus::Published);
        store.lock().workflows.insert(stray.id, stray);
        let _ = store.insert_category(&category(3, "sales"), &audit()).await;
    }

    /// The word index follows a workflow's text: a search finds it by its
    /// new title and no longer by its old one.
    #[tokio::test]
    async fn search_follows_an_edited_title() {
        let store = catalog().await;
        let search = |text: &str| WorkflowQuery {
            text: Some(text.into()),
            ..WorkflowQuery::default()
        };
        let found = |page: Page<Workflow>| page.items.iter().map(|w| w.id).collect::<Vec<_>>();
        let hits = store.list_workflows(&search("workflow 10")).await.unwrap();
        assert_eq!(found(hits), [wf_id(10)]);
        let mut edited = store.workflow(wf_id(10)).await.unwrap().unwrap();
        edited.content.title = "Renamed pipeline".into();
        store
            .update_workflow(&edited, edited.revision, &audit())
            .await
            .unwrap();
        let old = store.list_workflows(&search("workflow 10")).await.unwrap();
        assert!(old.items.is_empty());
        let new = store.list_workflows(&search("renam pipe")).await.unwrap();
        assert_eq!(found(new), [wf_id(10)]);
    }
}

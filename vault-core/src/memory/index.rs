//! Secondary indexes of the memory store, and the only functions that
//! write the records they index.
//!
//! Each indexed record kind has one `put_*` function (and a `remove_*` for
//! the kinds that can be deleted): it unlinks the stored record's entries,
//! links the new record's, and stores it. Nothing else inserts into or
//! removes from those maps, and writes elsewhere (`get_mut`) touch only
//! counters, which no index reads. [`Index::build`] derives every index from
//! the records alone; in debug builds every write call ends by checking that
//! the maintained indexes equal a fresh build (for stores small enough that
//! this costs little), so a write that bypassed a `put_*` fails its test.
//!
//! An index only narrows where to look: every rule (the text match, the
//! sort orders, the one-membership rule) is still core's, applied to the
//! records the index names.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::bundle::Bundle;
use crate::catalog::category::Category;
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{search_terms, words_of};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::commerce::license::LicenseKeyHash;
use crate::commerce::membership::Membership;
use crate::commerce::purchase::{PaymentRef, Purchase};
use crate::community::review::Review;
use crate::delivery::download::Download;
use crate::value::actor::UserId;
use crate::value::ids::{
    BundleId, CategoryId, DownloadId, FileId, MembershipId, PurchaseId, ReviewId, UpdateId,
    WorkflowId,
};
use crate::value::slug::Slug;

use super::State;

/// Keys to the records that carry them. Unique keys (slugs, payment
/// references, a review's workflow and author) map to one id; the others
/// to a set of ids.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Index {
    category_slugs: BTreeMap<Slug, CategoryId>,
    workflow_slugs: BTreeMap<Slug, WorkflowId>,
    /// Every word of a workflow's searchable text, as core splits it.
    words: BTreeMap<String, BTreeSet<WorkflowId>>,
    files: BTreeMap<WorkflowId, BTreeSet<FileId>>,
    updates: BTreeMap<WorkflowId, BTreeSet<UpdateId>>,
    bundle_slugs: BTreeMap<Slug, BundleId>,
    purchases: BTreeMap<UserId, BTreeSet<PurchaseId>>,
    payment_refs: BTreeMap<PaymentRef, PurchaseId>,
    license_keys: BTreeMap<LicenseKeyHash, PurchaseId>,
    memberships: BTreeMap<UserId, BTreeSet<MembershipId>>,
    /// Not unique: an update may name another membership's subscription.
    subscriptions: BTreeMap<String, BTreeSet<MembershipId>>,
    user_downloads: BTreeMap<UserId, BTreeSet<DownloadId>>,
    workflow_downloads: BTreeMap<WorkflowId, BTreeSet<DownloadId>>,
    downloaded: BTreeSet<(UserId, WorkflowId)>,
    reviews: BTreeMap<WorkflowId, BTreeSet<ReviewId>>,
    authors: BTreeMap<(WorkflowId, UserId), ReviewId>,
}

/// The most records a debug build checks the indexes of after each write:
/// every conformance case stays under it, and a long randomized test (one
/// store taking thousands of writes) does not pay a rebuild per write.
pub(super) const CHECKED_UP_TO: usize = 300;

fn link<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: K, value: V) {
    map.entry(key).or_default().insert(value);
}

/// Removes `value` under `key`, and the key once it names nothing (so the
/// map equals a fresh build).
fn unlink<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, value: &V) {
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

/// Removes a unique key only while it still names `id`.
fn unlink_unique<K: Ord, V: PartialEq>(map: &mut BTreeMap<K, V>, key: &K, id: &V) {
    if map.get(key) == Some(id) {
        map.remove(key);
    }
}

/// The ids linked under `key`, in id order.
fn linked<'a, K: Ord, V>(
    map: &'a BTreeMap<K, BTreeSet<V>>,
    key: &K,
) -> impl Iterator<Item = &'a V> + use<'a, K, V> {
    map.get(key).into_iter().flatten()
}

impl Index {
    /// Every index, derived from the records alone.
    pub(super) fn build(state: &State) -> Index {
        let mut index = Index::default();
        state
            .categories
            .values()
            .for_each(|c| index.add_category(c));
        state.workflows.values().for_each(|w| index.add_workflow(w));
        state.files.values().for_each(|f| index.add_file(f));
        state.updates.values().for_each(|u| index.add_update(u));
        state.bundles.values().for_each(|b| index.add_bundle(b));
        state.purchases.values().for_each(|p| index.add_purchase(p));
        state
            .memberships
            .values()
            .for_each(|m| index.add_membership(m));
        state.downloads.values().for_each(|d| index.add_download(d));
        state.reviews.values().for_each(|r| index.add_review(r));
        index
    }

    fn add_category(&mut self, c: &Category) {
        self.category_slugs.insert(c.slug.clone(), c.id);
    }

    fn remove_category(&mut self, c: &Category) {
        unlink_unique(&mut self.category_slugs, &c.slug, &c.id);
    }

    fn add_workflow(&mut self, w: &Workflow) {
        self.workflow_slugs.insert(w.content.slug.clone(), w.id);
        for word in words_of(w) {
            link(&mut self.words, word, w.id);
        }
    }

    fn remove_workflow(&mut self, w: &Workflow) {
        unlink_unique(&mut self.workflow_slugs, &w.content.slug, &w.id);
        for word in words_of(w) {
            unlink(&mut self.words, &word, &w.id);
        }
    }

    fn add_file(&mut self, f: &WorkflowFile) {
        link(&mut self.files, f.workflow_id, f.id);
    }

    fn remove_file(&mut self, f: &WorkflowFile) {
        unlink(&mut self.files, &f.workflow_id, &f.id);
    }

    fn add_update(&mut self, u: &WorkflowUpdate) {
        link(&mut self.updates, u.workflow_id, u.id);
    }

    fn remove_update(&mut self, u: &WorkflowUpdate) {
        unlink(&mut self.updates, &u.workflow_id, &u.id);
    }

    fn add_bundle(&mut self, b: &Bundle) {
        self.bundle_slugs.insert(b.slug.clone(), b.id);
    }

    fn remove_bundle(&mut self, b: &Bundle) {
        unlink_unique(&mut self.bundle_slugs, &b.slug, &b.id);
    }

    fn add_purchase(&mut self, p: &Purchase) {
        link(&mut self.purchases, p.user_id.clone(), p.id);
        if let Some(payment) = &p.payment_ref {
            self.payment_refs.insert(payment.clone(), p.id);
        }
        self.license_keys.insert(p.license_key_hash.clone(), p.id);
    }

    fn remove_purchase(&mut self, p: &Purchase) {
        unlink(&mut self.purchases, &p.user_id, &p.id);
        if let Some(payment) = &p.payment_ref {
            unlink_unique(&mut self.payment_refs, payment, &p.id);
        }
        unlink_unique(&mut self.license_keys, &p.license_key_hash, &p.id);
    }

    fn add_membership(&mut self, m: &Membership) {
        link(&mut self.memberships, m.user_id.clone(), m.id);
        if let Some(sub) = &m.provider.subscription_id {
            link(&mut self.subscriptions, sub.clone(), m.id);
        }
    }

    fn remove_membership(&mut self, m: &Membership) {
        unlink(&mut self.memberships, &m.user_id, &m.id);
        if let Some(sub) = &m.provider.subscription_id {
            unlink(&mut self.subscriptions, sub, &m.id);
        }
    }

    fn add_download(&mut self, d: &Download) {
        link(&mut self.workflow_downloads, d.workflow_id, d.id);
        if let Some(user) = &d.user_id {
            link(&mut self.user_downloads, user.clone(), d.id);
            self.downloaded.insert((user.clone(), d.workflow_id));
        }
    }

    fn add_review(&mut self, r: &Review) {
        link(&mut self.reviews, r.workflow_id, r.id);
        self.authors
            .insert((r.workflow_id, r.user_id.clone()), r.id);
    }

    fn remove_review(&mut self, r: &Review) {
        unlink(&mut self.reviews, &r.workflow_id, &r.id);
        unlink_unique(
            &mut self.authors,
            &(r.workflow_id, r.user_id.clone()),
            &r.id,
        );
    }
}

// ---- the writes of indexed records ----------------------------------------

impl State {
    pub(super) fn put_category(&mut self, category: Category) {
        if let Some(old) = self.categories.get(&category.id) {
            self.index.remove_category(old);
        }
        self.index.add_category(&category);
        self.categories.insert(category.id, category);
    }

    pub(super) fn put_workflow(&mut self, workflow: Workflow) {
        if let Some(old) = self.workflows.get(&workflow.id) {
            self.index.remove_workflow(old);
        }
        self.index.add_workflow(&workflow);
        self.workflows.insert(workflow.id, workflow);
    }

    /// Stores a file as it is (see `put_primary_file` for the primary rule).
    pub(super) fn put_file(&mut self, file: WorkflowFile) {
        if let Some(old) = self.files.get(&file.id) {
            self.index.remove_file(old);
        }
        self.index.add_file(&file);
        self.files.insert(file.id, file);
    }

    pub(super) fn put_update(&mut self, update: WorkflowUpdate) {
        if let Some(old) = self.updates.get(&update.id) {
            self.index.remove_update(old);
        }
        self.index.add_update(&update);
        self.updates.insert(update.id, update);
    }

    pub(super) fn put_bundle(&mut self, bundle: Bundle) {
        if let Some(old) = self.bundles.get(&bundle.id) {
            self.index.remove_bundle(old);
        }
        self.index.add_bundle(&bundle);
        self.bundles.insert(bundle.id, bundle);
    }

    pub(super) fn put_purchase(&mut self, purchase: Purchase) {
        if let Some(old) = self.purchases.get(&purchase.id) {
            self.index.remove_purchase(old);
        }
        self.index.add_purchase(&purchase);
        self.purchases.insert(purchase.id, purchase);
    }

    pub(super) fn put_membership(&mut self, membership: Membership) {
        if let Some(old) = self.memberships.get(&membership.id) {
            self.index.remove_membership(old);
        }
        self.index.add_membership(&membership);
        self.memberships.insert(membership.id, membership);
    }

    /// Downloads are never replaced (an id is refused twice) nor removed.
    pub(super) fn put_download(&mut self, download: Download) {
        self.index.add_download(&download);
        self.downloads.insert(download.id, download);
    }

    pub(super) fn put_review(&mut self, review: Review) {
        if let Some(old) = self.reviews.get(&review.id) {
            self.index.remove_review(old);
        }
        self.index.add_review(&review);
        // A review's first approval, kept after the review is deleted.
        if let Some(at) = review.approved_at {
            self.review_approvals
                .entry(review.id)
                .or_insert((review.workflow_id, at));
        }
        self.reviews.insert(review.id, review);
    }

    pub(super) fn remove_review(&mut self, id: ReviewId) -> Option<Review> {
        let old = self.reviews.remove(&id)?;
        self.index.remove_review(&old);
        Some(old)
    }

    /// Panics (in debug builds, for stores of up to [`CHECKED_UP_TO`] records) when
    /// an index differs from one built from the records.
    pub(super) fn debug_check_indexes(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        let records = self.workflows.len()
            + self.files.len()
            + self.updates.len()
            + self.purchases.len()
            + self.memberships.len()
            + self.downloads.len()
            + self.reviews.len();
        if records <= CHECKED_UP_TO {
            assert!(
                self.index == Index::build(self),
                "memory store: an index drifted from its records"
            );
        }
    }

    // ---- reads through the indexes ---------------------------------------

    pub(super) fn category_with_slug(&self, slug: &Slug) -> Option<&Category> {
        self.index
            .category_slugs
            .get(slug)
            .and_then(|id| self.categories.get(id))
    }

    pub(super) fn workflow_with_slug(&self, slug: &Slug) -> Option<&Workflow> {
        self.index
            .workflow_slugs
            .get(slug)
            .and_then(|id| self.workflows.get(id))
    }

    pub(super) fn bundle_with_slug(&self, slug: &Slug) -> Option<&Bundle> {
        self.index
            .bundle_slugs
            .get(slug)
            .and_then(|id| self.bundles.get(id))
    }

    /// Workflows that may match `text`: those with, for every query word,
    /// some word it begins. `None` when the text has no words (every
    /// workflow may match). Core's rule still decides each candidate.
    pub(super) fn text_candidates(&self, text: &str) -> Option<Vec<&Workflow>> {
        let mut found: Option<BTreeSet<WorkflowId>> = None;
        for term in search_terms(text) {
            let with: BTreeSet<WorkflowId> = self
                .index
                .words
                .range(term.clone()..)
                .take_while(|(word, _)| word.starts_with(term.as_str()))
                .flat_map(|(_, ids)| ids.iter().copied())
                .filter(|id| found.as_ref().is_none_or(|f| f.contains(id)))
                .collect();
            found = Some(with);
        }
        found.map(|ids| ids.iter().filter_map(|id| self.workflows.get(id)).collect())
    }

    pub(super) fn files_of(&self, workflow: WorkflowId) -> impl Iterator<Item = &WorkflowFile> {
        linked(&self.index.files, &workflow).filter_map(|id| self.files.get(id))
    }

    pub(super) fn updates_of(&self, workflow: WorkflowId) -> impl Iterator<Item = &WorkflowUpdate> {
        linked(&self.index.updates, &workflow).filter_map(|id| self.updates.get(id))
    }

    pub(super) fn purchase_with_ref(&self, payment: &PaymentRef) -> Option<&Purchase> {
        self.index
            .payment_refs
            .get(payment)
            .and_then(|id| self.purchases.get(id))
    }

    pub(super) fn purchase_with_key(&self, key: &LicenseKeyHash) -> Option<&Purchase> {
        self.index
            .license_keys
            .get(key)
            .and_then(|id| self.purchases.get(id))
    }

    pub(super) fn purchases_of_user(&self, user: &UserId) -> impl Iterator<Item = &Purchase> {
        linked(&self.index.purchases, user).filter_map(|id| self.purchases.get(id))
    }

    pub(super) fn memberships_of_user(&self, user: &UserId) -> impl Iterator<Item = &Membership> {
        linked(&self.index.memberships, user).filter_map(|id| self.memberships.get(id))
    }

    pub(super) fn memberships_with_subscription(
        &self,
        subscription_id: &str,
    ) -> impl Iterator<Item = &Membership> {
        self.index
            .subscriptions
            .get(subscription_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.memberships.get(id))
    }

    pub(super) fn downloads_of_user(&self, user: &UserId) -> impl Iterator<Item = &Download> {
        linked(&self.index.user_downloads, user).filter_map(|id| self.downloads.get(id))
    }

    pub(super) fn downloads_of_workflow(
        &self,
        workflow: WorkflowId,
    ) -> impl Iterator<Item = &Download> {
        linked(&self.index.workflow_downloads, &workflow).filter_map(|id| self.downloads.get(id))
    }

    pub(super) fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> bool {
        self.index.downloaded.contains(&(user.clone(), workflow))
    }

    pub(super) fn reviews_of(&self, workflow: WorkflowId) -> impl Iterator<Item = &Review> {
        linked(&self.index.reviews, &workflow).filter_map(|id| self.reviews.get(id))
    }

    pub(super) fn review_by(&self, workflow: WorkflowId, user: &UserId) -> Option<&Review> {
        self.index
            .authors
            .get(&(workflow, user.clone()))
            .and_then(|id| self.reviews.get(id))
    }
}

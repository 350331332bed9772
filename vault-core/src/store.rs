//! The storage contract: what a backend must store and guarantee.
//!
//! A backend implements one async trait per area ([`CatalogStore`] and
//! [`PageStore`],
//! [`CommerceStore`], [`CommunityStore`], [`DeliveryStore`],
//! [`AnalyticsStore`]; [`DeliveryStore::access_read`] has a default built
//! from the others, to override for one hand-off), and gets [`Store`] for
//! free. All are `Send + Sync` and usable as `dyn`. Each trait lives in its
//! area (`catalog::store`, ...); this module gathers them with everything a
//! backend needs, so a backend imports from one place. A backend
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
//!   - [`DeliveryStore::record_download`] with a [`Charge`]: the entitlement
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
//! * **Audited staff writes.** A staff write takes its
//!   [`AuditEntry`] and writes it last in the same transaction: when
//!   anything in the write fails, including the entry's own insert (an id
//!   that clashes), neither the change nor the entry is stored. The trail
//!   is append-only ([`AuditStore`]).
//! * **Accounts.** Email uniqueness compares
//!   [`Email::key`](crate::account::email::Email::key) (case-insensitive)
//!   inside the write, so concurrent sign-ups with one address give one
//!   account. [`DeliveryStore::access_read`] reads the acting user's
//!   account standing with everything else.
//! * **Uniqueness.** Ids; workflow, category and bundle slugs; one review per
//!   (workflow, user); one favorite per (user, workflow); one vote per
//!   (review, user); one like per (comment, user); purchase payment references; membership provider
//!   subscription ids. A clash is
//!   [`StoreError::AlreadyExists`] and nothing is written.
//! * **References.** Writes naming a missing parent fail with
//!   [`StoreError::NotFound`], on insert and on update: a workflow's
//!   category, a file's workflow, a bundle's members, a purchase's workflow,
//!   bundle or membership, a download's workflow and file (which must belong
//!   to that workflow). A review's workflow and author never change.
//! * **Soft-deleted workflows.**
//!   [`Workflow::deleted_at`](crate::catalog::workflow::Workflow::deleted_at) is written by
//!   [`CatalogStore::update_workflow`] like any field. A deleted workflow
//!   is left out of every listing and search
//!   ([`crate::catalog::query::WorkflowQuery::matches`]) and out of its
//!   category's `workflow_count` ([`crate::catalog::category::counted_in`]),
//!   but still reads back by id and by slug (the service hides it from
//!   non-staff), keeps its slug, and keeps its files, purchases and
//!   downloads. [`DeliveryStore::access_read`] reports it in
//!   [`GateFacts::deleted`](crate::delivery::access::GateFacts::deleted).
//! * **Page positions.** [`PageStore`] owns the positions of a workflow's
//!   assets and guides: `0..n` in order, no gap and no double, whatever
//!   writers race.
//! * **Timestamps.** `updated_at` is whatever the written record carries (the
//!   service sets it from its clock); counter increments do not touch it.
//!
//! The conformance suite ([`crate::testkit`], feature `testkit`) checks all
//! of this; a backend is done when it passes every case.

pub use crate::account::store::{AccountQuery, AccountStore};
pub use crate::audit::entry::{AuditEntry, AuditQuery, AuditRecord};
pub use crate::audit::store::AuditStore;
pub use crate::catalog::page_store::PageStore;
pub use crate::catalog::store::CatalogStore;
pub use crate::commerce::store::{CommerceStore, PaymentState, PurchaseWrite};
pub use crate::commerce::webhook::{
    Claim, Finish, NewWebhookEvent, WebhookEvent, WebhookStatus, WebhookStore, claim_decision,
    claimed_record, expired_record, finished_record,
};
pub use crate::community::comment_store::{CommentStore, check_reply};
pub use crate::community::store::CommunityStore;
pub use crate::delivery::store::{
    AccessQuery, AccessRead, Charge, DeliveryStore, FileWanted, compose_access_read,
};
pub use crate::insight::store::AnalyticsStore;
pub use crate::jobs::store::{ClaimRequest, Enqueued, JobQuery, JobStore};
pub use crate::settings::store::SettingsStore;
pub use crate::value::MAX_INTEGER;
pub use crate::value::error::{Entity, StoreError, StoreResult};
pub use crate::value::keyset::{After, Listing};

/// A complete backend: every area, the provider's webhook records
/// included (so an app holding only an `Arc<dyn Store>` can hand the same
/// store to a webhook handler as an `Arc<dyn WebhookStore>`). Implemented
/// automatically.
pub trait Store:
    CatalogStore
    + PageStore
    + CommerceStore
    + CommunityStore
    + CommentStore
    + DeliveryStore
    + AnalyticsStore
    + AccountStore
    + AuditStore
    + SettingsStore
    + WebhookStore
    + JobStore
{
}

impl<T> Store for T where
    T: CatalogStore
        + PageStore
        + CommerceStore
        + CommunityStore
        + CommentStore
        + DeliveryStore
        + AnalyticsStore
        + AccountStore
        + AuditStore
        + SettingsStore
        + WebhookStore
        + JobStore
{
}

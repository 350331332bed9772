//! Commerce's part of the storage contract (see [`crate::store`] for what
//! every backend guarantees): purchases, with the guarded write that settles
//! them, and memberships.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::entry::AuditEntry;
use crate::commerce::license::LicenseKeyHash;
use crate::commerce::membership::{Membership, MembershipStatus};
use crate::commerce::purchase::{DisputeOutcome, PaymentRef, PaymentStatus, Purchase};
use crate::commerce::refund::RefundLine;
use crate::jobs::job::Job;
use crate::value::actor::UserId;
use crate::value::delta::AnalyticsDelta;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{MembershipId, PurchaseId, WorkflowId};
use crate::value::money::Money;

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
    pub expected_refunded: Option<Money>,
    /// Dispute outcome it must have at commit time. With the two above, this
    /// is the whole payment state a settlement was computed from: a dispute
    /// closed meanwhile (which may move neither status nor refunds) still
    /// makes the write conflict.
    pub expected_dispute: Option<DisputeOutcome>,
    /// Add one to `purchase_count` of every workflow the purchase grants
    /// (and of its bundle): true when this write completes the purchase.
    pub count_purchase: bool,
    /// Analytics increments (purchases, revenue, refunds).
    pub analytics: Vec<AnalyticsDelta>,
    /// What this write refunds, kept as rows (empty unless it refunds).
    pub refunds: Vec<RefundLine>,
    /// The audit entry, when staff made the write (a refund): written last
    /// in the same transaction.
    pub audit: Option<AuditEntry>,
    /// Jobs enqueued in the same transaction (the outbox): they exist if
    /// and only if the write commits. A job whose unique key is taken is
    /// not enqueued again; one whose id is taken fails the whole write.
    pub outbox: Vec<Job>,
}

/// The payment state of a purchase as the store holds it: what a
/// [`PurchaseWrite`] is guarded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentState {
    /// Its payment status.
    pub status: PaymentStatus,
    /// Refunded so far (`None`: nothing).
    pub refunded: Option<Money>,
    /// How its dispute closed, if it has.
    pub dispute: Option<DisputeOutcome>,
}

/// Why a [`PurchaseWrite`] missed: the purchase moved since it was read.
pub const PAYMENT_MOVED: &str = "the payment status changed since it was read";

impl PurchaseWrite {
    /// The guard's verdict over what the store holds, read inside the write
    /// (`None`: no such purchase): `NotFound`, `Conflict`
    /// ([`PAYMENT_MOVED`]) when status, refunded total (compared by value:
    /// 10 and 10.00 are one amount) or dispute outcome differ from what the
    /// write was computed from, else `Ok`.
    pub fn verdict(&self, held: Option<PaymentState>) -> StoreResult<()> {
        let id = self.purchase.id;
        let Some(held) = held else {
            return Err(StoreError::not_found(Entity::Purchase, id));
        };
        if held.status != self.expected_status
            || held.refunded != self.expected_refunded
            || held.dispute != self.expected_dispute
        {
            return Err(StoreError::conflict(Entity::Purchase, id, PAYMENT_MOVED));
        }
        Ok(())
    }
}

/// Purchases and memberships.
#[async_trait]
pub trait CommerceStore: Send + Sync + Debug {
    /// Inserts a purchase. `AlreadyExists` on id or payment reference.
    async fn insert_purchase(&self, purchase: &Purchase) -> StoreResult<()>;
    /// One purchase.
    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>>;
    /// The purchase settled by `payment`.
    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>>;
    /// The purchase whose license key has the digest `key` (unique: an
    /// insert with a taken digest is `AlreadyExists`).
    async fn purchase_by_license_key(&self, key: &LicenseKeyHash) -> StoreResult<Option<Purchase>>;
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
}

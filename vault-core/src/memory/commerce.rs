//! Commerce in memory: purchases and memberships.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{MemoryStore, REVISION_MOVED, State, newest_first};
use crate::commerce::license::LicenseKeyHash;
use crate::commerce::membership::{Membership, MembershipStatus, claim_slot};
use crate::commerce::purchase::{PaymentRef, Purchase, PurchaseItem};
use crate::store::{CommerceStore, PaymentState, PurchaseWrite};
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{MembershipId, PurchaseId, WorkflowId};

/// Memberships newest first (then by id).
pub(super) fn newest_memberships<'a>(
    found: impl Iterator<Item = &'a Membership>,
) -> Vec<Membership> {
    let mut found: Vec<&Membership> = found.collect();
    found.sort_by(|a, b| newest_first((a.created_at, a.id), (b.created_at, b.id)));
    found.into_iter().cloned().collect()
}

impl State {
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
        if self.purchase_with_key(&purchase.license_key_hash).is_some() {
            return Err(StoreError::exists(Entity::Purchase, "license key"));
        }
        self.check_item(&purchase.item)?;
        self.put_purchase(purchase.clone());
        Ok(())
    }

    pub(super) fn purchases_of(
        &self,
        user: &UserId,
        keep: impl Fn(&Purchase) -> bool,
    ) -> Vec<Purchase> {
        let mut found: Vec<&Purchase> = self.purchases_of_user(user).filter(|p| keep(p)).collect();
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
        self.jobs.check_outbox(&write.outbox)?;

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
        self.put_purchase(next);
        for delta in &write.analytics {
            self.apply_analytics(delta)?;
        }
        self.refunds.extend(write.refunds.iter().cloned());
        for job in &write.outbox {
            self.jobs.enqueue(job)?;
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
            && self.memberships_with_subscription(sub).next().is_some()
        {
            return Err(StoreError::exists(Entity::Membership, sub));
        }
        let mine = newest_memberships(self.memberships_of_user(&membership.user_id));
        let slot = claim_slot(&mine, membership, now, grace);
        for lapsed in slot.lapsed {
            self.put_membership(lapsed);
        }
        if let Some(holder) = slot.held_by {
            return Err(StoreError::exists(
                Entity::Membership,
                format!("{} holds {holder}", membership.user_id),
            ));
        }
        self.put_membership(membership.clone());
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
        self.put_membership(next);
        Ok(())
    }
}

#[async_trait]
impl CommerceStore for MemoryStore {
    async fn insert_purchase(&self, purchase: &Purchase) -> StoreResult<()> {
        self.write(|s| s.insert_purchase(purchase))
    }

    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>> {
        Ok(self.lock().purchases.get(&id).cloned())
    }

    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>> {
        Ok(self.lock().purchase_with_ref(payment).cloned())
    }

    async fn purchase_by_license_key(&self, key: &LicenseKeyHash) -> StoreResult<Option<Purchase>> {
        Ok(self.lock().purchase_with_key(key).cloned())
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
        self.audited(write.audit.as_ref(), |s| s.settle_purchase(write))
    }

    async fn insert_membership(
        &self,
        membership: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        self.write(|s| s.insert_membership(membership, now, grace))
    }

    async fn update_membership(
        &self,
        membership: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()> {
        self.write(|s| s.update_membership(membership, expected_revision))
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
        let state = self.lock();
        Ok(
            newest_memberships(state.memberships_with_subscription(subscription_id))
                .into_iter()
                .next(),
        )
    }

    async fn memberships_for_user(&self, user: &UserId) -> StoreResult<Vec<Membership>> {
        Ok(newest_memberships(self.lock().memberships_of_user(user)))
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

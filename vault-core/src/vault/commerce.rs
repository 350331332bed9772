//! Purchases: checkout, completion, failure, refunds and disputes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Vault, retry_conflicts};
use crate::audit::entry::{AuditAction, AuditValue};
use crate::catalog::bundle::{
    Availability, LicenseTerms, allocate_revenue, bundle_license_terms, complete_the_bundle,
};
use crate::catalog::workflow::WorkflowStatus;
use crate::commerce::license::{LicenseKey, LicenseType};
use crate::commerce::purchase::{
    NewPurchase, PaymentRef, ProviderRefs, Purchase, PurchaseItem, owns,
};
use crate::commerce::refund::{PaymentEvent, RefundEffects, cascade};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::{PurchaseWrite, Store};
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Entity, Error, Result, StoreError};
use crate::value::ids::{BundleId, PurchaseId, WorkflowId};
use crate::value::money::Money;
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError};
use crate::vault::authz::{can_see, hidden, require_self_or_staff, require_staff};

/// What is being checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum CheckoutItem {
    /// One workflow at its price.
    Workflow(WorkflowId),
    /// A bundle, at the complete-the-bundle price for the buyer.
    Bundle(BundleId),
}

/// A checkout request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartPurchase {
    /// The buyer.
    pub user_id: UserId,
    /// What they buy.
    pub item: CheckoutItem,
    /// License type.
    pub license_type: LicenseType,
    /// Tax on top of the price (computed by the app or the payment
    /// provider); `None` is zero.
    pub tax: Option<Money>,
    /// When the license stops allowing downloads (`None`: never).
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Provider ids known at checkout (customer, checkout session).
    pub provider: ProviderRefs,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Opens a pending purchase at the current price (the buyer or staff).
    ///
    /// A workflow must be published and sold individually; a bundle must be
    /// on sale with every member published, and costs the buyer the bundle
    /// price minus credit for the members they own. Buying what one already owns under the same license
    /// type is refused, unless that license can no longer download (it
    /// expired or its downloads are used up): buying again is then the
    /// remedy the access decision offers.
    ///
    /// A bundle license takes its members' most generous terms: unlimited
    /// downloads if any member is unlimited (else the sum of their limits),
    /// and the longest update window.
    pub async fn start_purchase(&self, actor: &Actor, req: StartPurchase) -> Result<Purchase> {
        let span = tracing::info_span!(
            "vault.start_purchase",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, &req.user_id, "start_purchase")?;
            let owned = self.store.purchases_for_user(&req.user_id).await?;
            let now = self.now();
            let already = |w: WorkflowId| owns(&owned, w, req.license_type, now);
            let (item, amount, download_limit, update_months) = match req.item {
                CheckoutItem::Workflow(id) => {
                    let w = self.store.workflow(id).await?.ok_or_else(|| hidden(id))?;
                    // A draft must not even be told apart from a missing one;
                    // a deleted workflow is sold to no one, staff included.
                    if w.is_deleted() || !can_see(actor, w.status, false) {
                        return Err(hidden(id));
                    }
                    if w.status != WorkflowStatus::Published {
                        return Err(Error::InvalidTransition {
                            entity: Entity::Workflow,
                            state: w.status.as_str(),
                            event: "purchase",
                        });
                    }
                    if w.content.pricing_tier == PricingTier::Free {
                        return Err(invalid_item("free workflows need no purchase"));
                    }
                    let price = w.content.price.ok_or_else(|| {
                        invalid_item("this workflow is only available through memberships")
                    })?;
                    if already(id) {
                        return Err(Error::AlreadyExists {
                            entity: Entity::Purchase,
                            key: format!("{} owns {}", req.user_id, w.content.slug),
                        });
                    }
                    (
                        PurchaseItem::Workflow { workflow_id: id },
                        price,
                        w.content.download_limit,
                        w.content.update_months,
                    )
                }
                CheckoutItem::Bundle(id) => {
                    let bundle = self
                        .store
                        .bundle(id)
                        .await?
                        .ok_or_else(|| Error::NotFound {
                            entity: Entity::Bundle,
                            key: id.to_string(),
                        })?;
                    match bundle.availability(now) {
                        Availability::OnSale => {}
                        Availability::NotYet { .. } => return Err(not_on_sale("not_yet_on_sale")),
                        Availability::Ended { .. } => return Err(not_on_sale("sale_ended")),
                        Availability::Inactive => return Err(not_on_sale("inactive")),
                    }
                    let mut prices = Vec::new();
                    let mut terms = Vec::new();
                    for m in &bundle.workflow_ids {
                        let w = self.store.workflow(*m).await?.ok_or_else(|| hidden(*m))?;
                        // A deleted member takes the bundle off sale for
                        // everyone, as it is off sale alone.
                        if w.is_deleted() {
                            return Err(hidden(*m));
                        }
                        // A member off sale (archived, or back to draft) takes
                        // the bundle off sale: buying it alone fails the same way.
                        if w.status != WorkflowStatus::Published {
                            if !can_see(actor, w.status, false) {
                                return Err(hidden(*m));
                            }
                            return Err(Error::InvalidTransition {
                                entity: Entity::Workflow,
                                state: w.status.as_str(),
                                event: "purchase",
                            });
                        }
                        prices.push(w.content.price.ok_or_else(|| {
                            invalid_item("a bundle member is no longer sold individually")
                        })?);
                        terms.push(LicenseTerms {
                            download_limit: w.content.download_limit,
                            update_months: w.content.update_months,
                        });
                    }
                    let terms = bundle_license_terms(&terms);
                    let owned_flags: Vec<bool> =
                        bundle.workflow_ids.iter().map(|w| already(*w)).collect();
                    if owned_flags.iter().all(|o| *o) {
                        return Err(Error::AlreadyExists {
                            entity: Entity::Purchase,
                            key: format!("{} owns every member of {}", req.user_id, bundle.slug),
                        });
                    }
                    let price = complete_the_bundle(bundle.price, &prices, &owned_flags)?;
                    (
                        PurchaseItem::Bundle {
                            bundle_id: id,
                            members: bundle.workflow_ids.clone(),
                        },
                        price,
                        terms.download_limit,
                        terms.update_months,
                    )
                }
            };
            let tax = req.tax.unwrap_or(Money::zero(amount.currency()));
            // The key is the id's under the app's secret: only its digest
            // is stored, and the buyer is shown it again on any later read.
            let id = PurchaseId::from_uuid(self.uuid());
            let purchase = NewPurchase {
                user_id: req.user_id,
                item,
                license_type: req.license_type,
                amount,
                tax,
                download_limit,
                license_expires_at: req.license_expires_at,
                update_months,
                provider: req.provider,
            }
            .build(
                id,
                LicenseKey::derive(&self.config.license_secret, id).hash(),
                now,
            )?;
            self.writes.insert_purchase(&purchase).await?;
            Ok(purchase)
        })
        .await
    }

    async fn load_purchase(&self, id: PurchaseId) -> Result<Purchase> {
        self.store
            .purchase(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Purchase,
                key: id.to_string(),
            })
    }

    /// One purchase (its buyer or staff; others read not found).
    pub async fn purchase(&self, actor: &Actor, id: PurchaseId) -> Result<Purchase> {
        let span = tracing::info_span!("vault.purchase", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let p = self.load_purchase(id).await?;
            if require_self_or_staff(actor, &p.user_id, "purchase").is_err() {
                return Err(Error::NotFound {
                    entity: Entity::Purchase,
                    key: id.to_string(),
                });
            }
            Ok(p)
        })
        .await
    }

    /// The license key of a purchase its caller has read (through
    /// [`Vault::purchase`] or [`Vault::purchases_for_user`], which check who
    /// may see it). The store holds only the key's digest; the key is
    /// derived again from the purchase's id. `None` when the digest is not
    /// of the derived key: a key issued under another
    /// [`VaultConfig::license_secret`](crate::vault::VaultConfig), or before
    /// keys were derived, which only its buyer still holds.
    pub fn license_key(&self, purchase: &Purchase) -> Option<LicenseKey> {
        let key = LicenseKey::derive(&self.config.license_secret, purchase.id);
        (key.hash() == purchase.license_key_hash).then_some(key)
    }

    /// A user's purchases, newest first (the user or staff).
    pub async fn purchases_for_user(&self, actor: &Actor, user: &UserId) -> Result<Vec<Purchase>> {
        let span = tracing::info_span!("vault.purchases_for_user", actor = actor.kind(), user = %user, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "purchases_for_user")?;
            Ok(self.store.purchases_for_user(user).await?)
        })
        .await
    }

    /// The purchase a license key was issued for (staff or the service: a
    /// license server checking the key a customer's copy presents). The key
    /// is looked up by its digest, so a key issued before keys were derived
    /// or under another secret is found as well. `None` for a key no
    /// purchase holds; whether it still licenses anything is the purchase's
    /// own state (status, quota, expiry).
    pub async fn purchase_by_license_key(
        &self,
        actor: &Actor,
        key: &LicenseKey,
    ) -> Result<Option<Purchase>> {
        let span = tracing::info_span!(
            "vault.purchase_by_license_key",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "purchase_by_license_key")?;
            Ok(self.store.purchase_by_license_key(&key.hash()).await?)
        })
        .await
    }

    /// The purchase settled by a payment (staff; for webhooks).
    pub async fn purchase_by_payment(
        &self,
        actor: &Actor,
        payment: &PaymentRef,
    ) -> Result<Option<Purchase>> {
        let span = tracing::info_span!(
            "vault.purchase_by_payment",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "purchase_by_payment")?;
            Ok(self.store.purchase_by_payment_ref(payment).await?)
        })
        .await
    }

    // Current list prices of a bundle purchase's members, for attribution;
    // empty when any is gone (then attribution splits evenly).
    async fn attribution_prices(&self, p: &Purchase) -> Result<Vec<Money>> {
        let PurchaseItem::Bundle { members, .. } = &p.item else {
            return Ok(vec![]);
        };
        let mut prices = Vec::with_capacity(members.len());
        for m in members {
            match self.store.workflow(*m).await?.and_then(|w| w.content.price) {
                Some(price) if price.currency() == p.amount.currency() => prices.push(price),
                _ => return Ok(vec![]),
            }
        }
        Ok(prices)
    }

    /// Marks a purchase paid (staff; called from the payment webhook).
    /// Idempotent per payment reference: completing again with the same
    /// reference returns the purchase unchanged, also when two deliveries
    /// race; another reference for a settled purchase is a conflict.
    pub async fn complete_purchase(
        &self,
        actor: &Actor,
        id: PurchaseId,
        payment: PaymentRef,
    ) -> Result<Purchase> {
        let span = tracing::info_span!("vault.complete_purchase", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "complete_purchase")?;
            retry_conflicts(self.config.conflict_retries, || async {
                let current = self.load_purchase(id).await?;
                let mut next = current.clone();
                let now = self.now();
                if !next.complete(payment.clone(), now)? {
                    return Ok(current);
                }
                let prices = self.attribution_prices(&current).await?;
                let workflows = current.item.workflows();
                let parts = if prices.len() == workflows.len() {
                    allocate_revenue(current.amount, &prices)?
                } else {
                    current
                        .amount
                        .allocate(&vec![rust_decimal::Decimal::ONE; workflows.len()])?
                };
                let analytics = workflows
                    .iter()
                    .zip(parts)
                    .map(|(w, revenue)| {
                        let mut d = AnalyticsDelta::none(*w, now);
                        d.purchases = 1;
                        d.revenue = revenue.amount();
                        d.currency = Some(revenue.currency());
                        d
                    })
                    .collect();
                let write = PurchaseWrite {
                    purchase: next.clone(),
                    expected_status: current.status,
                    expected_refunded: current.refund.as_ref().map(|r| r.refunded),
                    expected_dispute: current.dispute_outcome,
                    count_purchase: true,
                    analytics,
                    refunds: vec![],
                    audit: None,
                    outbox: self.purchase_outbox(&next, now)?,
                };
                match self.writes.settle_purchase(&write).await {
                    Ok(()) => Ok(next),
                    Err(StoreError::AlreadyExists { .. }) => Err(Error::Conflict {
                        entity: Entity::Purchase,
                        key: payment.as_str().to_owned(),
                        reason: "this payment already settled another purchase",
                    }),
                    Err(e) => Err(e.into()),
                }
            })
            .await
        })
        .await
    }

    /// Marks a pending purchase failed (staff). A failed purchase can still
    /// be completed by a later payment; a paid one cannot fail
    /// ([`Error::InvalidTransition`]).
    pub async fn fail_purchase(&self, actor: &Actor, id: PurchaseId) -> Result<Purchase> {
        let span = tracing::info_span!("vault.fail_purchase", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "fail_purchase")?;
            let current = self.load_purchase(id).await?;
            let mut next = current.clone();
            if !next.fail(self.now())? {
                return Ok(current);
            }
            self.writes
                .settle_purchase(&PurchaseWrite {
                    purchase: next.clone(),
                    expected_status: current.status,
                    expected_refunded: current.refund.as_ref().map(|r| r.refunded),
                    expected_dispute: current.dispute_outcome,
                    count_purchase: false,
                    analytics: vec![],
                    refunds: vec![],
                    audit: None,
                    outbox: vec![],
                })
                .await?;
            Ok(next)
        })
        .await
    }

    /// Applies a refund or dispute event (staff) through the refund
    /// cascade: a full refund revokes access (every member of a bundle), a
    /// dispute suspends it, a partial refund keeps it. Refunded amounts are
    /// attributed to the workflows' analytics. Repeated and stale events
    /// change nothing.
    pub async fn apply_payment_event(
        &self,
        actor: &Actor,
        id: PurchaseId,
        event: PaymentEvent,
    ) -> Result<(Purchase, RefundEffects)> {
        let span = tracing::info_span!("vault.apply_payment_event", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "apply_payment_event")?;
            retry_conflicts(self.config.conflict_retries, || async {
                let current = self.load_purchase(id).await?;
                self.settle_event(current, &event, None).await
            })
            .await
        })
        .await
    }

    /// Refunds `amount` more (all that is left when `None`) of a purchase
    /// (staff). See [`Vault::apply_payment_event`].
    pub async fn refund_purchase(
        &self,
        actor: &Actor,
        id: PurchaseId,
        amount: Option<Money>,
        reason: Option<String>,
    ) -> Result<(Purchase, RefundEffects)> {
        let span = tracing::info_span!("vault.refund_purchase", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "refund_purchase")?;
            retry_conflicts(self.config.conflict_retries, || async {
                // "More" is relative to what is refunded now: the cumulative
                // total comes from the same read as the guarded write, so a
                // refund that lands first makes this one conflict and recompute
                // instead of silently absorbing it.
                let current = self.load_purchase(id).await?;
                let refunded_total = match amount {
                    None => current.total,
                    Some(a) if !a.is_negative() && !a.is_zero() => current
                        .refund
                        .as_ref()
                        .map_or(Money::zero(current.total.currency()), |r| r.refunded)
                        .checked_add(&a)?,
                    Some(_) => {
                        return Err(ValidationError::new(
                            "amount",
                            Reason::OutOfRange {
                                min: "more than 0".into(),
                                max: current.total.to_string(),
                            },
                        )
                        .into());
                    }
                };
                let event = PaymentEvent::Refunded {
                    refunded_total,
                    reason: reason.clone(),
                };
                self.settle_event(current, &event, Some(actor)).await
            })
            .await
        })
        .await
    }

    // Runs the refund cascade on `current` and writes the effects, guarded
    // by the status they were computed from; audited when `staff` made it
    // (a provider's event is not a staff write).
    async fn settle_event(
        &self,
        current: Purchase,
        event: &PaymentEvent,
        staff: Option<&Actor>,
    ) -> Result<(Purchase, RefundEffects)> {
        let prices = self.attribution_prices(&current).await?;
        let now = self.now();
        let effects = cascade(&current, event, &prices, now)?;
        if !effects.changed {
            return Ok((current, effects));
        }
        let mut next = current.clone();
        effects.apply_to(&mut next, now);
        let refunds = effects.lines(next.id, now);
        let analytics = refunds
            .iter()
            .map(|line| {
                let mut d = AnalyticsDelta::none(line.workflow_id, now);
                d.refunds = line.amount.amount();
                d.currency = Some(line.amount.currency());
                d
            })
            .collect();
        let audit = match staff {
            Some(actor) => {
                let mut entry = self
                    .audit(
                        actor,
                        AuditAction::PurchaseRefunded,
                        Entity::Purchase,
                        next.id,
                    )?
                    .with("status", AuditValue::Word(next.status.as_str()))?;
                if let Some(r) = &next.refund {
                    entry = entry.with("refunded", AuditValue::Amount(r.refunded))?;
                }
                Some(entry)
            }
            None => None,
        };
        self.writes
            .settle_purchase(&PurchaseWrite {
                purchase: next.clone(),
                expected_status: current.status,
                expected_refunded: current.refund.as_ref().map(|r| r.refunded),
                expected_dispute: current.dispute_outcome,
                count_purchase: false,
                analytics,
                refunds,
                audit,
                outbox: vec![],
            })
            .await?;
        Ok((next, effects))
    }
}

fn invalid_item(detail: &str) -> Error {
    ValidationError::new(
        "item",
        Reason::Inconsistent {
            detail: detail.into(),
        },
    )
    .into()
}

fn not_on_sale(state: &'static str) -> Error {
    Error::InvalidTransition {
        entity: Entity::Bundle,
        state,
        event: "purchase",
    }
}

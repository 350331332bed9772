//! The refund cascade: what refunds and disputes do to a purchase and to the
//! access it granted.
//!
//! * A **full refund** (refunded total reaches the charged total) revokes the
//!   purchase's access: for a bundle, every member it granted.
//! * A **partial refund** keeps access.
//! * A **dispute** suspends access while open; winning it restores the
//!   status before the dispute, losing it is a full refund.
//!
//! Refunds are stated as the *cumulative* refunded total (as Stripe's
//! `amount_refunded`), which makes them idempotent and order-safe: repeating
//! one, or receiving an older one after a newer one, changes nothing.
//!
//! [`cascade`] only computes [`RefundEffects`]; the service applies them in one
//! guarded write (the purchase must still be in the status the effects were
//! computed from).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bundle::allocate_revenue;
use crate::error::{Error, Reason, ValidationError, check_text};
use crate::ids::WorkflowId;
use crate::money::Money;
use crate::purchase::{PaymentStatus, Purchase, PurchaseItem, RefundState};

/// Something the payment provider reports about a settled purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PaymentEvent {
    /// The refunded total is now `refunded_total` (cumulative).
    Refunded {
        /// Everything refunded so far.
        refunded_total: Money,
        /// Why, if said.
        reason: Option<String>,
    },
    /// A dispute (chargeback) was opened.
    DisputeOpened,
    /// The dispute was closed.
    DisputeClosed {
        /// The merchant won: the funds stay.
        won: bool,
    },
}

/// What happens to access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", content = "workflows", rename_all = "snake_case")]
pub enum AccessEffect {
    /// Access continues.
    Keep,
    /// Access ends for these workflows.
    Revoke(Vec<WorkflowId>),
    /// Access pauses for these workflows until the dispute closes.
    Suspend(Vec<WorkflowId>),
    /// Access resumes for these workflows.
    Restore(Vec<WorkflowId>),
}

/// The computed consequences of a payment event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEffects {
    /// Status the effects were computed from (the guard).
    pub from: PaymentStatus,
    /// Status after.
    pub to: PaymentStatus,
    /// Refund bookkeeping after.
    pub refund: Option<RefundState>,
    /// When a dispute is open, since when.
    pub disputed_at: Option<DateTime<Utc>>,
    /// What happens to access.
    pub access: AccessEffect,
    /// Newly refunded amount per workflow, for analytics (sums exactly to
    /// the new refund; empty when nothing was refunded now).
    pub refunded_per_workflow: Vec<(WorkflowId, Money)>,
    /// False when the event changed nothing (repeated or stale).
    pub changed: bool,
}

impl RefundEffects {
    /// Applies the effects to `purchase`.
    pub fn apply_to(&self, purchase: &mut Purchase, now: DateTime<Utc>) {
        purchase.status = self.to;
        purchase.refund = self.refund.clone();
        purchase.disputed_at = self.disputed_at;
        if self.changed {
            purchase.updated_at = now;
        }
    }
}

/// Computes what `event` does to `purchase`. `member_prices` are the list
/// prices of a bundle's members (same order as the bundle item's members),
/// used to attribute a refund across them; for single workflows pass `&[]`.
pub fn cascade(
    purchase: &Purchase,
    event: &PaymentEvent,
    member_prices: &[Money],
    now: DateTime<Utc>,
) -> Result<RefundEffects, Error> {
    let workflows = purchase.item.workflows();
    let unchanged = || RefundEffects {
        from: purchase.status,
        to: purchase.status,
        refund: purchase.refund.clone(),
        disputed_at: purchase.disputed_at,
        access: AccessEffect::Keep,
        refunded_per_workflow: vec![],
        changed: false,
    };
    if let PaymentEvent::Refunded {
        reason: Some(r), ..
    } = event
    {
        check_text("reason", r, false, 500)?;
    }
    let already = purchase
        .refund
        .as_ref()
        .map_or(Money::zero(purchase.total.currency()), |r| r.refunded);
    match (purchase.status, event) {
        (
            PaymentStatus::Completed | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded,
            PaymentEvent::Refunded {
                refunded_total,
                reason,
            },
        ) => {
            if refunded_total.currency() != purchase.total.currency() {
                return Err(Error::CurrencyMismatch {
                    expected: purchase.total.currency(),
                    found: refunded_total.currency(),
                });
            }
            // A negative total is bad input, not an older event to ignore.
            if refunded_total.is_negative()
                || refunded_total.checked_cmp(&purchase.total)? == std::cmp::Ordering::Greater
            {
                return Err(ValidationError::new(
                    "refunded_total",
                    Reason::OutOfRange {
                        min: "0".into(),
                        max: purchase.total.to_string(),
                    },
                )
                .into());
            }
            // Repeated or older than what we have: nothing to do.
            if refunded_total.checked_cmp(&already)? != std::cmp::Ordering::Greater {
                return Ok(unchanged());
            }
            let new_amount = refunded_total.checked_sub(&already)?;
            let full = *refunded_total == purchase.total;
            let to = if full {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            };
            Ok(RefundEffects {
                from: purchase.status,
                to,
                refund: Some(RefundState {
                    refunded: *refunded_total,
                    reason: reason
                        .clone()
                        .or_else(|| purchase.refund.as_ref().and_then(|r| r.reason.clone())),
                    refunded_at: now,
                }),
                disputed_at: None,
                access: if full && purchase.status != PaymentStatus::Refunded {
                    AccessEffect::Revoke(workflows)
                } else {
                    AccessEffect::Keep
                },
                refunded_per_workflow: attribute(purchase, new_amount, member_prices)?,
                changed: true,
            })
        }
        (
            PaymentStatus::Completed | PaymentStatus::PartiallyRefunded,
            PaymentEvent::DisputeOpened,
        ) => Ok(RefundEffects {
            from: purchase.status,
            to: PaymentStatus::Disputed,
            refund: purchase.refund.clone(),
            disputed_at: Some(now),
            access: AccessEffect::Suspend(workflows),
            refunded_per_workflow: vec![],
            changed: true,
        }),
        (PaymentStatus::Disputed, PaymentEvent::DisputeOpened) => Ok(unchanged()),
        (PaymentStatus::Disputed, PaymentEvent::DisputeClosed { won: true }) => {
            let partially = purchase
                .refund
                .as_ref()
                .is_some_and(|r| !r.refunded.is_zero());
            Ok(RefundEffects {
                from: purchase.status,
                to: if partially {
                    PaymentStatus::PartiallyRefunded
                } else {
                    PaymentStatus::Completed
                },
                refund: purchase.refund.clone(),
                disputed_at: None,
                access: AccessEffect::Restore(workflows),
                refunded_per_workflow: vec![],
                changed: true,
            })
        }
        (PaymentStatus::Disputed, PaymentEvent::DisputeClosed { won: false }) => {
            let new_amount = purchase.total.checked_sub(&already)?;
            Ok(RefundEffects {
                from: purchase.status,
                to: PaymentStatus::Refunded,
                refund: Some(RefundState {
                    refunded: purchase.total,
                    reason: Some("dispute lost".into()),
                    refunded_at: now,
                }),
                disputed_at: None,
                access: AccessEffect::Revoke(workflows),
                refunded_per_workflow: attribute(purchase, new_amount, member_prices)?,
                changed: true,
            })
        }
        // A close for a dispute we never saw open, or already closed: stale.
        (
            PaymentStatus::Completed | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded,
            PaymentEvent::DisputeClosed { .. },
        )
        | (PaymentStatus::Refunded, PaymentEvent::DisputeOpened) => Ok(unchanged()),
        (PaymentStatus::Disputed, PaymentEvent::Refunded { .. }) => Err(purchase.refuse("refund")),
        (PaymentStatus::Pending | PaymentStatus::Failed, _) => Err(purchase.refuse(match event {
            PaymentEvent::Refunded { .. } => "refund",
            PaymentEvent::DisputeOpened => "open_dispute",
            PaymentEvent::DisputeClosed { .. } => "close_dispute",
        })),
    }
}

// Splits a newly refunded amount across the workflows the purchase granted.
fn attribute(
    purchase: &Purchase,
    amount: Money,
    member_prices: &[Money],
) -> Result<Vec<(WorkflowId, Money)>, Error> {
    if amount.is_zero() {
        return Ok(vec![]);
    }
    let workflows = purchase.item.workflows();
    let parts = match &purchase.item {
        PurchaseItem::Bundle { .. } if member_prices.len() == workflows.len() => {
            allocate_revenue(amount, member_prices)?
        }
        _ => amount.allocate(&vec![rust_decimal::Decimal::ONE; workflows.len()])?,
    };
    Ok(workflows.into_iter().zip(parts).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BundleId;
    use crate::money::Currency;
    use crate::purchase::{PaymentRef, tests::pending};
    use proptest::prelude::*;

    fn usd(c: i64) -> Money {
        Money::from_minor(c, Currency::USD)
    }

    fn paid_bundle() -> Purchase {
        let members = vec![
            WorkflowId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkflowId::from_uuid(uuid::Uuid::from_u128(2)),
        ];
        let mut p = pending(
            PurchaseItem::Bundle {
                bundle_id: BundleId::from_uuid(uuid::Uuid::nil()),
                members,
            },
            9000,
        );
        p.complete(
            PaymentRef::parse("pi_b").expect("valid"),
            DateTime::<Utc>::UNIX_EPOCH,
        )
        .expect("completes");
        p
    }

    fn refund(total: i64) -> PaymentEvent {
        PaymentEvent::Refunded {
            refunded_total: usd(total),
            reason: None,
        }
    }

    #[test]
    fn full_refund_of_a_bundle_revokes_every_member() {
        let p = paid_bundle();
        let fx = cascade(
            &p,
            &refund(9000),
            &[usd(6000), usd(4000)],
            DateTime::<Utc>::UNIX_EPOCH,
        )
        .expect("ok");
        assert_eq!(fx.to, PaymentStatus::Refunded);
        assert_eq!(fx.access, AccessEffect::Revoke(p.item.workflows()));
        let parts: Vec<i64> = fx
            .refunded_per_workflow
            .iter()
            .filter_map(|(_, m)| m.to_minor())
            .collect();
        assert_eq!(parts, vec![5400, 3600]);
    }

    #[test]
    fn partial_refund_keeps_access_and_repeats_are_no_ops() {
        let mut p = paid_bundle();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let fx = cascade(&p, &refund(1000), &[], now).expect("ok");
        assert_eq!(fx.to, PaymentStatus::PartiallyRefunded);
        assert_eq!(fx.access, AccessEffect::Keep);
        fx.apply_to(&mut p, now);
        assert!(!cascade(&p, &refund(1000), &[], now).expect("ok").changed);
        assert!(!cascade(&p, &refund(500), &[], now).expect("stale").changed);
        let fx = cascade(&p, &refund(9000), &[], now).expect("ok");
        assert_eq!(fx.to, PaymentStatus::Refunded);
        let sum: i64 = fx
            .refunded_per_workflow
            .iter()
            .filter_map(|(_, m)| m.to_minor())
            .sum();
        assert_eq!(sum, 8000);
    }

    #[test]
    fn disputes_suspend_and_restore() {
        let mut p = paid_bundle();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let fx = cascade(&p, &PaymentEvent::DisputeOpened, &[], now).expect("ok");
        assert!(matches!(fx.access, AccessEffect::Suspend(_)));
        fx.apply_to(&mut p, now);
        assert!(matches!(
            cascade(&p, &refund(10), &[], now),
            Err(Error::InvalidTransition { .. })
        ));
        let won = cascade(&p, &PaymentEvent::DisputeClosed { won: true }, &[], now).expect("ok");
        assert_eq!(won.to, PaymentStatus::Completed);
        let lost = cascade(&p, &PaymentEvent::DisputeClosed { won: false }, &[], now).expect("ok");
        assert_eq!(lost.to, PaymentStatus::Refunded);
        assert!(matches!(lost.access, AccessEffect::Revoke(_)));
    }

    #[test]
    fn bad_refunds_are_typed() {
        let p = paid_bundle();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert!(
            matches!(cascade(&p, &refund(9001), &[], now), Err(Error::Invalid(e)) if e.field() == "refunded_total")
        );
        assert!(
            matches!(cascade(&p, &refund(-1), &[], now), Err(Error::Invalid(e)) if e.field() == "refunded_total"),
            "a negative refund is refused, not ignored as stale"
        );
        let eur = PaymentEvent::Refunded {
            refunded_total: Money::from_minor(1, Currency::EUR),
            reason: None,
        };
        assert!(matches!(
            cascade(&p, &eur, &[], now),
            Err(Error::CurrencyMismatch { .. })
        ));
        let pending = pending(
            PurchaseItem::Workflow {
                workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            },
            100,
        );
        assert!(matches!(
            cascade(&pending, &refund(1), &[], now),
            Err(Error::InvalidTransition { .. })
        ));
    }

    proptest! {
        /// Any sequence of refunds (in any order) ends in the status the
        /// largest cumulative total implies, and a full refund never leaves
        /// a paid status.
        #[test]
        fn refund_order_does_not_matter(totals in proptest::collection::vec(1i64..=9000, 1..10)) {
            let now = DateTime::<Utc>::UNIX_EPOCH;
            let mut p = paid_bundle();
            for t in &totals {
                let fx = cascade(&p, &refund(*t), &[], now).expect("ok");
                fx.apply_to(&mut p, now);
            }
            let max = *totals.iter().max().expect("non-empty");
            prop_assert_eq!(p.refund.as_ref().map(|r| r.refunded), Some(usd(max)));
            if max == 9000 {
                prop_assert_eq!(p.status, PaymentStatus::Refunded);
                prop_assert!(!p.status.is_paid());
            } else {
                prop_assert_eq!(p.status, PaymentStatus::PartiallyRefunded);
            }
        }
    }
}

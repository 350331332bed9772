//! The refund cascade: what refunds and disputes do to a purchase and to the
//! access it granted.
//!
//! * A **full refund** (refunded total reaches the charged total) revokes the
//!   purchase's access: for a bundle, every member it granted.
//! * A **partial refund** keeps access.
//! * A **dispute** suspends access while open; winning it restores the
//!   status before the dispute, losing it is a full refund.
//!
//! # Order-safe by construction
//! Payment providers deliver these events at least once and in any order;
//! the final state depends only on *which* events happened:
//! * Refunds are stated as the *cumulative* refunded total (as Stripe's
//!   `amount_refunded`): the purchase keeps the largest total seen, so a
//!   repeated or older refund changes nothing.
//! * A dispute only moves forward: none → open → closed (won or lost). The
//!   outcome is remembered on the purchase ([`Purchase::dispute_outcome`]),
//!   so an opening delivered after the close changes nothing, and a close
//!   delivered before the opening applies its outcome directly.
//! * A refund made before a dispute opened but delivered while it is open
//!   is recorded without ending the dispute (a full one still revokes).
//! * Full refunds and lost disputes are terminal: nothing undoes them.
//!
//! [`cascade`] only computes [`RefundEffects`]; the service applies them in one
//! guarded write (the purchase must still be in the status the effects were
//! computed from).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::bundle::allocate_revenue;
use crate::commerce::purchase::{
    DisputeOutcome, PaymentStatus, Purchase, PurchaseItem, RefundState,
};
use crate::value::error::Error;
use crate::value::ids::{PurchaseId, WorkflowId};
use crate::value::money::Money;
use crate::value::validation::{Reason, ValidationError, check_text};

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
    /// How the dispute closed, once it has.
    pub dispute_outcome: Option<DisputeOutcome>,
    /// What happens to access.
    pub access: AccessEffect,
    /// Newly refunded amount per workflow, for analytics (sums exactly to
    /// the new refund; empty when nothing was refunded now).
    pub refunded_per_workflow: Vec<(WorkflowId, Money)>,
    /// False when the event changed nothing (repeated or stale).
    pub changed: bool,
}

/// One workflow's share of one refund, kept as a row beside the purchase:
/// the purchase's refund history, and what a day's `refunds` figure is
/// counted again from. A lost dispute refunds what was left, so it makes
/// lines too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The purchase refunded.
    pub purchase_id: PurchaseId,
    /// The workflow the share is attributed to.
    pub workflow_id: WorkflowId,
    /// The share refunded now (not cumulative).
    pub amount: Money,
    /// When the refund was recorded.
    pub refunded_at: DateTime<Utc>,
}

impl RefundEffects {
    /// The rows of what was refunded now, one per workflow (none when
    /// nothing was).
    pub fn lines(&self, purchase: PurchaseId, now: DateTime<Utc>) -> Vec<RefundLine> {
        self.refunded_per_workflow
            .iter()
            .map(|(w, amount)| RefundLine {
                purchase_id: purchase,
                workflow_id: *w,
                amount: *amount,
                refunded_at: now,
            })
            .collect()
    }

    /// Applies the effects to `purchase`.
    pub fn apply_to(&self, purchase: &mut Purchase, now: DateTime<Utc>) {
        purchase.status = self.to;
        purchase.refund = self.refund.clone();
        purchase.disputed_at = self.disputed_at;
        purchase.dispute_outcome = self.dispute_outcome;
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
        dispute_outcome: purchase.dispute_outcome,
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
    use PaymentStatus as S;
    let open = purchase.dispute_outcome.is_none();
    match (purchase.status, event) {
        (
            S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed,
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
            // A partial refund delivered while a dispute is open was made
            // before it opened: it is recorded, and the dispute stays open.
            let to = match (full, purchase.status) {
                (true, _) => S::Refunded,
                (false, S::Disputed) => S::Disputed,
                (false, _) => S::PartiallyRefunded,
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
                disputed_at: purchase.disputed_at.filter(|_| to == S::Disputed),
                dispute_outcome: purchase.dispute_outcome,
                access: if full && purchase.status != S::Refunded {
                    AccessEffect::Revoke(workflows)
                } else {
                    AccessEffect::Keep
                },
                refunded_per_workflow: attribute(purchase, new_amount, member_prices)?,
                changed: true,
            })
        }
        (S::Completed | S::PartiallyRefunded, PaymentEvent::DisputeOpened) if open => {
            Ok(RefundEffects {
                from: purchase.status,
                to: S::Disputed,
                refund: purchase.refund.clone(),
                disputed_at: Some(now),
                dispute_outcome: None,
                access: AccessEffect::Suspend(workflows),
                refunded_per_workflow: vec![],
                changed: true,
            })
        }
        // Repeated, after a full refund, or delivered after its own close.
        (
            S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed,
            PaymentEvent::DisputeOpened,
        ) => Ok(unchanged()),
        (S::Disputed, PaymentEvent::DisputeClosed { won: true }) => Ok(RefundEffects {
            from: purchase.status,
            to: restored(purchase),
            refund: purchase.refund.clone(),
            disputed_at: None,
            dispute_outcome: Some(DisputeOutcome::Won),
            access: AccessEffect::Restore(workflows),
            refunded_per_workflow: vec![],
            changed: true,
        }),
        // Won before its opening was seen: remembered, nothing else moves.
        (S::Completed | S::PartiallyRefunded, PaymentEvent::DisputeClosed { won: true })
            if open =>
        {
            Ok(RefundEffects {
                dispute_outcome: Some(DisputeOutcome::Won),
                changed: true,
                ..unchanged()
            })
        }
        // Lost, whether or not its opening was seen: the funds are gone.
        (
            S::Disputed | S::Completed | S::PartiallyRefunded,
            PaymentEvent::DisputeClosed { won: false },
        ) if open => {
            let new_amount = purchase.total.checked_sub(&already)?;
            Ok(RefundEffects {
                from: purchase.status,
                to: S::Refunded,
                refund: Some(RefundState {
                    refunded: purchase.total,
                    reason: Some("dispute lost".into()),
                    refunded_at: now,
                }),
                disputed_at: None,
                dispute_outcome: Some(DisputeOutcome::Lost),
                access: AccessEffect::Revoke(workflows),
                refunded_per_workflow: attribute(purchase, new_amount, member_prices)?,
                changed: true,
            })
        }
        // Already closed, or after a full refund: nothing left to decide.
        (
            S::Completed | S::PartiallyRefunded | S::Refunded | S::Disputed,
            PaymentEvent::DisputeClosed { .. },
        ) => Ok(unchanged()),
        (S::Pending | S::Failed, _) => Err(purchase.refuse(match event {
            PaymentEvent::Refunded { .. } => "refund",
            PaymentEvent::DisputeOpened => "open_dispute",
            PaymentEvent::DisputeClosed { .. } => "close_dispute",
        })),
    }
}

// The status a won dispute returns to: what the refunds so far imply.
fn restored(purchase: &Purchase) -> PaymentStatus {
    if purchase
        .refund
        .as_ref()
        .is_some_and(|r| !r.refunded.is_zero())
    {
        PaymentStatus::PartiallyRefunded
    } else {
        PaymentStatus::Completed
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
    use crate::commerce::purchase::{PaymentRef, tests::pending};
    use crate::value::ids::BundleId;
    use crate::value::money::Currency;
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
        // A refund made before the dispute opened, delivered while it is open.
        let during = cascade(&p, &refund(10), &[], now).expect("recorded");
        assert_eq!(
            (during.to, &during.access),
            (PaymentStatus::Disputed, &AccessEffect::Keep)
        );
        assert!(
            !cascade(&p, &PaymentEvent::DisputeOpened, &[], now)
                .expect("repeat")
                .changed
        );
        let won = cascade(&p, &PaymentEvent::DisputeClosed { won: true }, &[], now).expect("ok");
        assert_eq!(won.to, PaymentStatus::Completed);
        assert_eq!(won.dispute_outcome, Some(DisputeOutcome::Won));
        let mut after = p.clone();
        during.apply_to(&mut after, now);
        let won =
            cascade(&after, &PaymentEvent::DisputeClosed { won: true }, &[], now).expect("ok");
        assert_eq!(won.to, PaymentStatus::PartiallyRefunded);
        let lost = cascade(&p, &PaymentEvent::DisputeClosed { won: false }, &[], now).expect("ok");
        assert_eq!(lost.to, PaymentStatus::Refunded);
        assert!(matches!(lost.access, AccessEffect::Revoke(_)));
    }

    #[test]
    fn a_close_delivered_before_its_opening_decides() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let open = PaymentEvent::DisputeOpened;
        let mut p = paid_bundle();
        let won = cascade(&p, &PaymentEvent::DisputeClosed { won: true }, &[], now).expect("ok");
        assert!(won.changed);
        assert_eq!(
            (won.to, won.dispute_outcome, &won.access),
            (
                PaymentStatus::Completed,
                Some(DisputeOutcome::Won),
                &AccessEffect::Keep
            )
        );
        won.apply_to(&mut p, now);
        assert!(!cascade(&p, &open, &[], now).expect("late opening").changed);
        let mut q = paid_bundle();
        let lost = cascade(&q, &PaymentEvent::DisputeClosed { won: false }, &[], now).expect("ok");
        assert_eq!(lost.to, PaymentStatus::Refunded);
        assert!(matches!(lost.access, AccessEffect::Revoke(_)));
        lost.apply_to(&mut q, now);
        assert!(!cascade(&q, &open, &[], now).expect("late opening").changed);
        assert!(
            !cascade(&q, &refund(100), &[], now)
                .expect("older refund")
                .changed
        );
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

    /// A plausible set of payment events about one paid purchase of 9000:
    /// cumulative refunds, and a dispute that may have opened and closed.
    #[derive(Debug, Clone)]
    struct Story {
        refunds: Vec<i64>,
        opened: bool,
        closed: Option<bool>,
    }

    fn story() -> impl Strategy<Value = Story> {
        (
            proptest::collection::vec(1i64..=9000, 0..4),
            any::<bool>(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(refunds, opened, closed)| {
                // A fully refunded charge is not disputed.
                let disputable = !refunds.contains(&9000);
                Story {
                    opened: opened && disputable,
                    closed: closed.filter(|_| disputable),
                    refunds,
                }
            })
    }

    fn events_of(s: &Story) -> Vec<PaymentEvent> {
        let mut events: Vec<PaymentEvent> = s.refunds.iter().map(|t| refund(*t)).collect();
        if s.opened {
            events.push(PaymentEvent::DisputeOpened);
        }
        if let Some(won) = s.closed {
            events.push(PaymentEvent::DisputeClosed { won });
        }
        events
    }

    proptest! {
        /// Whatever the order and however often each arrives, a set of
        /// payment events ends in the state the set defines: a lost dispute
        /// is a full refund, an open one suspends, otherwise the largest
        /// refund decides; the refunds attributed to analytics add up to
        /// the final refunded amount, and access is revoked at most once.
        #[test]
        fn payment_events_commute(
            s in story(),
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
        ) {
            let now = DateTime::<Utc>::UNIX_EPOCH;
            let events = events_of(&s);
            let mut delivery: Vec<&PaymentEvent> = events.iter().collect();
            // Repeats, then a shuffle driven by `order`.
            for i in &order {
                if !events.is_empty() {
                    delivery.push(&events[i.index(events.len())]);
                }
            }
            if !delivery.is_empty() {
                for (k, i) in order.iter().enumerate() {
                    let j = i.index(delivery.len());
                    let k = k % delivery.len();
                    delivery.swap(j, k);
                }
            }
            let mut p = paid_bundle();
            let (mut attributed, mut revoked) = (0i64, 0);
            for e in delivery {
                let fx = cascade(&p, e, &[usd(6000), usd(4000)], now).expect("applies");
                attributed += fx.refunded_per_workflow.iter().filter_map(|(_, m)| m.to_minor()).sum::<i64>();
                revoked += i32::from(matches!(fx.access, AccessEffect::Revoke(_)));
                fx.apply_to(&mut p, now);
            }
            let largest = s.refunds.iter().copied().max().unwrap_or(0);
            let (status, refunded) = match s.closed {
                Some(false) => (PaymentStatus::Refunded, 9000),
                _ if largest == 9000 => (PaymentStatus::Refunded, 9000),
                None if s.opened => (PaymentStatus::Disputed, largest),
                _ if largest > 0 => (PaymentStatus::PartiallyRefunded, largest),
                _ => (PaymentStatus::Completed, 0),
            };
            prop_assert_eq!(p.status, status);
            prop_assert_eq!(p.refund.as_ref().and_then(|r| r.refunded.to_minor()).unwrap_or(0), refunded);
            prop_assert_eq!(attributed, refunded);
            prop_assert_eq!(revoked, i32::from(status == PaymentStatus::Refunded));
            prop_assert_eq!(p.dispute_outcome, s.closed.map(|won| if won { DisputeOutcome::Won } else { DisputeOutcome::Lost }));
        }

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

    #[test]
    fn a_dispute_date_stays_while_the_dispute_is_open_and_goes_with_a_full_refund() {
        let mut p = paid_bundle();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        cascade(&p, &PaymentEvent::DisputeOpened, &[], now)
            .expect("opens")
            .apply_to(&mut p, now);
        let opened = p.disputed_at;
        assert!(opened.is_some());
        let partial = cascade(&p, &refund(10), &[], now).expect("recorded");
        assert_eq!(partial.disputed_at, opened, "still open");
        let full = cascade(&p, &refund(9000), &[], now).expect("refunded");
        assert_eq!((full.to, full.disputed_at), (PaymentStatus::Refunded, None));
    }

    #[test]
    fn a_dispute_closes_once_later_closes_change_nothing() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut p = paid_bundle();
        for e in [
            PaymentEvent::DisputeOpened,
            PaymentEvent::DisputeClosed { won: true },
        ] {
            cascade(&p, &e, &[], now).expect("ok").apply_to(&mut p, now);
        }
        assert_eq!(
            (p.status, p.dispute_outcome),
            (PaymentStatus::Completed, Some(DisputeOutcome::Won))
        );
        for again in [
            PaymentEvent::DisputeClosed { won: true },
            PaymentEvent::DisputeClosed { won: false },
        ] {
            let fx = cascade(&p, &again, &[], now).expect("ok");
            assert!(!fx.changed, "{again:?} after the close");
            assert_eq!(fx.access, AccessEffect::Keep);
            assert_eq!(fx.to, PaymentStatus::Completed);
        }
    }
}

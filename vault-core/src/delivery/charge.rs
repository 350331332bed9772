//! What a download is charged to, and the verdict of the guard that charges
//! it.
//!
//! A download's write is guarded: the entitlement it is charged to must
//! still be in the state the access decision saw (a refund, a dispute or a
//! renewal may have landed since) and its quota must have room, at commit
//! time. A store may keep the guard in SQL as one compare-and-increment
//! (`UPDATE ... WHERE status = $2 AND used < $3`, which is what makes the
//! write one round trip); its parameters come from [`Charge`], and when it
//! misses, the store reads what it holds ([`Charged`]) and
//! [`Charge::verdict`] says why. A store that checks before it increments
//! calls the same verdict first.

use chrono::{DateTime, Utc};

use crate::value::error::{Entity, StoreError};
use crate::value::ids::{MembershipId, PurchaseId};
use crate::value::status::{MembershipStatus, PaymentStatus};

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

/// What the store holds for the entitlement a charge names, read inside the
/// write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charged {
    /// A purchase.
    Purchase {
        /// Its payment status.
        status: PaymentStatus,
        /// Downloads used against its license.
        used: u32,
    },
    /// A membership.
    Membership {
        /// Its status.
        status: MembershipStatus,
        /// When its current period started.
        period_start: DateTime<Utc>,
        /// Downloads used in that period.
        used: u32,
    },
}

/// Why a purchase charge missed: its payment status moved (a refund, a
/// dispute).
pub const STATUS_MOVED: &str = "the payment status changed since the decision";
/// Why a membership charge missed: its status or period moved (a
/// cancellation, a renewal that reset the quota).
pub const MEMBERSHIP_MOVED: &str = "the membership changed since the decision";
/// Why a compare-and-increment missed although the state read afterwards
/// satisfies it: another write moved it in between; deciding again helps.
pub const MOVED_MEANWHILE: &str = "the entitlement changed while the download was charged";

impl Charge {
    /// The guard's verdict over what the store holds (`None`: the
    /// entitlement does not exist): `Ok` when the download may be charged,
    /// else the error that explains the miss, in this order: `NotFound`,
    /// `Conflict` (status or period moved, [`STATUS_MOVED`] or
    /// [`MEMBERSHIP_MOVED`]), `LimitReached` (used has reached the charge's
    /// limit). A charge of [`Charge::Nothing`] always passes; an entitlement
    /// of the other kind is `NotFound`.
    pub fn verdict(&self, found: Option<Charged>) -> Result<(), StoreError> {
        let room = |entity: Entity, key: String, used: u32, limit: Option<u32>| match limit {
            Some(limit) if used >= limit => Err(StoreError::LimitReached { entity, key, limit }),
            _ => Ok(()),
        };
        match (*self, found) {
            (Charge::Nothing, _) => Ok(()),
            (
                Charge::Purchase {
                    id,
                    expected_status,
                    limit,
                },
                Some(Charged::Purchase { status, used }),
            ) => {
                if status != expected_status {
                    return Err(StoreError::conflict(Entity::Purchase, id, STATUS_MOVED));
                }
                room(Entity::Purchase, id.to_string(), used, limit)
            }
            (
                Charge::Membership {
                    id,
                    expected_status,
                    period_start,
                    limit,
                },
                Some(Charged::Membership {
                    status,
                    period_start: start,
                    used,
                }),
            ) => {
                if status != expected_status || start != period_start {
                    return Err(StoreError::conflict(
                        Entity::Membership,
                        id,
                        MEMBERSHIP_MOVED,
                    ));
                }
                room(Entity::Membership, id.to_string(), used, limit)
            }
            (Charge::Purchase { id, .. }, _) => Err(StoreError::not_found(Entity::Purchase, id)),
            (Charge::Membership { id, .. }, _) => {
                Err(StoreError::not_found(Entity::Membership, id))
            }
        }
    }

    /// Why a compare-and-increment of this charge missed, given what the
    /// store holds when it looks: the [`Charge::verdict`] error, or, when the
    /// state now satisfies the guard (it moved in between),
    /// a `Conflict` ([`MOVED_MEANWHILE`]).
    pub fn miss(&self, found: Option<Charged>) -> StoreError {
        match self.verdict(found) {
            Err(e) => e,
            Ok(()) => {
                let (entity, key) = match *self {
                    Charge::Purchase { id, .. } => (Entity::Purchase, id.to_string()),
                    Charge::Membership { id, .. } => (Entity::Membership, id.to_string()),
                    Charge::Nothing => (Entity::Download, String::new()),
                };
                StoreError::Conflict {
                    entity,
                    key,
                    reason: MOVED_MEANWHILE,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s)
    }

    fn purchase(limit: Option<u32>) -> Charge {
        Charge::Purchase {
            id: PurchaseId::from_uuid(uuid::Uuid::nil()),
            expected_status: PaymentStatus::Completed,
            limit,
        }
    }

    fn membership(limit: Option<u32>) -> Charge {
        Charge::Membership {
            id: MembershipId::from_uuid(uuid::Uuid::nil()),
            expected_status: MembershipStatus::Active,
            period_start: at(0),
            limit,
        }
    }

    #[test]
    fn each_miss_names_its_cause() {
        let held = |status, used| Some(Charged::Purchase { status, used });
        assert!(
            purchase(Some(2))
                .verdict(held(PaymentStatus::Completed, 1))
                .is_ok()
        );
        assert!(matches!(
            purchase(Some(2)).verdict(held(PaymentStatus::Completed, 2)),
            Err(StoreError::LimitReached { limit: 2, .. })
        ));
        assert!(matches!(
            purchase(Some(2)).verdict(held(PaymentStatus::Refunded, 0)),
            Err(StoreError::Conflict {
                reason: STATUS_MOVED,
                ..
            })
        ));
        assert!(matches!(
            purchase(None).verdict(None),
            Err(StoreError::NotFound {
                entity: Entity::Purchase,
                ..
            })
        ));
        let renewed = Some(Charged::Membership {
            status: MembershipStatus::Active,
            period_start: at(30),
            used: 0,
        });
        assert!(matches!(
            membership(Some(5)).verdict(renewed),
            Err(StoreError::Conflict {
                reason: MEMBERSHIP_MOVED,
                ..
            })
        ));
        assert!(matches!(
            membership(None).verdict(held(PaymentStatus::Completed, 0)),
            Err(StoreError::NotFound {
                entity: Entity::Membership,
                ..
            })
        ));
        assert!(Charge::Nothing.verdict(None).is_ok());
        // A compare-and-increment that missed while the state now passes:
        // it moved in between.
        assert!(matches!(
            purchase(Some(2)).miss(held(PaymentStatus::Completed, 1)),
            StoreError::Conflict {
                reason: MOVED_MEANWHILE,
                ..
            }
        ));
    }

    fn arb_status() -> impl Strategy<Value = PaymentStatus> {
        proptest::sample::select(PaymentStatus::ALL.to_vec())
    }

    proptest! {
        /// The verdict passes exactly when the SQL guard would match: the
        /// same status (and period) and, with a limit, used below it.
        #[test]
        fn verdict_is_the_guard(
            expected in arb_status(),
            status in arb_status(),
            used in 0u32..10,
            limit in proptest::option::of(0u32..10),
            start in 0i64..3,
            held_start in 0i64..3,
            member in any::<bool>(),
        ) {
            let (charge, held) = if member {
                let s = if expected.is_paid() { MembershipStatus::Active } else { MembershipStatus::PastDue };
                let h = if status.is_paid() { MembershipStatus::Active } else { MembershipStatus::PastDue };
                (
                    Charge::Membership { id: MembershipId::from_uuid(uuid::Uuid::nil()), expected_status: s, period_start: at(start), limit },
                    Charged::Membership { status: h, period_start: at(held_start), used },
                )
            } else {
                (
                    Charge::Purchase { id: PurchaseId::from_uuid(uuid::Uuid::nil()), expected_status: expected, limit },
                    Charged::Purchase { status, used },
                )
            };
            let same = match (charge, held) {
                (Charge::Membership { expected_status, period_start, .. }, Charged::Membership { status, period_start: p, .. }) => expected_status == status && period_start == p,
                (Charge::Purchase { expected_status, .. }, Charged::Purchase { status, .. }) => expected_status == status,
                _ => false,
            };
            let guard = same && limit.is_none_or(|l| used < l);
            prop_assert_eq!(charge.verdict(Some(held)).is_ok(), guard);
            if !guard {
                prop_assert_eq!(
                    format!("{:?}", Err::<(), _>(charge.miss(Some(held)))),
                    format!("{:?}", charge.verdict(Some(held)))
                );
            }
        }
    }
}

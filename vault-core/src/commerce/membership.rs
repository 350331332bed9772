//! Memberships: subscriptions that cover every workflow up to a tier, with a
//! download quota per billing period.
//!
//! # State machine
//! ```text
//!            ┌──────── renew / activate ───────┐
//!            ▼                                 │
//!  trialing ──renew──▶ active ──payment_failed──▶ past_due
//!     │                 │ ▲ └──renew (new period, quota reset)
//!     │                 │ └───────── renew ─────────┘
//!     ├── cancel ───────┴──────── cancel ──────────▶ canceled ──expire──▶ expired
//!     └── expire (trial over) ──── expire (period over) ──────────────────▶ expired
//! ```
//! `change_tier` (upgrade or downgrade) is allowed in trialing, active and
//! past_due and keeps the original enrollment date. `canceled` and `expired`
//! accept nothing but `expire` (canceled only); every other event there is a
//! typed [`Error::InvalidTransition`]. Re-delivering a renewal for the period
//! already current is a no-op, so webhooks can repeat safely.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::commerce::license::Quota;
use crate::commerce::provider::ProviderSync;
use crate::commerce::purchase::ProviderRefs;
use crate::value::actor::UserId;
use crate::value::clock::check_time;
use crate::value::error::{Entity, Error};
use crate::value::ids::MembershipId;
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError, check_limit, check_text};

pub use crate::value::status::MembershipStatus;
/// A billing period `[start, end)`. Deserializing goes through
/// [`Period::new`], so a webhook or stored row cannot carry an empty or
/// reversed period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PeriodRepr")]
pub struct Period {
    /// First instant of the period.
    pub start: DateTime<Utc>,
    /// First instant after the period.
    pub end: DateTime<Utc>,
}

// The serialized shape of `Period`, checked on the way in.
#[derive(Deserialize)]
struct PeriodRepr {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<PeriodRepr> for Period {
    type Error = ValidationError;
    fn try_from(r: PeriodRepr) -> Result<Self, Self::Error> {
        Period::new(r.start, r.end)
    }
}

impl Period {
    /// Checks `start < end`, both within the dates every store holds
    /// ([`crate::value::clock::MIN_DATE`]..=[`crate::value::clock::MAX_DATE`]).
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, ValidationError> {
        check_time("current_period_start", start)?;
        check_time("current_period_end", end)?;
        if end <= start {
            return Err(ValidationError::new(
                "current_period_end",
                Reason::Inconsistent {
                    detail: "must be after current_period_start".into(),
                },
            ));
        }
        Ok(Self { start, end })
    }

    /// True when `now` lies within the period.
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end
    }
}

/// A stored membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Id.
    pub id: MembershipId,
    /// Member.
    pub user_id: UserId,
    /// Tier: covers workflows of this tier and below.
    pub tier: PricingTier,
    /// Status.
    pub status: MembershipStatus,
    /// End of the trial, when there was one.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// The current billing period.
    pub period: Period,
    /// Downloads used in the current period against the period limit.
    pub quota: Quota,
    /// Ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it entered past_due (grace is counted from here).
    pub past_due_since: Option<DateTime<Utc>>,
    /// When the past-due grace ends, fixed by [`Membership::settle_grace`]
    /// as the membership is written past due: the grace promised then holds
    /// if the policy changes later, and a report straight from SQL (the
    /// `active_memberships` view) reads the same instant the rule does.
    /// `None` unless past due.
    #[serde(default)]
    pub grace_ends_at: Option<DateTime<Utc>>,
    /// When it was canceled.
    pub canceled_at: Option<DateTime<Utc>>,
    /// When it ended (canceled or expired).
    pub ended_at: Option<DateTime<Utc>>,
    /// Feature flags and limits the tier grants (the seed's JSONB `features`).
    pub features: BTreeMap<String, serde_json::Value>,
    /// First enrollment; kept across upgrades, downgrades and renewals.
    pub enrolled_at: DateTime<Utc>,
    /// Provider ids (customer, subscription, price).
    pub provider: ProviderRefs,
    /// Which provider events the status and terms came from, so that an
    /// older event delivered late changes nothing (see
    /// [`crate::commerce::subscription`]).
    pub provider_sync: ProviderSync,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; a write expecting an older one conflicts.
    pub revision: u64,
}

/// Most feature flags a membership carries.
pub const MAX_FEATURES: usize = 100;
/// The longest feature name, in characters.
pub const MAX_FEATURE_NAME: usize = 100;
/// The largest feature map, as JSON bytes: flags and limits, not documents.
pub const MAX_FEATURES_JSON: usize = 16 * 1024;

/// A feature map stays a handful of named flags and limits: at most
/// [`MAX_FEATURES`] entries, names of 1-[`MAX_FEATURE_NAME`] printable
/// characters, [`MAX_FEATURES_JSON`] bytes of JSON in all, and no control
/// characters in any string within (keys of nested objects included):
/// PostgreSQL's `jsonb` refuses `\u0000`, so a NUL would fail only there.
fn check_features(features: &BTreeMap<String, serde_json::Value>) -> Result<(), ValidationError> {
    if features.len() > MAX_FEATURES {
        return Err(ValidationError::new(
            "features",
            Reason::TooLong { max: MAX_FEATURES },
        ));
    }
    for name in features.keys() {
        check_text("features", name, true, MAX_FEATURE_NAME)?;
    }
    let size = serde_json::to_vec(features).map_or(usize::MAX, |json| json.len());
    if size > MAX_FEATURES_JSON {
        return Err(ValidationError::new(
            "features",
            Reason::TooLong {
                max: MAX_FEATURES_JSON,
            },
        ));
    }
    // A stack of our own rather than recursion: nesting is bounded only by
    // the size.
    let mut pending: Vec<&serde_json::Value> = features.values().collect();
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::String(s) => check_text("features", s, false, MAX_FEATURES_JSON)?,
            serde_json::Value::Array(items) => pending.extend(items),
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    check_text("features", key, false, MAX_FEATURES_JSON)?;
                    pending.push(item);
                }
            }
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
            }
        }
    }
    Ok(())
}

/// What the service needs to start a membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMembership {
    /// Member.
    pub user_id: UserId,
    /// Tier (not `free`).
    pub tier: PricingTier,
    /// The first period. With `trial`, the period is the trial.
    pub period: Period,
    /// Start in a trial that ends with the first period.
    pub trial: bool,
    /// Downloads per period (`None`: unlimited).
    pub period_download_limit: Option<u32>,
    /// Feature flags.
    pub features: BTreeMap<String, serde_json::Value>,
    /// Provider ids.
    pub provider: ProviderRefs,
}

impl NewMembership {
    /// Builds the membership in `trialing` or `active`.
    pub fn build(
        self,
        id: MembershipId,
        now: DateTime<Utc>,
    ) -> Result<Membership, ValidationError> {
        if self.tier == PricingTier::Free {
            return Err(ValidationError::new(
                "tier",
                Reason::Inconsistent {
                    detail: "free content needs no membership".into(),
                },
            ));
        }
        check_limit("period_download_limit", self.period_download_limit)?;
        self.provider.validate()?;
        check_features(&self.features)?;
        Ok(Membership {
            id,
            user_id: self.user_id,
            tier: self.tier,
            status: if self.trial {
                MembershipStatus::Trialing
            } else {
                MembershipStatus::Active
            },
            trial_ends_at: self.trial.then_some(self.period.end),
            period: self.period,
            quota: Quota {
                used: 0,
                limit: self.period_download_limit,
            },
            cancel_at_period_end: false,
            past_due_since: None,
            grace_ends_at: None,
            canceled_at: None,
            ended_at: None,
            features: self.features,
            enrolled_at: now,
            provider: self.provider,
            provider_sync: ProviderSync::default(),
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }
}

/// Something that happens to a membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MembershipEvent {
    /// A period was paid: starts it, resets the quota (when the period
    /// starts later than the current one; a renewal that only moves the end
    /// extends the current period and keeps its count), clears past_due.
    Renew {
        /// The new period.
        period: Period,
    },
    /// A renewal payment failed.
    PaymentFailed,
    /// Moves to another tier, keeping enrollment date and period.
    ChangeTier {
        /// The new tier.
        tier: PricingTier,
        /// The new per-period limit.
        period_download_limit: Option<u32>,
    },
    /// Ends at the end of the current period instead of renewing
    /// (`false` undoes it).
    CancelAtPeriodEnd(bool),
    /// Ends now.
    Cancel,
    /// Ran out: a trial or a period ended without renewal.
    Expire,
}

impl MembershipEvent {
    fn name(&self) -> &'static str {
        match self {
            MembershipEvent::Renew { .. } => "renew",
            MembershipEvent::PaymentFailed => "payment_failed",
            MembershipEvent::ChangeTier { .. } => "change_tier",
            MembershipEvent::CancelAtPeriodEnd(_) => "cancel_at_period_end",
            MembershipEvent::Cancel => "cancel",
            MembershipEvent::Expire => "expire",
        }
    }
}

impl Membership {
    /// Fixes [`Membership::grace_ends_at`] for the state about to be
    /// written: past due, the end of a `grace` counted from when it became
    /// past due (kept when already fixed for this past-due spell); in any
    /// other state, none. The service calls it before every membership
    /// write, so the stored row carries what [`Membership::standing`] reads.
    pub fn settle_grace(&mut self, grace: Duration) {
        self.grace_ends_at = match self.status {
            MembershipStatus::PastDue => {
                Some(self.grace_ends_at.unwrap_or_else(|| self.grace_end(grace)))
            }
            _ => None,
        };
    }

    fn grace_end(&self, grace: Duration) -> DateTime<Utc> {
        // Checked: `DateTime + Duration` panics past year 262143; a grace
        // that long is unending.
        self.past_due_since
            .unwrap_or(self.period.end)
            .checked_add_signed(grace)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Applies `event` at `now`. Returns `Ok(false)` when it changed nothing
    /// (a repeated renewal or failure), `Ok(true)` when it moved, and an
    /// [`Error::InvalidTransition`] when the event is not allowed in the
    /// current state. On error the membership is unchanged.
    pub fn apply(&mut self, event: &MembershipEvent, now: DateTime<Utc>) -> Result<bool, Error> {
        use MembershipStatus as S;
        let refuse = || Error::InvalidTransition {
            entity: Entity::Membership,
            state: self.status.as_str(),
            event: event.name(),
        };
        let changed = match (self.status, event) {
            (S::Trialing | S::Active | S::PastDue, MembershipEvent::Renew { period }) => {
                if *period == self.period && self.status == S::Active {
                    false
                } else {
                    if period.start < self.period.start {
                        return Err(ValidationError::new(
                            "current_period_start",
                            Reason::Inconsistent {
                                detail: "a renewal cannot start before the current period".into(),
                            },
                        )
                        .into());
                    }
                    // A new period is one that starts later; the quota
                    // resets with it. Moving only the end extends the
                    // current period and keeps its count, as the store does
                    // (it keeps `used` unless the period start moves, and
                    // download charges are guarded by the start).
                    if period.start != self.period.start {
                        self.quota.used = 0;
                    }
                    self.period = *period;
                    self.status = S::Active;
                    self.past_due_since = None;
                    true
                }
            }
            (S::Trialing | S::Active, MembershipEvent::PaymentFailed) => {
                self.status = S::PastDue;
                self.past_due_since = Some(now);
                self.grace_ends_at = None;
                true
            }
            // Past due by maintenance alone (no grace of its own): the
            // provider's failure starts the grace now, as it would have
            // had it come first.
            (S::PastDue, MembershipEvent::PaymentFailed) => {
                if self.grace_ends_at.is_some() && self.grace_ends_at == self.past_due_since {
                    self.past_due_since = Some(now);
                    self.grace_ends_at = None;
                    true
                } else {
                    false
                }
            }
            (
                S::Trialing | S::Active | S::PastDue,
                MembershipEvent::ChangeTier {
                    tier,
                    period_download_limit,
                },
            ) => {
                if *tier == PricingTier::Free {
                    return Err(ValidationError::new(
                        "tier",
                        Reason::Inconsistent {
                            detail: "cancel instead of moving to the free tier".into(),
                        },
                    )
                    .into());
                }
                check_limit("period_download_limit", *period_download_limit)?;
                let changed = self.tier != *tier || self.quota.limit != *period_download_limit;
                self.tier = *tier;
                self.quota.limit = *period_download_limit;
                changed
            }
            (S::Trialing | S::Active | S::PastDue, MembershipEvent::CancelAtPeriodEnd(flag)) => {
                let changed = self.cancel_at_period_end != *flag;
                self.cancel_at_period_end = *flag;
                changed
            }
            (S::Trialing | S::Active | S::PastDue, MembershipEvent::Cancel) => {
                self.status = S::Canceled;
                self.canceled_at = Some(now);
                self.ended_at = Some(now);
                true
            }
            (S::Canceled, MembershipEvent::Cancel) => false,
            (S::Trialing | S::PastDue | S::Canceled, MembershipEvent::Expire) => {
                self.status = S::Expired;
                self.ended_at.get_or_insert(now);
                true
            }
            (S::Active, MembershipEvent::Expire) => {
                // A paid period cannot be cut short by expiry; cancel does that.
                if now < self.period.end {
                    return Err(refuse());
                }
                self.status = S::Expired;
                self.ended_at = Some(now);
                true
            }
            (S::Expired, MembershipEvent::Expire) => false,
            _ => return Err(refuse()),
        };
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }

    /// Whether a payment provider's subscription drives it: then only the
    /// provider's events end it.
    pub fn provider_backed(&self) -> bool {
        self.provider.subscription_id.is_some()
    }

    /// When its trial or paid period ran out, if it has by `now` (trialing
    /// or active only).
    fn ran_out(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = match self.status {
            MembershipStatus::Trialing => self.trial_ends_at.unwrap_or(self.period.end),
            MembershipStatus::Active => self.period.end,
            _ => return None,
        };
        (now >= end).then_some(end)
    }

    /// Maintenance at `now`: moves in storage what time alone has moved,
    /// never what [`Membership::standing`] reads (access is the same before
    /// and after, at every instant). A trial or period that ran out without
    /// renewal expires at its end; a provider-backed one becomes past due
    /// from its end instead, with no grace of its own (only the provider's
    /// events end it, so a late `invoice.paid` still renews it, and the
    /// provider's `invoice.payment_failed` starts the grace, whichever
    /// arrives first); a past-due membership whose grace ran out expires at
    /// the grace's end unless the provider drives it. Every instant written
    /// is one the rule fixed, not `now`, so when (and how often) maintenance
    /// runs changes nothing but `updated_at`. Returns whether it changed;
    /// the service then calls [`Membership::settle_grace`] as for every
    /// write.
    pub fn maintain(&mut self, now: DateTime<Utc>, grace: Duration) -> bool {
        if let Some(end) = self.ran_out(now) {
            if self.provider_backed() {
                self.status = MembershipStatus::PastDue;
                self.past_due_since = Some(end);
                self.grace_ends_at = Some(end);
            } else {
                self.status = MembershipStatus::Expired;
                self.ended_at = Some(end);
            }
        } else if self.status == MembershipStatus::PastDue && !self.provider_backed() {
            let until = self.grace_ends_at.unwrap_or_else(|| self.grace_end(grace));
            if now < until {
                return false;
            }
            self.status = MembershipStatus::Expired;
            self.ended_at = Some(until);
            self.grace_ends_at = None;
        } else {
            return false;
        }
        self.updated_at = now;
        true
    }

    /// Whether the membership is in good standing at `now` (before tier and
    /// quota are considered): trialing within the trial, active within the
    /// period, or past_due within `grace` of the failed payment.
    pub fn standing(&self, now: DateTime<Utc>, grace: Duration) -> Standing {
        if let Some(end) = self.ran_out(now) {
            return Standing::Lapsed { since: end };
        }
        match self.status {
            MembershipStatus::Trialing | MembershipStatus::Active => Standing::Good,
            MembershipStatus::PastDue => {
                let until = self.grace_ends_at.unwrap_or_else(|| self.grace_end(grace));
                if now < until {
                    Standing::Grace { until }
                } else {
                    Standing::Lapsed { since: until }
                }
            }
            MembershipStatus::Canceled => Standing::Ended {
                at: self
                    .ended_at
                    .or(self.canceled_at)
                    .unwrap_or(self.updated_at),
            },
            MembershipStatus::Expired => Standing::Ended {
                at: self.ended_at.unwrap_or(self.period.end),
            },
        }
    }
}

/// What starting a membership finds among the user's stored memberships
/// (see [`claim_slot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The membership in good standing that keeps the new one from
    /// starting, if any.
    pub held_by: Option<MembershipId>,
    /// Memberships still stored as live whose time ran out: they move to
    /// expired in the same write (revision bumped), whether or not the new
    /// one starts.
    pub lapsed: Vec<Membership>,
}

/// The one-membership rule: a user holds at most one membership in good
/// standing ([`Membership::standing`] grants at `now` with `grace`). A
/// store evaluates it inside the write that inserts `new`, over every
/// membership of the user, so two concurrent starts cannot both pass. A
/// membership that starts ended (following a canceled subscription) needs
/// no slot.
pub fn claim_slot(
    existing: &[Membership],
    new: &Membership,
    now: DateTime<Utc>,
    grace: Duration,
) -> Slot {
    let mut slot = Slot {
        held_by: None,
        lapsed: Vec::new(),
    };
    if new.status.is_ended() {
        return slot;
    }
    for m in existing
        .iter()
        .filter(|m| m.user_id == new.user_id && m.id != new.id)
    {
        match m.standing(now, grace) {
            Standing::Good | Standing::Grace { .. } => {
                slot.held_by.get_or_insert(m.id);
            }
            Standing::Lapsed { .. } => {
                let mut expired = m.clone();
                if expired
                    .apply(&MembershipEvent::Expire, now)
                    .unwrap_or(false)
                {
                    expired.settle_grace(grace);
                    expired.revision = m.revision + 1;
                    slot.lapsed.push(expired);
                }
            }
            Standing::Ended { .. } => {}
        }
    }
    slot
}

/// The statuses a membership can still grant access in: the ones the
/// active-memberships report and maintenance read (canceled and expired
/// are over).
pub const LIVE: [MembershipStatus; 3] = [
    MembershipStatus::Trialing,
    MembershipStatus::Active,
    MembershipStatus::PastDue,
];

/// A membership's standing at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "snake_case")]
pub enum Standing {
    /// Trialing or active within its period.
    Good,
    /// Past due but within the grace period.
    Grace {
        /// Access ends here unless payment recovers.
        until: DateTime<Utc>,
    },
    /// The trial, period or grace ran out without a renewal being recorded.
    Lapsed {
        /// When it ran out.
        since: DateTime<Utc>,
    },
    /// Canceled or expired.
    Ended {
        /// When.
        at: DateTime<Utc>,
    },
}

impl Standing {
    /// True when the membership may grant access.
    pub fn grants(&self) -> bool {
        matches!(self, Standing::Good | Standing::Grace { .. })
    }
}

#[cfg(test)]
mod tests;

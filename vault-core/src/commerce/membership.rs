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
                true
            }
            (S::PastDue, MembershipEvent::PaymentFailed) => false,
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

    /// Whether the membership is in good standing at `now` (before tier and
    /// quota are considered): trialing within the trial, active within the
    /// period, or past_due within `grace` of the failed payment.
    pub fn standing(&self, now: DateTime<Utc>, grace: Duration) -> Standing {
        match self.status {
            MembershipStatus::Trialing => {
                let end = self.trial_ends_at.unwrap_or(self.period.end);
                if now < end {
                    Standing::Good
                } else {
                    Standing::Lapsed { since: end }
                }
            }
            MembershipStatus::Active => {
                if now < self.period.end {
                    Standing::Good
                } else {
                    Standing::Lapsed {
                        since: self.period.end,
                    }
                }
            }
            MembershipStatus::PastDue => {
                let since = self.past_due_since.unwrap_or(self.period.end);
                // Checked: `DateTime + Duration` panics past year 262143; a
                // grace that long is unending.
                let until = since
                    .checked_add_signed(grace)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
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
                    expired.revision = m.revision + 1;
                    slot.lapsed.push(expired);
                }
            }
            Standing::Ended { .. } => {}
        }
    }
    slot
}

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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
    }

    fn member(trial: bool) -> Membership {
        NewMembership {
            user_id: UserId::parse("m").expect("valid"),
            tier: PricingTier::Pro,
            period: Period::new(t(0), t(30)).expect("valid"),
            trial,
            period_download_limit: Some(10),
            features: BTreeMap::new(),
            provider: ProviderRefs::default(),
        }
        .build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
        .expect("valid")
    }

    #[test]
    fn periods_end_within_the_dates_stores_hold() {
        let last = crate::value::clock::MAX_DATE
            .and_hms_opt(23, 59, 59)
            .expect("time")
            .and_utc();
        assert!(Period::new(t(0), last).is_ok());
        let field = |r: Result<Period, ValidationError>| r.expect_err("refused").field();
        assert_eq!(
            field(Period::new(t(0), DateTime::<Utc>::MAX_UTC)),
            "current_period_end"
        );
        assert_eq!(
            field(Period::new(DateTime::<Utc>::MIN_UTC, t(0))),
            "current_period_start"
        );
        let json = serde_json::json!({ "start": t(0), "end": last + Duration::seconds(1) });
        assert!(serde_json::from_value::<Period>(json).is_err());
    }

    #[test]
    fn feature_strings_refuse_control_characters_at_any_depth() {
        let check = |v: serde_json::Value| {
            let features: BTreeMap<String, serde_json::Value> =
                serde_json::from_value(v).expect("a map");
            check_features(&features)
        };
        for hostile in [
            serde_json::json!({ "plan": "pro\u{0}" }),
            serde_json::json!({ "limits": { "note": "a\u{0}b" } }),
            serde_json::json!({ "limits": { "k\u{0}": 1 } }),
            serde_json::json!({ "tags": [["deep", "\u{1b}[31m"]] }),
        ] {
            assert_eq!(
                check(hostile.clone()).expect_err("refused").field(),
                "features",
                "{hostile}"
            );
        }
        assert!(check(serde_json::json!({ "seats": 3, "note": { "k": ["v\n", null] } })).is_ok());
        // As deep as a parsed body can be (serde_json stops at 128 levels).
        let deep = format!(
            r#"{{"deep":{}"\u0000"{}}}"#,
            "[".repeat(120),
            "]".repeat(120)
        );
        let features = serde_json::from_str(&deep).expect("parses");
        assert_eq!(
            check_features(&features).expect_err("refused").field(),
            "features"
        );
    }

    #[test]
    fn features_and_provider_ids_are_bounded() {
        let build = |features: BTreeMap<String, serde_json::Value>, provider: ProviderRefs| {
            NewMembership {
                user_id: UserId::parse("m").expect("valid"),
                tier: PricingTier::Pro,
                period: Period::new(t(0), t(30)).expect("valid"),
                trial: false,
                period_download_limit: None,
                features,
                provider,
            }
            .build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
        };
        let flags = |n: usize, value: serde_json::Value| -> BTreeMap<String, serde_json::Value> {
            (0..n)
                .map(|i| (format!("flag_{i}"), value.clone()))
                .collect()
        };
        assert!(build(flags(MAX_FEATURES, true.into()), ProviderRefs::default()).is_ok());
        let field = |r: Result<Membership, ValidationError>| r.expect_err("refused").field();
        assert_eq!(
            field(build(
                flags(MAX_FEATURES + 1, true.into()),
                ProviderRefs::default()
            )),
            "features"
        );
        let mut named = BTreeMap::new();
        named.insert(
            "n".repeat(MAX_FEATURE_NAME + 1),
            serde_json::Value::Bool(true),
        );
        assert_eq!(field(build(named, ProviderRefs::default())), "features");
        let mut empty_name = BTreeMap::new();
        empty_name.insert(String::new(), serde_json::Value::Bool(true));
        assert_eq!(
            field(build(empty_name, ProviderRefs::default())),
            "features"
        );
        let big = flags(2, "x".repeat(MAX_FEATURES_JSON / 2).into());
        assert_eq!(field(build(big, ProviderRefs::default())), "features");
        let provider = ProviderRefs {
            subscription_id: Some("sub 1".into()),
            ..ProviderRefs::default()
        };
        assert_eq!(
            field(build(BTreeMap::new(), provider)),
            "provider.subscription_id"
        );
    }

    #[test]
    fn renewal_resets_quota_and_is_idempotent() {
        let mut m = member(false);
        m.quota.used = 7;
        let next = Period::new(t(30), t(60)).expect("valid");
        assert!(
            m.apply(&MembershipEvent::Renew { period: next }, t(30))
                .expect("ok")
        );
        assert_eq!(m.quota.used, 0);
        m.quota.used = 2;
        assert!(
            !m.apply(&MembershipEvent::Renew { period: next }, t(31))
                .expect("ok")
        );
        assert_eq!(
            m.quota.used, 2,
            "a repeated renewal must not reset the quota"
        );
    }

    #[test]
    fn extending_the_current_period_keeps_its_quota() {
        let mut m = member(false);
        m.quota.used = 7;
        let longer = Period::new(t(0), t(60)).expect("valid");
        assert!(
            m.apply(&MembershipEvent::Renew { period: longer }, t(10))
                .expect("ok")
        );
        assert_eq!(m.period, longer);
        assert_eq!(m.quota.used, 7, "the same period, the same downloads");
        let mut trial = member(true);
        trial.quota.used = 3;
        let same = trial.period;
        trial
            .apply(&MembershipEvent::Renew { period: same }, t(10))
            .expect("converts");
        assert_eq!(trial.status, MembershipStatus::Active);
        assert_eq!(trial.quota.used, 3);
    }

    #[test]
    fn trial_converts_on_first_payment() {
        let mut m = member(true);
        assert_eq!(m.status, MembershipStatus::Trialing);
        let next = Period::new(t(30), t(60)).expect("valid");
        m.apply(&MembershipEvent::Renew { period: next }, t(30))
            .expect("ok");
        assert_eq!(m.status, MembershipStatus::Active);
    }

    #[test]
    fn tier_changes_keep_enrollment() {
        let mut m = member(false);
        let enrolled = m.enrolled_at;
        m.apply(
            &MembershipEvent::ChangeTier {
                tier: PricingTier::Premium,
                period_download_limit: None,
            },
            t(5),
        )
        .expect("upgrade");
        m.apply(
            &MembershipEvent::ChangeTier {
                tier: PricingTier::Basic,
                period_download_limit: Some(3),
            },
            t(6),
        )
        .expect("downgrade");
        assert_eq!(m.enrolled_at, enrolled);
        assert_eq!(m.tier, PricingTier::Basic);
    }

    #[test]
    fn illegal_transitions_are_typed_and_change_nothing() {
        let mut m = member(false);
        m.apply(&MembershipEvent::Cancel, t(1)).expect("cancel");
        let before = m.clone();
        for ev in [
            MembershipEvent::Renew {
                period: Period::new(t(30), t(60)).expect("valid"),
            },
            MembershipEvent::PaymentFailed,
            MembershipEvent::ChangeTier {
                tier: PricingTier::Premium,
                period_download_limit: None,
            },
            MembershipEvent::CancelAtPeriodEnd(true),
        ] {
            let e = m.apply(&ev, t(2)).expect_err("refused");
            assert!(
                matches!(
                    e,
                    Error::InvalidTransition {
                        state: "canceled",
                        ..
                    }
                ),
                "{e:?}"
            );
            assert_eq!(m, before);
        }
        // An active membership cannot expire before its period ends.
        let mut a = member(false);
        assert!(matches!(
            a.apply(&MembershipEvent::Expire, t(10)),
            Err(Error::InvalidTransition {
                state: "active",
                event: "expire",
                ..
            })
        ));
        a.apply(&MembershipEvent::Expire, t(30))
            .expect("period over");
        assert_eq!(a.status, MembershipStatus::Expired);
    }

    #[test]
    fn past_due_grace() {
        let mut m = member(false);
        m.apply(&MembershipEvent::PaymentFailed, t(29)).expect("ok");
        let grace = Duration::days(3);
        assert!(m.standing(t(31), grace).grants());
        assert!(!m.standing(t(32), grace).grants());
        assert!(matches!(m.standing(t(32), grace), Standing::Lapsed { .. }));
    }

    #[test]
    fn an_endless_grace_does_not_panic() {
        let mut m = member(false);
        m.apply(&MembershipEvent::PaymentFailed, t(29)).expect("ok");
        assert!(m.standing(t(40), Duration::MAX).grants());
    }

    #[test]
    fn periods_are_checked_on_deserialize() {
        let p = Period::new(t(0), t(30)).expect("valid");
        let json = serde_json::to_string(&p).expect("serializes");
        assert_eq!(serde_json::from_str::<Period>(&json).expect("valid"), p);
        let reversed = serde_json::to_string(&Period {
            start: t(30),
            end: t(0),
        })
        .expect("ser");
        let e = serde_json::from_str::<Period>(&reversed).expect_err("reversed");
        assert!(e.to_string().contains("current_period_end"), "{e}");
    }

    #[test]
    fn one_membership_in_good_standing_per_user() {
        let grace = Duration::days(3);
        let mut held = member(false);
        held.id = MembershipId::from_uuid(uuid::Uuid::from_u128(1));
        let mut lapsed = member(false);
        lapsed.id = MembershipId::from_uuid(uuid::Uuid::from_u128(2));
        lapsed.period = Period::new(t(-60), t(-30)).expect("valid");
        let mut new = member(false);
        new.id = MembershipId::from_uuid(uuid::Uuid::from_u128(3));
        let slot = claim_slot(&[held.clone(), lapsed.clone()], &new, t(1), grace);
        assert_eq!(slot.held_by, Some(held.id));
        assert_eq!(slot.lapsed.len(), 1);
        assert_eq!(
            (
                slot.lapsed[0].id,
                slot.lapsed[0].status,
                slot.lapsed[0].revision
            ),
            (lapsed.id, MembershipStatus::Expired, lapsed.revision + 1)
        );
        // Free once the holder lapses too; an ended newcomer needs no slot.
        assert_eq!(
            claim_slot(&[held.clone()], &new, t(30), grace).held_by,
            None
        );
        let mut ended = new.clone();
        ended.status = MembershipStatus::Canceled;
        assert_eq!(
            claim_slot(&[held.clone(), lapsed], &ended, t(1), grace),
            Slot {
                held_by: None,
                lapsed: vec![]
            }
        );
        // Another user's membership never holds the slot.
        let mut other = held;
        other.user_id = UserId::parse("someone-else").expect("valid");
        assert_eq!(claim_slot(&[other], &new, t(1), grace).held_by, None);
    }

    fn arb_event() -> impl Strategy<Value = MembershipEvent> {
        prop_oneof![
            (0i64..200, 1i64..60).prop_map(|(s, len)| MembershipEvent::Renew {
                period: Period::new(t(s), t(s + len)).expect("valid"),
            }),
            Just(MembershipEvent::PaymentFailed),
            (1usize..5, proptest::option::of(1u32..20)).prop_map(|(i, l)| {
                MembershipEvent::ChangeTier {
                    tier: PricingTier::ALL[i],
                    period_download_limit: l,
                }
            }),
            any::<bool>().prop_map(MembershipEvent::CancelAtPeriodEnd),
            Just(MembershipEvent::Cancel),
            Just(MembershipEvent::Expire),
        ]
    }

    fn arb_stored() -> impl Strategy<Value = Membership> {
        (
            0usize..5,
            -90i64..30,
            1i64..60,
            proptest::option::of(-90i64..30),
        )
            .prop_map(|(status, start, len, past_due)| {
                let mut m = member(false);
                m.id = MembershipId::from_uuid(uuid::Uuid::from_u128(
                    (status as u128) << 32 | (start + 100) as u128,
                ));
                m.status = MembershipStatus::ALL[status];
                m.period = Period::new(t(start), t(start + len)).expect("valid");
                m.past_due_since = past_due.map(t);
                m
            })
    }

    proptest! {
        /// The slot is held exactly when one stored membership grants at
        /// `now`; exactly the lapsed ones expire, one revision up; nothing
        /// else is touched.
        #[test]
        fn claim_slot_matches_standing(existing in proptest::collection::vec(arb_stored(), 0..6), day in -10i64..60) {
            let now = t(day);
            let grace = Duration::days(3);
            let mut new = member(false);
            new.id = MembershipId::from_uuid(uuid::Uuid::from_u128(u128::MAX));
            let slot = claim_slot(&existing, &new, now, grace);
            let granting = existing.iter().any(|m| m.standing(now, grace).grants());
            prop_assert_eq!(slot.held_by.is_some(), granting);
            let lapsed: Vec<MembershipId> = existing
                .iter()
                .filter(|m| matches!(m.standing(now, grace), Standing::Lapsed { .. }))
                .map(|m| m.id)
                .collect();
            prop_assert_eq!(slot.lapsed.iter().map(|m| m.id).collect::<Vec<_>>(), lapsed);
            for m in &slot.lapsed {
                prop_assert_eq!(m.status, MembershipStatus::Expired);
                prop_assert!(!m.standing(now, grace).grants());
            }
        }

        /// Whatever happens, enrollment never moves, ended memberships never
        /// grant, and a refused event leaves the membership untouched.
        #[test]
        fn state_machine_invariants(trial in any::<bool>(), events in proptest::collection::vec((arb_event(), 0i64..300), 0..30)) {
            let mut m = member(trial);
            let enrolled = m.enrolled_at;
            for (ev, day) in events {
                let before = m.clone();
                match m.apply(&ev, t(day)) {
                    Ok(_) => {}
                    Err(_) => prop_assert_eq!(&m, &before),
                }
                prop_assert_eq!(m.enrolled_at, enrolled);
                if matches!(m.status, MembershipStatus::Canceled | MembershipStatus::Expired) {
                    prop_assert!(!m.standing(t(day), Duration::days(3)).grants());
                }
            }
        }
    }
}

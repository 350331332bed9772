//! Daily analytics per workflow, and the seed's two reporting views.
//!
//! Counters are stored per workflow per UTC day and only ever incremented by
//! [`AnalyticsDelta`]s written in the same transaction as the event that
//! causes them (a download, a purchase, a refund, a view). Ratios (conversion
//! rate, revenue per view) are derived on read, so they can never disagree
//! with the counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::workflow::WorkflowStatus;
use crate::commerce::membership::{Membership, MembershipStatus, Standing};
use crate::community::rating::RatingAggregate;
use crate::value::actor::UserId;
use crate::value::clock::check_date;
use crate::value::country::CountryCode;
use crate::value::error::{Entity, StoreError};
use crate::value::ids::{CategoryId, MembershipId, WorkflowId};
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::validation::Reason;
use crate::value::validation::ValidationError;

/// Checks the ends of an analytics range `from..=to` against the dates
/// every store holds ([`crate::value::clock::MIN_DATE`]..=[`crate::value::clock::MAX_DATE`]),
/// naming `from` or `to`. An empty range (`to` before `from`) is not an
/// error here: it has no rows.
pub fn check_days(from: NaiveDate, to: NaiveDate) -> Result<(), ValidationError> {
    check_date("from", from)?;
    check_date("to", to)
}

/// Why [`DailyAnalytics::apply`] refuses a delta in another currency.
pub const CURRENCY_CONFLICT: &str = "amounts in two currencies on one day";

/// One workflow's counters for one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyAnalytics {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The UTC day.
    pub date: NaiveDate,
    /// Page views.
    pub views: u64,
    /// Distinct visitors (by salted IP hash or user).
    pub unique_visitors: u64,
    /// Clicks on calls to action.
    pub clicks: u64,
    /// Downloads.
    pub downloads: u64,
    /// Completed purchases that include the workflow.
    pub purchases: u64,
    /// Revenue attributed to the workflow (bundle revenue allocated).
    pub revenue: Decimal,
    /// Refunded amount attributed to the workflow.
    pub refunds: Decimal,
    /// Currency of `revenue` and `refunds` (the workflow's).
    pub currency: Option<Currency>,
    /// New favorites.
    pub favorites: u64,
    /// Shares.
    pub shares: u64,
    /// Reviews approved.
    pub reviews: u64,
    /// Views per traffic source (referrer host or campaign).
    pub traffic_sources: BTreeMap<String, u64>,
    /// Views per country.
    pub countries: BTreeMap<CountryCode, u64>,
}

impl DailyAnalytics {
    /// An empty row.
    pub fn empty(workflow_id: WorkflowId, date: NaiveDate) -> Self {
        Self {
            workflow_id,
            date,
            views: 0,
            unique_visitors: 0,
            clicks: 0,
            downloads: 0,
            purchases: 0,
            revenue: Decimal::ZERO,
            refunds: Decimal::ZERO,
            currency: None,
            favorites: 0,
            shares: 0,
            reviews: 0,
            traffic_sources: BTreeMap::new(),
            countries: BTreeMap::new(),
        }
    }

    /// Purchases per unique visitor, as a percentage with two places
    /// (half-to-even); `None` without visitors.
    pub fn conversion_rate(&self) -> Option<Decimal> {
        (self.unique_visitors > 0).then(|| {
            (Decimal::from(self.purchases) * Decimal::ONE_HUNDRED
                / Decimal::from(self.unique_visitors))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
        })
    }

    /// Net revenue (revenue - refunds) per view, four places; `None` without
    /// views.
    pub fn revenue_per_view(&self) -> Option<Decimal> {
        (self.views > 0).then(|| {
            ((self.revenue - self.refunds) / Decimal::from(self.views))
                .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointNearestEven)
        })
    }

    /// Adds a delta, by the rules every store keeps (the stores call this
    /// inside the write that moves the row):
    /// * **one currency per workflow per day**: revenue and refunds of two
    ///   currencies cannot be summed, so a delta that moves an amount in a
    ///   currency other than the one the row holds is refused (`Conflict`);
    ///   a delta without amounts never conflicts;
    /// * an amount without a currency is refused (`Invalid`, field
    ///   `currency`), and so is a day's total beyond the money every store
    ///   holds (`Invalid`, field `revenue` or `refunds`);
    /// * counters saturate rather than wrap.
    ///
    /// On error the row is unchanged.
    pub fn apply(&mut self, d: &AnalyticsDelta) -> Result<(), StoreError> {
        let moves_money = !(d.revenue.is_zero() && d.refunds.is_zero());
        let currency = match (self.currency, d.currency) {
            (Some(have), Some(new)) if have != new && moves_money => {
                return Err(StoreError::conflict(
                    Entity::Analytics,
                    d.workflow_id,
                    CURRENCY_CONFLICT,
                ));
            }
            // The day's currency stays: a delta without amounts never
            // changes it, and one with amounts is in it (refused above).
            (Some(have), Some(_)) => Some(have),
            (_, Some(new)) => Some(new),
            (have, None) if !moves_money => have,
            (_, None) => {
                return Err(ValidationError::new(
                    "currency",
                    Reason::Inconsistent {
                        detail: "an amount needs its currency".into(),
                    },
                )
                .into());
            }
        };
        let total = |field: &'static str, have: Decimal, add: Decimal| match currency {
            Some(c) if !add.is_zero() => have
                .checked_add(add)
                .ok_or_else(|| {
                    ValidationError::new(
                        field,
                        Reason::OutOfRange {
                            min: "0".into(),
                            max: "the largest amount".into(),
                        },
                    )
                })
                .and_then(|sum| Money::new_field(field, sum, c))
                .map(|m| m.amount()),
            _ => Ok(have),
        };
        let revenue = total("revenue", self.revenue, d.revenue)?;
        let refunds = total("refunds", self.refunds, d.refunds)?;
        self.views = self.views.saturating_add(d.views);
        self.unique_visitors = self.unique_visitors.saturating_add(d.unique_visitors);
        self.clicks = self.clicks.saturating_add(d.clicks);
        self.downloads = self.downloads.saturating_add(d.downloads);
        self.purchases = self.purchases.saturating_add(d.purchases);
        self.revenue = revenue;
        self.refunds = refunds;
        self.currency = currency;
        self.favorites = self.favorites.saturating_add(d.favorites);
        self.shares = self.shares.saturating_add(d.shares);
        self.reviews = self.reviews.saturating_add(d.reviews);
        if let Some(s) = &d.traffic_source {
            *self.traffic_sources.entry(s.clone()).or_default() += 1;
        }
        if let Some(c) = d.country {
            *self.countries.entry(c).or_default() += 1;
        }
        Ok(())
    }
}

pub use crate::value::delta::{AnalyticsDelta, VisitorKey};

/// Normalises a referrer into a traffic source: its host as the `url`
/// crate parses it (WHATWG rules: userinfo dropped, IDNs in punycode, IPv6
/// without brackets), lowercased, without `www.`; a referrer without a
/// scheme is read as `https://`; `direct` when there is no host.
pub fn traffic_source(referrer: Option<&str>) -> String {
    let Some(r) = referrer.map(str::trim).filter(|r| !r.is_empty()) else {
        return "direct".into();
    };
    let parsed = url::Url::parse(r)
        .ok()
        .filter(|u| u.host().is_some())
        .or_else(|| url::Url::parse(&format!("https://{r}")).ok());
    let host = match parsed.as_ref().and_then(url::Url::host) {
        Some(url::Host::Domain(d)) => d.trim_start_matches("www.").to_ascii_lowercase(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => String::new(),
    };
    if host.is_empty() {
        "direct".into()
    } else {
        host.chars().take(100).collect()
    }
}

/// The seed's `workflow_stats` view: one row per workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStatsRow {
    /// Workflow.
    pub workflow_id: WorkflowId,
    /// Slug.
    pub slug: Slug,
    /// Title.
    pub title: String,
    /// Status.
    pub status: WorkflowStatus,
    /// Tier.
    pub pricing_tier: PricingTier,
    /// Category.
    pub category_id: CategoryId,
    /// Category name.
    pub category_name: String,
    /// Approved reviews.
    pub rating: RatingAggregate,
    /// Completed purchases (direct and bundles).
    pub total_purchases: u64,
    /// Net revenue attributed (sum of daily revenue - refunds).
    pub total_revenue: Decimal,
    /// Currency of `total_revenue`.
    pub currency: Option<Currency>,
    /// Favorites.
    pub favorite_count: u64,
    /// Downloads.
    pub download_count: u64,
    /// Views.
    pub view_count: u64,
}

/// The seed's `active_memberships` view: memberships that grant access now,
/// with the status calculated at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveMembershipRow {
    /// Membership.
    pub membership_id: MembershipId,
    /// Member.
    pub user_id: UserId,
    /// Tier.
    pub tier: PricingTier,
    /// Stored status.
    pub status: MembershipStatus,
    /// Calculated standing at `now`.
    pub standing: Standing,
    /// The seed view's `computed_status`.
    pub computed_status: ComputedStatus,
    /// Whole days until the period (or grace) ends.
    pub days_remaining: i64,
    /// Downloads left this period (`None`: unlimited).
    pub downloads_remaining: Option<u32>,
    /// Ends at period end instead of renewing.
    pub cancel_at_period_end: bool,
    /// First enrollment.
    pub enrolled_at: DateTime<Utc>,
}

impl ActiveMembershipRow {
    /// The view's row for `m` at `now`, or `None` when it does not grant
    /// access then ([`Membership::standing`] with `grace` for a past-due
    /// row whose grace end was never settled). The `active_memberships`
    /// views of the SQL stores compute the same from the stored row.
    pub fn of(m: &Membership, now: DateTime<Utc>, grace: Duration) -> Option<Self> {
        let standing = m.standing(now, grace);
        if !standing.grants() {
            return None;
        }
        let ends = match standing {
            Standing::Grace { until } => until,
            _ => m
                .trial_ends_at
                .filter(|_| m.status == MembershipStatus::Trialing)
                .unwrap_or(m.period.end),
        };
        Some(Self {
            membership_id: m.id,
            user_id: m.user_id.clone(),
            tier: m.tier,
            status: m.status,
            standing,
            computed_status: ComputedStatus::of(m),
            days_remaining: (ends - now).num_days(),
            downloads_remaining: m.quota.remaining(),
            cancel_at_period_end: m.cancel_at_period_end,
            enrolled_at: m.enrolled_at,
        })
    }
}

impl ActiveMembershipRow {
    /// A row of a SQL store's `active_memberships` view: the stored
    /// membership and the columns the view computed (which a contract case
    /// holds against [`ActiveMembershipRow::of`]). The view lists only live
    /// memberships, so the standing is good, or the grace it stores.
    pub fn from_view(
        m: Membership,
        computed_status: ComputedStatus,
        days_remaining: i64,
        downloads_remaining: Option<u32>,
    ) -> Self {
        Self {
            membership_id: m.id,
            standing: match (m.status, m.grace_ends_at) {
                (MembershipStatus::PastDue, Some(until)) => Standing::Grace { until },
                _ => Standing::Good,
            },
            computed_status,
            days_remaining,
            downloads_remaining,
            tier: m.tier,
            status: m.status,
            cancel_at_period_end: m.cancel_at_period_end,
            enrolled_at: m.enrolled_at,
            user_id: m.user_id,
        }
    }
}

/// The seed's `computed_status` of a live membership: its words, in the
/// order the view's `CASE` tests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputedStatus {
    /// Trialing.
    Trial,
    /// Past due, within its grace.
    Grace,
    /// Active, ending at the period's end.
    Ending,
    /// Active, renewing.
    Active,
}

impl ComputedStatus {
    /// What the view says of `m`.
    pub fn of(m: &Membership) -> Self {
        match m.status {
            MembershipStatus::Trialing => Self::Trial,
            MembershipStatus::PastDue => Self::Grace,
            _ if m.cancel_at_period_end => Self::Ending,
            _ => Self::Active,
        }
    }

    /// The view's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Grace => "grace",
            Self::Ending => "ending",
            Self::Active => "active",
        }
    }

    /// Reads the view's text.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        [Self::Trial, Self::Grace, Self::Ending, Self::Active]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "computed_status",
                    Reason::Unknown {
                        allowed: "trial, grace, ending, active",
                    },
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn a_range_is_checked_at_both_ends() {
        use crate::value::clock::{MAX_DATE, MIN_DATE};
        assert!(check_days(MIN_DATE, MAX_DATE).is_ok());
        let day = MIN_DATE.succ_opt().expect("a day");
        assert!(
            check_days(day, MIN_DATE).is_ok(),
            "an empty range is no error"
        );
        let before = MIN_DATE.pred_opt().expect("a day before");
        let after = MAX_DATE.succ_opt().expect("a day after");
        assert_eq!(
            check_days(before, MAX_DATE).expect_err("from").field(),
            "from"
        );
        assert_eq!(check_days(MIN_DATE, after).expect_err("to").field(), "to");
        assert_eq!(
            check_days(NaiveDate::MIN, NaiveDate::MAX)
                .expect_err("both")
                .field(),
            "from"
        );
    }

    #[test]
    fn derived_ratios() {
        let mut a = DailyAnalytics::empty(WorkflowId::from_uuid(uuid::Uuid::nil()), NaiveDate::MIN);
        assert_eq!(a.conversion_rate(), None);
        assert_eq!(a.revenue_per_view(), None);
        a.unique_visitors = 3;
        a.purchases = 1;
        a.views = 8;
        a.revenue = dec!(49.00);
        a.refunds = dec!(9.00);
        assert_eq!(a.conversion_rate(), Some(dec!(33.33)));
        assert_eq!(a.revenue_per_view(), Some(dec!(5)));
    }

    #[test]
    fn traffic_sources_are_hosts() {
        assert_eq!(traffic_source(None), "direct");
        assert_eq!(
            traffic_source(Some("https://www.Google.com/search?q=x")),
            "google.com"
        );
        assert_eq!(
            traffic_source(Some("news.ycombinator.com:443/item")),
            "news.ycombinator.com"
        );
        assert_eq!(traffic_source(Some("  ")), "direct");
        // Userinfo is not the host: what the hand-written parser got wrong.
        assert_eq!(
            traffic_source(Some("https://someone@www.Example.org/page")),
            "example.org"
        );
        assert_eq!(
            traffic_source(Some("http://[2001:db8::1]:8080/x")),
            "2001:db8::1"
        );
        assert_eq!(traffic_source(Some("http://203.0.113.7/")), "203.0.113.7");
        assert_eq!(
            traffic_source(Some("android-app://com.google.android.gm/")),
            "com.google.android.gm"
        );
        assert_eq!(traffic_source(Some("javascript:alert(1)")), "direct");
    }

    fn delta(currency: Option<Currency>, revenue: i64, refunds: i64) -> AnalyticsDelta {
        let mut d = AnalyticsDelta::none(
            WorkflowId::from_uuid(uuid::Uuid::nil()),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        d.currency = currency;
        d.revenue = Decimal::new(revenue, 2);
        d.refunds = Decimal::new(refunds, 2);
        d.downloads = 1;
        d
    }

    mod active_rows {
        use super::super::*;
        use crate::commerce::membership::{MembershipEvent, NewMembership, Period};
        use crate::commerce::provider::ProviderRefs;
        use chrono::Duration;

        fn t(days: i64) -> DateTime<Utc> {
            DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
        }

        fn member(trial: bool, limit: Option<u32>) -> Membership {
            NewMembership {
                user_id: UserId::parse("m").expect("user"),
                tier: PricingTier::Pro,
                period: Period::new(t(0), t(30)).expect("period"),
                trial,
                period_download_limit: limit,
                features: BTreeMap::new(),
                provider: ProviderRefs::default(),
            }
            .build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
            .expect("membership")
        }

        #[test]
        fn a_live_membership_has_a_row_and_a_lapsed_one_none() {
            let mut m = member(false, Some(10));
            m.quota.used = 4;
            let row = ActiveMembershipRow::of(&m, t(10), Duration::days(3)).expect("active");
            assert_eq!((row.days_remaining, row.downloads_remaining), (20, Some(6)));
            assert_eq!(
                (row.standing, row.computed_status),
                (Standing::Good, ComputedStatus::Active)
            );
            assert_eq!(ActiveMembershipRow::of(&m, t(30), Duration::days(3)), None);
            m.apply(&MembershipEvent::Cancel, t(11)).expect("cancels");
            assert_eq!(ActiveMembershipRow::of(&m, t(12), Duration::days(3)), None);
        }

        #[test]
        fn a_trial_counts_to_its_end_and_a_grace_to_its_own() {
            let mut trial = member(true, None);
            trial.trial_ends_at = Some(t(7));
            let row = ActiveMembershipRow::of(&trial, t(2), Duration::days(3)).expect("trial");
            assert_eq!(
                (row.days_remaining, row.computed_status),
                (5, ComputedStatus::Trial)
            );
            assert_eq!(
                ActiveMembershipRow::of(&trial, t(7), Duration::days(3)),
                None
            );
            let mut late = member(false, None);
            late.apply(&MembershipEvent::PaymentFailed, t(10))
                .expect("fails");
            late.settle_grace(Duration::days(3));
            let row = ActiveMembershipRow::of(&late, t(11), Duration::days(3)).expect("grace");
            assert_eq!(row.standing, Standing::Grace { until: t(13) });
            assert_eq!(
                (row.days_remaining, row.computed_status),
                (2, ComputedStatus::Grace)
            );
            // The view's row says the same from the stored grace end.
            let view = ActiveMembershipRow::from_view(late.clone(), ComputedStatus::Grace, 2, None);
            assert_eq!(view, row);
            let active = ActiveMembershipRow::from_view(
                member(false, None),
                ComputedStatus::Active,
                20,
                None,
            );
            assert_eq!(active.standing, Standing::Good);
        }

        #[test]
        fn computed_status_follows_the_views_case() {
            let mut m = member(false, None);
            assert_eq!(ComputedStatus::of(&m), ComputedStatus::Active);
            m.cancel_at_period_end = true;
            assert_eq!(ComputedStatus::of(&m), ComputedStatus::Ending);
            assert_eq!(
                ComputedStatus::of(&member(true, None)),
                ComputedStatus::Trial
            );
            m.apply(&MembershipEvent::PaymentFailed, t(1))
                .expect("fails");
            assert_eq!(
                ComputedStatus::of(&m),
                ComputedStatus::Grace,
                "past due before ending"
            );
            for c in [
                ComputedStatus::Trial,
                ComputedStatus::Grace,
                ComputedStatus::Ending,
                ComputedStatus::Active,
            ] {
                assert_eq!(ComputedStatus::parse(c.as_str()), Ok(c));
            }
            assert_eq!(
                ComputedStatus::parse("lapsed")
                    .expect_err("unknown")
                    .field(),
                "computed_status"
            );
        }
    }

    #[test]
    fn sources_and_countries_are_counted_per_delta() {
        let mut row =
            DailyAnalytics::empty(WorkflowId::from_uuid(uuid::Uuid::nil()), NaiveDate::MIN);
        let de = CountryCode::parse("DE").expect("country");
        for source in ["google.com", "google.com", "direct"] {
            let mut d = delta(None, 0, 0);
            d.traffic_source = Some(source.into());
            d.country = Some(de);
            row.apply(&d).expect("applies");
        }
        assert_eq!(row.traffic_sources.get("google.com"), Some(&2));
        assert_eq!(row.traffic_sources.get("direct"), Some(&1));
        assert_eq!(row.countries.get(&de), Some(&3));
        assert_eq!(row.downloads, 3);
    }

    #[test]
    fn one_currency_per_day() {
        let mut row =
            DailyAnalytics::empty(WorkflowId::from_uuid(uuid::Uuid::nil()), NaiveDate::MIN);
        row.apply(&delta(Some(Currency::USD), 4900, 0))
            .expect("first currency");
        let before = row.clone();
        let e = row
            .apply(&delta(Some(Currency::EUR), 100, 0))
            .expect_err("second currency");
        assert!(
            matches!(
                e,
                StoreError::Conflict {
                    reason: CURRENCY_CONFLICT,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(row, before, "a refused delta changes nothing");
        // No amount, no conflict: a download or a view in any currency.
        row.apply(&delta(Some(Currency::EUR), 0, 0))
            .expect("no amounts");
        row.apply(&delta(None, 0, 0))
            .expect("no currency, no amounts");
        assert_eq!(row.currency, Some(Currency::USD));
        let e = row
            .apply(&delta(None, 1, 0))
            .expect_err("an amount without currency");
        assert!(
            matches!(e, StoreError::Invalid(ref v) if v.field() == "currency"),
            "{e:?}"
        );
        let huge = Money::from_minor(crate::value::money::MAX_MINOR, Currency::USD).amount();
        let mut big = delta(Some(Currency::USD), 0, 0);
        big.revenue = huge;
        let e = row.apply(&big).expect_err("beyond the money range");
        assert!(
            matches!(e, StoreError::Invalid(ref v) if v.field() == "revenue"),
            "{e:?}"
        );
    }

    proptest::proptest! {
        /// Whatever deltas arrive, the row holds one currency, its amounts
        /// are the sums of the deltas it accepted, and every refused one is
        /// exactly one that moved money in another currency (or without one).
        #[test]
        fn the_row_is_the_sum_of_what_it_accepted(
            deltas in proptest::collection::vec(
                (proptest::option::of(proptest::sample::select(vec![Currency::USD, Currency::EUR])), 0i64..1000, 0i64..1000),
                0..20,
            )
        ) {
            let mut row = DailyAnalytics::empty(WorkflowId::from_uuid(uuid::Uuid::nil()), NaiveDate::MIN);
            let (mut revenue, mut refunds, mut downloads) = (Decimal::ZERO, Decimal::ZERO, 0);
            let mut held: Option<Currency> = None;
            for (c, rev, refd) in deltas {
                let d = delta(c, rev, refd);
                let moves = rev != 0 || refd != 0;
                let ok = !moves || (c.is_some() && held.is_none_or(|h| Some(h) == c));
                proptest::prop_assert_eq!(row.apply(&d).is_ok(), ok);
                if ok {
                    revenue += d.revenue;
                    refunds += d.refunds;
                    downloads += 1;
                    held = if moves { c } else { held.or(c) };
                }
            }
            proptest::prop_assert_eq!((row.revenue, row.refunds, row.downloads), (revenue, refunds, downloads));
            proptest::prop_assert_eq!(row.currency, held);
        }

        /// A delta that only counts (what a store may add in place, see
        /// `AnalyticsDelta::counts_only`) is never refused, whatever the
        /// row holds, and adds exactly its counts and map entries: each
        /// counter is the sum, each source and country its number of
        /// deltas, the money and currency untouched.
        #[test]
        fn a_delta_that_only_counts_adds_its_counts(
            held in proptest::option::of(proptest::sample::select(vec![Currency::USD, Currency::EUR])),
            deltas in proptest::collection::vec(
                (0u64..5, 0u64..5, 0u64..5, 0u64..5, proptest::option::of(0usize..3), proptest::option::of(0usize..3)),
                0..20,
            )
        ) {
            let sources = ["google.com", "direct", "n8n.io"];
            let countries = ["US", "DE", "JP"].map(|c| CountryCode::parse(c).unwrap());
            let mut row = DailyAnalytics::empty(WorkflowId::from_uuid(uuid::Uuid::nil()), NaiveDate::MIN);
            if let Some(c) = held {
                row.apply(&delta(Some(c), 100, 0)).unwrap();
            }
            let start = row.clone();
            let mut want = start.clone();
            for (views, downloads, clicks, visitors, source, country) in deltas {
                let mut d = delta(None, 0, 0);
                (d.views, d.downloads, d.clicks, d.unique_visitors) = (views, downloads, clicks, visitors);
                d.traffic_source = source.map(|i| sources[i].to_owned());
                d.country = country.map(|i| countries[i]);
                proptest::prop_assert!(d.counts_only());
                proptest::prop_assert!(row.apply(&d).is_ok());
                want.views += views;
                want.downloads += downloads;
                want.clicks += clicks;
                want.unique_visitors += visitors;
                if let Some(i) = source {
                    *want.traffic_sources.entry(sources[i].to_owned()).or_default() += 1;
                }
                if let Some(i) = country {
                    *want.countries.entry(countries[i]).or_default() += 1;
                }
            }
            proptest::prop_assert_eq!(&row, &want);
            proptest::prop_assert_eq!((row.revenue, row.refunds, row.currency), (start.revenue, start.refunds, start.currency));
        }
    }
}

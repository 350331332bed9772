//! Ratings: the aggregate of approved reviews, ranking scores, and the order
//! of reviews by helpfulness.
//!
//! The aggregate holds only integers (count, sum of stars, per-star counts,
//! per-dimension counts and sums). Averages are derived from them exactly with
//! `Decimal`, so an aggregate maintained incrementally (one review added,
//! edited, removed or re-moderated at a time) is *equal*, not just close, to
//! one recomputed from scratch. Integer deltas also commute, so a store can
//! apply them with `col = col + delta` and concurrent reviews never lose an
//! update.

use std::cmp::Ordering;

use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::value::error::Error;
use crate::value::validation::{Reason, ValidationError};

/// A star rating from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    /// Checks `1..=5`; the field is reported as `rating`.
    pub fn new(stars: u8) -> Result<Self, ValidationError> {
        Self::new_field("rating", stars)
    }

    /// Like [`Rating::new`], naming `field` in the error.
    pub fn new_field(field: &'static str, stars: u8) -> Result<Self, ValidationError> {
        if !(1..=5).contains(&stars) {
            return Err(ValidationError::new(
                field,
                Reason::OutOfRange {
                    min: "1".into(),
                    max: "5".into(),
                },
            ));
        }
        Ok(Self(stars))
    }

    /// The stars.
    pub fn stars(&self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Rating {
    type Error = ValidationError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Rating> for u8 {
    fn from(r: Rating) -> Self {
        r.0
    }
}

/// The W.E.D.G.E. dimensions a review may rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// **W**orkflow complexity (how well it matches its stated level).
    Complexity,
    /// **E**fficiency.
    Efficiency,
    /// **D**igital maturity fit.
    DigitalMaturity,
    /// **G**rowth impact.
    Growth,
    /// **E**xcellence.
    Excellence,
}

impl Dimension {
    /// All five, in W.E.D.G.E. order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Complexity,
        Dimension::Efficiency,
        Dimension::DigitalMaturity,
        Dimension::Growth,
        Dimension::Excellence,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A review's optional rating per W.E.D.G.E. dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DimensionRatings(pub [Option<Rating>; 5]);

impl DimensionRatings {
    /// The rating given for `d`.
    pub fn get(&self, d: Dimension) -> Option<Rating> {
        self.0[d.index()]
    }

    /// Sets the rating for `d`.
    pub fn set(&mut self, d: Dimension, r: Option<Rating>) {
        self.0[d.index()] = r;
    }
}

/// What one approved review adds to its workflow's aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Contribution {
    /// Overall stars.
    pub overall: Rating,
    /// Per-dimension stars.
    pub dimensions: DimensionRatings,
}

/// Count and sum for one dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DimensionTotals {
    /// Reviews that rated this dimension.
    pub count: u64,
    /// Sum of their stars.
    pub sum: u64,
}

/// The aggregate of a workflow's approved reviews. Fields are private so the
/// invariants (count equals the star histogram's total; sum equals its
/// weighted total) always hold; a store rebuilds one with
/// [`RatingAggregate::from_parts`].
///
/// Deserializing goes through [`RatingAggregate::from_parts`] too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AggregateRepr")]
pub struct RatingAggregate {
    stars: [u64; 5],
    dimensions: [DimensionTotals; 5],
}

// The serialized shape of `RatingAggregate`, checked on the way in.
#[derive(Deserialize)]
struct AggregateRepr {
    stars: [u64; 5],
    dimensions: [DimensionTotals; 5],
}

impl TryFrom<AggregateRepr> for RatingAggregate {
    type Error = ValidationError;
    fn try_from(r: AggregateRepr) -> Result<Self, Self::Error> {
        RatingAggregate::from_parts(r.stars, r.dimensions)
    }
}

/// The signed change one review write makes to an aggregate. A store applies
/// it as `column = column + delta` in the same transaction as the review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RatingDelta {
    /// Change per star count, index 0 is one star.
    pub stars: [i64; 5],
    /// Change per dimension: (count, sum).
    pub dimensions: [(i64, i64); 5],
}

impl RatingDelta {
    /// The delta that turns the aggregate containing `old` into the one
    /// containing `new` (either may be absent: add, remove, or a moderation
    /// change that makes a review count or stop counting).
    pub fn between(old: Option<&Contribution>, new: Option<&Contribution>) -> Self {
        let mut d = RatingDelta::default();
        let mut add = |c: &Contribution, sign: i64| {
            d.stars[usize::from(c.overall.stars()) - 1] += sign;
            for dim in Dimension::ALL {
                if let Some(r) = c.dimensions.get(dim) {
                    let slot = &mut d.dimensions[dim.index()];
                    slot.0 += sign;
                    slot.1 += sign * i64::from(r.stars());
                }
            }
        };
        if let Some(o) = old {
            add(o, -1);
        }
        if let Some(n) = new {
            add(n, 1);
        }
        d
    }

    /// True when applying it changes nothing.
    pub fn is_zero(&self) -> bool {
        *self == RatingDelta::default()
    }

    /// Change in review count.
    pub fn count(&self) -> i64 {
        self.stars.iter().sum()
    }

    /// Change in the sum of stars.
    pub fn sum(&self) -> i64 {
        self.stars
            .iter()
            .enumerate()
            .map(|(i, n)| n * (i as i64 + 1))
            .sum()
    }
}

/// Prior for the Bayesian (damped) average used in ranking: `weight` virtual
/// reviews of `mean` stars, so a workflow with two 5-star reviews does not
/// outrank one with two hundred 4.8-star reviews.
///
/// Deserializing goes through [`BayesianPrior::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PriorRepr")]
pub struct BayesianPrior {
    weight: u32,
    mean: Decimal,
}

// The serialized shape of `BayesianPrior`, checked on the way in.
#[derive(Deserialize)]
struct PriorRepr {
    weight: u32,
    mean: Decimal,
}

impl TryFrom<PriorRepr> for BayesianPrior {
    type Error = ValidationError;
    fn try_from(r: PriorRepr) -> Result<Self, Self::Error> {
        BayesianPrior::new(r.weight, r.mean)
    }
}

impl BayesianPrior {
    /// `weight` virtual reviews (0 disables damping) of `mean` stars, 1-5 with
    /// at most two decimals.
    pub fn new(weight: u32, mean: Decimal) -> Result<Self, ValidationError> {
        if mean < Decimal::ONE || mean > Decimal::from(5) {
            return Err(ValidationError::new(
                "prior_mean",
                Reason::OutOfRange {
                    min: "1".into(),
                    max: "5".into(),
                },
            ));
        }
        if mean.normalize().scale() > 2 {
            return Err(ValidationError::new(
                "prior_mean",
                Reason::Precision { max_scale: 2 },
            ));
        }
        Ok(Self {
            weight,
            mean: mean.normalize(),
        })
    }

    /// Virtual review count.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// Virtual review mean.
    pub fn mean(&self) -> Decimal {
        self.mean
    }
}

impl Default for BayesianPrior {
    /// Ten virtual reviews of 3.5 stars.
    fn default() -> Self {
        Self {
            weight: 10,
            mean: Decimal::new(35, 1),
        }
    }
}

impl RatingAggregate {
    /// Rebuilds an aggregate from stored columns: the per-star counts (index
    /// 0 is one star) and per-dimension totals. Refuses star counts whose
    /// total or weighted sum does not fit a `u64` (they would overflow
    /// [`count`](Self::count) and [`sum`](Self::sum)), dimensions rated by
    /// more reviews than were counted, and dimension sums that no set of 1-5
    /// ratings could produce.
    pub fn from_parts(
        stars: [u64; 5],
        dimensions: [DimensionTotals; 5],
    ) -> Result<Self, ValidationError> {
        let Some((count, _)) = checked_totals(&stars) else {
            return Err(ValidationError::new(
                "rating_stars",
                Reason::OutOfRange {
                    min: "0".into(),
                    max: format!("a total of {} stars", u64::MAX),
                },
            ));
        };
        if dimensions.iter().any(|d| d.count > count) {
            return Err(ValidationError::new(
                "rating_dimensions",
                Reason::Inconsistent {
                    detail: "a dimension cannot be rated by more reviews than were counted".into(),
                },
            ));
        }
        for d in &dimensions {
            if d.sum < d.count || d.sum > d.count.saturating_mul(5) {
                return Err(ValidationError::new(
                    "rating_dimensions",
                    Reason::Inconsistent {
                        detail: "a dimension's sum must lie between its count and five times it"
                            .into(),
                    },
                ));
            }
        }
        Ok(Self { stars, dimensions })
    }

    /// Recomputes from scratch over the contributions of approved reviews.
    pub fn recompute<'a, I>(contributions: I) -> Self
    where
        I: IntoIterator<Item = &'a Contribution>,
    {
        let mut agg = RatingAggregate::default();
        for c in contributions {
            agg.stars[usize::from(c.overall.stars()) - 1] += 1;
            for dim in Dimension::ALL {
                if let Some(r) = c.dimensions.get(dim) {
                    let t = &mut agg.dimensions[dim.index()];
                    t.count += 1;
                    t.sum += u64::from(r.stars());
                }
            }
        }
        agg
    }

    /// Applies a delta. Fails (leaving `self` unchanged) if it would take any
    /// count below zero, which means the delta was computed against a review
    /// state the aggregate never contained.
    pub fn apply(&self, delta: &RatingDelta) -> Result<Self, Error> {
        let shift = |v: u64, d: i64| -> Result<u64, Error> {
            let r = i128::from(v) + i128::from(d);
            u64::try_from(r).map_err(|_| Error::Overflow {
                what: "rating aggregate",
            })
        };
        let mut next = *self;
        for i in 0..5 {
            next.stars[i] = shift(self.stars[i], delta.stars[i])?;
            next.dimensions[i].count = shift(self.dimensions[i].count, delta.dimensions[i].0)?;
            next.dimensions[i].sum = shift(self.dimensions[i].sum, delta.dimensions[i].1)?;
        }
        if checked_totals(&next.stars).is_none() {
            return Err(Error::Overflow {
                what: "rating aggregate",
            });
        }
        Ok(next)
    }

    /// Approved reviews counted.
    pub fn count(&self) -> u64 {
        // Saturating only matters for a `combine` of huge aggregates; every
        // other constructor keeps the totals within a u64.
        self.stars
            .iter()
            .fold(0u64, |acc, n| acc.saturating_add(*n))
    }

    /// Sum of their stars.
    pub fn sum(&self) -> u64 {
        self.stars
            .iter()
            .zip(1u64..)
            .fold(0u64, |acc, (n, w)| acc.saturating_add(n.saturating_mul(w)))
    }

    /// How many reviews gave each star count; index 0 is one star.
    pub fn distribution(&self) -> [u64; 5] {
        self.stars
    }

    /// Per-dimension totals.
    pub fn dimension_totals(&self, d: Dimension) -> DimensionTotals {
        self.dimensions[d.index()]
    }

    /// The exact mean (`None` without reviews). Always within `[1, 5]`.
    pub fn average(&self) -> Option<Decimal> {
        ratio(self.sum(), self.count())
    }

    /// The mean rounded half-to-even to two places, as shown and stored in
    /// the seed's `rating` column.
    pub fn average_display(&self) -> Option<Decimal> {
        self.average().map(|a| {
            a.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
        })
    }

    /// The exact mean for one dimension.
    pub fn dimension_average(&self, d: Dimension) -> Option<Decimal> {
        let t = self.dimensions[d.index()];
        ratio(t.sum, t.count)
    }

    /// The damped mean `(w·m + sum) / (w + count)`; with no reviews and no
    /// prior weight, `None`.
    pub fn bayesian(&self, prior: &BayesianPrior) -> Option<Decimal> {
        let (num, den) = bayesian_fraction(self.sum(), self.count(), prior);
        if den == 0 {
            return None;
        }
        // Both fit easily: num < 2^72, den < 2^65.
        let num = Decimal::try_from_i128_with_scale(i128::try_from(num).ok()?, 2).ok()?;
        Some(num / Decimal::from_i128_with_scale(i128::try_from(den).ok()?, 0))
    }

    /// Orders two aggregates by their exact average (no reviews ranks
    /// lowest), comparing fractions by cross-multiplication, never rounding.
    pub fn cmp_average(&self, other: &Self) -> Ordering {
        compare_average((self.sum(), self.count()), (other.sum(), other.count()))
    }

    /// Orders two aggregates by their exact Bayesian average.
    pub fn cmp_bayesian(&self, other: &Self, prior: &BayesianPrior) -> Ordering {
        compare_bayesian(
            (self.sum(), self.count()),
            (other.sum(), other.count()),
            prior,
        )
    }

    /// The aggregate of several (a bundle's rating from its members').
    /// Counts saturate at `u64::MAX` rather than overflow.
    pub fn combine<'a, I>(parts: I) -> Self
    where
        I: IntoIterator<Item = &'a RatingAggregate>,
    {
        let mut out = RatingAggregate::default();
        for p in parts {
            for i in 0..5 {
                out.stars[i] = out.stars[i].saturating_add(p.stars[i]);
                let (o, d) = (&mut out.dimensions[i], p.dimensions[i]);
                o.count = o.count.saturating_add(d.count);
                o.sum = o.sum.saturating_add(d.sum);
            }
        }
        out
    }
}

// The review count and the sum of stars of a star histogram, or `None` when
// either does not fit a u64.
fn checked_totals(stars: &[u64; 5]) -> Option<(u64, u64)> {
    let mut count: u64 = 0;
    let mut sum: u64 = 0;
    for (n, weight) in stars.iter().zip(1u64..) {
        count = count.checked_add(*n)?;
        sum = sum.checked_add(n.checked_mul(weight)?)?;
    }
    Some((count, sum))
}

// The damped mean as an exact fraction with the numerator scaled by 100 (the
// prior mean has at most two decimals), so comparisons never round. The
// numerator stays below 2^72 and the denominator below 2^65.
fn bayesian_fraction(sum: u64, count: u64, prior: &BayesianPrior) -> (u128, u128) {
    let mean_x100 = (prior.mean * Decimal::ONE_HUNDRED).trunc();
    let mean_x100 = u128::try_from(mean_x100).unwrap_or(0);
    let w = u128::from(prior.weight);
    (w * mean_x100 + 100 * u128::from(sum), w + u128::from(count))
}

/// Orders `(sum, count)` pairs by their exact average; no reviews ranks
/// lowest. What a SQL backend mirrors with `sum1 * count2 > sum2 * count1`.
pub fn compare_average(a: (u64, u64), b: (u64, u64)) -> Ordering {
    cmp_fraction(
        (u128::from(a.0), u128::from(a.1)),
        (u128::from(b.0), u128::from(b.1)),
    )
}

/// Orders `(sum, count)` pairs by their exact Bayesian average under `prior`.
pub fn compare_bayesian(a: (u64, u64), b: (u64, u64), prior: &BayesianPrior) -> Ordering {
    cmp_fraction(
        bayesian_fraction(a.0, a.1, prior),
        bayesian_fraction(b.0, b.1, prior),
    )
}

fn ratio(sum: u64, count: u64) -> Option<Decimal> {
    if count == 0 {
        return None;
    }
    Some(Decimal::from(sum) / Decimal::from(count))
}

// a/b vs c/d, treating x/0 as lowest. Exact for every input: the cross
// products `a * d` and `c * b` can overflow even a u128 (a Bayesian
// numerator times a u64 count), so the fractions are compared by their
// continued-fraction expansions instead, which only ever divide.
fn cmp_fraction((a, b): (u128, u128), (c, d): (u128, u128)) -> Ordering {
    match (b == 0, d == 0) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => cmp_positive_fraction(a, b, c, d),
    }
}

// a/b vs c/d for b, d > 0.
fn cmp_positive_fraction(mut a: u128, mut b: u128, mut c: u128, mut d: u128) -> Ordering {
    // Each round compares the integer parts; when they tie, a/b vs c/d is the
    // reverse of b/(a mod b) vs d/(c mod d). Euclid's steps: it terminates.
    let mut reversed = false;
    loop {
        let (q1, r1) = (a / b, a % b);
        let (q2, r2) = (c / d, c % d);
        let order = q1.cmp(&q2).then_with(|| match (r1 == 0, r2 == 0) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => Ordering::Equal,
        });
        if order != Ordering::Equal || r1 == 0 {
            return if reversed { order.reverse() } else { order };
        }
        (a, b, c, d) = (b, r1, d, r2);
        reversed = !reversed;
    }
}

/// The lower bound of the Wilson score interval for the share of helpful
/// votes, at confidence `z` (1.96 for 95%). Orders reviews by helpfulness
/// without letting one lucky vote beat a hundred mostly-positive ones.
/// Zero when there are no votes. Computed in `Decimal` for determinism.
/// Only the magnitude of `z` counts; a `z` so large that the interval cannot
/// be computed gives zero, the limit of the bound as `z` grows.
pub fn wilson_lower_bound(helpful: u64, not_helpful: u64, z: Decimal) -> Decimal {
    if helpful == 0 && not_helpful == 0 {
        return Decimal::ZERO;
    }
    // Checked throughout: `Decimal`'s operators panic on overflow.
    let bound = || -> Option<Decimal> {
        // Two u64s always add up within `Decimal`'s range.
        let n = Decimal::from(helpful).checked_add(Decimal::from(not_helpful))?;
        let p = Decimal::from(helpful).checked_div(n)?;
        let z = z.abs();
        let z2 = z.checked_mul(z)?;
        let centre = p.checked_add(z2.checked_div(Decimal::TWO.checked_mul(n)?)?)?;
        let spread_sq = p
            .checked_mul(Decimal::ONE - p)?
            .checked_add(z2.checked_div(Decimal::from(4).checked_mul(n)?)?)?
            .checked_div(n)?;
        let spread = z.checked_mul(spread_sq.sqrt()?)?;
        centre
            .checked_sub(spread)?
            .checked_div(Decimal::ONE.checked_add(z2.checked_div(n)?)?)
    };
    bound()
        .unwrap_or(Decimal::ZERO)
        .max(Decimal::ZERO)
        .min(Decimal::ONE)
}

/// The z-score for 95% confidence.
pub const Z_95: Decimal = Decimal::from_parts(196, 0, 0, false, 2);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn c(overall: u8, dims: [Option<u8>; 5]) -> Contribution {
        let mut d = DimensionRatings::default();
        for (i, v) in dims.iter().enumerate() {
            d.0[i] = v.map(|s| Rating::new(s).expect("valid"));
        }
        Contribution {
            overall: Rating::new(overall).expect("valid"),
            dimensions: d,
        }
    }

    #[test]
    fn rating_range() {
        assert!(Rating::new(1).is_ok() && Rating::new(5).is_ok());
        for bad in [0, 6, 255] {
            assert_eq!(Rating::new(bad).expect_err("range").field(), "rating");
        }
        assert_eq!(
            Rating::new_field("rating_growth", 9)
                .expect_err("range")
                .field(),
            "rating_growth"
        );
    }

    #[test]
    fn aggregate_basics() {
        let cs = [
            c(5, [Some(4), None, None, None, None]),
            c(4, [None; 5]),
            c(4, [Some(2); 5]),
        ];
        let agg = RatingAggregate::recompute(&cs);
        assert_eq!(agg.count(), 3);
        assert_eq!(agg.sum(), 13);
        assert_eq!(agg.distribution(), [0, 0, 0, 2, 1]);
        assert_eq!(agg.average_display(), Some(dec!(4.33)));
        assert_eq!(agg.dimension_average(Dimension::Complexity), Some(dec!(3)));
        assert_eq!(agg.dimension_average(Dimension::Efficiency), Some(dec!(2)));
        assert_eq!(RatingAggregate::default().average(), None);
    }

    #[test]
    fn bayesian_damps_small_samples() {
        let prior = BayesianPrior::default();
        let two_fives = RatingAggregate::recompute(&[c(5, [None; 5]), c(5, [None; 5])]);
        let many: Vec<Contribution> = (0..200)
            .map(|i| c(if i % 5 == 0 { 4 } else { 5 }, [None; 5]))
            .collect();
        let many = RatingAggregate::recompute(&many);
        assert!(two_fives.average() > many.average());
        assert_eq!(two_fives.cmp_bayesian(&many, &prior), Ordering::Less);
        assert_eq!(two_fives.bayesian(&prior), Some(dec!(45) / dec!(12)));
        assert!(BayesianPrior::new(5, dec!(0.5)).is_err());
        assert!(BayesianPrior::new(5, dec!(3.333)).is_err());
    }

    #[test]
    fn from_parts_refuses_what_would_overflow_or_cannot_exist() {
        let none = [DimensionTotals::default(); 5];
        let e = RatingAggregate::from_parts([u64::MAX, 1, 0, 0, 0], none).expect_err("overflow");
        assert_eq!(e.field(), "rating_stars");
        let e = RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 4], none).expect_err("sum");
        assert_eq!(e.field(), "rating_stars");
        let mut dims = none;
        dims[0] = DimensionTotals { count: 2, sum: 6 };
        let e = RatingAggregate::from_parts([0, 0, 1, 0, 0], dims).expect_err("too many");
        assert_eq!(e.field(), "rating_dimensions");
        assert!(RatingAggregate::from_parts([0, 0, 2, 0, 0], dims).is_ok());
    }

    #[test]
    fn deserializing_checks_invariants() {
        let agg = RatingAggregate::recompute(&[c(4, [Some(3), None, None, None, None])]);
        let json = serde_json::to_string(&agg).expect("serializes");
        assert_eq!(
            serde_json::from_str::<RatingAggregate>(&json).expect("valid"),
            agg
        );
        let bad = json.replacen("\"sum\":3", "\"sum\":9", 1);
        assert!(serde_json::from_str::<RatingAggregate>(&bad).is_err());
        let prior = serde_json::to_string(&BayesianPrior::default()).expect("serializes");
        assert_eq!(
            serde_json::from_str::<BayesianPrior>(&prior).expect("valid"),
            BayesianPrior::default()
        );
        for bad in [
            r#"{"weight":1,"mean":"79228162514264337593543950335"}"#,
            r#"{"weight":1,"mean":"0.5"}"#,
            r#"{"weight":1,"mean":"3.333"}"#,
        ] {
            assert!(serde_json::from_str::<BayesianPrior>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comparisons_are_exact_at_the_extremes() {
        // The cross products of these overflow an i128; the order is still exact.
        let max = u64::MAX;
        assert_eq!(
            compare_average((max, max), (max - 1, max)),
            Ordering::Greater
        );
        assert_eq!(compare_average((max - 1, max), (max, max)), Ordering::Less);
        assert_eq!(compare_average((max, max), (1, 1)), Ordering::Equal);
        assert_eq!(compare_average((max, 1), (max, 0)), Ordering::Greater);
        let prior = BayesianPrior::default();
        let n = max / 5;
        assert_eq!(
            compare_bayesian((5 * n, n), (5 * n - 1, n), &prior),
            Ordering::Greater
        );
        assert_eq!(
            compare_bayesian((5 * n - 1, n), (5 * n, n), &prior),
            Ordering::Less
        );
        assert_eq!(
            compare_bayesian((5 * n, n), (5 * n, n), &prior),
            Ordering::Equal
        );
        let agg = RatingAggregate::from_parts([0, 0, 0, 0, n], Default::default()).expect("fits");
        assert!(agg.bayesian(&prior).is_some_and(|b| b > dec!(4.99)));
    }

    #[test]
    fn combining_huge_aggregates_does_not_panic() {
        let none = [DimensionTotals::default(); 5];
        let big = RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 5], none).expect("fits");
        let both = RatingAggregate::combine(&[big, big, big]);
        assert_eq!(both.count(), (u64::MAX / 5) * 3);
        assert_eq!(both.sum(), u64::MAX, "saturates");
        assert!(both.average().is_some());
        let all = RatingAggregate::combine(&[big; 6]);
        assert_eq!(all.count(), u64::MAX);
        let small = RatingAggregate::recompute(&[c(4, [Some(3), None, None, None, None])]);
        let two = RatingAggregate::combine(&[small, small]);
        assert_eq!((two.count(), two.sum()), (2, 8));
        assert_eq!(two.dimension_totals(Dimension::Complexity).sum, 6);
    }

    #[test]
    fn wilson_orders_by_confidence() {
        let one = wilson_lower_bound(1, 0, Z_95);
        let many = wilson_lower_bound(90, 10, Z_95);
        assert!(many > one);
        assert_eq!(wilson_lower_bound(0, 0, Z_95), Decimal::ZERO);
        let w = wilson_lower_bound(90, 10, Z_95);
        assert!(w > dec!(0.82) && w < dec!(0.83), "{w}");
    }

    #[test]
    fn wilson_never_panics() {
        // The vote total does not fit a u64; the bound is still a probability.
        let w = wilson_lower_bound(u64::MAX, u64::MAX, Z_95);
        assert!(w > dec!(0.49) && w < dec!(0.5), "{w}");
        assert!(wilson_lower_bound(u64::MAX, 0, Z_95) > dec!(0.99));
        // A z whose square overflows: the interval is the whole range.
        assert_eq!(wilson_lower_bound(1, 1, Decimal::MAX), Decimal::ZERO);
        assert_eq!(wilson_lower_bound(3, 1, Decimal::MIN), Decimal::ZERO);
        // A negative z counts by its magnitude.
        assert_eq!(
            wilson_lower_bound(90, 10, -Z_95),
            wilson_lower_bound(90, 10, Z_95)
        );
    }

    #[test]
    fn applying_an_impossible_delta_fails() {
        let agg = RatingAggregate::default();
        let d = RatingDelta::between(Some(&c(3, [None; 5])), None);
        assert!(agg.apply(&d).is_err());
    }

    fn arb_contribution() -> impl Strategy<Value = Contribution> {
        (
            1u8..=5,
            proptest::array::uniform5(proptest::option::of(1u8..=5)),
        )
            .prop_map(|(o, d)| c(o, d))
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Contribution, bool),
        Edit(usize, Contribution),
        Remove(usize),
        Moderate(usize, bool),
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (arb_contribution(), any::<bool>()).prop_map(|(c, a)| Op::Add(c, a)),
            (any::<usize>(), arb_contribution()).prop_map(|(i, c)| Op::Edit(i, c)),
            any::<usize>().prop_map(Op::Remove),
            (any::<usize>(), any::<bool>()).prop_map(|(i, a)| Op::Moderate(i, a)),
        ]
    }

    proptest! {
        /// Maintaining the aggregate one review change at a time gives exactly
        /// the aggregate recomputed from the approved reviews.
        #[test]
        fn incremental_equals_recomputed(ops in proptest::collection::vec(arb_op(), 0..60)) {
            let mut reviews: Vec<(Contribution, bool)> = Vec::new();
            let mut agg = RatingAggregate::default();
            for op in ops {
                let counted = |r: &(Contribution, bool)| r.1.then_some(r.0);
                let (old, new) = match op {
                    Op::Add(c, approved) => {
                        reviews.push((c, approved));
                        (None, counted(&(c, approved)))
                    }
                    Op::Edit(i, c) if !reviews.is_empty() => {
                        let i = i % reviews.len();
                        let old = counted(&reviews[i]);
                        reviews[i].0 = c;
                        (old, counted(&reviews[i]))
                    }
                    Op::Remove(i) if !reviews.is_empty() => {
                        let i = i % reviews.len();
                        let old = counted(&reviews[i]);
                        reviews.remove(i);
                        (old, None)
                    }
                    Op::Moderate(i, a) if !reviews.is_empty() => {
                        let i = i % reviews.len();
                        let old = counted(&reviews[i]);
                        reviews[i].1 = a;
                        (old, counted(&reviews[i]))
                    }
                    _ => (None, None),
                };
                agg = agg.apply(&RatingDelta::between(old.as_ref(), new.as_ref())).expect("consistent");
                let approved: Vec<Contribution> = reviews.iter().filter(|r| r.1).map(|r| r.0).collect();
                let fresh = RatingAggregate::recompute(&approved);
                prop_assert_eq!(agg, fresh);
                prop_assert_eq!(agg.average(), fresh.average());
                if let Some(avg) = agg.average() {
                    prop_assert!(avg >= Decimal::ONE && avg <= Decimal::from(5));
                }
                for d in Dimension::ALL {
                    if let Some(avg) = agg.dimension_average(d) {
                        prop_assert!(avg >= Decimal::ONE && avg <= Decimal::from(5));
                    }
                }
            }
        }

        /// Ranking by exact fractions agrees with comparing the Decimal means.
        #[test]
        fn cmp_average_matches_decimal(a in proptest::collection::vec(arb_contribution(), 1..30), b in proptest::collection::vec(arb_contribution(), 1..30)) {
            let x = RatingAggregate::recompute(&a);
            let y = RatingAggregate::recompute(&b);
            let by_fraction = x.cmp_average(&y);
            let sx = u128::from(x.sum()) * u128::from(y.count());
            let sy = u128::from(y.sum()) * u128::from(x.count());
            prop_assert_eq!(by_fraction, sx.cmp(&sy));
            let prior = BayesianPrior::default();
            if let (Some(bx), Some(by)) = (x.bayesian(&prior), y.bayesian(&prior)) {
                if x.cmp_bayesian(&y, &prior) == Ordering::Greater {
                    prop_assert!(bx >= by);
                }
                prop_assert!(bx >= Decimal::ONE && bx <= Decimal::from(5));
            }
        }

        /// Over the whole u64 range, the order is the one exact u128 cross
        /// products give (they cannot overflow for plain averages).
        #[test]
        fn compare_average_is_exact_everywhere(s1 in any::<u64>(), c1 in any::<u64>(), s2 in any::<u64>(), c2 in any::<u64>()) {
            let expected = match (c1 == 0, c2 == 0) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => (u128::from(s1) * u128::from(c2)).cmp(&(u128::from(s2) * u128::from(c1))),
            };
            prop_assert_eq!(compare_average((s1, c1), (s2, c2)), expected);
            let prior = BayesianPrior::default();
            let ab = compare_bayesian((s1, c1), (s2, c2), &prior);
            prop_assert_eq!(ab, compare_bayesian((s2, c2), (s1, c1), &prior).reverse());
        }

        #[test]
        fn wilson_is_a_probability(up in 0u64..10_000, down in 0u64..10_000) {
            let w = wilson_lower_bound(up, down, Z_95);
            let any_z = wilson_lower_bound(up, down, Decimal::from_i128_with_scale(i128::from(up) * 1_000_000_007, 3));
            prop_assert!(any_z >= Decimal::ZERO && any_z <= Decimal::ONE);
            prop_assert!(w >= Decimal::ZERO && w <= Decimal::ONE);
            if up + down > 0 {
                let p = Decimal::from(up) / Decimal::from(up + down);
                prop_assert!(w <= p + dec!(0.0000001));
            }
        }
    }
}

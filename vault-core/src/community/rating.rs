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
        self.summary().average()
    }

    /// The mean rounded half-to-even to two places, as shown and stored in
    /// the seed's `rating` column.
    pub fn average_display(&self) -> Option<Decimal> {
        self.summary().average_display()
    }

    /// The count and sum alone: what a catalog card shows.
    pub fn summary(&self) -> RatingSummary {
        RatingSummary {
            count: self.count(),
            sum: self.sum(),
        }
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

/// A rating aggregate reduced to its count and star sum: what a listing
/// shows (the mean and how many reviews) without the distribution and the
/// dimensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingSummary {
    /// Approved reviews counted.
    pub count: u64,
    /// Sum of their stars.
    pub sum: u64,
}

impl RatingSummary {
    /// The exact mean (`None` without reviews).
    pub fn average(&self) -> Option<Decimal> {
        ratio(self.sum, self.count)
    }

    /// The mean rounded half-to-even to two places, as
    /// [`RatingAggregate::average_display`] shows it.
    pub fn average_display(&self) -> Option<Decimal> {
        self.average().map(|a| {
            a.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
        })
    }
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
mod tests;

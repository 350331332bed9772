//! Checking the incremental rollup against the rows: a day's downloads,
//! purchases, refunds, new favorites and new reviews per workflow, counted
//! again from the rows the store keeps, compared with what the incremental
//! counters recorded. A difference is reported, never written over: a
//! counter that drifted is a bug to find, and a silent fix would hide it.
//!
//! Each counted figure has a row per event: a download, a purchase's
//! completion and items, a refund line ([`RefundLine`]), a favorite's add
//! (kept after an unfavorite), a review's first approval
//! ([`Review::approved_at`]). The others are named in [`NOT_REBUILDABLE`]
//! with why.
//!
//! [`RefundLine`]: crate::commerce::refund::RefundLine
//! [`Review::approved_at`]: crate::community::review::Review::approved_at

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::value::clock::check_date;
use crate::value::ids::WorkflowId;
use crate::value::validation::ValidationError;

/// The instants that bound the UTC day `day`: rows from the first, before
/// the second. `Invalid` (field `date`) outside the dates stores hold.
pub fn day_bounds(day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), ValidationError> {
    check_date("date", day)?;
    let start = day.and_time(NaiveTime::MIN).and_utc();
    Ok((start, start + Duration::days(1)))
}

/// Figures of [`DailyAnalytics`](super::analytics::DailyAnalytics) that no
/// rows can rebuild, and why.
pub const NOT_REBUILDABLE: [(&str, &str); 7] = [
    ("views", "a view is counted, not kept as a row"),
    (
        "unique_visitors",
        "visitor hashes are kept for the day's deduplication only",
    ),
    ("clicks", "a click is counted, not kept as a row"),
    ("shares", "a share is counted, not kept as a row"),
    (
        "traffic_sources",
        "referrers of views are counted, not kept",
    ),
    ("countries", "countries of views are counted, not kept"),
    (
        "revenue",
        "allocated across a bundle by the prices at completion time, which may have changed",
    ),
];

/// The figures [`compare`] checks, in the order it reports them.
pub const FIGURES: [&str; 5] = ["downloads", "purchases", "refunds", "favorites", "reviews"];

/// A day's figures for one workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Downloads.
    pub downloads: u64,
    /// Completed purchases that include it.
    pub purchases: u64,
    /// Refunded, its share, in its currency.
    pub refunds: Decimal,
    /// Favorites added.
    pub favorites: u64,
    /// Reviews approved for the first time.
    pub reviews: u64,
}

impl DayCount {
    /// Nothing counted for `workflow_id`: what a row-count query starts from.
    pub fn zero(workflow_id: WorkflowId) -> Self {
        DayCount {
            workflow_id,
            downloads: 0,
            purchases: 0,
            refunds: Decimal::ZERO,
            favorites: 0,
            reviews: 0,
        }
    }

    /// The figures by [`FIGURES`]' order; counts as whole decimals.
    pub fn figures(&self) -> [Decimal; 5] {
        [
            Decimal::from(self.downloads),
            Decimal::from(self.purchases),
            self.refunds,
            Decimal::from(self.favorites),
            Decimal::from(self.reviews),
        ]
    }
}

/// What a store holds about one day: the incremental rollup's figures, and
/// the same counted from the rows, read together in one snapshot. A side
/// may list a workflow more than once (one entry per query); [`compare`]
/// adds them up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// From the daily analytics rows.
    pub recorded: Vec<DayCount>,
    /// From the download, purchase, refund, favorite and review rows.
    pub counted: Vec<DayCount>,
}

/// One figure that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The day.
    pub date: NaiveDate,
    /// One of [`FIGURES`].
    pub figure: &'static str,
    /// What the rollup holds.
    pub recorded: Decimal,
    /// What the rows say.
    pub counted: Decimal,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}: rollup {}, rows {}",
            self.date, self.workflow_id, self.figure, self.recorded, self.counted
        )
    }
}

/// The figures of `date` that differ, by workflow then figure. A workflow
/// missing on one side counts zero there; amounts compare by value (10 and
/// 10.00 are one amount).
pub fn compare(date: NaiveDate, counts: &DayCounts) -> Vec<Mismatch> {
    use std::collections::BTreeMap;
    type Sides = ([Decimal; 5], [Decimal; 5]);
    let mut by: BTreeMap<WorkflowId, Sides> = BTreeMap::new();
    let add = |into: &mut [Decimal; 5], c: &DayCount| {
        for (sum, v) in into.iter_mut().zip(c.figures()) {
            *sum += v;
        }
    };
    for c in &counts.recorded {
        add(&mut by.entry(c.workflow_id).or_default().0, c);
    }
    for c in &counts.counted {
        add(&mut by.entry(c.workflow_id).or_default().1, c);
    }
    let mut out = Vec::new();
    for (workflow_id, (recorded, counted)) in by {
        for (i, figure) in FIGURES.into_iter().enumerate() {
            if recorded[i] != counted[i] {
                out.push(Mismatch {
                    workflow_id,
                    date,
                    figure,
                    recorded: recorded[i],
                    counted: counted[i],
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wf(n: u8) -> WorkflowId {
        WorkflowId::from_uuid(uuid::Uuid::from_u128(u128::from(n)))
    }

    fn count(n: u8, f: [u64; 5]) -> DayCount {
        DayCount {
            workflow_id: wf(n),
            downloads: f[0],
            purchases: f[1],
            // Cents, so an amount with two places.
            refunds: Decimal::new(f[2] as i64, 2),
            favorites: f[3],
            reviews: f[4],
        }
    }

    proptest! {
        /// Equal sides never differ, however each side is split into
        /// entries; changing one figure of one workflow reports exactly
        /// that figure, with both values.
        #[test]
        fn reports_exactly_what_differs(
            rows in proptest::collection::btree_map(0u8..20, proptest::array::uniform5(0u64..50), 0..10),
            pick in any::<proptest::sample::Index>(),
            figure in 0usize..5,
            by in 1u64..5,
        ) {
            let date = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
            let same: Vec<_> = rows.iter().map(|(n, f)| count(*n, *f)).collect();
            // The counted side as one entry per figure, as stores query it.
            let split: Vec<_> = rows
                .iter()
                .flat_map(|(n, f)| {
                    (0..5).map(move |i| {
                        let mut one = [0; 5];
                        one[i] = f[i];
                        count(*n, one)
                    })
                })
                .collect();
            let counts = DayCounts { recorded: same.clone(), counted: split };
            prop_assert!(compare(date, &counts).is_empty());
            if same.is_empty() {
                return Ok(());
            }
            let i = pick.index(rows.len());
            let (n, mut f) = rows.iter().nth(i).map(|(n, f)| (*n, *f)).unwrap();
            f[figure] += by;
            let mut counted = same.clone();
            counted[i] = count(n, f);
            let found = compare(date, &DayCounts { recorded: same.clone(), counted });
            prop_assert_eq!(found.len(), 1);
            prop_assert_eq!(found[0].workflow_id, wf(n));
            prop_assert_eq!(found[0].figure, FIGURES[figure]);
            let step = if figure == 2 { Decimal::new(by as i64, 2) } else { Decimal::from(by) };
            prop_assert_eq!(found[0].counted, found[0].recorded + step);
        }
    }

    #[test]
    fn a_workflow_missing_on_one_side_counts_zero() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let counts = DayCounts {
            recorded: vec![],
            counted: vec![count(1, [2, 0, 0, 0, 0])],
        };
        let found = compare(date, &counts);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].recorded, found[0].counted),
            (Decimal::ZERO, Decimal::from(2))
        );
        assert_eq!(
            found[0].to_string(),
            format!("2026-12-04 {} downloads: rollup 0, rows 2", wf(1))
        );
    }

    #[test]
    fn amounts_compare_by_value() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let mut a = count(1, [0; 5]);
        a.refunds = Decimal::new(1000, 2);
        let mut b = a;
        b.refunds = Decimal::new(10, 0);
        let counts = DayCounts {
            recorded: vec![a],
            counted: vec![b],
        };
        assert!(compare(date, &counts).is_empty());
    }
}

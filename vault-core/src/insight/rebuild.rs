//! Checking the incremental rollup against the rows: a day's downloads and
//! purchases per workflow, counted again from the rows the store keeps,
//! compared with what the incremental counters recorded. A difference is
//! reported, never written over: a counter that drifted is a bug to find,
//! and a silent fix would hide it.
//!
//! Only figures with a row per event can be counted again. The others are
//! named in [`NOT_REBUILDABLE`] with why.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
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
pub const NOT_REBUILDABLE: [(&str, &str); 9] = [
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
    (
        "refunds",
        "a purchase keeps its refunded total and last refund, not each refund's day",
    ),
    (
        "favorites and reviews",
        "an unfavorite deletes its row; a review's approval day is not kept",
    ),
];

/// A day's counts for one workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Downloads.
    pub downloads: u64,
    /// Completed purchases that include it.
    pub purchases: u64,
}

/// What a store holds about one day: the incremental rollup's counts, and
/// the same counted from the rows (downloads made that day, purchases
/// completed that day, by each workflow they include), read together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// From the daily analytics rows.
    pub recorded: Vec<DayCount>,
    /// From the download and purchase rows.
    pub counted: Vec<DayCount>,
}

/// One figure that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The day.
    pub date: NaiveDate,
    /// `downloads` or `purchases`.
    pub figure: &'static str,
    /// What the rollup holds.
    pub recorded: u64,
    /// What the rows say.
    pub counted: u64,
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
/// missing on one side counts zero there.
pub fn compare(date: NaiveDate, counts: &DayCounts) -> Vec<Mismatch> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<WorkflowId, ([u64; 2], [u64; 2])> = BTreeMap::new();
    for c in &counts.recorded {
        let e = by.entry(c.workflow_id).or_default();
        e.0[0] += c.downloads;
        e.0[1] += c.purchases;
    }
    for c in &counts.counted {
        let e = by.entry(c.workflow_id).or_default();
        e.1[0] += c.downloads;
        e.1[1] += c.purchases;
    }
    let mut out = Vec::new();
    for (workflow_id, (recorded, counted)) in by {
        for (i, figure) in ["downloads", "purchases"].into_iter().enumerate() {
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

    fn count(n: u8, d: u64, p: u64) -> DayCount {
        DayCount {
            workflow_id: wf(n),
            downloads: d,
            purchases: p,
        }
    }

    proptest! {
        /// Equal sides never differ; changing one figure of one workflow
        /// reports exactly that figure, with both values.
        #[test]
        fn reports_exactly_what_differs(
            rows in proptest::collection::btree_map(0u8..20, (0u64..50, 0u64..50), 0..10),
            pick in any::<proptest::sample::Index>(),
            purchases in any::<bool>(),
            by in 1u64..5,
        ) {
            let date = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
            let same: Vec<_> = rows.iter().map(|(n, (d, p))| count(*n, *d, *p)).collect();
            let counts = DayCounts { recorded: same.clone(), counted: same.clone() };
            prop_assert!(compare(date, &counts).is_empty());
            if same.is_empty() {
                return Ok(());
            }
            let mut counted = same.clone();
            let i = pick.index(counted.len());
            if purchases { counted[i].purchases += by } else { counted[i].downloads += by }
            let found = compare(date, &DayCounts { recorded: same.clone(), counted: counted.clone() });
            prop_assert_eq!(found.len(), 1);
            prop_assert_eq!(found[0].workflow_id, counted[i].workflow_id);
            prop_assert_eq!(found[0].figure, if purchases { "purchases" } else { "downloads" });
            prop_assert_eq!(found[0].counted, found[0].recorded + by);
        }
    }

    #[test]
    fn a_workflow_missing_on_one_side_counts_zero() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let counts = DayCounts {
            recorded: vec![],
            counted: vec![count(1, 2, 0)],
        };
        let found = compare(date, &counts);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].recorded, found[0].counted), (0, 2));
        assert_eq!(
            found[0].to_string(),
            format!("2026-12-04 {} downloads: rollup 0, rows 2", wf(1))
        );
    }
}

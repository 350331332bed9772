//! Insight's part of the storage contract (see [`crate::store`] for what
//! every backend guarantees): daily analytics and the reporting views.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::insight::analytics::{ActiveMembershipRow, DailyAnalytics, WorkflowStatsRow};
use crate::insight::rebuild::DayCounts;
use crate::value::delta::AnalyticsDelta;
use crate::value::error::StoreResult;
use crate::value::ids::WorkflowId;

/// Daily analytics and the reporting views.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + Debug {
    /// Applies a delta to its day's row (creating it). Views also add to the
    /// workflow's `view_count`; a delta with a `visitor` adds one unique
    /// visitor only the first time that visitor is seen that day.
    /// `NotFound` for a missing workflow.
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()>;
    /// A workflow's daily rows for `from..=to`, oldest first. `Invalid` when
    /// a date fails [`crate::insight::analytics::check_days`].
    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>>;
    /// The seed's `active_memberships` view as the store computes it at
    /// `now` (the SQL stores read their view with `now` standing in for
    /// the database's clock), in membership id order. It agrees row for
    /// row with [`ActiveMembershipRow::of`] over every stored membership,
    /// with no grace for a past-due row whose grace end was never settled.
    async fn active_memberships_report(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActiveMembershipRow>>;
    /// The day's counts, as the rollup recorded them and as the rows count
    /// them ([`DayCounts`]), read in one snapshot.
    async fn day_counts(&self, date: NaiveDate) -> StoreResult<DayCounts>;
    /// The seed's `workflow_stats` view, one row per workflow (or one).
    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>>;
}

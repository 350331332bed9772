//! Daily analytics and the reporting views.

pub(crate) mod daily;

use daily::*;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vault_core::insight::analytics::{
    ActiveMembershipRow, AnalyticsDelta, ComputedStatus, DailyAnalytics, WorkflowStatsRow,
    check_days,
};
use vault_core::insight::rebuild::{DayCount, DayCounts, day_bounds};
use vault_core::store::{AnalyticsStore, StoreResult};
use vault_core::value::ids::WorkflowId;

use crate::catalog::{workflow_cols, workflow_from_row, workflows_with_counts};
use crate::codec::*;
use crate::commerce::membership_from_row;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()> {
        write_tx!(self, |c| apply_delta(c, delta))
    }

    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>> {
        // PostgreSQL's `date` starts at 4713 BC, long after chrono's first
        // day: a date out of the crate's range is refused before it can
        // fail the query.
        check_days(from, to)?;
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            analytics_cols!(),
            " FROM workflow_analytics WHERE workflow_id = $1 AND date BETWEEN $2 AND $3 \
             ORDER BY date"
        ))
        .bind(workflow.as_uuid())
        .bind(from)
        .bind(to)
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(analytics_from_row)
        .collect()
    }

    async fn active_memberships_report(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActiveMembershipRow>> {
        // The view reads its instant from a transaction-local setting.
        let rows = write_tx!(self, |c| async move {
            sqlx::query("SELECT set_config('vault.report_now', $1, true)")
                .bind(now.to_rfc3339())
                .execute(&mut *c)
                .await
                .map_err(db)?;
            sqlx::query("SELECT * FROM active_memberships ORDER BY id")
                .fetch_all(&mut *c)
                .await
                .map_err(db)
        })?;
        rows.iter()
            .map(|row| {
                Ok(ActiveMembershipRow::from_view(
                    membership_from_row(row)?,
                    parse_with(row, "computed_status", ComputedStatus::parse)?,
                    get(row, "days_remaining")?,
                    opt_u32_col(row, "downloads_remaining")?,
                ))
            })
            .collect()
    }

    async fn day_counts(&self, date: NaiveDate) -> StoreResult<DayCounts> {
        let (from, to) = day_bounds(date)?;
        write_tx!(self, |c| async move {
            // The rollup and the rows in one snapshot.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *c)
                .await
                .map_err(db)?;
            let recorded = sqlx::query(
                "SELECT workflow_id, downloads AS d, purchases AS p, refunds AS r, \
                 favorites AS f, reviews AS v FROM workflow_analytics WHERE date = $1",
            )
            .bind(date)
            .fetch_all(&mut *c)
            .await
            .map_err(db)?;
            // Each figure from its rows in [from, to), one branch each.
            let counted = sqlx::query(
                "SELECT workflow_id, COUNT(*) AS d, 0::bigint AS p, 0::numeric AS r, \
                 0::bigint AS f, 0::bigint AS v FROM workflow_downloads \
                 WHERE downloaded_at >= $1 AND downloaded_at < $2 GROUP BY workflow_id \
                 UNION ALL \
                 SELECT i.workflow_id, 0, COUNT(*), 0, 0, 0 FROM workflow_purchases p \
                 JOIN workflow_purchase_items i ON i.purchase_id = p.id \
                 WHERE p.completed_at >= $1 AND p.completed_at < $2 GROUP BY i.workflow_id \
                 UNION ALL \
                 SELECT workflow_id, 0, 0, SUM(amount), 0, 0 FROM purchase_refunds \
                 WHERE refunded_at >= $1 AND refunded_at < $2 GROUP BY workflow_id \
                 UNION ALL \
                 SELECT workflow_id, 0, 0, 0, COUNT(*), 0 FROM workflow_favorite_adds \
                 WHERE added_at >= $1 AND added_at < $2 GROUP BY workflow_id \
                 UNION ALL \
                 SELECT workflow_id, 0, 0, 0, 0, COUNT(*) FROM workflow_review_approvals \
                 WHERE approved_at >= $1 AND approved_at < $2 GROUP BY workflow_id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *c)
            .await
            .map_err(db)?;
            Ok(DayCounts {
                recorded: recorded.iter().map(day_count).collect::<StoreResult<_>>()?,
                counted: counted.iter().map(day_count).collect::<StoreResult<_>>()?,
            })
        })
    }

    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT wf.*, s.category_name AS stats_category_name, \
             s.total_revenue AS stats_revenue, s.currency AS stats_currency \
             FROM (SELECT ",
            workflow_cols!(),
            " FROM ",
            workflows_with_counts!(),
            ") wf JOIN workflow_stats s ON s.id = wf.id \
             WHERE $1::uuid IS NULL OR wf.id = $1 ORDER BY wf.id"
        ))
        .bind(workflow.map(|w| w.as_uuid()))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(|row| {
            let w = workflow_from_row(row)?;
            Ok(WorkflowStatsRow {
                workflow_id: w.id,
                slug: w.content.slug.clone(),
                title: w.content.title.clone(),
                status: w.status,
                pricing_tier: w.content.pricing_tier,
                category_id: w.content.category_id,
                category_name: get(row, "stats_category_name")?,
                rating: w.stats.rating,
                total_purchases: w.stats.purchase_count,
                total_revenue: get(row, "stats_revenue")?,
                currency: opt_currency(row, "stats_currency")?,
                favorite_count: w.stats.favorite_count,
                download_count: w.stats.download_count,
                view_count: w.stats.view_count,
            })
        })
        .collect()
    }
}

/// A row of `workflow_id` and the figures `d` (downloads), `p`
/// (purchases), `r` (refunds), `f` (favorites) and `v` (reviews).
fn day_count(row: &sqlx::postgres::PgRow) -> StoreResult<DayCount> {
    Ok(DayCount {
        workflow_id: WorkflowId::from_uuid(get(row, "workflow_id")?),
        downloads: u64_col(row, "d")?,
        purchases: u64_col(row, "p")?,
        refunds: get(row, "r")?,
        favorites: u64_col(row, "f")?,
        reviews: u64_col(row, "v")?,
    })
}

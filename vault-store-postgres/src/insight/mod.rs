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

use crate::catalog::{workflow_cols, workflow_from_row};
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
                "SELECT workflow_id, downloads::bigint AS d, purchases::bigint AS p \
                 FROM workflow_analytics WHERE date = $1",
            )
            .bind(date)
            .fetch_all(&mut *c)
            .await
            .map_err(db)?;
            let mut counted = sqlx::query(
                "SELECT workflow_id, COUNT(*)::bigint AS d, 0::bigint AS p \
                 FROM workflow_downloads WHERE downloaded_at >= $1 AND downloaded_at < $2 \
                 GROUP BY workflow_id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *c)
            .await
            .map_err(db)?;
            counted.extend(
                sqlx::query(
                    "SELECT i.workflow_id, 0::bigint AS d, COUNT(*)::bigint AS p \
                     FROM workflow_purchases p \
                     JOIN workflow_purchase_items i ON i.purchase_id = p.id \
                     WHERE p.completed_at >= $1 AND p.completed_at < $2 GROUP BY i.workflow_id",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *c)
                .await
                .map_err(db)?,
            );
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
            " FROM workflows) wf JOIN workflow_stats s ON s.id = wf.id \
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

/// A row of `workflow_id`, `d` (downloads) and `p` (purchases).
fn day_count(row: &sqlx::postgres::PgRow) -> StoreResult<DayCount> {
    let n =
        |col: &str| -> StoreResult<u64> { Ok(u64::try_from(get::<i64>(row, col)?).unwrap_or(0)) };
    Ok(DayCount {
        workflow_id: WorkflowId::from_uuid(get(row, "workflow_id")?),
        downloads: n("d")?,
        purchases: n("p")?,
    })
}

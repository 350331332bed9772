//! Daily analytics and the reporting views.

pub(crate) mod daily;

use daily::*;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;
use vault_core::insight::analytics::{
    ActiveMembershipRow, AnalyticsDelta, ComputedStatus, DailyAnalytics, WorkflowStatsRow,
    check_days,
};
use vault_core::insight::rebuild::{DayCount, DayCounts, day_bounds};
use vault_core::store::{AnalyticsStore, StoreResult};
use vault_core::value::ids::WorkflowId;
use vault_core::value::money::Currency;

use crate::SqliteStore;
use crate::catalog::{WORKFLOW_COLS, workflow_from_row};
use crate::codec::*;
use crate::commerce::{membership_cols, membership_from_row};
use crate::sql::{Id, query_all};

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()> {
        let d = delta.clone();
        self.write(move |tx| apply_delta(tx, &d)).await
    }

    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>> {
        check_days(from, to)?;
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    analytics_cols!(),
                    " FROM workflow_analytics \
                     WHERE workflow_id = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date"
                ),
                params![Id(&workflow), date(&from), date(&to)],
                analytics_from_row,
            )
        })
        .await
    }

    async fn day_counts(&self, date_of: NaiveDate) -> StoreResult<DayCounts> {
        let (from, to) = day_bounds(date_of)?;
        let (from, to) = (ts(&from), ts(&to));
        self.read(move |c| {
            // `read` is one read transaction: the rollup and the rows are
            // one snapshot.
            let recorded = query_all(
                c,
                "SELECT workflow_id, downloads, purchases, refunds_minor, currency, favorites, \
                 reviews FROM workflow_analytics WHERE date = ?1",
                params![date(&date_of)],
                |r| {
                    let currency = parse_opt_with(r, "currency", Currency::parse)?;
                    Ok(DayCount {
                        workflow_id: parse(r, "workflow_id")?,
                        downloads: u64_col(r, "downloads")?,
                        purchases: u64_col(r, "purchases")?,
                        refunds: decimal_of(get(r, "refunds_minor")?, currency),
                        favorites: u64_col(r, "favorites")?,
                        reviews: u64_col(r, "reviews")?,
                    })
                },
            )?;
            // Each figure from its rows in [from, to): `n` a count, or for
            // refunds a sum of minor units in `currency`.
            type Put = fn(&mut DayCount, u64, Option<Currency>, i64);
            let figures: [(&str, Put); 5] = [
                (
                    "SELECT workflow_id, COUNT(*) AS n, NULL AS currency FROM workflow_downloads \
                     WHERE downloaded_at >= ?1 AND downloaded_at < ?2 GROUP BY workflow_id",
                    |c, n, _, _| c.downloads = n,
                ),
                (
                    "SELECT i.workflow_id, COUNT(*) AS n, NULL AS currency FROM workflow_purchases p \
                     JOIN workflow_purchase_items i ON i.purchase_id = p.id \
                     WHERE p.completed_at >= ?1 AND p.completed_at < ?2 GROUP BY i.workflow_id",
                    |c, n, _, _| c.purchases = n,
                ),
                (
                    "SELECT workflow_id, SUM(amount_minor) AS n, currency FROM purchase_refunds \
                     WHERE refunded_at >= ?1 AND refunded_at < ?2 GROUP BY workflow_id, currency",
                    |c, _, currency, minor| c.refunds = decimal_of(minor, currency),
                ),
                (
                    "SELECT workflow_id, COUNT(*) AS n, NULL AS currency FROM workflow_favorite_adds \
                     WHERE added_at >= ?1 AND added_at < ?2 GROUP BY workflow_id",
                    |c, n, _, _| c.favorites = n,
                ),
                (
                    "SELECT workflow_id, COUNT(*) AS n, NULL AS currency FROM workflow_review_approvals \
                     WHERE approved_at >= ?1 AND approved_at < ?2 GROUP BY workflow_id",
                    |c, n, _, _| c.reviews = n,
                ),
            ];
            let mut counted = Vec::new();
            for (sql, put) in figures {
                counted.extend(query_all(c, sql, params![from, to], |r| {
                    let n: i64 = get(r, "n")?;
                    let mut c = DayCount::zero(parse(r, "workflow_id")?);
                    put(
                        &mut c,
                        u64_col(r, "n")?,
                        parse_opt_with(r, "currency", Currency::parse)?,
                        n,
                    );
                    Ok(c)
                })?);
            }
            Ok(DayCounts { recorded, counted })
        })
        .await
    }

    async fn active_memberships_report(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActiveMembershipRow>> {
        let at = ts(&now);
        self.write(move |tx| {
            // The view reads its instant from this table; the row is gone
            // again before the transaction commits.
            tx.prepare_cached("INSERT INTO vault_report_clock (at) VALUES (?1)")
                .map_err(db)?
                .execute([&at])
                .map_err(db)?;
            let rows = query_all(
                tx,
                // The membership's columns first, as its decoder reads them.
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    ", computed_status, days_remaining, downloads_remaining \
                     FROM active_memberships ORDER BY id"
                ),
                [],
                |row| {
                    Ok(ActiveMembershipRow::from_view(
                        membership_from_row(row)?,
                        parse_with(row, "computed_status", ComputedStatus::parse)?,
                        get(row, "days_remaining")?,
                        opt_u32_col(row, "downloads_remaining")?,
                    ))
                },
            )?;
            tx.prepare_cached("DELETE FROM vault_report_clock")
                .map_err(db)?
                .execute([])
                .map_err(db)?;
            Ok(rows)
        })
        .await
    }

    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>> {
        let cols: Vec<String> = WORKFLOW_COLS
            .split(", ")
            .map(|c| format!("w.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT {}, s.category_name AS stats_category_name, s.total_revenue_minor AS stats_revenue_minor, \
             s.currency AS stats_currency FROM workflows w JOIN workflow_stats s ON s.id = w.id \
             WHERE ?1 IS NULL OR w.id = ?1 ORDER BY w.id",
            cols.join(", ")
        );
        let id = workflow.map(|w| w.to_string());
        self.read(move |c| {
            query_all(c, &sql, [id], |row| {
                let w = workflow_from_row(row)?;
                let currency = parse_opt_with(row, "stats_currency", Currency::parse)?;
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
                    total_revenue: decimal_of(get(row, "stats_revenue_minor")?, currency),
                    currency,
                    favorite_count: w.stats.favorite_count,
                    download_count: w.stats.download_count,
                    view_count: w.stats.view_count,
                })
            })
        })
        .await
    }
}

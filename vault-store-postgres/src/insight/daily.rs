//! Daily analytics rows: their codec, and applying a delta inside the
//! caller's transaction (every write that counts something calls it).

use std::collections::BTreeMap;

use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use vault_core::insight::analytics::{AnalyticsDelta, DailyAnalytics};
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::country::CountryCode;

use crate::codec::*;

macro_rules! analytics_cols {
    () => {
        "workflow_id, date, views, unique_visitors, clicks, downloads, purchases, revenue, \
         refunds, currency, favorites, shares, reviews, traffic_sources, countries"
    };
}
pub(crate) use analytics_cols;

pub(crate) fn analytics_from_row(row: &PgRow) -> StoreResult<DailyAnalytics> {
    decode("workflow_analytics", || {
        let countries: BTreeMap<String, u64> = json_col(row, "countries")?;
        let countries = countries
            .into_iter()
            .map(|(k, v)| {
                CountryCode::parse(&k)
                    .map(|c| (c, v))
                    .map_err(|_| corrupt("countries", &k))
            })
            .collect::<StoreResult<_>>()?;
        Ok(DailyAnalytics {
            workflow_id: id(row, "workflow_id")?,
            date: get(row, "date")?,
            views: u64_col(row, "views")?,
            unique_visitors: u64_col(row, "unique_visitors")?,
            clicks: u64_col(row, "clicks")?,
            downloads: u64_col(row, "downloads")?,
            purchases: u64_col(row, "purchases")?,
            revenue: get(row, "revenue")?,
            refunds: get(row, "refunds")?,
            currency: opt_currency(row, "currency")?,
            favorites: u64_col(row, "favorites")?,
            shares: u64_col(row, "shares")?,
            reviews: u64_col(row, "reviews")?,
            traffic_sources: json_col(row, "traffic_sources")?,
            countries,
        })
    })
}

/// Applies deltas in (workflow, day) order, so two writers touching the
/// same rows lock them in the same order.
pub(crate) async fn apply_deltas(
    c: &mut PgConnection,
    deltas: &[AnalyticsDelta],
) -> StoreResult<()> {
    let mut sorted: Vec<&AnalyticsDelta> = deltas.iter().collect();
    sorted.sort_by_key(|d| (d.workflow_id, d.date));
    for d in sorted {
        apply_delta(c, d).await?;
    }
    Ok(())
}

/// What follows an `INSERT INTO workflow_analytics (workflow_id, date) ...`
/// to make it create the day's row if missing, else lock it, and return it
/// either way: the no-op `DO UPDATE` is what makes `ON CONFLICT` wait for a
/// concurrent creator, lock the row and return it (`DO NOTHING` returns
/// nothing).
macro_rules! lock_day {
    () => {
        concat!(
            "ON CONFLICT (workflow_id, date) DO UPDATE SET workflow_id = EXCLUDED.workflow_id \
             RETURNING ",
            analytics_cols!()
        )
    };
}

/// Applies a delta to its day's row: the visitor's row for the day first (a
/// new one counts one unique visitor), then the day's row, created if
/// missing or locked if not (one upsert), added to with vault-core's own
/// [`DailyAnalytics::apply`] and written back, so concurrent writers of one
/// day take turns and none is lost. The visitor before the day's row is the
/// order a download's statement takes them in too, so the two never wait
/// on each other crosswise.
pub(crate) async fn apply_delta(c: &mut PgConnection, d: &AnalyticsDelta) -> StoreResult<()> {
    let wf = d.workflow_id.as_uuid();
    // The workflow row first: every write locks a workflow before its
    // analytics rows.
    if d.views > 0 {
        let n = sqlx::query("UPDATE workflows SET view_count = view_count + $2 WHERE id = $1")
            .bind(wf)
            .bind(i64_of(d.views)?)
            .execute(&mut *c)
            .await
            .map_err(db)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::not_found(Entity::Workflow, d.workflow_id));
        }
    }
    let missing = || {
        unique_or_parent(
            Entity::Analytics,
            d.workflow_id,
            Entity::Workflow,
            d.workflow_id,
        )
    };
    let mut delta = d.clone();
    if let Some(visitor) = &d.visitor {
        let fresh = sqlx::query(
            "INSERT INTO workflow_analytics_visitors (workflow_id, date, visitor) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(wf)
        .bind(d.date)
        .bind(visitor.storage_key())
        .execute(&mut *c)
        .await
        .map_err(missing())?
        .rows_affected();
        delta.unique_visitors = u64::from(fresh == 1);
    }
    // A workflow that is not there is the foreign key's violation.
    let row = sqlx::query(concat!(
        "INSERT INTO workflow_analytics (workflow_id, date) VALUES ($1, $2) ",
        lock_day!()
    ))
    .bind(wf)
    .bind(d.date)
    .fetch_one(&mut *c)
    .await
    .map_err(missing())?;
    let mut row = analytics_from_row(&row)?;
    // One currency per day, amounts in range: vault-core's rule.
    row.apply(&delta)?;
    let countries: BTreeMap<&str, u64> = row
        .countries
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    sqlx::query(
        "UPDATE workflow_analytics SET views = $3, unique_visitors = $4, clicks = $5, \
         downloads = $6, purchases = $7, revenue = $8, refunds = $9, currency = $10, \
         favorites = $11, shares = $12, reviews = $13, traffic_sources = $14, countries = $15 \
         WHERE workflow_id = $1 AND date = $2",
    )
    .bind(wf)
    .bind(d.date)
    .bind(i64_of(row.views)?)
    .bind(i64_of(row.unique_visitors)?)
    .bind(i64_of(row.clicks)?)
    .bind(i64_of(row.downloads)?)
    .bind(i64_of(row.purchases)?)
    .bind(row.revenue)
    .bind(row.refunds)
    .bind(row.currency.map(|c| c.code().to_owned()))
    .bind(i64_of(row.favorites)?)
    .bind(i64_of(row.shares)?)
    .bind(i64_of(row.reviews)?)
    .bind(json(&row.traffic_sources)?)
    .bind(json(&countries)?)
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(())
}

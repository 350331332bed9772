//! Daily analytics rows: their codec, and applying a delta inside the
//! caller's transaction (every write that counts something calls it).

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use vault_core::insight::analytics::{AnalyticsDelta, DailyAnalytics};
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::country::CountryCode;
use vault_core::value::money::Currency;
use vault_core::value::validation::Reason;

use crate::Tx;
use crate::codec::*;
use crate::sql::{Id, query_one};

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! analytics_cols {
    () => {
        "workflow_id, date, views, unique_visitors, clicks, downloads, purchases, \
    revenue_minor, refunds_minor, currency, favorites, shares, reviews, traffic_sources, countries"
    };
}
pub(crate) use analytics_cols;
pub(crate) const ANALYTICS_COLS: &str = analytics_cols!();

pub(crate) fn decimal_of(minor: i64, currency: Option<Currency>) -> Decimal {
    Decimal::new(minor, currency.map_or(0, |c| c.exponent()))
}

pub(crate) fn minor_of(amount: Decimal, currency: Option<Currency>) -> StoreResult<i64> {
    if amount.is_zero() {
        return Ok(0);
    }
    let c = currency.ok_or_else(|| {
        unfit(
            "currency",
            Reason::Inconsistent {
                detail: "an analytics amount needs its currency".into(),
            },
        )
    })?;
    let scaled = amount * Decimal::from(10i64.pow(c.exponent()));
    if scaled.fract() != Decimal::ZERO {
        return Err(unfit(
            "amount",
            Reason::Precision {
                max_scale: c.exponent(),
            },
        ));
    }
    i64::try_from(scaled).map_err(|_| unfit("amount", past_i64()))
}

pub(crate) fn analytics_from_row(row: &Row<'_>) -> StoreResult<DailyAnalytics> {
    decode("workflow_analytics", || {
        let currency = parse_opt_with(row, "currency", Currency::parse)?;
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
            workflow_id: parse(row, "workflow_id")?,
            date: parse_with(row, "date", parse_date)?,
            views: u64_col(row, "views")?,
            unique_visitors: u64_col(row, "unique_visitors")?,
            clicks: u64_col(row, "clicks")?,
            downloads: u64_col(row, "downloads")?,
            purchases: u64_col(row, "purchases")?,
            revenue: decimal_of(get(row, "revenue_minor")?, currency),
            refunds: decimal_of(get(row, "refunds_minor")?, currency),
            currency,
            favorites: u64_col(row, "favorites")?,
            shares: u64_col(row, "shares")?,
            reviews: u64_col(row, "reviews")?,
            traffic_sources: json_col(row, "traffic_sources")?,
            countries,
        })
    })
}

/// Adds a delta to its day's row in place, when vault-core says adding is
/// all its rule does ([`AnalyticsDelta::counts_only`]: the property test
/// `a_delta_that_only_counts_adds_its_counts` pins that
/// `DailyAnalytics::apply` of such a delta is plain addition): an in-place
/// sum, or, when the day has no row, an insert of the delta as its first.
/// A delta that
/// names a visitor, a traffic source or a country (a table or a JSON map
/// to read), or views (the workflow's counter too), or whose sum would
/// pass SQLite's integers (the guard leaves the row alone), takes
/// [`apply_delta`]'s path, which says so as the rule does. The caller has
/// found the workflow.
pub(crate) fn add_counts(tx: &Tx<'_>, d: &AnalyticsDelta) -> StoreResult<()> {
    if !d.counts_only()
        || d.visitor.is_some()
        || d.traffic_source.is_some()
        || d.country.is_some()
        || d.views > 0
    {
        return apply_delta(tx, d);
    }
    let values = params![
        Id(&d.workflow_id),
        date(&d.date),
        i64_of(d.unique_visitors)?,
        i64_of(d.clicks)?,
        i64_of(d.downloads)?,
        i64_of(d.purchases)?,
        i64_of(d.favorites)?,
        i64_of(d.shares)?,
        i64_of(d.reviews)?,
    ];
    // The day's row is there for all but a workflow's first count of the
    // day: adding to it first spares the insert's record, its NOT NULL
    // and key checks, which an upsert builds before it finds the row.
    let added = tx
        .prepare_cached(
            "UPDATE workflow_analytics SET unique_visitors = unique_visitors + ?3, \
             clicks = clicks + ?4, downloads = downloads + ?5, purchases = purchases + ?6, \
             favorites = favorites + ?7, shares = shares + ?8, reviews = reviews + ?9 \
             WHERE workflow_id = ?1 AND date = ?2 \
             AND unique_visitors <= 9223372036854775807 - ?3 \
             AND clicks <= 9223372036854775807 - ?4 \
             AND downloads <= 9223372036854775807 - ?5 \
             AND purchases <= 9223372036854775807 - ?6 \
             AND favorites <= 9223372036854775807 - ?7 \
             AND shares <= 9223372036854775807 - ?8 \
             AND reviews <= 9223372036854775807 - ?9",
        )
        .map_err(db)?
        .execute(values)
        .map_err(db)?;
    if added == 0 {
        // No row yet, or one whose sum would pass i64 (the guard left it
        // alone): a first row goes in, and a row that stays is the sum's
        // own path, which says so.
        let inserted = tx
            .prepare_cached(
                "INSERT INTO workflow_analytics (workflow_id, date, views, unique_visitors, \
                 clicks, downloads, purchases, revenue_minor, refunds_minor, currency, favorites, \
                 shares, reviews, traffic_sources, countries) \
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, 0, 0, NULL, ?7, ?8, ?9, '{}', '{}') \
                 ON CONFLICT (workflow_id, date) DO NOTHING",
            )
            .map_err(db)?
            .execute(values)
            .map_err(db)?;
        if inserted == 0 {
            return apply_delta(tx, d);
        }
    }
    tx.step("apply_delta:after_row")
}

/// Applies a delta to its day's row, creating it: read, add with
/// vault-core's own [`DailyAnalytics::apply`], write back — inside the
/// caller's transaction, which holds the write lock.
pub(crate) fn apply_delta(tx: &Tx<'_>, d: &AnalyticsDelta) -> StoreResult<()> {
    let wf = d.workflow_id.to_string();
    if tx
        .prepare_cached("SELECT 1 FROM workflows WHERE id = ?1")
        .map_err(db)?
        .query_row([&wf], |_| Ok(()))
        .optional()
        .map_err(db)?
        .is_none()
    {
        return Err(StoreError::not_found(Entity::Workflow, d.workflow_id));
    }
    let day = date(&d.date);
    let mut row = query_one(
        tx,
        concat!(
            "SELECT ",
            analytics_cols!(),
            " FROM workflow_analytics WHERE workflow_id = ?1 AND date = ?2"
        ),
        params![wf, day],
        analytics_from_row,
    )?
    .unwrap_or_else(|| DailyAnalytics::empty(d.workflow_id, d.date));
    let mut delta = d.clone();
    if let Some(visitor) = &d.visitor {
        let fresh = tx
            .prepare_cached("INSERT OR IGNORE INTO workflow_analytics_visitors (workflow_id, date, visitor) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![wf, day, visitor.storage_key()])
            .map_err(db)?;
        tx.step("apply_delta:after_visitor")?;
        delta.unique_visitors = u64::from(fresh == 1);
    }
    // One currency per day, amounts in range: vault-core's rule.
    row.apply(&delta)?;
    let countries: BTreeMap<&str, u64> = row
        .countries
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO workflow_analytics ({ANALYTICS_COLS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))
    .map_err(db)?
    .execute(params![
        wf,
        day,
        i64_of(row.views)?,
        i64_of(row.unique_visitors)?,
        i64_of(row.clicks)?,
        i64_of(row.downloads)?,
        i64_of(row.purchases)?,
        minor_of(row.revenue, row.currency)?,
        minor_of(row.refunds, row.currency)?,
        row.currency.map(|c| c.code().to_owned()),
        i64_of(row.favorites)?,
        i64_of(row.shares)?,
        i64_of(row.reviews)?,
        json(&row.traffic_sources)?,
        json(&countries)?,
    ])
    .map_err(db)?;
    tx.step("apply_delta:after_row")?;
    if d.views > 0 {
        tx.prepare_cached("UPDATE workflows SET view_count = view_count + ?2 WHERE id = ?1")
            .map_err(db)?
            .execute(params![wf, i64_of(d.views)?])
            .map_err(db)?;
    }
    Ok(())
}

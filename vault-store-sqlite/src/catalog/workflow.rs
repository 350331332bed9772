//! Workflows: their rows, the access read's gate columns, and the
//! guarded insert and update with their tags and full-text row.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use rust_decimal::Decimal;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::category::counted_in;
use vault_core::catalog::wedge::{Score, Wedge};
use vault_core::catalog::workflow::{Workflow, WorkflowContent, WorkflowStats};
use vault_core::community::rating::{DimensionTotals, RatingAggregate, RatingSummary};
use vault_core::delivery::access::GateFacts;
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::ids::WorkflowId;
use vault_core::value::money::Money;
use vault_core::value::slug::Slug;

use super::category::{move_category_counts, require_category};
use crate::Tx;
use crate::codec::*;
use crate::sql::{Id, exists, query_one};

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! workflow_cols {
    () => {
        "id, slug, title, short_description, description, category_id, \
    wedge_score_x10, workflow_complexity, efficiency_x10, digital_maturity, growth_potential, \
    excellence_tier, pricing_tier, price_minor, currency, media, features, requirements, includes, \
    tags, seo, update_months, download_limit, status, current_version, download_count, \
    favorite_count, view_count, purchase_count, stars_1, stars_2, stars_3, stars_4, stars_5, \
    dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
    dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, dim_excellence_count, \
    dim_excellence_sum, created_at, updated_at, published_at, archived_at, deleted_at, revision"
    };
}
pub(crate) use workflow_cols;
pub(crate) const WORKFLOW_COLS: &str = workflow_cols!();

pub(super) fn x10(score: &Score) -> StoreResult<i64> {
    let v = score.value() * Decimal::TEN;
    i64::try_from(v.trunc()).map_err(|_| unfit("score", past_i64()))
}

pub(super) fn score(row: &Row<'_>, col: impl Col, field: &'static str) -> StoreResult<Score> {
    let v: i64 = get(row, col)?;
    Score::new(field, Decimal::new(v, 1)).map_err(|_| corrupt(&col.name(row), v))
}

pub(super) fn price(row: &Row<'_>) -> StoreResult<Option<Money>> {
    opt_money(row, "price_minor", "currency")
}

/// The columns of [`GateFacts`]: all an access read needs of a workflow.
/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! gate_cols {
    () => {
        "id, status, pricing_tier, price_minor, currency, archived_at, deleted_at"
    };
}
pub(crate) use gate_cols;

/// A [`GateFacts`] of a statement that selects `gate_cols!()` from
/// position `base`.
pub(crate) fn gate_at(row: &Row<'_>, base: usize) -> StoreResult<GateFacts> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(gate_cols!(), $name)
        };
    }
    decode("workflows", || {
        Ok(GateFacts {
            id: parse(row, c!("id"))?,
            status: parse(row, c!("status"))?,
            tier: parse(row, c!("pricing_tier"))?,
            price: opt_money(row, c!("price_minor"), c!("currency"))?,
            archived_at: opt_time(row, c!("archived_at"))?,
            deleted: get::<Option<String>>(row, c!("deleted_at"))?.is_some(),
        })
    })
}

/// The star and dimension columns, named as in [`WORKFLOW_COLS`]: constants
/// rather than `format!`ed per row (15 allocations a row, ~90k instructions
/// for a 21-row page).
pub(super) const STAR_COLS: [&str; 5] = ["stars_1", "stars_2", "stars_3", "stars_4", "stars_5"];
pub(super) const DIM_COLS: [(&str, &str); 5] = [
    ("dim_complexity_count", "dim_complexity_sum"),
    ("dim_efficiency_count", "dim_efficiency_sum"),
    ("dim_maturity_count", "dim_maturity_sum"),
    ("dim_growth_count", "dim_growth_sum"),
    ("dim_excellence_count", "dim_excellence_sum"),
];

/// Reads the columns in [`WORKFLOW_COLS`] order, so each name lookup hits
/// the column after the last one read.
pub(crate) fn workflow_from_row(row: &Row<'_>) -> StoreResult<Workflow> {
    decode("workflows", || {
        let id = parse(row, "id")?;
        let slug = slug(row, "slug")?;
        let title = get(row, "title")?;
        let short_description = get(row, "short_description")?;
        let description = get(row, "description")?;
        let category_id = parse(row, "category_id")?;
        let wedge = Wedge {
            score: score(row, "wedge_score_x10", "wedge_score")?,
            complexity: parse(row, "workflow_complexity")?,
            efficiency: score(row, "efficiency_x10", "efficiency_rating")?,
            digital_maturity: parse(row, "digital_maturity")?,
            growth_potential: parse(row, "growth_potential")?,
            excellence_tier: parse(row, "excellence_tier")?,
        };
        let pricing_tier = parse(row, "pricing_tier")?;
        let price = price(row)?;
        let content = WorkflowContent {
            slug,
            title,
            short_description,
            description,
            category_id,
            wedge,
            pricing_tier,
            price,
            media: json_col(row, "media")?,
            features: json_col(row, "features")?,
            requirements: json_col(row, "requirements")?,
            includes: json_col(row, "includes")?,
            tags: json_col(row, "tags")?,
            seo: json_col(row, "seo")?,
            update_months: opt_u32_col(row, "update_months")?,
            download_limit: opt_u32_col(row, "download_limit")?,
        };
        let status = parse(row, "status")?;
        let current_version = parse_opt(row, "current_version")?;
        let download_count = u64_col(row, "download_count")?;
        let favorite_count = u64_col(row, "favorite_count")?;
        let view_count = u64_col(row, "view_count")?;
        let purchase_count = u64_col(row, "purchase_count")?;
        let mut stars = [0u64; 5];
        for (s, col) in stars.iter_mut().zip(STAR_COLS) {
            *s = u64_col(row, col)?;
        }
        let mut dims = [DimensionTotals::default(); 5];
        for (d, (count, sum)) in dims.iter_mut().zip(DIM_COLS) {
            d.count = u64_col(row, count)?;
            d.sum = u64_col(row, sum)?;
        }
        Ok(Workflow {
            id,
            content,
            status,
            current_version,
            stats: WorkflowStats {
                download_count,
                favorite_count,
                view_count,
                purchase_count,
                rating: RatingAggregate::from_parts(stars, dims)
                    .map_err(|_| corrupt("stars_1..stars_5, dim_*", "inconsistent counts"))?,
            },
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            published_at: opt_time(row, "published_at")?,
            archived_at: opt_time(row, "archived_at")?,
            deleted_at: opt_time(row, "deleted_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// The columns of a [`WorkflowCard`]: a listing's short row, the
/// thumbnail kept beside the media's JSON (migration 0016), so a card
/// parses none of it. [`card_from_row`] reads them by the positions of
/// their names here, found at compile time ([`at!`]).
pub(crate) const CARD_COLS: &str = "id, slug, title, short_description, category_id, \
    pricing_tier, price_minor, currency, wedge_score_x10, \
    thumbnail_url, status, download_count, \
    favorite_count, review_count, rating_sum, created_at, published_at";

pub(crate) fn card_from_row(row: &Row<'_>) -> StoreResult<WorkflowCard> {
    macro_rules! c {
        ($name:literal) => {
            at!(CARD_COLS, $name)
        };
    }
    decode("workflows", || {
        Ok(WorkflowCard {
            id: parse(row, c!("id"))?,
            slug: slug(row, c!("slug"))?,
            title: get(row, c!("title"))?,
            short_description: get(row, c!("short_description"))?,
            category_id: parse(row, c!("category_id"))?,
            pricing_tier: parse(row, c!("pricing_tier"))?,
            price: opt_money(row, c!("price_minor"), c!("currency"))?,
            wedge_score: score(row, c!("wedge_score_x10"), "wedge_score")?,
            thumbnail_url: get(row, c!("thumbnail_url"))?,
            status: parse(row, c!("status"))?,
            download_count: u64_col(row, c!("download_count"))?,
            favorite_count: u64_col(row, c!("favorite_count"))?,
            rating: RatingSummary {
                count: u64_col(row, c!("review_count"))?,
                sum: u64_col(row, c!("rating_sum"))?,
            },
            created_at: time(row, c!("created_at"))?,
            published_at: opt_time(row, c!("published_at"))?,
        })
    })
}

pub(crate) fn load_workflow(conn: &Connection, id: WorkflowId) -> StoreResult<Option<Workflow>> {
    query_one(
        conn,
        concat!("SELECT ", workflow_cols!(), " FROM workflows WHERE id = ?1"),
        [Id(&id)],
        workflow_from_row,
    )
}

pub(crate) fn require_workflow(conn: &Connection, id: WorkflowId) -> StoreResult<()> {
    if exists(conn, "SELECT 1 FROM workflows WHERE id = ?1", [Id(&id)])? {
        Ok(())
    } else {
        Err(StoreError::not_found(Entity::Workflow, id))
    }
}

/// The editable columns, in the order `content_values` returns them.
pub(super) const CONTENT_COLS: [&str; 24] = [
    "slug",
    "title",
    "short_description",
    "description",
    "category_id",
    "wedge_score_x10",
    "workflow_complexity",
    "efficiency_x10",
    "digital_maturity",
    "growth_potential",
    "excellence_tier",
    "pricing_tier",
    "price_minor",
    "currency",
    "media",
    "thumbnail_url",
    "features",
    "requirements",
    "includes",
    "tags",
    "seo",
    "update_months",
    "download_limit",
    "status",
];

pub(super) fn content_values(w: &Workflow) -> StoreResult<Vec<Value>> {
    let c = &w.content;
    let (price_minor, currency) = match &c.price {
        Some(p) => {
            let (m, cur) = money_parts(p)?;
            (Value::Integer(m), Value::Text(cur))
        }
        None => (Value::Null, Value::Null),
    };
    let opt = |v: Option<u32>| v.map_or(Value::Null, |v| Value::Integer(i64::from(v)));
    Ok(vec![
        Value::Text(c.slug.to_string()),
        Value::Text(c.title.clone()),
        Value::Text(c.short_description.clone()),
        Value::Text(c.description.clone()),
        Value::Text(c.category_id.to_string()),
        Value::Integer(x10(&c.wedge.score)?),
        Value::Text(c.wedge.complexity.as_str().into()),
        Value::Integer(x10(&c.wedge.efficiency)?),
        Value::Text(c.wedge.digital_maturity.as_str().into()),
        Value::Text(c.wedge.growth_potential.as_str().into()),
        Value::Text(c.wedge.excellence_tier.as_str().into()),
        Value::Text(c.pricing_tier.as_str().into()),
        price_minor,
        currency,
        Value::Text(json(&c.media)?),
        c.media
            .thumbnail_url
            .clone()
            .map_or(Value::Null, Value::Text),
        Value::Text(json(&c.features)?),
        Value::Text(json(&c.requirements)?),
        Value::Text(json(&c.includes)?),
        Value::Text(json(&c.tags)?),
        Value::Text(json(&c.seo)?),
        opt(c.update_months),
        opt(c.download_limit),
        Value::Text(w.status.as_str().into()),
    ])
}

// Tags and the full-text row follow the workflow in the same transaction.
pub(super) fn write_search(
    tx: &Tx<'_>,
    w: &Workflow,
    rowid: i64,
    replace: bool,
) -> StoreResult<()> {
    let id = w.id.to_string();
    if replace {
        tx.prepare_cached("DELETE FROM workflow_tags WHERE workflow_id = ?1")
            .map_err(db)?
            .execute([&id])
            .map_err(db)?;
        tx.prepare_cached("DELETE FROM workflows_fts WHERE rowid = ?1")
            .map_err(db)?
            .execute([rowid])
            .map_err(db)?;
    }
    for tag in &w.content.tags {
        tx.prepare_cached("INSERT OR IGNORE INTO workflow_tags (workflow_id, tag) VALUES (?1, ?2)")
            .map_err(db)?
            .execute(params![id, tag.as_str()])
            .map_err(db)?;
    }
    let tags: Vec<&str> = w.content.tags.iter().map(|t| t.as_str()).collect();
    let c = &w.content;
    super::search::write_words(
        tx,
        rowid,
        &c.title,
        &c.short_description,
        &c.description,
        &tags,
    )
}

pub(super) fn slug_taken(
    conn: &Connection,
    slug: &Slug,
    other_than: Option<WorkflowId>,
) -> StoreResult<bool> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM workflows WHERE slug = ?1")
        .map_err(db)?
        .query_row([slug.as_str()], |r| r.get(0))
        .optional()
        .map_err(db)?;
    Ok(match (id, other_than) {
        (None, _) => false,
        (Some(found), Some(me)) => found != me.to_string(),
        (Some(_), None) => true,
    })
}

pub(super) fn insert_workflow(tx: &Tx<'_>, w: &Workflow) -> StoreResult<()> {
    if exists(tx, "SELECT 1 FROM workflows WHERE id = ?1", [Id(&w.id)])? {
        return Err(StoreError::exists(Entity::Workflow, w.id));
    }
    if slug_taken(tx, &w.content.slug, None)? {
        return Err(StoreError::exists(Entity::Workflow, &w.content.slug));
    }
    require_category(tx, w.content.category_id)?;
    let mut cols: Vec<&str> = CONTENT_COLS.to_vec();
    let mut vals = content_values(w)?;
    let r = &w.stats.rating;
    let mut extra: Vec<(String, Value)> = vec![
        ("id".into(), Value::Text(w.id.to_string())),
        (
            "current_version".into(),
            w.current_version
                .map_or(Value::Null, |v| Value::Text(v.to_string())),
        ),
        (
            "download_count".into(),
            Value::Integer(i64_of(w.stats.download_count)?),
        ),
        (
            "favorite_count".into(),
            Value::Integer(i64_of(w.stats.favorite_count)?),
        ),
        (
            "view_count".into(),
            Value::Integer(i64_of(w.stats.view_count)?),
        ),
        (
            "purchase_count".into(),
            Value::Integer(i64_of(w.stats.purchase_count)?),
        ),
        ("created_at".into(), Value::Text(ts(&w.created_at))),
        ("updated_at".into(), Value::Text(ts(&w.updated_at))),
        (
            "published_at".into(),
            opt_ts(&w.published_at).map_or(Value::Null, Value::Text),
        ),
        (
            "archived_at".into(),
            opt_ts(&w.archived_at).map_or(Value::Null, Value::Text),
        ),
        (
            "deleted_at".into(),
            opt_ts(&w.deleted_at).map_or(Value::Null, Value::Text),
        ),
        ("revision".into(), Value::Integer(i64_of(w.revision)?)),
    ];
    for (n, col) in r.distribution().iter().zip(STAR_COLS) {
        extra.push((col.into(), Value::Integer(i64_of(*n)?)));
    }
    // Dimension::ALL is in DIM_COLS order.
    for (d, (count, sum)) in vault_core::community::rating::Dimension::ALL
        .iter()
        .zip(DIM_COLS)
    {
        let t = r.dimension_totals(*d);
        extra.push((count.into(), Value::Integer(i64_of(t.count)?)));
        extra.push((sum.into(), Value::Integer(i64_of(t.sum)?)));
    }
    let extra_names: Vec<String> = extra.iter().map(|(n, _)| n.clone()).collect();
    cols.extend(extra_names.iter().map(String::as_str));
    vals.extend(extra.into_iter().map(|(_, v)| v));
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO workflows ({}) VALUES ({})",
        cols.join(", "),
        marks.join(", ")
    );
    tx.prepare_cached(&sql)
        .map_err(db)?
        .execute(params_from_iter(vals))
        .map_err(db)?;
    tx.step("insert_workflow:after_row")?;
    let rowid = tx.last_insert_rowid();
    write_search(tx, w, rowid, false)?;
    tx.step("insert_workflow:after_search")?;
    move_category_counts(
        tx,
        None,
        counted_in(w.status, w.is_deleted(), w.content.category_id),
    )?;
    Ok(())
}

pub(super) fn update_workflow(tx: &Tx<'_>, w: &Workflow, expected: u64) -> StoreResult<()> {
    let row: Option<(i64, i64, String, String, bool)> = tx
        .prepare_cached(
            "SELECT rowid, revision, category_id, status, deleted_at IS NOT NULL \
             FROM workflows WHERE id = ?1",
        )
        .map_err(db)?
        .query_row([Id(&w.id)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()
        .map_err(db)?;
    let Some((rowid, revision, old_category, old_status, old_deleted)) = row else {
        return Err(StoreError::not_found(Entity::Workflow, w.id));
    };
    if revision != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Workflow,
            w.id,
            "the workflow changed since it was read",
        ));
    }
    if slug_taken(tx, &w.content.slug, Some(w.id))? {
        return Err(StoreError::exists(Entity::Workflow, &w.content.slug));
    }
    require_category(tx, w.content.category_id)?;
    let mut sets: Vec<String> = CONTENT_COLS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    let mut vals = content_values(w)?;
    for (col, v) in [
        ("updated_at", Value::Text(ts(&w.updated_at))),
        ("created_at", Value::Text(ts(&w.created_at))),
        (
            "published_at",
            opt_ts(&w.published_at).map_or(Value::Null, Value::Text),
        ),
        (
            "archived_at",
            opt_ts(&w.archived_at).map_or(Value::Null, Value::Text),
        ),
        (
            "deleted_at",
            opt_ts(&w.deleted_at).map_or(Value::Null, Value::Text),
        ),
        ("revision", Value::Integer(i64_of(w.revision)?)),
    ] {
        vals.push(v);
        sets.push(format!("{col} = ?{}", vals.len()));
    }
    vals.push(Value::Text(w.id.to_string()));
    let sql = format!(
        "UPDATE workflows SET {} WHERE id = ?{}",
        sets.join(", "),
        vals.len()
    );
    tx.prepare_cached(&sql)
        .map_err(db)?
        .execute(params_from_iter(vals))
        .map_err(db)?;
    tx.step("update_workflow:after_row")?;
    write_search(tx, w, rowid, true)?;
    tx.step("update_workflow:after_search")?;
    move_category_counts(
        tx,
        decode("workflows", || {
            Ok(counted_in(
                parse_text("status", &old_status)?,
                old_deleted,
                parse_text("category_id", &old_category)?,
            ))
        })?,
        counted_in(w.status, w.is_deleted(), w.content.category_id),
    )
}

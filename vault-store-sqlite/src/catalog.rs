//! Categories, workflows, files, updates and bundles.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use rust_decimal::Decimal;
use vault_core::catalog::bundle::Bundle;
use vault_core::catalog::category::{Category, count_moves, counted_in};
use vault_core::catalog::file::{FileAccess, WorkflowFile};
use vault_core::catalog::query::{
    Cursor, MAX_KEY_REVIEWS, Page, SortKey, WorkflowQuery, WorkflowSort, search_terms,
};
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::wedge::{Score, Wedge};
use vault_core::catalog::workflow::{Workflow, WorkflowContent, WorkflowStats};
use vault_core::community::rating::{DimensionTotals, RatingAggregate};
use vault_core::delivery::access::GateFacts;
use vault_core::store::{CatalogStore, Entity, StoreError, StoreResult};
use vault_core::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use vault_core::value::money::Money;
use vault_core::value::slug::Slug;
use vault_core::value::version::Version;

use crate::codec::*;
use crate::{SqliteStore, Tx};

// ------------------------------------------------------------- categories

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! category_cols {
    () => {
        "id, slug, name, description, icon, color, order_index, is_active, \
    workflow_count, total_downloads, metadata, created_at, updated_at"
    };
}
const CATEGORY_COLS: &str = category_cols!();

fn category_from_row(row: &Row<'_>) -> StoreResult<Category> {
    Ok(Category {
        id: parse(row, "id")?,
        slug: slug(row, "slug")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        icon: get(row, "icon")?,
        color: get(row, "color")?,
        order_index: get(row, "order_index")?,
        is_active: bool_col(row, "is_active")?,
        workflow_count: u64_col(row, "workflow_count")?,
        total_downloads: u64_col(row, "total_downloads")?,
        metadata: json_col(row, "metadata")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let columns = Columns::of(&stmt, sql);
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(map(&Row::new(row, &columns))?);
    }
    Ok(out)
}

pub(crate) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let columns = Columns::of(&stmt, sql);
    let mut rows = stmt.query(params).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(row) => Ok(Some(map(&Row::new(row, &columns))?)),
        None => Ok(None),
    }
}

pub(crate) fn exists(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<bool> {
    conn.prepare_cached(sql)
        .map_err(db)?
        .query_row(params, |_| Ok(()))
        .optional()
        .map_err(db)
        .map(|o| o.is_some())
}

// -------------------------------------------------------------- workflows

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
    dim_excellence_sum, created_at, updated_at, published_at, archived_at, revision"
    };
}
pub(crate) const WORKFLOW_COLS: &str = workflow_cols!();

fn x10(score: &Score) -> StoreResult<i64> {
    let v = score.value() * Decimal::TEN;
    i64::try_from(v.trunc()).map_err(|_| corrupt("score"))
}

fn score(row: &Row<'_>, col: &str, field: &'static str) -> StoreResult<Score> {
    let v: i64 = get(row, col)?;
    Score::new(field, Decimal::new(v, 1)).map_err(corrupt)
}

fn price(row: &Row<'_>) -> StoreResult<Option<Money>> {
    Ok(
        match (
            get::<Option<i64>>(row, "price_minor")?,
            get::<Option<String>>(row, "currency")?,
        ) {
            (Some(minor), Some(c)) => Some(money(minor, &c)?),
            _ => None,
        },
    )
}

/// The columns of [`GateFacts`]: all an access read needs of a workflow.
/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! gate_cols {
    () => {
        "id, status, pricing_tier, price_minor, currency, archived_at"
    };
}
pub(crate) use gate_cols;

pub(crate) fn gate_from_row(row: &Row<'_>) -> StoreResult<GateFacts> {
    Ok(GateFacts {
        id: parse(row, "id")?,
        status: parse(row, "status")?,
        tier: parse(row, "pricing_tier")?,
        price: price(row)?,
        archived_at: opt_time(row, "archived_at")?,
    })
}

/// The star and dimension columns, named as in [`WORKFLOW_COLS`]: constants
/// rather than `format!`ed per row (15 allocations a row, ~90k instructions
/// for a 21-row page).
const STAR_COLS: [&str; 5] = ["stars_1", "stars_2", "stars_3", "stars_4", "stars_5"];
const DIM_COLS: [(&str, &str); 5] = [
    ("dim_complexity_count", "dim_complexity_sum"),
    ("dim_efficiency_count", "dim_efficiency_sum"),
    ("dim_maturity_count", "dim_maturity_sum"),
    ("dim_growth_count", "dim_growth_sum"),
    ("dim_excellence_count", "dim_excellence_sum"),
];

/// Reads the columns in [`WORKFLOW_COLS`] order, so each name lookup hits
/// the column after the last one read.
pub(crate) fn workflow_from_row(row: &Row<'_>) -> StoreResult<Workflow> {
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
            rating: RatingAggregate::from_parts(stars, dims).map_err(corrupt)?,
        },
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        published_at: opt_time(row, "published_at")?,
        archived_at: opt_time(row, "archived_at")?,
        revision: u64_col(row, "revision")?,
    })
}

pub(crate) fn load_workflow(conn: &Connection, id: WorkflowId) -> StoreResult<Option<Workflow>> {
    query_one(
        conn,
        concat!("SELECT ", workflow_cols!(), " FROM workflows WHERE id = ?1"),
        [id.to_string()],
        workflow_from_row,
    )
}

pub(crate) fn require_workflow(conn: &Connection, id: WorkflowId) -> StoreResult<()> {
    if exists(
        conn,
        "SELECT 1 FROM workflows WHERE id = ?1",
        [id.to_string()],
    )? {
        Ok(())
    } else {
        Err(StoreError::not_found(Entity::Workflow, id))
    }
}

/// The editable columns, in the order `content_values` returns them.
const CONTENT_COLS: [&str; 23] = [
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
    "features",
    "requirements",
    "includes",
    "tags",
    "seo",
    "update_months",
    "download_limit",
    "status",
];

fn content_values(w: &Workflow) -> StoreResult<Vec<Value>> {
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

/// Applies vault-core's category count moves of a workflow going from being
/// counted in `before` to `after` ([`counted_in`]).
fn move_category_counts(
    tx: &Tx<'_>,
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> StoreResult<()> {
    for (category, delta) in count_moves(before, after) {
        tx.prepare_cached(
            "UPDATE workflow_categories SET workflow_count = MAX(workflow_count + ?2, 0) WHERE id = ?1",
        )
        .map_err(db)?
        .execute(params![category.to_string(), delta])
        .map_err(db)?;
    }
    Ok(())
}

// Tags and the full-text row follow the workflow in the same transaction.
fn write_search(tx: &Tx<'_>, w: &Workflow, rowid: i64, replace: bool) -> StoreResult<()> {
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
    tx.prepare_cached(
        "INSERT INTO workflows_fts (rowid, title, short_description, description, tags) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![
        rowid,
        w.content.title,
        w.content.short_description,
        w.content.description,
        tags.join(" ")
    ])
    .map_err(db)?;
    Ok(())
}

fn slug_taken(conn: &Connection, slug: &Slug, other_than: Option<WorkflowId>) -> StoreResult<bool> {
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

fn insert_workflow(tx: &Tx<'_>, w: &Workflow) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM workflows WHERE id = ?1",
        [w.id.to_string()],
    )? {
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
    move_category_counts(tx, None, counted_in(w.status, w.content.category_id))?;
    Ok(())
}

fn require_category(conn: &Connection, id: CategoryId) -> StoreResult<()> {
    if exists(
        conn,
        "SELECT 1 FROM workflow_categories WHERE id = ?1",
        [id.to_string()],
    )? {
        Ok(())
    } else {
        Err(StoreError::not_found(Entity::Category, id))
    }
}

fn update_workflow(tx: &Tx<'_>, w: &Workflow, expected: u64) -> StoreResult<()> {
    let row: Option<(i64, i64, String, String)> = tx
        .prepare_cached("SELECT rowid, revision, category_id, status FROM workflows WHERE id = ?1")
        .map_err(db)?
        .query_row([w.id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(db)?;
    let Some((rowid, revision, old_category, old_status)) = row else {
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
        counted_in(
            parse_text("status", &old_status)?,
            parse_text("category_id", &old_category)?,
        ),
        counted_in(w.status, w.content.category_id),
    )
}

// ------------------------------------------------------------------ listing

// A rating cursor's side of the Bayesian comparison below is computed here
// in i64: `weight × mean × 100 + 100 × sum`. `Cursor::new` bounds the key's
// count (at most five stars each) and a prior is a u32 weight of at most
// 5.00 stars, so it cannot overflow; this fails the build if either bound
// grows past that.
const _: () = assert!(
    (u32::MAX as i128) * 500 + 100 * 5 * (MAX_KEY_REVIEWS as i128) <= i64::MAX as i128
        && (u32::MAX as i128) + (MAX_KEY_REVIEWS as i128) <= i64::MAX as i128
);

fn list_workflows(conn: &Connection, q: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
    let mut wh: Vec<String> = Vec::new();
    let mut vals: Vec<Value> = Vec::new();
    let push = |vals: &mut Vec<Value>, v: Value| -> String {
        vals.push(v);
        format!("?{}", vals.len())
    };
    if !q.statuses.is_empty() {
        let marks: Vec<String> = q
            .statuses
            .iter()
            .map(|s| push(&mut vals, Value::Text(s.as_str().into())))
            .collect();
        wh.push(format!("status IN ({})", marks.join(", ")));
    }
    if let Some(c) = q.category {
        let m = push(&mut vals, Value::Text(c.to_string()));
        wh.push(format!("category_id = {m}"));
    }
    if !q.tiers.is_empty() {
        let marks: Vec<String> = q
            .tiers
            .iter()
            .map(|t| push(&mut vals, Value::Text(t.as_str().into())))
            .collect();
        wh.push(format!("pricing_tier IN ({})", marks.join(", ")));
    }
    if let Some(range) = &q.price {
        // Bounds are whole minor units (`PriceRange::new`), as prices are.
        let lo = range.min_minor().unwrap_or(i64::MIN);
        let hi = range.max_minor().unwrap_or(i64::MAX);
        let free_ok = range.admits_zero();
        let c = push(&mut vals, Value::Text(range.currency().code().into()));
        let lo = push(&mut vals, Value::Integer(lo));
        let hi = push(&mut vals, Value::Integer(hi));
        let free = push(&mut vals, Value::Integer(i64::from(free_ok)));
        wh.push(format!(
            "((price_minor IS NOT NULL AND currency = {c} AND price_minor >= {lo} AND price_minor <= {hi}) \
             OR (price_minor IS NULL AND pricing_tier = 'free' AND {free} = 1))"
        ));
    }
    for tag in &q.tags {
        let m = push(&mut vals, Value::Text(tag.as_str().into()));
        wh.push(format!(
            "EXISTS (SELECT 1 FROM workflow_tags t WHERE t.workflow_id = workflows.id AND t.tag = {m})"
        ));
    }
    if let Some(text) = &q.text {
        let terms = search_terms(text);
        if !terms.is_empty() {
            // Terms are letters and digits only, so quoting them is safe.
            let expr: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
            let m = push(&mut vals, Value::Text(expr.join(" ")));
            wh.push(format!(
                "workflows.rowid IN (SELECT rowid FROM workflows_fts WHERE workflows_fts MATCH {m})"
            ));
        }
    }
    // Sort key expression, and the cursor condition "strictly after".
    let w = i64::from(q.prior.weight());
    let m100 = i64::try_from((q.prior.mean() * Decimal::ONE_HUNDRED).trunc()).unwrap_or(0);
    let key_expr = match q.sort {
        WorkflowSort::WedgeScore => "wedge_score_x10".to_string(),
        WorkflowSort::Downloads => "download_count".to_string(),
        WorkflowSort::Newest => "newest_at".to_string(),
        WorkflowSort::Rating => {
            "(CASE WHEN review_count = 0 THEN -1.0 ELSE CAST(rating_sum AS REAL) / review_count END)".to_string()
        }
        WorkflowSort::BayesianRating => format!(
            "(CASE WHEN ({w} + review_count) = 0 THEN -1.0 \
             ELSE CAST({w} * {m100} + 100 * rating_sum AS REAL) / ({w} + review_count) END)"
        ),
    };
    if let Some(cursor) = &q.cursor {
        let id = push(&mut vals, Value::Text(cursor.id().to_string()));
        let cond = match (q.sort, cursor.key()) {
            (WorkflowSort::WedgeScore, SortKey::Score(s)) => {
                let k = i64::try_from((s * Decimal::TEN).trunc()).unwrap_or(0);
                let k = push(&mut vals, Value::Integer(k));
                format!("(wedge_score_x10 < {k} OR (wedge_score_x10 = {k} AND id > {id}))")
            }
            (WorkflowSort::Downloads, SortKey::Downloads(d)) => {
                let k = push(&mut vals, Value::Integer(i64_of(d)?));
                format!("(download_count < {k} OR (download_count = {k} AND id > {id}))")
            }
            (WorkflowSort::Newest, SortKey::Time(t)) => {
                let k = push(&mut vals, Value::Text(ts(&t)));
                format!("(newest_at < {k} OR (newest_at = {k} AND id > {id}))")
            }
            (WorkflowSort::Rating, SortKey::Rating { sum, count }) => {
                // Exact: compare sum/count fractions by cross-multiplying.
                let (cs, cc) = (i64_of(sum)?, i64_of(count)?);
                let lt = if cc == 0 {
                    "0".to_string()
                } else {
                    format!("(review_count = 0 OR rating_sum * {cc} < {cs} * review_count)")
                };
                let eq = if cc == 0 {
                    "review_count = 0".to_string()
                } else {
                    format!("(review_count > 0 AND rating_sum * {cc} = {cs} * review_count)")
                };
                format!("({lt} OR ({eq} AND id > {id}))")
            }
            (WorkflowSort::BayesianRating, SortKey::Rating { sum, count }) => {
                let (cs, cc) = (i64_of(sum)?, i64_of(count)?);
                let (cn, cd) = (w * m100 + 100 * cs, w + cc);
                let num = format!("({w} * {m100} + 100 * rating_sum)");
                let den = format!("({w} + review_count)");
                let lt = if cd == 0 {
                    "0".to_string()
                } else {
                    format!("({den} = 0 OR {num} * {cd} < {cn} * {den})")
                };
                let eq = if cd == 0 {
                    format!("{den} = 0")
                } else {
                    format!("({den} > 0 AND {num} * {cd} = {cn} * {den})")
                };
                format!("({lt} OR ({eq} AND id > {id}))")
            }
            _ => return Err(corrupt("cursor does not match the sort")),
        };
        wh.push(cond);
    }
    let limit = i64::from(q.limit);
    let sql = format!(
        "SELECT {WORKFLOW_COLS} FROM workflows {} ORDER BY {key_expr} DESC, id ASC LIMIT {}",
        if wh.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wh.join(" AND "))
        },
        limit + 1
    );
    let mut items = query_all(conn, &sql, params_from_iter(vals), workflow_from_row)?;
    let more = items.len() as i64 > limit;
    items.truncate(q.limit as usize);
    let next = if more {
        items.last().map(|w| Cursor::after(w, q.sort))
    } else {
        None
    };
    Ok(Page { items, next })
}

// ------------------------------------------------------------------- files

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, \
    is_primary, access, size_bytes, checksum, download_count, created_at, updated_at"
    };
}
pub(crate) use file_cols;

pub(crate) fn file_from_row(row: &Row<'_>) -> StoreResult<WorkflowFile> {
    Ok(WorkflowFile {
        id: parse(row, "id")?,
        workflow_id: parse(row, "workflow_id")?,
        kind: parse(row, "file_type")?,
        file_name: get(row, "file_name")?,
        storage_key: get(row, "storage_key")?,
        mime_type: get(row, "mime_type")?,
        version: parse(row, "version")?,
        is_primary: bool_col(row, "is_primary")?,
        access: json_col::<FileAccess>(row, "access")?,
        size_bytes: u64_col(row, "size_bytes")?,
        checksum: parse_checksum(row)?,
        download_count: u64_col(row, "download_count")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn parse_checksum(row: &Row<'_>) -> StoreResult<vault_core::catalog::file::Checksum> {
    vault_core::catalog::file::Checksum::parse(&get::<String>(row, "checksum")?).map_err(corrupt)
}

fn clear_other_primaries(tx: &Tx<'_>, f: &WorkflowFile) -> StoreResult<()> {
    if f.is_primary {
        tx.prepare_cached(
            "UPDATE workflow_files SET is_primary = 0 WHERE workflow_id = ?1 AND id <> ?2",
        )
        .map_err(db)?
        .execute(params![f.workflow_id.to_string(), f.id.to_string()])
        .map_err(db)?;
    }
    Ok(())
}

fn file_values(f: &WorkflowFile) -> StoreResult<Vec<Value>> {
    let v: &Version = &f.version;
    Ok(vec![
        Value::Text(f.id.to_string()),
        Value::Text(f.workflow_id.to_string()),
        Value::Text(f.kind.as_str().into()),
        Value::Text(f.file_name.clone()),
        Value::Text(f.storage_key.clone()),
        Value::Text(f.mime_type.clone()),
        Value::Text(v.to_string()),
        Value::Integer(i64::from(v.major())),
        Value::Integer(i64::from(v.minor())),
        Value::Integer(i64::from(v.patch())),
        Value::Integer(i64::from(f.is_primary)),
        Value::Text(json(&f.access)?),
        Value::Integer(i64_of(f.size_bytes)?),
        Value::Text(f.checksum.as_str().into()),
        Value::Text(ts(&f.created_at)),
        Value::Text(ts(&f.updated_at)),
    ])
}

// ------------------------------------------------------------------ updates

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! update_cols {
    () => {
        "id, workflow_id, version, changelog, files_added, files_modified, \
    files_removed, release_notes, is_major, released_at"
    };
}

fn update_from_row(row: &Row<'_>) -> StoreResult<WorkflowUpdate> {
    Ok(WorkflowUpdate {
        id: parse(row, "id")?,
        workflow_id: parse(row, "workflow_id")?,
        version: parse(row, "version")?,
        changelog: json_col(row, "changelog")?,
        files_added: json_col(row, "files_added")?,
        files_modified: json_col(row, "files_modified")?,
        files_removed: json_col(row, "files_removed")?,
        release_notes: get(row, "release_notes")?,
        is_major: bool_col(row, "is_major")?,
        released_at: time(row, "released_at")?,
    })
}

// ------------------------------------------------------------------ bundles

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! bundle_cols {
    () => {
        "id, slug, name, description, workflow_ids, currency, price_minor, \
    original_minor, valid_from, valid_until, seo, is_active, purchase_count, created_at, updated_at"
    };
}

fn bundle_from_row(row: &Row<'_>) -> StoreResult<Bundle> {
    let currency: String = get(row, "currency")?;
    Ok(Bundle {
        id: parse(row, "id")?,
        slug: slug(row, "slug")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        workflow_ids: json_col(row, "workflow_ids")?,
        price: money(get(row, "price_minor")?, &currency)?,
        original_price: money(get(row, "original_minor")?, &currency)?,
        valid_from: opt_time(row, "valid_from")?,
        valid_until: opt_time(row, "valid_until")?,
        seo: json_col(row, "seo")?,
        is_active: bool_col(row, "is_active")?,
        purchase_count: u64_col(row, "purchase_count")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn write_bundle_items(tx: &Tx<'_>, b: &Bundle) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM workflow_bundle_items WHERE bundle_id = ?1")
        .map_err(db)?
        .execute([b.id.to_string()])
        .map_err(db)?;
    tx.step("bundle_items:after_clear")?;
    for (i, w) in b.workflow_ids.iter().enumerate() {
        require_workflow(tx, *w)?;
        tx.prepare_cached("INSERT INTO workflow_bundle_items (bundle_id, workflow_id, position) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![b.id.to_string(), w.to_string(), i as i64])
            .map_err(db)?;
        tx.step("bundle_items:after_item")?;
    }
    Ok(())
}

fn bundle_values(b: &Bundle) -> StoreResult<[Value; 14]> {
    let (price, currency) = money_parts(&b.price)?;
    let (original, _) = money_parts(&b.original_price)?;
    Ok([
        Value::Text(b.id.to_string()),
        Value::Text(b.slug.to_string()),
        Value::Text(b.name.clone()),
        Value::Text(b.description.clone()),
        Value::Text(json(&b.workflow_ids)?),
        Value::Text(currency),
        Value::Integer(price),
        Value::Integer(original),
        opt_ts(&b.valid_from).map_or(Value::Null, Value::Text),
        opt_ts(&b.valid_until).map_or(Value::Null, Value::Text),
        Value::Text(json(&b.seo)?),
        Value::Integer(i64::from(b.is_active)),
        Value::Text(ts(&b.created_at)),
        Value::Text(ts(&b.updated_at)),
    ])
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn insert_category(&self, c: &Category) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |tx| {
            if exists(tx, "SELECT 1 FROM workflow_categories WHERE id = ?1 OR slug = ?2", params![c.id.to_string(), c.slug.as_str()])? {
                return Err(StoreError::exists(Entity::Category, &c.slug));
            }
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_categories ({CATEGORY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))
            .map_err(db)?
            .execute(params![
                c.id.to_string(),
                c.slug.as_str(),
                c.name,
                c.description,
                c.icon,
                c.color,
                c.order_index,
                c.is_active,
                i64_of(c.workflow_count)?,
                i64_of(c.total_downloads)?,
                json(&c.metadata)?,
                ts(&c.created_at),
                ts(&c.updated_at),
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories ORDER BY order_index, slug"
                ),
                [],
                category_from_row,
            )
        })
        .await
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories WHERE id = ?1"
                ),
                [id.to_string()],
                category_from_row,
            )
        })
        .await
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories WHERE slug = ?1"
                ),
                [slug],
                category_from_row,
            )
        })
        .await
    }

    async fn insert_workflow(&self, w: &Workflow) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |tx| insert_workflow(tx, &w)).await
    }

    async fn update_workflow(&self, w: &Workflow, expected_revision: u64) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |tx| update_workflow(tx, &w, expected_revision))
            .await
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        self.read(move |c| load_workflow(c, id)).await
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    workflow_cols!(),
                    " FROM workflows WHERE slug = ?1"
                ),
                [slug],
                workflow_from_row,
            )
        })
        .await
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        query.validate()?;
        let q = query.clone();
        self.read(move |c| list_workflows(c, &q)).await
    }

    async fn insert_file(&self, f: &WorkflowFile) -> StoreResult<()> {
        let f = f.clone();
        self.write(move |tx| {
            require_workflow(tx, f.workflow_id)?;
            if exists(tx, "SELECT 1 FROM workflow_files WHERE id = ?1", [f.id.to_string()])? {
                return Err(StoreError::exists(Entity::File, f.id));
            }
            clear_other_primaries(tx, &f)?;
            tx.step("insert_file:after_clear_primaries")?;
            let mut vals = file_values(&f)?.to_vec();
            vals.push(Value::Integer(i64_of(f.download_count)?));
            tx.prepare_cached(
                "INSERT INTO workflow_files (id, workflow_id, file_type, file_name, storage_key, mime_type, version, \
                 version_major, version_minor, version_patch, is_primary, access, size_bytes, checksum, created_at, \
                 updated_at, download_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .map_err(db)?
            .execute(params_from_iter(vals))
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn update_file(&self, f: &WorkflowFile) -> StoreResult<()> {
        let f = f.clone();
        self.write(move |tx| {
            if !exists(tx, "SELECT 1 FROM workflow_files WHERE id = ?1", [f.id.to_string()])? {
                return Err(StoreError::not_found(Entity::File, f.id));
            }
            require_workflow(tx, f.workflow_id)?;
            clear_other_primaries(tx, &f)?;
            tx.step("update_file:after_clear_primaries")?;
            // download_count is maintained by downloads: not written here.
            tx.prepare_cached(
                "UPDATE workflow_files SET workflow_id = ?2, file_type = ?3, file_name = ?4, storage_key = ?5, \
                 mime_type = ?6, version = ?7, version_major = ?8, version_minor = ?9, version_patch = ?10, \
                 is_primary = ?11, access = ?12, size_bytes = ?13, checksum = ?14, created_at = ?15, updated_at = ?16 \
                 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params_from_iter(file_values(&f)?))
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    file_cols!(),
                    " FROM workflow_files WHERE id = ?1"
                ),
                [id.to_string()],
                file_from_row,
            )
        })
        .await
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        self.read(move |c| {
            query_all(
                c,
                concat!("SELECT ", file_cols!(), " FROM workflow_files WHERE workflow_id = ?1 \
                     ORDER BY is_primary DESC, version_major DESC, version_minor DESC, version_patch DESC, id"),
                [workflow.to_string()],
                file_from_row,
            )
        })
        .await
    }

    async fn insert_update(&self, u: &WorkflowUpdate) -> StoreResult<()> {
        let u = u.clone();
        self.write(move |tx| {
            require_workflow(tx, u.workflow_id)?;
            if exists(tx, "SELECT 1 FROM workflow_updates WHERE id = ?1", [u.id.to_string()])? {
                return Err(StoreError::exists(Entity::Update, u.id));
            }
            let v = u.version;
            let newer_exists = exists(
                tx,
                "SELECT 1 FROM workflow_updates WHERE workflow_id = ?1 AND \
                 (version_major, version_minor, version_patch) >= (?2, ?3, ?4)",
                params![u.workflow_id.to_string(), v.major(), v.minor(), v.patch()],
            )?;
            if newer_exists {
                return Err(StoreError::conflict(Entity::Update, u.workflow_id, "versions must strictly increase"));
            }
            tx.prepare_cached(
                "INSERT INTO workflow_updates (id, workflow_id, version, version_major, version_minor, version_patch, \
                 changelog, files_added, files_modified, files_removed, release_notes, is_major, released_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(db)?
            .execute(params![
                u.id.to_string(),
                u.workflow_id.to_string(),
                v.to_string(),
                v.major(),
                v.minor(),
                v.patch(),
                json(&u.changelog)?,
                json(&u.files_added)?,
                json(&u.files_modified)?,
                json(&u.files_removed)?,
                u.release_notes,
                u.is_major,
                ts(&u.released_at),
            ])
            .map_err(db)?;
            tx.step("insert_update:after_row")?;
            tx.prepare_cached("UPDATE workflows SET current_version = ?2 WHERE id = ?1")
                .map_err(db)?
                .execute(params![u.workflow_id.to_string(), v.to_string()])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    update_cols!(),
                    " FROM workflow_updates WHERE workflow_id = ?1 \
                     ORDER BY version_major, version_minor, version_patch"
                ),
                [workflow.to_string()],
                update_from_row,
            )
        })
        .await
    }

    async fn insert_bundle(&self, b: &Bundle) -> StoreResult<()> {
        let b = b.clone();
        self.write(move |tx| {
            if exists(tx, "SELECT 1 FROM workflow_bundles WHERE id = ?1 OR slug = ?2", params![b.id.to_string(), b.slug.as_str()])? {
                return Err(StoreError::exists(Entity::Bundle, &b.slug));
            }
            let mut vals = bundle_values(&b)?.to_vec();
            vals.push(Value::Integer(i64_of(b.purchase_count)?));
            tx.prepare_cached(
                "INSERT INTO workflow_bundles (id, slug, name, description, workflow_ids, currency, price_minor, \
                 original_minor, valid_from, valid_until, seo, is_active, created_at, updated_at, purchase_count) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(db)?
            .execute(params_from_iter(vals))
            .map_err(db)?;
            tx.step("insert_bundle:after_row")?;
            write_bundle_items(tx, &b)
        })
        .await
    }

    async fn update_bundle(&self, b: &Bundle) -> StoreResult<()> {
        let b = b.clone();
        self.write(move |tx| {
            if !exists(tx, "SELECT 1 FROM workflow_bundles WHERE id = ?1", [b.id.to_string()])? {
                return Err(StoreError::not_found(Entity::Bundle, b.id));
            }
            if exists(tx, "SELECT 1 FROM workflow_bundles WHERE slug = ?1 AND id <> ?2", params![b.slug.as_str(), b.id.to_string()])? {
                return Err(StoreError::exists(Entity::Bundle, &b.slug));
            }
            tx.prepare_cached(
                "UPDATE workflow_bundles SET slug = ?2, name = ?3, description = ?4, workflow_ids = ?5, currency = ?6, \
                 price_minor = ?7, original_minor = ?8, valid_from = ?9, valid_until = ?10, seo = ?11, is_active = ?12, \
                 created_at = ?13, updated_at = ?14 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params_from_iter(bundle_values(&b)?))
            .map_err(db)?;
            tx.step("update_bundle:after_row")?;
            write_bundle_items(tx, &b)
        })
        .await
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles WHERE id = ?1"
                ),
                [id.to_string()],
                bundle_from_row,
            )
        })
        .await
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles WHERE slug = ?1"
                ),
                [slug],
                bundle_from_row,
            )
        })
        .await
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles ORDER BY slug"
                ),
                [],
                bundle_from_row,
            )
        })
        .await
    }
}

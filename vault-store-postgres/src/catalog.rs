//! Categories, workflows (with search and listing), files, updates and
//! bundles.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;
use vault_core::catalog::bundle::Bundle;
use vault_core::catalog::category::{Category, count_moves, counted_in};
use vault_core::catalog::file::{Checksum, FileAccess, WorkflowFile};
use vault_core::catalog::query::{
    Cursor, Page, SortKey, WorkflowQuery, WorkflowSort, search_terms,
};
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::wedge::{Score, Wedge};
use vault_core::catalog::workflow::{
    Tag, Workflow, WorkflowContent, WorkflowStats, WorkflowStatus,
};
use vault_core::community::rating::{Dimension, DimensionTotals, RatingAggregate};
use vault_core::delivery::access::GateFacts;
use vault_core::store::{CatalogStore, Entity, FileWanted, StoreError, StoreResult};
use vault_core::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use vault_core::value::money::Money;
use vault_core::value::slug::Slug;
use vault_core::value::version::Version;

use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

pub(crate) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

// ------------------------------------------------------------- categories

macro_rules! category_cols {
    () => {
        "id, slug, name, description, icon, color, order_index, is_active, workflow_count, \
         total_downloads, metadata, created_at, updated_at"
    };
}

fn category_from_row(row: &PgRow) -> StoreResult<Category> {
    Ok(Category {
        id: id(row, "id")?,
        slug: slug(row, "slug")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        icon: get(row, "icon")?,
        color: get(row, "color")?,
        order_index: get(row, "order_index")?,
        is_active: get(row, "is_active")?,
        workflow_count: u64_col(row, "workflow_count")?,
        total_downloads: u64_col(row, "total_downloads")?,
        metadata: get(row, "metadata")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

async fn insert_category(c: &mut PgConnection, cat: &Category) -> StoreResult<()> {
    let taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_categories WHERE id = $1 OR slug = $2")
            .bind(cat.id.as_uuid())
            .bind(cat.slug.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if taken.is_some() {
        return Err(StoreError::exists(Entity::Category, &cat.slug));
    }
    sqlx::query(concat!(
        "INSERT INTO workflow_categories (",
        category_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(cat.id.as_uuid())
    .bind(cat.slug.as_str())
    .bind(&cat.name)
    .bind(&cat.description)
    .bind(&cat.icon)
    .bind(&cat.color)
    .bind(cat.order_index)
    .bind(cat.is_active)
    .bind(i64_of(cat.workflow_count)?)
    .bind(i64_of(cat.total_downloads)?)
    .bind(&cat.metadata)
    .bind(cat.created_at)
    .bind(cat.updated_at)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Category, &cat.slug))?;
    Ok(())
}

/// Applies vault-core's category count moves of a workflow going from being
/// counted in `before` to `after` ([`counted_in`]); they come in id order,
/// so concurrent writers lock the category rows in one order.
async fn move_category_counts(
    c: &mut PgConnection,
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> StoreResult<()> {
    for (cat, delta) in count_moves(before, after) {
        sqlx::query(
            "UPDATE workflow_categories SET workflow_count = GREATEST(workflow_count + $2, 0) \
             WHERE id = $1",
        )
        .bind(cat.as_uuid())
        .bind(delta)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

// -------------------------------------------------------------- workflows

macro_rules! workflow_cols {
    () => {
        "id, slug, title, short_description, description, category_id, wedge_score, \
         workflow_complexity, efficiency_rating, digital_maturity, growth_potential, \
         excellence_tier, pricing_tier, price, currency, media, features, requirements, includes, \
         tags, seo, update_months, download_limit, status, current_version, download_count, \
         favorite_count, view_count, purchase_count, stars_1, stars_2, stars_3, stars_4, stars_5, \
         dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
         dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, \
         dim_excellence_count, dim_excellence_sum, created_at, updated_at, published_at, \
         archived_at, revision"
    };
}
pub(crate) use workflow_cols;

const DIMS: [&str; 5] = [
    "complexity",
    "efficiency",
    "maturity",
    "growth",
    "excellence",
];

fn score(row: &PgRow, col: &str, field: &'static str) -> StoreResult<Score> {
    Score::new(field, get(row, col)?).map_err(corrupt)
}

fn price(row: &PgRow) -> StoreResult<Option<Money>> {
    match (
        get::<Option<Decimal>>(row, "price")?,
        get::<Option<String>>(row, "currency")?,
    ) {
        (Some(amount), Some(c)) => Ok(Some(money(amount, &c)?)),
        (None, None) => Ok(None),
        _ => Err(corrupt("price and currency must be set together")),
    }
}

/// A workflow's [`GateFacts`]: all an access read needs of it.
pub(crate) async fn load_gate<'e>(
    e: impl PgExecutor<'e>,
    workflow: WorkflowId,
) -> StoreResult<Option<GateFacts>> {
    let Some(row) = sqlx::query(
        "SELECT id, status, pricing_tier, price, currency, archived_at FROM workflows WHERE id = $1",
    )
    .bind(workflow.as_uuid())
    .fetch_optional(e)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    Ok(Some(GateFacts {
        id: id(&row, "id")?,
        status: parse(&row, "status")?,
        tier: parse(&row, "pricing_tier")?,
        price: price(&row)?,
        archived_at: get(&row, "archived_at")?,
    }))
}

pub(crate) fn workflow_from_row(row: &PgRow) -> StoreResult<Workflow> {
    let price = price(row)?;
    let mut stars = [0u64; 5];
    for (i, s) in stars.iter_mut().enumerate() {
        *s = u64_col(row, &format!("stars_{}", i + 1))?;
    }
    let mut dims = [DimensionTotals::default(); 5];
    for (i, d) in dims.iter_mut().enumerate() {
        d.count = u64_col(row, &format!("dim_{}_count", DIMS[i]))?;
        d.sum = u64_col(row, &format!("dim_{}_sum", DIMS[i]))?;
    }
    let tags = get::<Vec<String>>(row, "tags")?
        .iter()
        .map(|t| Tag::parse(t).map_err(corrupt))
        .collect::<StoreResult<Vec<Tag>>>()?;
    let content = WorkflowContent {
        slug: slug(row, "slug")?,
        title: get(row, "title")?,
        short_description: get(row, "short_description")?,
        description: get(row, "description")?,
        category_id: id(row, "category_id")?,
        wedge: Wedge {
            score: score(row, "wedge_score", "wedge_score")?,
            complexity: parse(row, "workflow_complexity")?,
            efficiency: score(row, "efficiency_rating", "efficiency_rating")?,
            digital_maturity: parse(row, "digital_maturity")?,
            growth_potential: parse(row, "growth_potential")?,
            excellence_tier: parse(row, "excellence_tier")?,
        },
        pricing_tier: parse(row, "pricing_tier")?,
        price,
        media: json_col(row, "media")?,
        features: json_col(row, "features")?,
        requirements: json_col(row, "requirements")?,
        includes: json_col(row, "includes")?,
        tags,
        seo: json_col(row, "seo")?,
        update_months: opt_u32_col(row, "update_months")?,
        download_limit: opt_u32_col(row, "download_limit")?,
    };
    Ok(Workflow {
        id: id(row, "id")?,
        content,
        status: parse(row, "status")?,
        current_version: parse_opt(row, "current_version")?,
        stats: WorkflowStats {
            download_count: u64_col(row, "download_count")?,
            favorite_count: u64_col(row, "favorite_count")?,
            view_count: u64_col(row, "view_count")?,
            purchase_count: u64_col(row, "purchase_count")?,
            rating: RatingAggregate::from_parts(stars, dims).map_err(corrupt)?,
        },
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        published_at: get(row, "published_at")?,
        archived_at: get(row, "archived_at")?,
        revision: u64_col(row, "revision")?,
    })
}

pub(crate) async fn load_workflow<'e>(
    e: impl PgExecutor<'e>,
    id: WorkflowId,
) -> StoreResult<Option<Workflow>> {
    sqlx::query(concat!(
        "SELECT ",
        workflow_cols!(),
        " FROM workflows WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(e)
    .await
    .map_err(db)?
    .as_ref()
    .map(workflow_from_row)
    .transpose()
}

pub(crate) async fn require_workflow(c: &mut PgConnection, id: WorkflowId) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflows WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found(Entity::Workflow, id))
}

/// Locks a workflow row against other writers of its files, versions and
/// counters (`FOR NO KEY UPDATE` still lets rows referencing it be inserted).
pub(crate) async fn lock_workflow(c: &mut PgConnection, id: WorkflowId) -> StoreResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflows WHERE id = $1 FOR NO KEY UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found(Entity::Workflow, id))
}

async fn require_category(c: &mut PgConnection, id: CategoryId) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_categories WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found(Entity::Category, id))
}

async fn slug_taken(
    c: &mut PgConnection,
    slug: &Slug,
    other_than: Option<WorkflowId>,
) -> StoreResult<bool> {
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM workflows WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    Ok(match (found, other_than) {
        (None, _) => false,
        (Some(found), Some(me)) => found != me.as_uuid(),
        (Some(_), None) => true,
    })
}

/// The largest lexeme PostgreSQL keeps is 2047 bytes; longer words are cut
/// (a query word is at most 200 characters, so prefix matches are unchanged).
fn lexeme(mut word: String) -> String {
    const MAX: usize = 2046;
    if word.len() > MAX {
        let mut end = MAX;
        while !word.is_char_boundary(end) {
            end -= 1;
        }
        word.truncate(end);
    }
    word
}

/// The search lexemes of a workflow: every word of its title, descriptions
/// and tags as [`search_terms`] gives them (so both sides of the match use
/// the core's tokenizer).
fn search_lexemes(c: &WorkflowContent) -> Vec<String> {
    let fields = [
        c.title.as_str(),
        c.short_description.as_str(),
        c.description.as_str(),
    ];
    let words: BTreeSet<String> = fields
        .into_iter()
        .chain(c.tags.iter().map(Tag::as_str))
        .flat_map(search_terms)
        .map(lexeme)
        .collect();
    words.into_iter().collect()
}

/// The prefix query for `text`: `'w1':* & 'w2':*` (terms are letters and
/// digits only, so quoting them is safe). `None` when it has no word.
fn tsquery(text: &str) -> Option<String> {
    let terms: Vec<String> = search_terms(text)
        .into_iter()
        .map(|t| format!("'{}':*", lexeme(t)))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// Binds the editable content (placeholders $2..$25 of the workflow
/// writes): 23 columns and the search lexemes.
fn bind_content<'q>(q: PgQuery<'q>, w: &Workflow) -> PgQuery<'q> {
    let c = &w.content;
    let tags: Vec<&str> = c.tags.iter().map(Tag::as_str).collect();
    q.bind(c.slug.as_str().to_owned())
        .bind(c.title.clone())
        .bind(c.short_description.clone())
        .bind(c.description.clone())
        .bind(c.category_id.as_uuid())
        .bind(c.wedge.score.value())
        .bind(c.wedge.complexity.as_str())
        .bind(c.wedge.efficiency.value())
        .bind(c.wedge.digital_maturity.as_str())
        .bind(c.wedge.growth_potential.as_str())
        .bind(c.wedge.excellence_tier.as_str())
        .bind(c.pricing_tier.as_str())
        .bind(c.price.map(|p| p.amount()))
        .bind(c.price.map(|p| p.currency().code().to_owned()))
        .bind(sqlx::types::Json(&c.media))
        .bind(sqlx::types::Json(&c.features))
        .bind(sqlx::types::Json(&c.requirements))
        .bind(sqlx::types::Json(&c.includes))
        .bind(tags)
        .bind(sqlx::types::Json(&c.seo))
        .bind(c.update_months.map(i64::from))
        .bind(c.download_limit.map(i64::from))
        .bind(w.status.as_str())
        .bind(search_lexemes(c))
}

async fn insert_workflow(s: &PgStore, c: &mut PgConnection, w: &Workflow) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflows WHERE id = $1")
        .bind(w.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Workflow, w.id));
    }
    if slug_taken(c, &w.content.slug, None).await? {
        return Err(StoreError::exists(Entity::Workflow, &w.content.slug));
    }
    require_category(c, w.content.category_id).await?;
    let r = &w.stats.rating;
    let mut q = bind_content(
        sqlx::query(
            "INSERT INTO workflows (id, slug, title, short_description, description, category_id, \
             wedge_score, workflow_complexity, efficiency_rating, digital_maturity, growth_potential, \
             excellence_tier, pricing_tier, price, currency, media, features, requirements, includes, \
             tags, seo, update_months, download_limit, status, search_vector, current_version, \
             download_count, favorite_count, view_count, purchase_count, \
             stars_1, stars_2, stars_3, stars_4, stars_5, \
             dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
             dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, \
             dim_excellence_count, dim_excellence_sum, created_at, updated_at, published_at, \
             archived_at, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, array_to_tsvector($25::text[]), $26, $27, $28, $29, \
             $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, \
             $47, $48, $49, $50)",
        )
        .bind(w.id.as_uuid()),
        w,
    )
    .bind(w.current_version.map(|v| v.to_string()))
    .bind(i64_of(w.stats.download_count)?)
    .bind(i64_of(w.stats.favorite_count)?)
    .bind(i64_of(w.stats.view_count)?)
    .bind(i64_of(w.stats.purchase_count)?);
    for n in r.distribution() {
        q = q.bind(i64_of(n)?);
    }
    for d in Dimension::ALL {
        let t = r.dimension_totals(d);
        q = q.bind(i64_of(t.count)?).bind(i64_of(t.sum)?);
    }
    q.bind(w.created_at)
        .bind(w.updated_at)
        .bind(w.published_at)
        .bind(w.archived_at)
        .bind(i64_of(w.revision)?)
        .execute(&mut *c)
        .await
        .map_err(unique_or_parent(
            Entity::Workflow,
            &w.content.slug,
            Entity::Category,
            w.content.category_id,
        ))?;
    s.step(c, "insert_workflow:after_row").await?;
    move_category_counts(c, None, counted_in(w.status, w.content.category_id)).await
}

async fn update_workflow(
    s: &PgStore,
    c: &mut PgConnection,
    w: &Workflow,
    expected: u64,
) -> StoreResult<()> {
    let row = sqlx::query(
        "SELECT revision, category_id, status FROM workflows WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(w.id.as_uuid())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?
    .ok_or_else(|| StoreError::not_found(Entity::Workflow, w.id))?;
    if get::<i64>(&row, "revision")? != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Workflow,
            w.id,
            "the workflow changed since it was read",
        ));
    }
    let old_category: CategoryId = id(&row, "category_id")?;
    let old_status: WorkflowStatus = parse(&row, "status")?;
    if slug_taken(c, &w.content.slug, Some(w.id)).await? {
        return Err(StoreError::exists(Entity::Workflow, &w.content.slug));
    }
    require_category(c, w.content.category_id).await?;
    // Counters and current_version are not written: their owners move them.
    bind_content(
        sqlx::query(
            "UPDATE workflows SET slug = $2, title = $3, short_description = $4, description = $5, \
             category_id = $6, wedge_score = $7, workflow_complexity = $8, efficiency_rating = $9, \
             digital_maturity = $10, growth_potential = $11, excellence_tier = $12, \
             pricing_tier = $13, price = $14, currency = $15, media = $16, features = $17, \
             requirements = $18, includes = $19, tags = $20, seo = $21, update_months = $22, \
             download_limit = $23, status = $24, search_vector = array_to_tsvector($25::text[]), \
             created_at = $26, updated_at = $27, published_at = $28, archived_at = $29, \
             revision = $30 WHERE id = $1",
        )
        .bind(w.id.as_uuid()),
        w,
    )
    .bind(w.created_at)
    .bind(w.updated_at)
    .bind(w.published_at)
    .bind(w.archived_at)
    .bind(i64_of(w.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique_or_parent(
        Entity::Workflow,
        &w.content.slug,
        Entity::Category,
        w.content.category_id,
    ))?;
    s.step(c, "update_workflow:after_row").await?;
    move_category_counts(
        c,
        counted_in(old_status, old_category),
        counted_in(w.status, w.content.category_id),
    )
    .await
}

// ------------------------------------------------------------------ listing

/// The exact sort key expression: exact fractions via NUMERIC with 40
/// decimals (see the migration's `rating_avg`); NULL (sorted last) for a
/// workflow without a key.
fn key_expr(q: &WorkflowQuery, w: i64, m100: i64) -> String {
    match q.sort {
        WorkflowSort::WedgeScore => "wedge_score".into(),
        WorkflowSort::Downloads => "download_count".into(),
        WorkflowSort::Newest => "newest_at".into(),
        WorkflowSort::Rating => "rating_avg".into(),
        WorkflowSort::BayesianRating => format!(
            "(CASE WHEN {w} + review_count = 0 THEN NULL \
             ELSE ({w}::numeric * {m100} + 100 * rating_sum::numeric)::numeric(80, 40) \
             / ({w} + review_count) END)"
        ),
    }
}

/// "Strictly after the cursor" in listing order (key descending, id
/// ascending), compared exactly: fractions by cross-multiplication.
fn push_cursor(
    qb: &mut QueryBuilder<Postgres>,
    q: &WorkflowQuery,
    cursor: &Cursor,
    w: i64,
    m100: i64,
) -> StoreResult<()> {
    let cid = cursor.id().as_uuid();
    match (q.sort, cursor.key()) {
        (WorkflowSort::WedgeScore, SortKey::Score(k)) => {
            qb.push(" AND (wedge_score < ")
                .push_bind(k)
                .push(" OR (wedge_score = ")
                .push_bind(k)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Downloads, SortKey::Downloads(d)) => {
            let d = i64_of(d)?;
            qb.push(" AND (download_count < ")
                .push_bind(d)
                .push(" OR (download_count = ")
                .push_bind(d)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Newest, SortKey::Time(t)) => {
            // Stored instants are whole microseconds, and binding a finer
            // key would truncate it. A key between two microseconds (from
            // a store that keeps nanoseconds, or made up) equals no row:
            // the rows after it are those at or before its microsecond.
            let micro = DateTime::<Utc>::from_timestamp_micros(t.timestamp_micros());
            if let Some(floor) = micro.filter(|m| *m != t) {
                qb.push(" AND newest_at <= ").push_bind(floor);
                return Ok(());
            }
            qb.push(" AND (newest_at < ")
                .push_bind(t)
                .push(" OR (newest_at = ")
                .push_bind(t)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Rating, SortKey::Rating { sum, count }) => {
            if count == 0 {
                qb.push(" AND (review_count = 0 AND id > ")
                    .push_bind(cid)
                    .push(")");
            } else {
                let (cs, cc) = (Decimal::from(sum), Decimal::from(count));
                qb.push(" AND (review_count = 0 OR rating_sum::numeric * ")
                    .push_bind(cc)
                    .push(" < ")
                    .push_bind(cs)
                    .push(" * review_count OR (review_count > 0 AND rating_sum::numeric * ")
                    .push_bind(cc)
                    .push(" = ")
                    .push_bind(cs)
                    .push(" * review_count AND id > ")
                    .push_bind(cid)
                    .push("))");
            }
        }
        (WorkflowSort::BayesianRating, SortKey::Rating { sum, count }) => {
            let num = format!("({w}::numeric * {m100} + 100 * rating_sum::numeric)");
            let den = format!("({w} + review_count)");
            let cn =
                Decimal::from(w) * Decimal::from(m100) + Decimal::ONE_HUNDRED * Decimal::from(sum);
            let cd = Decimal::from(w) + Decimal::from(count);
            if cd.is_zero() {
                qb.push(format!(" AND ({den} = 0 AND id > "))
                    .push_bind(cid)
                    .push(")");
            } else {
                qb.push(format!(" AND ({den} = 0 OR {num} * "))
                    .push_bind(cd)
                    .push(" < ")
                    .push_bind(cn)
                    .push(format!(" * {den} OR ({den} > 0 AND {num} * "))
                    .push_bind(cd)
                    .push(" = ")
                    .push_bind(cn)
                    .push(format!(" * {den} AND id > "))
                    .push_bind(cid)
                    .push("))");
            }
        }
        _ => return Err(corrupt("the cursor does not match the sort")),
    }
    Ok(())
}

async fn list_workflows(
    c: &mut sqlx::PgConnection,
    q: &WorkflowQuery,
) -> StoreResult<Page<Workflow>> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!(
        "SELECT ",
        workflow_cols!(),
        " FROM workflows WHERE TRUE"
    ));
    // One status (the catalog's usual "published") as `=`: PostgreSQL 15
    // walks a (status, key, id) index in order only for an equality on
    // status, never for `= ANY(array)`; with ANY it sorted every match.
    match q.statuses.as_slice() {
        [] => {}
        [one] => {
            qb.push(" AND status = ").push_bind(one.as_str());
        }
        many => {
            let statuses: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            qb.push(" AND status = ANY(").push_bind(statuses).push(")");
        }
    }
    if let Some(cat) = q.category {
        qb.push(" AND category_id = ").push_bind(cat.as_uuid());
    }
    if !q.tiers.is_empty() {
        let tiers: Vec<&str> = q.tiers.iter().map(|t| t.as_str()).collect();
        qb.push(" AND pricing_tier = ANY(")
            .push_bind(tiers)
            .push(")");
    }
    if let Some(range) = &q.price {
        // Free workflows count as zero; members-only ones (no price, not
        // free) never match.
        qb.push(" AND ((price IS NOT NULL AND currency = ")
            .push_bind(range.currency().code().to_owned());
        if let Some(min) = range.min() {
            qb.push(" AND price >= ").push_bind(min);
        }
        if let Some(max) = range.max() {
            qb.push(" AND price <= ").push_bind(max);
        }
        qb.push(") OR (price IS NULL AND pricing_tier = 'free' AND ")
            .push_bind(range.admits_zero())
            .push("))");
    }
    if !q.tags.is_empty() {
        let tags: Vec<&str> = q.tags.iter().map(Tag::as_str).collect();
        qb.push(" AND tags @> ").push_bind(tags).push("::text[]");
    }
    if let Some(query) = q.text.as_deref().and_then(tsquery) {
        qb.push(" AND search_vector @@ to_tsquery('simple', ")
            .push_bind(query)
            .push(")");
    }
    let w = i64::from(q.prior.weight());
    let m100 = i64::try_from((q.prior.mean() * Decimal::ONE_HUNDRED).trunc()).unwrap_or(0);
    if let Some(cursor) = &q.cursor {
        push_cursor(&mut qb, q, cursor, w, m100)?;
    }
    let limit = i64::from(q.limit);
    // Only the rating keys can be NULL (no reviews), and their index is
    // built NULLS LAST. The other keys are never NULL, where `DESC` alone
    // orders the same and matches their `DESC` indexes; spelling NULLS LAST
    // there too made the planner sort instead of walking the index.
    let nulls = match q.sort {
        WorkflowSort::Rating | WorkflowSort::BayesianRating => " NULLS LAST",
        WorkflowSort::WedgeScore | WorkflowSort::Downloads | WorkflowSort::Newest => "",
    };
    qb.push(format!(
        " ORDER BY {} DESC{nulls}, id ASC LIMIT ",
        key_expr(q, w, m100)
    ))
    .push_bind(limit + 1);
    let rows = qb.build().fetch_all(c).await.map_err(db)?;
    let mut items = rows
        .iter()
        .map(workflow_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let more = items.len() > q.limit as usize;
    items.truncate(q.limit as usize);
    let next = if more {
        items.last().map(|w| Cursor::after(w, q.sort))
    } else {
        None
    };
    Ok(Page { items, next })
}

// ------------------------------------------------------------------- files

macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, version_major, \
         version_minor, version_patch, is_primary, access, size_bytes, checksum, created_at, \
         updated_at, download_count"
    };
}

fn file_from_row(row: &PgRow) -> StoreResult<WorkflowFile> {
    Ok(WorkflowFile {
        id: id(row, "id")?,
        workflow_id: id(row, "workflow_id")?,
        kind: parse(row, "file_type")?,
        file_name: get(row, "file_name")?,
        storage_key: get(row, "storage_key")?,
        mime_type: get(row, "mime_type")?,
        version: parse(row, "version")?,
        is_primary: get(row, "is_primary")?,
        access: json_col::<FileAccess>(row, "access")?,
        size_bytes: u64_col(row, "size_bytes")?,
        checksum: parse_with(row, "checksum", Checksum::parse)?,
        download_count: u64_col(row, "download_count")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// The file an access read wants, if it belongs to `workflow`.
pub(crate) async fn wanted_file<'e>(
    e: impl PgExecutor<'e>,
    workflow: WorkflowId,
    wanted: FileWanted,
) -> StoreResult<Option<WorkflowFile>> {
    let q = match wanted {
        FileWanted::None => return Ok(None),
        FileWanted::Id(id) => sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE id = $2 AND workflow_id = $1"
        ))
        .bind(workflow.as_uuid())
        .bind(id.as_uuid()),
        FileWanted::Primary => sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE workflow_id = $1 AND is_primary"
        ))
        .bind(workflow.as_uuid()),
    };
    q.fetch_optional(e)
        .await
        .map_err(db)?
        .as_ref()
        .map(file_from_row)
        .transpose()
}

/// When the update carrying `version` of `workflow` was released.
pub(crate) async fn version_released_at<'e>(
    e: impl PgExecutor<'e>,
    workflow: WorkflowId,
    version: Version,
) -> StoreResult<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "SELECT released_at FROM workflow_updates WHERE workflow_id = $1 \
         AND version_major = $2 AND version_minor = $3 AND version_patch = $4",
    )
    .bind(workflow.as_uuid())
    .bind(i64::from(version.major()))
    .bind(i64::from(version.minor()))
    .bind(i64::from(version.patch()))
    .fetch_optional(e)
    .await
    .map_err(db)
}

/// Binds $1..$16 of the file writes (all but the download count).
fn bind_file<'q>(q: PgQuery<'q>, f: &WorkflowFile) -> StoreResult<PgQuery<'q>> {
    let v = f.version;
    Ok(q.bind(f.id.as_uuid())
        .bind(f.workflow_id.as_uuid())
        .bind(f.kind.as_str())
        .bind(f.file_name.clone())
        .bind(f.storage_key.clone())
        .bind(f.mime_type.clone())
        .bind(v.to_string())
        .bind(i64::from(v.major()))
        .bind(i64::from(v.minor()))
        .bind(i64::from(v.patch()))
        .bind(f.is_primary)
        .bind(json(&f.access)?)
        .bind(i64_of(f.size_bytes)?)
        .bind(f.checksum.as_str().to_owned())
        .bind(f.created_at)
        .bind(f.updated_at))
}

async fn clear_other_primaries(c: &mut PgConnection, f: &WorkflowFile) -> StoreResult<()> {
    if f.is_primary {
        sqlx::query(
            "UPDATE workflow_files SET is_primary = FALSE \
             WHERE workflow_id = $1 AND id <> $2 AND is_primary",
        )
        .bind(f.workflow_id.as_uuid())
        .bind(f.id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn insert_file(c: &mut PgConnection, f: &WorkflowFile) -> StoreResult<()> {
    // The workflow's lock serializes its file writes, so the one-primary
    // rule holds under concurrency.
    lock_workflow(c, f.workflow_id).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_files WHERE id = $1")
        .bind(f.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::File, f.id));
    }
    clear_other_primaries(c, f).await?;
    bind_file(
        sqlx::query(concat!(
            "INSERT INTO workflow_files (",
            file_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )),
        f,
    )?
    .bind(i64_of(f.download_count)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::File, f.id))?;
    Ok(())
}

async fn update_file(c: &mut PgConnection, f: &WorkflowFile) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_files WHERE id = $1")
        .bind(f.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_none() {
        return Err(StoreError::not_found(Entity::File, f.id));
    }
    lock_workflow(c, f.workflow_id).await?;
    clear_other_primaries(c, f).await?;
    // download_count is maintained by downloads: not written here.
    let n = bind_file(
        sqlx::query(
            "UPDATE workflow_files SET workflow_id = $2, file_type = $3, file_name = $4, \
             storage_key = $5, mime_type = $6, version = $7, version_major = $8, \
             version_minor = $9, version_patch = $10, is_primary = $11, access = $12, \
             size_bytes = $13, checksum = $14, created_at = $15, updated_at = $16 WHERE id = $1",
        ),
        f,
    )?
    .execute(&mut *c)
    .await
    .map_err(db)?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::not_found(Entity::File, f.id));
    }
    Ok(())
}

// ------------------------------------------------------------------ updates

macro_rules! update_cols {
    () => {
        "id, workflow_id, version, version_major, version_minor, version_patch, changelog, \
         files_added, files_modified, files_removed, release_notes, is_major, released_at"
    };
}

fn update_from_row(row: &PgRow) -> StoreResult<WorkflowUpdate> {
    Ok(WorkflowUpdate {
        id: id(row, "id")?,
        workflow_id: id(row, "workflow_id")?,
        version: parse(row, "version")?,
        changelog: json_col(row, "changelog")?,
        files_added: json_col(row, "files_added")?,
        files_modified: json_col(row, "files_modified")?,
        files_removed: json_col(row, "files_removed")?,
        release_notes: get(row, "release_notes")?,
        is_major: get(row, "is_major")?,
        released_at: get(row, "released_at")?,
    })
}

async fn insert_update(s: &PgStore, c: &mut PgConnection, u: &WorkflowUpdate) -> StoreResult<()> {
    // Locked first: concurrent releases of one workflow compare versions
    // one after the other.
    lock_workflow(c, u.workflow_id).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_updates WHERE id = $1")
        .bind(u.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Update, u.id));
    }
    let v = u.version;
    let (major, minor, patch) = (
        i64::from(v.major()),
        i64::from(v.minor()),
        i64::from(v.patch()),
    );
    let newer: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM workflow_updates WHERE workflow_id = $1 \
         AND (version_major, version_minor, version_patch) >= ($2, $3, $4) LIMIT 1",
    )
    .bind(u.workflow_id.as_uuid())
    .bind(major)
    .bind(minor)
    .bind(patch)
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    if newer.is_some() {
        return Err(StoreError::conflict(
            Entity::Update,
            u.workflow_id,
            "versions must strictly increase",
        ));
    }
    sqlx::query(concat!(
        "INSERT INTO workflow_updates (",
        update_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(u.id.as_uuid())
    .bind(u.workflow_id.as_uuid())
    .bind(v.to_string())
    .bind(major)
    .bind(minor)
    .bind(patch)
    .bind(json(&u.changelog)?)
    .bind(json(&u.files_added)?)
    .bind(json(&u.files_modified)?)
    .bind(json(&u.files_removed)?)
    .bind(&u.release_notes)
    .bind(u.is_major)
    .bind(u.released_at)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Update, u.id))?;
    s.step(c, "insert_update:after_row").await?;
    sqlx::query("UPDATE workflows SET current_version = $2 WHERE id = $1")
        .bind(u.workflow_id.as_uuid())
        .bind(v.to_string())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(())
}

// ------------------------------------------------------------------ bundles

macro_rules! bundle_cols {
    () => {
        "id, slug, name, description, workflow_ids, currency, price, original_price, valid_from, \
         valid_until, seo, is_active, created_at, updated_at, purchase_count"
    };
}

fn bundle_from_row(row: &PgRow) -> StoreResult<Bundle> {
    Ok(Bundle {
        id: id(row, "id")?,
        slug: slug(row, "slug")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        workflow_ids: get::<Vec<Uuid>>(row, "workflow_ids")?
            .into_iter()
            .map(WorkflowId::from_uuid)
            .collect(),
        price: money_col(row, "price", "currency")?,
        original_price: money_col(row, "original_price", "currency")?,
        valid_from: get(row, "valid_from")?,
        valid_until: get(row, "valid_until")?,
        seo: json_col(row, "seo")?,
        is_active: get(row, "is_active")?,
        purchase_count: u64_col(row, "purchase_count")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Binds $1..$14 of the bundle writes (all but the purchase count).
fn bind_bundle<'q>(q: PgQuery<'q>, b: &Bundle) -> StoreResult<PgQuery<'q>> {
    if b.original_price.currency() != b.price.currency() {
        return Err(corrupt("a bundle's prices must share a currency"));
    }
    let members: Vec<Uuid> = b.workflow_ids.iter().map(|w| w.as_uuid()).collect();
    Ok(q.bind(b.id.as_uuid())
        .bind(b.slug.as_str().to_owned())
        .bind(b.name.clone())
        .bind(b.description.clone())
        .bind(members)
        .bind(b.price.currency().code().to_owned())
        .bind(b.price.amount())
        .bind(b.original_price.amount())
        .bind(b.valid_from)
        .bind(b.valid_until)
        .bind(json(&b.seo)?)
        .bind(b.is_active)
        .bind(b.created_at)
        .bind(b.updated_at))
}

async fn write_bundle_items(c: &mut PgConnection, b: &Bundle) -> StoreResult<()> {
    sqlx::query("DELETE FROM workflow_bundle_items WHERE bundle_id = $1")
        .bind(b.id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    for (i, w) in b.workflow_ids.iter().enumerate() {
        require_workflow(c, *w).await?;
        sqlx::query(
            "INSERT INTO workflow_bundle_items (bundle_id, workflow_id, position) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(b.id.as_uuid())
        .bind(w.as_uuid())
        .bind(i32::try_from(i).map_err(|_| corrupt("too many bundle members"))?)
        .execute(&mut *c)
        .await
        .map_err(unique_or_parent(Entity::Bundle, b.id, Entity::Workflow, w))?;
    }
    Ok(())
}

async fn insert_bundle(c: &mut PgConnection, b: &Bundle) -> StoreResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE id = $1 OR slug = $2")
            .bind(b.id.as_uuid())
            .bind(b.slug.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Bundle, &b.slug));
    }
    bind_bundle(
        sqlx::query(concat!(
            "INSERT INTO workflow_bundles (",
            bundle_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )),
        b,
    )?
    .bind(i64_of(b.purchase_count)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Bundle, &b.slug))?;
    write_bundle_items(c, b).await
}

async fn update_bundle(c: &mut PgConnection, b: &Bundle) -> StoreResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE id = $1 FOR NO KEY UPDATE")
            .bind(b.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if found.is_none() {
        return Err(StoreError::not_found(Entity::Bundle, b.id));
    }
    let taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE slug = $1 AND id <> $2")
            .bind(b.slug.as_str())
            .bind(b.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if taken.is_some() {
        return Err(StoreError::exists(Entity::Bundle, &b.slug));
    }
    bind_bundle(
        sqlx::query(
            "UPDATE workflow_bundles SET slug = $2, name = $3, description = $4, \
             workflow_ids = $5, currency = $6, price = $7, original_price = $8, valid_from = $9, \
             valid_until = $10, seo = $11, is_active = $12, created_at = $13, updated_at = $14 \
             WHERE id = $1",
        ),
        b,
    )?
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Bundle, &b.slug))?;
    write_bundle_items(c, b).await
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn insert_category(&self, category: &Category) -> StoreResult<()> {
        write_tx!(self, |c| insert_category(c, category))
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories ORDER BY order_index, slug"
        ))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(category_from_row)
        .collect()
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(category_from_row)
        .transpose()
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(category_from_row)
        .transpose()
    }

    async fn insert_workflow(&self, workflow: &Workflow) -> StoreResult<()> {
        write_tx!(self, |c| insert_workflow(self, c, workflow))
    }

    async fn update_workflow(
        &self,
        workflow: &Workflow,
        expected_revision: u64,
    ) -> StoreResult<()> {
        write_tx!(self, |c| update_workflow(
            self,
            c,
            workflow,
            expected_revision
        ))
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        on_conn!(self, |c| load_workflow(c, id))
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            workflow_cols!(),
            " FROM workflows WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(workflow_from_row)
        .transpose()
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        query.validate()?;
        on_conn!(self, |c| list_workflows(c, query))
    }

    async fn insert_file(&self, file: &WorkflowFile) -> StoreResult<()> {
        write_tx!(self, |c| insert_file(c, file))
    }

    async fn update_file(&self, file: &WorkflowFile) -> StoreResult<()> {
        write_tx!(self, |c| update_file(c, file))
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(file_from_row)
        .transpose()
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE workflow_id = $1 ORDER BY is_primary DESC, \
             version_major DESC, version_minor DESC, version_patch DESC, id"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(file_from_row)
        .collect()
    }

    async fn insert_update(&self, update: &WorkflowUpdate) -> StoreResult<()> {
        write_tx!(self, |c| insert_update(self, c, update))
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            update_cols!(),
            " FROM workflow_updates WHERE workflow_id = $1 \
             ORDER BY version_major, version_minor, version_patch"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(update_from_row)
        .collect()
    }

    async fn insert_bundle(&self, bundle: &Bundle) -> StoreResult<()> {
        write_tx!(self, |c| insert_bundle(c, bundle))
    }

    async fn update_bundle(&self, bundle: &Bundle) -> StoreResult<()> {
        write_tx!(self, |c| update_bundle(c, bundle))
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(bundle_from_row)
        .transpose()
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(bundle_from_row)
        .transpose()
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles ORDER BY slug"
        ))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(bundle_from_row)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsquery_quotes_prefix_terms() {
        assert_eq!(
            tsquery("INVOICE remind").as_deref(),
            Some("'invoice':* & 'remind':*")
        );
        assert_eq!(tsquery(" -- ").as_deref(), None);
    }

    #[test]
    fn long_lexemes_are_cut_on_a_char_boundary() {
        let w = "é".repeat(2000);
        let cut = lexeme(w);
        assert!(cut.len() <= 2046);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}

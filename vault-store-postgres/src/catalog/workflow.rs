//! Workflows: their rows, the access read's gate facts, and the guarded
//! insert and update with their search lexemes.

use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::category::counted_in;
use vault_core::catalog::wedge::{Score, Wedge};
use vault_core::catalog::workflow::{
    Tag, Workflow, WorkflowContent, WorkflowStats, WorkflowStatus,
};
use vault_core::community::rating::{Dimension, DimensionTotals, RatingAggregate, RatingSummary};
use vault_core::delivery::access::GateFacts;
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::ids::{CategoryId, WorkflowId};
use vault_core::value::money::Money;
use vault_core::value::slug::Slug;

use super::PgQuery;
use super::category::{move_category_counts, require_category};
use super::search::search_lexemes;
use crate::PgStore;
use crate::codec::*;

macro_rules! workflow_cols {
    () => {
        "id, slug, title, short_description, description, category_id, wedge_score, \
         workflow_complexity, efficiency_rating, digital_maturity, growth_potential, \
         excellence_tier, pricing_tier, price, currency, media, features, requirements, includes, \
         tags, seo, update_months, download_limit, status, current_version, \
         workflow_download_counts.download_count, favorite_count, view_count, purchase_count, \
         stars_1, stars_2, stars_3, stars_4, stars_5, \
         dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
         dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, \
         dim_excellence_count, dim_excellence_sum, created_at, updated_at, published_at, \
         archived_at, deleted_at, revision"
    };
}
pub(crate) use workflow_cols;

/// What `workflow_cols!` reads from: the workflow with its download count,
/// which lives in a row of its own (migration 0012).
macro_rules! workflows_with_counts {
    () => {
        "workflows JOIN workflow_download_counts \
         ON workflow_download_counts.workflow_id = workflows.id"
    };
}
pub(crate) use workflows_with_counts;

/// The columns of a [`WorkflowCard`], a listing's short row, read from
/// `workflows_with_counts!`: the thumbnail is taken out of the media's
/// JSON by the server, so the rest of it is never sent.
pub(crate) const CARD_COLS: &str = "workflows.id, slug, title, short_description, category_id, \
     pricing_tier, price, currency, wedge_score, media ->> 'thumbnail_url' AS thumbnail_url, \
     status, workflow_download_counts.download_count, favorite_count, review_count, rating_sum, \
     created_at, published_at";

pub(crate) fn card_from_row(row: &PgRow) -> StoreResult<WorkflowCard> {
    decode("workflows", || {
        Ok(WorkflowCard {
            id: id(row, "id")?,
            slug: slug(row, "slug")?,
            title: get(row, "title")?,
            short_description: get(row, "short_description")?,
            category_id: id(row, "category_id")?,
            pricing_tier: parse(row, "pricing_tier")?,
            price: price(row)?,
            wedge_score: score(row, "wedge_score", "wedge_score")?,
            thumbnail_url: get(row, "thumbnail_url")?,
            status: parse(row, "status")?,
            download_count: u64_col(row, "download_count")?,
            favorite_count: u64_col(row, "favorite_count")?,
            rating: RatingSummary {
                count: u64_col(row, "review_count")?,
                sum: u64_col(row, "rating_sum")?,
            },
            created_at: get(row, "created_at")?,
            published_at: get(row, "published_at")?,
        })
    })
}

pub(super) fn score(row: &PgRow, col: &str, field: &'static str) -> StoreResult<Score> {
    let v: Decimal = get(row, col)?;
    Score::new(field, v).map_err(|_| corrupt(col, v))
}

pub(super) fn price(row: &impl Cols) -> StoreResult<Option<Money>> {
    match (
        get::<Option<Decimal>>(row, "price")?,
        get::<Option<String>>(row, "currency")?,
    ) {
        (Some(amount), Some(c)) => Ok(Some(money(amount, &c)?)),
        (None, None) => Ok(None),
        _ => Err(corrupt("price, currency", "one without the other")),
    }
}

/// The workflow columns an access decision reads ([`GateFacts`]), as a
/// literal for `concat!`.
macro_rules! gate_cols {
    () => {
        "id, status, pricing_tier, price, currency, archived_at, deleted_at IS NOT NULL AS deleted"
    };
}
pub(crate) use gate_cols;

pub(crate) fn gate_from_row(row: &impl Cols) -> StoreResult<GateFacts> {
    decode("workflows", || {
        Ok(GateFacts {
            id: id(row, "id")?,
            status: parse(row, "status")?,
            tier: parse(row, "pricing_tier")?,
            price: price(row)?,
            archived_at: get(row, "archived_at")?,
            deleted: get(row, "deleted")?,
        })
    })
}

/// The rating distribution's columns, one star to five.
const STAR_COLS: [&str; 5] = ["stars_1", "stars_2", "stars_3", "stars_4", "stars_5"];

/// Each dimension's (count, sum) columns, in `Dimension::ALL` order (the
/// order the insert binds them).
const DIM_COLS: [[&str; 2]; 5] = [
    ["dim_complexity_count", "dim_complexity_sum"],
    ["dim_efficiency_count", "dim_efficiency_sum"],
    ["dim_maturity_count", "dim_maturity_sum"],
    ["dim_growth_count", "dim_growth_sum"],
    ["dim_excellence_count", "dim_excellence_sum"],
];

pub(crate) fn workflow_from_row(row: &PgRow) -> StoreResult<Workflow> {
    decode("workflows", || {
        let price = price(row)?;
        let mut stars = [0u64; 5];
        for (s, col) in stars.iter_mut().zip(STAR_COLS) {
            *s = u64_col(row, col)?;
        }
        let mut dims = [DimensionTotals::default(); 5];
        for (d, [count, sum]) in dims.iter_mut().zip(DIM_COLS) {
            d.count = u64_col(row, count)?;
            d.sum = u64_col(row, sum)?;
        }
        let tags = get::<Vec<String>>(row, "tags")?
            .iter()
            .map(|t| Tag::parse(t).map_err(|_| corrupt("tags", t)))
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
                rating: RatingAggregate::from_parts(stars, dims)
                    .map_err(|_| corrupt("stars_1..stars_5, dim_*", "inconsistent counts"))?,
            },
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            published_at: get(row, "published_at")?,
            archived_at: get(row, "archived_at")?,
            deleted_at: get(row, "deleted_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

pub(crate) async fn load_workflow<'e>(
    e: impl PgExecutor<'e>,
    id: WorkflowId,
) -> StoreResult<Option<Workflow>> {
    sqlx::query(concat!(
        "SELECT ",
        workflow_cols!(),
        " FROM ",
        workflows_with_counts!(),
        " WHERE id = $1"
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

pub(super) async fn slug_taken(
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

/// Binds the editable content (placeholders $2..$25 of the workflow
/// writes): 23 columns and the search lexemes.
pub(super) fn bind_content<'q>(q: PgQuery<'q>, w: &Workflow) -> PgQuery<'q> {
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

pub(super) async fn insert_workflow(
    s: &PgStore,
    c: &mut PgConnection,
    w: &Workflow,
) -> StoreResult<()> {
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
             favorite_count, view_count, purchase_count, \
             stars_1, stars_2, stars_3, stars_4, stars_5, \
             dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
             dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, \
             dim_excellence_count, dim_excellence_sum, created_at, updated_at, published_at, \
             archived_at, revision, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, array_to_tsvector($25::text[]), $26, $27, $28, \
             $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, \
             $46, $47, $48, $49, $50)",
        )
        .bind(w.id.as_uuid()),
        w,
    )
    .bind(w.current_version.map(|v| v.to_string()))
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
        .bind(w.deleted_at)
        .execute(&mut *c)
        .await
        .map_err(unique_or_parent(
            Entity::Workflow,
            &w.content.slug,
            Entity::Category,
            w.content.category_id,
        ))?;
    // The insert's trigger gave the workflow its download-count row at 0
    // (migration 0012); a workflow brought in with downloads sets it.
    if w.stats.download_count > 0 {
        sqlx::query(
            "UPDATE workflow_download_counts SET download_count = $2 WHERE workflow_id = $1",
        )
        .bind(w.id.as_uuid())
        .bind(i64_of(w.stats.download_count)?)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    s.step(c, "insert_workflow:after_row").await?;
    move_category_counts(
        c,
        None,
        counted_in(w.status, w.is_deleted(), w.content.category_id),
    )
    .await
}

pub(super) async fn update_workflow(
    s: &PgStore,
    c: &mut PgConnection,
    w: &Workflow,
    expected: u64,
) -> StoreResult<()> {
    let row = sqlx::query(
        "SELECT revision, category_id, status, deleted_at IS NOT NULL AS deleted \
         FROM workflows WHERE id = $1 FOR NO KEY UPDATE",
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
    let old_deleted: bool = get(&row, "deleted")?;
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
             revision = $30, deleted_at = $31 WHERE id = $1",
        )
        .bind(w.id.as_uuid()),
        w,
    )
    .bind(w.created_at)
    .bind(w.updated_at)
    .bind(w.published_at)
    .bind(w.archived_at)
    .bind(i64_of(w.revision)?)
    .bind(w.deleted_at)
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
        counted_in(old_status, old_deleted, old_category),
        counted_in(w.status, w.is_deleted(), w.content.category_id),
    )
    .await
}

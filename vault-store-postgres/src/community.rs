//! Reviews (with the rating aggregate), votes and favorites.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::workflow::Tag;
use vault_core::community::favorite::Favorite;
use vault_core::community::rating::{
    Dimension, DimensionRatings, DimensionTotals, Rating, RatingAggregate, RatingDelta,
};
use vault_core::community::review::{ModerationStatus, Review, ReviewInput, Vote};
use vault_core::community::review_query::{ReviewCursor, ReviewOrder, ReviewQuery};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{CommunityStore, Entity, StoreError, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{ReviewId, WorkflowId};
use vault_core::value::keyset::Page;

use crate::catalog::require_workflow;
use crate::codec::*;
use crate::insight::daily::apply_deltas;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

macro_rules! review_cols {
    () => {
        "id, workflow_id, user_id, rating, rating_complexity, rating_efficiency, rating_maturity, \
         rating_growth, rating_excellence, title, body, is_verified_purchase, helpful_count, \
         not_helpful_count, status, moderated_by, moderated_at, moderation_note, created_at, \
         updated_at, revision, approved_at"
    };
}

const DIM_COLS: [&str; 5] = [
    "rating_complexity",
    "rating_efficiency",
    "rating_maturity",
    "rating_growth",
    "rating_excellence",
];

fn stars(row: &PgRow, col: &'static str) -> StoreResult<Option<Rating>> {
    let v: Option<i16> = get(row, col)?;
    v.map(|v| {
        u8::try_from(v)
            .ok()
            .and_then(|v| Rating::new_field(col, v).ok())
            .ok_or_else(|| corrupt(col, v))
    })
    .transpose()
}

fn review_from_row(row: &PgRow) -> StoreResult<Review> {
    decode("workflow_reviews", || {
        let mut dims = DimensionRatings::default();
        for (i, d) in Dimension::ALL.iter().enumerate() {
            dims.set(*d, stars(row, DIM_COLS[i])?);
        }
        Ok(Review {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            user_id: parse_with(row, "user_id", UserId::parse)?,
            input: ReviewInput {
                rating: stars(row, "rating")?.ok_or_else(|| corrupt("rating", "NULL"))?,
                dimensions: dims,
                title: get(row, "title")?,
                body: get(row, "body")?,
            },
            verified_purchase: get(row, "is_verified_purchase")?,
            helpful_count: u64_col(row, "helpful_count")?,
            not_helpful_count: u64_col(row, "not_helpful_count")?,
            status: parse(row, "status")?,
            moderated_by: parse_opt_with(row, "moderated_by", UserId::parse)?,
            moderated_at: get(row, "moderated_at")?,
            moderation_note: get(row, "moderation_note")?,
            approved_at: get(row, "approved_at")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// Adds a rating delta to the workflow's aggregate columns. The row is
/// locked and read first, and vault-core checks the result is a valid
/// aggregate (a delta computed against a state the aggregate never had
/// would drive a count negative): `Conflict` then, and nothing is written.
async fn apply_rating(
    c: &mut PgConnection,
    workflow: WorkflowId,
    delta: &RatingDelta,
) -> StoreResult<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let row = sqlx::query(
        "SELECT stars_1, stars_2, stars_3, stars_4, stars_5, \
         dim_complexity_count, dim_complexity_sum, dim_efficiency_count, dim_efficiency_sum, \
         dim_maturity_count, dim_maturity_sum, dim_growth_count, dim_growth_sum, \
         dim_excellence_count, dim_excellence_sum FROM workflows WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(workflow.as_uuid())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?
    .ok_or_else(|| StoreError::not_found(Entity::Workflow, workflow))?;
    let mut stars = [0u64; 5];
    for (i, s) in stars.iter_mut().enumerate() {
        *s = u64_col(&row, &format!("stars_{}", i + 1))?;
    }
    let names = [
        "complexity",
        "efficiency",
        "maturity",
        "growth",
        "excellence",
    ];
    let mut dims = [DimensionTotals::default(); 5];
    for (i, d) in dims.iter_mut().enumerate() {
        d.count = u64_col(&row, &format!("dim_{}_count", names[i]))?;
        d.sum = u64_col(&row, &format!("dim_{}_sum", names[i]))?;
    }
    let current = RatingAggregate::from_parts(stars, dims).map_err(|_| {
        corrupt("stars_1..stars_5, dim_*", "inconsistent counts").in_table("workflows")
    })?;
    current.apply(delta).map_err(|_| {
        StoreError::conflict(
            Entity::Workflow,
            workflow,
            "rating delta does not match the aggregate",
        )
    })?;
    let mut q = sqlx::query(
        "UPDATE workflows SET stars_1 = stars_1 + $2, stars_2 = stars_2 + $3, \
         stars_3 = stars_3 + $4, stars_4 = stars_4 + $5, stars_5 = stars_5 + $6, \
         dim_complexity_count = dim_complexity_count + $7, dim_complexity_sum = dim_complexity_sum + $8, \
         dim_efficiency_count = dim_efficiency_count + $9, dim_efficiency_sum = dim_efficiency_sum + $10, \
         dim_maturity_count = dim_maturity_count + $11, dim_maturity_sum = dim_maturity_sum + $12, \
         dim_growth_count = dim_growth_count + $13, dim_growth_sum = dim_growth_sum + $14, \
         dim_excellence_count = dim_excellence_count + $15, dim_excellence_sum = dim_excellence_sum + $16 \
         WHERE id = $1",
    )
    .bind(workflow.as_uuid());
    for s in delta.stars {
        q = q.bind(s);
    }
    for (count, sum) in delta.dimensions {
        q = q.bind(count).bind(sum);
    }
    q.execute(&mut *c).await.map_err(db)?;
    Ok(())
}

/// Binds $1..$22 of the review writes.
fn bind_review<'q>(
    q: crate::catalog::PgQuery<'q>,
    r: &Review,
) -> StoreResult<crate::catalog::PgQuery<'q>> {
    let mut q = q
        .bind(r.id.as_uuid())
        .bind(r.workflow_id.as_uuid())
        .bind(r.user_id.as_str().to_owned())
        .bind(i16::from(r.input.rating.stars()));
    for d in Dimension::ALL {
        q = q.bind(r.input.dimensions.get(d).map(|s| i16::from(s.stars())));
    }
    Ok(q.bind(r.input.title.clone())
        .bind(r.input.body.clone())
        .bind(r.verified_purchase)
        .bind(i64_of(r.helpful_count)?)
        .bind(i64_of(r.not_helpful_count)?)
        .bind(r.status.as_str())
        .bind(r.moderated_by.as_ref().map(|u| u.as_str().to_owned()))
        .bind(r.moderated_at)
        .bind(r.moderation_note.clone())
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(i64_of(r.revision)?)
        .bind(r.approved_at))
}

// A review's first approval, in a table the review's deletion leaves: the
// day's `reviews` figure is counted again from it. The first write wins.
async fn keep_first_approval(
    c: &mut PgConnection,
    id: ReviewId,
    workflow: WorkflowId,
    approved_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let Some(at) = approved_at else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO workflow_review_approvals (review_id, workflow_id, approved_at) \
         VALUES ($1, $2, $3) ON CONFLICT (review_id) DO NOTHING",
    )
    .bind(id.as_uuid())
    .bind(workflow.as_uuid())
    .bind(at)
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(())
}

/// Locks a review and returns its revision and workflow.
async fn lock_review(c: &mut PgConnection, id: ReviewId) -> StoreResult<(i64, WorkflowId)> {
    let row: Option<(i64, Uuid)> = sqlx::query_as(
        "SELECT revision, workflow_id FROM workflow_reviews WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    row.map(|(rev, w)| (rev, WorkflowId::from_uuid(w)))
        .ok_or_else(|| StoreError::not_found(Entity::Review, id))
}

async fn insert_review(
    s: &PgStore,
    c: &mut PgConnection,
    r: &Review,
    delta: &RatingDelta,
    analytics: Option<&AnalyticsDelta>,
) -> StoreResult<()> {
    require_workflow(c, r.workflow_id).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_reviews WHERE id = $1")
        .bind(r.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Review, r.id));
    }
    let key = format!("{} by {}", r.workflow_id, r.user_id);
    let mine: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM workflow_reviews WHERE workflow_id = $1 AND user_id = $2",
    )
    .bind(r.workflow_id.as_uuid())
    .bind(r.user_id.as_str())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    if mine.is_some() {
        return Err(StoreError::exists(Entity::Review, key));
    }
    bind_review(
        sqlx::query(concat!(
            "INSERT INTO workflow_reviews (",
            review_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22)"
        )),
        r,
    )?
    .execute(&mut *c)
    .await
    // The same user reviewing twice at once: the second insert waits for
    // the first and then hits the unique key.
    .map_err(unique_or_parent(
        Entity::Review,
        key,
        Entity::Workflow,
        r.workflow_id,
    ))?;
    keep_first_approval(c, r.id, r.workflow_id, r.approved_at).await?;
    s.step(c, "insert_review:after_row").await?;
    apply_rating(c, r.workflow_id, delta).await?;
    apply_deltas(c, analytics.map(std::slice::from_ref).unwrap_or_default()).await
}

async fn update_review(
    s: &PgStore,
    c: &mut PgConnection,
    r: &Review,
    expected: u64,
    delta: &RatingDelta,
    analytics: Option<&AnalyticsDelta>,
) -> StoreResult<()> {
    let (revision, workflow) = lock_review(c, r.id).await?;
    if revision != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Review,
            r.id,
            "the review changed since it was read",
        ));
    }
    // A review never moves between workflows or authors ($2, $3 unused);
    // votes are maintained by set_vote ($13, $14 unused).
    bind_review(
        sqlx::query(
            "UPDATE workflow_reviews SET rating = $4, rating_complexity = $5, \
             rating_efficiency = $6, rating_maturity = $7, rating_growth = $8, \
             rating_excellence = $9, title = $10, body = $11, is_verified_purchase = $12, \
             status = $15, moderated_by = $16, moderated_at = $17, moderation_note = $18, \
             created_at = $19, updated_at = $20, revision = $21, approved_at = $22 \
             WHERE id = $1 AND $2::uuid IS NOT NULL AND $3::text IS NOT NULL \
             AND $13::bigint IS NOT NULL AND $14::bigint IS NOT NULL",
        ),
        r,
    )?
    .execute(&mut *c)
    .await
    .map_err(db)?;
    keep_first_approval(c, r.id, workflow, r.approved_at).await?;
    s.step(c, "update_review:after_row").await?;
    apply_rating(c, workflow, delta).await?;
    apply_deltas(c, analytics.map(std::slice::from_ref).unwrap_or_default()).await
}

async fn delete_review(
    c: &mut PgConnection,
    id: ReviewId,
    expected: u64,
    delta: &RatingDelta,
) -> StoreResult<()> {
    let (revision, workflow) = lock_review(c, id).await?;
    if revision != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Review,
            id,
            "the review changed since it was read",
        ));
    }
    // Votes go with it (ON DELETE CASCADE).
    sqlx::query("DELETE FROM workflow_reviews WHERE id = $1")
        .bind(id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    apply_rating(c, workflow, delta).await
}

async fn set_vote(
    c: &mut PgConnection,
    review: ReviewId,
    user: &UserId,
    vote: Option<Vote>,
) -> StoreResult<Option<Vote>> {
    // The review's lock serializes its votes, so the counts stay exact.
    lock_review(c, review).await?;
    let previous: Option<String> = sqlx::query_scalar(
        "SELECT vote FROM workflow_review_votes WHERE review_id = $1 AND user_id = $2",
    )
    .bind(review.as_uuid())
    .bind(user.as_str())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    let previous: Option<Vote> = previous
        .map(|v| decode("workflow_review_votes", || parse_text("vote", &v)))
        .transpose()?;
    if previous == vote {
        return Ok(previous);
    }
    if let Some(p) = previous {
        let sql = match p {
            Vote::Helpful => {
                "UPDATE workflow_reviews SET helpful_count = GREATEST(helpful_count - 1, 0) WHERE id = $1"
            }
            Vote::NotHelpful => {
                "UPDATE workflow_reviews SET not_helpful_count = GREATEST(not_helpful_count - 1, 0) WHERE id = $1"
            }
        };
        sqlx::query(sql)
            .bind(review.as_uuid())
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    match vote {
        Some(v) => {
            sqlx::query(
                "INSERT INTO workflow_review_votes (review_id, user_id, vote) VALUES ($1, $2, $3) \
                 ON CONFLICT (review_id, user_id) DO UPDATE SET vote = EXCLUDED.vote",
            )
            .bind(review.as_uuid())
            .bind(user.as_str())
            .bind(v.as_str())
            .execute(&mut *c)
            .await
            .map_err(db)?;
            let sql = match v {
                Vote::Helpful => {
                    "UPDATE workflow_reviews SET helpful_count = helpful_count + 1 WHERE id = $1"
                }
                Vote::NotHelpful => {
                    "UPDATE workflow_reviews SET not_helpful_count = not_helpful_count + 1 WHERE id = $1"
                }
            };
            sqlx::query(sql)
                .bind(review.as_uuid())
                .execute(&mut *c)
                .await
                .map_err(db)?;
        }
        None => {
            sqlx::query("DELETE FROM workflow_review_votes WHERE review_id = $1 AND user_id = $2")
                .bind(review.as_uuid())
                .bind(user.as_str())
                .execute(&mut *c)
                .await
                .map_err(db)?;
        }
    }
    Ok(previous)
}

macro_rules! favorite_cols {
    () => {
        "user_id, workflow_id, note, tags, created_at"
    };
}

fn favorite_from_row(row: &PgRow) -> StoreResult<Favorite> {
    decode("workflow_favorites", || {
        Ok(Favorite {
            user_id: parse_with(row, "user_id", UserId::parse)?,
            workflow_id: id(row, "workflow_id")?,
            note: get(row, "note")?,
            tags: get::<Vec<String>>(row, "tags")?
                .iter()
                .map(|t| Tag::parse(t).map_err(|_| corrupt("tags", t)))
                .collect::<StoreResult<_>>()?,
            created_at: get(row, "created_at")?,
        })
    })
}

async fn insert_favorite(
    s: &PgStore,
    c: &mut PgConnection,
    f: &Favorite,
    analytics: &AnalyticsDelta,
) -> StoreResult<()> {
    require_workflow(c, f.workflow_id).await?;
    let key = format!("{} by {}", f.workflow_id, f.user_id);
    let tags: Vec<&str> = f.tags.iter().map(Tag::as_str).collect();
    // ON CONFLICT DO NOTHING: a concurrent duplicate waits for the first
    // and then inserts nothing, which is the AlreadyExists answer.
    let inserted = sqlx::query(concat!(
        "INSERT INTO workflow_favorites (",
        favorite_cols!(),
        ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    ))
    .bind(f.user_id.as_str())
    .bind(f.workflow_id.as_uuid())
    .bind(f.note.clone())
    .bind(tags)
    .bind(f.created_at)
    .execute(&mut *c)
    .await
    .map_err(unique_or_parent(
        Entity::Favorite,
        &key,
        Entity::Workflow,
        f.workflow_id,
    ))?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::exists(Entity::Favorite, key));
    }
    // The add outlives the bookmark: the day's figure is counted again
    // from these.
    sqlx::query("INSERT INTO workflow_favorite_adds (workflow_id, added_at) VALUES ($1, $2)")
        .bind(f.workflow_id.as_uuid())
        .bind(f.created_at)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    sqlx::query("UPDATE workflows SET favorite_count = favorite_count + 1 WHERE id = $1")
        .bind(f.workflow_id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    s.step(c, "insert_favorite:after_counter").await?;
    apply_deltas(c, std::slice::from_ref(analytics)).await
}

async fn delete_favorite(
    c: &mut PgConnection,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<bool> {
    let n = sqlx::query("DELETE FROM workflow_favorites WHERE user_id = $1 AND workflow_id = $2")
        .bind(user.as_str())
        .bind(workflow.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE workflows SET favorite_count = GREATEST(favorite_count - 1, 0) WHERE id = $1",
    )
    .bind(workflow.as_uuid())
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(true)
}

/// The page statement of a review listing: only the filters the query
/// sets, so the planner picks the index of the one it has, then a range
/// from the cursor in the order's direction, one row past the page.
fn review_page(q: &ReviewQuery) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(concat!(
        "SELECT ",
        review_cols!(),
        " FROM workflow_reviews WHERE TRUE"
    ));
    if let Some(user) = &q.user {
        qb.push(" AND user_id = ").push_bind(user.to_string());
    }
    if let Some(status) = q.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    let (beyond, dir) = match q.order {
        ReviewOrder::OldestFirst => (">", "ASC"),
        ReviewOrder::NewestFirst => ("<", "DESC"),
    };
    if let Some(cur) = q.cursor {
        qb.push(format!(" AND (created_at, id) {beyond} ("))
            .push_bind(cur.at())
            .push(", ")
            .push_bind(cur.id().as_uuid())
            .push(")");
    }
    qb.push(format!(" ORDER BY created_at {dir}, id {dir} LIMIT "))
        .push_bind(i64::from(q.limit) + 1);
    qb
}

#[async_trait]
impl CommunityStore for PgStore {
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        write_tx!(self, |c| insert_review(self, c, review, delta, analytics))
    }

    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            update_review(self, &mut *c, review, expected_revision, delta, analytics).await?;
            crate::audit::append_opt(self, c, audit).await
        })
    }

    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        write_tx!(self, |c| delete_review(c, id, expected_revision, delta))
    }

    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            review_cols!(),
            " FROM workflow_reviews WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(review_from_row)
        .transpose()
    }

    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            review_cols!(),
            " FROM workflow_reviews WHERE workflow_id = $1 AND user_id = $2"
        ))
        .bind(workflow.as_uuid())
        .bind(user.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(review_from_row)
        .transpose()
    }

    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>> {
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            review_cols!(),
            " FROM workflow_reviews WHERE workflow_id = $1 \
             AND (cardinality($2::text[]) = 0 OR status = ANY($2)) ORDER BY id"
        ))
        .bind(workflow.as_uuid())
        .bind(statuses)
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(review_from_row)
        .collect()
    }

    async fn list_reviews(&self, query: &ReviewQuery) -> StoreResult<Page<Review, ReviewCursor>> {
        query.validate()?;
        let mut qb = review_page(query);
        let rows = on_conn!(self, |c| qb.build().fetch_all(c)).map_err(db)?;
        let mut items = rows
            .iter()
            .map(review_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // One row past the page says whether there is a next one.
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let next = if more {
            items.last().map(|r| ReviewCursor::after(r, query.order))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        write_tx!(self, |c| set_vote(c, review, user, vote))
    }

    async fn insert_favorite(
        &self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        write_tx!(self, |c| insert_favorite(self, c, favorite, analytics))
    }

    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        write_tx!(self, |c| delete_favorite(c, user, workflow))
    }

    async fn update_favorite(&self, f: &Favorite) -> StoreResult<()> {
        let tags: Vec<&str> = f.tags.iter().map(Tag::as_str).collect();
        let n = on_conn!(self, |c| sqlx::query(
            "UPDATE workflow_favorites SET note = $3, tags = $4 \
             WHERE user_id = $1 AND workflow_id = $2"
        )
        .bind(f.user_id.as_str())
        .bind(f.workflow_id.as_uuid())
        .bind(f.note.as_deref())
        .bind(&tags)
        .execute(c))
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::not_found(
                Entity::Favorite,
                format!("{}/{}", f.user_id, f.workflow_id),
            ));
        }
        Ok(())
    }

    async fn favorites_for_user(
        &self,
        user: &UserId,
        tag: Option<&Tag>,
    ) -> StoreResult<Vec<Favorite>> {
        // `tags @> ARRAY[$2]` is what the GIN index on tags serves.
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            favorite_cols!(),
            " FROM workflow_favorites WHERE user_id = $1 \
              AND ($2::text IS NULL OR tags @> ARRAY[$2::text]) \
              ORDER BY created_at DESC, workflow_id"
        ))
        .bind(user.as_str())
        .bind(tag.map(Tag::as_str))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(favorite_from_row)
        .collect()
    }
}

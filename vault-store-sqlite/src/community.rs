//! Reviews (with the rating aggregate), votes and favorites.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use vault_core::audit::entry::AuditEntry;
use vault_core::community::favorite::Favorite;
use vault_core::community::rating::{Dimension, DimensionRatings, Rating, RatingDelta};
use vault_core::community::review::{ModerationStatus, Review, ReviewInput, Vote};
use vault_core::community::review_query::{ReviewCursor, ReviewOrder, ReviewQuery};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{CommunityStore, Entity, StoreError, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{ReviewId, WorkflowId};
use vault_core::value::keyset::Page;
use vault_core::value::tag::Tag;

use crate::catalog::{load_workflow, require_workflow};
use crate::codec::*;
use crate::insight::daily::apply_delta;
use crate::sql::{Id, exists, query_all, query_one};
use crate::{SqliteStore, Tx};

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! review_cols {
    () => {
        "id, workflow_id, user_id, rating, rating_complexity, rating_efficiency, \
    rating_maturity, rating_growth, rating_excellence, title, body, is_verified_purchase, \
    helpful_count, not_helpful_count, status, moderated_by, moderated_at, moderation_note, \
    created_at, updated_at, revision, approved_at"
    };
}
const REVIEW_COLS: &str = review_cols!();

const DIM_COLS: [&str; 5] = [
    "rating_complexity",
    "rating_efficiency",
    "rating_maturity",
    "rating_growth",
    "rating_excellence",
];

fn stars(row: &Row<'_>, col: &'static str) -> StoreResult<Option<Rating>> {
    let v: Option<i64> = get(row, col)?;
    v.map(|v| {
        u8::try_from(v)
            .ok()
            .and_then(|v| Rating::new_field(col, v).ok())
            .ok_or_else(|| corrupt(col, v))
    })
    .transpose()
}

fn review_from_row(row: &Row<'_>) -> StoreResult<Review> {
    decode("workflow_reviews", || {
        let mut dims = DimensionRatings::default();
        for (i, d) in Dimension::ALL.iter().enumerate() {
            dims.set(*d, stars(row, DIM_COLS[i])?);
        }
        Ok(Review {
            id: parse(row, "id")?,
            workflow_id: parse(row, "workflow_id")?,
            user_id: parse_with(row, "user_id", UserId::parse)?,
            input: ReviewInput {
                rating: stars(row, "rating")?.ok_or_else(|| corrupt("rating", "NULL"))?,
                dimensions: dims,
                title: get(row, "title")?,
                body: get(row, "body")?,
            },
            verified_purchase: bool_col(row, "is_verified_purchase")?,
            helpful_count: u64_col(row, "helpful_count")?,
            not_helpful_count: u64_col(row, "not_helpful_count")?,
            status: parse(row, "status")?,
            moderated_by: parse_opt_with(row, "moderated_by", UserId::parse)?,
            moderated_at: opt_time(row, "moderated_at")?,
            moderation_note: get(row, "moderation_note")?,
            approved_at: opt_time(row, "approved_at")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// Adds a rating delta to the workflow's aggregate columns, after checking
/// with vault-core that the result is a valid aggregate (a delta computed
/// against a state the aggregate never had would drive a count negative).
fn apply_rating(tx: &Tx<'_>, workflow: WorkflowId, delta: &RatingDelta) -> StoreResult<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let w = load_workflow(tx, workflow)?
        .ok_or_else(|| StoreError::not_found(Entity::Workflow, workflow))?;
    w.stats.rating.apply(delta).map_err(|_| {
        StoreError::conflict(
            Entity::Workflow,
            workflow,
            "rating delta does not match the aggregate",
        )
    })?;
    let cols = [
        "complexity",
        "efficiency",
        "maturity",
        "growth",
        "excellence",
    ];
    let mut sets: Vec<String> = Vec::new();
    let mut vals: Vec<Value> = Vec::new();
    for (i, d) in delta.stars.iter().enumerate() {
        vals.push(Value::Integer(*d));
        sets.push(format!(
            "stars_{} = stars_{} + ?{}",
            i + 1,
            i + 1,
            vals.len()
        ));
    }
    for (i, (count, sum)) in delta.dimensions.iter().enumerate() {
        vals.push(Value::Integer(*count));
        sets.push(format!(
            "dim_{0}_count = dim_{0}_count + ?{1}",
            cols[i],
            vals.len()
        ));
        vals.push(Value::Integer(*sum));
        sets.push(format!(
            "dim_{0}_sum = dim_{0}_sum + ?{1}",
            cols[i],
            vals.len()
        ));
    }
    vals.push(Value::Text(workflow.to_string()));
    tx.prepare_cached(&format!(
        "UPDATE workflows SET {} WHERE id = ?{}",
        sets.join(", "),
        vals.len()
    ))
    .map_err(db)?
    .execute(params_from_iter(vals))
    .map_err(db)?;
    Ok(())
}

fn review_values(r: &Review) -> StoreResult<Vec<Value>> {
    let text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    let mut v = vec![
        Value::Text(r.id.to_string()),
        Value::Text(r.workflow_id.to_string()),
        Value::Text(r.user_id.to_string()),
        Value::Integer(i64::from(r.input.rating.stars())),
    ];
    for d in Dimension::ALL {
        v.push(
            r.input
                .dimensions
                .get(d)
                .map_or(Value::Null, |s| Value::Integer(i64::from(s.stars()))),
        );
    }
    v.extend([
        Value::Text(r.input.title.clone()),
        Value::Text(r.input.body.clone()),
        Value::Integer(i64::from(r.verified_purchase)),
        Value::Integer(i64_of(r.helpful_count)?),
        Value::Integer(i64_of(r.not_helpful_count)?),
        Value::Text(r.status.as_str().into()),
        text(r.moderated_by.as_ref().map(|u| u.to_string())),
        text(opt_ts(&r.moderated_at)),
        text(r.moderation_note.clone()),
        Value::Text(ts(&r.created_at)),
        Value::Text(ts(&r.updated_at)),
        Value::Integer(i64_of(r.revision)?),
        text(opt_ts(&r.approved_at)),
    ]);
    Ok(v)
}

// A review's first approval, in a table the review's deletion leaves: the
// day's `reviews` figure is counted again from it. The first write wins.
fn keep_first_approval(
    tx: &Tx<'_>,
    id: ReviewId,
    workflow: WorkflowId,
    approved_at: Option<&DateTime<Utc>>,
) -> StoreResult<()> {
    let Some(at) = approved_at else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT OR IGNORE INTO workflow_review_approvals (review_id, workflow_id, approved_at) \
         VALUES (?1, ?2, ?3)",
    )
    .map_err(db)?
    .execute(params![Id(&id), Id(&workflow), ts(at)])
    .map_err(db)?;
    Ok(())
}

fn review_revision(tx: &Tx<'_>, id: ReviewId) -> StoreResult<(i64, String)> {
    tx.prepare_cached("SELECT revision, workflow_id FROM workflow_reviews WHERE id = ?1")
        .map_err(db)?
        .query_row([Id(&id)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?
        .ok_or_else(|| StoreError::not_found(Entity::Review, id))
}

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! favorite_cols {
    () => {
        "user_id, workflow_id, note, tags, created_at"
    };
}
const FAVORITE_COLS: &str = favorite_cols!();

fn favorite_from_row(row: &Row<'_>) -> StoreResult<Favorite> {
    decode("workflow_favorites", || {
        Ok(Favorite {
            user_id: parse_with(row, "user_id", UserId::parse)?,
            workflow_id: parse(row, "workflow_id")?,
            note: get(row, "note")?,
            tags: json_col(row, "tags")?,
            created_at: time(row, "created_at")?,
        })
    })
}

/// The page statement of a review listing: only the filters the query
/// sets, so the planner picks the index of the one it has (`?1` user, `?2`
/// status), then a range from the cursor (`?3`, `?4`) in the order's
/// direction, one row past the page (`?5`). Every parameter is bound
/// every time; SQLite counts them by the highest number, `?5`.
fn review_page_sql(q: &ReviewQuery) -> String {
    let mut sql = format!("SELECT {REVIEW_COLS} FROM workflow_reviews WHERE 1 = 1");
    if q.user.is_some() {
        sql.push_str(" AND user_id = ?1");
    }
    match (&q.user, q.status) {
        // A user has one review per workflow: their index is the short
        // read, and the unary `+` keeps the planner off the status index,
        // which it would otherwise pick without statistics.
        (Some(_), Some(_)) => sql.push_str(" AND +status = ?2"),
        (None, Some(_)) => sql.push_str(" AND status = ?2"),
        (_, None) => {}
    }
    let (beyond, dir) = match q.order {
        ReviewOrder::OldestFirst => (">", "ASC"),
        ReviewOrder::NewestFirst => ("<", "DESC"),
    };
    if q.cursor.is_some() {
        sql.push_str(&format!(" AND (created_at, id) {beyond} (?3, ?4)"));
    }
    sql.push_str(&format!(" ORDER BY created_at {dir}, id {dir} LIMIT ?5"));
    sql
}

#[async_trait]
impl CommunityStore for SqliteStore {
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        let (r, d, a) = (review.clone(), *delta, analytics.cloned());
        self.write(move |tx| {
            require_workflow(tx, r.workflow_id)?;
            if exists(
                tx,
                "SELECT 1 FROM workflow_reviews WHERE id = ?1",
                [Id(&r.id)],
            )? {
                return Err(StoreError::exists(Entity::Review, r.id));
            }
            if exists(
                tx,
                "SELECT 1 FROM workflow_reviews WHERE workflow_id = ?1 AND user_id = ?2",
                params![Id(&r.workflow_id), Id(&r.user_id)],
            )? {
                return Err(StoreError::exists(
                    Entity::Review,
                    format!("{} by {}", r.workflow_id, r.user_id),
                ));
            }
            let marks: Vec<String> = (1..=22).map(|i| format!("?{i}")).collect();
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_reviews ({REVIEW_COLS}) VALUES ({})",
                marks.join(", ")
            ))
            .map_err(db)?
            .execute(params_from_iter(review_values(&r)?))
            .map_err(db)?;
            keep_first_approval(tx, r.id, r.workflow_id, r.approved_at.as_ref())?;
            tx.step("insert_review:after_row")?;
            apply_rating(tx, r.workflow_id, &d)?;
            tx.step("insert_review:after_rating")?;
            if let Some(a) = &a {
                apply_delta(tx, a)?;
            }
            Ok(())
        })
        .await
    }

    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let (r, d, a) = (review.clone(), *delta, analytics.cloned());
        let audit = audit.cloned();
        self.write(move |tx| {
            let (revision, workflow) = review_revision(tx, r.id)?;
            if revision != i64_of(expected_revision)? {
                return Err(StoreError::conflict(Entity::Review, r.id, "the review changed since it was read"));
            }
            // A review never moves between workflows or authors; votes are
            // maintained by set_vote.
            tx.prepare_cached(
                "UPDATE workflow_reviews SET rating = ?4, rating_complexity = ?5, rating_efficiency = ?6, \
                 rating_maturity = ?7, rating_growth = ?8, rating_excellence = ?9, title = ?10, body = ?11, \
                 is_verified_purchase = ?12, status = ?15, moderated_by = ?16, moderated_at = ?17, \
                 moderation_note = ?18, created_at = ?19, updated_at = ?20, revision = ?21, approved_at = ?22 \
                 WHERE id = ?1 AND ?2 IS NOT NULL AND ?3 IS NOT NULL AND ?13 IS NOT NULL AND ?14 IS NOT NULL",
            )
            .map_err(db)?
            .execute(params_from_iter(review_values(&r)?))
            .map_err(db)?;
            let workflow: WorkflowId = decode("workflow_reviews", || parse_text("workflow_id", &workflow))?;
            keep_first_approval(tx, r.id, workflow, r.approved_at.as_ref())?;
            tx.step("update_review:after_row")?;
            apply_rating(tx, workflow, &d)?;
            tx.step("update_review:after_rating")?;
            if let Some(a) = &a {
                apply_delta(tx, a)?;
            }
            crate::account::append_opt(tx, audit.as_ref())
        })
        .await
    }

    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        let d = *delta;
        self.write(move |tx| {
            let (revision, workflow) = review_revision(tx, id)?;
            if revision != i64_of(expected_revision)? {
                return Err(StoreError::conflict(
                    Entity::Review,
                    id,
                    "the review changed since it was read",
                ));
            }
            tx.prepare_cached("DELETE FROM workflow_review_votes WHERE review_id = ?1")
                .map_err(db)?
                .execute([Id(&id)])
                .map_err(db)?;
            tx.step("delete_review:after_votes")?;
            tx.prepare_cached("DELETE FROM workflow_reviews WHERE id = ?1")
                .map_err(db)?
                .execute([Id(&id)])
                .map_err(db)?;
            tx.step("delete_review:after_row")?;
            let workflow: WorkflowId =
                decode("workflow_reviews", || parse_text("workflow_id", &workflow))?;
            apply_rating(tx, workflow, &d)
        })
        .await
    }

    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    review_cols!(),
                    " FROM workflow_reviews WHERE id = ?1"
                ),
                [Id(&id)],
                review_from_row,
            )
        })
        .await
    }

    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>> {
        let u = user.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    review_cols!(),
                    " FROM workflow_reviews WHERE workflow_id = ?1 AND user_id = ?2"
                ),
                params![Id(&workflow), u],
                review_from_row,
            )
        })
        .await
    }

    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>> {
        let mut vals: Vec<Value> = vec![Value::Text(workflow.to_string())];
        vals.extend(statuses.iter().map(|s| Value::Text(s.as_str().into())));
        let filter = if statuses.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (2..=statuses.len() + 1).map(|i| format!("?{i}")).collect();
            format!(" AND status IN ({})", marks.join(", "))
        };
        self.read(move |c| {
            query_all(
                c,
                &format!("SELECT {REVIEW_COLS} FROM workflow_reviews WHERE workflow_id = ?1{filter} ORDER BY id"),
                params_from_iter(vals),
                review_from_row,
            )
        })
        .await
    }

    async fn list_reviews(&self, query: &ReviewQuery) -> StoreResult<Page<Review, ReviewCursor>> {
        query.validate()?;
        let sql = review_page_sql(query);
        let user = query.user.as_ref().map(|u| u.to_string());
        let status = query.status.map(|s| s.as_str());
        let at = query.cursor.map(|c| ts(&c.at()));
        let after = query.cursor.map(|c| c.id().to_string());
        let limit = i64::from(query.limit) + 1;
        let mut items = self
            .read(move |c| {
                query_all(
                    c,
                    &sql,
                    params![user, status, at, after, limit],
                    review_from_row,
                )
            })
            .await?;
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
        let u = user.to_string();
        self.write(move |tx| {
            review_revision(tx, review)?;
            let previous: Option<String> = tx
                .prepare_cached("SELECT vote FROM workflow_review_votes WHERE review_id = ?1 AND user_id = ?2")
                .map_err(db)?
                .query_row(params![Id(&review), u], |r| r.get(0))
                .optional()
                .map_err(db)?;
            let previous: Option<Vote> = previous
                .map(|v| decode("workflow_review_votes", || parse_text("vote", &v)))
                .transpose()?;
            if previous == vote {
                return Ok(previous);
            }
            let column = |v: Vote| match v {
                Vote::Helpful => "helpful_count",
                Vote::NotHelpful => "not_helpful_count",
            };
            if let Some(p) = previous {
                tx.prepare_cached(&format!("UPDATE workflow_reviews SET {0} = MAX({0} - 1, 0) WHERE id = ?1", column(p)))
                    .map_err(db)?
                    .execute([Id(&review)])
                    .map_err(db)?;
                tx.step("set_vote:after_withdraw")?;
            }
            match vote {
                Some(v) => {
                    tx.prepare_cached("INSERT OR REPLACE INTO workflow_review_votes (review_id, user_id, vote) VALUES (?1, ?2, ?3)")
                        .map_err(db)?
                        .execute(params![Id(&review), u, v.as_str()])
                        .map_err(db)?;
                    tx.step("set_vote:after_row")?;
                    tx.prepare_cached(&format!("UPDATE workflow_reviews SET {0} = {0} + 1 WHERE id = ?1", column(v)))
                        .map_err(db)?
                        .execute([Id(&review)])
                        .map_err(db)?;
                }
                None => {
                    tx.prepare_cached("DELETE FROM workflow_review_votes WHERE review_id = ?1 AND user_id = ?2")
                        .map_err(db)?
                        .execute(params![Id(&review), u])
                        .map_err(db)?;
                    tx.step("set_vote:after_row")?;
                }
            }
            Ok(previous)
        })
        .await
    }

    async fn insert_favorite(&self, f: &Favorite, analytics: &AnalyticsDelta) -> StoreResult<()> {
        let (f, a) = (f.clone(), analytics.clone());
        self.write(move |tx| {
            require_workflow(tx, f.workflow_id)?;
            if exists(
                tx,
                "SELECT 1 FROM workflow_favorites WHERE user_id = ?1 AND workflow_id = ?2",
                params![Id(&f.user_id), Id(&f.workflow_id)],
            )? {
                return Err(StoreError::exists(
                    Entity::Favorite,
                    format!("{} by {}", f.workflow_id, f.user_id),
                ));
            }
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_favorites ({FAVORITE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))
            .map_err(db)?
            .execute(params![
                Id(&f.user_id),
                Id(&f.workflow_id),
                f.note,
                json(&f.tags)?,
                ts(&f.created_at)
            ])
            .map_err(db)?;
            // The add outlives the bookmark: the day's figure is counted
            // again from these.
            tx.prepare_cached(
                "INSERT INTO workflow_favorite_adds (workflow_id, added_at) VALUES (?1, ?2)",
            )
            .map_err(db)?
            .execute(params![Id(&f.workflow_id), ts(&f.created_at)])
            .map_err(db)?;
            tx.step("insert_favorite:after_row")?;
            tx.prepare_cached(
                "UPDATE workflows SET favorite_count = favorite_count + 1 WHERE id = ?1",
            )
            .map_err(db)?
            .execute([Id(&f.workflow_id)])
            .map_err(db)?;
            tx.step("insert_favorite:after_counter")?;
            apply_delta(tx, &a)
        })
        .await
    }

    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        let u = user.to_string();
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "DELETE FROM workflow_favorites WHERE user_id = ?1 AND workflow_id = ?2",
                )
                .map_err(db)?
                .execute(params![u, Id(&workflow)])
                .map_err(db)?;
            if n == 0 {
                return Ok(false);
            }
            tx.step("delete_favorite:after_row")?;
            tx.prepare_cached(
                "UPDATE workflows SET favorite_count = MAX(favorite_count - 1, 0) WHERE id = ?1",
            )
            .map_err(db)?
            .execute([Id(&workflow)])
            .map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn update_favorite(&self, f: &Favorite) -> StoreResult<()> {
        let f = f.clone();
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE workflow_favorites SET note = ?3, tags = ?4 \
                     WHERE user_id = ?1 AND workflow_id = ?2",
                )
                .map_err(db)?
                .execute(params![
                    f.user_id.as_str(),
                    f.workflow_id.to_string(),
                    f.note,
                    json(&f.tags)?
                ])
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::not_found(
                    Entity::Favorite,
                    format!("{}/{}", f.user_id, f.workflow_id),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn favorites_for_user(
        &self,
        user: &UserId,
        tag: Option<&Tag>,
    ) -> StoreResult<Vec<Favorite>> {
        let u = user.to_string();
        let tag = tag.map(|t| t.as_str().to_owned());
        self.read(move |c| {
            // The tags are a JSON array; `json_each` reads it where it lies.
            query_all(
                c,
                concat!(
                    "SELECT ",
                    favorite_cols!(),
                    " FROM workflow_favorites WHERE user_id = ?1 \
                     AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?2)) \
                     ORDER BY created_at DESC, workflow_id"
                ),
                params![u, tag],
                favorite_from_row,
            )
        })
        .await
    }
}

//! Comments and their likes.
//!
//! Every write locks the row its precondition is read from: the comment
//! (`FOR NO KEY UPDATE`) for updates and likes, so a comment's likes are
//! counted one writer at a time and the count never loses a step; the
//! parent (`FOR SHARE`) for replies, so a parent cannot be deleted between
//! the check and the commit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::query::Page;
use vault_core::community::comment::{Comment, MAX_DEPTH, like_delta};
use vault_core::community::comment_feed::CommentFeedQuery;
use vault_core::community::comment_query::{CommentCursor, CommentKey, CommentOrder, CommentQuery};
use vault_core::store::{CommentStore, Entity, StoreError, StoreResult, check_reply};
use vault_core::value::actor::UserId;
use vault_core::value::ids::CommentId;

use crate::catalog::require_workflow;
use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

macro_rules! comment_cols {
    () => {
        "id, workflow_id, parent_comment_id, depth, user_id, content, is_edited, is_hidden, \
         deleted_at, likes_count, created_at, updated_at, revision"
    };
}

fn comment_from_row(row: &PgRow) -> StoreResult<Comment> {
    decode("comments", || {
        let depth: i16 = get(row, "depth")?;
        let depth = u8::try_from(depth)
            .ok()
            .filter(|d| *d < MAX_DEPTH)
            .ok_or_else(|| corrupt("depth", depth))?;
        let parent_id: Option<CommentId> = opt_id(row, "parent_comment_id")?;
        if parent_id.is_none() != (depth == 0) {
            return Err(corrupt(
                "parent_comment_id, depth",
                format!("{parent_id:?} at depth {depth}"),
            ));
        }
        Ok(Comment {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            parent_id,
            depth,
            author: parse_with(row, "user_id", UserId::parse)?,
            body: get(row, "content")?,
            edited: get(row, "is_edited")?,
            hidden: get(row, "is_hidden")?,
            deleted_at: get(row, "deleted_at")?,
            like_count: u64_col(row, "likes_count")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// Locks a comment against other writers and returns its revision.
async fn lock_comment(c: &mut PgConnection, id: CommentId) -> StoreResult<i64> {
    let revision: Option<i64> =
        sqlx::query_scalar("SELECT revision FROM comments WHERE id = $1 FOR NO KEY UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    revision.ok_or_else(|| StoreError::not_found(Entity::Comment, id))
}

async fn insert(s: &PgStore, c: &mut PgConnection, comment: &Comment) -> StoreResult<()> {
    require_workflow(c, comment.workflow_id).await?;
    let parent = match comment.parent_id {
        // FOR SHARE: a delete of the parent (an update) waits for this
        // reply's commit, so the parent checked is the parent committed.
        Some(p) => sqlx::query(concat!(
            "SELECT ",
            comment_cols!(),
            " FROM comments WHERE id = $1 FOR SHARE"
        ))
        .bind(p.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .as_ref()
        .map(comment_from_row)
        .transpose()?,
        None => None,
    };
    check_reply(comment, parent.as_ref())?;
    // ON CONFLICT DO NOTHING: a concurrent insert of the same id waits for
    // the first and then inserts nothing, which is the AlreadyExists answer.
    let inserted = sqlx::query(concat!(
        "INSERT INTO comments (",
        comment_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12) ON CONFLICT (id) DO NOTHING"
    ))
    .bind(comment.id.as_uuid())
    .bind(comment.workflow_id.as_uuid())
    .bind(comment.parent_id.map(|p| p.as_uuid()))
    .bind(i16::from(comment.depth))
    .bind(comment.author.as_str())
    .bind(comment.body.as_str())
    .bind(comment.edited)
    .bind(comment.hidden)
    .bind(comment.deleted_at)
    .bind(comment.created_at)
    .bind(comment.updated_at)
    .bind(i64_of(comment.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique_or_parent(
        Entity::Comment,
        comment.id,
        Entity::Workflow,
        comment.workflow_id,
    ))?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::exists(Entity::Comment, comment.id));
    }
    s.step(c, "insert_comment:after_row").await
}

async fn update(c: &mut PgConnection, comment: &Comment, expected: u64) -> StoreResult<()> {
    if lock_comment(c, comment.id).await? != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Comment,
            comment.id,
            "the comment changed since it was read",
        ));
    }
    // Its place, author, creation time and likes are not the writer's.
    sqlx::query(
        "UPDATE comments SET content = $2, is_edited = $3, is_hidden = $4, deleted_at = $5, \
         updated_at = $6, revision = $7 WHERE id = $1",
    )
    .bind(comment.id.as_uuid())
    .bind(comment.body.as_str())
    .bind(comment.edited)
    .bind(comment.hidden)
    .bind(comment.deleted_at)
    .bind(comment.updated_at)
    .bind(i64_of(comment.revision)?)
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(())
}

async fn set_like(
    s: &PgStore,
    c: &mut PgConnection,
    comment: CommentId,
    user: &UserId,
    liked: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    // The comment's lock serializes its likes: what is read below stays
    // true until this transaction commits.
    lock_comment(c, comment).await?;
    let before: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM comment_likes WHERE comment_id = $1 AND user_id = $2")
            .bind(comment.as_uuid())
            .bind(user.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    let delta = like_delta(before.is_some(), liked);
    if delta == 0 {
        return Ok(false);
    }
    if liked {
        sqlx::query(
            "INSERT INTO comment_likes (comment_id, user_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(comment.as_uuid())
        .bind(user.as_str())
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    } else {
        sqlx::query("DELETE FROM comment_likes WHERE comment_id = $1 AND user_id = $2")
            .bind(comment.as_uuid())
            .bind(user.as_str())
            .execute(&mut *c)
            .await
            .map_err(db)?;
    }
    s.step(c, "set_comment_like:after_row").await?;
    sqlx::query("UPDATE comments SET likes_count = likes_count + $2 WHERE id = $1")
        .bind(comment.as_uuid())
        .bind(delta)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(true)
}

/// The page query of each order: key descending, id ascending, resuming
/// strictly after the cursor's (key, id).
fn page_sql(order: CommentOrder) -> &'static str {
    match order {
        CommentOrder::Newest => concat!(
            "SELECT ",
            comment_cols!(),
            " FROM comments WHERE workflow_id = $1 AND ($2 OR NOT is_hidden) \
             AND ($3::timestamptz IS NULL OR created_at < $3 OR (created_at = $3 AND id > $5)) \
             ORDER BY created_at DESC, id LIMIT $6"
        ),
        CommentOrder::MostLiked => concat!(
            "SELECT ",
            comment_cols!(),
            " FROM comments WHERE workflow_id = $1 AND ($2 OR NOT is_hidden) \
             AND ($4::bigint IS NULL OR likes_count < $4 OR (likes_count = $4 AND id > $5)) \
             ORDER BY likes_count DESC, id LIMIT $6"
        ),
    }
}

/// The page statement of the comment feed: only the filters the query
/// sets, `is_hidden` spelled as a literal so the partial index of hidden
/// comments applies, then what comes after the cursor, one row past the
/// page.
fn feed_page(q: &CommentFeedQuery) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(concat!(
        "SELECT ",
        comment_cols!(),
        " FROM comments WHERE deleted_at IS NULL"
    ));
    if let Some(author) = &q.author {
        qb.push(" AND user_id = ").push_bind(author.to_string());
    }
    match q.hidden {
        Some(true) => {
            qb.push(" AND is_hidden");
        }
        Some(false) => {
            qb.push(" AND NOT is_hidden");
        }
        None => {}
    }
    // `validate` let through only cursors of the newest order, keyed by
    // time.
    if let Some(cur) = q.cursor
        && let CommentKey::Time(t) = cur.key()
    {
        let id = cur.id().as_uuid();
        qb.push(" AND (created_at < ")
            .push_bind(t)
            .push(" OR (created_at = ")
            .push_bind(t)
            .push(" AND id > ")
            .push_bind(id)
            .push("))");
    }
    qb.push(" ORDER BY created_at DESC, id LIMIT ")
        .push_bind(i64::from(q.limit) + 1);
    qb
}

#[async_trait]
impl CommentStore for PgStore {
    async fn insert_comment(&self, comment: &Comment) -> StoreResult<()> {
        write_tx!(self, |c| insert(self, c, comment))
    }

    async fn update_comment(
        &self,
        comment: &Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            update(&mut *c, comment, expected_revision).await?;
            crate::audit::append_opt(self, c, audit).await
        })
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            comment_cols!(),
            " FROM comments WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(comment_from_row)
        .transpose()
    }

    async fn list_comments(
        &self,
        query: &CommentQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        query.validate()?;
        // Both keys are bound, one of them NULL: each order's statement
        // reads its own.
        let (mut time, mut likes, mut after): (Option<DateTime<Utc>>, Option<i64>, Option<Uuid>) =
            (None, None, None);
        if let Some(cur) = query.cursor {
            match cur.key() {
                CommentKey::Time(t) => time = Some(t),
                CommentKey::Likes(n) => likes = Some(i64_of(n)?),
            }
            after = Some(cur.id().as_uuid());
        }
        let rows = on_conn!(self, |c| sqlx::query(page_sql(query.order))
            .bind(query.workflow.as_uuid())
            .bind(query.include_hidden)
            .bind(time)
            .bind(likes)
            .bind(after)
            .bind(i64::from(query.limit) + 1)
            .fetch_all(c))
        .map_err(db)?;
        let mut items = rows
            .iter()
            .map(comment_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // One row past the page says whether there is a next one.
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let next = if more {
            items.last().map(|c| CommentCursor::after(c, query.order))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn comment_feed(
        &self,
        query: &CommentFeedQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        query.validate()?;
        let mut qb = feed_page(query);
        let rows = on_conn!(self, |c| qb.build().fetch_all(c)).map_err(db)?;
        let mut items = rows
            .iter()
            .map(comment_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // One row past the page says whether there is a next one.
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let next = if more {
            items
                .last()
                .map(|c| CommentCursor::after(c, CommentOrder::Newest))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn set_comment_like(
        &self,
        comment: CommentId,
        user: &UserId,
        liked: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        write_tx!(self, |c| set_like(self, c, comment, user, liked, now))
    }

    async fn comment_likers(&self, comment: CommentId) -> StoreResult<Vec<UserId>> {
        // Byte order, as the other backends sort user ids.
        let ids: Vec<String> = on_conn!(self, |c| {
            sqlx::query_scalar(
            "SELECT user_id FROM comment_likes WHERE comment_id = $1 ORDER BY user_id COLLATE \"C\""
        )
        .bind(comment.as_uuid())
        .fetch_all(c)
        })
        .map_err(db)?;
        ids.iter()
            .map(|u| UserId::parse(u).map_err(|_| corrupt("user_id", u).in_table("comment_likes")))
            .collect()
    }
}

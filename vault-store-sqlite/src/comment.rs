//! Comments and their likes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use rusqlite::types::Value;
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
use crate::sql::{Id, exists, query_all, query_one};
use crate::{SqliteStore, Tx};

/// The columns read back, as a literal for `concat!`: the statements are
/// built at compile time, not formatted on every call.
macro_rules! comment_cols {
    () => {
        "id, workflow_id, parent_comment_id, depth, user_id, content, is_edited, is_hidden, \
         deleted_at, likes_count, created_at, updated_at, revision"
    };
}

fn comment_from_row(row: &Row<'_>) -> StoreResult<Comment> {
    decode("comments", || {
        let depth: i64 = get(row, "depth")?;
        let depth = u8::try_from(depth)
            .ok()
            .filter(|d| *d < MAX_DEPTH)
            .ok_or_else(|| corrupt("depth", depth))?;
        let parent_id: Option<CommentId> = parse_opt(row, "parent_comment_id")?;
        if parent_id.is_none() != (depth == 0) {
            return Err(corrupt(
                "parent_comment_id, depth",
                format!("{parent_id:?} at depth {depth}"),
            ));
        }
        Ok(Comment {
            id: parse(row, "id")?,
            workflow_id: parse(row, "workflow_id")?,
            parent_id,
            depth,
            author: parse_with(row, "user_id", UserId::parse)?,
            body: get(row, "content")?,
            edited: bool_col(row, "is_edited")?,
            hidden: bool_col(row, "is_hidden")?,
            deleted_at: opt_time(row, "deleted_at")?,
            like_count: u64_col(row, "likes_count")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

fn load_comment(tx: &Tx<'_>, id: CommentId) -> StoreResult<Option<Comment>> {
    query_one(
        tx,
        concat!("SELECT ", comment_cols!(), " FROM comments WHERE id = ?1"),
        [Id(&id)],
        comment_from_row,
    )
}

fn require_comment(tx: &Tx<'_>, id: CommentId) -> StoreResult<()> {
    if exists(tx, "SELECT 1 FROM comments WHERE id = ?1", [Id(&id)])? {
        Ok(())
    } else {
        Err(StoreError::not_found(Entity::Comment, id))
    }
}

fn insert(tx: &Tx<'_>, c: &Comment) -> StoreResult<()> {
    require_workflow(tx, c.workflow_id)?;
    let parent = match c.parent_id {
        Some(p) => load_comment(tx, p)?,
        None => None,
    };
    check_reply(c, parent.as_ref())?;
    if exists(tx, "SELECT 1 FROM comments WHERE id = ?1", [Id(&c.id)])? {
        return Err(StoreError::exists(Entity::Comment, c.id));
    }
    tx.prepare_cached(concat!(
        "INSERT INTO comments (",
        comment_cols!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?12)"
    ))
    .map_err(db)?
    .execute(params![
        Id(&c.id),
        Id(&c.workflow_id),
        c.parent_id.map(|p| p.to_string()),
        i64::from(c.depth),
        Id(&c.author),
        c.body,
        c.edited,
        c.hidden,
        opt_ts(&c.deleted_at),
        ts(&c.created_at),
        ts(&c.updated_at),
        i64_of(c.revision)?,
    ])
    .map_err(db)?;
    Ok(())
}

fn update(tx: &Tx<'_>, c: &Comment, expected: u64) -> StoreResult<()> {
    let revision: Option<i64> = query_one(
        tx,
        "SELECT revision FROM comments WHERE id = ?1",
        [Id(&c.id)],
        |r| get(r, "revision"),
    )?;
    let revision = revision.ok_or_else(|| StoreError::not_found(Entity::Comment, c.id))?;
    if revision != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Comment,
            c.id,
            "the comment changed since it was read",
        ));
    }
    // Its place, author, creation time and likes are not the writer's.
    tx.prepare_cached(
        "UPDATE comments SET content = ?2, is_edited = ?3, is_hidden = ?4, deleted_at = ?5, \
         updated_at = ?6, revision = ?7 WHERE id = ?1",
    )
    .map_err(db)?
    .execute(params![
        Id(&c.id),
        c.body,
        c.edited,
        c.hidden,
        opt_ts(&c.deleted_at),
        ts(&c.updated_at),
        i64_of(c.revision)?,
    ])
    .map_err(db)?;
    Ok(())
}

fn set_like(
    tx: &Tx<'_>,
    comment: CommentId,
    user: &UserId,
    liked: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    require_comment(tx, comment)?;
    let before = exists(
        tx,
        "SELECT 1 FROM comment_likes WHERE comment_id = ?1 AND user_id = ?2",
        params![Id(&comment), Id(user)],
    )?;
    let delta = like_delta(before, liked);
    if delta == 0 {
        return Ok(false);
    }
    let row = if liked {
        "INSERT INTO comment_likes (comment_id, user_id, created_at) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM comment_likes WHERE comment_id = ?1 AND user_id = ?2 AND ?3 IS NOT NULL"
    };
    tx.prepare_cached(row)
        .map_err(db)?
        .execute(params![Id(&comment), Id(user), ts(&now)])
        .map_err(db)?;
    tx.step("set_comment_like:after_row")?;
    tx.prepare_cached("UPDATE comments SET likes_count = likes_count + ?2 WHERE id = ?1")
        .map_err(db)?
        .execute(params![Id(&comment), delta])
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
            " FROM comments WHERE workflow_id = ?1 AND (?2 OR is_hidden = 0) \
             AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id > ?4)) \
             ORDER BY created_at DESC, id LIMIT ?5"
        ),
        CommentOrder::MostLiked => concat!(
            "SELECT ",
            comment_cols!(),
            " FROM comments WHERE workflow_id = ?1 AND (?2 OR is_hidden = 0) \
             AND (?3 IS NULL OR likes_count < ?3 OR (likes_count = ?3 AND id > ?4)) \
             ORDER BY likes_count DESC, id LIMIT ?5"
        ),
    }
}

/// The page statement of the comment feed: only the filters the query
/// sets, `is_hidden` spelled as a literal so the partial index of hidden
/// comments applies (`?1` author), then what comes after the cursor (`?2`,
/// `?3`), one row past the page (`?4`). Every parameter is bound every
/// time; SQLite counts them by the highest number, `?4`.
fn feed_sql(q: &CommentFeedQuery) -> String {
    let mut sql = concat!(
        "SELECT ",
        comment_cols!(),
        " FROM comments WHERE deleted_at IS NULL"
    )
    .to_owned();
    if q.author.is_some() {
        sql.push_str(" AND user_id = ?1");
    }
    match q.hidden {
        Some(true) => sql.push_str(" AND is_hidden = 1"),
        Some(false) => sql.push_str(" AND is_hidden = 0"),
        None => {}
    }
    if q.cursor.is_some() {
        sql.push_str(" AND (created_at < ?2 OR (created_at = ?2 AND id > ?3))");
    }
    sql.push_str(" ORDER BY created_at DESC, id LIMIT ?4");
    sql
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn insert_comment(&self, comment: &Comment) -> StoreResult<()> {
        let c = comment.clone();
        self.write(move |tx| insert(tx, &c)).await
    }

    async fn update_comment(
        &self,
        comment: &Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let (c, audit) = (comment.clone(), audit.cloned());
        self.write(move |tx| {
            update(tx, &c, expected_revision)?;
            crate::account::append_opt(tx, audit.as_ref())
        })
        .await
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        self.read(move |c| {
            query_one(
                c,
                concat!("SELECT ", comment_cols!(), " FROM comments WHERE id = ?1"),
                [Id(&id)],
                comment_from_row,
            )
        })
        .await
    }

    async fn list_comments(
        &self,
        query: &CommentQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        query.validate()?;
        let q = query.clone();
        let (key, after) = match q.cursor {
            None => (Value::Null, Value::Null),
            Some(cur) => {
                let key = match cur.key() {
                    CommentKey::Time(t) => Value::Text(ts(&t)),
                    CommentKey::Likes(n) => Value::Integer(i64_of(n)?),
                };
                (key, Value::Text(cur.id().to_string()))
            }
        };
        let mut items = self
            .read(move |c| {
                query_all(
                    c,
                    page_sql(q.order),
                    params![
                        Id(&q.workflow),
                        q.include_hidden,
                        key,
                        after,
                        i64::from(q.limit) + 1
                    ],
                    comment_from_row,
                )
            })
            .await?;
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
        let sql = feed_sql(query);
        let author = query.author.as_ref().map(|a| a.to_string());
        // `validate` let through only cursors of the newest order, keyed by
        // time.
        let (at, after) = match query.cursor {
            Some(cur) => match cur.key() {
                CommentKey::Time(t) => (Some(ts(&t)), Some(cur.id().to_string())),
                CommentKey::Likes(_) => (None, None),
            },
            None => (None, None),
        };
        let limit = i64::from(query.limit) + 1;
        let mut items = self
            .read(move |c| query_all(c, &sql, params![author, at, after, limit], comment_from_row))
            .await?;
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
        let user = user.clone();
        self.write(move |tx| set_like(tx, comment, &user, liked, now))
            .await
    }

    async fn comment_likers(&self, comment: CommentId) -> StoreResult<Vec<UserId>> {
        self.read(move |c| {
            query_all(
                c,
                "SELECT user_id FROM comment_likes WHERE comment_id = ?1 ORDER BY user_id",
                [Id(&comment)],
                |r| decode("comment_likes", || parse_with(r, "user_id", UserId::parse)),
            )
        })
        .await
    }
}

//! The generic query helpers every area's reads go through: a statement
//! prepared once per connection, rows read by column name through
//! [`Row`], decoding errors kept typed; and typed ids as parameters
//! ([`SqlId`], [`Id`]).

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};
use vault_core::store::StoreResult;
use vault_core::value::actor::UserId;
use vault_core::value::ids::{
    AssetId, BundleId, CategoryId, CommentId, DocId, DownloadId, FileId, MembershipId, PurchaseId,
    ReviewId, UpdateId, WorkflowId,
};

use crate::codec::{Columns, Row, db};

pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    each_row(conn, sql, params, |row| {
        out.push(map(row)?);
        Ok(())
    })?;
    Ok(out)
}

/// Runs `sql` and hands each row to `visit`, in order: for a statement
/// whose rows are not all of one kind.
pub(crate) fn each_row(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut visit: impl FnMut(&Row<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let columns = Columns::of(sql);
    let mut rows = stmt.query(params).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        visit(&Row::new(row, &columns))?;
    }
    Ok(())
}

pub(crate) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let columns = Columns::of(sql);
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

/// An id as SQLite stores it: its text form. The statements around the
/// helpers take the typed id and bind it with [`Id`], so a `WorkflowId`
/// cannot be passed where a `UserId` belongs, as it could once both were
/// `&str`.
pub(crate) trait SqlId {
    /// The stored form.
    fn stored(&self) -> ToSqlOutput<'_>;
}

impl SqlId for UserId {
    fn stored(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Borrowed(ValueRef::Text(self.as_str().as_bytes()))
    }
}

impl<T: SqlId + ?Sized> SqlId for &T {
    fn stored(&self) -> ToSqlOutput<'_> {
        (**self).stored()
    }
}

macro_rules! uuid_ids {
    ($($id:ty),*) => {$(
        impl SqlId for $id {
            fn stored(&self) -> ToSqlOutput<'_> {
                ToSqlOutput::Owned(Value::Text(self.to_string()))
            }
        }
    )*};
}
uuid_ids!(
    AssetId,
    BundleId,
    CategoryId,
    CommentId,
    DocId,
    DownloadId,
    FileId,
    MembershipId,
    PurchaseId,
    ReviewId,
    UpdateId,
    WorkflowId
);

/// Binds a typed id as a statement parameter.
pub(crate) struct Id<'a, T: SqlId + ?Sized>(pub(crate) &'a T);

impl<T: SqlId + ?Sized> ToSql for Id<'_, T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.stored())
    }
}

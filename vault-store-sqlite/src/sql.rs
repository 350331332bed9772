//! The generic query helpers every area's reads go through: a statement
//! prepared once per connection, rows read by column name through
//! [`Row`], decoding errors kept typed.

use rusqlite::{Connection, OptionalExtension};
use vault_core::store::StoreResult;

use crate::codec::{Columns, Row, db};

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

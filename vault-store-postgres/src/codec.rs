//! Conversions between domain values and PostgreSQL columns, and the error
//! mapping.
//!
//! Every value read back goes through its vault-core constructor (or its
//! validating `Deserialize`), so a corrupted or hand-edited row is reported
//! as [`StoreError::Corrupt`] instead of entering the domain unchecked.

use std::fmt::Display;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use uuid::Uuid;
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::validation::{Reason, ValidationError};

/// The backend name in [`StoreError::Backend`].
pub(crate) const BACKEND: &str = "postgres";

/// A stored value of `column` that does not decode, as
/// [`StoreError::Corrupt`]; the row's mapper names the table
/// ([`decode`]).
pub(crate) fn corrupt(column: &str, value: impl Display) -> StoreError {
    StoreError::corrupt("", column, value)
}

/// Runs a row mapper, naming `table` in a [`StoreError::Corrupt`] it
/// returns: the column decoders know their column, not their table.
pub(crate) fn decode<T>(
    table: &'static str,
    map: impl FnOnce() -> StoreResult<T>,
) -> StoreResult<T> {
    map().map_err(|e| e.in_table(table))
}

/// A value to write that PostgreSQL cannot hold (an integer past `BIGINT`),
/// as a backend error: it is not a stored row's fault.
pub(crate) fn unfit(field: &'static str, reason: Reason) -> StoreError {
    StoreError::backend(BACKEND, ValidationError::new(field, reason))
}

/// [`Reason::OutOfRange`] up to the largest `BIGINT`.
pub(crate) fn past_i64() -> Reason {
    Reason::OutOfRange {
        min: "0".into(),
        max: i64::MAX.to_string(),
    }
}

/// Any sqlx error, kept as the source.
/// An error as a store error: [`StoreError::Busy`] when the pool had no
/// connection within its acquire timeout or a lock wait timed out
/// (SQLSTATE 55P03), else `Backend`.
pub(crate) fn db(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> StoreError {
    let e = e.into();
    let busy = e.downcast_ref::<sqlx::Error>().is_some_and(|e| {
        matches!(e, sqlx::Error::PoolTimedOut) || sqlstate(e).as_deref() == Some("55P03")
    });
    if busy {
        StoreError::busy(BACKEND, e)
    } else {
        StoreError::backend(BACKEND, e)
    }
}

/// The SQLSTATE of a database error.
pub(crate) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Maps a unique violation (23505) to `AlreadyExists`, anything else to
/// `Backend`.
pub(crate) fn unique(entity: Entity, key: impl Display) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if sqlstate(&e).as_deref() == Some("23505") {
            StoreError::exists(entity, key)
        } else {
            db(e)
        }
    }
}

/// Maps a unique violation to `AlreadyExists` and a foreign-key violation
/// (23503) to `NotFound` of the parent, anything else to `Backend`.
pub(crate) fn unique_or_parent(
    entity: Entity,
    key: impl Display,
    parent: Entity,
    parent_key: impl Display,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match sqlstate(&e).as_deref() {
        Some("23505") => StoreError::exists(entity, key),
        Some("23503") => StoreError::not_found(parent, parent_key),
        _ => db(e),
    }
}

/// What the row decoders read columns from by name: a whole [`PgRow`], or
/// one source's columns in a statement that reads several ([`Prefixed`]).
pub(crate) trait Cols {
    /// Reads column `col`.
    fn column<'r, T>(&'r self, col: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>;
}

impl Cols for PgRow {
    fn column<'r, T>(&'r self, col: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        self.try_get(col).map_err(db)
    }
}

/// The columns of a row named `{prefix}{column}`, read by their plain
/// names: one statement can return a workflow, its file and a user's
/// purchases side by side (each table has an `id`) and each keeps its
/// one decoder.
pub(crate) struct Prefixed<'a> {
    pub(crate) row: &'a PgRow,
    pub(crate) prefix: &'static str,
}

impl Cols for Prefixed<'_> {
    fn column<'r, T>(&'r self, col: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        // The name is put together on the stack: a `String` per column
        // was an allocation and a free for each of the ~80 columns of an
        // access read's row.
        let (p, c) = (self.prefix.as_bytes(), col.as_bytes());
        let mut buf = [0u8; 64];
        match buf.get_mut(..p.len() + c.len()) {
            Some(name) => {
                name[..p.len()].copy_from_slice(p);
                name[p.len()..].copy_from_slice(c);
                // Two strings end to end are a string.
                let name =
                    std::str::from_utf8(name).map_err(|e| db(sqlx::Error::Decode(e.into())))?;
                self.row.try_get(name).map_err(db)
            }
            None => self
                .row
                .try_get(format!("{}{col}", self.prefix).as_str())
                .map_err(db),
        }
    }
}

/// The columns a `*_cols!()` select list yields (`name`, or `expr AS
/// name`; no item holds a comma), read from `alias`, each renamed
/// `{prefix}{name}`: the select list [`Prefixed`] reads. Taking the names
/// from the list the sub-query selects keeps one list, not two to agree.
pub(crate) fn prefixed_list(alias: &str, cols: &str, prefix: &str) -> String {
    cols.split(',')
        .map(|c| c.rsplit(" AS ").next().unwrap_or(c).trim())
        .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads column `col`.
pub(crate) fn get<'r, T>(row: &'r (impl Cols + ?Sized), col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.column(col)
}

/// Reads a UUID column as a typed id.
pub(crate) fn id<T: From<Uuid>>(row: &impl Cols, col: &str) -> StoreResult<T> {
    Ok(T::from(get::<Uuid>(row, col)?))
}

/// Reads a nullable UUID column as a typed id.
pub(crate) fn opt_id<T: From<Uuid>>(row: &impl Cols, col: &str) -> StoreResult<Option<T>> {
    Ok(get::<Option<Uuid>>(row, col)?.map(T::from))
}

/// Reads a text column and parses it with the domain's `FromStr`.
pub(crate) fn parse<T>(row: &impl Cols, col: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    parse_text(col, &get::<String>(row, col)?)
}

/// Parses a value read from column `col` with the domain's `FromStr`.
pub(crate) fn parse_text<T>(col: &str, s: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse::<T>().map_err(|_| corrupt(col, s))
}

/// Like [`parse`] for a nullable column.
pub(crate) fn parse_opt<T>(row: &impl Cols, col: &str) -> StoreResult<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    let s: Option<String> = get(row, col)?;
    s.map(|s| s.parse::<T>().map_err(|_| corrupt(col, &s)))
        .transpose()
}

/// Reads a text column through a domain constructor.
pub(crate) fn parse_with<T, E: Display>(
    row: &impl Cols,
    col: &str,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<T> {
    let s: String = get(row, col)?;
    f(&s).map_err(|_| corrupt(col, &s))
}

/// Like [`parse_with`] for a nullable column.
pub(crate) fn parse_opt_with<T, E: Display>(
    row: &impl Cols,
    col: &str,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<Option<T>> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| f(&s).map_err(|_| corrupt(col, &s))).transpose()
}

pub(crate) fn slug(row: &impl Cols, col: &str) -> StoreResult<Slug> {
    parse_with(row, col, Slug::parse)
}

/// Reads a JSONB column through the type's (validating) `Deserialize`.
///
/// Straight from the column's bytes into `T` (a listing page decodes five
/// JSONB columns per row; a `serde_json::Value` in between doubled the
/// work). Only a value `T` refuses is read again as a `Value`, to name it
/// in the error.
pub(crate) fn json_col<T: DeserializeOwned>(row: &impl Cols, col: &str) -> StoreResult<T> {
    match get::<sqlx::types::Json<T>>(row, col) {
        Ok(sqlx::types::Json(v)) => Ok(v),
        Err(refused) => match get::<serde_json::Value>(row, col) {
            Ok(v) => Err(corrupt(col, &v)),
            Err(_) => Err(refused),
        },
    }
}

/// A value as JSONB.
pub(crate) fn json<T: serde::Serialize + ?Sized>(v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::backend(BACKEND, e))
}

pub(crate) fn u64_col(row: &impl Cols, col: &str) -> StoreResult<u64> {
    let v: i64 = get(row, col)?;
    u64::try_from(v).map_err(|_| corrupt(col, v))
}

pub(crate) fn u32_col(row: &impl Cols, col: &str) -> StoreResult<u32> {
    u32_of(col, get(row, col)?)
}

/// A counter read from column `col`, as the domain's `u32`.
pub(crate) fn u32_of(col: &str, v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| corrupt(col, v))
}

pub(crate) fn opt_u32_col(row: &impl Cols, col: &str) -> StoreResult<Option<u32>> {
    let v: Option<i64> = get(row, col)?;
    v.map(|v| u32::try_from(v).map_err(|_| corrupt(col, v)))
        .transpose()
}

/// `u64` counters into PostgreSQL's `BIGINT`.
pub(crate) fn i64_of(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| unfit("counter", past_i64()))
}

/// A money amount read from `NUMERIC` + currency code.
pub(crate) fn money(amount: Decimal, currency: &str) -> StoreResult<Money> {
    let c = Currency::parse(currency).map_err(|_| corrupt("currency", currency))?;
    Money::new(amount, c).map_err(|_| corrupt("amount", amount))
}

/// Reads a money column pair.
pub(crate) fn money_col(row: &impl Cols, amount: &str, currency: &str) -> StoreResult<Money> {
    let c: String = get(row, currency)?;
    money(get(row, amount)?, &c)
}

/// A currency code column, nullable.
pub(crate) fn opt_currency(row: &impl Cols, col: &str) -> StoreResult<Option<Currency>> {
    parse_opt_with(row, col, Currency::parse)
}

//! Conversions between domain values and SQLite columns, and row mappers.
//!
//! Every value read back goes through its vault-core constructor, so a
//! corrupted or hand-edited row is reported as [`StoreError::Corrupt`]
//! instead of entering the domain unchecked.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vault_core::store::{StoreError, StoreResult};
use vault_core::value::validation::{Reason, ValidationError};

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

/// A value to write that SQLite cannot hold (an integer past `i64`), as a
/// backend error: it is not a stored row's fault.
pub(crate) fn unfit(field: &'static str, reason: Reason) -> StoreError {
    StoreError::backend("sqlite", ValidationError::new(field, reason))
}

/// [`Reason::OutOfRange`] up to SQLite's largest integer.
pub(crate) fn past_i64() -> Reason {
    Reason::OutOfRange {
        min: "0".into(),
        max: i64::MAX.to_string(),
    }
}

/// A rusqlite error as a store error: [`StoreError::Busy`] when SQLite
/// gave up waiting for a lock (the busy timeout ran out), else `Backend`.
pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    if is_busy(&e) {
        StoreError::busy("sqlite", e)
    } else {
        StoreError::backend("sqlite", e)
    }
}

/// Whether SQLite answered "another connection holds the lock".
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

const TS: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

/// The stored form of an instant: fixed-width UTC text with nanoseconds
/// (`2025-02-13T09:00:00.000000000Z`), so text order is time order.
///
/// Written digit by digit: chrono's `format` parses the pattern on every
/// call (~1.5k instructions, several per download). Years outside 0-9999
/// and leap seconds, which the fixed width cannot hold, go through chrono.
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    let (date, time) = (t.date_naive(), t.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999);
    let (Some(year), true) = (year, time.nanosecond() < 1_000_000_000) else {
        return t.format(TS).to_string();
    };
    let mut b = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut b[0..4], year);
    digits(&mut b[5..7], date.month());
    digits(&mut b[8..10], date.day());
    digits(&mut b[11..13], time.hour());
    digits(&mut b[14..16], time.minute());
    digits(&mut b[17..19], time.second());
    digits(&mut b[20..29], time.nanosecond());
    b.iter().map(|&c| char::from(c)).collect()
}

/// Writes `v` right-aligned into `out` as ASCII digits (its width is the
/// field's: a larger `v` keeps only its low digits, which callers rule out).
fn digits(out: &mut [u8], mut v: u32) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

pub(crate) fn opt_ts(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(ts)
}

/// Reads what [`ts`] writes without a general parser; anything else (an
/// older or hand-written row) goes through chrono's RFC 3339 parser.
pub(crate) fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    if let Some(t) = parse_fixed(s.as_bytes()) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt("timestamp", s))
}

fn parse_fixed(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 30
        || [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (29, b'Z'),
        ]
        .iter()
        .any(|&(i, c)| b[i] != c)
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        num(20..29)?,
    )?;
    Some(date.and_time(time).and_utc())
}

pub(crate) fn date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| corrupt("date", s))
}

pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::backend("sqlite", e))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt("json", s))
}

/// A statement's column names, for lookups by name.
///
/// Asking SQLite for them costs a call and a UTF-8 check per column, and
/// keeping them an allocation each: ~26k instructions for a 49-column
/// workflow row, as much as running its query (callgrind). They depend only
/// on the SQL text (one schema per crate version), so each blocking thread
/// keeps them per text, bounded.
///
/// Looked up only at a row's first read by name: a statement whose decoders
/// all read by position ([`at!`]) never hashes and compares its text
/// here, which for the access read's 2 kB statement cost ~1.3k
/// instructions a call.
pub(crate) struct Columns<'s> {
    source: Source<'s>,
    names: std::cell::OnceCell<Rc<Names>>,
}

/// Where a [`Columns`] finds its names.
enum Source<'s> {
    /// The statement prepared from this SQL text.
    Statement(&'s str),
    /// A select list: an arm of a compound statement, whose own names
    /// SQLite does not keep (a compound's columns are its first arm's).
    Listed(&'static str),
}

struct Names {
    list: Vec<Box<str>>,
    /// No two names equal ignoring ASCII case: a hit at the hint is then
    /// the first match without scanning.
    distinct: bool,
}

/// Distinct SQL texts are few (the dynamic ones vary with filter shapes);
/// past this the cache starts over rather than grow.
const NAMES_CACHED: usize = 512;

thread_local! {
    static NAMES: RefCell<HashMap<String, Rc<Names>, BuildSqlHasher>> =
        RefCell::new(HashMap::default());
}

/// Hashes SQL texts for the [`Columns`] cache: a multiply-rotate over
/// eight-byte words (FxHash's step). The keys are the crate's own
/// statements, so there is no adversary to resist, and std's SipHash cost
/// ~1.5k instructions per lookup of a 500-byte statement, more than the
/// lookup saves on short ones. Equal hashes are still compared in full.
#[derive(Default, Clone, Copy)]
struct BuildSqlHasher;

impl std::hash::BuildHasher for BuildSqlHasher {
    type Hasher = SqlHasher;
    fn build_hasher(&self) -> SqlHasher {
        SqlHasher(0)
    }
}

struct SqlHasher(u64);

impl SqlHasher {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for SqlHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let mut tail = [0u8; 8];
        let rest = words.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'s> Columns<'s> {
    /// The column names of the statement prepared from `sql`, when asked.
    pub(crate) fn of(sql: &'s str) -> Self {
        Self {
            source: Source::Statement(sql),
            names: std::cell::OnceCell::new(),
        }
    }

    /// The names of the select list `list` (`name` or `expr AS name`
    /// items), when asked: for the rows of one arm of a compound
    /// statement, so an error names that arm's column ([`Row::in_arm`]).
    pub(crate) fn listed(list: &'static str) -> Self {
        Self {
            source: Source::Listed(list),
            names: std::cell::OnceCell::new(),
        }
    }

    fn names(&self, stmt: &rusqlite::Statement<'_>) -> &Names {
        self.names.get_or_init(|| match self.source {
            Source::Statement(sql) => Self::load(stmt, sql),
            Source::Listed(list) => Rc::new(Names::new(select_list_names(list))),
        })
    }

    fn load(stmt: &rusqlite::Statement<'_>, sql: &str) -> Rc<Names> {
        NAMES.with_borrow_mut(|cache| {
            if let Some(names) = cache.get(sql) {
                return Rc::clone(names);
            }
            if cache.len() >= NAMES_CACHED {
                cache.clear();
            }
            let list: Vec<Box<str>> = stmt.column_names().into_iter().map(Box::from).collect();
            let names = Rc::new(Names::new(list));
            cache.insert(sql.to_owned(), Rc::clone(&names));
            names
        })
    }

    /// The first column named `name`, ignoring ASCII case, as rusqlite's
    /// `Statement::column_index` finds it. Mappers read columns mostly in
    /// select order, skipping some (a purchase's refund columns when it has
    /// none), so with distinct names the search starts at `hint` (the column
    /// after the last one read) and wraps: a lookup is usually one or two
    /// comparisons. They compare bytes exactly first (the mappers spell
    /// names as the SQL does; a case-folding compare cost ~200 instructions
    /// per lookup, 14k per download), and fold case only when that finds
    /// nothing. With a repeated name only the first one counts, so the
    /// search starts at column 0.
    fn index(
        &self,
        stmt: &rusqlite::Statement<'_>,
        name: &str,
        hint: &Cell<usize>,
    ) -> rusqlite::Result<usize> {
        let names = self.names(stmt);
        let list = &names.list;
        let found = if names.distinct {
            let at = hint.get().min(list.len());
            let (before, after) = list.split_at(at);
            after
                .iter()
                .position(|n| **n == *name)
                .map(|i| at + i)
                .or_else(|| before.iter().position(|n| **n == *name))
                .or_else(|| names.first(name))
        } else {
            names.first(name)
        };
        let i = found.ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?;
        hint.set(i + 1);
        Ok(i)
    }
}

impl Names {
    fn new(list: Vec<Box<str>>) -> Self {
        let distinct = list
            .iter()
            .enumerate()
            .all(|(i, a)| list[..i].iter().all(|b| !a.eq_ignore_ascii_case(b)));
        Self { list, distinct }
    }

    fn first(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|n| n.eq_ignore_ascii_case(name))
    }
}

/// A result row with its statement's [`Columns`], for lookups by name.
pub(crate) struct Row<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'a Columns<'a>,
    hint: Cell<usize>,
}

impl<'a> Row<'a> {
    pub(crate) fn new(row: &'a rusqlite::Row<'a>, columns: &'a Columns<'a>) -> Self {
        Self {
            row,
            columns,
            hint: Cell::new(0),
        }
    }

    /// This row, its columns named by `columns`: a row of a compound
    /// statement's later arm, whose names are not the statement's.
    pub(crate) fn in_arm(&self, columns: &'a Columns<'a>) -> Self {
        Self::new(self.row, columns)
    }
}

/// The names of the select list `list`: its items split at the commas
/// outside parentheses, each `name` or `expr AS name`, as [`position`]
/// reads them.
fn select_list_names(list: &str) -> Vec<Box<str>> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    let item = |s: &str| -> Box<str> {
        let s = s.trim();
        Box::from(s.rsplit_once(" AS ").map_or(s, |(_, name)| name.trim()))
    };
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(item(&list[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(item(&list[start..]));
    out
}

/// A column of a result row: a name (`&str`), looked up in the
/// statement's names, or a position (`usize`) in its select list.
///
/// A decoder whose statements all select its column list first reads by
/// position, each found from its name at compile time ([`at!`]): a name's
/// lookup cost ~80 instructions a column, 7% of a catalog page
/// (callgrind). The other decoders read by name.
pub(crate) trait Col: Copy {
    /// The column's position in `row`.
    fn index(self, row: &Row<'_>) -> rusqlite::Result<usize>;
    /// The column's name, for an error.
    fn name(self, row: &Row<'_>) -> String;
}

impl Col for &str {
    fn index(self, row: &Row<'_>) -> rusqlite::Result<usize> {
        row.columns.index(row.row.as_ref(), self, &row.hint)
    }

    fn name(self, _: &Row<'_>) -> String {
        self.to_owned()
    }
}

impl Col for usize {
    fn index(self, row: &Row<'_>) -> rusqlite::Result<usize> {
        if self < row.row.as_ref().column_count() {
            Ok(self)
        } else {
            Err(rusqlite::Error::InvalidColumnIndex(self))
        }
    }

    fn name(self, row: &Row<'_>) -> String {
        row.columns
            .names(row.row.as_ref())
            .list
            .get(self)
            .map_or_else(|| format!("column {self}"), |n| n.to_string())
    }
}

/// The position of column `name` in the select list `cols`: items
/// separated by commas outside parentheses, each `name` or `expr AS name`.
/// For [`at!`], which computes it at compile time: a decoder names its
/// columns and reads them by position, and a name not in the list fails the
/// build.
pub(crate) const fn position(cols: &str, name: &str) -> usize {
    let (c, n) = (cols.as_bytes(), name.as_bytes());
    let (mut i, mut start, mut index, mut depth) = (0, 0, 0, 0usize);
    loop {
        if i == c.len() || (c[i] == b',' && depth == 0) {
            if item_is(c, start, i, n) {
                return index;
            }
            assert!(i < c.len(), "no such column in the select list");
            index += 1;
            start = i + 1;
        } else if c[i] == b'(' {
            depth += 1;
        } else if c[i] == b')' {
            depth -= 1;
        }
        i += 1;
    }
}

/// Whether the select-list item `c[start..end]` is named `name`.
const fn item_is(c: &[u8], mut start: usize, mut end: usize, name: &[u8]) -> bool {
    while start < end && c[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && c[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    // The name after the last ` AS `, if any.
    let mut k = end;
    while k >= start + 4 {
        if c[k - 4] == b' ' && c[k - 3] == b'A' && c[k - 2] == b'S' && c[k - 1] == b' ' {
            start = k;
            break;
        }
        k -= 1;
    }
    if end - start != name.len() {
        return false;
    }
    let mut j = 0;
    while j < name.len() {
        if c[start + j] != name[j] {
            return false;
        }
        j += 1;
    }
    true
}

/// The number of items in the select list `cols` (commas outside
/// parentheses, plus one): where the next list starts in a row that selects
/// several side by side.
pub(crate) const fn width(cols: &str) -> usize {
    let c = cols.as_bytes();
    let (mut i, mut n, mut depth) = (0, 1, 0usize);
    while i < c.len() {
        if c[i] == b'(' {
            depth += 1;
        } else if c[i] == b')' {
            depth -= 1;
        } else if c[i] == b',' && depth == 0 {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The position of column `$name` in the select list `$cols` (a constant),
/// computed at compile time: see [`position`].
macro_rules! at {
    ($cols:expr, $name:literal) => {{
        const I: usize = $crate::codec::position($cols, $name);
        I
    }};
}
pub(crate) use at;

/// Reads column `col` of `row`.
pub(crate) fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, col: impl Col) -> StoreResult<T> {
    let i = col.index(row).map_err(db)?;
    row.row.get(i).map_err(db)
}

/// Reads text column `col` borrowed from SQLite's row, `None` for NULL:
/// the decoders below parse it where it lies, where reading a `String`
/// first cost an allocation and a copy per column (ids, statuses, times,
/// JSON: most of a row). Anything but valid text is the error
/// `get::<String>` gives.
fn text<'a>(row: &Row<'a>, col: impl Col) -> StoreResult<Option<&'a str>> {
    let i = col.index(row).map_err(db)?;
    let not_text = || row.row.get::<_, String>(i).map(|_| None).map_err(db);
    match row.row.get_ref(i).map_err(db)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Text(b) => match std::str::from_utf8(b) {
            Ok(s) => Ok(Some(s)),
            Err(_) => not_text(),
        },
        _ => not_text(),
    }
}

/// [`text`] of a column that may not be NULL.
fn required_text<'a>(row: &Row<'a>, col: impl Col) -> StoreResult<&'a str> {
    match text(row, col)? {
        Some(s) => Ok(s),
        // The error a NULL gives `get::<String>`.
        None => get::<String>(row, col).and(Err(corrupt(&col.name(row), "NULL"))),
    }
}

/// Reads a text column and parses it with the domain's `FromStr`.
pub(crate) fn parse<T>(row: &Row<'_>, col: impl Col) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    let s = required_text(row, col)?;
    s.parse::<T>().map_err(|_| corrupt(&col.name(row), s))
}

/// Parses a value read from column `col` with the domain's `FromStr`.
pub(crate) fn parse_text<T>(col: &str, s: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse::<T>().map_err(|_| corrupt(col, s))
}

/// Parses a value read from column `col` through a decoder of this module
/// (whose error names a generic column).
pub(crate) fn parse_text_with<T>(
    col: &str,
    s: &str,
    f: impl FnOnce(&str) -> StoreResult<T>,
) -> StoreResult<T> {
    f(s).map_err(|e| renamed(e, col))
}

/// A counter read from column `col`, as the domain's `u32`.
pub(crate) fn u32_of(col: &str, v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| corrupt(col, v))
}

pub(crate) fn parse_opt<T>(row: &Row<'_>, col: impl Col) -> StoreResult<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    text(row, col)?
        .map(|s| s.parse::<T>().map_err(|_| corrupt(&col.name(row), s)))
        .transpose()
}

pub(crate) fn time(row: &Row<'_>, col: impl Col) -> StoreResult<DateTime<Utc>> {
    parse_ts(required_text(row, col)?).map_err(|e| renamed(e, &col.name(row)))
}

/// A decoder's error at the column it was read from.
fn renamed(e: StoreError, col: &str) -> StoreError {
    match e {
        StoreError::Corrupt { table, value, .. } => StoreError::corrupt(table, col, value),
        other => other,
    }
}

pub(crate) fn opt_time(row: &Row<'_>, col: impl Col) -> StoreResult<Option<DateTime<Utc>>> {
    text(row, col)?
        .map(|s| parse_ts(s).map_err(|e| renamed(e, &col.name(row))))
        .transpose()
}

pub(crate) fn json_col<T: DeserializeOwned>(row: &Row<'_>, col: impl Col) -> StoreResult<T> {
    from_json(required_text(row, col)?).map_err(|e| renamed(e, &col.name(row)))
}

pub(crate) fn u64_col(row: &Row<'_>, col: impl Col) -> StoreResult<u64> {
    let v: i64 = get(row, col)?;
    u64::try_from(v).map_err(|_| corrupt(&col.name(row), v))
}

pub(crate) fn u32_col(row: &Row<'_>, col: impl Col) -> StoreResult<u32> {
    let v: i64 = get(row, col)?;
    u32::try_from(v).map_err(|_| corrupt(&col.name(row), v))
}

pub(crate) fn opt_u32_col(row: &Row<'_>, col: impl Col) -> StoreResult<Option<u32>> {
    let v: Option<i64> = get(row, col)?;
    v.map(|v| u32::try_from(v).map_err(|_| corrupt(&col.name(row), v)))
        .transpose()
}

pub(crate) fn bool_col(row: &Row<'_>, col: impl Col) -> StoreResult<bool> {
    Ok(get::<i64>(row, col)? != 0)
}

/// Money as (minor units, currency code).
pub(crate) fn money_parts(m: &vault_core::value::money::Money) -> StoreResult<(i64, String)> {
    let minor = m.to_minor().ok_or_else(|| unfit("amount", past_i64()))?;
    Ok((minor, m.currency().code().to_owned()))
}

pub(crate) fn money(minor: i64, currency: &str) -> StoreResult<vault_core::value::money::Money> {
    let c = vault_core::value::money::Currency::parse(currency)
        .map_err(|_| corrupt("currency", currency))?;
    Ok(vault_core::value::money::Money::from_minor(minor, c))
}

/// An optional price: `Some` when both its minor units and its currency
/// are set, the currency read where it lies.
pub(crate) fn opt_money(
    row: &Row<'_>,
    minor: impl Col,
    currency: impl Col,
) -> StoreResult<Option<vault_core::value::money::Money>> {
    match (get::<Option<i64>>(row, minor)?, text(row, currency)?) {
        (Some(m), Some(c)) => money(m, c).map(Some),
        _ => Ok(None),
    }
}

/// `u64` counters into SQLite's `i64`.
pub(crate) fn i64_of(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| unfit("counter", past_i64()))
}

/// Reads a text column through a domain constructor.
pub(crate) fn parse_with<T, E: Display>(
    row: &Row<'_>,
    col: impl Col,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<T> {
    let s = required_text(row, col)?;
    f(s).map_err(|_| corrupt(&col.name(row), s))
}

/// Like [`parse_with`] for a nullable column.
pub(crate) fn parse_opt_with<T, E: Display>(
    row: &Row<'_>,
    col: impl Col,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<Option<T>> {
    text(row, col)?
        .map(|s| f(s).map_err(|_| corrupt(&col.name(row), s)))
        .transpose()
}

pub(crate) fn slug(row: &Row<'_>, col: impl Col) -> StoreResult<vault_core::value::slug::Slug> {
    parse_with(row, col, vault_core::value::slug::Slug::parse)
}

#[cfg(test)]
mod columns_tests {
    #![allow(clippy::unwrap_used)]

    use super::{Columns, Row, get};

    /// `f` of the first row `sql` returns, on an in-memory database.
    fn with_row<T>(sql: &str, f: impl FnOnce(&Row<'_>) -> T) -> T {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = Columns::of(sql);
        let mut rows = stmt.query([]).unwrap();
        f(&Row::new(rows.next().unwrap().unwrap(), &columns))
    }

    fn read(sql: &str, cols: &[&str]) -> Vec<i64> {
        with_row(sql, |row| {
            cols.iter().map(|c| get(row, *c).unwrap()).collect()
        })
    }

    #[test]
    fn lookups_by_name_in_any_order() {
        let sql = "SELECT 1 AS a, 2 AS b, 3 AS c";
        assert_eq!(read(sql, &["a", "b", "c"]), [1, 2, 3]);
        assert_eq!(read(sql, &["c", "a", "b", "b", "A"]), [3, 1, 2, 2, 1]);
        // Skipping ahead, then wrapping back past the start; names in
        // another case than the SQL's.
        let sql = "SELECT 1 AS a, 2 AS b, 3 AS c, 4 AS Dd";
        assert_eq!(
            read(sql, &["a", "c", "Dd", "b", "a", "dD", "C"]),
            [1, 3, 4, 2, 1, 4, 3]
        );
    }

    #[test]
    fn duplicate_names_read_the_first_like_rusqlite() {
        let sql = "SELECT 1 AS a, 2 AS b, 3 AS A";
        // The hint after "b" points at the second "A": still the first wins.
        assert_eq!(read(sql, &["b", "a", "a"]), [2, 1, 1]);
        assert_eq!(read(sql, &["a", "b", "A"]), [1, 2, 1]);
    }

    #[test]
    fn positions_read_their_column_and_errors_name_it() {
        with_row("SELECT 1 AS a, 'x' AS b", |row| {
            assert_eq!(get::<i64>(row, 0).unwrap(), 1);
            assert_eq!(get::<String>(row, 1).unwrap(), "x");
            // Read by position after a read by name, and the other way round.
            assert_eq!(get::<i64>(row, "a").unwrap(), 1);
            assert_eq!(get::<String>(row, 1).unwrap(), "x");
            assert!(get::<i64>(row, 2).is_err());
            match super::u64_col(row, 1) {
                Err(e) => assert!(e.to_string().contains('b'), "{e}"),
                Ok(v) => panic!("text read as a counter: {v}"),
            }
            match super::parse::<uuid::Uuid>(row, 1) {
                Err(vault_core::store::StoreError::Corrupt { column, .. }) => {
                    assert_eq!(column, "b");
                }
                other => panic!("expected the column named: {other:?}"),
            }
        });
    }

    #[test]
    fn positions_are_found_in_a_select_list() {
        use super::position;
        let cols = "id, json_extract(media, '$.a, b') AS thumb, \
            (CASE WHEN n = 0 THEN 1 ELSE 2 END) AS k,\n  last";
        assert_eq!(position(cols, "id"), 0);
        assert_eq!(position(cols, "thumb"), 1);
        assert_eq!(position(cols, "k"), 2);
        assert_eq!(position(cols, "last"), 3);
        assert!(std::panic::catch_unwind(|| position(cols, "media")).is_err());
        assert!(std::panic::catch_unwind(|| position(cols, "i")).is_err());
        // At compile time.
        const K: usize = super::at!("a, b AS c", "c");
        assert_eq!(K, 1);
        // Its width: where a list selected after it starts.
        assert_eq!(super::width(cols), 4);
        assert_eq!(super::width("a"), 1);
        assert_eq!(super::width(crate::catalog::gate_cols!()), 7);
    }

    #[test]
    fn an_unknown_name_is_an_error() {
        with_row("SELECT 1 AS a", |row| {
            assert!(get::<i64>(row, "nope").is_err());
        });
    }
}

#[cfg(test)]
mod timestamp_tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::{TS, parse_ts, ts};

    /// Instants from year 0 to 9999 at any nanosecond, and beyond.
    fn instant(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).unwrap()
    }

    proptest! {
        #[test]
        fn written_as_chrono_writes_and_read_back(
            secs in -62_167_219_200i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = instant(secs, nanos);
            let text = ts(&t);
            prop_assert_eq!(&text, &t.format(TS).to_string());
            prop_assert_eq!(text.len(), 30);
            prop_assert_eq!(parse_ts(&text).unwrap(), t);
        }

        #[test]
        fn other_rfc3339_forms_still_read(secs in 0i64..4_102_444_800, millis in 0u32..1000) {
            let t = instant(secs, millis * 1_000_000);
            let text = t.to_rfc3339();
            prop_assert_eq!(parse_ts(&text).unwrap(), t);
        }
    }

    #[test]
    fn outside_the_fixed_width_chrono_writes() {
        // Year 10000 (`+10000-...`, as before: RFC 3339 has no such year).
        let far = instant(253_402_300_800 + 86_400, 5);
        assert_eq!(ts(&far), far.format(TS).to_string());
        for bad in [
            "2025-02-13T09:00:00.00000000xZ",
            "2025-13-13T09:00:00.000000000Z",
            "",
        ] {
            assert!(parse_ts(bad).is_err(), "{bad:?}");
        }
    }
}

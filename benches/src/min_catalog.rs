//! The `*-min` baselines of a catalog page: the least SQL that lists one
//! page of cards (one category and tier, most downloaded first) or finds
//! one page by text (every term a prefix of a word, newest first), on a
//! frozen schema of its own, beside the download path's ([`crate::min`]).
//!
//! The job, as the vault's `list_cards` does it: 20 cards and whether a
//! next page exists (21 rows), each card's seventeen fields read; only
//! published workflows. Same data as the vault's bench world ([`spec`]):
//! the bench checks that both sides return the same workflows in the same
//! order before it times them.
//!
//! What makes it minimal:
//! * the listing walks an index in the page's order that holds only the
//!   published catalog, keyed by category and tier: 21 entries, 21 rows;
//! * on SQLite, a card's row id is its place in newest-first order and the
//!   row holds its words: a search walks the table itself in order,
//!   matching each row's words, and stops at the page; a text the newest
//!   1000 rows do not fill a page with goes to the word index (FTS5,
//!   contentless, no positions, published cards only), whose matches come
//!   in row-id order, the page's, so no sort;
//! * on PostgreSQL, the words are a `tsvector` of exact lexemes under a GIN
//!   index beside a newest-first index, and the search takes the same two
//!   steps: the newest rows matched one by one, then only if needed the
//!   GIN index.
//!
//! Never edit [`SQLITE_SCHEMA`] or [`PG_SCHEMA`] to follow the vault.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection as _, PgConnection, Row as _, ValueRef as _};
use vault_core::catalog::query::search_terms;

use crate::scale::Scale;
use crate::spec;

/// The frozen SQLite schema: `seq` is the card's rank newest first.
pub const SQLITE_SCHEMA: &str = "
CREATE TABLE cards (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, slug TEXT NOT NULL, title TEXT NOT NULL,
    short_description TEXT NOT NULL, category_id INTEGER NOT NULL, tier INTEGER NOT NULL,
    price_minor INTEGER, currency TEXT, score_x10 INTEGER NOT NULL, thumbnail_url TEXT,
    status TEXT NOT NULL, downloads INTEGER NOT NULL, favorites INTEGER NOT NULL,
    reviews INTEGER NOT NULL, rating_sum INTEGER NOT NULL, created_at TEXT NOT NULL,
    published_at TEXT, words TEXT NOT NULL
);
CREATE INDEX cards_listing ON cards (category_id, tier, downloads DESC, id)
    WHERE status = 'published';
CREATE VIRTUAL TABLE card_words USING fts5 (words, content = '', detail = none);
";

/// The frozen PostgreSQL schema.
pub const PG_SCHEMA: &str = "
CREATE TABLE cards (
    id UUID PRIMARY KEY, slug TEXT NOT NULL, title TEXT NOT NULL,
    short_description TEXT NOT NULL, category_id INT NOT NULL, tier INT NOT NULL,
    price_minor BIGINT, currency TEXT, score_x10 INT NOT NULL, thumbnail_url TEXT,
    status TEXT NOT NULL, downloads BIGINT NOT NULL, favorites BIGINT NOT NULL,
    reviews BIGINT NOT NULL, rating_sum BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ, words TSVECTOR NOT NULL
);
CREATE INDEX cards_listing ON cards (category_id, tier, downloads DESC, id)
    WHERE status = 'published';
CREATE INDEX cards_newest ON cards (published_at DESC, id) WHERE status = 'published';
CREATE INDEX cards_words ON cards USING GIN (words) WHERE status = 'published';
";

/// A card's seventeen fields, its id first.
macro_rules! cols {
    () => {
        "id, slug, title, short_description, category_id, tier, price_minor, currency, \
         score_x10, thumbnail_url, status, downloads, favorites, reviews, rating_sum, \
         created_at, published_at"
    };
}

/// The page: 20 cards and one more that says a next page exists.
const PAGE: i64 = 21;

const SQLITE_LIST: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM cards WHERE status = 'published' AND category_id = ?1 AND tier = ?2 \
     ORDER BY downloads DESC, id LIMIT 21"
);

const PG_LIST: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM cards WHERE status = 'published' AND category_id = $1 AND tier = $2 \
     ORDER BY downloads DESC, id LIMIT 21"
);

/// The search on PostgreSQL, in the same two steps as SQLite's: the
/// planner alone, given the one-step query, fetched and sorted every match
/// of a common text through GIN (6.5 ms at 100k cards, measured) and
/// walked the whole order for a rare one (27-31 ms); the index's matches
/// are taken apart from their order (`hits`) so that the walk is never
/// chosen for them. $1 the tsquery; the page size spelled, as a generic
/// plan takes a bound `LIMIT` to keep a tenth of the rows.
const PG_SEARCH: &str = concat!(
    "WITH q AS MATERIALIZED (SELECT $1::tsquery AS q), \
     near AS MATERIALIZED (SELECT id FROM (SELECT id, words @@ (SELECT q FROM q) AS hit \
     FROM cards WHERE status = 'published' ORDER BY published_at DESC, id LIMIT 1000) AS w \
     WHERE hit LIMIT 21), \
     hits AS MATERIALIZED (SELECT id, published_at FROM cards WHERE status = 'published' \
     AND words @@ (SELECT q FROM q) AND (SELECT count(*) FROM near) < 21), \
     far AS (SELECT id FROM hits ORDER BY published_at DESC, id LIMIT 21) \
     SELECT ",
    cols!(),
    " FROM cards WHERE id IN (SELECT id FROM near WHERE (SELECT count(*) FROM near) = 21 \
     UNION ALL SELECT id FROM far) ORDER BY published_at DESC, id"
);

/// Rows of the newest-first order a search reads before it asks the word
/// index (see [`sqlite_search`]).
const WINDOW: i64 = 1000;

/// The search for `terms` words: ?1 the FTS5 expression, ?2... each term
/// after a space. A common text fills its page within the newest rows,
/// each matched on its own words (the store's `vault_has_words`, a SIMD
/// substring search: the fastest match at hand, so the baseline stays a
/// limit), and stops there; only when the first [`WINDOW`] rows hold less
/// than a page does the word index answer, in row-id order, which is the
/// page's order. (The index alone merges every prefix's whole doclist
/// first: 3 ms for a common text at 100k cards, measured.)
fn sqlite_search(terms: usize) -> String {
    let terms: Vec<String> = (0..terms).map(|i| format!("?{}", i + 2)).collect();
    format!(
        "WITH near AS MATERIALIZED (SELECT seq FROM (SELECT seq, words FROM cards \
         WHERE status = 'published' ORDER BY seq LIMIT {WINDOW}) \
         WHERE vault_has_words(words, {}) LIMIT {PAGE}), \
         far AS MATERIALIZED (SELECT card_words.rowid AS seq FROM \
         (SELECT 1 WHERE (SELECT count(*) FROM near) < {PAGE}) AS gate \
         CROSS JOIN card_words WHERE card_words MATCH ?1 ORDER BY card_words.rowid LIMIT {PAGE}) \
         SELECT {} FROM cards WHERE seq IN (SELECT seq FROM near \
         WHERE (SELECT count(*) FROM near) = {PAGE} UNION ALL SELECT seq FROM far) ORDER BY seq",
        terms.join(", "),
        cols!()
    )
}

/// A card of workflow `i`, as both schemas hold it.
struct Card {
    i: usize,
    category: i64,
    tier: i64,
    published: DateTime<Utc>,
    words: Vec<String>,
}

fn cards(scale: &Scale, epoch: DateTime<Utc>) -> Vec<Card> {
    (0..scale.workflows)
        .map(|i| {
            let (title, short) = (spec::title(i), spec::short_description(i));
            let tags = spec::tags(i);
            let words = [title.as_str(), short.as_str()]
                .into_iter()
                .chain(tags)
                .flat_map(search_terms)
                .collect();
            Card {
                i,
                category: spec::category(i) as i64,
                tier: crate::min::tier_rank(spec::tier(i)),
                published: spec::published_at(epoch, i),
                words,
            }
        })
        .collect()
}

/// Workflow `i`'s thumbnail (a card field of its own, as in the vault's
/// SQLite schema; its PostgreSQL schema takes it out of the media's JSON).
fn thumbnail(i: usize) -> String {
    format!("https://cdn.example.com/thumbs/{}.png", spec::slug(i))
}

/// The FTS5 expression for `terms`: every term a prefix.
fn match_expr(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The tsquery for `text`: every term a prefix of an exact lexeme.
fn tsquery(text: &str) -> String {
    search_terms(text)
        .iter()
        .map(|t| format!("'{t}':*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The SQLite catalog baseline: one connection.
#[derive(Debug)]
pub struct MinCatalogSqlite {
    conn: Mutex<Connection>,
}

impl MinCatalogSqlite {
    /// Creates the frozen schema at `path` (a fresh file) and loads
    /// `scale`'s cards, with the store's pragmas (WAL, `synchronous = FULL`).
    pub fn create(path: &Path, scale: &Scale, epoch: DateTime<Utc>) -> rusqlite::Result<Self> {
        let mut c = Connection::open(path)?;
        c.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        c.pragma_update(None, "synchronous", "FULL")?;
        vault_store_sqlite::register_functions(&c)?;
        let mut all = cards(scale, epoch);
        // Newest first, ties by id, as the vault's "newest" sort.
        all.sort_by(|a, b| {
            b.published.cmp(&a.published).then_with(|| {
                spec::workflow_id(a.i)
                    .to_string()
                    .cmp(&spec::workflow_id(b.i).to_string())
            })
        });
        let tx = c.transaction()?;
        tx.execute_batch(SQLITE_SCHEMA)?;
        for (seq, card) in all.iter().enumerate() {
            let i = card.i;
            let at = card.published.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string();
            let spaced: String = card.words.iter().map(|w| format!(" {w}")).collect();
            tx.prepare_cached(
                "INSERT INTO cards VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'USD', ?9, ?10, \
                 'published', ?11, 0, 0, 0, ?12, ?12, ?13)",
            )?
            .execute(params![
                seq as i64,
                spec::workflow_id(i).to_string(),
                spec::slug(i),
                spec::title(i),
                spec::short_description(i),
                card.category,
                card.tier,
                spec::price_cents(i),
                spec::score_x10(i),
                thumbnail(i),
                spec::downloads(i) as i64,
                at,
                spaced,
            ])?;
            tx.prepare_cached("INSERT INTO card_words (rowid, words) VALUES (?1, ?2)")?
                .execute(params![seq as i64, card.words.join(" ")])?;
        }
        tx.commit()?;
        Ok(Self {
            conn: Mutex::new(c),
        })
    }

    /// One listing page: published cards of `category` and `tier` (the
    /// spec's indexes), most downloaded first. The page's workflow ids.
    pub fn list(&self, category: i64, tier: i64) -> rusqlite::Result<Vec<String>> {
        self.page(SQLITE_LIST, params![category, tier])
    }

    /// One search page for `text`, newest first. The page's workflow ids.
    pub fn search(&self, text: &str) -> rusqlite::Result<Vec<String>> {
        let terms = search_terms(text);
        let mut values = vec![match_expr(&terms)];
        values.extend(terms.iter().map(|t| format!(" {t}")));
        self.page(
            &sqlite_search(terms.len()),
            rusqlite::params_from_iter(values),
        )
    }

    /// Steps through the page reading every column borrowed; the ids are
    /// what a caller links to.
    fn page(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<String>> {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = c.prepare_cached(sql)?;
        let mut rows = stmt.query(p)?;
        let mut ids = Vec::with_capacity(PAGE as usize);
        let mut acc = 0u64;
        while let Some(row) = rows.next()? {
            for i in 1..17 {
                acc = acc.wrapping_add(match row.get_ref(i)? {
                    ValueRef::Null => 0,
                    ValueRef::Integer(v) => v as u64,
                    ValueRef::Real(f) => f.to_bits(),
                    ValueRef::Text(t) | ValueRef::Blob(t) => t.len() as u64,
                });
            }
            ids.push(row.get(0)?);
        }
        std::hint::black_box(acc);
        Ok(ids)
    }
}

/// The PostgreSQL catalog baseline: one connection.
#[derive(Debug)]
pub struct MinCatalogPg {
    conn: PgConnection,
}

impl MinCatalogPg {
    /// Creates the frozen schema in the database `options` names (beside
    /// [`crate::min::MinPg`]'s tables) and loads `scale`'s cards.
    pub async fn create(
        options: &PgConnectOptions,
        scale: &Scale,
        epoch: DateTime<Utc>,
    ) -> sqlx::Result<Self> {
        let mut c = PgConnection::connect_with(options).await?;
        let all = cards(scale, epoch);
        let mut tx = c.begin().await?;
        sqlx::raw_sql(PG_SCHEMA).execute(&mut *tx).await?;
        let col = |f: &dyn Fn(&Card) -> String| all.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO cards SELECT id, slug, title, short, cat, tier, price, 'USD', score, \
             thumb, 'published', downloads, 0, 0, 0, at, at, \
             array_to_tsvector(string_to_array(words, ' ')) \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], \
             $7::bigint[], $8::int[], $9::text[], $10::bigint[], $11::timestamptz[], $12::text[]) \
             AS t(id, slug, title, short, cat, tier, price, score, thumb, downloads, at, words)",
        )
        .bind(
            all.iter()
                .map(|k| spec::workflow_id(k.i).as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(col(&|k| spec::slug(k.i)))
        .bind(col(&|k| spec::title(k.i)))
        .bind(col(&|k| spec::short_description(k.i)))
        .bind(all.iter().map(|k| k.category as i32).collect::<Vec<_>>())
        .bind(all.iter().map(|k| k.tier as i32).collect::<Vec<_>>())
        .bind(
            all.iter()
                .map(|k| spec::price_cents(k.i))
                .collect::<Vec<_>>(),
        )
        .bind(
            all.iter()
                .map(|k| spec::score_x10(k.i) as i32)
                .collect::<Vec<_>>(),
        )
        .bind(col(&|k| thumbnail(k.i)))
        .bind(
            all.iter()
                .map(|k| spec::downloads(k.i) as i64)
                .collect::<Vec<_>>(),
        )
        .bind(all.iter().map(|k| k.published).collect::<Vec<_>>())
        .bind(col(&|k| k.words.join(" ")))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        sqlx::raw_sql("ANALYZE cards").execute(&mut c).await?;
        Ok(Self { conn: c })
    }

    /// One listing page (see [`MinCatalogSqlite::list`]).
    pub async fn list(&mut self, category: i64, tier: i64) -> sqlx::Result<Vec<uuid::Uuid>> {
        let rows = sqlx::query(PG_LIST)
            .bind(category as i32)
            .bind(tier as i32)
            .fetch_all(&mut self.conn)
            .await?;
        page(&rows)
    }

    /// One search page for `text`, newest first.
    pub async fn search(&mut self, text: &str) -> sqlx::Result<Vec<uuid::Uuid>> {
        let rows = sqlx::query(PG_SEARCH)
            .bind(tsquery(text))
            .fetch_all(&mut self.conn)
            .await?;
        page(&rows)
    }
}

/// Reads every column of every row as raw bytes; the ids decoded.
fn page(rows: &[PgRow]) -> sqlx::Result<Vec<uuid::Uuid>> {
    let mut acc = 0u64;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        for i in 1..row.len() {
            let v = row.try_get_raw(i)?;
            if !v.is_null() {
                acc = acc.wrapping_add(v.as_bytes().map_err(sqlx::Error::Decode)?.len() as u64);
            }
        }
        ids.push(row.try_get(0)?);
    }
    std::hint::black_box(acc);
    Ok(ids)
}

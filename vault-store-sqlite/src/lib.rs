//! # vault-store-sqlite
//!
//! The embedded default backend of Workflow Vault: one SQLite file, no
//! server, the whole storage contract of [`vault_core::store`] including its
//! guarded writes, across threads and across processes sharing the file.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use vault_store_sqlite::SqliteStore;
//!
//! let store = Arc::new(SqliteStore::open("vault.db").await?);
//! // Vault::new(store, clock, entropy, config) ...
//! # Ok(()) }
//! ```
//!
//! ## How it runs
//! * **SQLite is bundled** (rusqlite's `bundled` feature): a fresh machine
//!   needs no system library. FTS5 comes with it.
//! * **WAL mode**, foreign keys on, a busy timeout (5 s by default) so
//!   writers from other processes wait instead of failing.
//! * **Durability:** `synchronous = FULL` by default: a transaction that
//!   returned is on disk and survives a power loss. `NORMAL`
//!   ([`Synchronous::Normal`]) is about three times faster for writes here and
//!   still never corrupts the database, but the last transactions before a
//!   power loss (not a process crash) may roll back; choose it when the
//!   payment provider can replay what was lost.
//! * **Async without blocking the runtime:** rusqlite is blocking. On a
//!   multi-threaded runtime, reads and writes that can start at once run
//!   under `block_in_place` (the worker's other tasks move to another
//!   thread; the blocking pool's two wake-ups cost more than a read itself).
//!   A write that would wait for the lock (another task or process holds
//!   it) and every call on a current-thread runtime go to tokio's blocking
//!   pool, so waiting never holds a worker. Each call is
//!   one closure, so it cannot be cancelled halfway. One writer connection
//!   (SQLite allows one writer at a time anyway) and several reader
//!   connections, which WAL lets read while the writer writes.
//! * **Atomic, guarded writes:** every write is one `BEGIN IMMEDIATE`
//!   transaction, which takes the database's write lock up front; its
//!   preconditions (quota room, expected status, expected revision) are
//!   checked inside it, so they still hold at commit time whatever other
//!   threads or processes do.
//! * **Schema:** the seed's tables and views in SQLite terms, versioned
//!   migrations embedded in the crate (`PRAGMA user_version`): opening a
//!   database applies what is pending, reopening is a no-op, and a database
//!   written by a newer version of this crate is refused with
//!   [`SchemaError::TooNew`]. Money is stored as integer minor units with
//!   its currency (exact and summable), timestamps as fixed-width UTC text
//!   (`2025-02-13T09:00:00.000000000Z`, so text order is time order).
#![deny(missing_docs)]

mod account;
mod catalog;
mod codec;
mod comment;
mod commerce;
mod community;
mod delivery;
#[cfg(feature = "fault-injection")]
mod fault;
mod insight;
mod jobs;
mod schema;
mod sql;
mod webhooks;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use vault_core::store::{StoreError, StoreResult};

use crate::codec::{db, is_busy};
pub use crate::schema::{SCHEMA_VERSION, SchemaError};

/// Registers on `conn` the SQL functions the store's statements call
/// (`vault_has_words`, a search's word match), for a connection of your
/// own that runs the store's SQL on its file. The store's connections
/// have them already.
pub fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    catalog::search::register_has_words(conn)
}

/// How hard SQLite pushes each commit to disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is durable, also across power loss (the default).
    #[default]
    Full,
    /// Faster; a power loss may roll back the last commits (never corrupts).
    Normal,
}

/// Settings for [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Reader connections (at least one).
    pub readers: usize,
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// How long a writer waits for another process's write lock.
    pub busy_timeout: Duration,
    /// How many rows of a listing, in its order, a search reads for its
    /// page before it asks the full-text index instead. Default 1000.
    ///
    /// A common term fills its page within the first rows of the listing,
    /// so matching each row as the listing's index is walked finds the page
    /// at a cost that does not grow with the catalog, where the full-text
    /// index yields every match first (for a term on 3% of 100k workflows,
    /// ~0.1 ms against ~2.4 ms here). A term too rare to fill a page within
    /// the window has few matches, so the index is then cheap; what the
    /// window costs is reading it for such a term (~0.35 ms for 1000 rows
    /// here). The page is the same whatever the window: it only moves the
    /// cost. 0 asks the index at once.
    pub search_window: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 4,
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            search_window: 1000,
        }
    }
}

struct Inner {
    writer: Mutex<Connection>,
    // Empty for in-memory databases, whose one connection does everything.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    // The writer's busy timeout, restored after a non-waiting attempt.
    busy_timeout: Duration,
    search_window: i64,
    location: Option<PathBuf>,
    #[cfg(feature = "fault-injection")]
    faults: fault::Faults,
}

/// A Workflow Vault store in one SQLite database. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.inner.location)
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection leaves no transaction open (the
    // Transaction's drop rolls back), so the connection is safe to reuse.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prepared statements kept per connection: more than the store issues.
const STATEMENT_CACHE: usize = 256;

fn configure(conn: &Connection, options: &SqliteOptions, file: bool) -> StoreResult<()> {
    conn.busy_timeout(options.busy_timeout).map_err(db)?;
    every_connection(conn)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    if file {
        // WAL lets readers read while the writer writes; it is a property of
        // the file, so every process sees it.
        enable_wal(conn, options.busy_timeout)?;
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(db)?;
    Ok(())
}

/// What the writer and every reader set up alike: statements compiled
/// once ([`prepare_once`]) and the SQL functions the statements call.
fn every_connection(conn: &Connection) -> StoreResult<()> {
    prepare_once(conn)?;
    register_functions(conn).map_err(db)
}

/// Every connection, the writer and each reader, compiles each statement
/// once:
/// * rusqlite keeps 16 prepared statements per connection by default; a
///   download alone issues more than that on the writer (its access read,
///   the guard, the row, the counters, the rollup), and past the cache
///   every statement is parsed and planned again: a download took twice as
///   long. A reader serves every kind of read in turn (access, listings,
///   search, dashboards). The store's statements are a fixed set, so the
///   cache holds them all.
/// * The query planner's stability guarantee: SQLite otherwise reads some
///   bound values while planning (a `LIMIT ?`, a value a partial index's
///   `WHERE` might match), and a statement so planned is compiled again on
///   each new binding, every call (profiled: the parked-events read of
///   every webhook was parsed again each time, ~6% of its handling). Where
///   a value must shape the plan, the statement spells it as a literal (the
///   listing's page size, the partial indexes' statuses).
fn prepare_once(conn: &Connection) -> StoreResult<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    Ok(())
}

/// Switches a file database to WAL. The switch needs the file's exclusive
/// lock, and when several connections open a fresh file at once SQLite
/// answers SQLITE_BUSY at once instead of waiting in the busy handler; so
/// retry, within the same time budget as any other lock wait.
fn enable_wal(conn: &Connection, timeout: Duration) -> StoreResult<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            // SQLite answers with the mode it kept: a filesystem without
            // shared memory stays in rollback mode, and the concurrency the
            // docs promise would silently be gone.
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(StoreError::backend(
                    "sqlite",
                    format!("the database refused WAL mode (journal_mode stayed {mode})"),
                ));
            }
            Err(e) => return Err(db(e)),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default
    /// options, applying pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the database at `path` with `options`.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(Some(path), options))
            .await
            .map_err(|e| StoreError::backend("sqlite", e))?
    }

    /// A private in-memory database (one connection), for tests.
    pub async fn open_in_memory() -> StoreResult<Self> {
        tokio::task::spawn_blocking(|| Self::open_blocking(None, SqliteOptions::default()))
            .await
            .map_err(|e| StoreError::backend("sqlite", e))?
    }

    fn open_blocking(path: Option<PathBuf>, options: SqliteOptions) -> StoreResult<Self> {
        let mut writer = match &path {
            Some(p) => Connection::open(p).map_err(db)?,
            None => Connection::open_in_memory().map_err(db)?,
        };
        // Before configure: switching to WAL rewrites the file's header, and
        // a database this crate refuses must be left untouched.
        writer.busy_timeout(options.busy_timeout).map_err(db)?;
        schema::refuse_too_new(&writer)?;
        configure(&writer, &options, path.is_some())?;
        schema::migrate(&mut writer)?;
        let mut readers = Vec::new();
        if let Some(p) = &path {
            for _ in 0..options.readers.max(1) {
                let r = Connection::open_with_flags(
                    p,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_URI
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(db)?;
                r.busy_timeout(options.busy_timeout).map_err(db)?;
                every_connection(&r)?;
                readers.push(Mutex::new(r));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                busy_timeout: options.busy_timeout,
                search_window: i64::from(options.search_window),
                location: path,
                #[cfg(feature = "fault-injection")]
                faults: fault::Faults::default(),
            }),
        })
    }

    /// Where the database lives (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.location.as_deref()
    }

    /// Runs `f` on a reader connection, off the async runtime, in one read
    /// transaction ([`snapshot`]).
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.read_as(Reads::Several, f).await
    }

    /// [`read`](Self::read), for `f` reading as `reads` says.
    async fn read_as<T, F>(&self, reads: Reads, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        read_in_place(move || {
            if inner.readers.is_empty() {
                return reads.run(&lock(&inner.writer), f);
            }
            let n = inner.readers.len();
            let start = inner.next_reader.fetch_add(1, Ordering::Relaxed) % n;
            // Take the first idle reader, else wait for the one in turn.
            for i in 0..n {
                if let Ok(conn) = inner.readers[(start + i) % n].try_lock() {
                    return reads.run(&conn, f);
                }
            }
            reads.run(&lock(&inner.readers[start]), f)
        })
        .await
    }

    /// Runs `f` as [`read_as`](Self::read_as) does, but on the writer
    /// connection when it is free: for a read a write follows at once.
    /// SQLite drops a connection's page cache when another connection has
    /// committed since its last read, so a reader reads every page again
    /// after each download; the writer's cache survives its own commits.
    /// Busy, the writer is not waited for: a reader takes the read.
    async fn read_before_write<T, F>(&self, reads: Reads, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        if in_place_allowed() {
            let attempt = tokio::task::block_in_place(|| match inner.writer.try_lock() {
                Ok(conn) => Attempt::Done(reads.run(&conn, f)),
                Err(_) => Attempt::Busy(f),
            });
            match attempt {
                Attempt::Done(out) => out,
                Attempt::Busy(f) => self.read_as(reads, f).await,
            }
        } else {
            self.read_as(reads, f).await
        }
    }

    /// A staff write: `f`, then its audit entry, in one transaction.
    async fn audited<T, F>(&self, audit: &vault_core::store::AuditEntry, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let audit = audit.clone();
        self.write(move |tx| {
            let out = f(tx)?;
            account::append_audit(tx, &audit)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer: committed
    /// if `f` returns `Ok`, rolled back (nothing written) otherwise.
    ///
    /// On a multi-threaded runtime it first tries to write right here, under
    /// `block_in_place`, but only when nothing would make it wait: the
    /// writer connection is free in this process and no other process holds
    /// the write lock (asked with a zero busy timeout). Otherwise, and on a
    /// current-thread runtime, the write goes to the blocking pool, where it
    /// may wait for the lock up to the busy timeout without holding a worker.
    /// The pool's hand-off costs two cross-thread wake-ups, about as much as
    /// a download's whole transaction on tmpfs (benches/README.md).
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let f = if in_place_allowed() {
            match tokio::task::block_in_place(|| write_now(&inner, f)) {
                Attempt::Done(out) => return out,
                Attempt::Busy(f) => f,
            }
        } else {
            f
        };
        blocking(move || {
            let mut conn = lock(&inner.writer);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            run_write(&inner, tx, f)
        })
        .await
    }

    /// Makes the next write that reaches step `step` fail there (tests only).
    #[cfg(feature = "fault-injection")]
    pub fn fail_at(&self, step: &'static str) {
        self.inner.faults.arm(step);
    }
}

/// Runs a read without stalling the async runtime.
///
/// On a multi-threaded runtime the read runs right here, under
/// `block_in_place`: the worker hands its other tasks to another thread and
/// this one blocks for the read. Elsewhere (a current-thread runtime, where
/// `block_in_place` panics) it goes to the blocking pool. The pool costs two
/// cross-thread wake-ups per call, which on a 2-vCPU VM took ~100 us against
/// SQLite's ~40 us for a whole access read (benches/README.md). A WAL read
/// never waits for the write lock, so it holds the thread only for its own
/// work.
async fn read_in_place<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    if in_place_allowed() {
        tokio::task::block_in_place(f)
    } else {
        blocking(f).await
    }
}

/// Whether blocking work may run on the calling thread under
/// `block_in_place` (a multi-threaded runtime), instead of the pool.
fn in_place_allowed() -> bool {
    matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    )
}

/// How a read's closure reads, and so whether it needs a transaction.
#[derive(Clone, Copy)]
enum Reads {
    /// Several statements, which must see one snapshot: in a read
    /// transaction ([`snapshot`]).
    Several,
    /// One statement: SQLite reads it from one snapshot on its own, and a
    /// `BEGIN` and `ROLLBACK` around it would cost ~4k instructions.
    One,
}

impl Reads {
    fn run<T>(
        self,
        c: &Connection,
        f: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match self {
            Reads::Several => snapshot(c, f),
            Reads::One => f(c),
        }
    }
}

/// Runs the statements of `f` in one deferred read transaction.
///
/// Two reasons. Every statement `f` issues sees the same snapshot, so a
/// read made of several statements (a signed-in viewer's listing and
/// standing, a search's window and its fallback) cannot mix states from
/// before and after a concurrent write. And it is cheaper: outside a transaction each statement opens and
/// closes its own WAL read transaction, two `fcntl` locks on the shared
/// memory file each time; profiled, that was over a third of the access
/// read's time when it was six statements (benches/README.md § The limit).
fn snapshot<T>(c: &Connection, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    /// Ends the transaction however `f` leaves (an error or a panic too),
    /// so the pooled connection is never handed on inside one. Rolling
    /// back a transaction that only read is the same as committing it.
    struct End<'c>(&'c Connection);
    impl Drop for End<'_> {
        fn drop(&mut self) {
            if !self.0.is_autocommit() {
                let _ = self
                    .0
                    .prepare_cached("ROLLBACK")
                    .and_then(|mut s| s.execute([]));
            }
        }
    }
    c.prepare_cached("BEGIN")
        .and_then(|mut s| s.execute([]))
        .map_err(db)?;
    let _end = End(c);
    f(c)
}

/// The outcome of [`write_now`].
enum Attempt<T, F> {
    /// The write ran (committed or rolled back).
    Done(StoreResult<T>),
    /// It would have had to wait: the body is handed back, unrun.
    Busy(F),
}

/// Runs the write on the calling thread if it can start without waiting.
fn write_now<T, F>(inner: &Inner, f: F) -> Attempt<T, F>
where
    F: FnOnce(&Tx<'_>) -> StoreResult<T>,
{
    // Another task of this process is writing: wait for it on the pool.
    // (A poisoned lock goes there too; `lock` recovers it.)
    let Ok(mut conn) = inner.writer.try_lock() else {
        return Attempt::Busy(f);
    };
    // Zero busy timeout: another process's lock answers SQLITE_BUSY at once
    // instead of sleeping in the busy handler on this worker.
    if let Err(e) = conn.busy_timeout(Duration::ZERO) {
        return Attempt::Done(Err(db(e)));
    }
    let refused = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => {
            // The lock, once held, is all a WAL commit needs: the timeout
            // goes back before the body runs, so the connection leaves as it
            // came. (On error the transaction's drop rolls back.)
            if let Err(e) = tx.busy_timeout(inner.busy_timeout) {
                return Attempt::Done(Err(db(e)));
            }
            return Attempt::Done(run_write(inner, tx, f));
        }
        Err(e) => e,
    };
    match conn.busy_timeout(inner.busy_timeout) {
        Ok(()) if is_busy(&refused) => Attempt::Busy(f),
        Ok(()) => Attempt::Done(Err(db(refused))),
        Err(e) => Attempt::Done(Err(db(e))),
    }
}

/// Runs `f` in the open transaction `tx`: commits if it returns `Ok`,
/// rolls back (nothing written) otherwise.
fn run_write<T, F>(inner: &Inner, tx: Transaction<'_>, f: F) -> StoreResult<T>
where
    F: FnOnce(&Tx<'_>) -> StoreResult<T>,
{
    #[cfg(not(feature = "fault-injection"))]
    let _ = inner; // only the fault hooks need it
    let wrapped = Tx {
        tx: &tx,
        #[cfg(feature = "fault-injection")]
        faults: &inner.faults,
    };
    let out = f(&wrapped)?;
    tx.commit().map_err(db)?;
    Ok(out)
}

/// Runs blocking SQLite work on tokio's blocking pool: writes, which may
/// wait for another process's lock up to the busy timeout.
async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::backend("sqlite", e))?
}

/// A write transaction, with the fault-injection hook when enabled.
struct Tx<'a> {
    tx: &'a Transaction<'a>,
    #[cfg(feature = "fault-injection")]
    faults: &'a fault::Faults,
}

impl<'a> std::ops::Deref for Tx<'a> {
    type Target = Transaction<'a>;
    fn deref(&self) -> &Self::Target {
        self.tx
    }
}

impl Tx<'_> {
    /// A named point inside a multi-step write, where tests can inject a
    /// failure. Compiles to nothing without `fault-injection`.
    #[inline]
    fn step(&self, _name: &'static str) -> StoreResult<()> {
        #[cfg(feature = "fault-injection")]
        self.faults.check(_name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// A statement shaped like the store's (a `LIMIT ?`, a status a partial
    /// index names) is compiled once on every connection, whatever is bound:
    /// without the planner's stability guarantee SQLite compiles it again on
    /// each call.
    #[test]
    fn every_connection_compiles_a_statement_once() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open_blocking(Some(dir.path().join("v.db")), SqliteOptions::default())
                .unwrap();
        let inner = &store.inner;
        let conns = std::iter::once(&inner.writer).chain(&inner.readers);
        let mut checked = 0;
        for conn in conns {
            let conn = lock(conn);
            let mut st = conn
                .prepare_cached(
                    "SELECT id FROM stripe_webhook_events WHERE status = ?1 \
                     AND waiting_for = ?2 ORDER BY received_at, id LIMIT ?3",
                )
                .unwrap();
            for (i, status) in ["parked", "failed", "parked"].iter().enumerate() {
                let key = format!("payment:{i}");
                let mut rows = st
                    .query(rusqlite::params![status, key, 10 + i as i64])
                    .unwrap();
                while rows.next().unwrap().is_some() {}
            }
            assert_eq!(st.get_status(StatementStatus::RePrepare), 0);
            checked += 1;
        }
        assert!(checked >= 2, "the writer and at least one reader");
    }
}

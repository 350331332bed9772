//! # vault-store-postgres
//!
//! The PostgreSQL backend of Workflow Vault: the seed schema in PostgreSQL
//! types and the whole storage contract of [`vault_core::store`], guarded
//! writes included, for any number of app servers sharing one database.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use vault_store_postgres::PgStore;
//!
//! // Connects and applies pending migrations.
//! let store = Arc::new(PgStore::connect("postgres://vault@db.internal/vault").await?);
//! // Vault::new(store, clock, entropy, config) ...
//! # Ok(()) }
//! ```
//!
//! An app that owns its pool (or migrates in a deploy step) uses
//! [`migrate`] and [`PgStore::from_pool`] instead.
//!
//! ## How it runs
//! * **sqlx, runtime-checked queries.** Every statement goes through
//!   `sqlx::query` with rows read by `Row::try_get`, never the `query!`
//!   macros: those need a live database (or a committed `.sqlx/` cache) at
//!   compile time, and this workspace must build on a machine with none.
//!   What the macros would check at build time, the conformance suite checks
//!   against a real server.
//! * **Schema:** [`migrations/0001_workflow_vault.sql`][MIGRATOR], embedded
//!   with `sqlx::migrate!` and applied by [`migrate`] (tracked in
//!   `_sqlx_migrations`; applying twice is a no-op, concurrent appliers are
//!   serialized by sqlx's advisory lock). UUID keys, `TIMESTAMPTZ`,
//!   `NUMERIC` money with its currency (exact, never float), JSONB for the
//!   flexible fields, `TEXT[]` tags, CHECK constraints for every enumerated
//!   value and range, the seed's views `active_memberships` and
//!   `workflow_stats`, and the nine core categories as seed rows.
//!   [`ROLLBACK_SQL`] undoes it; [`ROW_LEVEL_SECURITY_SQL`] adds optional
//!   policies for apps that expose the database directly. Migration 0019
//!   changes column types (one-column checks as domains, which PostgreSQL
//!   does not re-read on every write): PostgreSQL then refuses statements
//!   prepared before it that return those columns, so instances of an
//!   older version still running need their pools recycled after it.
//! * **One transaction per write.** Each trait method that writes is one
//!   transaction at the server's default isolation (READ COMMITTED). Its
//!   preconditions are checked inside it on locked rows: a conditional
//!   `UPDATE ... WHERE ... RETURNING` for quota charges (the row lock makes
//!   the second writer re-check the condition against the first one's
//!   commit), `SELECT ... FOR UPDATE` / `FOR NO KEY UPDATE` of the row an
//!   expected status or revision is read from, and of the workflow row
//!   before file and version writes. Counters move by delta (`x = x + 1`)
//!   under those locks, never by recount, so concurrent writers never lose
//!   an increment. Where two inserts can race on a unique key the unique
//!   violation (SQLSTATE 23505) becomes [`StoreError::AlreadyExists`]; a
//!   deadlock (40P01) or serialization failure (40001) retries the whole
//!   transaction a few times. Multi-row counter updates take their locks in
//!   id order to avoid deadlocks in the first place.
//! * **Failures are typed and leave nothing behind.** A dropped connection,
//!   a server restart or a constraint the store did not expect is
//!   [`StoreError::Backend`] with the `sqlx::Error` as its source; the open
//!   transaction is rolled back by the server, and the connection goes
//!   back to sqlx, which pings it and drops it, so the next call works. A
//!   connection the server closed while idle fails the one call that takes
//!   it unless [`PgOptions::test_before_acquire`] is set.
//! * **Connections between calls:** a call that finished cleanly parks its
//!   connection for the next one instead of returning it to sqlx, whose
//!   return path pings every connection (one round trip per call); see
//!   [`PgOptions::parked_connections`].
//! * **Search:** a `tsvector` column with a GIN index holds the words of
//!   title, short description, description and tags exactly as
//!   [`vault_core::catalog::query::search_terms`] splits and lowercases them (written
//!   with `array_to_tsvector`, so PostgreSQL's parser never re-tokenizes
//!   them); a query is `to_tsquery('simple', '''word'':* & ...')` built from
//!   the same function: every word must be a prefix of some word, no
//!   stemming, no stop words — the core semantics.
//! * **Listing** follows [`vault_core::catalog::query`] exactly: filters are
//!   `= ANY`, `tags @> $1` and NUMERIC price bounds; every sort is key
//!   descending then id, rating keys compare as exact fractions (ordered by
//!   a NUMERIC average carried to 40 decimals, cursors compared by
//!   cross-multiplication). Each sort has an index on (status, key, id)
//!   except the Bayesian one, whose key depends on the query's prior.
//! * **Timestamps** are stored at PostgreSQL's microsecond precision: a
//!   value with nanoseconds reads back truncated to the microsecond.
//! * **Connections:** [`PgOptions::max_connections`] (40 by default) bounds
//!   the pool; a write holds one connection for its transaction.
//!
//! ## Row-level security (optional)
//! The store needs none: it connects as the tables' owner and vault-core
//! decides who sees what. Apps that also expose the database directly
//! (PostgREST, a BI tool) run [`install_row_level_security`] once: roles
//! `vault_anon` (published content), `vault_user` (that plus the rows of the
//! user named by the setting `app.user_id`) and `vault_service` (every row).
//!
//! ## Testing
//! The tests read `DATABASE_URL` (any database on the server; each test
//! creates its own `vault_test_<secs>_<uuid>` database there) and skip with
//! a printed notice when it is unset or the server does not answer; with
//! `VAULT_REQUIRE_POSTGRES=1` they fail instead, as in CI:
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres VAULT_REQUIRE_POSTGRES=1 \
//!     cargo test -p vault-store-postgres
//! ```
//!
//! The `fault-injection` feature (tests only) adds `PgStore::fail_at` and
//! `PgStore::pause_at`: a write stops inside its open transaction so a test
//! can kill its connection and check that nothing partial was committed.
#![deny(missing_docs)]

mod account;
mod audit;
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
mod lease;
mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;
mod webhooks;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use vault_core::store::{StoreError, StoreResult};

#[cfg(feature = "fault-injection")]
pub use crate::fault::Pause;
pub use crate::schema::{
    MIGRATOR, ROLLBACK_SQL, ROW_LEVEL_SECURITY_SQL, install_row_level_security, migrate, rollback,
};

/// How many times a transaction that lost a deadlock or a serialization
/// check is run again before the error is returned.
const MAX_RETRIES: u32 = 3;

/// [`PgOptions::parked_connections`] by default.
const DEFAULT_PARKED: usize = 8;

/// [`PgOptions::search_window`]'s default.
const DEFAULT_SEARCH_WINDOW: u32 = 1000;

/// Settings for [`PgStore::connect_with`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections the pool opens. Concurrent writes each hold one for
    /// their transaction; 32 concurrent downloads run truly in parallel only
    /// with at least 32. Default 40.
    pub max_connections: u32,
    /// Connections kept open while idle. Default 0.
    pub min_connections: u32,
    /// How long a call waits for a free connection before failing with
    /// [`StoreError::Backend`]. Default 30 s.
    pub acquire_timeout: Duration,
    /// Apply pending migrations on connect. Default true.
    pub migrate: bool,
    /// Ping every connection before handing it to a call. Default false:
    /// sqlx already pings each connection as it returns to the pool and
    /// drops it if broken, so a connection that failed during a call never
    /// serves another. What the ping before checkout adds is catching a
    /// connection the server closed while it sat idle (a restart, a proxy's
    /// idle timeout): without it, the one call that takes such a connection
    /// fails with [`StoreError::Backend`] and the pool replaces it. The
    /// price is one more round trip on every store call (~0.1-0.2 ms on
    /// loopback here; download went from 0.70x to ~0.9x of its raw SQL in
    /// `benches/`). Setting it also turns off [`parked_connections`]: every
    /// call then checks out through sqlx.
    ///
    /// [`parked_connections`]: PgOptions::parked_connections
    pub test_before_acquire: bool,
    /// Connections kept checked out between calls, at most half of
    /// `max_connections`. Default 8; 0 turns parking off.
    ///
    /// sqlx pings every connection it gets back, one round trip per call.
    /// A call that finished cleanly parks its connection instead, and the
    /// next call takes it without the ping; a call that failed or was
    /// cancelled hands its connection back to sqlx, and a connection parked
    /// unused for a second goes back within another half second (a task on
    /// the runtime the store was built on sweeps them), or at once when the
    /// pool is closed. Up to this many connections are therefore out of
    /// sqlx's idle queue while the store is busy.
    pub parked_connections: usize,
    /// How many rows of a listing, in its order, a search reads for its
    /// page before it asks the word index instead. Default 1000.
    ///
    /// A common term fills its page within the first rows of the listing,
    /// so walking the listing's index and matching each row finds the page
    /// at a cost that does not grow with the catalog, where the word index
    /// yields every match to fetch and sort (for a term on 3% of 100k
    /// workflows, ~0.4 ms against ~17 ms here). A term too rare to fill a
    /// page within the window has few matches, so the word index is then
    /// cheap; what the window costs is reading it for such a term (~0.7 ms
    /// for 1000 rows here). The page is the same whatever the window: it
    /// only moves the cost. 0 asks the word index at once.
    pub search_window: u32,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 40,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            migrate: true,
            test_before_acquire: false,
            parked_connections: DEFAULT_PARKED,
            search_window: DEFAULT_SEARCH_WINDOW,
        }
    }
}

/// A Workflow Vault store in one PostgreSQL database. Cheap to clone (the
/// clones share the pool).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    parking: Arc<lease::Parking>,
    search_window: i64,
    #[cfg(feature = "fault-injection")]
    faults: std::sync::Arc<fault::Faults>,
}

impl fmt::Debug for PgStore {
    // Never the connection URL or options: they may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        f.debug_struct("PgStore")
            .field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("database", &options.get_database())
            .field("username", &options.get_username())
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("parked", &self.parking.len())
            .finish()
    }
}

impl PgStore {
    /// Connects to `url` with default options and applies pending
    /// migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects to `url` with `options`.
    pub async fn connect_with(url: &str, options: PgOptions) -> StoreResult<Self> {
        let connect: PgConnectOptions = url.parse().map_err(codec::db)?;
        Self::connect_with_options(connect, options).await
    }

    /// Connects with parsed sqlx options (host, database, TLS, ...).
    pub async fn connect_with_options(
        connect: PgConnectOptions,
        options: PgOptions,
    ) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(options.min_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(options.test_before_acquire)
            .connect_with(connect)
            .await
            .map_err(codec::db)?;
        if options.migrate {
            migrate(&pool).await?;
        }
        let parked = if options.test_before_acquire {
            0
        } else {
            options.parked_connections
        };
        Ok(Self::with_parking(
            pool,
            parked,
            i64::from(options.search_window),
        ))
    }

    /// A store over an existing pool. Does not migrate: call [`migrate`]
    /// first (once per deploy is enough). Parks up to
    /// [`PgOptions::parked_connections`]'s default, none if the pool tests
    /// connections before acquire.
    pub fn from_pool(pool: PgPool) -> Self {
        let parked = if pool.options().get_test_before_acquire() {
            0
        } else {
            DEFAULT_PARKED
        };
        Self::with_parking(pool, parked, i64::from(DEFAULT_SEARCH_WINDOW))
    }

    fn with_parking(pool: PgPool, parked: usize, search_window: i64) -> Self {
        let parking = Arc::new(lease::Parking::new(parked, pool.clone()));
        parking.start_sweeper();
        Self {
            parking,
            pool,
            search_window,
            #[cfg(feature = "fault-injection")]
            faults: Default::default(),
        }
    }

    /// The pool, for the app's own queries. While the store is busy, up to
    /// [`PgOptions::parked_connections`] of its connections are parked by
    /// the store; a parked connection goes back within about a second of
    /// its last call, and at once when the pool is closed.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool, as `pool().close()` does, after handing back the
    /// parked connections: waits until every connection is closed. Calls
    /// made afterwards fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        let closing = self.pool.close();
        // The pool is closed now: what is parked goes back and is closed,
        // and nothing is parked again.
        self.parking.sweep(std::time::Instant::now());
        closing.await;
    }

    /// How many connections are parked between calls now (see
    /// [`PgOptions::parked_connections`]), beside the pool's `size()` and
    /// `num_idle()` for metrics.
    pub fn parked_connections(&self) -> usize {
        self.parking.len()
    }

    /// A connection for one call: a parked one or one from the pool.
    async fn lease(&self) -> StoreResult<lease::Lease<'_>> {
        lease::Lease::take(&self.parking).await
    }

    /// A named point inside a multi-step write where tests can inject a
    /// failure or a pause. Compiles to nothing without `fault-injection`.
    #[inline]
    async fn step(&self, _conn: &mut sqlx::PgConnection, _name: &'static str) -> StoreResult<()> {
        #[cfg(feature = "fault-injection")]
        self.faults.check(_conn, _name).await?;
        Ok(())
    }

    /// Makes the next write that reaches step `step` fail there with
    /// [`StoreError::Backend`], rolling back (tests only).
    #[cfg(feature = "fault-injection")]
    pub fn fail_at(&self, step: &'static str) {
        self.faults.arm(step, fault::Action::Fail);
    }

    /// Makes the next write that reaches step `step` stop there, its
    /// transaction open, until the returned [`Pause`] is released (tests
    /// only): the test can then kill the connection under it.
    #[cfg(feature = "fault-injection")]
    pub fn pause_at(&self, step: &'static str) -> Pause {
        let (pause, action) = fault::Pause::new();
        self.faults.arm(step, action);
        pause
    }
}

/// True for errors worth running the whole transaction again: a deadlock
/// victim or a failed serialization check (nothing was committed).
fn retryable(e: &StoreError) -> bool {
    let StoreError::Backend { source, .. } = e else {
        return false;
    };
    source
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// Runs `$body` (a future using `$conn: &mut PgConnection`) in one
/// transaction: committed when it returns `Ok`, rolled back otherwise, run
/// again on a deadlock or serialization failure.
macro_rules! write_tx {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let store: &$crate::PgStore = $store;
        let mut attempt: u32 = 0;
        loop {
            let mut lease = match store.lease().await {
                Ok(lease) => lease,
                Err(e) => break Err(e),
            };
            let mut tx = match ::sqlx::Connection::begin(&mut *lease).await {
                Ok(tx) => tx,
                Err(e) => break Err($crate::codec::db(e)),
            };
            let out = {
                let $conn: &mut ::sqlx::PgConnection = &mut *tx;
                $body.await
            };
            // Clean: the transaction ended and the server said so. Only then
            // is the connection parked for the next call.
            let (out, clean) = match out {
                Ok(v) => match tx.commit().await {
                    Ok(()) => (Ok(v), true),
                    Err(e) => (Err($crate::codec::db(e)), false),
                },
                // A dead connection cannot roll back; the server already
                // has, and sqlx drops the connection.
                Err(e) => {
                    let rolled_back = tx.rollback().await.is_ok();
                    (Err(e), rolled_back)
                }
            };
            if clean {
                lease.park();
            }
            match out {
                Err(e) if attempt < $crate::MAX_RETRIES && $crate::retryable(&e) => attempt += 1,
                other => break other,
            }
        }
    }};
}
pub(crate) use write_tx;

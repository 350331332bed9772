//! Benchmarks for Workflow Vault (criterion, `harness = false`).
//!
//! * `benches/core.rs`: the pure rules (access decision, rating update,
//!   bundle pricing and allocation).
//! * `benches/stores.rs`: the [`Vault`](vault_core::Vault) over the memory,
//!   SQLite and PostgreSQL stores, each SQLite figure paired in the same run
//!   with [`raw::RawSqlite`] (the same SQL statements through plain
//!   rusqlite) and each PostgreSQL figure with [`raw_pg::RawPg`] (through
//!   one plain sqlx connection); and download throughput with 1, 4 and 16
//!   concurrent tasks. PostgreSQL runs when `DATABASE_URL` answers (see
//!   [`pg`]).
//! * `benches/jobs.rs`: the job queue on SQLite and PostgreSQL: enqueue,
//!   and claim + complete with 1, 4 and 16 workers, each paired with
//!   [`raw_jobs`] (the store's statements, issued directly).
//! * `benches/min.rs`: the download path against [`min`], the least SQL
//!   that does the same job on a frozen schema of its own: how far the
//!   vault is from the limit, and the limit against this machine's anchors.
//! * `src/bin/bench-report.rs`: reads criterion's estimates and writes
//!   `target/bench-report.md` (see [`report`]).
//!
//! This library holds what the benches share: the [`scale`] of the data set,
//! the deterministic data [`spec`], the bulk [`load`]ers (raw SQL in one
//! transaction for SQLite and PostgreSQL, the store trait for memory; never
//! the service), the PostgreSQL server and per-run database ([`pg`]), the
//! benchmark [`world`] (a vault with its targets) and the [`raw`] and
//! [`raw_pg`] baselines. See `benches/README.md` for the commands.

pub mod load;
pub mod min;
pub mod min_catalog;
pub mod pg;
pub mod raw;
pub mod raw_jobs;
pub mod raw_pg;
pub mod report;
pub mod scale;
pub mod spec;
pub mod world;

/// The runtime every store bench runs on: multi-threaded with one worker
/// per core (this machine has two), like an app server.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
        )
        .enable_all()
        .build()
        .expect("tokio runtime")
}

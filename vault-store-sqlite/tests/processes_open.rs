//! Opening a new database file from several OS processes at the same
//! instant: every opening succeeds, and the file ends up in WAL mode with its
//! schema applied once.
//!
//! The `worker_*` test is the opening process: the parent runs this test
//! binary again (see `common/processes.rs`).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use vault_core::testkit::epoch;
use vault_core::value::actor::Actor;
use vault_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

use crate::common::invariants::{check_invariants, query_i64};
use crate::common::processes::{
    GO_ENV, PATIENCE, SEED_ENV, Worker, WorkerEnv, run, say, scratch, worker_vault,
};

// ------------------------------------------------- opening a fresh file

const OPENERS: u64 = 6;
const FRESH_FILES: u32 = 20;
/// Time between two simultaneous openings, in milliseconds.
const OPEN_EVERY_MS: u64 = 40;

fn fresh_file(base: &Path, k: u32) -> PathBuf {
    PathBuf::from(format!("{}-{k}.db", base.display()))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Six processes open the same new file at the same instant (by the wall
/// clock they share), twenty new files in a row: every opening succeeds, and
/// each file ends up in WAL mode with its schema applied once.
///
/// Found a bug: switching a new file to WAL needs an exclusive lock, and
/// SQLite answers `SQLITE_BUSY` at once, without the busy handler, when
/// another process holds the file's lock at that moment; `SqliteStore::open`
/// failed with "database is locked".
#[test]
fn processes_opening_a_new_file_at_once_all_succeed() {
    let base = scratch("fresh", "base");
    let go = scratch("fresh", "go");
    // 120 openings and seedings in all: more patience than one round.
    let deadline = Instant::now() + 4 * PATIENCE;
    let mut workers: Vec<Worker> = (0..OPENERS)
        .map(|i| {
            Worker::spawn(
                "worker_open",
                &base,
                &[
                    (GO_ENV, go.display().to_string()),
                    (SEED_ENV, (5000 + i).to_string()),
                ],
            )
        })
        .collect();
    for w in &mut workers {
        w.expect("ready", deadline, |l| l == "ready");
    }
    // The first opening, a little ahead so that every worker has read it.
    // Written aside and renamed, so a worker never reads it half written.
    let staged = go.with_extension("staged");
    std::fs::write(&staged, (unix_ms() + 100).to_string()).unwrap();
    std::fs::rename(&staged, &go).unwrap();
    let mut failures = Vec::new();
    for w in &mut workers {
        w.expect("done", deadline, |l| l == "done");
        w.finish(deadline);
        failures.extend(w.said.iter().filter(|l| l.starts_with("error ")).cloned());
    }
    assert!(failures.is_empty(), "openings failed: {failures:#?}");
    for k in 0..FRESH_FILES {
        let db = fresh_file(&base, k);
        let conn = Connection::open(&db).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, vault_store_sqlite::SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // Every process seeded the core categories: still nine.
        assert_eq!(
            query_i64(&conn, "SELECT COUNT(*) FROM workflow_categories"),
            9
        );
        drop(conn);
        check_invariants(&db);
    }
}

#[test]
fn worker_open() {
    let Some(env) = WorkerEnv::get() else { return };
    say("ready");
    env.wait_for_go();
    let go = env.go.as_ref().unwrap();
    let first: u64 = std::fs::read_to_string(go).unwrap().trim().parse().unwrap();
    run(async move {
        for k in 0..FRESH_FILES {
            let at = first + u64::from(k) * OPEN_EVERY_MS;
            std::thread::sleep(Duration::from_millis(at.saturating_sub(unix_ms())));
            // NORMAL: what is tested is opening (the switch to WAL under
            // contention), not durability; with FULL the test made ~1800
            // fsyncs, which on this machine's disk took from 3 s to past
            // the deadline from one run to the next.
            let options = SqliteOptions {
                synchronous: Synchronous::Normal,
                ..SqliteOptions::default()
            };
            match SqliteStore::open_with(fresh_file(&env.db, k), options).await {
                Ok(store) => {
                    let (vault, _) = worker_vault(Arc::new(store), env.seed, epoch());
                    let admin = Actor::admin("admin").unwrap();
                    vault.seed_core_categories(&admin).await.unwrap();
                }
                Err(e) => say(format!("error file {k}: {e:?}")),
            }
        }
        say("done");
    });
}

//! Store calls never stall the async runtime, whichever kind it is.
//!
//! A write that waits for SQLite's lock (another connection holds it) runs
//! on the blocking pool, so a ticking task on the same runtime keeps
//! running meanwhile, on a one-worker multi-threaded runtime and on a
//! current-thread one. Running the call inline on the worker would freeze
//! the ticker.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use vault_core::store::Store;
use vault_core::testkit::Fixture;
use vault_store_sqlite::SqliteStore;

async fn a_blocked_write_leaves_the_runtime_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    // Another connection takes the write lock and keeps it for a while.
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let ticks = Arc::new(AtomicU32::new(0));
    let ticker = {
        let ticks = Arc::clone(&ticks);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Seeding the categories writes, so it waits on the busy timeout.
    let write = tokio::spawn(Fixture::new(Arc::clone(&store) as Arc<dyn Store>));
    // Wait (on a thread, so this task does not lend the ticker its turns)
    // until the ticker has ticked a few times while the write still waits
    // for the lock. A blocked runtime would never get there; a slow machine
    // only takes longer (the write waits up to the 5 s busy timeout).
    let mut waited = Duration::ZERO;
    while ticks.load(Ordering::Relaxed) < 5 {
        assert!(
            waited < Duration::from_secs(3),
            "the ticker stalled ({} ticks in {waited:?}) while a store call waited",
            ticks.load(Ordering::Relaxed)
        );
        tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(10)))
            .await
            .unwrap();
        waited += Duration::from_millis(10);
    }
    assert!(
        !write.is_finished(),
        "the write should still wait for the lock"
    );
    holder.execute_batch("COMMIT").unwrap();
    let f = write.await.unwrap();
    assert_eq!(
        f.categories.len(),
        9,
        "the write went through once the lock was free"
    );
    ticker.abort();
}

#[test]
fn on_a_multi_thread_runtime_with_one_worker() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            // From a spawned task, as an app's request handler calls it.
            tokio::spawn(a_blocked_write_leaves_the_runtime_running())
                .await
                .unwrap();
        });
}

#[test]
fn on_a_current_thread_runtime() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(a_blocked_write_leaves_the_runtime_running());
}

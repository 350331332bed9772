//! Store calls never stall the async runtime, whichever kind it is.
//!
//! A write that waits for SQLite's lock (another connection holds it) runs
//! on the blocking pool, so a ticking task on the same runtime keeps
//! running meanwhile, on a one-worker multi-threaded runtime and on a
//! current-thread one. Running the call inline on the worker would freeze
//! the ticker. A write starved past the busy timeout is `StoreError::Busy`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use vault_core::catalog::category::NewCategory;
use vault_core::store::{Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::slug::Slug;
use vault_store_sqlite::{SqliteOptions, SqliteStore};

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

/// Runs `case` in a task spawned on a one-worker multi-thread runtime, as
/// an app's request handler calls the store.
fn on_multi_thread<F: std::future::Future<Output = ()> + Send + 'static>(case: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { tokio::spawn(case).await.unwrap() });
}

/// Runs `case` on a current-thread runtime.
fn on_current_thread<F: std::future::Future<Output = ()>>(case: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(case);
}

#[test]
fn on_a_multi_thread_runtime_with_one_worker() {
    on_multi_thread(a_blocked_write_leaves_the_runtime_running());
}

#[test]
fn on_a_current_thread_runtime() {
    on_current_thread(a_blocked_write_leaves_the_runtime_running());
}

/// A write that waits past the busy timeout for another connection's lock
/// fails with `StoreError::Busy` (try again later), writes nothing, and the
/// same write succeeds once the lock is free.
async fn a_write_starved_past_the_busy_timeout_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(150),
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, options).await.unwrap());
    let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let category = || NewCategory {
        slug: Slug::parse("starved").unwrap(),
        name: "Starved".into(),
        description: String::new(),
        icon: String::new(),
        color: String::new(),
        order_index: 99,
    };
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let starved = f.vault.create_category(&f.admin, category()).await;
    match starved {
        Err(vault_core::Error::Store(StoreError::Busy { backend, .. })) => {
            assert_eq!(backend, "sqlite")
        }
        other => panic!("expected StoreError::Busy, got {other:?}"),
    }
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(f.vault.categories(&f.admin).await.unwrap().len(), 9);
    f.vault.create_category(&f.admin, category()).await.unwrap();
    assert_eq!(f.vault.categories(&f.admin).await.unwrap().len(), 10);
}

#[test]
fn busy_on_a_multi_thread_runtime() {
    on_multi_thread(a_write_starved_past_the_busy_timeout_is_busy());
}

#[test]
fn busy_on_a_current_thread_runtime() {
    on_current_thread(a_write_starved_past_the_busy_timeout_is_busy());
}

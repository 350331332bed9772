//! A fresh PostgreSQL database per test, on the server named by
//! `DATABASE_URL` (feature `testkit`). Without a server the helpers skip
//! (print and return `None`), unless `VAULT_REQUIRE_POSTGRES=1` asks for the
//! server, when they panic: what a test crate of an app or an integration
//! (vault-stripe's) needs to run its tests on PostgreSQL too.
//!
//! Not for production: databases are created and dropped freely.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{PgOptions, PgStore};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// Set once this process has cleared what earlier runs left.
static CLEARED: Mutex<bool> = Mutex::new(false);

/// Databases older than this with nobody connected are left over by an
/// earlier run (or an earlier test binary of this run): dropped.
const STALE_AFTER: Duration = Duration::from_secs(2 * 60);

fn required() -> bool {
    std::env::var("VAULT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

fn skip<T>(why: String) -> Option<T> {
    assert!(!required(), "VAULT_REQUIRE_POSTGRES=1 but {why}");
    println!("skipping PostgreSQL test: {why}");
    None
}

/// The server's connect options and an admin connection, or `None` (skip)
/// when there is none.
pub async fn server() -> Option<(PgConnectOptions, PgConnection)> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return skip("DATABASE_URL is not set".into());
    };
    let options = match PgConnectOptions::from_str(&url) {
        Ok(o) => o,
        Err(e) => return skip(format!("DATABASE_URL does not parse: {e}")),
    };
    match PgConnection::connect_with(&options).await {
        Ok(admin) => Some((options, admin)),
        Err(e) => skip(format!("cannot connect to DATABASE_URL: {e}")),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Best effort, once per process: drops the test databases of earlier runs.
/// Not per test: every DROP DATABASE forces a checkpoint (about 2 s here),
/// so one batch per test binary costs far less. A database still in use
/// (another process's running test) refuses the drop and stays.
async fn drop_old(admin: &mut PgConnection) {
    {
        let mut cleared = CLEARED.lock().unwrap_or_else(|p| p.into_inner());
        if *cleared {
            return;
        }
        *cleared = true;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'vault\\_test\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        let created = name
            .strip_prefix("vault_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|t| t < cutoff) {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\""
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// Creates an empty database `vault_test_<unix secs>_<uuid>` and returns
/// its connect options.
pub async fn fresh_database() -> Option<PgConnectOptions> {
    let (options, mut admin) = server().await?;
    drop_old(&mut admin).await;
    let name = format!(
        "vault_test_{}_{}",
        now_secs(),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    // A test database need not survive a server crash: commits that do not
    // wait for the WAL flush make the suites several times faster. Atomicity
    // and isolation are unchanged.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" SET synchronous_commit = off"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
    Some(options.database(&name))
}

/// A migrated store over a fresh database, with room for 32 concurrent
/// writers on their own connections.
pub async fn fresh_store() -> Option<PgStore> {
    let options = fresh_database().await?;
    Some(
        PgStore::connect_with_options(
            options,
            PgOptions {
                max_connections: 40,
                ..PgOptions::default()
            },
        )
        .await
        .unwrap(),
    )
}

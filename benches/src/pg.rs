//! The PostgreSQL server the `postgres` backend runs on.
//!
//! `DATABASE_URL` names the server (any database on it, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); each scale gets a fresh
//! database `vault_bench_<scale>` there, dropped and created again at the
//! start of a run and dropped after its benches. When `DATABASE_URL` is
//! unset or the server does not answer, [`server`] prints one line and the
//! postgres backend is skipped.
//!
//! Every connection of a run (the store's pool and the raw baseline's
//! connections) sets `synchronous_commit = off` unless
//! `VAULT_BENCH_PG_SYNC=1`: a commit then does not wait for its WAL flush,
//! the PostgreSQL counterpart of the SQLite databases on tmpfs (see
//! [`crate::scale`]). Both sides of every pair use the same setting, so the
//! ratio compares the work each does instead of the disk's mood.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::scale::Scale;

/// How long [`server`] waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether commits wait for their WAL flush (`VAULT_BENCH_PG_SYNC=1`).
pub fn durable_commits() -> bool {
    std::env::var("VAULT_BENCH_PG_SYNC").is_ok_and(|v| v == "1")
}

/// `options` with the session settings every bench connection uses.
/// `VAULT_BENCH_PG_LOG=1` also logs every statement to the server log
/// (`log_statement = all`, which needs a superuser): with
/// `cargo bench -- --test postgres`, each bench runs once, so the log shows
/// a vault operation's statements next to its raw baseline's.
pub fn session(mut options: PgConnectOptions) -> PgConnectOptions {
    if !durable_commits() {
        options = options.options([("synchronous_commit", "off")]);
    }
    if std::env::var("VAULT_BENCH_PG_LOG").is_ok_and(|v| v == "1") {
        options = options.options([("log_statement", "all")]);
    }
    options
}

/// `DATABASE_URL` parsed, when set (no connection attempted).
pub fn server_options() -> Option<PgConnectOptions> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    PgConnectOptions::from_str(&url).ok()
}

/// The server named by `DATABASE_URL`, or `None` (with a printed notice)
/// when it is unset, does not parse or does not answer.
pub async fn server() -> Option<PgConnectOptions> {
    let skip = |why: String| {
        eprintln!("skipping the postgres backend: {why}");
        None
    };
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            return skip(
                "DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres)".into(),
            );
        }
    };
    let options = match PgConnectOptions::from_str(&url) {
        Ok(o) => o,
        Err(e) => return skip(format!("DATABASE_URL does not parse: {e}")),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Some(options)
        }
        Ok(Err(e)) => skip(format!("cannot connect to DATABASE_URL: {e}")),
        Err(_) => skip(format!(
            "DATABASE_URL did not answer within {CONNECT_TIMEOUT:?}"
        )),
    }
}

/// The bench database of `scale`.
pub fn database_name(scale: &Scale) -> String {
    format!("vault_bench_{}", scale.name.to_ascii_lowercase())
}

/// Drops `name` if it exists (disconnecting whoever is still on it).
pub async fn drop_database(server: &PgConnectOptions, name: &str) -> sqlx::Result<()> {
    let mut admin = PgConnection::connect_with(server).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await
}

/// Drops and creates the bench database of `scale`; returns its connect
/// options (with the [`session`] settings).
pub async fn fresh_database(
    server: &PgConnectOptions,
    scale: &Scale,
) -> sqlx::Result<PgConnectOptions> {
    fresh_named_database(server, &database_name(scale)).await
}

/// Drops and creates the database `name`; returns its connect options
/// (with the [`session`] settings).
pub async fn fresh_named_database(
    server: &PgConnectOptions,
    name: &str,
) -> sqlx::Result<PgConnectOptions> {
    drop_database(server, name).await?;
    let mut admin = PgConnection::connect_with(server).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(session(server.clone().database(name)))
}

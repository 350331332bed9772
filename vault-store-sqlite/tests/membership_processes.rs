//! The one-membership rule across OS processes: four processes, four tasks
//! each, start a membership for the same user at the same moment on one
//! database file; exactly one start succeeds.
//!
//! The parent runs this test binary again (`current_exe`) with `--exact
//! worker_starts_memberships` and `VAULT_MEMBERSHIP_WORKER=<db path>`; the
//! worker test returns at once without that variable, so in a normal run it
//! passes trivially. Workers report with lines carrying the [`MARK`] prefix.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vault_core::commerce::membership::{NewMembership, Period};
use vault_core::delivery::download::IpSalt;
use vault_core::store::Store;
use vault_core::testkit::epoch;
use vault_core::value::actor::{Actor, UserId};
use vault_core::value::clock::{ManualClock, SeededEntropy};
use vault_core::value::error::Error;
use vault_core::value::tier::PricingTier;
use vault_core::vault::{Vault, VaultConfig};
use vault_store_sqlite::SqliteStore;

const WORKER_ENV: &str = "VAULT_MEMBERSHIP_WORKER";
const GO_ENV: &str = "VAULT_MEMBERSHIP_GO";
const SEED_ENV: &str = "VAULT_MEMBERSHIP_SEED";
const MARK: &str = "@@vault ";
const PROCESSES: u64 = 4;
const TASKS: usize = 4;

fn scratch(ext: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("membership-processes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.{ext}", uuid::Uuid::new_v4()))
}

fn new_membership() -> NewMembership {
    NewMembership {
        user_id: UserId::parse("contended").unwrap(),
        tier: PricingTier::Pro,
        period: Period::new(epoch(), epoch() + chrono::Duration::days(30)).unwrap(),
        trial: false,
        period_download_limit: Some(5),
        features: Default::default(),
        provider: Default::default(),
    }
}

#[test]
fn worker_starts_memberships() {
    let Some(db) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let go = PathBuf::from(std::env::var_os(GO_ENV).unwrap());
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TASKS)
        .enable_all()
        .build()
        .unwrap();
    let started = runtime.block_on(async move {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(PathBuf::from(db)).await.unwrap());
        let vault = Vault::new(
            store,
            Arc::new(ManualClock::new(epoch())),
            Arc::new(SeededEntropy::new(seed)),
            VaultConfig::new(IpSalt::new(b"membership-processes".to_vec()).unwrap()),
        );
        println!("{MARK}ready");
        while !go.exists() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let vault = vault.clone();
            handles.push(tokio::spawn(async move {
                vault
                    .start_membership(&Actor::Service, new_membership())
                    .await
            }));
        }
        let mut started = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(_) => started += 1,
                Err(Error::AlreadyExists { .. }) => {}
                Err(e) => panic!("a start failed otherwise: {e:?}"),
            }
        }
        started
    });
    println!("{MARK}started {started}");
}

#[test]
fn one_membership_from_four_processes() {
    let db = scratch("db");
    let go = scratch("go");
    // Migrated once, before the workers race to open it.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(SqliteStore::open(&db))
        .unwrap();
    let mut children = Vec::new();
    for seed in 0..PROCESSES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "worker_starts_memberships",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_ENV, &db)
            .env(GO_ENV, &go)
            .env(SEED_ENV, (seed + 1).to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        children.push((child, lines));
    }
    let mut ready = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    for (_, lines) in &mut children {
        for line in lines.by_ref() {
            // The harness may print the test's name on the same line.
            if line.unwrap().contains(&format!("{MARK}ready")) {
                ready += 1;
                break;
            }
        }
        assert!(Instant::now() < deadline, "workers did not get ready");
    }
    assert_eq!(ready, PROCESSES);
    std::fs::write(&go, b"go").unwrap();
    let mut started = 0;
    for (mut child, lines) in children {
        for line in lines {
            let line = line.unwrap();
            if let Some((_, n)) = line.split_once(&format!("{MARK}started ")) {
                started += n.trim().parse::<u32>().unwrap();
            }
        }
        assert!(child.wait().unwrap().success(), "a worker failed");
    }
    assert_eq!(started, 1, "16 starts from 4 processes: exactly one");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row(
            "SELECT count(*) FROM memberships WHERE user_id = 'contended'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1);
}

//! Several OS processes on one database file.
//!
//! * The guards hold across processes: quotas charged by downloads from two
//!   or three processes at once are exact, whether the processes go through
//!   `Vault::download` (which re-decides after losing a race) or call
//!   `record_download` directly with a charge decided before anyone wrote.
//! * A process killed with SIGKILL in the middle of its writes leaves a
//!   database that passes `PRAGMA integrity_check` and whose maintained
//!   counters agree with the rows they count, round after round, and every
//!   write the killed process saw commit is there.
//!
//! The parent tests run this very test binary again (`current_exe`) with
//! `--exact <worker> --nocapture` and `VAULT_SQLITE_WORKER=<db path>`; each
//! `worker_*` test returns at once unless that variable is set, so in a
//! normal run they pass trivially. Workers report to the parent with lines
//! on stdout carrying the [`MARK`] prefix.
#![allow(clippy::unwrap_used)]

use std::fmt::Display;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use vault_core::catalog::file::FileAccess;
use vault_core::commerce::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, ReviewInput, Vote};
use vault_core::delivery::download::{Download, DownloadKind, DownloadSource, IpSalt, RequestInfo};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{Charge, Store, StoreError};
use vault_core::testkit::{Fixture, epoch};
use vault_core::value::actor::{Actor, UserId};
use vault_core::value::clock::{ManualClock, SeededEntropy};
use vault_core::value::error::Error;
use vault_core::value::ids::{DownloadId, ReviewId, WorkflowId};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::vault::{CheckoutItem, Interaction, StartPurchase, Vault, VaultConfig};
use vault_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// The worker's database; its presence is what makes a `worker_*` test work.
const WORKER_ENV: &str = "VAULT_SQLITE_WORKER";
/// A file whose appearance tells waiting workers to start.
const GO_ENV: &str = "VAULT_SQLITE_GO";
/// Seeds the worker's entropy, so processes never mint the same ids.
const SEED_ENV: &str = "VAULT_SQLITE_SEED";
/// Which kill round a write-loop worker belongs to.
const ROUND_ENV: &str = "VAULT_SQLITE_ROUND";
/// A file whose appearance tells a write-loop worker to stop cleanly.
const STOP_ENV: &str = "VAULT_SQLITE_STOP";
/// `normal` makes a write-loop worker open with `synchronous = NORMAL`.
const SYNC_ENV: &str = "VAULT_SQLITE_SYNC";
/// Milliseconds a write-loop worker rests between steps.
const PACE_ENV: &str = "VAULT_SQLITE_PACE_MS";
/// Prefix of the lines workers send to the parent.
const MARK: &str = "@@vault ";

/// No single wait in these tests may take longer.
const PATIENCE: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------ shared

fn scratch(name: &str, ext: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.{ext}", uuid::Uuid::new_v4()))
}

async fn open(db: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(db).await.unwrap())
}

/// Runs a future to completion on a multi-threaded runtime (the racing
/// workers need real parallelism inside their process too).
fn run<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(fut)
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn user(name: &str) -> Actor {
    Actor::user(name).unwrap()
}

// ------------------------------------------------------------- worker side

struct WorkerEnv {
    db: PathBuf,
    go: Option<PathBuf>,
    stop: Option<PathBuf>,
    normal_sync: bool,
    pace: Duration,
    seed: u64,
    round: u32,
}

impl WorkerEnv {
    /// `None` in a normal test run: the worker test then does nothing.
    fn get() -> Option<Self> {
        let db = std::env::var_os(WORKER_ENV)?;
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        Some(Self {
            db: db.into(),
            go: std::env::var_os(GO_ENV).map(PathBuf::from),
            stop: std::env::var_os(STOP_ENV).map(PathBuf::from),
            normal_sync: std::env::var(SYNC_ENV).is_ok_and(|v| v == "normal"),
            pace: Duration::from_millis(num(PACE_ENV).unwrap_or(0)),
            seed: num(SEED_ENV).unwrap_or(1),
            round: num(ROUND_ENV).map_or(0, |r: u64| r as u32),
        })
    }

    /// Blocks until the parent says go, so the workers really overlap.
    fn wait_for_go(&self) {
        let go = self.go.as_ref().expect("a racing worker needs a go file");
        let deadline = Instant::now() + PATIENCE;
        while !go.exists() {
            assert!(Instant::now() < deadline, "no go signal from the parent");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Tells the parent something: one marked line, flushed at once (it must
/// reach the pipe before a SIGKILL can land).
fn say(msg: impl Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{msg}").unwrap();
    out.flush().unwrap();
}

/// A vault of its own for a worker process: its own clock, and entropy
/// seeded per process so two processes never mint the same ids.
fn worker_vault(
    store: Arc<dyn Store>,
    seed: u64,
    start: DateTime<Utc>,
) -> (Vault, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start));
    let vault = Vault::new(
        store,
        clock.clone(),
        Arc::new(SeededEntropy::new(
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xa076_1d64_78bd_642f,
        )),
        VaultConfig::new(IpSalt::new(b"processes-test-salt-0123".to_vec()).unwrap()),
    );
    (vault, clock)
}

// ------------------------------------------------------------- parent side

/// A worker process: this test binary running one `worker_*` test.
struct Worker {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Marked lines received so far, marker stripped.
    said: Vec<String>,
    /// Everything else it printed, for failure messages.
    noise: Arc<std::sync::Mutex<Vec<String>>>,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Worker {
    fn spawn(test: &str, db: &Path, env: &[(&str, String)]) -> Self {
        let stderr = scratch(test, "stderr");
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(WORKER_ENV, db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let noise = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&noise);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                // libtest may print "test worker ... " on the same line.
                match line.find(MARK) {
                    Some(at) => {
                        if tx.send(line[at + MARK.len()..].to_owned()).is_err() {
                            break;
                        }
                    }
                    None => sink.lock().unwrap().push(line),
                }
            }
        });
        Self {
            name: format!("{test} (pid {})", child.id()),
            child,
            lines,
            said: Vec::new(),
            noise,
            stderr,
            status: None,
        }
    }

    fn report(&self) -> String {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "worker {}\n--- said (last 20) ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            self.name,
            self.said[self.said.len().saturating_sub(20)..].join("\n"),
            self.noise.lock().unwrap().join("\n"),
        )
    }

    /// Takes in what the worker said so far, without waiting.
    fn poll(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.said.push(line);
        }
        &self.said
    }

    /// Waits for a marked line satisfying `want` and returns it.
    fn expect(&mut self, what: &str, deadline: Instant, want: impl Fn(&str) -> bool) -> String {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.said.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    panic!("timed out waiting for {what}\n{}", self.report());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.wait(deadline);
                    panic!("the worker ended before {what}\n{}", self.report());
                }
            }
        }
    }

    /// Waits for the process to end (killing it at the deadline), then
    /// collects every line it still had in the pipe.
    fn wait(&mut self, deadline: Instant) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!("the worker did not end in time\n{}", self.report());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.status = Some(status);
        // The reader thread ends at EOF, which comes with the process's end.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.max(Duration::from_millis(100)))
            {
                Ok(line) => self.said.push(line),
                Err(_) => break,
            }
        }
        status
    }

    /// Waits for a clean exit.
    fn finish(&mut self, deadline: Instant) {
        let status = self.wait(deadline);
        assert!(
            status.success(),
            "worker failed: {status}\n{}",
            self.report()
        );
    }

    /// SIGKILL on Unix: no destructor, no rollback, no checkpoint runs.
    fn kill(&mut self) -> ExitStatus {
        if self.status.is_none() {
            let _ = self.child.kill();
            let status = self.child.wait().unwrap();
            self.status = Some(status);
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
                self.said.push(line);
            }
        }
        self.status.unwrap()
    }
}

impl Drop for Worker {
    /// A failing test never leaves a worker running; a passing one leaves
    /// no log behind.
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.stderr);
        }
    }
}

/// Parses `key=value` pairs of a worker's `done` line.
fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

// -------------------------------------------------------------- invariants

/// Row counts after a check, to see that work was done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    downloads: i64,
    favorites: i64,
    reviews: i64,
    approved: i64,
    votes: i64,
    completed_purchases: i64,
    views: i64,
}

fn query_i64(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Runs `sql`, which yields `(key, stored, recomputed)` rows, and records
/// every row where the two disagree.
fn compare(conn: &Connection, what: &str, sql: &str, bad: &mut Vec<String>) {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (key, stored, counted) = row.unwrap();
        if stored != counted {
            bad.push(format!(
                "{what} [{key}]: stored {stored}, rows say {counted}"
            ));
        }
    }
}

/// Opens the file with plain rusqlite (no store code involved) and checks
/// that SQLite finds it sound and that every counter the store maintains
/// equals what the rows it counts say.
fn check_invariants(db: &Path) -> Totals {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();

    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        integrity,
        vec!["ok".to_owned()],
        "integrity_check of {db:?}"
    );
    let fk_violations: i64 = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count() as i64;
    assert_eq!(fk_violations, 0, "foreign_key_check of {db:?}");
    // FTS5's own consistency check (errors out when the index is corrupt).
    conn.execute(
        "INSERT INTO workflows_fts (workflows_fts) VALUES ('integrity-check')",
        [],
    )
    .unwrap();

    let mut bad = Vec::new();
    let b = &mut bad;
    compare(
        &conn,
        "workflow download_count",
        "SELECT w.slug, w.download_count, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.workflow_id = w.id) FROM workflows w",
        b,
    );
    compare(
        &conn,
        "file download_count",
        "SELECT f.file_name || ' of ' || f.workflow_id, f.download_count, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.file_id = f.id) FROM workflow_files f",
        b,
    );
    compare(
        &conn,
        "category total_downloads vs its workflows",
        "SELECT c.slug, c.total_downloads, \
           (SELECT COALESCE(SUM(w.download_count), 0) FROM workflows w WHERE w.category_id = c.id) \
         FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "category total_downloads vs download rows",
        "SELECT c.slug, c.total_downloads, \
           (SELECT COUNT(*) FROM workflow_downloads d JOIN workflows w ON w.id = d.workflow_id \
            WHERE w.category_id = c.id) FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "category workflow_count",
        "SELECT c.slug, c.workflow_count, \
           (SELECT COUNT(*) FROM workflows w WHERE w.category_id = c.id AND w.status = 'published') \
         FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "favorite_count",
        "SELECT w.slug, w.favorite_count, \
           (SELECT COUNT(*) FROM workflow_favorites f WHERE f.workflow_id = w.id) FROM workflows w",
        b,
    );
    for star in 1..=5 {
        compare(
            &conn,
            &format!("stars_{star}"),
            &format!(
                "SELECT w.slug, w.stars_{star}, (SELECT COUNT(*) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved' AND r.rating = {star}) \
                 FROM workflows w"
            ),
            b,
        );
    }
    for (dim, col) in [
        ("complexity", "rating_complexity"),
        ("efficiency", "rating_efficiency"),
        ("maturity", "rating_maturity"),
        ("growth", "rating_growth"),
        ("excellence", "rating_excellence"),
    ] {
        compare(
            &conn,
            &format!("dim_{dim}_count"),
            &format!(
                "SELECT w.slug, w.dim_{dim}_count, (SELECT COUNT(r.{col}) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved') FROM workflows w"
            ),
            b,
        );
        compare(
            &conn,
            &format!("dim_{dim}_sum"),
            &format!(
                "SELECT w.slug, w.dim_{dim}_sum, (SELECT COALESCE(SUM(r.{col}), 0) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved') FROM workflows w"
            ),
            b,
        );
    }
    for (col, vote) in [
        ("helpful_count", "helpful"),
        ("not_helpful_count", "not_helpful"),
    ] {
        compare(
            &conn,
            col,
            &format!(
                "SELECT r.id, r.{col}, (SELECT COUNT(*) FROM workflow_review_votes v \
                   WHERE v.review_id = r.id AND v.vote = '{vote}') FROM workflow_reviews r"
            ),
            b,
        );
    }
    compare(
        &conn,
        "purchase downloads_used",
        "SELECT p.id, p.downloads_used, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.purchase_id = p.id) \
         FROM workflow_purchases p",
        b,
    );
    compare(
        &conn,
        "purchase downloads_used within its limit",
        "SELECT p.id, MIN(p.downloads_used, p.download_limit), p.downloads_used \
         FROM workflow_purchases p WHERE p.download_limit IS NOT NULL",
        b,
    );
    // No membership here is ever renewed, so its period holds every download.
    compare(
        &conn,
        "membership period_downloads_used",
        "SELECT m.id, m.period_downloads_used, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.membership_id = m.id) \
         FROM memberships m",
        b,
    );
    compare(
        &conn,
        "membership period_downloads_used within its limit",
        "SELECT m.id, MIN(m.period_downloads_used, m.period_download_limit), m.period_downloads_used \
         FROM memberships m WHERE m.period_download_limit IS NOT NULL",
        b,
    );
    compare(
        &conn,
        "download source matches its charge",
        "SELECT d.id, (d.source = 'purchase') + (d.source = 'membership'), \
           (d.purchase_id IS NOT NULL) + (d.membership_id IS NOT NULL) FROM workflow_downloads d",
        b,
    );
    compare(
        &conn,
        "analytics downloads per day",
        "SELECT a.workflow_id || ' ' || a.date, a.downloads, \
           (SELECT COUNT(*) FROM workflow_downloads d \
            WHERE d.workflow_id = a.workflow_id AND substr(d.downloaded_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "download days without analytics",
        "SELECT d.workflow_id || ' ' || substr(d.downloaded_at, 1, 10), \
           COALESCE((SELECT a.downloads FROM workflow_analytics a \
             WHERE a.workflow_id = d.workflow_id AND a.date = substr(d.downloaded_at, 1, 10)), 0), \
           COUNT(*) \
         FROM workflow_downloads d GROUP BY d.workflow_id, substr(d.downloaded_at, 1, 10)",
        b,
    );
    compare(
        &conn,
        "view_count",
        "SELECT w.slug, w.view_count, \
           (SELECT COALESCE(SUM(a.views), 0) FROM workflow_analytics a WHERE a.workflow_id = w.id) \
         FROM workflows w",
        b,
    );
    compare(
        &conn,
        "analytics unique_visitors per day",
        "SELECT a.workflow_id || ' ' || a.date, a.unique_visitors, \
           (SELECT COUNT(*) FROM workflow_analytics_visitors v \
            WHERE v.workflow_id = a.workflow_id AND v.date = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "visitor days without analytics",
        "SELECT v.workflow_id || ' ' || v.date, \
           COALESCE((SELECT a.unique_visitors FROM workflow_analytics a \
             WHERE a.workflow_id = v.workflow_id AND a.date = v.date), 0), COUNT(*) \
         FROM workflow_analytics_visitors v GROUP BY v.workflow_id, v.date",
        b,
    );
    // No refunds or bundles here: every completed purchase is of one
    // workflow and counted once, on the day it completed.
    compare(
        &conn,
        "purchase_count",
        "SELECT w.slug, w.purchase_count, \
           (SELECT COUNT(*) FROM workflow_purchase_items i JOIN workflow_purchases p ON p.id = i.purchase_id \
            WHERE i.workflow_id = w.id AND p.payment_status = 'completed') FROM workflows w",
        b,
    );
    compare(
        &conn,
        "analytics purchases per day",
        "SELECT a.workflow_id || ' ' || a.date, a.purchases, \
           (SELECT COUNT(*) FROM workflow_purchases p WHERE p.workflow_id = a.workflow_id \
            AND p.payment_status = 'completed' AND substr(p.completed_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "analytics revenue per day",
        "SELECT a.workflow_id || ' ' || a.date, a.revenue_minor, \
           (SELECT COALESCE(SUM(p.amount_minor), 0) FROM workflow_purchases p \
            WHERE p.workflow_id = a.workflow_id AND p.payment_status = 'completed' \
            AND substr(p.completed_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "purchase days without analytics",
        "SELECT p.workflow_id || ' ' || substr(p.completed_at, 1, 10), \
           COALESCE((SELECT a.purchases FROM workflow_analytics a \
             WHERE a.workflow_id = p.workflow_id AND a.date = substr(p.completed_at, 1, 10)), 0), \
           COUNT(*) \
         FROM workflow_purchases p WHERE p.payment_status = 'completed' \
         GROUP BY p.workflow_id, substr(p.completed_at, 1, 10)",
        b,
    );
    compare(
        &conn,
        "purchase items",
        "SELECT p.id, 1, (SELECT COUNT(*) FROM workflow_purchase_items i WHERE i.purchase_id = p.id) \
         FROM workflow_purchases p",
        b,
    );
    assert!(
        bad.is_empty(),
        "{} counter(s) disagree with their rows in {db:?}:\n{}",
        bad.len(),
        bad.join("\n")
    );

    Totals {
        downloads: query_i64(&conn, "SELECT COUNT(*) FROM workflow_downloads"),
        favorites: query_i64(&conn, "SELECT COUNT(*) FROM workflow_favorites"),
        reviews: query_i64(&conn, "SELECT COUNT(*) FROM workflow_reviews"),
        approved: query_i64(
            &conn,
            "SELECT COUNT(*) FROM workflow_reviews WHERE status = 'approved'",
        ),
        votes: query_i64(&conn, "SELECT COUNT(*) FROM workflow_review_votes"),
        completed_purchases: query_i64(
            &conn,
            "SELECT COUNT(*) FROM workflow_purchases WHERE payment_status = 'completed'",
        ),
        views: query_i64(&conn, "SELECT COALESCE(SUM(view_count), 0) FROM workflows"),
    }
}

// ------------------------------------------ limits through Vault::download

const VAULT_RACERS: u64 = 3;
const VAULT_TASKS: usize = 4;
const VAULT_ATTEMPTS: usize = 8;
const HOT_LIMIT: u32 = 5;
const WARM_LIMIT: u32 = 30;

/// Three processes, four tasks each, all downloading two workflows for the
/// same buyer, whose licenses allow 5 and 30 downloads: exactly 5 and 30
/// succeed in all, each download charged and counted once.
#[test]
fn purchase_limit_holds_across_processes_through_the_vault() {
    let db = scratch("vault-limit", "db");
    let go = scratch("vault-limit", "go");
    let bought = run(async {
        let f = Fixture::new(open(&db).await).await;
        let mut out = Vec::new();
        for (slug, limit) in [("hot", HOT_LIMIT), ("warm", WARM_LIMIT)] {
            let mut c = f.content(slug, PricingTier::Pro, Some(1000));
            c.download_limit = Some(limit);
            let (w, _) = f.publish(c).await;
            let p = f.buy(&user("racer"), CheckoutItem::Workflow(w.id)).await;
            assert_eq!(p.quota.limit, Some(limit));
            out.push((w.id, p.id, limit));
        }
        out
    });

    let deadline = Instant::now() + PATIENCE;
    let mut workers: Vec<Worker> = (0..VAULT_RACERS)
        .map(|i| {
            Worker::spawn(
                "worker_vault_downloads",
                &db,
                &[
                    (GO_ENV, go.display().to_string()),
                    (SEED_ENV, (1000 + i).to_string()),
                ],
            )
        })
        .collect();
    for w in &mut workers {
        w.expect("ready", deadline, |l| l == "ready");
    }
    File::create(&go).unwrap();
    let mut per_process = Vec::new();
    for w in &mut workers {
        let done = w.expect("done", deadline, |l| l.starts_with("done "));
        w.finish(deadline);
        assert_eq!(field(&done, "errors"), 0, "{}", w.report());
        per_process.push([
            field(&done, "hot_ok"),
            field(&done, "hot_denied"),
            field(&done, "warm_ok"),
            field(&done, "warm_denied"),
        ]);
    }
    eprintln!("per process [hot_ok, hot_denied, warm_ok, warm_denied]: {per_process:?}");
    let sum = |i: usize| per_process.iter().map(|p| p[i]).sum::<u64>();
    // Each task alternates the two workflows.
    let per_workflow = VAULT_RACERS * (VAULT_TASKS * VAULT_ATTEMPTS / 2) as u64;
    let (hot, warm) = (u64::from(HOT_LIMIT), u64::from(WARM_LIMIT));
    assert_eq!(
        [sum(0), sum(1), sum(2), sum(3)],
        [hot, per_workflow - hot, warm, per_workflow - warm]
    );

    run(async {
        let store = open(&db).await;
        let racer = UserId::parse("racer").unwrap();
        let all = store.downloads_for_user(&racer, 1000).await.unwrap();
        assert_eq!(all.len() as u64, hot + warm);
        for (workflow, purchase, limit) in bought {
            let p = store.purchase(purchase).await.unwrap().unwrap();
            assert_eq!(p.quota.used, limit);
            let recorded = store.downloads_for_workflow(workflow, 1000).await.unwrap();
            assert_eq!(recorded.len(), limit as usize);
            assert!(
                recorded
                    .iter()
                    .all(|d| d.source == DownloadSource::Purchase(purchase))
            );
            let w = store.workflow(workflow).await.unwrap().unwrap();
            assert_eq!(w.stats.download_count, u64::from(limit));
        }
    });
    let totals = check_invariants(&db);
    assert_eq!(totals.downloads as u64, hot + warm);
}

#[test]
fn worker_vault_downloads() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let (vault, _clock) = worker_vault(
            open(&env.db).await,
            env.seed,
            epoch() + chrono::Duration::hours(1),
        );
        let racer = user("racer");
        let hot = vault.workflow_by_slug(&racer, &slug("hot")).await.unwrap();
        let warm = vault.workflow_by_slug(&racer, &slug("warm")).await.unwrap();
        say("ready");
        env.wait_for_go();
        let mut tasks = Vec::new();
        for task in 0..VAULT_TASKS {
            let (vault, racer) = (vault.clone(), racer.clone());
            tasks.push(tokio::spawn(async move {
                // [hot ok, hot denied, warm ok, warm denied, errors]
                let mut n = [0u64; 5];
                for i in 0..VAULT_ATTEMPTS {
                    let (w, at) = if (task + i).is_multiple_of(2) {
                        (hot.id, 0)
                    } else {
                        (warm.id, 2)
                    };
                    match vault
                        .download(&racer, w, None, &RequestInfo::default())
                        .await
                    {
                        Ok(_) => n[at] += 1,
                        Err(Error::Denied(_)) => n[at + 1] += 1,
                        Err(e) => {
                            say(format!("error {e:?}"));
                            n[4] += 1;
                        }
                    }
                }
                n
            }));
        }
        let mut n = [0u64; 5];
        for t in tasks {
            for (total, x) in n.iter_mut().zip(t.await.unwrap()) {
                *total += x;
            }
        }
        say(format!(
            "done hot_ok={} hot_denied={} warm_ok={} warm_denied={} errors={}",
            n[0], n[1], n[2], n[3], n[4]
        ));
    });
}

// ------------------------------- limits through record_download directly

const CHARGE_RACERS: u64 = 2;
const CHARGE_ATTEMPTS: u64 = 32;
const PURCHASE_LIMIT: u32 = 20;
const MEMBERSHIP_LIMIT: u32 = 12;

/// Two processes, each with 32 downloads decided before any was written
/// (half charged to a purchase allowing 20, half to a membership allowing
/// 12), all written at once: the store's guard alone lets exactly 20 and 12
/// through and refuses the rest with `LimitReached`.
#[test]
fn guarded_charges_hold_across_processes() {
    let db = scratch("charge-limit", "db");
    let go = scratch("charge-limit", "go");
    let (contended, club, purchase, membership) = run(async {
        let f = Fixture::new(open(&db).await).await;
        let mut c = f.content("contended", PricingTier::Pro, Some(1000));
        c.download_limit = Some(PURCHASE_LIMIT);
        let (contended, _) = f.publish(c).await;
        let (club, _) = f.workflow("club", PricingTier::Pro, Some(2900)).await;
        let p = f
            .buy(&user("contender"), CheckoutItem::Workflow(contended.id))
            .await;
        let m = f
            .join(
                &user("member"),
                PricingTier::Premium,
                Some(MEMBERSHIP_LIMIT),
                false,
            )
            .await;
        (contended.id, club.id, p.id, m.id)
    });

    let deadline = Instant::now() + PATIENCE;
    let mut workers: Vec<Worker> = (0..CHARGE_RACERS)
        .map(|i| {
            Worker::spawn(
                "worker_guarded_charges",
                &db,
                &[
                    (GO_ENV, go.display().to_string()),
                    (SEED_ENV, (2000 + i).to_string()),
                ],
            )
        })
        .collect();
    for w in &mut workers {
        w.expect("ready", deadline, |l| l == "ready");
    }
    File::create(&go).unwrap();
    let mut per_process = Vec::new();
    for w in &mut workers {
        let done = w.expect("done", deadline, |l| l.starts_with("done "));
        w.finish(deadline);
        assert_eq!(field(&done, "errors"), 0, "{}", w.report());
        per_process.push([
            field(&done, "p_ok"),
            field(&done, "p_full"),
            field(&done, "m_ok"),
            field(&done, "m_full"),
        ]);
    }
    eprintln!("per process [p_ok, p_full, m_ok, m_full]: {per_process:?}");
    let sum = |i: usize| per_process.iter().map(|p| p[i]).sum::<u64>();
    let half = CHARGE_RACERS * CHARGE_ATTEMPTS / 2;
    assert_eq!(
        [sum(0), sum(1), sum(2), sum(3)],
        [
            u64::from(PURCHASE_LIMIT),
            half - u64::from(PURCHASE_LIMIT),
            u64::from(MEMBERSHIP_LIMIT),
            half - u64::from(MEMBERSHIP_LIMIT),
        ]
    );

    run(async {
        let store = open(&db).await;
        let p = store.purchase(purchase).await.unwrap().unwrap();
        assert_eq!(p.quota.used, PURCHASE_LIMIT);
        let m = store.membership(membership).await.unwrap().unwrap();
        assert_eq!(m.quota.used, MEMBERSHIP_LIMIT);
        for (w, n) in [(contended, PURCHASE_LIMIT), (club, MEMBERSHIP_LIMIT)] {
            let recorded = store.downloads_for_workflow(w, 100).await.unwrap();
            assert_eq!(recorded.len(), n as usize);
            let w = store.workflow(w).await.unwrap().unwrap();
            assert_eq!(w.stats.download_count, u64::from(n));
            let day = epoch().date_naive();
            let a = store.analytics(w.id, day, day).await.unwrap();
            assert_eq!(a[0].downloads, u64::from(n));
        }
    });
    let totals = check_invariants(&db);
    assert_eq!(
        totals.downloads,
        i64::from(PURCHASE_LIMIT + MEMBERSHIP_LIMIT)
    );
}

#[test]
fn worker_guarded_charges() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let store = open(&env.db).await;
        let contended = store
            .workflow_by_slug(&slug("contended"))
            .await
            .unwrap()
            .unwrap();
        let club = store
            .workflow_by_slug(&slug("club"))
            .await
            .unwrap()
            .unwrap();
        let contended_file = store.files(contended.id).await.unwrap().remove(0);
        let club_file = store.files(club.id).await.unwrap().remove(0);
        let contender = UserId::parse("contender").unwrap();
        let member = UserId::parse("member").unwrap();
        let p = store
            .purchases_for_user(&contender)
            .await
            .unwrap()
            .remove(0);
        let m = store.memberships_for_user(&member).await.unwrap().remove(0);
        // Every download is decided now, before any is written: each believes
        // there is room, so only the store's guard stands in the way.
        let at = epoch() + chrono::Duration::hours(1);
        let mut jobs = Vec::new();
        for i in 0..CHARGE_ATTEMPTS {
            let id = DownloadId::from_uuid(uuid::Uuid::from_u64_pair(env.seed, i));
            let (download, charge) = if i.is_multiple_of(2) {
                (
                    Download {
                        id,
                        user_id: Some(contender.clone()),
                        workflow_id: contended.id,
                        file_id: contended_file.id,
                        file_version: contended_file.version,
                        kind: DownloadKind::Purchased,
                        source: DownloadSource::Purchase(p.id),
                        request: Default::default(),
                        downloaded_at: at,
                    },
                    Charge::Purchase {
                        id: p.id,
                        expected_status: PaymentStatus::Completed,
                        limit: p.quota.limit,
                    },
                )
            } else {
                (
                    Download {
                        id,
                        user_id: Some(member.clone()),
                        workflow_id: club.id,
                        file_id: club_file.id,
                        file_version: club_file.version,
                        kind: DownloadKind::Membership,
                        source: DownloadSource::Membership(m.id),
                        request: Default::default(),
                        downloaded_at: at,
                    },
                    Charge::Membership {
                        id: m.id,
                        expected_status: m.status,
                        period_start: m.period.start,
                        limit: m.quota.limit,
                    },
                )
            };
            let mut delta = AnalyticsDelta::none(download.workflow_id, at);
            delta.downloads = 1;
            jobs.push((download, charge, delta));
        }
        say("ready");
        env.wait_for_go();
        let tasks: Vec<_> = jobs
            .into_iter()
            .map(|(d, c, a)| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let on_purchase = matches!(c, Charge::Purchase { .. });
                    (on_purchase, store.record_download(&d, &c, &a).await)
                })
            })
            .collect();
        let (mut p_ok, mut p_full, mut m_ok, mut m_full, mut errors) = (0, 0, 0, 0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (true, Ok(())) => p_ok += 1,
                (true, Err(StoreError::LimitReached { .. })) => p_full += 1,
                (false, Ok(())) => m_ok += 1,
                (false, Err(StoreError::LimitReached { .. })) => m_full += 1,
                (_, Err(e)) => {
                    say(format!("error {e:?}"));
                    errors += 1;
                }
            }
        }
        say(format!(
            "done p_ok={p_ok} p_full={p_full} m_ok={m_ok} m_full={m_full} errors={errors}"
        ));
    });
}

// ------------------------------------------------------------ crash safety

/// When each round's victim is killed: once it has reported op `n`, at the
/// next moment it holds the database's write lock, plus a few microseconds
/// (so the kill lands at different points of a write transaction).
const KILL_PLAN: [(u64, u64); 6] = [(9, 0), (22, 150), (14, 40), (27, 0), (5, 400), (12, 80)];

/// Whether process `pid` holds SQLite's WAL write lock on `db` right now.
///
/// SQLite's unix VFS takes the WAL write lock as a POSIX lock on byte 120 of
/// the `-shm` file (`UNIX_SHM_BASE`, slot `WAL_WRITE_LOCK`), from `BEGIN
/// IMMEDIATE` until the commit or rollback has finished; Linux lists it in
/// `/proc/locks` as `POSIX ADVISORY WRITE <pid> <dev>:<inode> 120 120`.
/// `None` where that cannot be read.
fn holds_write_lock(db: &Path, pid: u32) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let shm = PathBuf::from(format!("{}-shm", db.display()));
        let inode = std::fs::metadata(shm).ok()?.ino().to_string();
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = pid.to_string();
        Some(locks.lines().any(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Waiters show as "n: -> POSIX ...": the shift leaves them out.
            f.len() >= 8
                && f[1] == "POSIX"
                && f[3] == "WRITE"
                && f[4] == pid
                && f[5].rsplit(':').next() == Some(inode.as_str())
                && f[6] == "120"
                && f[7] == "120"
        }))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (db, pid);
        None
    }
}

/// Waits (up to two seconds) until `pid` holds the write lock on `db`;
/// whether it was seen holding it (`None`: cannot tell on this system).
fn await_write_lock(db: &Path, pid: u32) -> Option<bool> {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        match holds_write_lock(db, pid) {
            Some(true) => return Some(true),
            None => return None,
            Some(false) if Instant::now() >= until => return Some(false),
            Some(false) => std::hint::spin_loop(),
        }
    }
}

/// Each round, two workers write through the vault as fast as they can
/// (downloads of free, purchased and membership workflows, favorites added
/// and removed, reviews submitted, moderated, edited, voted on and deleted,
/// views, clicks, purchases), each from two tasks at once, one with
/// `synchronous = FULL` and one with `NORMAL`. One, the victim, is killed
/// with SIGKILL mid-stream; the survivor must carry on writing (the dead
/// process's locks are gone) and then stops cleanly. After each round the
/// file is checked with plain rusqlite, and every write either worker saw
/// commit must be there. Six rounds on one file; finally the store reopens
/// it and works.
#[test]
fn sigkill_mid_write_leaves_a_sound_database() {
    let db = scratch("crash", "db");
    run(seed_crash_catalog(&db));
    let seeded = check_invariants(&db);
    let mut before = seeded;
    // One deadline for all rounds: a hang fails the test, never stalls it.
    let deadline = Instant::now() + Duration::from_secs(18);
    // Kills that landed while the victim held the write lock, and whether
    // this system shows that lock at all (else the kills are timed only).
    let (mut in_transaction, mut lock_visible) = (0, true);
    for (round, (after_op, delay_us)) in KILL_PLAN.into_iter().enumerate() {
        let round_started = Instant::now();
        let stop = scratch("crash", "stop");
        let spawn = |seed: usize, normal: bool, stop: Option<&Path>| {
            let mut env = vec![
                (SEED_ENV, seed.to_string()),
                (ROUND_ENV, round.to_string()),
                (SYNC_ENV, if normal { "normal" } else { "full" }.to_owned()),
            ];
            if let Some(stop) = stop {
                // SQLite's busy handler is not fair: a peer writing flat out
                // would starve the victim, which would then mostly be asleep
                // waiting for the lock when killed. The survivor paces itself.
                env.push((STOP_ENV, stop.display().to_string()));
                env.push((PACE_ENV, "5".to_owned()));
            }
            Worker::spawn("worker_write_loop", &db, &env)
        };
        let mut victim = spawn(3000 + 2 * round, round % 2 == 1, None);
        let mut survivor = spawn(3001 + 2 * round, round.is_multiple_of(2), Some(&stop));

        let target = format!("op {after_op}");
        victim.expect(&target, deadline, |l| l == target);
        let reached = round_started.elapsed();
        let pid = victim.child.id();
        let seen = if lock_visible {
            await_write_lock(&db, pid)
        } else {
            None
        };
        lock_visible = seen == Some(true);
        std::thread::sleep(Duration::from_micros(delay_us));
        let still = holds_write_lock(&db, pid);
        let status = victim.kill();
        if still == Some(true) {
            in_transaction += 1;
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "{status}\n{}", victim.report());
        }
        #[cfg(not(unix))]
        let _ = status;
        let last_step = victim
            .said
            .iter()
            .rev()
            .find(|l| l.starts_with("start ") || l.starts_with("op "))
            .cloned();

        // The survivor gets three more steps done after the kill, then stops.
        let ops_done = survivor
            .poll()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("op ")?.parse::<u64>().ok());
        let target = format!("op {}", ops_done.map_or(3, |n| n + 3));
        survivor.expect(&target, deadline, |l| l == target);
        File::create(&stop).unwrap();
        survivor.expect("stopped", deadline, |l| l == "stopped");
        survivor.finish(deadline);
        let slow: Vec<&String> = [&victim, &survivor]
            .iter()
            .flat_map(|w| w.said.iter().filter(|l| l.starts_with("slow ")))
            .collect();
        let stopped = round_started.elapsed();
        let after = check_invariants(&db);
        eprintln!(
            "round {round}: victim reached op {after_op} at {reached:?}, killed in {last_step:?} \
             (write lock seen {seen:?}, still held {delay_us}us later {still:?}); survivor at \
             {ops_done:?}, stopped at {stopped:?}; checked at {:?}: {after:?}; slow steps: {slow:?}",
            round_started.elapsed()
        );
        assert!(
            after.downloads > before.downloads && after.views > before.views,
            "the workers made progress: {before:?} -> {after:?}"
        );
        assert_committed_writes_survived(&db, &victim.said);
        assert_committed_writes_survived(&db, &survivor.said);
        before = after;
    }
    // Every kind of write happened along the way.
    assert!(
        before.reviews > 0
            && before.approved > 0
            && before.votes > 0
            && before.favorites > 0
            && before.completed_purchases > seeded.completed_purchases,
        "{before:?}"
    );
    eprintln!(
        "{in_transaction} of {} kills landed inside a write transaction",
        KILL_PLAN.len()
    );
    if lock_visible {
        assert!(in_transaction > 0, "no kill landed inside a transaction");
    }

    // The store opens the file the kills left and carries on.
    run(async {
        let (vault, _) = worker_vault(open(&db).await, 4000, epoch() + chrono::Duration::days(7));
        for (actor, s) in [(Actor::Anonymous, "free-a"), (user("buyer"), "paid")] {
            let w = vault.workflow_by_slug(&actor, &slug(s)).await.unwrap();
            vault
                .download(&actor, w.id, None, &RequestInfo::default())
                .await
                .unwrap();
        }
    });
    let last = check_invariants(&db);
    assert_eq!(last.downloads, before.downloads + 2);
}

/// Every download and purchase the killed worker reported as done (it
/// reports only after the store returned) is in the file.
fn assert_committed_writes_survived(db: &Path, said: &[String]) {
    let conn = Connection::open(db).unwrap();
    let mut missing = Vec::new();
    let (mut downloads, mut purchases) = (0, 0);
    for line in said {
        if let Some(id) = line.strip_prefix("dl ") {
            downloads += 1;
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM workflow_downloads WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            if n != 1 {
                missing.push(line.clone());
            }
        } else if let Some(id) = line.strip_prefix("bought ") {
            purchases += 1;
            let status: Option<String> = conn
                .query_row(
                    "SELECT payment_status FROM workflow_purchases WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .ok();
            if status.as_deref() != Some("completed") {
                missing.push(format!("{line}: {status:?}"));
            }
        }
    }
    assert!(downloads > 0, "the worker reported downloads");
    eprintln!("  {downloads} downloads and {purchases} purchases reported committed, all there");
    assert!(
        missing.is_empty(),
        "committed writes lost after the kill: {missing:?}"
    );
}

async fn seed_crash_catalog(db: &Path) {
    let f = Fixture::new(open(db).await).await;
    let content = |slug: &str, tier, price, category: usize| {
        let mut c = f.content(slug, tier, price);
        c.category_id = f.categories[category].id;
        c
    };
    let (free_a, _) = f
        .publish(content("free-a", PricingTier::Free, None, 0))
        .await;
    // A second, older file, downloaded by id now and then.
    f.add_file(
        free_a.id,
        Version::new(0, 9, 0),
        FileAccess::Standard,
        false,
    )
    .await;
    f.publish(content("free-b", PricingTier::Free, None, 1))
        .await;
    let (paid, _) = f
        .publish(content("paid", PricingTier::Pro, Some(4900), 0))
        .await;
    let mut capped = content("capped", PricingTier::Pro, Some(1900), 2);
    capped.download_limit = Some(25);
    let (capped, _) = f.publish(capped).await;
    f.publish(content("club", PricingTier::Pro, Some(2900), 1))
        .await;
    f.buy(&user("buyer"), CheckoutItem::Workflow(paid.id)).await;
    f.buy(&user("capper"), CheckoutItem::Workflow(capped.id))
        .await;
    f.join(&user("member"), PricingTier::Premium, Some(100_000), false)
        .await;
}

fn request(n: u64) -> RequestInfo {
    RequestInfo {
        ip: Some(std::net::IpAddr::from([198, 51, 100, (n % 7) as u8])),
        user_agent: Some("worker".into()),
        referrer: n
            .is_multiple_of(3)
            .then(|| "https://news.example.org/a".to_owned()),
        country: None,
    }
}

fn review_input(stars: u8, n: u64) -> ReviewInput {
    let mut dimensions = DimensionRatings::default();
    dimensions.set(Dimension::Efficiency, Some(Rating::new(stars).unwrap()));
    if n.is_multiple_of(3) {
        dimensions.set(Dimension::Growth, Some(Rating::new(6 - stars).unwrap()));
    }
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions,
        title: format!("{stars} stars"),
        body: String::new(),
    }
}

/// Moderates a review as the admin.
async fn moderate(vault: &Vault, id: ReviewId, status: ModerationStatus) -> vault_core::Result<()> {
    let admin = Actor::admin("admin").unwrap();
    vault
        .moderate_review(&admin, id, status, None)
        .await
        .map(|_| ())
}

/// The outcome of a change to a review another process may be changing
/// too: losing the race (`Conflict`) or finding it gone (`NotFound`, also
/// when it is no longer approved for a vote) is fine, anything else is not.
fn raced<T>(outcome: vault_core::Result<T>) {
    match outcome {
        Ok(_) | Err(Error::Conflict { .. } | Error::NotFound { .. }) => {}
        Err(e) => panic!("{e:?}"),
    }
}

/// A review this worker knows of, and what it knows of its state.
struct Written {
    id: ReviewId,
    author: Actor,
    status: ModerationStatus,
    voters: Vec<Actor>,
}

#[test]
fn worker_write_loop() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let options = SqliteOptions {
            synchronous: if env.normal_sync {
                Synchronous::Normal
            } else {
                Synchronous::Full
            },
            ..SqliteOptions::default()
        };
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open_with(&env.db, options).await.unwrap());
        // 23:00 on day `round`: the loop crosses midnight, so analytics land
        // on two days per round and rounds share a day.
        let start =
            epoch() + chrono::Duration::days(i64::from(env.round)) + chrono::Duration::hours(14);
        let (vault, clock) = worker_vault(store, env.seed, start);
        let admin = Actor::admin("admin").unwrap();
        let anon = Actor::Anonymous;
        let by_slug = |s: &'static str| {
            let vault = vault.clone();
            async move {
                vault
                    .workflow_by_slug(&Actor::Anonymous, &slug(s))
                    .await
                    .unwrap()
            }
        };
        let free_a = by_slug("free-a").await;
        let free_b = by_slug("free-b").await;
        let paid = by_slug("paid").await;
        let capped = by_slug("capped").await;
        let club = by_slug("club").await;
        let old_file = vault
            .files(&anon, free_a.id)
            .await
            .unwrap()
            .into_iter()
            .find(|f| !f.is_primary)
            .unwrap();
        let rotate: [WorkflowId; 5] = [free_a.id, paid.id, club.id, free_b.id, capped.id];
        let (buyer, capper, member) = (user("buyer"), user("capper"), user("member"));
        let seed = env.seed;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();

        // A second writer in this process: anonymous downloads and views.
        let background = {
            let (vault, stop, pace) = (vault.clone(), Arc::clone(&stop), env.pace);
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(pace).await;
                    let t = vault
                        .download(&Actor::Anonymous, free_b.id, None, &request(n))
                        .await
                        .unwrap();
                    say(format!("dl {}", t.download.id));
                    vault
                        .record_view(&Actor::Anonymous, free_b.id, &request(n + 1))
                        .await
                        .unwrap();
                    n += 1;
                }
            })
        };

        // Reviews from earlier rounds are fair game too.
        let mut reviews: Vec<Written> = Vec::new();
        for w in rotate {
            for r in vault.store().reviews_for_workflow(w, &[]).await.unwrap() {
                reviews.push(Written {
                    id: r.id,
                    author: Actor::User(r.user_id),
                    status: r.status,
                    voters: vec![],
                });
            }
        }
        let mut fans: Vec<(Actor, WorkflowId)> = Vec::new();
        for i in 0u64.. {
            if env.stop.as_ref().is_some_and(|s| s.exists()) || started.elapsed() > PATIENCE {
                say("stopped");
                break;
            }
            say(format!("start {i}"));
            let step_started = Instant::now();
            let target = rotate[(i / 8 % 5) as usize];
            let reported = |r: vault_core::Result<vault_core::vault::DownloadTicket>| match r {
                Ok(t) => say(format!("dl {}", t.download.id)),
                Err(e) => panic!("op {i}: {e:?}"),
            };
            match i % 8 {
                0 => {
                    let file = i.is_multiple_of(16).then_some(old_file.id);
                    reported(vault.download(&anon, free_a.id, file, &request(i)).await);
                }
                1 => reported(vault.download(&buyer, paid.id, None, &request(i)).await),
                2 => match vault.download(&capper, capped.id, None, &request(i)).await {
                    Err(Error::Denied(_)) => {} // its 25 downloads are used up
                    other => reported(other),
                },
                3 => reported(vault.download(&member, club.id, None, &request(i)).await),
                4 => {
                    let fan = user(&format!("fan-{seed}-{i}"));
                    vault
                        .add_favorite(&fan, target, Some(format!("note {i}")), vec![])
                        .await
                        .unwrap();
                    fans.push((fan, target));
                    if fans.len() > 3 {
                        let (fan, w) = fans.remove(0);
                        assert!(vault.remove_favorite(&fan, w).await.unwrap());
                    }
                }
                5 => {
                    // A new review, approved.
                    let author = user(&format!("critic-{seed}-{i}"));
                    let stars = (i / 8 % 5) as u8 + 1;
                    let r = vault
                        .submit_review(&author, target, review_input(stars, i))
                        .await
                        .unwrap();
                    vault
                        .moderate_review(&admin, r.id, ModerationStatus::Approved, None)
                        .await
                        .unwrap();
                    reviews.push(Written {
                        id: r.id,
                        author,
                        status: ModerationStatus::Approved,
                        voters: vec![],
                    });
                    // And an older one changes: maybe one an earlier round or
                    // the other worker wrote, and may be changing right now.
                    if reviews.len() >= 3 {
                        let at = reviews.len() - 3;
                        let (id, author) = (reviews[at].id, reviews[at].author.clone());
                        let outcome = match i / 8 % 5 {
                            0 => moderate(&vault, id, ModerationStatus::Rejected).await,
                            1 => moderate(&vault, id, ModerationStatus::Flagged).await,
                            2 => {
                                let input = review_input((i % 5) as u8 + 1, i + 1);
                                match vault.edit_review(&author, id, input).await {
                                    Ok(_) => moderate(&vault, id, ModerationStatus::Approved).await,
                                    Err(e) => Err(e),
                                }
                            }
                            3 => vault.delete_review(&author, id).await,
                            _ => moderate(&vault, id, ModerationStatus::Approved).await,
                        };
                        raced(outcome);
                        match vault.store().review(id).await.unwrap() {
                            Some(r) => reviews[at].status = r.status,
                            None => {
                                reviews.remove(at);
                            }
                        }
                    }
                }
                6 => {
                    // Votes on approved reviews; now and then one is withdrawn.
                    let voter = user(&format!("voter-{seed}-{i}"));
                    let vote = if i.is_multiple_of(3) {
                        Vote::NotHelpful
                    } else {
                        Vote::Helpful
                    };
                    if let Some(r) = reviews
                        .iter_mut()
                        .rev()
                        .find(|r| r.status == ModerationStatus::Approved)
                    {
                        match vault.vote_review(&voter, r.id, Some(vote)).await {
                            Ok(_) => r.voters.push(voter),
                            other => raced(other),
                        }
                        if r.voters.len() > 2 {
                            let v = r.voters.remove(0);
                            raced(vault.vote_review(&v, r.id, None).await);
                        }
                    }
                }
                _ => {
                    let viewer = if i % 16 == 7 {
                        anon.clone()
                    } else {
                        user(&format!("viewer-{}", i % 5))
                    };
                    vault
                        .record_view(&viewer, target, &request(i))
                        .await
                        .unwrap();
                    vault
                        .record_interaction(&anon, target, Interaction::Click)
                        .await
                        .unwrap();
                    // A purchase, started and completed (two writes).
                    let item = [paid.id, capped.id, club.id][(i / 8 % 3) as usize];
                    let shopper = user(&format!("shopper-{seed}-{i}"));
                    let p = vault
                        .start_purchase(
                            &shopper,
                            StartPurchase {
                                user_id: shopper.user_id().unwrap().clone(),
                                item: CheckoutItem::Workflow(item),
                                license_type: vault_core::commerce::license::LicenseType::Personal,
                                tax: None,
                                license_expires_at: None,
                                provider: ProviderRefs::default(),
                            },
                        )
                        .await
                        .unwrap();
                    vault
                        .complete_purchase(
                            &Actor::Service,
                            p.id,
                            PaymentRef::parse(&format!("pi_{}", p.id)).unwrap(),
                        )
                        .await
                        .unwrap();
                    say(format!("bought {}", p.id));
                }
            }
            clock.advance(chrono::Duration::minutes(1));
            let took = step_started.elapsed();
            if took > Duration::from_millis(250) {
                say(format!("slow {i} {}ms", took.as_millis()));
            }
            say(format!("op {i}"));
            tokio::time::sleep(env.pace).await;
        }
        stop.store(true, Ordering::Relaxed);
        background.await.unwrap();
    });
}

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

//! Several OS processes on one database file: the harness.
//!
//! The parent tests run their own test binary again (`current_exe`) with
//! `--exact <worker> --nocapture` and `VAULT_SQLITE_WORKER=<db path>`; each
//! `worker_*` test returns at once unless that variable is set, so in a
//! normal run they pass trivially. A worker test therefore lives in the same
//! file as the tests that spawn it. Workers report to the parent with lines
//! on stdout carrying the [`MARK`] prefix.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vault_core::delivery::download::IpSalt;
use vault_core::store::Store;
use vault_core::value::actor::Actor;
use vault_core::value::clock::{ManualClock, SeededEntropy};
use vault_core::value::slug::Slug;
use vault_core::vault::{Vault, VaultConfig};
use vault_store_sqlite::SqliteStore;

/// The worker's database; its presence is what makes a `worker_*` test work.
pub(crate) const WORKER_ENV: &str = "VAULT_SQLITE_WORKER";
/// A file whose appearance tells waiting workers to start.
pub(crate) const GO_ENV: &str = "VAULT_SQLITE_GO";
/// Seeds the worker's entropy, so processes never mint the same ids.
pub(crate) const SEED_ENV: &str = "VAULT_SQLITE_SEED";
/// Which kill round a write-loop worker belongs to.
pub(crate) const ROUND_ENV: &str = "VAULT_SQLITE_ROUND";
/// A file whose appearance tells a write-loop worker to stop cleanly.
pub(crate) const STOP_ENV: &str = "VAULT_SQLITE_STOP";
/// `normal` makes a write-loop worker open with `synchronous = NORMAL`.
pub(crate) const SYNC_ENV: &str = "VAULT_SQLITE_SYNC";
/// Milliseconds a write-loop worker rests between steps.
pub(crate) const PACE_ENV: &str = "VAULT_SQLITE_PACE_MS";
/// Prefix of the lines workers send to the parent.
pub(crate) const MARK: &str = "@@vault ";

/// No single wait in these tests may take longer.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------ shared

pub(crate) fn scratch(name: &str, ext: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("processes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.{ext}", uuid::Uuid::new_v4()))
}

pub(crate) async fn open(db: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(db).await.unwrap())
}

/// Runs a future to completion on a multi-threaded runtime (the racing
/// workers need real parallelism inside their process too).
pub(crate) fn run<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(fut)
}

pub(crate) fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

pub(crate) fn user(name: &str) -> Actor {
    Actor::user(name).unwrap()
}

// ------------------------------------------------------------- worker side

pub(crate) struct WorkerEnv {
    pub(crate) db: PathBuf,
    pub(crate) go: Option<PathBuf>,
    pub(crate) stop: Option<PathBuf>,
    pub(crate) normal_sync: bool,
    pub(crate) pace: Duration,
    pub(crate) seed: u64,
    pub(crate) round: u32,
}

impl WorkerEnv {
    /// `None` in a normal test run: the worker test then does nothing.
    pub(crate) fn get() -> Option<Self> {
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
    pub(crate) fn wait_for_go(&self) {
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
pub(crate) fn say(msg: impl Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{msg}").unwrap();
    out.flush().unwrap();
}

/// A vault of its own for a worker process: its own clock, and entropy
/// seeded per process so two processes never mint the same ids.
pub(crate) fn worker_vault(
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
pub(crate) struct Worker {
    name: String,
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
    /// Marked lines received so far, marker stripped.
    pub(crate) said: Vec<String>,
    /// Everything else it printed, for failure messages.
    noise: Arc<std::sync::Mutex<Vec<String>>>,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Worker {
    pub(crate) fn spawn(test: &str, db: &Path, env: &[(&str, String)]) -> Self {
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

    pub(crate) fn report(&self) -> String {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "worker {}\n--- said (last 20) ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            self.name,
            self.said[self.said.len().saturating_sub(20)..].join("\n"),
            self.noise.lock().unwrap().join("\n"),
        )
    }

    /// Takes in what the worker said so far, without waiting.
    pub(crate) fn poll(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.said.push(line);
        }
        &self.said
    }

    /// Waits for a marked line satisfying `want` and returns it.
    pub(crate) fn expect(
        &mut self,
        what: &str,
        deadline: Instant,
        want: impl Fn(&str) -> bool,
    ) -> String {
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
    pub(crate) fn finish(&mut self, deadline: Instant) {
        let status = self.wait(deadline);
        assert!(
            status.success(),
            "worker failed: {status}\n{}",
            self.report()
        );
    }

    /// SIGKILL on Unix: no destructor, no rollback, no checkpoint runs.
    pub(crate) fn kill(&mut self) -> ExitStatus {
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
pub(crate) fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

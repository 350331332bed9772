//! The job queue on SQLite and PostgreSQL, each figure paired in the same
//! run with its raw baseline (`vault_benches::raw_jobs`: the statements
//! the store issues, through plain rusqlite or one plain sqlx connection
//! per worker).
//!
//! Ids: `jobs/enqueue/<backend>` (one job through `Vault::enqueue`, checked
//! and traced, against the raw insert) and `jobs/claim-complete/<backend>/
//! <workers>`: `n` workers drain a prefilled queue, each claiming batches
//! of 10 and completing every job it got, as `worker::run` does, without a
//! handler; the figure is wall time per job (criterion's throughput shows
//! jobs per second). Backend one of `sqlite`, `sqlite-raw`, `postgres`,
//! `postgres-raw`. PostgreSQL runs when `DATABASE_URL` answers.
//!
//! Prefilling runs between the timed sections; each worker finishes only
//! what it claimed, so every job completes exactly once on both sides
//! (checked once before timing). After each backend's criterion group, a
//! paired report times both sides back to back in rounds (see
//! [`paired_report`]): the goal is read from it.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use tokio::runtime::Runtime;
use uuid::Uuid;
use vault_benches::raw_jobs::{RawJobsPg, RawJobsSqlite};
use vault_benches::{pg, scale};
use vault_core::delivery::download::IpSalt;
use vault_core::jobs::backoff::Backoff;
use vault_core::jobs::job::{JobKind, JobState, NewJob};
use vault_core::jobs::lease::{Completion, Outcome};
use vault_core::jobs::store::{ClaimRequest, JobQuery};
use vault_core::store::Store;
use vault_core::value::actor::Actor;
use vault_core::value::clock::{SeededEntropy, SystemClock};
use vault_core::vault::{Vault, VaultConfig};
use vault_store_postgres::PgStore;
use vault_store_sqlite::SqliteStore;

/// Worker counts of the claim + complete bench.
const WORKERS: [usize; 3] = [1, 4, 16];
/// Jobs a worker claims at once (`WorkerConfig`'s default).
const BATCH: u32 = 10;

/// Ids for the raw side and the untimed prefills, minted as the vault
/// mints them (time-ordered, from a seeded source): where ids fall in the
/// primary key's index is part of an insert's cost, so both sides insert
/// alike.
static ENTROPY: std::sync::LazyLock<SeededEntropy> =
    std::sync::LazyLock::new(|| SeededEntropy::new(0x10b5));

fn id() -> Uuid {
    new_job().mint(&*ENTROPY, now()).id.as_uuid()
}

/// The wall clock, as an app runs the vault (`SystemClock`), at the
/// vault's microsecond precision: every side stamps and claims with it.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn new_job() -> NewJob {
    NewJob::new(JobKind::parse("bench.job").unwrap(), serde_json::json!({})).unwrap()
}

/// One side of a pair.
#[derive(Clone)]
enum Side {
    Vault(Vault<dyn Store>),
    Sqlite(RawJobsSqlite),
    /// Connections made before timing, one per worker, taken by a drain
    /// and put back after it.
    Postgres(Arc<std::sync::Mutex<Vec<RawJobsPg>>>),
}

impl Side {
    fn name(&self, backend: &str) -> String {
        match self {
            Side::Vault(_) => backend.to_owned(),
            _ => format!("{backend}-raw"),
        }
    }

    /// Enqueues `n` jobs due now (untimed).
    async fn prefill(&self, n: u64, pg: &mut Option<RawJobsPg>) {
        for _ in 0..n {
            match self {
                Side::Vault(v) => {
                    let job = new_job().mint(&*ENTROPY, now());
                    v.store().enqueue_job(&job).await.unwrap();
                }
                // Off the runtime's scheduling, as an async caller of
                // rusqlite must be and as the store is (a commit may wait
                // for the disk): block_in_place, the cheaper of tokio's
                // two ways.
                Side::Sqlite(raw) => {
                    tokio::task::block_in_place(|| raw.enqueue(id(), now())).unwrap()
                }
                Side::Postgres(_) => pg.as_mut().unwrap().enqueue(id(), now()).await.unwrap(),
            }
        }
    }

    /// Drains the queue with `n` workers; returns how many jobs completed.
    async fn drain(&self, n: usize) -> u64 {
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..n {
            let (side, done) = (self.clone(), Arc::clone(&done));
            let worker = format!("bench-{w}");
            tasks.push(tokio::spawn(async move {
                match side {
                    Side::Vault(v) => loop {
                        let req = ClaimRequest {
                            worker: worker.clone(),
                            now: now(),
                            lease: chrono::Duration::seconds(30),
                            limit: BATCH,
                            kinds: None,
                        };
                        let batch = v.store().claim_jobs(&req).await.unwrap();
                        if batch.is_empty() {
                            break;
                        }
                        for j in batch {
                            let c = Completion {
                                now: now(),
                                backoff: Backoff::default(),
                                jitter: 0,
                            };
                            v.store()
                                .finish_job(j.id, j.fence, &Outcome::Succeeded, &c)
                                .await
                                .unwrap();
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Side::Sqlite(raw) => loop {
                        // rusqlite blocks: off the runtime's workers, as the
                        // store runs its writes.
                        let (r, w) = (raw.clone(), worker.clone());
                        let batch = tokio::task::spawn_blocking(move || {
                            let got = r.claim(&w, now(), BATCH).unwrap();
                            for (id, fence) in &got {
                                r.complete(id, *fence, now()).unwrap();
                            }
                            got.len() as u64
                        })
                        .await
                        .unwrap();
                        if batch == 0 {
                            break;
                        }
                        done.fetch_add(batch, Ordering::Relaxed);
                    },
                    Side::Postgres(pool) => {
                        let mut c = pool.lock().unwrap().pop().expect("a connection per worker");
                        loop {
                            let batch = c.claim(&worker, now(), i64::from(BATCH)).await.unwrap();
                            if batch.is_empty() {
                                break;
                            }
                            for (id, fence) in batch {
                                c.complete(id, fence, now()).await.unwrap();
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        pool.lock().unwrap().push(c);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        done.load(Ordering::Relaxed)
    }
}

fn vault_over(store: Arc<dyn Store>) -> Vault<dyn Store> {
    Vault::new(
        store,
        Arc::new(SystemClock),
        Arc::new(SeededEntropy::new(1)),
        VaultConfig::new(IpSalt::new(b"jobs-bench-salt-0123".to_vec()).unwrap()),
    )
}

/// Every prefilled job completes exactly once, on both sides.
fn sanity(rt: &Runtime, side: &Side, pg: &mut Option<RawJobsPg>) {
    rt.block_on(async {
        side.prefill(50, pg).await;
        assert_eq!(side.drain(4).await, 50);
        if let Side::Vault(v) = side {
            let running = v
                .jobs(
                    &Actor::Service,
                    &JobQuery {
                        state: Some(JobState::Running),
                        ..JobQuery::default()
                    },
                )
                .await
                .unwrap();
            assert!(running.items.is_empty());
        }
    });
}

/// Times `iters` enqueues on `side` (then drains them, untimed).
async fn enqueue_block(side: &Side, iters: u64, pg: &mut Option<RawJobsPg>) -> Duration {
    let start = Instant::now();
    match side {
        Side::Vault(v) => {
            for _ in 0..iters {
                v.enqueue(&Actor::Service, new_job()).await.unwrap();
            }
        }
        _ => side.prefill(iters, pg).await,
    }
    let took = start.elapsed();
    // Leave an empty queue for the next block.
    side.drain(4).await;
    took
}

/// Prefills `iters` jobs (untimed) and times `n` workers draining them,
/// scaled to `iters` jobs.
async fn drain_block(side: &Side, iters: u64, n: usize, pg: &mut Option<RawJobsPg>) -> Duration {
    side.prefill(iters.max(n as u64), pg).await;
    let start = Instant::now();
    let done = side.drain(n).await;
    start.elapsed().mul_f64(iters as f64 / done as f64)
}

fn pair(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    backend: &str,
    sides: &[Side],
    pg: &mut Option<RawJobsPg>,
) {
    g.throughput(Throughput::Elements(1));
    for side in sides {
        sanity(rt, side, pg);
        let name = side.name(backend);
        g.bench_function(BenchmarkId::new("enqueue", &name), |b| {
            b.iter_custom(|iters| rt.block_on(enqueue_block(side, iters, pg)))
        });
        for n in WORKERS {
            g.bench_function(BenchmarkId::new(format!("claim-complete/{name}"), n), |b| {
                b.iter_custom(|iters| rt.block_on(drain_block(side, iters, n, pg)))
            });
        }
    }
}

/// Rounds of the paired report, and jobs per block in each.
const ROUNDS: usize = 12;
const BLOCK: u64 = 300;

/// The paired report: for each operation, [`ROUNDS`] rounds that each time
/// a block of [`BLOCK`] jobs on the vault and on the raw side back to back
/// (which goes first alternates), and the median of the rounds' `raw ÷
/// vault`. Criterion times the two sides seconds apart, and on this shared
/// machine the disk and the CPU change pace in between (runs move by ±20%);
/// a round's two blocks share the pace, so their ratio reads the work each
/// side does. The goal (raw ÷ vault ≥ 0.8) is read from these lines.
fn paired_report(rt: &Runtime, backend: &str, sides: &[Side], pg: &mut Option<RawJobsPg>) {
    let ops: Vec<(String, Option<usize>)> = std::iter::once(("enqueue".to_owned(), None))
        .chain(WORKERS.map(|n| (format!("claim-complete/{n}"), Some(n))))
        .collect();
    for (op, workers) in ops {
        let mut ratios = Vec::with_capacity(ROUNDS);
        let mut per_job = [Duration::ZERO; 2];
        for round in 0..ROUNDS {
            let mut took = [Duration::ZERO; 2];
            for k in 0..2 {
                let i = (round + k) % 2;
                took[i] = rt.block_on(async {
                    match workers {
                        None => enqueue_block(&sides[i], BLOCK, pg).await,
                        Some(n) => drain_block(&sides[i], BLOCK, n, pg).await,
                    }
                });
                per_job[i] += took[i] / (BLOCK as u32);
            }
            ratios.push(took[1].as_secs_f64() / took[0].as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        let median = (ratios[ROUNDS / 2 - 1] + ratios[ROUNDS / 2]) / 2.0;
        println!(
            "paired jobs/{op}/{backend}: raw ÷ vault {median:.2} (rounds {:.2}..{:.2}); \
             per job vault {:.1} µs, raw {:.1} µs",
            ratios[0],
            ratios[ROUNDS - 1],
            per_job[0].as_secs_f64() * 1e6 / ROUNDS as f64,
            per_job[1].as_secs_f64() * 1e6 / ROUNDS as f64,
        );
    }
}

fn fresh_sqlite(dir: &Path, name: &str, rt: &Runtime) -> (std::path::PathBuf, SqliteStore) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    vault_benches::world::remove_db(&path);
    let store = rt.block_on(SqliteStore::open(&path)).unwrap();
    (path, store)
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let rt = vault_benches::runtime();
    let dir = scale::db_dir(Path::new(env!("CARGO_TARGET_TMPDIR")));
    {
        let (vault_path, store) = fresh_sqlite(&dir, "jobs-vault.db", &rt);
        // The raw side's own file, migrated by the store, then left to it.
        let (raw_path, migrated) = fresh_sqlite(&dir, "jobs-raw.db", &rt);
        drop(migrated);
        let sides = [
            Side::Vault(vault_over(Arc::new(store))),
            Side::Sqlite(RawJobsSqlite::open(&raw_path).unwrap()),
        ];
        let mut g = c.benchmark_group("jobs");
        pair(&mut g, &rt, "sqlite", &sides, &mut None);
        g.finish();
        paired_report(&rt, "sqlite", &sides, &mut None);
        drop(sides);
        vault_benches::world::remove_db(&vault_path);
        vault_benches::world::remove_db(&raw_path);
    }
    if let Some(server) = rt.block_on(pg::server()) {
        let vault_db = rt
            .block_on(pg::fresh_named_database(&server, "vault_bench_jobs"))
            .unwrap();
        let raw_db = rt
            .block_on(pg::fresh_named_database(&server, "vault_bench_jobs_raw"))
            .unwrap();
        let store = rt
            .block_on(PgStore::connect_with_options(vault_db, Default::default()))
            .unwrap();
        // Migrates the raw side's database, then steps aside.
        let migrated = rt
            .block_on(PgStore::connect_with_options(
                raw_db.clone(),
                Default::default(),
            ))
            .unwrap();
        rt.block_on(migrated.close());
        let mut prefill = Some(rt.block_on(RawJobsPg::connect(&raw_db)).unwrap());
        let max = WORKERS.into_iter().max().unwrap_or(1);
        let conns = (0..max)
            .map(|_| rt.block_on(RawJobsPg::connect(&raw_db)).unwrap())
            .collect();
        let sides = [
            Side::Vault(vault_over(Arc::new(store))),
            Side::Postgres(Arc::new(std::sync::Mutex::new(conns))),
        ];
        let mut g = c.benchmark_group("jobs");
        pair(&mut g, &rt, "postgres", &sides, &mut prefill);
        g.finish();
        paired_report(&rt, "postgres", &sides, &mut prefill);
        drop(prefill);
        drop(sides);
        for name in ["vault_bench_jobs", "vault_bench_jobs_raw"] {
            rt.block_on(pg::drop_database(&server, name)).unwrap();
        }
    }
    c.final_summary();
}

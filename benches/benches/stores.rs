//! Store benches: the vault over the memory, SQLite and PostgreSQL stores,
//! every SQLite and PostgreSQL figure paired in the same run with its raw
//! baseline (the same SQL through plain rusqlite or one plain sqlx
//! connection, see `vault_benches::raw` and `vault_benches::raw_pg`). The
//! PostgreSQL backend runs when `DATABASE_URL` names a server that answers
//! (see `vault_benches::pg`); otherwise it is skipped with a notice.
//!
//! Ids: `store-<scale>/<operation>/<backend>` and
//! `concurrency-<scale>/<backend>/<tasks>`, backend one of `memory`,
//! `sqlite`, `sqlite-raw`, `postgres`, `postgres-raw`.
//! `VAULT_BENCH_SCALE=full` adds the 1M-purchase scale (see
//! `vault_benches::scale`).
//!
//! Only time inside the measured loop counts: per-iteration setup (a fresh
//! pending purchase, a signed event) runs between the timed sections.
//! Outcomes are checked once before timing (a grant, a page, an applied
//! event); no timing is ever asserted.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use tokio::runtime::Runtime;
use uuid::Uuid;
use vault_benches::raw::{self, RawEvent, RawSqlite};
use vault_benches::raw_pg::{self, PgEvent, RawPg};
use vault_benches::spec;
use vault_benches::world::{Backend, World};
use vault_benches::{pg, scale};
use vault_core::SeededEntropy;
use vault_core::commerce::license::LicenseKey;
use vault_core::commerce::purchase::PaymentRef;
use vault_core::value::actor::Actor;
use vault_stripe::webhook::Handled;

/// Concurrency levels of the throughput benches.
const TASKS: [usize; 3] = [1, 4, 16];

static RAW_IDS: AtomicUsize = AtomicUsize::new(0);

/// An id nobody else uses (raw baselines).
fn raw_uuid() -> Uuid {
    Uuid::from_u128((0xfeed_u128 << 112) | RAW_IDS.fetch_add(1, Ordering::Relaxed) as u128)
}

/// [`raw_uuid`] as the SQLite baseline's text.
fn raw_id() -> String {
    raw_uuid().to_string()
}

/// The raw baseline paired with a backend.
enum Raw {
    /// None (the memory store).
    None,
    /// Plain rusqlite.
    Sqlite(RawSqlite),
    /// One plain sqlx connection.
    Postgres(RawPg),
}

impl Raw {
    fn open(w: &World, rt: &Runtime) -> Raw {
        if let Some(path) = &w.path {
            Raw::Sqlite(RawSqlite::open(path).unwrap())
        } else if let Some(options) = &w.pg {
            Raw::Postgres(rt.block_on(RawPg::connect(options)).unwrap())
        } else {
            Raw::None
        }
    }
}

/// Times `iters` runs of `$body` (an expression that may `.await`) inside
/// one `block_on`, like [`timed`] for bodies that borrow mutably.
macro_rules! timed_loop {
    ($rt:expr, $iters:expr, $body:expr) => {
        $rt.block_on(async {
            let start = Instant::now();
            for _ in 0..$iters {
                $body;
            }
            start.elapsed()
        })
    };
}

/// Times `iters` runs of an async body on the runtime.
fn timed<F, Fut>(rt: &Runtime, iters: u64, mut body: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            body().await;
        }
        start.elapsed()
    })
}

fn sanity(w: &World, rt: &Runtime, raw: &mut Raw) {
    let t = &w.targets[0];
    rt.block_on(async {
        let d =
            w.fx.vault
                .check_access(&t.actor, t.workflow, Some(t.file))
                .await
                .unwrap();
        assert!(d.grant.is_some(), "the target must be granted: {d:?}");
        let page =
            w.fx.vault
                .list_cards(&t.actor, w.list_query())
                .await
                .unwrap();
        assert_eq!(page.items.len(), 20, "a full page");
        let found =
            w.fx.vault
                .list_cards(&t.actor, w.search_query())
                .await
                .unwrap();
        assert!(!found.items.is_empty(), "the search finds something");
    });
    match raw {
        Raw::Sqlite(raw) => assert!(raw.check_access(&t.raw).is_ok()),
        Raw::Postgres(raw) => rt.block_on(async {
            raw.check_access(&t.pg).await.unwrap();
            raw.list(&t.pg.user, w.category.as_uuid()).await.unwrap();
            raw.search(&t.pg.user, &raw_pg::tsquery(spec::SEARCH))
                .await
                .unwrap();
        }),
        Raw::None => {}
    }
}

fn store_benches(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, w: &World, raw: &mut Raw) {
    let b_name = w.backend.name();
    let t = &w.targets[0];
    let vault = &w.fx.vault;

    // check_access: the decision for a given file, with its explanation.
    g.bench_function(BenchmarkId::new("check_access", b_name), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, || async {
                black_box(
                    vault
                        .check_access(&t.actor, t.workflow, Some(t.file))
                        .await
                        .unwrap(),
                );
            })
        })
    });
    match raw {
        Raw::Sqlite(raw) => {
            g.bench_function(BenchmarkId::new("check_access", "sqlite-raw"), |b| {
                b.iter(|| raw.check_access(black_box(&t.raw)).unwrap())
            });
        }
        Raw::Postgres(raw) => {
            g.bench_function(BenchmarkId::new("check_access", "postgres-raw"), |b| {
                b.iter_custom(|iters| {
                    timed_loop!(rt, iters, black_box(raw.check_access(&t.pg).await.unwrap()))
                })
            });
        }
        Raw::None => {}
    }

    // download: decide, charge the purchase, record.
    g.bench_function(BenchmarkId::new("download", b_name), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, || async {
                black_box(
                    vault
                        .download(&t.actor, t.workflow, None, &w.request)
                        .await
                        .unwrap(),
                );
            })
        })
    });
    match raw {
        Raw::Sqlite(raw) => {
            g.bench_function(BenchmarkId::new("download", "sqlite-raw"), |b| {
                b.iter(|| raw.download(&t.raw, &raw_id()).unwrap())
            });
        }
        Raw::Postgres(raw) => {
            g.bench_function(BenchmarkId::new("download", "postgres-raw"), |b| {
                b.iter_custom(|iters| {
                    timed_loop!(
                        rt,
                        iters,
                        black_box(raw.download(&t.pg, raw_uuid()).await.unwrap())
                    )
                })
            });
        }
        Raw::None => {}
    }

    // list: one category, one tier, by downloads.
    let list = w.list_query();
    g.bench_function(BenchmarkId::new("list", b_name), |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, || async {
                black_box(vault.list_cards(&t.actor, list.clone()).await.unwrap());
            })
        })
    });
    let category = w.category.to_string();
    match raw {
        Raw::Sqlite(raw) => {
            let sql = raw::list_sql();
            g.bench_function(BenchmarkId::new("list", "sqlite-raw"), |b| {
                b.iter(|| {
                    raw.list(&sql, rusqlite::params!["published", category, "pro"])
                        .unwrap()
                })
            });
        }
        Raw::Postgres(raw) => {
            let category = w.category.as_uuid();
            g.bench_function(BenchmarkId::new("list", "postgres-raw"), |b| {
                b.iter_custom(|iters| {
                    timed_loop!(
                        rt,
                        iters,
                        black_box(raw.list(&t.pg.user, category).await.unwrap())
                    )
                })
            });
        }
        Raw::None => {}
    }

    // search: full text, newest first; a common text, then a rare one (its
    // page is not among the listing's first rows).
    for (name, search) in [
        ("search", w.search_query()),
        ("search_rare", w.rare_search_query()),
    ] {
        g.bench_function(BenchmarkId::new(name, b_name), |b| {
            b.iter_custom(|iters| {
                timed(rt, iters, || async {
                    black_box(vault.list_cards(&t.actor, search.clone()).await.unwrap());
                })
            })
        });
    }
    match raw {
        Raw::Sqlite(raw) => {
            let p = raw::search_params(spec::SEARCH);
            let sql = raw::search_sql(p.len() - 2);
            g.bench_function(BenchmarkId::new("search", "sqlite-raw"), |b| {
                b.iter(|| raw.list(&sql, rusqlite::params_from_iter(&p)).unwrap())
            });
        }
        Raw::Postgres(raw) => {
            let query = raw_pg::tsquery(spec::SEARCH);
            g.bench_function(BenchmarkId::new("search", "postgres-raw"), |b| {
                b.iter_custom(|iters| {
                    timed_loop!(
                        rt,
                        iters,
                        black_box(raw.search(&t.pg.user, &query).await.unwrap())
                    )
                })
            });
        }
        Raw::None => {}
    }
}

/// The benches that add purchases: run after the others, so that every
/// backend's other benches read the data set as loaded.
fn purchase_benches(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, w: &World, raw: &mut Raw) {
    let b_name = w.backend.name();
    let t = &w.targets[0];
    let vault = &w.fx.vault;
    // complete_purchase: a fresh pending purchase each iteration.
    g.bench_function(BenchmarkId::new("complete_purchase", b_name), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let p = w.fresh_pending().await;
                    let payment = PaymentRef::parse(&format!("pi_bench_{}", w.next())).unwrap();
                    let start = Instant::now();
                    black_box(
                        vault
                            .complete_purchase(&Actor::Service, p.id, payment)
                            .await
                            .unwrap(),
                    );
                    total += start.elapsed();
                }
                total
            })
        })
    });
    let keys = SeededEntropy::new(0x4a3);
    let pending = w.templates.pending.id.to_string();
    let pending_uuid = w.templates.pending.id.as_uuid();
    if let Raw::Postgres(raw) = raw {
        g.bench_function(BenchmarkId::new("complete_purchase", "postgres-raw"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (id, n) = (raw_uuid(), w.next());
                        let key = LicenseKey::generate(&keys).hash();
                        raw.insert_pending(
                            pending_uuid,
                            id,
                            &format!("raw-buyer-{n}"),
                            key.as_str(),
                            t.pg.now,
                        )
                        .await
                        .unwrap();
                        let payment = format!("pi_raw_{n}");
                        let start = Instant::now();
                        raw.complete(id, &payment, t.pg.now, t.pg.today)
                            .await
                            .unwrap();
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
    }
    if let Raw::Sqlite(raw) = raw {
        g.bench_function(BenchmarkId::new("complete_purchase", "sqlite-raw"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (id, n) = (raw_id(), w.next());
                    let key = LicenseKey::generate(&keys).hash();
                    raw.insert_pending(
                        &pending,
                        &id,
                        &format!("raw-buyer-{n}"),
                        key.as_str(),
                        &t.raw.now,
                    )
                    .unwrap();
                    let start = Instant::now();
                    raw.complete(&id, &format!("pi_raw_{n}"), &t.raw.now, &t.raw.today)
                        .unwrap();
                    total += start.elapsed();
                }
                total
            })
        });
    }

    // webhook: a signed checkout.session.completed for a fresh pending
    // purchase each iteration.
    g.bench_function(BenchmarkId::new("webhook_checkout", b_name), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let p = w.fresh_pending().await;
                    let (body, header) = w.checkout_completed(&p, w.next());
                    let start = Instant::now();
                    let handled = w.hooks.handle(&body, &header).await.unwrap();
                    total += start.elapsed();
                    assert!(
                        matches!(handled, Handled::Applied { changed: true, .. }),
                        "{handled:?}"
                    );
                }
                total
            })
        })
    });
    if let Raw::Postgres(raw) = raw {
        g.bench_function(BenchmarkId::new("webhook_checkout", "postgres-raw"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (id, n) = (raw_uuid(), w.next());
                        let key = LicenseKey::generate(&keys).hash();
                        raw.insert_pending(
                            pending_uuid,
                            id,
                            &format!("raw-buyer-{n}"),
                            key.as_str(),
                            t.pg.now,
                        )
                        .await
                        .unwrap();
                        let (event, session, payment) = (
                            format!("evt_raw_{n}"),
                            format!("cs_raw_{n}"),
                            format!("pi_raw_hook_{n}"),
                        );
                        let start = Instant::now();
                        raw.webhook(
                            &PgEvent {
                                event: &event,
                                session: &session,
                                purchase: id,
                                payment_ref: &payment,
                            },
                            t.pg.now,
                            t.pg.today,
                        )
                        .await
                        .unwrap();
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
    }
    if let Raw::Sqlite(raw) = raw {
        g.bench_function(BenchmarkId::new("webhook_checkout", "sqlite-raw"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (id, n) = (raw_id(), w.next());
                    let key = LicenseKey::generate(&keys).hash();
                    raw.insert_pending(
                        &pending,
                        &id,
                        &format!("raw-buyer-{n}"),
                        key.as_str(),
                        &t.raw.now,
                    )
                    .unwrap();
                    let (event, session, payment) = (
                        format!("evt_raw_{n}"),
                        format!("cs_raw_{n}"),
                        format!("pi_raw_hook_{n}"),
                    );
                    let start = Instant::now();
                    raw.webhook(
                        &RawEvent {
                            event: &event,
                            session: &session,
                            purchase: &id,
                            payment_ref: &payment,
                        },
                        &t.raw.now,
                        &t.raw.today,
                    )
                    .unwrap();
                    total += start.elapsed();
                }
                total
            })
        });
    }
}

/// Download throughput: `n` tasks download concurrently, each as its own
/// target user; the figure is wall time per download.
fn concurrency(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, w: &World, raw: &Raw) {
    g.throughput(Throughput::Elements(1));
    for n in TASKS {
        g.bench_function(BenchmarkId::new(w.backend.name(), n), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(n as u64);
                let elapsed = rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = w.targets[..n]
                        .iter()
                        .map(|t| {
                            let (vault, t, req) =
                                (w.fx.vault.clone(), t.clone(), w.request.clone());
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    vault
                                        .download(&t.actor, t.workflow, None, &req)
                                        .await
                                        .unwrap();
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    start.elapsed()
                });
                elapsed.mul_f64(iters as f64 / (per * n as u64) as f64)
            })
        });
        if let (Raw::Postgres(_), Some(options)) = (raw, &w.pg) {
            let mut conns: Vec<RawPg> = (0..n)
                .map(|_| rt.block_on(RawPg::connect(options)).unwrap())
                .collect();
            g.bench_function(BenchmarkId::new("postgres-raw", n), |b| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(n as u64);
                    let (elapsed, back) = rt.block_on(async {
                        let start = Instant::now();
                        let tasks: Vec<_> = std::mem::take(&mut conns)
                            .into_iter()
                            .zip(&w.targets)
                            .map(|(mut conn, t)| {
                                let t = t.pg.clone();
                                tokio::spawn(async move {
                                    for _ in 0..per {
                                        conn.download(&t, raw_uuid()).await.unwrap();
                                    }
                                    conn
                                })
                            })
                            .collect();
                        let mut back = Vec::with_capacity(n);
                        for task in tasks {
                            back.push(task.await.unwrap());
                        }
                        (start.elapsed(), back)
                    });
                    conns = back;
                    elapsed.mul_f64(iters as f64 / (per * n as u64) as f64)
                })
            });
        }
        if let Raw::Sqlite(raw) = raw {
            let mut handles: Vec<RawSqlite> = (0..n).map(|_| raw.handle().unwrap()).collect();
            g.bench_function(BenchmarkId::new("sqlite-raw", n), |b| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(n as u64);
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for (h, t) in handles.iter_mut().zip(&w.targets) {
                            s.spawn(move || {
                                for _ in 0..per {
                                    h.download(&t.raw, &raw_id()).unwrap();
                                }
                            });
                        }
                    });
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per * n as u64) as f64)
                })
            });
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = vault_benches::runtime();
    let dir = scale::db_dir(Path::new(env!("CARGO_TARGET_TMPDIR")));
    eprintln!("SQLite databases in {}", dir.display());
    let postgres = rt.block_on(pg::server()).is_some();
    for scale in scale::selected() {
        for backend in [Backend::Memory, Backend::Sqlite, Backend::Postgres] {
            if backend == Backend::Postgres && !postgres {
                continue;
            }
            if backend == Backend::Memory && !scale::memory_at(&scale) {
                eprintln!(
                    "skipping the memory store at {}: it holds the whole data set in RAM \
                     (~2.7 GB here, on top of SQLite's database on tmpfs; loading takes \
                     ~5 s); set VAULT_BENCH_MEMORY_1M=1 to include it",
                    scale.name
                );
                continue;
            }
            let world = Arc::new(rt.block_on(World::build(backend, scale, &dir)));
            let mut raw = Raw::open(&world, &rt);
            sanity(&world, &rt, &mut raw);
            {
                let mut g = c.benchmark_group(format!("store-{}", scale.name));
                store_benches(&mut g, &rt, &world, &mut raw);
                g.finish();
            }
            {
                let mut g = c.benchmark_group(format!("concurrency-{}", scale.name));
                concurrency(&mut g, &rt, &world, &raw);
                g.finish();
            }
            {
                let mut g = c.benchmark_group(format!("store-{}", scale.name));
                purchase_benches(&mut g, &rt, &world, &mut raw);
                g.finish();
            }
            drop(raw);
            // Gigabytes at 1M (and SQLite's on tmpfs are memory).
            rt.block_on(world.remove_storage());
        }
    }
    c.final_summary();
}

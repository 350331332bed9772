//! The vault's download path and catalog pages against the `*-min`
//! baselines (`vault_benches::min` and `vault_benches::min_catalog`: the
//! least SQL that does the same job, on a frozen schema of its own), at
//! the scales `VAULT_BENCH_SCALE` selects (the
//! small one, 10k purchases over 1k workflows, by default; `full` adds 1M
//! purchases over 100k workflows), on SQLite and, when `DATABASE_URL`
//! answers, PostgreSQL. The anchors run once, at the small scale.
//!
//! Two reports, printed (no criterion: each figure is a ratio of two sides
//! timed back to back, or an anchor):
//! * `anchor min/...`: the baseline alone, to check that it reproduces
//!   what this machine class is known to do (benches/README.md § The
//!   limit): SQLite download and access read with `synchronous = NORMAL`,
//!   PostgreSQL's one-statement write with durable commits on one client,
//!   and writes per second with four clients.
//! * `paired <op>/<backend>: min ÷ vault`: rounds that time a block of
//!   operations on the vault and then on the baseline (which goes first
//!   alternates), and the median of the rounds' ratios: how far the vault
//!   is from the limit.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use tokio::runtime::Runtime;
use vault_benches::min::{MinPg, MinSqlite, MinTarget, tier_rank};
use vault_benches::min_catalog::{MinCatalogPg, MinCatalogSqlite};
use vault_benches::scale::{self, SMALL, Scale};
use vault_benches::world::{Backend, World, remove_db};
use vault_benches::{pg, spec};
use vault_core::Clock;
use vault_core::catalog::query::WorkflowQuery;
use vault_core::value::tier::PricingTier;

/// Rounds of a paired report, and operations per block in each; with
/// `--test` (CI's smoke run) two rounds of ten, so the bench cannot rot.
fn plan() -> (usize, usize) {
    static PLAN: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();
    *PLAN.get_or_init(|| {
        if std::env::args().any(|a| a == "--test") {
            (2, 10)
        } else {
            (12, 200)
        }
    })
}

fn targets(w: &World) -> Vec<MinTarget> {
    (0..spec::TARGETS)
        .map(|u| {
            let raw = &w.targets[u].raw;
            MinTarget::new(u, raw.ip_hash.clone(), raw.user_agent.clone())
        })
        .collect()
}

/// Prints the median of the plan's rounds of `min ÷ vault`, each timing
/// `block` operations on both sides back to back.
fn paired(
    name: &str,
    mut vault: impl FnMut(usize) -> Duration,
    mut min: impl FnMut(usize) -> Duration,
) {
    let (rounds, block) = plan();
    let _ = (vault(block / 4), min(block / 4)); // warm-up
    let mut ratios = Vec::with_capacity(rounds);
    let mut per_op = [0.0f64; 2];
    for round in 0..rounds {
        let mut took = [Duration::ZERO; 2];
        for k in 0..2 {
            let i = (round + k) % 2;
            took[i] = if i == 0 { vault(block) } else { min(block) };
            per_op[i] += took[i].as_secs_f64() * 1e6 / block as f64;
        }
        ratios.push(took[1].as_secs_f64() / took[0].as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let median = (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2.0;
    println!(
        "paired {name}: min ÷ vault {median:.2} (rounds {:.2}..{:.2}); per op vault {:.1} µs, min {:.1} µs",
        ratios[0],
        ratios[rounds - 1],
        per_op[0] / rounds as f64,
        per_op[1] / rounds as f64,
    );
}

/// Median per-operation time of `f` over the plan's blocks.
fn anchor(name: &str, mut f: impl FnMut(usize) -> Duration) {
    let (rounds, block) = plan();
    let _ = f(block / 4);
    let mut per = (0..rounds)
        .map(|_| f(block).as_secs_f64() * 1e6 / block as f64)
        .collect::<Vec<_>>();
    per.sort_by(f64::total_cmp);
    println!(
        "anchor min/{name}: {:.1} µs per op (median of {rounds} blocks of {block}; {:.1}..{:.1})",
        per[rounds / 2],
        per[0],
        per[rounds - 1]
    );
}

/// The vault's side of a pair.
#[derive(Clone, Copy)]
enum Op {
    CheckAccess,
    Download,
    /// The world's listing page (one category, pro, most downloaded).
    List,
    /// The world's search page for [`spec::SEARCH`] or [`spec::SEARCH_RARE`].
    Search(&'static str),
}

/// Times `k` of `op` through the vault, cycling over the targets.
fn vault_side<'a>(rt: &'a Runtime, w: &'a World, op: Op) -> impl FnMut(usize) -> Duration + 'a {
    let mut n = 0usize;
    move |k| {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..k {
                n += 1;
                let t = &w.targets[n % spec::TARGETS];
                match op {
                    Op::CheckAccess => {
                        w.fx.vault
                            .check_access(&t.actor, t.workflow, Some(t.file))
                            .await
                            .unwrap();
                    }
                    Op::Download => {
                        w.fx.vault
                            .download(&t.actor, t.workflow, None, &w.request)
                            .await
                            .unwrap();
                    }
                    Op::List | Op::Search(_) => {
                        w.fx.vault
                            .list_cards(&t.actor, page_query(w, op))
                            .await
                            .unwrap();
                    }
                }
            }
            start.elapsed()
        })
    }
}

/// The vault's query for a page operation.
fn page_query(w: &World, op: Op) -> WorkflowQuery {
    match op {
        Op::Search(text) => WorkflowQuery {
            text: Some(text.into()),
            ..WorkflowQuery::default()
        },
        _ => w.list_query(),
    }
}

/// The world's listing as the catalog baselines take it: the category's
/// index in the spec and the pro tier's rank.
fn listed() -> (i64, i64) {
    (spec::category(1) as i64, tier_rank(PricingTier::Pro))
}

/// The workflow ids of the vault's page for `op`, as text.
fn vault_page(rt: &Runtime, w: &World, op: Op) -> Vec<String> {
    let t = &w.targets[0];
    let page = rt
        .block_on(w.fx.vault.list_cards(&t.actor, page_query(w, op)))
        .unwrap();
    let mut ids: Vec<String> = page.items.iter().map(|c| c.id.to_string()).collect();
    // The baselines read the 21st row that tells a next page exists.
    if page.next.is_some() {
        ids.push("(more)".into());
    }
    ids
}

/// The baseline's 21 rows as the vault shows them: 20 ids and a marker.
fn min_page(mut ids: Vec<String>) -> Vec<String> {
    if ids.len() == 21 {
        ids[20] = "(more)".into();
    }
    ids
}

/// The pages both sides time, by name.
const PAGES: [(&str, Op); 3] = [
    ("list", Op::List),
    ("search", Op::Search(spec::SEARCH)),
    ("search_rare", Op::Search(spec::SEARCH_RARE)),
];

fn sqlite_pages(rt: &Runtime, w: &World, dir: &Path, scale: &Scale) {
    let path = dir.join(format!("min-catalog-{}.db", scale.name));
    remove_db(&path);
    let min = MinCatalogSqlite::create(&path, scale, vault_core::testkit::epoch()).unwrap();
    let (category, tier) = listed();
    let run = |op: Op| match op {
        Op::Search(text) => min.search(text).unwrap(),
        _ => min.list(category, tier).unwrap(),
    };
    for (name, op) in PAGES {
        // Sanity: the same workflows in the same order on both sides.
        assert_eq!(vault_page(rt, w, op), min_page(run(op)), "{name}");
        paired(&label(name, "sqlite", scale), vault_side(rt, w, op), |k| {
            let start = Instant::now();
            for _ in 0..k {
                std::hint::black_box(run(op));
            }
            start.elapsed()
        });
    }
    drop(min);
    remove_db(&path);
}

fn postgres_pages(rt: &Runtime, w: &World, options: &PgConnectOptions, scale: &Scale) {
    let mut min = rt
        .block_on(MinCatalogPg::create(
            options,
            scale,
            vault_core::testkit::epoch(),
        ))
        .unwrap();
    let (category, tier) = listed();
    for (name, op) in PAGES {
        let mut run = |op: Op| {
            rt.block_on(async {
                let ids = match op {
                    Op::Search(text) => min.search(text).await.unwrap(),
                    _ => min.list(category, tier).await.unwrap(),
                };
                ids.iter().map(ToString::to_string).collect::<Vec<_>>()
            })
        };
        assert_eq!(vault_page(rt, w, op), min_page(run(op)), "{name}");
        paired(
            &label(name, "postgres", scale),
            vault_side(rt, w, op),
            |k| {
                let start = Instant::now();
                for _ in 0..k {
                    std::hint::black_box(run(op));
                }
                start.elapsed()
            },
        );
    }
}

/// A paired report's name: the operation and backend, and the scale past
/// the small one (`check_access/sqlite`, `check_access/sqlite at 1M`).
fn label(op: &str, backend: &str, scale: &Scale) -> String {
    if *scale == SMALL {
        format!("{op}/{backend}")
    } else {
        format!("{op}/{backend} at {}", scale.name)
    }
}

fn sqlite(rt: &Runtime, dir: &Path, scale: Scale) {
    let w = rt.block_on(World::build(Backend::Sqlite, scale, dir));
    let now = w.fx.clock.now();
    let ts = targets(&w);
    let path = dir.join(format!("min-{}.db", scale.name));
    remove_db(&path);
    let min = MinSqlite::create(&path, &scale, vault_core::testkit::epoch(), "FULL").unwrap();
    // Sanity: both sides grant target 0 through its purchase, and a
    // download records on both.
    let access = min.check_access(&ts[0], now).unwrap().unwrap();
    assert!(access.purchase.is_some(), "{access:?}");
    assert!(min.download(&ts[0], now).unwrap());
    let t = &w.targets[0];
    rt.block_on(w.fx.vault.download(&t.actor, t.workflow, None, &w.request))
        .unwrap();
    // Pages first: the downloads timed below move the listing's order on
    // the vault's side only.
    sqlite_pages(rt, &w, dir, &scale);

    paired(
        &label("check_access", "sqlite", &scale),
        vault_side(rt, &w, Op::CheckAccess),
        |k| {
            let start = Instant::now();
            for i in 0..k {
                min.check_access(&ts[i % spec::TARGETS], now)
                    .unwrap()
                    .unwrap();
            }
            start.elapsed()
        },
    );
    paired(
        &label("download", "sqlite", &scale),
        vault_side(rt, &w, Op::Download),
        |k| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..k {
                    let ok = tokio::task::block_in_place(|| {
                        min.download(&ts[i % spec::TARGETS], now).unwrap()
                    });
                    assert!(ok);
                }
                start.elapsed()
            })
        },
    );
    let (rows, rolled) = min.counts(now).unwrap();
    assert_eq!(rows, rolled, "every min download moved its day rollup");
    drop(min);
    remove_db(&path);
    if scale != SMALL {
        rt.block_on(w.remove_storage());
        return;
    }

    // The anchors: synchronous = NORMAL, as the anchors were measured.
    let min = MinSqlite::create(&path, &SMALL, vault_core::testkit::epoch(), "NORMAL").unwrap();
    anchor("sqlite/check_access (NORMAL)", |k| {
        let start = Instant::now();
        for i in 0..k {
            min.check_access(&ts[i % spec::TARGETS], now)
                .unwrap()
                .unwrap();
        }
        start.elapsed()
    });
    anchor("sqlite/download write (NORMAL)", |k| {
        let start = Instant::now();
        for i in 0..k {
            let u = i % spec::TARGETS;
            let purchase = spec::purchase_id(u * scale::PURCHASES_PER_USER).to_string();
            let category = spec::category(u) as i64;
            assert!(min.write(&ts[u], &purchase, category, now).unwrap());
        }
        start.elapsed()
    });
    anchor("sqlite/download (NORMAL; read + write)", |k| {
        let start = Instant::now();
        for i in 0..k {
            assert!(min.download(&ts[i % spec::TARGETS], now).unwrap());
        }
        start.elapsed()
    });
    drop(min);
    remove_db(&path);
    rt.block_on(w.remove_storage());
}

async fn pg_writes(min: &mut MinPg, ts: &[MinTarget], k: usize, now: DateTime<Utc>) {
    for i in 0..k {
        let u = i % ts.len();
        let t = &ts[u];
        let purchase = spec::purchase_id(u * scale::PURCHASES_PER_USER).as_uuid();
        let category = spec::category(u) as i64;
        assert!(min.write(t, purchase, category, now).await.unwrap());
    }
}

fn postgres(rt: &Runtime, dir: &Path, scale: Scale) {
    let Some(server) = rt.block_on(pg::server()) else {
        return;
    };
    let w = Arc::new(rt.block_on(World::build(Backend::Postgres, scale, dir)));
    let now = w.fx.clock.now();
    let ts = targets(&w);
    let options = rt
        .block_on(pg::fresh_named_database(&server, "vault_bench_min"))
        .unwrap();
    let mut min = rt
        .block_on(MinPg::create(
            &options,
            &scale,
            vault_core::testkit::epoch(),
        ))
        .unwrap();
    let access = rt.block_on(min.check_access(&ts[0], now)).unwrap().unwrap();
    assert!(access.purchase.is_some(), "{access:?}");
    assert!(rt.block_on(min.download(&ts[0], now)).unwrap());
    postgres_pages(rt, &w, &options, &scale);

    paired(
        &label("check_access", "postgres", &scale),
        vault_side(rt, &w, Op::CheckAccess),
        |k| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..k {
                    min.check_access(&ts[i % spec::TARGETS], now)
                        .await
                        .unwrap()
                        .unwrap();
                }
                start.elapsed()
            })
        },
    );
    paired(
        &label("download", "postgres", &scale),
        vault_side(rt, &w, Op::Download),
        |k| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..k {
                    assert!(min.download(&ts[i % spec::TARGETS], now).await.unwrap());
                }
                start.elapsed()
            })
        },
    );
    let ts = Arc::new(ts);
    concurrency(rt, &w, &options, &ts, now, &scale);
    let (rows, rolled) = rt.block_on(min.counts(now)).unwrap();
    assert_eq!(rows, rolled, "every min download moved its day rollup");
    drop(min);
    if scale != SMALL {
        rt.block_on(w.remove_storage());
        rt.block_on(pg::drop_database(&server, "vault_bench_min"))
            .unwrap();
        return;
    }

    // The anchors: durable commits (no session setting), as measured.
    let durable = server.clone().database("vault_bench_min");
    let mut one = rt.block_on(MinPg::connect(&durable)).unwrap();
    anchor("postgres/download write (durable, 1 client)", |k| {
        rt.block_on(async {
            let start = Instant::now();
            pg_writes(&mut one, &ts, k, now).await;
            start.elapsed()
        })
    });
    anchor("postgres/check_access (1 client)", |k| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..k {
                one.check_access(&ts[i % spec::TARGETS], now)
                    .await
                    .unwrap()
                    .unwrap();
            }
            start.elapsed()
        })
    });
    drop(one);
    let clients = 4;
    let mut conns = (0..clients)
        .map(|_| Some(rt.block_on(MinPg::connect(&durable)).unwrap()))
        .collect::<Vec<_>>();
    let block = plan().1;
    let mut per_sec = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let handles = conns
            .iter_mut()
            .enumerate()
            .map(|(c, slot)| {
                let mut conn = slot.take().unwrap();
                // Each client its own targets: the rows they update differ,
                // as different users' downloads do.
                let mine = ts
                    .iter()
                    .skip(c)
                    .step_by(clients)
                    .cloned()
                    .collect::<Vec<_>>();
                let firsts: Vec<usize> = (c..spec::TARGETS).step_by(clients).collect();
                rt.spawn(async move {
                    for i in 0..block {
                        let j = i % mine.len();
                        let u = firsts[j];
                        let purchase = spec::purchase_id(u * scale::PURCHASES_PER_USER).as_uuid();
                        assert!(
                            conn.write(&mine[j], purchase, spec::category(u) as i64, now)
                                .await
                                .unwrap()
                        );
                    }
                    conn
                })
            })
            .collect::<Vec<_>>();
        for (slot, h) in conns.iter_mut().zip(handles) {
            *slot = Some(rt.block_on(h).unwrap());
        }
        per_sec.push((clients * block) as f64 / start.elapsed().as_secs_f64());
    }
    per_sec.sort_by(f64::total_cmp);
    println!(
        "anchor min/postgres/download write (durable, {clients} clients): {:.0} writes/s (median of 5; {:.0}..{:.0})",
        per_sec[2], per_sec[0], per_sec[4]
    );
    drop(conns);
    rt.block_on(w.remove_storage());
    rt.block_on(pg::drop_database(&server, "vault_bench_min"))
        .unwrap();
}

/// Downloads (access read and write) per second with 1, 4 and 16
/// concurrent tasks on each side: the vault's tasks share its pool, the
/// baseline's each hold a connection, at the same durability as the
/// paired rounds. Each task cycles over its own targets (different users'
/// downloads charge different purchases). Three rounds per side, which
/// goes first alternating; the medians.
fn concurrency(
    rt: &Runtime,
    w: &Arc<World>,
    options: &PgConnectOptions,
    ts: &Arc<Vec<MinTarget>>,
    now: DateTime<Utc>,
    scale: &Scale,
) {
    let block = plan().1;
    let at = if *scale == SMALL {
        String::new()
    } else {
        format!(" at {}", scale.name)
    };
    for tasks in [1, 4, 16] {
        let mine = move |c: usize| (c..spec::TARGETS).step_by(tasks).collect::<Vec<_>>();
        let mut conns = (0..tasks)
            .map(|_| Some(rt.block_on(MinPg::connect(options)).unwrap()))
            .collect::<Vec<_>>();
        let mut rates = [Vec::new(), Vec::new()];
        for round in 0..3 {
            for k in 0..2 {
                let side = (round + k) % 2;
                let start = Instant::now();
                if side == 0 {
                    let handles = (0..tasks)
                        .map(|c| {
                            let (w, mine) = (Arc::clone(w), mine(c));
                            rt.spawn(async move {
                                for i in 0..block {
                                    let t = &w.targets[mine[i % mine.len()]];
                                    w.fx.vault
                                        .download(&t.actor, t.workflow, None, &w.request)
                                        .await
                                        .unwrap();
                                }
                            })
                        })
                        .collect::<Vec<_>>();
                    for h in handles {
                        rt.block_on(h).unwrap();
                    }
                } else {
                    let handles = conns
                        .iter_mut()
                        .enumerate()
                        .map(|(c, slot)| {
                            let (mut conn, ts, mine) =
                                (slot.take().unwrap(), Arc::clone(ts), mine(c));
                            rt.spawn(async move {
                                for i in 0..block {
                                    let t = &ts[mine[i % mine.len()]];
                                    assert!(conn.download(t, now).await.unwrap());
                                }
                                conn
                            })
                        })
                        .collect::<Vec<_>>();
                    for (slot, h) in conns.iter_mut().zip(handles) {
                        *slot = Some(rt.block_on(h).unwrap());
                    }
                }
                rates[side].push((tasks * block) as f64 / start.elapsed().as_secs_f64());
            }
        }
        for r in &mut rates {
            r.sort_by(f64::total_cmp);
        }
        let (vault, min) = (rates[0][1], rates[1][1]);
        println!(
            "concurrency download/postgres{at}, {tasks} tasks: vault {vault:.0}/s, min {min:.0}/s; \
             vault ÷ min {:.2}",
            vault / min
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and
    // ignored (this bench is one report).
    let rt = vault_benches::runtime();
    let dir = scale::db_dir(Path::new(env!("CARGO_TARGET_TMPDIR")));
    for scale in scale::selected() {
        sqlite(&rt, &dir, scale);
        postgres(&rt, &dir, scale);
    }
}

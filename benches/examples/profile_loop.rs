//! One vault operation in a loop on the bench's 10k data, for a profiler:
//!
//! ```sh
//! cargo build --profile bench -p vault-benches --example profile_loop
//! perf record --call-graph dwarf -o perf.data \
//!     target/release/examples/profile_loop download sqlite
//! perf report -i perf.data --children --sort symbol
//! ```
//!
//! Operations: `check_access`, `download`, `list` (`list_anonymous`: signed
//! out), `search`, `search_rare`,
//! `webhook` (a signed checkout completion, timed apart from making its
//! pending purchase), and `min_check_access`, `min_download`, `min_list`,
//! `min_search`, `min_search_rare` (the SQLite `*-min` baselines', on
//! their own schema and file); backends
//! `sqlite` (the default) or `postgres` (`DATABASE_URL`); scale `small`
//! (the default, 10k purchases) or `large` (1M purchases, 100k workflows). It runs for eight
//! seconds and prints the mean time per operation. The data (SQLite under
//! `/dev/shm/vault-profile`, PostgreSQL database `vault_bench_10k` or `vault_bench_1M`) is left
//! in place, to look at with `sqlite3` or `psql` after. `PROFILE_SQL`, if
//! set, runs on the data before the loop: to time a schema change (an index
//! or key dropped) against the same loop without it. `PROFILE_ITERS=N`
//! runs N operations instead of eight seconds: under
//! `valgrind --tool=callgrind`, two builds then compare by instruction
//! counts, which the machine's noise does not move.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use vault_benches::min::{MinSqlite, MinTarget, tier_rank};
use vault_benches::min_catalog::MinCatalogSqlite;
use vault_benches::scale::{LARGE, SMALL};
use vault_benches::spec;
use vault_benches::world::{Backend, World};
use vault_core::value::tier::PricingTier;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let op = args.first().map_or("check_access", String::as_str);
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    // A third argument `large` loads the 1M-purchase, 100k-workflow set.
    let scale = match args.get(2).map(String::as_str) {
        Some("large") => LARGE,
        _ => SMALL,
    };
    // `min_check_access` and `min_download` loop over the SQLite `*-min`
    // baseline instead (benches/src/min.rs), for the same profile of the
    // least SQL.
    if let Some(min_op) = op.strip_prefix("min_") {
        return run_min(min_op, scale);
    }
    let rt = vault_benches::runtime();
    let w = rt.block_on(World::build(
        backend,
        scale,
        Path::new("/dev/shm/vault-profile"),
    ));
    // A schema change to try before the loop (`PROFILE_SQL="DROP INDEX ..."`):
    // what a profile alone cannot say, how much one index or key costs.
    if let Ok(sql) = std::env::var("PROFILE_SQL") {
        match (&w.path, &w.pg) {
            (Some(path), _) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(&sql)
                .unwrap(),
            (None, Some(pg)) => rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect_with(pg).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }),
            _ => unreachable!("a world has a database"),
        };
        println!("ran PROFILE_SQL");
    }
    // Operations may be listed with commas (`search,search_rare`): each runs
    // its eight seconds on the same data.
    for op in op.split(',') {
        rt.block_on(run(&w, op));
    }
}

fn run_min(op: &str, scale: vault_benches::scale::Scale) {
    let _ = std::fs::create_dir_all("/dev/shm/vault-profile");
    if ["list", "search", "search_rare"].contains(&op) {
        return run_min_page(op, scale);
    }
    let path = Path::new("/dev/shm/vault-profile/min.db");
    vault_benches::world::remove_db(path);
    let min = MinSqlite::create(path, &scale, vault_core::testkit::epoch(), "FULL").unwrap();
    let targets: Vec<MinTarget> = (0..spec::TARGETS)
        .map(|u| MinTarget::new(u, None, None))
        .collect();
    let now = vault_core::testkit::epoch();
    looped(op, |n| {
        let t = &targets[n % spec::TARGETS];
        match op {
            "check_access" => drop(min.check_access(t, now).unwrap().unwrap()),
            "download" => assert!(min.download(t, now).unwrap()),
            other => panic!(
                "unknown min operation {other}: check_access, download, list, search, search_rare"
            ),
        }
    });
}

/// Runs `step` (given the count so far) for eight seconds or
/// `PROFILE_ITERS` times, and prints the baseline's time per operation.
fn looped(op: &str, mut step: impl FnMut(usize)) {
    let iters: Option<usize> = std::env::var("PROFILE_ITERS")
        .ok()
        .map(|s| s.parse().unwrap());
    let (start, mut n) = (Instant::now(), 0usize);
    while iters.map_or(start.elapsed() < Duration::from_secs(8), |i| n < i) {
        n += 1;
        step(n);
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("min_{op}: {per:.1} µs per operation ({n} in all)");
}

async fn run(w: &World, op: &str) {
    let (start, mut n) = (Instant::now(), 0usize);
    let mut handled = Duration::ZERO;
    // A fixed count instead of eight seconds, for an instruction count
    // (`valgrind --tool=callgrind`) that two builds can be compared by.
    let iters: Option<usize> = std::env::var("PROFILE_ITERS")
        .ok()
        .map(|s| s.parse().unwrap());
    while iters.map_or(start.elapsed() < Duration::from_secs(8), |i| n < i) {
        n += 1;
        let t = &w.targets[n % spec::TARGETS];
        let v = &w.fx.vault;
        match op {
            "download" => drop(
                v.download(&t.actor, t.workflow, None, &w.request)
                    .await
                    .unwrap(),
            ),
            "list" => drop(v.list_cards(&t.actor, w.list_query()).await.unwrap()),
            "list_anonymous" => drop(
                v.list_cards(&vault_core::Actor::Anonymous, w.list_query())
                    .await
                    .unwrap(),
            ),
            "search" => drop(v.list_cards(&t.actor, w.search_query()).await.unwrap()),
            "search_rare" => drop(v.list_cards(&t.actor, w.rare_search_query()).await.unwrap()),
            "check_access" => drop(
                v.check_access(&t.actor, t.workflow, Some(t.file))
                    .await
                    .unwrap(),
            ),
            // The pending purchase is made outside the timed handling, as
            // the stores bench does; a profile shows both, apart.
            "webhook" => {
                let p = w.fresh_pending().await;
                let (body, header) = w.checkout_completed(&p, w.next());
                let begin = Instant::now();
                w.hooks.handle(&body, &header).await.unwrap();
                handled += begin.elapsed();
            }
            other => panic!(
                "unknown operation {other}: check_access, download, list, search, search_rare, webhook"
            ),
        }
    }
    if op == "webhook" {
        let per = handled.as_secs_f64() * 1e6 / n as f64;
        println!("{op}: {per:.1} µs per handling ({n}, each after a pending purchase)");
        return;
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{op}: {per:.1} µs per operation ({n} in all)");
}

/// The SQLite catalog baseline's page (benches/src/min_catalog.rs), the
/// min bench's query for `op`.
fn run_min_page(op: &str, scale: vault_benches::scale::Scale) {
    let path = Path::new("/dev/shm/vault-profile/min-catalog.db");
    vault_benches::world::remove_db(path);
    let min = MinCatalogSqlite::create(path, &scale, vault_core::testkit::epoch()).unwrap();
    let (category, tier) = (spec::category(1) as i64, tier_rank(PricingTier::Pro));
    looped(op, |_| {
        let page = match op {
            "search" => min.search(spec::SEARCH).unwrap(),
            "search_rare" => min.search(spec::SEARCH_RARE).unwrap(),
            _ => min.list(category, tier).unwrap(),
        };
        assert!(!page.is_empty());
    });
}

//! Runs one store operation `n` times over the small SQLite data set, for a
//! profiler: `valgrind --tool=callgrind target/release/examples/profile
//! check_access 1000` (and again with 0 to subtract the setup).
//!
//! Operations: `check_access`, `download`, `list`, `search` (the vault) and
//! the same with `-raw` (the baseline). With `DATABASE_URL` set and a third
//! argument `postgres`, `check_access` and `download` run on PostgreSQL
//! (callgrind then counts this process only, not the server's).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use vault_benches::raw::{self, RawSqlite};
use vault_benches::raw_pg::RawPg;
use vault_benches::world::{Backend, World};
use vault_benches::{pg, scale, spec};

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "check_access".into());
    let n: usize = args.next().map_or(1000, |s| s.parse().unwrap());
    let rt = vault_benches::runtime();
    let dir = std::env::temp_dir().join("vault-bench-profile");
    if args.next().as_deref() == Some("postgres") {
        return postgres(&rt, &dir, &op, n);
    }
    let w = rt.block_on(World::build(Backend::Sqlite, scale::SMALL, &dir));
    let raw = RawSqlite::open(w.path.as_deref().unwrap()).unwrap();
    let t = &w.targets[0];
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..n {
            if vault_op(&w, &op).await {
                continue;
            }
            match op.as_str() {
                "check_access-raw" => {
                    black_box(raw.check_access(&t.raw).unwrap());
                }
                "download-raw" => {
                    black_box(
                        raw.download(&t.raw, &format!("00000000-0000-4000-8000-{i:012}"))
                            .unwrap(),
                    );
                }
                "list-raw" => {
                    let c = w.category.to_string();
                    black_box(
                        raw.list(&raw::list_sql(), rusqlite::params!["published", c, "pro"])
                            .unwrap(),
                    );
                }
                "search-raw" => {
                    let p = raw::search_params(spec::SEARCH);
                    black_box(
                        raw.list(
                            &raw::search_sql(p.len() - 2),
                            rusqlite::params_from_iter(&p),
                        )
                        .unwrap(),
                    );
                }
                "hop" => {
                    // One blocking-pool round trip, as every store call makes.
                    tokio::task::spawn_blocking(|| black_box(1)).await.unwrap();
                }
                other => panic!("unknown operation {other}"),
            }
        }
    });
    let el = started.elapsed();
    eprintln!("{op} x{n}: {el:.2?} ({:.1?} each)", el / n.max(1) as u32);
}

fn postgres(rt: &tokio::runtime::Runtime, dir: &std::path::Path, op: &str, n: usize) {
    assert!(
        rt.block_on(pg::server()).is_some(),
        "DATABASE_URL must name a server"
    );
    let w = rt.block_on(World::build(Backend::Postgres, scale::SMALL, dir));
    let mut raw = rt.block_on(RawPg::connect(w.pg.as_ref().unwrap())).unwrap();
    let t = &w.targets[0];
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..n {
            if vault_op(&w, op).await {
                continue;
            }
            match op {
                "check_access-raw" => {
                    black_box(raw.check_access(&t.pg).await.unwrap());
                }
                "download-raw" => {
                    black_box(
                        raw.download(
                            &t.pg,
                            uuid::Uuid::from_u128((0xfeed_u128 << 112) | i as u128),
                        )
                        .await
                        .unwrap(),
                    );
                }
                other => panic!("unknown postgres operation {other}"),
            }
        }
    });
    let el = started.elapsed();
    eprintln!(
        "postgres {op} x{n}: {el:.2?} ({:.1?} each)",
        el / n.max(1) as u32
    );
    rt.block_on(w.remove_storage());
}

/// Runs `op` once through the vault, whatever the backend; false when
/// `op` is not a vault operation (a `-raw` one, say).
async fn vault_op(w: &World, op: &str) -> bool {
    let t = &w.targets[0];
    let vault = &w.fx.vault;
    match op {
        "check_access" => {
            black_box(
                vault
                    .check_access(&t.actor, t.workflow, Some(t.file))
                    .await
                    .unwrap(),
            );
        }
        "download" => {
            black_box(
                vault
                    .download(&t.actor, t.workflow, None, &w.request)
                    .await
                    .unwrap(),
            );
        }
        "list" => {
            black_box(vault.list_cards(&t.actor, w.list_query()).await.unwrap());
        }
        "search" => {
            black_box(vault.list_cards(&t.actor, w.search_query()).await.unwrap());
        }
        _ => return false,
    }
    true
}

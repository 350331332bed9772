//! Runs one store operation `n` times over the small SQLite data set, for a
//! profiler: `valgrind --tool=callgrind target/release/examples/profile
//! check_access 1000` (and again with 0 to subtract the setup).
//!
//! Operations: `check_access`, `download`, `list`, `search` (the vault) and
//! the same with `-raw` (the baseline).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use vault_benches::raw::{self, RawSqlite};
use vault_benches::world::{Backend, World};
use vault_benches::{scale, spec};

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "check_access".into());
    let n: usize = args.next().map_or(1000, |s| s.parse().unwrap());
    let rt = vault_benches::runtime();
    let dir = std::env::temp_dir().join("vault-bench-profile");
    let w = rt.block_on(World::build(Backend::Sqlite, scale::SMALL, &dir));
    let raw = RawSqlite::open(w.path.as_deref().unwrap()).unwrap();
    let t = &w.targets[0];
    let vault = &w.fx.vault;
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..n {
            match op.as_str() {
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
                    black_box(
                        vault
                            .list_workflows(&t.actor, w.list_query())
                            .await
                            .unwrap(),
                    );
                }
                "search" => {
                    black_box(
                        vault
                            .list_workflows(&t.actor, w.search_query())
                            .await
                            .unwrap(),
                    );
                }
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
                    black_box(
                        raw.list(
                            &raw::search_sql(),
                            rusqlite::params!["published", raw::match_expr(spec::SEARCH)],
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

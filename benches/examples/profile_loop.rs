//! One vault operation in a loop on the bench's 10k data, for a profiler:
//!
//! ```sh
//! cargo build --profile bench -p vault-benches --example profile_loop
//! perf record --call-graph dwarf -o perf.data \
//!     target/release/examples/profile_loop download sqlite
//! perf report -i perf.data --children --sort symbol
//! ```
//!
//! Operations: `check_access`, `download`, `list`, `search`; backends
//! `sqlite` (the default) or `postgres` (`DATABASE_URL`). It runs for eight
//! seconds and prints the mean time per operation. The data (SQLite under
//! `/dev/shm/vault-profile`, PostgreSQL database `vault_bench_10k`) is left
//! in place, to look at with `sqlite3` or `psql` after.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use vault_benches::scale::SMALL;
use vault_benches::spec;
use vault_benches::world::{Backend, World};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let op = args.first().map_or("check_access", String::as_str);
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let rt = vault_benches::runtime();
    let w = rt.block_on(World::build(
        backend,
        SMALL,
        Path::new("/dev/shm/vault-profile"),
    ));
    rt.block_on(async {
        let (start, mut n) = (Instant::now(), 0usize);
        while start.elapsed() < Duration::from_secs(8) {
            n += 1;
            let t = &w.targets[n % spec::TARGETS];
            let v = &w.fx.vault;
            match op {
                "download" => drop(
                    v.download(&t.actor, t.workflow, None, &w.request)
                        .await
                        .unwrap(),
                ),
                "list" => drop(v.list_workflows(&t.actor, w.list_query()).await.unwrap()),
                "search" => drop(v.list_workflows(&t.actor, w.search_query()).await.unwrap()),
                "check_access" => drop(
                    v.check_access(&t.actor, t.workflow, Some(t.file))
                        .await
                        .unwrap(),
                ),
                other => panic!("unknown operation {other}: check_access, download, list, search"),
            }
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{op}: {per:.1} µs per operation ({n} in 8 s)");
    });
}

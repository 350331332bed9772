//! How big the benchmark data set is.
//!
//! `VAULT_BENCH_SCALE` picks the scales a run covers:
//! * unset or `small`: 10k purchases only (what `cargo bench -- --test` in CI
//!   uses: every bench once, setup included, in well under a minute);
//! * `full`: 10k and then 1M purchases, so the report shows how each figure
//!   grows;
//! * `1M` (or `large`): only 1M.
//!
//! The memory store runs at 1M only with `VAULT_BENCH_MEMORY_1M=1`: it
//! holds the whole data set in RAM (~2.7 GB measured, on top of SQLite's
//! database on tmpfs). Its inserts go through indexes, so loading it takes
//! seconds (~5 s here).
//!
//! SQLite databases go to `VAULT_BENCH_DIR` when set, else to `/dev/shm`
//! (tmpfs) when it exists, else under the target directory. On tmpfs a
//! commit's fsync costs nothing, so vault and raw figures of writes compare
//! the work each does instead of the disk's mood: on this shared machine a
//! disk fsync varies several-fold from one second to the next. Set
//! `VAULT_BENCH_DIR=target/bench-db` to measure on disk.

use std::path::{Path, PathBuf};

/// One data-set size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Label used in benchmark ids (`10k`, `1M`).
    pub name: &'static str,
    /// Completed purchases loaded.
    pub purchases: usize,
    /// Published workflows loaded (each with one primary file and one
    /// update): what listing and search run over.
    pub workflows: usize,
}

/// Purchases per user in the data set.
pub const PURCHASES_PER_USER: usize = 10;

/// 10k purchases over 1k workflows.
pub const SMALL: Scale = Scale {
    name: "10k",
    purchases: 10_000,
    workflows: 1_000,
};

/// 1M purchases over 100k workflows.
pub const LARGE: Scale = Scale {
    name: "1M",
    purchases: 1_000_000,
    workflows: 100_000,
};

impl Scale {
    /// Users (each buys [`PURCHASES_PER_USER`] workflows).
    pub fn users(&self) -> usize {
        self.purchases / PURCHASES_PER_USER
    }

    /// Memberships: one user in ten has one.
    pub fn memberships(&self) -> usize {
        self.users() / 10
    }

    /// Earlier downloads already recorded: one per four purchases.
    pub fn downloads(&self) -> usize {
        self.purchases / 4
    }
}

/// The scales selected by `VAULT_BENCH_SCALE`, smallest first.
pub fn selected() -> Vec<Scale> {
    match std::env::var("VAULT_BENCH_SCALE").as_deref() {
        Ok("full") => vec![SMALL, LARGE],
        Ok("1M" | "1m" | "large") => vec![LARGE],
        Ok("" | "small" | "10k") | Err(_) => vec![SMALL],
        Ok(other) => {
            eprintln!("VAULT_BENCH_SCALE={other:?} is not small, full or 1M: using small");
            vec![SMALL]
        }
    }
}

/// Whether the memory store runs at `scale`.
pub fn memory_at(scale: &Scale) -> bool {
    *scale == SMALL || std::env::var_os("VAULT_BENCH_MEMORY_1M").is_some_and(|v| v == "1")
}

/// Where the SQLite databases go (see the module docs); `fallback` is the
/// bench's target tmp directory.
pub fn db_dir(fallback: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("VAULT_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.join("vault-bench");
    }
    fallback.join("vault-bench")
}

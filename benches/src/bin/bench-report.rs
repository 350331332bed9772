//! Writes `target/bench-report.md` from criterion's last results.
//!
//! `cargo run -p vault-benches --bin bench-report [-- <criterion dir> <output>]`

use std::path::PathBuf;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let criterion = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bench-report.md"));
    let figures = vault_benches::report::collect(&criterion)?;
    if figures.is_empty() {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p vault-benches` first",
            criterion.display()
        );
        std::process::exit(1);
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let header = format!(
        "{} results from `{}`; machine: {cores} cores. Medians of criterion's samples; \
         compare figures as ratios within one run, never as absolute timings.",
        figures.len(),
        criterion.display()
    );
    let md = vault_benches::report::render(&figures, &header);
    std::fs::write(&output, &md)?;
    println!("{md}");
    eprintln!("wrote {}", output.display());
    Ok(())
}

//! Turns criterion's results (`target/criterion/**/new/{benchmark,estimates}.json`)
//! into one markdown report of medians and ratios.
//!
//! Benchmark ids follow one scheme, which the report relies on:
//! * `core/<name>`: pure rules;
//! * `store-<scale>/<operation>/<backend>` with backend `memory`, `sqlite`,
//!   `postgres` (the vault over that store) or `sqlite-raw`,
//!   `postgres-raw` (the baselines);
//! * `concurrency-<scale>/<backend>/<tasks>`: time per download with that
//!   many concurrent tasks.
//!
//! Figures are grouped by backend: each vault backend gets a column, and
//! one with a `<backend>-raw` baseline also gets the baseline's column and
//! the ratio `raw ÷ vault`. Backends without any figure get no column.
//!
//! Ratios are computed only between figures of the same report, which come
//! from the last run of each benchmark: run the benches together (see the
//! README) so a pair always comes from one run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Group (`core`, `store-10k`, ...).
    pub group: String,
    /// Function within the group.
    pub function: String,
    /// Parameter, when the id has one.
    pub value: Option<String>,
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
}

/// Reads every `new/` result under `criterion_dir`.
pub fn collect(criterion_dir: &Path) -> std::io::Result<Vec<Figure>> {
    let mut out = Vec::new();
    walk(criterion_dir, &mut out)?;
    out.sort_by(|a, b| (&a.group, &a.function, &a.value).cmp(&(&b.group, &b.function, &b.value)));
    Ok(out)
}

/// Orders figures by group, function and parameter; parameters that are
/// numbers (members, tasks) sort as numbers.
fn sort(figures: &mut [Figure]) {
    figures.sort_by_key(|f| {
        let v = f.value.clone().unwrap_or_default();
        (
            f.group.clone(),
            f.function.clone(),
            v.parse::<u64>().unwrap_or(u64::MAX),
            v,
        )
    });
}

fn walk(dir: &Path, out: &mut Vec<Figure>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    if dir.file_name().is_some_and(|n| n == "new") {
        if let Some(f) = read_figure(dir) {
            out.push(f);
        }
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        }
    }
    Ok(())
}

fn read_figure(dir: &Path) -> Option<Figure> {
    let read = |name: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let bench = read("benchmark.json")?;
    let est = read("estimates.json")?;
    let text = |k: &str| bench.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Figure {
        group: text("group_id")?,
        function: text("function_id").unwrap_or_default(),
        value: text("value_str"),
        median_ns: est.get("median")?.get("point_estimate")?.as_f64()?,
    })
}

/// A duration in ns, human-readable.
pub fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn scale_of<'a>(group: &'a str, prefix: &str) -> Option<&'a str> {
    group.strip_prefix(prefix)?.strip_prefix('-')
}

// 10k before 1M.
fn scale_order(s: &str) -> (usize, String) {
    let n = s
        .trim_end_matches(['k', 'M'])
        .parse::<usize>()
        .unwrap_or(usize::MAX);
    let mult = if s.ends_with('M') { 1_000_000 } else { 1_000 };
    (n.saturating_mul(mult), s.to_owned())
}

/// The vault backends in report order (known ones first), each with
/// whether a `-raw` baseline of it was measured.
fn backends<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<(String, bool)> {
    const ORDER: [&str; 3] = ["memory", "sqlite", "postgres"];
    let names: std::collections::BTreeSet<&str> = names.into_iter().map(String::as_str).collect();
    let mut vault: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.ends_with("-raw"))
        .collect();
    // A baseline whose vault figure is missing still gets its column.
    for n in &names {
        if let Some(v) = n.strip_suffix("-raw")
            && !vault.contains(&v)
        {
            vault.push(v);
        }
    }
    vault.sort_by_key(|n| (ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()), *n));
    vault
        .into_iter()
        .map(|v| (v.to_owned(), names.contains(format!("{v}-raw").as_str())))
        .collect()
}

fn ratio(raw: Option<&f64>, vault: Option<&f64>) -> String {
    match (raw, vault) {
        (Some(r), Some(v)) if *v > 0.0 => format!("{:.2}", r / v),
        _ => "-".into(),
    }
}

/// The markdown report.
pub fn render(figures: &[Figure], header: &str) -> String {
    let mut sorted = figures.to_vec();
    sort(&mut sorted);
    let figures = &sorted[..];
    let mut md = String::new();
    let _ = writeln!(md, "# Workflow Vault benchmarks\n\n{header}\n");
    let core: Vec<&Figure> = figures.iter().filter(|f| f.group == "core").collect();
    if !core.is_empty() {
        let _ = writeln!(md, "## Pure core\n\n| bench | median |\n|---|---:|");
        for f in core {
            let id = match &f.value {
                Some(v) => format!("{}/{v}", f.function),
                None => f.function.clone(),
            };
            let _ = writeln!(md, "| {id} | {} |", human(f.median_ns));
        }
        md.push('\n');
    }

    // store-<scale>/<op>/<backend>
    let mut stores: BTreeMap<(usize, String), BTreeMap<String, BTreeMap<String, f64>>> =
        BTreeMap::new();
    for f in figures {
        if let (Some(scale), Some(backend)) = (scale_of(&f.group, "store"), &f.value) {
            stores
                .entry(scale_order(scale))
                .or_default()
                .entry(f.function.clone())
                .or_default()
                .insert(backend.clone(), f.median_ns);
        }
    }
    for ((_, scale), ops) in &stores {
        let cols = backends(ops.values().flat_map(|by| by.keys()));
        let _ = write!(
            md,
            "## Stores at {scale} purchases\n\n\
             Medians per operation, grouped by backend. `raw ÷ vault` is the vault's speed \
             relative to the same SQL issued directly (plain rusqlite for SQLite, one plain sqlx \
             connection for PostgreSQL; 1.00 = no overhead; the goal for check_access and \
             download is at least 0.80).\n\n| operation |"
        );
        let mut rule = String::from("|---|");
        for (b, has_raw) in &cols {
            if *has_raw {
                let _ = write!(md, " {b} (vault) | {b} (raw) | {b} raw ÷ vault |");
                rule.push_str("---:|---:|---:|");
            } else {
                let _ = write!(md, " {b} |");
                rule.push_str("---:|");
            }
        }
        let _ = writeln!(md, "\n{rule}");
        for (op, by) in ops {
            let cell = |b: &str| by.get(b).map_or("-".to_string(), |v| human(*v));
            let _ = write!(md, "| {op} |");
            for (b, has_raw) in &cols {
                if *has_raw {
                    let raw = format!("{b}-raw");
                    let _ = write!(
                        md,
                        " {} | {} | {} |",
                        cell(b),
                        cell(&raw),
                        ratio(by.get(&raw), by.get(b))
                    );
                } else {
                    let _ = write!(md, " {} |", cell(b));
                }
            }
            md.push('\n');
        }
        md.push('\n');
    }

    // concurrency-<scale>/<backend>/<tasks>
    let mut conc: BTreeMap<(usize, String), BTreeMap<String, BTreeMap<usize, f64>>> =
        BTreeMap::new();
    for f in figures {
        if let Some(scale) = scale_of(&f.group, "concurrency")
            && let Some(tasks) = f.value.as_deref().and_then(|v| v.parse::<usize>().ok())
        {
            conc.entry(scale_order(scale))
                .or_default()
                .entry(f.function.clone())
                .or_default()
                .insert(tasks, f.median_ns);
        }
    }
    for ((_, scale), backends) in &conc {
        let tasks: Vec<usize> = {
            let mut t: Vec<usize> = backends.values().flat_map(|m| m.keys().copied()).collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let _ = write!(
            md,
            "## Download throughput at {scale} purchases\n\n\
             Downloads per second (median time per download) with N concurrent tasks.\n\n| backend |"
        );
        for t in &tasks {
            let _ = write!(md, " {t} task{} |", if *t == 1 { "" } else { "s" });
        }
        let _ = write!(md, "\n|---|");
        for _ in &tasks {
            md.push_str("---:|");
        }
        md.push('\n');
        for (backend, has_raw) in self::backends(backends.keys()) {
            let mut rows = vec![backend.clone()];
            if has_raw {
                rows.push(format!("{backend}-raw"));
            }
            for name in &rows {
                let _ = write!(md, "| {name} |");
                for t in &tasks {
                    match backends.get(name).and_then(|by| by.get(t)) {
                        Some(ns) => {
                            let _ = write!(md, " {:.0}/s ({}) |", 1e9 / ns, human(*ns));
                        }
                        None => md.push_str(" - |"),
                    }
                }
                md.push('\n');
            }
            if has_raw {
                let _ = write!(md, "| {backend} raw ÷ vault |");
                for t in &tasks {
                    let get = |name: &str| backends.get(name).and_then(|by| by.get(t));
                    let _ = write!(md, " {} |", ratio(get(&rows[1]), get(&backend)));
                }
                md.push('\n');
            }
        }
        md.push('\n');
    }

    // Growth between the smallest and largest scale measured.
    if stores.len() >= 2 {
        let ((_, small), small_ops) = stores.iter().next().expect("two scales");
        let ((_, large), large_ops) = stores.iter().next_back().expect("two scales");
        let cols: Vec<String> = backends(
            small_ops
                .values()
                .chain(large_ops.values())
                .flat_map(|by| by.keys()),
        )
        .into_iter()
        .flat_map(|(b, has_raw)| {
            let raw = format!("{b}-raw");
            std::iter::once(b).chain(has_raw.then_some(raw))
        })
        .collect();
        let _ = write!(
            md,
            "## Growth from {small} to {large} purchases\n\n\
             Median at {large} ÷ median at {small} (1.00 = flat; the goal for check_access and \
             download is at most 1.50).\n\n| operation |"
        );
        for c in &cols {
            let _ = write!(md, " {c} |");
        }
        let _ = writeln!(md, "\n|---|{}", "---:|".repeat(cols.len()));
        for (op, by_small) in small_ops {
            let Some(by_large) = large_ops.get(op) else {
                continue;
            };
            let _ = write!(md, "| {op} |");
            for c in &cols {
                let cell = match (by_small.get(c), by_large.get(c)) {
                    (Some(s), Some(l)) if *s > 0.0 => format!("{:.2}", l / s),
                    _ => "-".into(),
                };
                let _ = write!(md, " {cell} |");
            }
            md.push('\n');
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fig(group: &str, function: &str, value: Option<&str>, ns: f64) -> Figure {
        Figure {
            group: group.into(),
            function: function.into(),
            value: value.map(Into::into),
            median_ns: ns,
        }
    }

    #[test]
    fn ratios_and_growth_come_from_matching_figures() {
        let figures = vec![
            fig("core", "decide", Some("grant"), 800.0),
            fig("core", "allocate_revenue", Some("2"), 300.0),
            fig("core", "allocate_revenue", Some("10"), 1_000.0),
            fig("store-10k", "download", Some("sqlite"), 100_000.0),
            fig("store-10k", "download", Some("sqlite-raw"), 90_000.0),
            fig("store-1M", "download", Some("sqlite"), 120_000.0),
            fig("store-1M", "download", Some("sqlite-raw"), 100_000.0),
            fig("concurrency-10k", "sqlite", Some("4"), 50_000.0),
        ];
        let md = render(&figures, "test");
        assert!(md.contains("| decide/grant | 800 ns |"), "{md}");
        assert!(
            md.find("allocate_revenue/2 ").unwrap() < md.find("allocate_revenue/10 ").unwrap(),
            "{md}"
        );
        assert!(
            md.contains("| download | 100.00 µs | 90.00 µs | 0.90 |"),
            "{md}"
        );
        assert!(md.contains("| download | 1.20 | 1.11 |"), "{md}");
        assert!(md.contains("| sqlite | 20000/s (50.00 µs) |"), "{md}");
        // 10k comes before 1M although "1M" sorts first as text.
        assert!(md.find("at 10k").unwrap() < md.find("at 1M").unwrap());
    }

    #[test]
    fn groups_by_backend_with_each_raw_ratio() {
        let figures = vec![
            fig("store-10k", "download", Some("memory"), 10_000.0),
            fig("store-10k", "download", Some("sqlite"), 100_000.0),
            fig("store-10k", "download", Some("sqlite-raw"), 90_000.0),
            fig("store-10k", "download", Some("postgres"), 400_000.0),
            fig("store-10k", "download", Some("postgres-raw"), 300_000.0),
            fig("store-10k", "list", Some("postgres"), 200_000.0),
            fig("concurrency-10k", "postgres", Some("4"), 100_000.0),
            fig("concurrency-10k", "postgres-raw", Some("4"), 50_000.0),
            fig("concurrency-10k", "memory", Some("4"), 1_000.0),
        ];
        let md = render(&figures, "test");
        assert!(
            md.contains(
                "| operation | memory | sqlite (vault) | sqlite (raw) | sqlite raw ÷ vault \
                 | postgres (vault) | postgres (raw) | postgres raw ÷ vault |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| download | 10.00 µs | 100.00 µs | 90.00 µs | 0.90 | 400.00 µs | 300.00 µs | 0.75 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| list | - | - | - | - | 200.00 µs | - | - |"),
            "{md}"
        );
        assert!(md.contains("| postgres raw ÷ vault | 0.50 |"), "{md}");
        assert!(
            md.find("| memory |").unwrap() < md.find("| postgres |").unwrap()
                && md.find("| postgres |").unwrap() < md.find("| postgres-raw |").unwrap(),
            "{md}"
        );
    }

    #[test]
    fn reads_criterion_layout() {
        let dir = std::env::temp_dir().join(format!("vault-report-{}", std::process::id()));
        let new = dir.join("store-10k/download/sqlite/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"store-10k","function_id":"download","value_str":"sqlite"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":1234.5}}"#,
        )
        .unwrap();
        let figures = collect(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            figures,
            vec![fig("store-10k", "download", Some("sqlite"), 1234.5)]
        );
    }
}

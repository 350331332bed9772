//! Finding Stripe's official Python library (in a venv made by
//! `tests/python/setup_venv.sh`), shared by the parity tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The venv's python, or `None` (printed) when this machine cannot have it.
pub(crate) fn stripe_python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let script = python_dir().join("setup_venv.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let py = stdout.lines().last().unwrap_or("").trim();
                Ok(PathBuf::from(py))
            }
            Some(3) => Err(stderr.trim().to_owned()),
            _ => panic!("setup_venv.sh failed ({}):\n{stderr}", out.status),
        }
    });
    match found {
        Ok(py) => Some(py.clone()),
        Err(why) => {
            if std::env::var("VAULT_REQUIRE_STRIPE_PY").as_deref() == Ok("1") {
                panic!("Stripe's Python library is required (VAULT_REQUIRE_STRIPE_PY=1): {why}");
            }
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: Stripe's Python library is not available: {why}"
            );
            None
        }
    }
}

pub(crate) fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

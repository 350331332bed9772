//! Atomicity under injected faults: the steps themselves. Every step in the
//! store's source has a fault test in one of the `faults_*.rs` files, and a
//! fault fires once, at the step where it is armed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;

use crate::common::faults::{Env, assert_injected};

/// Every `tx.step("...")` in the store's source, so a new step without a
/// test here fails this check.
fn steps_in_source() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    // Areas split into folders (`src/catalog/`): their files count too.
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for piece in text.split("tx.step(\"").skip(1) {
                out.insert(piece.split('"').next().unwrap().to_owned());
            }
        }
    }
    out
}

/// The fault tests, every file of them, and their setup: where a step's
/// name must appear.
const FAULT_TESTS: [&str; 8] = [
    include_str!("faults_audit.rs"),
    include_str!("faults_catalog.rs"),
    include_str!("faults_commerce.rs"),
    include_str!("faults_community.rs"),
    include_str!("faults_delivery.rs"),
    include_str!("faults_insight.rs"),
    include_str!("faults_steps.rs"),
    include_str!("common/faults.rs"),
];

#[test]
fn every_step_has_a_fault_test() {
    let steps = steps_in_source();
    assert!(steps.len() >= 12, "found only {steps:?}");
    let this = FAULT_TESTS.concat();
    let missing: Vec<&String> = steps
        .iter()
        .filter(|s| this.matches(&format!("\"{s}\"")).count() < 1)
        .collect();
    assert!(
        missing.is_empty(),
        "steps without a fault test: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unarmed_step_changes_nothing_and_a_fault_fires_once() {
    let env = Env::new().await;
    // Armed on a step the next write does not reach: that write succeeds
    // and the fault stays armed for the write that does.
    env.store.fail_at("insert_update:after_row");
    let (w, _) = env.fx.workflow("plain", PricingTier::Free, None).await;
    let r = env
        .fx
        .vault
        .publish_update(
            env.admin(),
            NewUpdate {
                workflow_id: w.id,
                version: Version::new(1, 1, 0),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Fixed,
                    text: "a fix".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: String::new(),
            },
        )
        .await;
    assert_injected(&r, "insert_update:after_row");
}

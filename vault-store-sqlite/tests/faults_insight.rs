//! Atomicity under injected faults: the analytics write of insight
//! (`src/insight.rs`).
//!
//! Each test goes through `Env::fault` (`common/faults.rs`): arm a step, run
//! the operation through it, check it failed there leaving the whole
//! database exactly as before, then that it succeeds. `faults_steps.rs`
//! checks every step has a test.
#![allow(clippy::unwrap_used)]

mod common;

use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;

use crate::common::faults::{Env, request};

#[tokio::test(flavor = "multi_thread")]
async fn views_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("viewed", PricingTier::Free, None).await;
    let visitors = "SELECT COUNT(*) FROM workflow_analytics_visitors WHERE workflow_id = ?1";
    env.fault("apply_delta:after_visitor", async || {
        env.fx
            .vault
            .record_view(&Actor::Anonymous, w.id, &request("203.0.113.1"))
            .await
    })
    .await;
    assert_eq!(env.scalar(visitors, w.id), 1);
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .record_view(&Fixture::user("reader"), w.id, &request("203.0.113.2"))
            .await
    })
    .await;
    assert_eq!(env.scalar(visitors, w.id), 2);
    assert_eq!(
        env.scalar("SELECT view_count FROM workflows WHERE id = ?1", w.id),
        2
    );
    assert_eq!(
        env.scalar(
            "SELECT unique_visitors FROM workflow_analytics WHERE workflow_id = ?1",
            w.id
        ),
        2
    );
}

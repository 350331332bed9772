//! Atomicity under injected faults: the download write of delivery
//! (`src/delivery.rs`).
//!
//! Each test goes through `Env::fault` (`common/faults.rs`): arm a step, run
//! the operation through it, check it failed there leaving the whole
//! database exactly as before, then that it succeeds. `faults_steps.rs`
//! checks every step has a test.
#![allow(clippy::unwrap_used)]

mod common;

use vault_core::delivery::download::RequestInfo;
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;

use crate::common::faults::{Env, request};

#[tokio::test(flavor = "multi_thread")]
async fn downloads_are_atomic() {
    let env = Env::new().await;
    let (paid, _) = env.fx.workflow("paid", PricingTier::Pro, Some(4900)).await;
    let (free, _) = env.fx.workflow("free", PricingTier::Free, None).await;
    let buyer = Fixture::user("buyer");
    let p = env.fx.buy(&buyer, CheckoutItem::Workflow(paid.id)).await;
    let member = Fixture::user("member");
    let m = env
        .fx
        .join(&member, PricingTier::Pro, Some(10), false)
        .await;
    let used_p = "SELECT downloads_used FROM workflow_purchases WHERE id = ?1";
    let used_m = "SELECT period_downloads_used FROM memberships WHERE id = ?1";
    let downloads = "SELECT download_count FROM workflows WHERE id = ?1";
    let steps = [
        "record_download:after_charge",
        "record_download:after_insert",
        "record_download:after_counters",
        "apply_delta:after_row",
    ];
    for (i, step) in steps.into_iter().enumerate() {
        let n = i as i64 + 1;
        // Charged to a purchase.
        let t = env
            .fault(step, async || {
                env.fx
                    .vault
                    .download(&buyer, paid.id, None, &request("198.51.100.7"))
                    .await
            })
            .await;
        assert_eq!(
            t.download.source,
            vault_core::delivery::download::DownloadSource::Purchase(p.id)
        );
        assert_eq!(env.scalar(used_p, p.id), n, "charged exactly once");
        // Charged to a membership.
        let t = env
            .fault(step, async || {
                env.fx
                    .vault
                    .download(&member, paid.id, None, &RequestInfo::default())
                    .await
            })
            .await;
        assert_eq!(
            t.download.source,
            vault_core::delivery::download::DownloadSource::Membership(m.id)
        );
        assert_eq!(env.scalar(used_m, m.id), n, "charged exactly once");
        assert_eq!(env.scalar(downloads, paid.id), 2 * n);
        // Free, anonymous.
        env.fault(step, async || {
            env.fx
                .vault
                .download(&Actor::Anonymous, free.id, None, &request("203.0.113.9"))
                .await
        })
        .await;
        assert_eq!(env.scalar(downloads, free.id), n);
    }
    assert_eq!(
        env.scalar(
            "SELECT SUM(downloads) FROM workflow_analytics WHERE workflow_id = ?1",
            paid.id
        ),
        8
    );
}

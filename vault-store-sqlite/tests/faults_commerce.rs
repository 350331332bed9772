//! Atomicity under injected faults: the writes of commerce
//! (`src/commerce.rs`): purchases, their settlement and refunds,
//! memberships.
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

use crate::common::faults::Env;

#[tokio::test(flavor = "multi_thread")]
async fn start_purchase_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    let buyer = Fixture::user("buyer");
    let p = env
        .fault("insert_purchase:after_row", async || {
            env.fx
                .vault
                .start_purchase(
                    &buyer,
                    Env::start(&buyer, CheckoutItem::Workflow(members[0])),
                )
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_purchase_items WHERE purchase_id = ?1",
            p.id
        ),
        1
    );
    // A bundle purchase grants several workflows: fail after the first.
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    let other = Fixture::user("collector");
    let p = env
        .fault("insert_purchase:after_item", async || {
            env.fx
                .vault
                .start_purchase(&other, Env::start(&other, CheckoutItem::Bundle(b.id)))
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_purchase_items WHERE purchase_id = ?1",
            p.id
        ),
        3
    );
}

/// The outbox: a completion that fails at any step, the outbox's own
/// included, leaves no job (the whole database is compared); the retry
/// leaves exactly one job per configured kind.
#[tokio::test(flavor = "multi_thread")]
async fn a_completions_outbox_commits_with_it() {
    let kinds = ["mail.receipt", "license.fulfil"];
    let env = Env::with_config(|c| {
        c.with_purchase_jobs(kinds.map(|k| vault_core::jobs::job::JobKind::parse(k).unwrap()))
    })
    .await;
    let members = env.three().await;
    for (i, step) in [
        "settle_purchase:after_row",
        "settle_purchase:after_counters",
        "apply_delta:after_row",
        "settle_purchase:after_outbox",
    ]
    .into_iter()
    .enumerate()
    {
        let buyer = Fixture::user(&format!("outboxed-{i}"));
        let p = env
            .fx
            .vault
            .start_purchase(
                &buyer,
                Env::start(&buyer, CheckoutItem::Workflow(members[0])),
            )
            .await
            .unwrap();
        let pay =
            vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
        env.fault(step, async || {
            env.fx
                .vault
                .complete_purchase(&Actor::Service, p.id, pay.clone())
                .await
        })
        .await;
        for kind in kinds {
            assert_eq!(
                env.scalar(
                    "SELECT COUNT(*) FROM job_queue WHERE kind = ?1 AND state = 'queued'",
                    kind
                ),
                i as i64 + 1,
                "{kind} after {step}"
            );
        }
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM job_queue WHERE json_extract(payload, '$.purchase_id') = ?1",
                p.id
            ),
            2
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_purchase_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    let purchases = "SELECT purchase_count FROM workflows WHERE id = ?1";
    for (i, step) in [
        "settle_purchase:after_row",
        "settle_purchase:after_counters",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let buyer = Fixture::user(&format!("buyer-{i}"));
        let p = env
            .fx
            .vault
            .start_purchase(
                &buyer,
                Env::start(&buyer, CheckoutItem::Workflow(members[0])),
            )
            .await
            .unwrap();
        let pay =
            vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
        let done = env
            .fault(step, async || {
                env.fx
                    .vault
                    .complete_purchase(&Actor::Service, p.id, pay.clone())
                    .await
            })
            .await;
        assert!(done.status.is_paid());
        assert_eq!(env.scalar(purchases, members[0]), i as i64 + 1);
    }
    // A bundle settles three workflows' counters and analytics in one write.
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    for (i, step) in [
        "settle_purchase:after_row",
        "settle_purchase:after_counters",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let buyer = Fixture::user(&format!("bundler-{i}"));
        let p = env
            .fx
            .vault
            .start_purchase(&buyer, Env::start(&buyer, CheckoutItem::Bundle(b.id)))
            .await
            .unwrap();
        let pay =
            vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
        env.fault(step, async || {
            env.fx
                .vault
                .complete_purchase(&Actor::Service, p.id, pay.clone())
                .await
        })
        .await;
        assert_eq!(
            env.scalar(
                "SELECT purchase_count FROM workflow_bundles WHERE id = ?1",
                b.id
            ),
            i as i64 + 1
        );
    }
    assert_eq!(env.scalar(purchases, members[2]), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn refund_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env
        .fx
        .workflow("refundable", PricingTier::Pro, Some(4900))
        .await;
    let buyer = Fixture::user("buyer");
    let p = env.fx.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let refunds = "SELECT SUM(refunds_minor) FROM workflow_analytics WHERE workflow_id = ?1";
    env.fault("settle_purchase:after_row", async || {
        env.fx
            .vault
            .refund_purchase(&Actor::Service, p.id, Some(Env::usd(900)), None)
            .await
    })
    .await;
    assert_eq!(env.scalar(refunds, w.id), 900);
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .refund_purchase(&Actor::Service, p.id, None, Some("changed my mind".into()))
            .await
    })
    .await;
    assert_eq!(env.scalar(refunds, w.id), 4900);
    // The refund lines are the write's last rows: a fault after them
    // leaves none.
    let q = env
        .fx
        .buy(&Fixture::user("second"), CheckoutItem::Workflow(w.id))
        .await;
    env.fault("settle_purchase:after_outbox", async || {
        env.fx
            .vault
            .refund_purchase(&Actor::Service, q.id, Some(Env::usd(100)), None)
            .await
    })
    .await;
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) * 10000 + SUM(amount_minor) FROM purchase_refunds WHERE workflow_id = ?1",
            w.id
        ),
        3 * 10000 + 5000,
        "one line per refund, adding up to the refunds"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn membership_changes_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env
        .fx
        .workflow("pro-flow", PricingTier::Pro, Some(4900))
        .await;
    let member = Fixture::user("member");
    let m = env.fx.join(&member, PricingTier::Pro, Some(5), false).await;
    env.fx
        .vault
        .download(&member, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    let tier = env
        .fault("update_membership:after_row", async || {
            env.fx
                .vault
                .change_membership_tier(env.admin(), m.id, PricingTier::Premium, Some(20))
                .await
        })
        .await;
    assert_eq!(tier.tier, PricingTier::Premium);
    // A renewal resets the period quota in the same row write.
    env.fx.advance(chrono::Duration::days(30));
    let start = vault_core::Clock::now(&*env.fx.clock);
    let period =
        vault_core::commerce::membership::Period::new(start, start + chrono::Duration::days(30))
            .unwrap();
    let renewed = env
        .fault("update_membership:after_row", async || {
            env.fx
                .vault
                .renew_membership(env.admin(), m.id, period)
                .await
        })
        .await;
    assert_eq!(renewed.quota.used, 0);
    assert_eq!(
        env.scalar(
            "SELECT period_downloads_used FROM memberships WHERE id = ?1",
            m.id
        ),
        0
    );
    env.fault("update_membership:after_row", async || {
        env.fx.vault.cancel_membership(&member, m.id, true).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_membership_expires_lapsed_ones_in_the_same_write() {
    let env = Env::new().await;
    let member = Fixture::user("returning");
    let old = env.fx.join(&member, PricingTier::Pro, Some(5), false).await;
    // The period (30 days) ran out without a renewal.
    env.fx.advance(chrono::Duration::days(31));
    let start = vault_core::Clock::now(&*env.fx.clock);
    let new = vault_core::commerce::membership::NewMembership {
        user_id: member.user_id().unwrap().clone(),
        tier: PricingTier::Pro,
        period: vault_core::commerce::membership::Period::new(
            start,
            start + chrono::Duration::days(30),
        )
        .unwrap(),
        trial: false,
        period_download_limit: Some(5),
        features: Default::default(),
        provider: Default::default(),
    };
    let started = env
        .fault("insert_membership:after_row", async || {
            env.fx
                .vault
                .start_membership(env.admin(), new.clone())
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT status = 'expired' AND revision = 1 FROM memberships WHERE id = ?1",
            old.id
        ),
        1
    );
    assert_eq!(
        env.scalar(
            "SELECT status = 'active' FROM memberships WHERE id = ?1",
            started.id
        ),
        1
    );
}

//! Recurring maintenance as jobs: four workers scheduling and running it
//! at once enqueue each period's run once and apply it once; memberships
//! whose time ran out move in storage, provider-backed ones only to past
//! due.

use std::sync::Arc;

use chrono::Duration;

use super::{Fixture, NowUtc};
use crate::commerce::membership::{
    Membership, MembershipEvent, MembershipStatus, NewMembership, Period,
};
use crate::commerce::purchase::ProviderRefs;
use crate::jobs::job::JobState;
use crate::jobs::store::JobQuery;
use crate::jobs::worker::{Stop, WorkerConfig};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::tier::PricingTier;
use crate::vault::maintenance::{self, Maintenance, MembershipUpkeep};

async fn member(f: &Fixture, name: &str, trial: bool, subscription: Option<&str>) -> Membership {
    let now = f.clock.now_utc();
    f.vault
        .start_membership(
            &Actor::Service,
            NewMembership {
                user_id: Fixture::user(name).user_id().unwrap().clone(),
                tier: PricingTier::Pro,
                period: Period::new(now, now + Duration::days(30)).unwrap(),
                trial,
                period_download_limit: Some(10),
                features: Default::default(),
                provider: ProviderRefs {
                    subscription_id: subscription.map(str::to_owned),
                    ..ProviderRefs::default()
                },
            },
        )
        .await
        .unwrap()
}

async fn stored(f: &Fixture, m: &Membership) -> Membership {
    f.store.membership(m.id).await.unwrap().unwrap()
}

/// Four `maintain_memberships` at once, summed.
async fn four_at_once(f: &Fixture) -> MembershipUpkeep {
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let vault = f.vault.clone();
            tokio::spawn(async move { vault.maintain_memberships(&Actor::Service).await })
        })
        .collect();
    let mut total = MembershipUpkeep::default();
    for r in runs {
        let r = r.await.unwrap().unwrap();
        total.expired += r.expired;
        total.past_due += r.past_due;
    }
    total
}

pub async fn recurring_maintenance_on_four_workers_applies_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let local = member(&f, "local", false, None).await;
    let trial = member(&f, "trial", true, None).await;
    let stripe = member(&f, "stripe", false, Some("sub_maintained")).await;
    f.advance(Duration::days(20));
    let later = member(&f, "later", false, None).await;
    f.advance(Duration::days(9));
    // Day 29: a failed renewal; its grace (three days) runs to day 32.
    let failing = f
        .vault
        .apply_membership_event(&Actor::Service, later.id, MembershipEvent::PaymentFailed)
        .await
        .unwrap();
    let before = [
        stored(&f, &local).await,
        stored(&f, &trial).await,
        stored(&f, &stripe).await,
        failing.clone(),
    ];
    // Day 31: three ran out at day 30.
    f.advance(Duration::days(2));

    // Four workers schedule the recurring jobs and run them, at once.
    let stop = Arc::new(Stop::new());
    let handler = Arc::new(Maintenance::new(f.vault.clone()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (vault, handler, stop) = (f.vault.clone(), Arc::clone(&handler), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut config = WorkerConfig::new(format!("upkeep-{w}"));
                config.recurring = maintenance::recurring();
                config.idle = std::time::Duration::from_millis(5);
                vault
                    .run_jobs(&config, handler.as_ref(), tokio::time::sleep, &stop)
                    .await
            })
        })
        .collect();
    let query = JobQuery {
        limit: 100,
        ..JobQuery::default()
    };
    for _ in 0..2_000 {
        let jobs = f.vault.jobs(&f.admin, &query).await.unwrap().items;
        if jobs.len() == 3 && jobs.iter().all(|j| j.state == JobState::Succeeded) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.request();
    let mut succeeded = 0;
    for w in workers {
        let r = w.await.unwrap();
        assert_eq!(r.store_errors, 0);
        succeeded += r.succeeded;
    }
    assert_eq!(succeeded, 3, "each recurring job ran once");
    let jobs = f.vault.jobs(&f.admin, &query).await.unwrap().items;
    let mut keys: Vec<_> = jobs.iter().filter_map(|j| j.unique_key.clone()).collect();
    keys.sort();
    let now = f.clock.now_utc();
    assert_eq!(
        keys,
        [
            format!(
                "{}:{}",
                maintenance::ANALYTICS_CHECK,
                now.format("%Y-%m-%d")
            ),
            format!("{}:{}", maintenance::MEMBERSHIPS, now.format("%Y-%m-%dT%H")),
            format!("{}:{}", maintenance::PURGE_JOBS, now.format("%Y-%m-%d")),
        ]
    );
    assert!(
        jobs.iter()
            .all(|j| j.state == JobState::Succeeded && j.attempts == 1)
    );

    // Each moved once (one revision up), at the instants the rule fixed.
    let day30 = before[0].period.end;
    let after = [
        stored(&f, &local).await,
        stored(&f, &trial).await,
        stored(&f, &stripe).await,
        stored(&f, &failing).await,
    ];
    assert_eq!(
        (after[0].status, after[0].ended_at),
        (MembershipStatus::Expired, Some(day30))
    );
    assert_eq!(
        (after[1].status, after[1].ended_at),
        (MembershipStatus::Expired, Some(day30))
    );
    assert_eq!(
        (after[2].status, after[2].past_due_since, after[2].ended_at),
        (MembershipStatus::PastDue, Some(day30), None),
        "a provider-backed membership is only moved to past due"
    );
    assert_eq!(
        after[3].status,
        MembershipStatus::PastDue,
        "still in its grace"
    );
    for (b, a) in before.iter().zip(&after).take(3) {
        assert_eq!(a.revision, b.revision + 1, "{:?}", a.status);
    }
    assert_eq!(after[3].revision, before[3].revision);
    // Access reads the same as before maintenance.
    let grace = Duration::days(3);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            b.standing(now, grace).grants(),
            a.standing(now, grace).grants()
        );
    }

    // Run again by four at once: nothing left.
    assert_eq!(four_at_once(&f).await, MembershipUpkeep::default());
    // Day 33: the failing one's grace ran out; four at once expire it once.
    f.advance(Duration::days(2));
    let upkeep = four_at_once(&f).await;
    assert_eq!((upkeep.expired, upkeep.past_due), (1, 0));
    let gone = stored(&f, &failing).await;
    assert_eq!(gone.status, MembershipStatus::Expired);
    assert_eq!(gone.ended_at, failing.grace_ends_at);
    assert_eq!(gone.revision, before[3].revision + 1);
    assert_eq!(stored(&f, &stripe).await.status, MembershipStatus::PastDue);
    // Users may not run it.
    assert!(
        f.vault
            .maintain_memberships(&Fixture::user("local"))
            .await
            .is_err()
    );
}

/// The analytics check: a day's figures counted again from the rows agree
/// with the rollup (direct, bundle and membership downloads and purchases;
/// a partial refund and a bundle's full refund, shared across its members;
/// a favorite added, removed and added again; a review approved, rejected
/// and approved again, new once); a drifted counter is reported with both
/// values and left as it was; the daily job fails without retry, listing
/// the difference.
pub async fn analytics_rollup_is_checked_against_the_rows(store: Arc<dyn Store>) {
    use super::helpers::{review_input, usd};
    use crate::community::review::ModerationStatus;
    use crate::delivery::download::RequestInfo;
    use crate::value::delta::AnalyticsDelta;
    use crate::vault::CheckoutItem;

    let f = Fixture::new(store).await;
    let (bundle, members) = super::helpers::bundle_of_three(&f).await;
    let (free, _) = f.workflow("free-one", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    let bob = Fixture::user("bob");
    let ann_p = f.buy(&ann, CheckoutItem::Workflow(members[0])).await;
    let bob_p = f.buy(&bob, CheckoutItem::Bundle(bundle.id)).await;
    let req = RequestInfo::default();
    for _ in 0..2 {
        f.vault
            .download(&ann, members[0], None, &req)
            .await
            .unwrap();
    }
    f.vault
        .download(&bob, members[2], None, &req)
        .await
        .unwrap();
    f.vault.download(&ann, free.id, None, &req).await.unwrap();
    f.join(&Fixture::user("cleo"), PricingTier::Pro, Some(10), false)
        .await;
    f.vault
        .download(&Fixture::user("cleo"), members[1], None, &req)
        .await
        .unwrap();
    let reviews = [(&ann, members[0]), (&bob, members[2])];
    let mut ids = vec![];
    for (who, w) in reviews {
        let r = f
            .vault
            .submit_review(who, w, review_input(4))
            .await
            .unwrap();
        ids.push(r.id);
    }
    for (id, status) in [
        (ids[0], ModerationStatus::Approved),
        (ids[0], ModerationStatus::Rejected),
        (ids[0], ModerationStatus::Approved),
        (ids[1], ModerationStatus::Approved),
    ] {
        f.vault
            .moderate_review(&f.admin, id, status, None)
            .await
            .unwrap();
    }
    for _ in 0..2 {
        f.vault
            .add_favorite(&ann, members[0], None, vec![])
            .await
            .unwrap();
        assert!(f.vault.remove_favorite(&ann, members[0]).await.unwrap());
    }
    f.vault
        .add_favorite(&bob, members[0], None, vec![])
        .await
        .unwrap();
    f.vault
        .refund_purchase(&f.admin, ann_p.id, Some(usd(250)), None)
        .await
        .unwrap();
    f.vault
        .refund_purchase(&f.admin, bob_p.id, None, None)
        .await
        .unwrap();

    let today = f.clock.now_utc().date_naive();
    assert_eq!(
        f.vault.check_analytics(&f.admin, today).await.unwrap(),
        vec![]
    );
    let counts = f.store.day_counts(today).await.unwrap();
    let counted = |w| {
        counts
            .counted
            .iter()
            .filter(|c| c.workflow_id == w)
            .fold([0; 4], |t, c| {
                [
                    t[0] + c.downloads,
                    t[1] + c.purchases,
                    t[2] + c.favorites,
                    t[3] + c.reviews,
                ]
            })
    };
    assert_eq!(
        counted(members[0]),
        [2, 2, 3, 1],
        "ann's purchase and bob's bundle; three adds; one new review"
    );
    assert_eq!(counted(members[1]), [1, 1, 0, 0]);
    assert_eq!(counted(members[2]), [1, 1, 0, 1]);
    assert_eq!(counted(free.id), [1, 0, 0, 0]);
    let refunded: rust_decimal::Decimal = counts.counted.iter().map(|c| c.refunds).sum();
    assert_eq!(
        refunded,
        usd(250).amount() + bob_p.total.amount(),
        "each refund's shares add up to it"
    );
    let members_refunded = counts
        .counted
        .iter()
        .filter(|c| c.workflow_id != members[0] && c.refunds > rust_decimal::Decimal::ZERO)
        .count();
    assert!(members_refunded >= 2, "the bundle's refund is shared");

    // A counter moved without its row: reported, not overwritten.
    let mut drift = AnalyticsDelta::none(free.id, f.clock.now_utc());
    drift.downloads = 1;
    f.store.record_analytics(&drift).await.unwrap();
    let found = f.vault.check_analytics(&f.admin, today).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (
            found[0].workflow_id,
            found[0].figure,
            found[0].recorded,
            found[0].counted
        ),
        (free.id, "downloads", 2.into(), 1.into())
    );
    let again = f.vault.check_analytics(&f.admin, today).await.unwrap();
    assert_eq!(again, found, "nothing was written over");
    // Another day holds nothing; users may not check.
    let other = today.pred_opt().unwrap();
    assert_eq!(
        f.vault.check_analytics(&f.admin, other).await.unwrap(),
        vec![]
    );
    assert!(f.vault.check_analytics(&ann, today).await.is_err());

    // The daily job checks yesterday: tomorrow it reports the drift.
    f.advance(Duration::days(1));
    let stop = Stop::new();
    let mut config = WorkerConfig::new("checker");
    config.recurring = maintenance::recurring()
        .into_iter()
        .filter(|r| r.kind.as_str() == maintenance::ANALYTICS_CHECK)
        .collect();
    let handler = Maintenance::new(f.vault.clone());
    let sleep = |_d: std::time::Duration| {
        stop.request();
        std::future::ready(())
    };
    let report = f.vault.run_jobs(&config, &handler, sleep, &stop).await;
    assert_eq!((report.succeeded, report.failed), (0, 1));
    let dead = f
        .vault
        .jobs(
            &f.admin,
            &JobQuery {
                state: Some(JobState::Dead),
                ..JobQuery::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(dead.len(), 1);
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("1 figure(s) differ") && error.contains("rollup 2, rows 1"),
        "{error}"
    );

    // The day's edges: the last microsecond belongs to the day, midnight
    // to the next, in the rollup and in the rows alike.
    let d2 = today + Duration::days(2);
    let last = d2.and_hms_micro_opt(23, 59, 59, 999_999).unwrap().and_utc();
    f.clock.set(last);
    f.vault.download(&ann, free.id, None, &req).await.unwrap();
    f.clock.set(last + Duration::microseconds(1));
    f.vault.download(&ann, free.id, None, &req).await.unwrap();
    let d3 = d2 + Duration::days(1);
    for day in [d2, d3] {
        assert_eq!(
            f.vault.check_analytics(&f.admin, day).await.unwrap(),
            vec![]
        );
        let counts = f.store.day_counts(day).await.unwrap();
        let downloads: u64 = counts
            .counted
            .iter()
            .filter(|c| c.workflow_id == free.id)
            .map(|c| c.downloads)
            .sum();
        assert_eq!(downloads, 1, "{day}");
    }
}

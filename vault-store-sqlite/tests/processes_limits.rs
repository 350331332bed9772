//! The guards hold across OS processes on one database file: quotas charged
//! by downloads from two or three processes at once are exact, whether the
//! processes go through `Vault::download` (which re-decides after losing a
//! race) or call `record_download` directly with a charge decided before
//! anyone wrote.
//!
//! The `worker_*` tests are the other processes: the parents run this test
//! binary again (see `common/processes.rs`).
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use vault_core::commerce::purchase::PaymentStatus;
use vault_core::delivery::download::{Download, DownloadKind, DownloadSource, RequestInfo};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{Charge, StoreError};
use vault_core::testkit::{Fixture, epoch};
use vault_core::value::actor::UserId;
use vault_core::value::error::Error;
use vault_core::value::ids::DownloadId;
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;

use crate::common::invariants::check_invariants;
use crate::common::processes::{
    GO_ENV, PATIENCE, SEED_ENV, Worker, WorkerEnv, field, open, run, say, scratch, slug, user,
    worker_vault,
};

// ------------------------------------------ limits through Vault::download

const VAULT_RACERS: u64 = 3;
const VAULT_TASKS: usize = 4;
const VAULT_ATTEMPTS: usize = 8;
const HOT_LIMIT: u32 = 5;
const WARM_LIMIT: u32 = 30;

/// Three processes, four tasks each, all downloading two workflows for the
/// same buyer, whose licenses allow 5 and 30 downloads: exactly 5 and 30
/// succeed in all, each download charged and counted once.
#[test]
fn purchase_limit_holds_across_processes_through_the_vault() {
    let db = scratch("vault-limit", "db");
    let go = scratch("vault-limit", "go");
    let bought = run(async {
        let f = Fixture::new(open(&db).await).await;
        let mut out = Vec::new();
        for (slug, limit) in [("hot", HOT_LIMIT), ("warm", WARM_LIMIT)] {
            let mut c = f.content(slug, PricingTier::Pro, Some(1000));
            c.download_limit = Some(limit);
            let (w, _) = f.publish(c).await;
            let p = f.buy(&user("racer"), CheckoutItem::Workflow(w.id)).await;
            assert_eq!(p.quota.limit, Some(limit));
            out.push((w.id, p.id, limit));
        }
        out
    });

    let deadline = Instant::now() + PATIENCE;
    let mut workers: Vec<Worker> = (0..VAULT_RACERS)
        .map(|i| {
            Worker::spawn(
                "worker_vault_downloads",
                &db,
                &[
                    (GO_ENV, go.display().to_string()),
                    (SEED_ENV, (1000 + i).to_string()),
                ],
            )
        })
        .collect();
    for w in &mut workers {
        w.expect("ready", deadline, |l| l == "ready");
    }
    File::create(&go).unwrap();
    let mut per_process = Vec::new();
    for w in &mut workers {
        let done = w.expect("done", deadline, |l| l.starts_with("done "));
        w.finish(deadline);
        assert_eq!(field(&done, "errors"), 0, "{}", w.report());
        per_process.push([
            field(&done, "hot_ok"),
            field(&done, "hot_denied"),
            field(&done, "warm_ok"),
            field(&done, "warm_denied"),
        ]);
    }
    eprintln!("per process [hot_ok, hot_denied, warm_ok, warm_denied]: {per_process:?}");
    let sum = |i: usize| per_process.iter().map(|p| p[i]).sum::<u64>();
    // Each task alternates the two workflows.
    let per_workflow = VAULT_RACERS * (VAULT_TASKS * VAULT_ATTEMPTS / 2) as u64;
    let (hot, warm) = (u64::from(HOT_LIMIT), u64::from(WARM_LIMIT));
    assert_eq!(
        [sum(0), sum(1), sum(2), sum(3)],
        [hot, per_workflow - hot, warm, per_workflow - warm]
    );

    run(async {
        let store = open(&db).await;
        let racer = UserId::parse("racer").unwrap();
        let all = store.downloads_for_user(&racer, 1000).await.unwrap();
        assert_eq!(all.len() as u64, hot + warm);
        for (workflow, purchase, limit) in bought {
            let p = store.purchase(purchase).await.unwrap().unwrap();
            assert_eq!(p.quota.used, limit);
            let recorded = store.downloads_for_workflow(workflow, 1000).await.unwrap();
            assert_eq!(recorded.len(), limit as usize);
            assert!(
                recorded
                    .iter()
                    .all(|d| d.source == DownloadSource::Purchase(purchase))
            );
            let w = store.workflow(workflow).await.unwrap().unwrap();
            assert_eq!(w.stats.download_count, u64::from(limit));
        }
    });
    let totals = check_invariants(&db);
    assert_eq!(totals.downloads as u64, hot + warm);
}

#[test]
fn worker_vault_downloads() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let (vault, _clock) = worker_vault(
            open(&env.db).await,
            env.seed,
            epoch() + chrono::Duration::hours(1),
        );
        let racer = user("racer");
        let hot = vault.workflow_by_slug(&racer, &slug("hot")).await.unwrap();
        let warm = vault.workflow_by_slug(&racer, &slug("warm")).await.unwrap();
        say("ready");
        env.wait_for_go();
        let mut tasks = Vec::new();
        for task in 0..VAULT_TASKS {
            let (vault, racer) = (vault.clone(), racer.clone());
            tasks.push(tokio::spawn(async move {
                // [hot ok, hot denied, warm ok, warm denied, errors]
                let mut n = [0u64; 5];
                for i in 0..VAULT_ATTEMPTS {
                    let (w, at) = if (task + i).is_multiple_of(2) {
                        (hot.id, 0)
                    } else {
                        (warm.id, 2)
                    };
                    match vault
                        .download(&racer, w, None, &RequestInfo::default())
                        .await
                    {
                        Ok(_) => n[at] += 1,
                        Err(Error::Denied(_)) => n[at + 1] += 1,
                        Err(e) => {
                            say(format!("error {e:?}"));
                            n[4] += 1;
                        }
                    }
                }
                n
            }));
        }
        let mut n = [0u64; 5];
        for t in tasks {
            for (total, x) in n.iter_mut().zip(t.await.unwrap()) {
                *total += x;
            }
        }
        say(format!(
            "done hot_ok={} hot_denied={} warm_ok={} warm_denied={} errors={}",
            n[0], n[1], n[2], n[3], n[4]
        ));
    });
}

// ------------------------------- limits through record_download directly

const CHARGE_RACERS: u64 = 2;
const CHARGE_ATTEMPTS: u64 = 32;
const PURCHASE_LIMIT: u32 = 20;
const MEMBERSHIP_LIMIT: u32 = 12;

/// Two processes, each with 32 downloads decided before any was written
/// (half charged to a purchase allowing 20, half to a membership allowing
/// 12), all written at once: the store's guard alone lets exactly 20 and 12
/// through and refuses the rest with `LimitReached`.
#[test]
fn guarded_charges_hold_across_processes() {
    let db = scratch("charge-limit", "db");
    let go = scratch("charge-limit", "go");
    let (contended, club, purchase, membership) = run(async {
        let f = Fixture::new(open(&db).await).await;
        let mut c = f.content("contended", PricingTier::Pro, Some(1000));
        c.download_limit = Some(PURCHASE_LIMIT);
        let (contended, _) = f.publish(c).await;
        let (club, _) = f.workflow("club", PricingTier::Pro, Some(2900)).await;
        let p = f
            .buy(&user("contender"), CheckoutItem::Workflow(contended.id))
            .await;
        let m = f
            .join(
                &user("member"),
                PricingTier::Premium,
                Some(MEMBERSHIP_LIMIT),
                false,
            )
            .await;
        (contended.id, club.id, p.id, m.id)
    });

    let deadline = Instant::now() + PATIENCE;
    let mut workers: Vec<Worker> = (0..CHARGE_RACERS)
        .map(|i| {
            Worker::spawn(
                "worker_guarded_charges",
                &db,
                &[
                    (GO_ENV, go.display().to_string()),
                    (SEED_ENV, (2000 + i).to_string()),
                ],
            )
        })
        .collect();
    for w in &mut workers {
        w.expect("ready", deadline, |l| l == "ready");
    }
    File::create(&go).unwrap();
    let mut per_process = Vec::new();
    for w in &mut workers {
        let done = w.expect("done", deadline, |l| l.starts_with("done "));
        w.finish(deadline);
        assert_eq!(field(&done, "errors"), 0, "{}", w.report());
        per_process.push([
            field(&done, "p_ok"),
            field(&done, "p_full"),
            field(&done, "m_ok"),
            field(&done, "m_full"),
        ]);
    }
    eprintln!("per process [p_ok, p_full, m_ok, m_full]: {per_process:?}");
    let sum = |i: usize| per_process.iter().map(|p| p[i]).sum::<u64>();
    let half = CHARGE_RACERS * CHARGE_ATTEMPTS / 2;
    assert_eq!(
        [sum(0), sum(1), sum(2), sum(3)],
        [
            u64::from(PURCHASE_LIMIT),
            half - u64::from(PURCHASE_LIMIT),
            u64::from(MEMBERSHIP_LIMIT),
            half - u64::from(MEMBERSHIP_LIMIT),
        ]
    );

    run(async {
        let store = open(&db).await;
        let p = store.purchase(purchase).await.unwrap().unwrap();
        assert_eq!(p.quota.used, PURCHASE_LIMIT);
        let m = store.membership(membership).await.unwrap().unwrap();
        assert_eq!(m.quota.used, MEMBERSHIP_LIMIT);
        for (w, n) in [(contended, PURCHASE_LIMIT), (club, MEMBERSHIP_LIMIT)] {
            let recorded = store.downloads_for_workflow(w, 100).await.unwrap();
            assert_eq!(recorded.len(), n as usize);
            let w = store.workflow(w).await.unwrap().unwrap();
            assert_eq!(w.stats.download_count, u64::from(n));
            let day = epoch().date_naive();
            let a = store.analytics(w.id, day, day).await.unwrap();
            assert_eq!(a[0].downloads, u64::from(n));
        }
    });
    let totals = check_invariants(&db);
    assert_eq!(
        totals.downloads,
        i64::from(PURCHASE_LIMIT + MEMBERSHIP_LIMIT)
    );
}

#[test]
fn worker_guarded_charges() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let store = open(&env.db).await;
        let contended = store
            .workflow_by_slug(&slug("contended"))
            .await
            .unwrap()
            .unwrap();
        let club = store
            .workflow_by_slug(&slug("club"))
            .await
            .unwrap()
            .unwrap();
        let contended_file = store.files(contended.id).await.unwrap().remove(0);
        let club_file = store.files(club.id).await.unwrap().remove(0);
        let contender = UserId::parse("contender").unwrap();
        let member = UserId::parse("member").unwrap();
        let p = store
            .purchases_for_user(&contender)
            .await
            .unwrap()
            .remove(0);
        let m = store.memberships_for_user(&member).await.unwrap().remove(0);
        // Every download is decided now, before any is written: each believes
        // there is room, so only the store's guard stands in the way.
        let at = epoch() + chrono::Duration::hours(1);
        let mut jobs = Vec::new();
        for i in 0..CHARGE_ATTEMPTS {
            let id = DownloadId::from_uuid(uuid::Uuid::from_u64_pair(env.seed, i));
            let (download, charge) = if i.is_multiple_of(2) {
                (
                    Download {
                        id,
                        user_id: Some(contender.clone()),
                        workflow_id: contended.id,
                        file_id: contended_file.id,
                        file_version: contended_file.version,
                        kind: DownloadKind::Purchased,
                        source: DownloadSource::Purchase(p.id),
                        request: Default::default(),
                        downloaded_at: at,
                    },
                    Charge::Purchase {
                        id: p.id,
                        expected_status: PaymentStatus::Completed,
                        limit: p.quota.limit,
                    },
                )
            } else {
                (
                    Download {
                        id,
                        user_id: Some(member.clone()),
                        workflow_id: club.id,
                        file_id: club_file.id,
                        file_version: club_file.version,
                        kind: DownloadKind::Membership,
                        source: DownloadSource::Membership(m.id),
                        request: Default::default(),
                        downloaded_at: at,
                    },
                    Charge::Membership {
                        id: m.id,
                        expected_status: m.status,
                        period_start: m.period.start,
                        limit: m.quota.limit,
                    },
                )
            };
            let mut delta = AnalyticsDelta::none(download.workflow_id, at);
            delta.downloads = 1;
            jobs.push((download, charge, delta));
        }
        say("ready");
        env.wait_for_go();
        let tasks: Vec<_> = jobs
            .into_iter()
            .map(|(d, c, a)| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let on_purchase = matches!(c, Charge::Purchase { .. });
                    (on_purchase, store.record_download(&d, &c, &a).await)
                })
            })
            .collect();
        let (mut p_ok, mut p_full, mut m_ok, mut m_full, mut errors) = (0, 0, 0, 0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (true, Ok(())) => p_ok += 1,
                (true, Err(StoreError::LimitReached { .. })) => p_full += 1,
                (false, Ok(())) => m_ok += 1,
                (false, Err(StoreError::LimitReached { .. })) => m_full += 1,
                (_, Err(e)) => {
                    say(format!("error {e:?}"));
                    errors += 1;
                }
            }
        }
        say(format!(
            "done p_ok={p_ok} p_full={p_full} m_ok={m_ok} m_full={m_full} errors={errors}"
        ));
    });
}

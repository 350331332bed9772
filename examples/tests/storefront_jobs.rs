//! The job queue from the admin pages, JavaScript off: the worker beside
//! the router has scheduled the vault's maintenance and vault-stripe's
//! upkeep and run them; a job nobody handles goes dead and is listed with
//! its error, retried from the page, and a job not yet due is cancelled
//! from it; webhook events parked, failed or expired are listed; users
//! cannot see any of it.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::Actor;
use vault_core::jobs::job::{JobKind, JobState, NewJob};
use vault_core::jobs::store::JobQuery;

async fn job_state(site: &Site, id: vault_core::jobs::job::JobId) -> JobState {
    site.vault.job(&Actor::Service, id).await.unwrap().0.state
}

/// Waits (5 s at most) until the job with `id` is in `state`.
async fn until(site: &Site, id: vault_core::jobs::job::JobId, state: JobState) {
    for _ in 0..100 {
        if job_state(site, id).await == state {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "job {id} never reached {state}: {}",
        job_state(site, id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_list_retry_and_cancel_jobs_users_cannot() {
    let site = site().await;
    let staff = admin(&site).await;

    // The worker scheduled and ran the recurring jobs.
    let mut done = String::new();
    for _ in 0..100 {
        done = main_part(&get(&staff, &site, "/admin/jobs?state=succeeded").await.body);
        if [
            "vault.memberships",
            "vault.purge_jobs",
            "vault.analytics_check",
            "stripe.webhooks",
        ]
        .iter()
        .all(|k| done.contains(k))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for kind in [
        "vault.memberships",
        "vault.purge_jobs",
        "vault.analytics_check",
        "stripe.webhooks",
    ] {
        assert!(done.contains(kind), "{kind}: {done}");
    }

    // A kind nobody handles: dead at once, listed with its error.
    let orphan = site
        .vault
        .enqueue(
            &Actor::Service,
            NewJob::new(
                JobKind::parse("demo.orphan").unwrap(),
                serde_json::json!({}),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .id();
    until(&site, orphan, JobState::Dead).await;
    let dead = get(&staff, &site, "/admin/jobs?state=dead").await;
    assert_eq!(dead.status, 200);
    let main = main_part(&dead.body);
    assert!(main.contains("demo.orphan"), "{main}");
    assert!(main.contains("not a storefront job"), "{main}");
    assert!(main.contains("1 of 5"), "{main}");
    let retry = format!("/admin/jobs/{orphan}/retry");
    assert!(main.contains(&retry), "{main}");
    let g = post_form(&staff, &site, "/admin/jobs?state=dead", &retry, &[]).await;
    assert_eq!(g.status, 303, "{}", g.body);
    // Retried, it ran again and died again: two attempts in its log.
    for _ in 0..100 {
        if site
            .vault
            .job(&Actor::Service, orphan)
            .await
            .unwrap()
            .1
            .len()
            == 2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    until(&site, orphan, JobState::Dead).await;
    assert_eq!(
        site.vault
            .job(&Actor::Service, orphan)
            .await
            .unwrap()
            .1
            .len(),
        2
    );

    // A job due tomorrow waits in "due" and is cancelled from the page.
    let later = site
        .vault
        .enqueue(
            &Actor::Service,
            NewJob::new(JobKind::parse("demo.later").unwrap(), serde_json::json!({}))
                .unwrap()
                .run_at(chrono::Utc::now() + chrono::Duration::days(1)),
        )
        .await
        .unwrap()
        .id();
    let due = main_part(&get(&staff, &site, "/admin/jobs").await.body);
    assert!(due.contains("demo.later"), "{due}");
    let cancel = format!("/admin/jobs/{later}/cancel");
    let g = post_form(&staff, &site, "/admin/jobs", &cancel, &[]).await;
    assert_eq!(g.status, 303, "{}", g.body);
    assert_eq!(job_state(&site, later).await, JobState::Cancelled);
    let cancelled = main_part(&get(&staff, &site, "/admin/jobs?state=cancelled").await.body);
    assert!(cancelled.contains("demo.later"), "{cancelled}");
    // Cancelling again no longer applies: a conflict page, nothing moves.
    let again = post_form(&staff, &site, "/admin/jobs", &cancel, &[]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    // Both commands are in the audit log.
    let audit = main_part(&get(&staff, &site, "/admin/audit").await.body);
    assert!(
        audit.contains("job_retried") && audit.contains("job_cancelled"),
        "{audit}"
    );

    // Bad input names the field; an unknown id is a 404.
    let bad = get(&staff, &site, "/admin/jobs?state=sleeping").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("state"), "{}", bad.body);
    assert_eq!(
        get(&staff, &site, "/admin/jobs?cursor=zzz").await.status,
        400
    );
    let g = post_form(
        &staff,
        &site,
        "/admin/jobs",
        "/admin/jobs/not-an-id/retry",
        &[],
    )
    .await;
    assert_eq!(g.status, 404);

    // Webhook events by status.
    for status in ["parked", "failed", "expired"] {
        let g = get(&staff, &site, &format!("/admin/webhooks?status={status}")).await;
        assert_eq!(g.status, 200, "{status}");
        assert!(g.body.contains(&format!("Webhook events: {status}")));
    }
    assert_eq!(
        get(&staff, &site, "/admin/webhooks?status=processed")
            .await
            .status,
        400
    );

    // Users and visitors see none of it.
    let user = browser();
    sign_up(&user, &site, "nosy@example.com", "correct horse battery").await;
    for path in ["/admin/jobs", "/admin/webhooks"] {
        let g = get(&user, &site, path).await;
        assert_eq!(g.status, 403, "{path}");
        assert!(!g.body.contains("demo.orphan"));
    }
    let jobs = site
        .vault
        .jobs(&Actor::Service, &JobQuery::default())
        .await
        .unwrap()
        .items;
    assert!(jobs.iter().any(|j| j.kind.as_str() == "demo.orphan"));
}

//! A membership follows its Stripe subscription through every event the
//! fake sends from its console: a declined renewal
//! (`invoice.payment_failed`, then `customer.subscription.updated` to
//! `past_due`), a paid one (`invoice.paid`, back to `active` with the next
//! period), and the end (`customer.subscription.deleted`: access gone).
//! Each event is signed, delivered to the storefront's own webhook and
//! accepted.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::commerce::membership::MembershipStatus;
use vault_core::{Actor, Email};

const PRO_WORKFLOW: &str = "/workflows/weekly-kpi-report";

async fn membership(
    site: &Site,
    user: &vault_core::UserId,
) -> vault_core::commerce::membership::Membership {
    let ms = site
        .vault
        .memberships_for_user(&Actor::Service, user)
        .await
        .unwrap();
    assert_eq!(ms.len(), 1);
    ms[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_follows_renewals_declines_and_the_end() {
    let site = site().await;
    let cy = browser();
    sign_up(&cy, &site, "cy@example.com", "cy password!!").await;
    let user = site
        .vault
        .store()
        .account_by_email(&Email::parse("cy@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let started = post_form(&cy, &site, "/membership", "/checkout/membership/pro", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let checkout = started
        .location
        .unwrap()
        .strip_prefix(&site.base)
        .unwrap()
        .to_owned();
    let paid = post_form(&cy, &site, &checkout, &format!("{checkout}/pay"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let joined = membership(&site, &user).await;
    assert_eq!(joined.status, MembershipStatus::Trialing);
    let sub = joined.provider.subscription_id.clone().unwrap();

    // The console is staff's, and its buttons need the token.
    const CONSOLE: &str = "/fake-stripe/subscriptions";
    assert_eq!(get(&cy, &site, CONSOLE).await.status, 403);
    let staff = admin(&site).await;
    let console = get(&staff, &site, CONSOLE).await;
    assert_eq!(console.status, 200);
    assert!(console.body.contains(&sub), "{}", console.body);
    let forged = got(staff
        .post(format!("{}{CONSOLE}/{sub}/end", site.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        membership(&site, &user).await.status,
        MembershipStatus::Trialing
    );

    let press = |action: &'static str| {
        let (staff, site, sub) = (&staff, &site, &sub);
        async move {
            let g = post_form(
                staff,
                site,
                CONSOLE,
                &format!("{CONSOLE}/{sub}/{action}"),
                &[],
            )
            .await;
            assert_eq!(g.status, 303, "{action}: {}", g.body);
        }
    };

    // The renewal is declined: past due, the new period recorded.
    press("fail-renewal").await;
    let declined = membership(&site, &user).await;
    assert_eq!(declined.status, MembershipStatus::PastDue);
    assert!(declined.period.end > joined.period.end, "{declined:?}");

    // Paid after all: active again, for the period after that.
    press("renew").await;
    let renewed = membership(&site, &user).await;
    assert_eq!(renewed.status, MembershipStatus::Active);
    assert!(renewed.period.end > declined.period.end, "{renewed:?}");
    let page = get(&cy, &site, PRO_WORKFLOW).await.body;
    assert!(page.contains("Yours to download"), "{page}");

    // Ended now: access is gone, and the console offers nothing more.
    press("end").await;
    let ended = membership(&site, &user).await;
    assert!(ended.status.is_ended(), "{ended:?}");
    let page = get(&cy, &site, PRO_WORKFLOW).await.body;
    assert!(!page.contains("Yours to download"), "{page}");
    let console = get(&staff, &site, CONSOLE).await.body;
    assert!(!console.contains(&format!("{sub}/end")), "{console}");

    // Every event was delivered, signed, and accepted.
    let log: serde_json::Value =
        serde_json::from_str(&get(&staff, &site, "/fake-stripe/events").await.body).unwrap();
    let delivered: Vec<(String, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    for kind in [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ] {
        assert!(
            delivered.iter().any(|(k, _)| k == kind),
            "{kind} in {delivered:?}"
        );
    }
    assert!(
        delivered.iter().all(|(_, s)| *s == 200),
        "all accepted: {delivered:?}"
    );
}

//! The shop over HTTP, with JavaScript off: a browser-like client (cookies,
//! redirects inspected hop by hop) signs up, buys through the built-in fake
//! Stripe, downloads, runs into the download limit, is refunded by staff,
//! joins a membership with a trial and cancels it; forged forms, bad
//! webhook signatures and replayed webhooks are refused or applied once.
//!
//! Every case runs on SQLite, and on PostgreSQL (a fresh database per case)
//! when `DATABASE_URL` is set; without it the PostgreSQL cases print that
//! they skip, unless `VAULT_REQUIRE_POSTGRES=1`, when they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use vault_core::commerce::membership::MembershipStatus;
use vault_core::commerce::purchase::{PaymentStatus, Purchase};
use vault_core::store::Store;
use vault_core::{Actor, Email, PricingTier, Slug, UserId, Vault};
use vault_examples::{Backend, demo_file_bytes, open_vault, seed_catalog, seed_files, storefront};

struct Site {
    base: String,
    vault: Vault<dyn Store>,
    _dir: tempfile::TempDir,
}

async fn start(vault: Vault<dyn Store>, dir: tempfile::TempDir) -> Site {
    seed_catalog(&vault, &Actor::Service).await.unwrap();
    storefront::demo_admin(&vault).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = storefront::demo_config(&base, &dir.path().join("files")).unwrap();
    seed_files(&vault, &Actor::Service, config.files.as_ref())
        .await
        .unwrap();
    let app = storefront::router(vault.clone(), config);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    Site {
        base,
        vault,
        _dir: dir,
    }
}

async fn sqlite_site() -> Option<Site> {
    let dir = tempfile::tempdir().unwrap();
    let vault = open_vault(&Backend::Sqlite(dir.path().join("shop.db")))
        .await
        .unwrap();
    Some(start(vault, dir).await)
}

/// A fresh database on the server of `DATABASE_URL`, opened the way the
/// storefront binary opens it (by URL).
async fn postgres_site() -> Option<Site> {
    let options = vault_store_postgres::testkit::fresh_database().await?;
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&format!("/{}", options.get_database().unwrap()));
    let vault = open_vault(&Backend::Postgres(url.to_string()))
        .await
        .unwrap();
    Some(start(vault, tempfile::tempdir().unwrap()).await)
}

/// A browser with cookies that does not follow redirects by itself, so
/// each hop can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn get(c: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// POSTs a form; returns the status, the `Location` (absolute) and the body.
async fn post(
    site: &Site,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", site.base)
    };
    let r = c.post(url).form(form).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .map(|l| {
            if l.starts_with('/') {
                format!("{}{l}", site.base)
            } else {
                l
            }
        });
    (r.status(), location, r.text().await.unwrap())
}

/// The CSRF token of the first form on a page.
fn csrf(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in:\n{html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn token(site: &Site, c: &reqwest::Client, path: &str) -> String {
    let (status, html) = get(c, &format!("{}{path}", site.base)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    csrf(&html)
}

/// Signs a new user up; returns their browser and id.
async fn sign_up(site: &Site, name: &str) -> (reqwest::Client, UserId) {
    let c = browser();
    let t = token(site, &c, "/sign-up").await;
    let email = format!("{name}@example.com");
    let (status, location, body) = post(
        site,
        &c,
        "/sign-up",
        &[
            ("csrf", &t),
            ("email", &email),
            ("name", name),
            ("password", "correct horse battery"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.unwrap(), format!("{}/dashboard", site.base));
    let account = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse(&email).unwrap())
        .await
        .unwrap();
    (c, account.user_id)
}

async fn sign_in_admin(site: &Site) -> reqwest::Client {
    let c = browser();
    let t = token(site, &c, "/sign-in").await;
    let (email, password) = storefront::DEMO_ADMIN;
    let (status, _, body) = post(
        site,
        &c,
        "/sign-in",
        &[
            ("csrf", &t),
            ("email", email),
            ("password", password),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    c
}

/// Starts a checkout from `path` and returns the fake checkout page's URL.
async fn checkout(site: &Site, c: &reqwest::Client, path: &str, page: &str) -> String {
    let t = token(site, c, page).await;
    let (status, location, body) = post(site, c, path, &[("csrf", &t)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{}/fake-stripe/checkout/cs_test_", site.base)),
        "{location}"
    );
    location
}

/// Presses one of the fake checkout page's buttons; returns where the
/// browser is sent.
async fn press(site: &Site, c: &reqwest::Client, page: &str, button: &str) -> String {
    let (status, html) = get(c, page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (status, location, body) = post(
        site,
        c,
        &format!("{page}/{button}"),
        &[("csrf", &csrf(&html))],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{button}: {body}");
    location.unwrap()
}

async fn purchases(site: &Site, user: &UserId) -> Vec<Purchase> {
    site.vault
        .purchases_for_user(&Actor::Service, user)
        .await
        .unwrap()
}

/// The `/download/...` links of a workflow page, with their words.
fn download_links(html: &str) -> Vec<(String, String)> {
    html.split(r#"<a href="/download/"#)
        .skip(1)
        .map(|rest| {
            let href = format!("/download/{}", &rest[..rest.find('"').unwrap()]);
            let label = &rest[rest.find('>').unwrap() + 1..rest.find("</a>").unwrap()];
            (href, label.to_owned())
        })
        .collect()
}

/// Buys `slug` through the fake checkout and lands on the done page.
async fn buy(site: &Site, c: &reqwest::Client, slug: &str) -> String {
    let page = checkout(
        site,
        c,
        &format!("/checkout/workflow/{slug}"),
        &format!("/workflows/{slug}"),
    )
    .await;
    let done = press(site, c, &page, "pay").await;
    assert!(
        done.starts_with(&format!("{}/checkout/done?session=cs_test_", site.base))
            && done.ends_with(&format!("&workflow={slug}")),
        "{done}"
    );
    let (status, html) = get(c, &done).await;
    assert_eq!(status, StatusCode::OK);
    html
}

async fn buy_download_until_the_limit_then_refund(site: Site) {
    let (alice, user) = sign_up(&site, "alice").await;
    let (status, html) = get(&alice, &format!("{}/workflows/invoice-chaser", site.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Buy for 49.00 USD"), "{html}");
    assert!(
        html.contains(r#"action="/checkout/workflow/invoice-chaser""#),
        "{html}"
    );
    // Only the public preview is downloadable before buying.
    let links = download_links(&html);
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].1, "Download invoice-chaser-preview.pdf");

    // The checkout page shows what is bought and for how much.
    let page = checkout(
        &site,
        &alice,
        "/checkout/workflow/invoice-chaser",
        "/workflows/invoice-chaser",
    )
    .await;
    let (status, html) = get(&alice, &page).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Invoice chaser",
        "49.00 USD",
        ">Pay<",
        ">Fail payment<",
        ">Cancel<",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    let pending = purchases(&site, &user).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, PaymentStatus::Pending);

    // Pay: the webhook arrives before the browser is back.
    let done = press(&site, &alice, &page, "pay").await;
    let (status, html) = get(&alice, &done).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Payment received"), "{html}");
    assert!(!html.contains("being confirmed"), "{html}");
    assert!(
        html.contains(r#"href="/workflows/invoice-chaser""#),
        "{html}"
    );
    let paid = purchases(&site, &user).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].status, PaymentStatus::Completed);
    assert!(
        paid[0]
            .payment_ref
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("pi_test_"),
        "{:?}",
        paid[0].payment_ref
    );
    // The receipt was enqueued with the completion and mailed by the
    // worker, linking the purchase.
    let receipt = format!("/dashboard/purchases/{}", paid[0].id);
    let mut mailbox = String::new();
    for _ in 0..100 {
        mailbox = get(&alice, &format!("{}/dev/mailbox", site.base)).await.1;
        if mailbox.contains(&receipt) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(mailbox.contains("Your Workflow Vault receipt"), "{mailbox}");
    assert!(mailbox.contains(&receipt), "{mailbox}");
    assert!(mailbox.contains("total 49.00 USD"), "{mailbox}");

    // The blueprint is downloadable now, byte for byte.
    let (_, html) = get(&alice, &format!("{}/workflows/invoice-chaser", site.base)).await;
    assert!(!html.contains("Buy for"), "{html}");
    let links = download_links(&html);
    let (blueprint, _) = links
        .iter()
        .find(|(_, label)| label == "Download invoice-chaser.json")
        .unwrap_or_else(|| panic!("{links:?}"))
        .clone();
    let want = demo_file_bytes(
        &Slug::parse("invoice-chaser").unwrap(),
        "invoice-chaser.json",
    );
    for n in 1..=3 {
        let r = alice
            .get(format!("{}{blueprint}", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "download {n}");
        assert_eq!(
            r.headers()["content-disposition"],
            r#"attachment; filename="invoice-chaser.json""#
        );
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            want.as_slice(),
            "download {n}"
        );
    }
    // The seeded limit is 3: the fourth is a page saying so.
    let r = alice
        .get(format!("{}{blueprint}", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(html.contains("3 of 3 downloads used"), "{html}");
    let downloads = site
        .vault
        .downloads_for_user(&Actor::Service, &user, 100)
        .await
        .unwrap();
    assert_eq!(downloads.len(), 3);
    assert!(
        downloads.iter().all(|d| d.request.ip_hash.is_some()),
        "the client's address reached the vault (hashed)"
    );

    // Refunds are for staff only.
    let t = token(&site, &alice, "/").await;
    let refund = format!("/admin/purchases/{}/refund", paid[0].id);
    let (status, _, _) = post(&site, &alice, &refund, &[("csrf", &t)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Completed
    );

    // Staff refund through Stripe; charge.refunded takes the access away.
    let admin = sign_in_admin(&site).await;
    let t = token(&site, &admin, "/").await;
    let (status, _, html) = post(&site, &admin, &refund, &[("csrf", &t)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Refund requested"), "{html}");
    let refunded = purchases(&site, &user).await;
    assert_eq!(refunded[0].status, PaymentStatus::Refunded);
    assert_eq!(
        refunded[0].refund.as_ref().unwrap().refunded.to_string(),
        "49.00 USD"
    );
    let r = alice
        .get(format!("{}{blueprint}", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(html.contains("purchase refunded"), "{html}");
}

async fn a_membership_with_a_trial_is_joined_and_canceled_at_period_end(site: Site) {
    let (bob, user) = sign_up(&site, "bob").await;
    let (status, html) = get(&bob, &format!("{}/membership", site.base)).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Pro monthly",
        "19.00 USD a month",
        "14-day free trial",
        "20 downloads a month",
        "Premium yearly",
        r#"action="/checkout/membership/pro""#,
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    // A Pro workflow offers the membership before it is joined.
    let (_, html) = get(&bob, &format!("{}/workflows/weekly-kpi-report", site.base)).await;
    assert!(html.contains("Join the membership"), "{html}");

    let page = checkout(&site, &bob, "/checkout/membership/pro", "/membership").await;
    let (_, html) = get(&bob, &page).await;
    assert!(
        html.contains("19.00 USD") && html.contains("14-day free trial"),
        "{html}"
    );
    let done = press(&site, &bob, &page, "pay").await;
    assert!(done.ends_with("&membership=pro"), "{done}");
    let (_, html) = get(&bob, &done).await;
    assert!(
        html.contains("Payment received") && !html.contains("being confirmed"),
        "{html}"
    );

    let ms = site
        .vault
        .memberships_for_user(&Actor::Service, &user)
        .await
        .unwrap();
    assert_eq!(ms.len(), 1);
    let m = &ms[0];
    assert_eq!(m.status, MembershipStatus::Trialing);
    assert_eq!(m.tier, PricingTier::Pro);
    assert_eq!(m.quota.limit, Some(20), "the plan's per-period limit");
    let trial = m.trial_ends_at.unwrap() - chrono::Utc::now();
    assert!(
        trial > chrono::Duration::days(13) && trial <= chrono::Duration::days(14),
        "{trial:?}"
    );
    assert!(!m.cancel_at_period_end);
    assert!(
        m.provider
            .subscription_id
            .as_deref()
            .unwrap()
            .starts_with("sub_")
    );

    // The trial covers the Pro workflow.
    let (_, html) = get(&bob, &format!("{}/workflows/weekly-kpi-report", site.base)).await;
    assert!(html.contains("Yours to download"), "{html}");
    assert!(
        download_links(&html)
            .iter()
            .any(|(_, l)| l == "Download weekly-kpi-report.json"),
        "{html}"
    );

    // A second plan is refused while this one runs.
    let t = token(&site, &bob, "/membership").await;
    let (status, _, _) = post(&site, &bob, "/checkout/membership/premium", &[("csrf", &t)]).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Cancel at the period's end: Stripe's subscription.updated records it;
    // access stays until then.
    let (_, html) = get(&bob, &format!("{}/membership", site.base)).await;
    assert!(
        html.contains("trialing") && html.contains("Cancel at the end"),
        "{html}"
    );
    let (status, location, _) =
        post(&site, &bob, "/membership/cancel", &[("csrf", &csrf(&html))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.unwrap(), format!("{}/membership", site.base));
    let m = &site
        .vault
        .memberships_for_user(&Actor::Service, &user)
        .await
        .unwrap()[0];
    assert!(m.cancel_at_period_end);
    assert_eq!(m.status, MembershipStatus::Trialing);
    let (_, html) = get(&bob, &format!("{}/membership", site.base)).await;
    assert!(html.contains("(canceled; no further charges)"), "{html}");
    assert!(!html.contains("Cancel at the end"), "{html}");
    let (_, html) = get(&bob, &format!("{}/workflows/weekly-kpi-report", site.base)).await;
    assert!(html.contains("Yours to download"), "{html}");
}

async fn webhooks_refuse_bad_signatures_and_apply_a_replay_once(site: Site) {
    let hook = format!("{}/stripe/webhook", site.base);
    let http = reqwest::Client::new();
    let body = r#"{"id":"evt_forged","object":"event","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_x","payment_intent":"pi_x","amount_refunded":100,"currency":"usd"}}}"#;
    let t = chrono::Utc::now().timestamp();
    let forged =
        vault_stripe::signature::WebhookSecret::new("whsec_guess").header(t, body.as_bytes());
    for signature in [Some(forged.as_str()), Some("t=1,v1=00"), None] {
        let mut r = http.post(&hook).body(body);
        if let Some(s) = signature {
            r = r.header("stripe-signature", s);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{signature:?}");
    }

    let (carol, user) = sign_up(&site, "carol").await;
    buy(&site, &carol, "weekly-kpi-report").await;
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Completed
    );
    let admin = sign_in_admin(&site).await;
    let t = token(&site, &admin, "/").await;
    let id = purchases(&site, &user).await[0].id;
    let (status, _, _) = post(
        &site,
        &admin,
        &format!("/admin/purchases/{id}/refund"),
        &[("csrf", &t)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Refunded
    );

    // The fake's event log (staff only) has each event as delivered.
    let (status, _) = get(&carol, &format!("{}/fake-stripe/events", site.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = get(&admin, &format!("{}/fake-stripe/events", site.base)).await;
    assert_eq!(status, StatusCode::OK);
    let log: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "checkout.session.completed",
            "payment_intent.succeeded",
            "charge.refunded"
        ]
    );
    assert!(log.iter().all(|e| e["status"] == 200), "{log:?}");

    // Stripe delivers again: answered 200, applied once. The payment,
    // replayed after the refund, does not give the access back.
    for e in &log {
        let r = http
            .post(&hook)
            .header("stripe-signature", e["signature"].as_str().unwrap())
            .body(e["body"].as_str().unwrap().to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let answer: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(answer["outcome"], "duplicate", "{}", e["type"]);
    }
    let p = &purchases(&site, &user).await[0];
    assert_eq!(p.status, PaymentStatus::Refunded);
    assert_eq!(p.refund.as_ref().unwrap().refunded.to_string(), "29.00 USD");
    // A changed body under a delivered signature is refused.
    let tampered = log[0]["body"]
        .as_str()
        .unwrap()
        .replace("complete", "expired");
    let r = http
        .post(&hook)
        .header("stripe-signature", log[0]["signature"].as_str().unwrap())
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn forged_forms_and_signed_out_buyers_are_refused(site: Site) {
    // Signed out: sent to sign in, back to the workflow afterwards.
    let visitor = browser();
    let (_, html) = get(&visitor, &format!("{}/workflows/invoice-chaser", site.base)).await;
    assert!(
        html.contains(r#"href="/sign-in?next=/workflows/invoice-chaser""#),
        "{html}"
    );
    assert!(!html.contains("Buy for"), "{html}");
    let t = token(&site, &visitor, "/sign-in").await;
    let (status, location, _) = post(
        &site,
        &visitor,
        "/checkout/workflow/invoice-chaser",
        &[("csrf", &t)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.unwrap(),
        format!("{}/sign-in?next=%2Fworkflows%2Finvoice-chaser", site.base)
    );
    // A free workflow is offered as such.
    let (_, html) = get(
        &visitor,
        &format!("{}/workflows/lead-magnet-delivery", site.base),
    )
    .await;
    assert!(
        download_links(&html)
            .iter()
            .any(|(_, l)| l == "Get it free"),
        "{html}"
    );

    let (dave, user) = sign_up(&site, "dave").await;
    for form in [vec![], vec![("csrf", "0123456789abcdef")]] {
        let (status, _, html) =
            post(&site, &dave, "/checkout/workflow/invoice-chaser", &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(html.contains("did not come from this site"), "{html}");
    }
    // Another visitor's token is not this session's.
    let (status, _, _) = post(
        &site,
        &dave,
        "/checkout/workflow/invoice-chaser",
        &[("csrf", &t)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(purchases(&site, &user).await.is_empty(), "nothing started");
    for path in ["/membership/cancel", "/checkout/membership/pro"] {
        let (status, _, _) = post(&site, &dave, path, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    // The fake's buttons are forms like any other.
    let page = checkout(
        &site,
        &dave,
        "/checkout/workflow/invoice-chaser",
        "/workflows/invoice-chaser",
    )
    .await;
    let (status, _, _) = post(&site, &dave, &format!("{page}/pay"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Pending
    );
}

async fn a_declined_card_then_pay_and_a_canceled_checkout(site: Site) {
    let (erin, user) = sign_up(&site, "erin").await;
    let page = checkout(
        &site,
        &erin,
        "/checkout/workflow/client-onboarding-kit",
        "/workflows/client-onboarding-kit",
    )
    .await;
    let back = press(&site, &erin, &page, "fail").await;
    assert_eq!(back, format!("{page}?declined=1"));
    let (_, html) = get(&erin, &back).await;
    assert!(html.contains("Your card was declined"), "{html}");
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Failed
    );
    // A failed attempt is not the end: paying now completes it.
    press(&site, &erin, &page, "pay").await;
    assert_eq!(
        purchases(&site, &user).await[0].status,
        PaymentStatus::Completed
    );
    // A paid session cannot be paid again.
    let (status, html) = get(&erin, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("paid already") && !html.contains(">Pay<"),
        "{html}"
    );

    let page = checkout(
        &site,
        &erin,
        "/checkout/workflow/project-status-digest",
        "/workflows/project-status-digest",
    )
    .await;
    let back = press(&site, &erin, &page, "cancel").await;
    assert_eq!(
        back,
        format!(
            "{}/checkout/canceled?workflow=project-status-digest",
            site.base
        )
    );
    let (_, html) = get(&erin, &back).await;
    assert!(
        html.contains("Checkout canceled") && html.contains("Nothing was charged"),
        "{html}"
    );
    let ps = purchases(&site, &user).await;
    let canceled = ps.iter().find(|p| p.status != PaymentStatus::Completed);
    assert_eq!(
        canceled.map(|p| p.status),
        Some(PaymentStatus::Failed),
        "the expired session failed its purchase: {ps:?}"
    );
}

async fn a_bundle_is_completed_at_the_buyers_price(site: Site) {
    let (frank, user) = sign_up(&site, "frank").await;
    let (status, html) = get(&frank, &format!("{}/bundles", site.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Agency starter pack")
            && html.contains("69.00 USD")
            && html.contains("97.00 USD"),
        "{html}"
    );
    buy(&site, &frank, "invoice-chaser").await;
    let bundle = site
        .vault
        .bundles(&Actor::Service)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.slug.as_str() == "agency-starter-pack")
        .unwrap();
    let quote = site
        .vault
        .quote_bundle(
            &Actor::User(user.clone()),
            bundle.id,
            vault_core::commerce::license::LicenseType::Personal,
        )
        .await
        .unwrap();
    assert!(quote.price.amount() < bundle.price.amount(), "{quote:?}");
    let (_, html) = get(
        &frank,
        &format!("{}/bundles/agency-starter-pack", site.base),
    )
    .await;
    assert!(
        html.contains(&format!(
            "Your price to complete the bundle: <strong>{}</strong>",
            quote.price
        )),
        "{html}"
    );
    assert!(html.contains("you save 28.00 USD"), "{html}");
    assert_eq!(html.matches("yours already").count(), 1, "{html}");
    let page = checkout(
        &site,
        &frank,
        "/checkout/bundle/agency-starter-pack",
        "/bundles/agency-starter-pack",
    )
    .await;
    let (_, checkout_html) = get(&frank, &page).await;
    assert!(
        checkout_html.contains(&quote.price.to_string()),
        "{checkout_html}"
    );
    let done = press(&site, &frank, &page, "pay").await;
    let (_, html) = get(&frank, &done).await;
    assert!(!html.contains("being confirmed"), "{html}");
    let (_, html) = get(
        &frank,
        &format!("{}/bundles/agency-starter-pack", site.base),
    )
    .await;
    assert!(
        html.contains("You own every workflow of this bundle"),
        "{html}"
    );
    let (_, html) = get(
        &frank,
        &format!("{}/workflows/weekly-kpi-report", site.base),
    )
    .await;
    assert!(html.contains("Yours to download"), "{html}");
}

/// Each case once per backend, in a module named after it (so
/// `cargo test -p vault-examples --test storefront_shop sqlite::` runs one).
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::sqlite_site().await.unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(site) = super::postgres_site().await {
                        super::$case(site).await;
                    }
                }
            )*
        }
    };
}

cases!(
    buy_download_until_the_limit_then_refund,
    a_membership_with_a_trial_is_joined_and_canceled_at_period_end,
    webhooks_refuse_bad_signatures_and_apply_a_replay_once,
    forged_forms_and_signed_out_buyers_are_refused,
    a_declined_card_then_pay_and_a_canceled_checkout,
    a_bundle_is_completed_at_the_buyers_price,
);

//! For the same Checkout Session parameters, vault-stripe's requests equal,
//! after form decoding, the requests Stripe's official Python library sends
//! to the same local recording server: same method and path, the same
//! multiset of (key, value) pairs, and both send `Authorization`,
//! `Stripe-Version` (the same pinned version) and an `Idempotency-Key`.
//!
//! The Python side runs in a venv made by `tests/python/setup_venv.sh`
//! (pinned `stripe` from PyPI). Where Python or the package index is not
//! available, the tests print that they skipped — unless
//! `VAULT_REQUIRE_STRIPE_PY=1`, where they fail instead.
#![allow(clippy::unwrap_used)]

mod client_support;
mod stripe_py;

use std::path::Path;
use std::process::Command;

use client_support::{Recorded, RecordingServer, Reply, decode_form_sorted};
use stripe_py::{python_dir, stripe_python};
use vault_core::value::actor::UserId;
use vault_core::value::ids::PurchaseId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_stripe::client::{
    ApiKey, CheckoutItem, CheckoutMode, CheckoutSessionParams, CheckoutSessionStatus,
    RequestOptions, ReturnUrls, STRIPE_API_VERSION, StripeClient,
};

// The same values as tests/python/checkout_session.py.
const API_KEY: &str = "sk_test_parity_51Hx0SECRET0123456789";
const PURCHASE_ID: &str = "0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e";
const USER_ID: &str = "user 42 & co=[vip]";
const SUCCESS_URL: &str = "https://vault.example/ok?session={CHECKOUT_SESSION_ID}&from=checkout";
const CANCEL_URL: &str = "https://vault.example/cart#back";
const WORKFLOW_NAME: &str = "Lead router — n8n & Make [Pro] 100% = ✓";
const BUNDLE_NAME: &str = "Ops bundle: CRM + Invoicing ¥ 🚀";
const CUSTOMER_EMAIL: &str = "buyer+vault@example.com";
const CUSTOMER_ID: &str = "cus_Parity123";
const PRICE_ID: &str = "price_1ProMonthly";
const APP_REFERENCE: &str = "cart 981/β & co";
const APP_ORDER: &str = "A-17 [rush]";
const APP_CAMPAIGN: &str = "spring + 100% = ✓";

/// The canned answer: a checkout session with a few fields this client does
/// not read, so both clients succeed and unknown fields are shown ignored.
const SESSION_JSON: &str = r#"{
  "id": "cs_test_parity",
  "object": "checkout.session",
  "url": "https://checkout.stripe.com/c/pay/cs_test_parity",
  "status": "open",
  "mode": "payment",
  "payment_status": "unpaid",
  "client_reference_id": "0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e",
  "customer": null,
  "customer_email": "buyer+vault@example.com",
  "payment_intent": null,
  "subscription": null,
  "amount_total": 1999,
  "currency": "usd",
  "metadata": {"vault_purchase_id": "0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e"},
  "expires_at": 1900000000,
  "created": 1899913600,
  "livemode": false,
  "automatic_tax": {"enabled": false, "status": null},
  "custom_fields": [],
  "some_future_field": {"nested": [1, 2, 3]}
}"#;

fn fixture(variant: &str) -> CheckoutSessionParams {
    let purchase = PurchaseId::parse(PURCHASE_ID).unwrap();
    let urls = ReturnUrls::new(SUCCESS_URL, CANCEL_URL);
    match variant {
        "workflow" => CheckoutSessionParams::workflow(
            purchase,
            WORKFLOW_NAME,
            Money::from_minor(1999, Currency::USD),
            urls,
        )
        .customer_email(CUSTOMER_EMAIL),
        "workflow_app" => fixture("workflow")
            .client_reference_id(APP_REFERENCE)
            .metadata("order", APP_ORDER)
            .metadata("campaign", APP_CAMPAIGN),
        "bundle" => CheckoutSessionParams::bundle(
            purchase,
            BUNDLE_NAME,
            Money::from_minor(4800, Currency::JPY),
            urls,
        )
        .customer(CUSTOMER_ID),
        "subscription" => CheckoutSessionParams::new(
            CheckoutItem::Membership {
                user_id: UserId::parse(USER_ID).unwrap(),
                tier: PricingTier::Pro,
                price_id: PRICE_ID.to_owned(),
                trial_period_days: Some(14),
            },
            urls,
        )
        .customer_email(CUSTOMER_EMAIL),
        other => panic!("no variant {other}"),
    }
}

/// Sends `variant` with both clients to one recording server; returns
/// (vault-stripe's request, the official library's request).
fn record_both(py: &Path, variant: &str) -> (Recorded, Recorded) {
    let server = RecordingServer::always(Reply::json(200, SESSION_JSON));

    let client = StripeClient::builder(ApiKey::new(API_KEY))
        .base_url(server.base_url())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = rt
        .block_on(client.create_checkout_session(&fixture(variant), &RequestOptions::new()))
        .unwrap();
    assert_eq!(session.id, "cs_test_parity");
    assert_eq!(session.mode, CheckoutMode::Payment);
    assert_eq!(session.status, Some(CheckoutSessionStatus::Open));
    assert_eq!(
        session.purchase_id(),
        Some(PurchaseId::parse(PURCHASE_ID).unwrap())
    );

    let out = Command::new(py)
        .arg(python_dir().join("checkout_session.py"))
        .arg(server.port().to_string())
        .arg(variant)
        .arg(STRIPE_API_VERSION)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the official library failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["session_id"], "cs_test_parity");
    // The pin moves with the library: bumping one without the other fails here.
    assert_eq!(
        report["default_api_version"], STRIPE_API_VERSION,
        "stripe-python {} pins another API version than STRIPE_API_VERSION",
        report["library_version"]
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "one request from each client: {reqs:#?}");
    (reqs[0].clone(), reqs[1].clone())
}

fn assert_parity(variant: &str) {
    let Some(py) = stripe_python() else {
        return;
    };
    let (ours, theirs) = record_both(&py, variant);

    assert_eq!(ours.method, "POST");
    assert_eq!(theirs.method, ours.method);
    assert_eq!(ours.target, "/v1/checkout/sessions");
    assert_eq!(theirs.target, ours.target);

    let (a, b) = (
        decode_form_sorted(&ours.body),
        decode_form_sorted(&theirs.body),
    );
    if a != b {
        let only_ours: Vec<_> = a.iter().filter(|p| !b.contains(p)).collect();
        let only_theirs: Vec<_> = b.iter().filter(|p| !a.contains(p)).collect();
        panic!(
            "{variant}: the bodies differ\nonly vault-stripe: {only_ours:#?}\nonly stripe-python: {only_theirs:#?}"
        );
    }
    assert!(a.len() >= 8, "{a:#?}");

    let bearer = format!("Bearer {API_KEY}");
    for (who, r) in [("vault-stripe", &ours), ("stripe-python", &theirs)] {
        assert_eq!(r.header("authorization"), Some(bearer.as_str()), "{who}");
        assert_eq!(
            r.header("stripe-version"),
            Some(STRIPE_API_VERSION),
            "{who}"
        );
        let key = r.header("idempotency-key").unwrap_or("");
        assert!(key.len() >= 32, "{who}: idempotency key {key:?}");
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded"),
            "{who}"
        );
    }
    assert_ne!(
        ours.header("idempotency-key"),
        theirs.header("idempotency-key")
    );
}

#[test]
fn workflow_checkout_matches_the_official_library() {
    assert_parity("workflow");
}

/// The app's own `client_reference_id` and metadata, merged with the
/// vault's `vault_purchase_id`, go out as the official library sends a
/// merged metadata dictionary.
#[test]
fn workflow_checkout_with_app_fields_matches_the_official_library() {
    assert_parity("workflow_app");
}

#[test]
fn bundle_checkout_matches_the_official_library() {
    assert_parity("bundle");
}

#[test]
fn subscription_checkout_matches_the_official_library() {
    assert_parity("subscription");
}

/// The recording server and decoder are what the comparison rests on:
/// check them on a body whose pairs are known.
#[test]
fn the_recorder_sees_what_was_sent() {
    let server = RecordingServer::always(Reply::json(200, r#"{"id":"cus_1"}"#));
    let client = StripeClient::builder(ApiKey::new(API_KEY))
        .base_url(server.base_url())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let params = vault_stripe::client::CustomerParams::new()
        .email("a&b=c@example.com")
        .name("Zoë [ops] + 100%")
        .metadata("k[x]", "v w");
    let c = rt
        .block_on(client.create_customer(&params, &RequestOptions::new().idempotency_key("k-1")))
        .unwrap();
    assert_eq!(c.id, "cus_1");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("idempotency-key"), Some("k-1"));
    assert_eq!(
        decode_form_sorted(&reqs[0].body),
        client_support::pairs(&[
            ("email", "a&b=c@example.com"),
            ("metadata[k[x]]", "v w"),
            ("name", "Zoë [ops] + 100%"),
        ])
    );
}

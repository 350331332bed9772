//! The app's own `client_reference_id` and metadata on a Checkout Session,
//! through the fake transport: what goes on the wire next to the vault's
//! `vault_purchase_id`, and that the app can neither overwrite the vault's
//! keys nor send what Stripe would refuse.
#![allow(clippy::unwrap_used)]

mod fake;

use vault_core::value::actor::UserId;
use vault_core::value::ids::PurchaseId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_stripe::client::{
    CheckoutSessionParams, Form, RESERVED_METADATA_KEYS, RequestOptions, ReturnUrls, StripeError,
};

use fake::{Fake, client, json};

const PURCHASE: &str = "6f1c0d2e-8a3b-4c5d-9e7f-0123456789ab";
const SESSION: &str = r#"{"id":"cs_1","object":"checkout.session","mode":"payment","metadata":{}}"#;

fn urls() -> ReturnUrls {
    ReturnUrls::new("https://v.example/ok", "https://v.example/cancel")
}

fn workflow() -> CheckoutSessionParams {
    CheckoutSessionParams::workflow(
        PurchaseId::parse(PURCHASE).unwrap(),
        "Lead router",
        Money::from_minor(1999, Currency::USD),
        urls(),
    )
}

fn membership() -> CheckoutSessionParams {
    CheckoutSessionParams::membership(
        UserId::parse("u-77").unwrap(),
        PricingTier::Pro,
        "price_pro",
        urls(),
    )
}

fn sorted(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

/// Sends `params` through the fake transport; the decoded pairs, sorted,
/// and the raw body.
async fn sent(params: &CheckoutSessionParams) -> (Vec<(String, String)>, String) {
    let fake = Fake::with(vec![Ok(json(200, SESSION))]);
    client(&fake)
        .create_checkout_session(params, &RequestOptions::new())
        .await
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let body = seen[0].body.clone().unwrap();
    let mut pairs = Form::decode(&body).pairs().to_vec();
    pairs.sort();
    (pairs, body)
}

/// The error creating `params` fails with, after checking nothing was sent.
async fn refused(params: &CheckoutSessionParams) -> StripeError {
    let fake = Fake::with(vec![]);
    let err = client(&fake)
        .create_checkout_session(params, &RequestOptions::new())
        .await
        .unwrap_err();
    assert!(fake.seen().is_empty(), "sent despite {err:?}");
    err
}

#[tokio::test]
async fn a_payment_session_carries_the_apps_reference_and_metadata_beside_the_vaults() {
    let params = workflow()
        .client_reference_id("cart 981/β")
        .metadata("order", "A-17")
        .metadata("campaign", "spring & [sale] 100%")
        .metadata("order", "A-18"); // replaces
    let (pairs, body) = sent(&params).await;
    assert_eq!(
        pairs,
        sorted(&[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "1999"),
            (
                "line_items[0][price_data][product_data][name]",
                "Lead router"
            ),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", "cart 981/β"),
            ("metadata[vault_purchase_id]", PURCHASE),
            ("metadata[order]", "A-18"),
            ("metadata[campaign]", "spring & [sale] 100%"),
            ("payment_intent_data[metadata][vault_purchase_id]", PURCHASE),
            ("success_url", "https://v.example/ok"),
            ("cancel_url", "https://v.example/cancel"),
        ])
    );
    // On the wire: brackets, `&`, spaces and non-ASCII escaped, so the
    // app's text cannot add or split pairs.
    for piece in [
        "&client_reference_id=cart+981%2F%CE%B2&",
        "&metadata%5Bcampaign%5D=spring+%26+%5Bsale%5D+100%25&",
        "&metadata%5Border%5D=A-18&",
    ] {
        assert!(body.contains(piece), "{piece} not in {body}");
    }
    assert_eq!(body.matches("client_reference_id=").count(), 1);
}

#[tokio::test]
async fn without_a_reference_a_payment_session_uses_the_purchase_id() {
    let (pairs, _) = sent(&workflow().metadata("order", "A-17")).await;
    let reference: Vec<_> = pairs
        .iter()
        .filter(|(k, _)| k == "client_reference_id")
        .collect();
    assert_eq!(
        reference,
        [&("client_reference_id".to_owned(), PURCHASE.to_owned())]
    );
}

#[tokio::test]
async fn a_membership_session_carries_them_too() {
    let params = membership()
        .client_reference_id("signup-42")
        .metadata("plan_page", "pricing#pro");
    let (pairs, _) = sent(&params).await;
    assert_eq!(
        pairs,
        sorted(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_pro"),
            ("line_items[0][quantity]", "1"),
            ("subscription_data[metadata][vault_user_id]", "u-77"),
            ("subscription_data[metadata][vault_tier]", "pro"),
            ("client_reference_id", "signup-42"),
            ("metadata[plan_page]", "pricing#pro"),
            ("success_url", "https://v.example/ok"),
            ("cancel_url", "https://v.example/cancel"),
        ])
    );
}

#[tokio::test]
async fn the_vaults_keys_cannot_be_overwritten() {
    assert_eq!(
        RESERVED_METADATA_KEYS,
        ["vault_purchase_id", "vault_user_id", "vault_tier"]
    );
    let other = "0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e";
    for key in RESERVED_METADATA_KEYS {
        for params in [
            workflow().metadata(key, other),
            // Even the very value the vault would send: the key is the vault's.
            workflow().metadata(key, PURCHASE),
            membership().metadata(key, "x"),
        ] {
            let err = refused(&params.metadata("order", "A-17")).await;
            assert_eq!(
                err,
                StripeError::ReservedMetadataKey {
                    key: key.to_owned()
                },
                "{key}"
            );
            assert!(err.to_string().contains(key), "{err}");
        }
    }
    // Only the exact key is the vault's: Stripe's keys are case-sensitive.
    let (pairs, _) = sent(&workflow().metadata("Vault_Purchase_Id", other)).await;
    assert!(pairs.contains(&("metadata[Vault_Purchase_Id]".to_owned(), other.to_owned())));
    assert!(pairs.contains(&(
        "metadata[vault_purchase_id]".to_owned(),
        PURCHASE.to_owned()
    )));
}

#[tokio::test]
async fn what_stripe_would_refuse_is_refused_before_sending() {
    let long_key = "k".repeat(41);
    let long_value = "é".repeat(501);
    let blank_reference = workflow().client_reference_id(" ");
    let mut too_many = workflow();
    for i in 0..50 {
        too_many = too_many.metadata(format!("k{i}"), "v");
    }
    let cases = [
        ("empty key", workflow().metadata("", "v")),
        ("bracketed key", workflow().metadata("a[b]", "v")),
        ("half a bracket", workflow().metadata("a]", "v")),
        ("41-character key", workflow().metadata(long_key, "v")),
        ("501-character value", workflow().metadata("k", long_value)),
        ("51 keys with the vault's", too_many),
        ("blank reference", blank_reference),
    ];
    for (name, params) in cases {
        let err = refused(&params).await;
        assert!(
            matches!(err, StripeError::InvalidParams(_)),
            "{name}: {err:?}"
        );
    }

    // The limits themselves are allowed (counted in characters, not bytes).
    let mut fifty = workflow()
        .metadata("k".repeat(40), "é".repeat(500))
        .client_reference_id("r");
    for i in 1..49 {
        fifty = fifty.metadata(format!("k{i}"), "v");
    }
    let (pairs, _) = sent(&fifty).await;
    let metadata = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("metadata["))
        .count();
    assert_eq!(metadata, 50);
    // A membership session has none of the vault's keys in its metadata.
    let mut membership_fifty = membership();
    for i in 0..50 {
        membership_fifty = membership_fifty.metadata(format!("k{i}"), "v");
    }
    sent(&membership_fifty).await;
}

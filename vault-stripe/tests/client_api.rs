//! The typed calls through a fake transport: the exact requests they build,
//! how responses and errors are read, and that the API key shows up in no
//! `Debug` output. (No `tracing` event: `client_logs.rs`, a binary of its own.)
#![allow(clippy::unwrap_used)]

mod fake;

use std::fmt;
use std::sync::Arc;

use vault_core::value::actor::UserId;
use vault_core::value::ids::PurchaseId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_stripe::client::{
    ApiKey, CancelAt, CheckoutItem, CheckoutMode, CheckoutPaymentStatus, CheckoutSessionParams,
    CheckoutSessionStatus, CustomerParams, Form, HttpRequest, Method, RefundParams, RefundReason,
    RefundStatus, RequestOptions, RetryPolicy, ReturnUrls, STRIPE_API_VERSION, StripeClient,
    StripeError, SubscriptionStatus, TransportError, TransportErrorKind,
};

use fake::{Fake, SECRET, SECRET_BODY, client, err_body, json};

const PURCHASE: &str = "6f1c0d2e-8a3b-4c5d-9e7f-0123456789ab";

fn urls() -> ReturnUrls {
    ReturnUrls::new("https://v.example/ok", "https://v.example/cancel")
}

fn pairs(form_body: &str) -> Vec<(String, String)> {
    Form::decode(form_body).pairs().to_vec()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const SESSION: &str = r#"{"id":"cs_1","object":"checkout.session","mode":"payment","status":"open","url":"https://checkout.stripe.com/c/pay/cs_1","metadata":{}}"#;

#[tokio::test]
async fn workflow_checkout_request() {
    let fake = Fake::with(vec![Ok(json(200, SESSION))]);
    let c = client(&fake);
    let purchase = PurchaseId::parse(PURCHASE).unwrap();
    let params = CheckoutSessionParams::workflow(
        purchase,
        "Lead router",
        Money::from_minor(1999, Currency::USD),
        urls(),
    )
    .customer("cus_9");
    let s = c
        .create_checkout_session(&params, &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(
        s.url.as_deref(),
        Some("https://checkout.stripe.com/c/pay/cs_1")
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, Method::Post);
    assert_eq!(r.url, "https://stripe.test/v1/checkout/sessions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(r.header("Stripe-Version"), Some(STRIPE_API_VERSION));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.header("idempotency-key").unwrap().len(), 36);
    assert_eq!(
        pairs(r.body.as_deref().unwrap()),
        owned(&[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "1999"),
            (
                "line_items[0][price_data][product_data][name]",
                "Lead router"
            ),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", PURCHASE),
            ("metadata[vault_purchase_id]", PURCHASE),
            ("payment_intent_data[metadata][vault_purchase_id]", PURCHASE),
            ("success_url", "https://v.example/ok"),
            ("cancel_url", "https://v.example/cancel"),
            ("customer", "cus_9"),
        ])
    );
    // A literal check of the wire form, brackets escaped.
    assert!(
        r.body
            .as_deref()
            .unwrap()
            .starts_with("mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd&")
    );
}

#[test]
fn amounts_go_in_minor_units_with_lowercase_currency() {
    let purchase = PurchaseId::parse(PURCHASE).unwrap();
    let cases = [
        (Money::from_minor(4800, Currency::JPY), "jpy", "4800"),
        (Money::from_minor(1999, Currency::EUR), "eur", "1999"),
        (
            Money::from_minor(12_345, Currency::parse("KWD").unwrap()),
            "kwd",
            "12345",
        ),
        (Money::zero(Currency::GBP), "gbp", "0"),
    ];
    for (price, currency, minor) in cases {
        let f = CheckoutSessionParams::bundle(purchase, "B", price, urls())
            .to_form()
            .unwrap();
        assert_eq!(f.get("line_items[0][price_data][currency]"), Some(currency));
        assert_eq!(f.get("line_items[0][price_data][unit_amount]"), Some(minor));
    }
    let negative =
        CheckoutSessionParams::bundle(purchase, "B", Money::from_minor(-1, Currency::USD), urls());
    assert!(matches!(
        negative.to_form(),
        Err(StripeError::InvalidParams(_))
    ));
    let blank = CheckoutSessionParams::workflow(
        purchase,
        "  ",
        Money::from_minor(1, Currency::USD),
        urls(),
    );
    assert!(matches!(
        blank.to_form(),
        Err(StripeError::InvalidParams(_))
    ));
}

#[test]
fn membership_checkout_form() {
    let user = UserId::parse("u-77").unwrap();
    let f = CheckoutSessionParams::new(
        CheckoutItem::Membership {
            user_id: user.clone(),
            tier: PricingTier::Premium,
            price_id: "price_premium".into(),
            trial_period_days: Some(7),
        },
        urls(),
    )
    .customer("cus_1")
    .customer_email("m@example.com") // replaces the customer id
    .to_form()
    .unwrap();
    assert_eq!(
        f.pairs(),
        owned(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_premium"),
            ("line_items[0][quantity]", "1"),
            ("subscription_data[metadata][vault_user_id]", "u-77"),
            ("subscription_data[metadata][vault_tier]", "premium"),
            ("subscription_data[trial_period_days]", "7"),
            ("success_url", "https://v.example/ok"),
            ("cancel_url", "https://v.example/cancel"),
            ("customer_email", "m@example.com"),
        ])
    );

    let no_trial =
        CheckoutSessionParams::membership(user.clone(), PricingTier::Basic, "price_b", urls())
            .to_form()
            .unwrap();
    assert_eq!(no_trial.get("subscription_data[trial_period_days]"), None);
    assert_eq!(no_trial.get("client_reference_id"), None);

    let free =
        CheckoutSessionParams::membership(user.clone(), PricingTier::Free, "price_f", urls());
    assert!(matches!(free.to_form(), Err(StripeError::InvalidParams(_))));
    let zero_trial = CheckoutSessionParams::new(
        CheckoutItem::Membership {
            user_id: user,
            tier: PricingTier::Pro,
            price_id: "price_p".into(),
            trial_period_days: Some(0),
        },
        urls(),
    );
    assert!(matches!(
        zero_trial.to_form(),
        Err(StripeError::InvalidParams(_))
    ));
}

#[tokio::test]
async fn invalid_params_send_nothing() {
    let fake = Fake::with(vec![]);
    let c = client(&fake);
    let free = CheckoutSessionParams::membership(
        UserId::parse("u").unwrap(),
        PricingTier::Free,
        "price_f",
        urls(),
    );
    let err = c
        .create_checkout_session(&free, &RequestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::InvalidParams(_)));
    let err = c
        .create_customer(
            &CustomerParams::new(),
            &RequestOptions::new().idempotency_key("bad key with spaces"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::InvalidParams(_)));
    let err = c.retrieve_customer("..").await.unwrap_err();
    assert!(matches!(err, StripeError::InvalidParams(_)));
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn customer_create_and_retrieve() {
    let fake = Fake::with(vec![
        Ok(json(
            200,
            r#"{"id":"cus_1","object":"customer","email":"a@b.c","name":"Ann","metadata":{"vault_user_id":"u-1"},"created":1700000000,"livemode":false,"invoice_settings":{"default_payment_method":null}}"#,
        )),
        Ok(json(
            200,
            r#"{"id":"cus_1","object":"customer","deleted":true}"#,
        )),
    ]);
    let c = client(&fake);
    let user = UserId::parse("u-1").unwrap();
    let created = c
        .create_customer(
            &CustomerParams::for_user(&user).email("a@b.c").name("Ann"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(created.user_id(), Some(user));
    assert_eq!(created.created, Some(1_700_000_000));
    assert!(!created.deleted);
    let deleted = c.retrieve_customer("cus_1").await.unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.email, None);

    let seen = fake.seen();
    assert_eq!(seen[0].url, "https://stripe.test/v1/customers");
    assert_eq!(
        pairs(seen[0].body.as_deref().unwrap()),
        owned(&[
            ("email", "a@b.c"),
            ("name", "Ann"),
            ("metadata[vault_user_id]", "u-1")
        ])
    );
    assert_eq!(seen[1].method, Method::Get);
    assert_eq!(seen[1].url, "https://stripe.test/v1/customers/cus_1");
    assert_eq!(seen[1].body, None);
    assert_eq!(seen[1].header("idempotency-key"), None);
    assert_eq!(seen[1].header("stripe-version"), Some(STRIPE_API_VERSION));
}

#[tokio::test]
async fn ids_in_paths_are_escaped() {
    let fake = Fake::with(vec![]);
    let c = client(&fake);
    let _ = c.retrieve_customer("cus_1/../../v1/charges?x=1").await;
    assert_eq!(
        fake.seen()[0].url,
        "https://stripe.test/v1/customers/cus_1%2F..%2F..%2Fv1%2Fcharges%3Fx%3D1"
    );
}

#[tokio::test]
async fn cancel_subscription_now_and_at_period_end() {
    let fake = Fake::with(vec![
        Ok(json(
            200,
            r#"{"id":"sub_1","object":"subscription","status":"canceled","customer":"cus_1","cancel_at_period_end":false,"canceled_at":1700000000,"ended_at":1700000000,"metadata":{"vault_user_id":"u-1","vault_tier":"pro"},"items":{"data":[]}}"#,
        )),
        Ok(json(
            200,
            r#"{"id":"sub_1","object":"subscription","status":"active","customer":{"id":"cus_1","object":"customer"},"cancel_at_period_end":true,"cancel_at":1702592000,"metadata":{}}"#,
        )),
    ]);
    let c = client(&fake);
    let now = c
        .cancel_subscription("sub_1", CancelAt::Now, &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(now.status, SubscriptionStatus::Canceled);
    assert_eq!(
        now.metadata.get("vault_tier").map(String::as_str),
        Some("pro")
    );
    let later = c
        .cancel_subscription("sub_1", CancelAt::PeriodEnd, &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(later.status, SubscriptionStatus::Active);
    assert!(later.cancel_at_period_end);
    assert_eq!(
        later.customer.as_deref(),
        Some("cus_1"),
        "expanded objects read as ids"
    );
    assert_eq!(later.cancel_at, Some(1_702_592_000));

    let seen = fake.seen();
    assert_eq!(seen[0].method, Method::Delete);
    assert_eq!(seen[0].url, "https://stripe.test/v1/subscriptions/sub_1");
    assert_eq!(seen[0].body, None);
    assert_eq!(seen[1].method, Method::Post);
    assert_eq!(seen[1].url, "https://stripe.test/v1/subscriptions/sub_1");
    assert_eq!(seen[1].body.as_deref(), Some("cancel_at_period_end=true"));
    assert!(seen[1].header("idempotency-key").is_some());
}

#[tokio::test]
async fn refunds() {
    let fake = Fake::with(vec![
        Ok(json(
            200,
            r#"{"id":"re_1","object":"refund","amount":500,"currency":"usd","status":"succeeded","payment_intent":"pi_1","reason":"requested_by_customer","metadata":{},"balance_transaction":"txn_1"}"#,
        )),
        Ok(json(
            200,
            r#"{"id":"re_2","object":"refund","amount":1999,"currency":"usd","status":"some_new_status","payment_intent":"pi_1","reason":null,"metadata":null}"#,
        )),
    ]);
    let c = client(&fake);
    let partial = c
        .create_refund(
            &RefundParams::new("pi_1")
                .amount(Money::from_minor(500, Currency::USD))
                .reason(RefundReason::RequestedByCustomer)
                .metadata("vault_purchase_id", PURCHASE),
            &RequestOptions::new().idempotency_key(format!("refund-{PURCHASE}-1")),
        )
        .await
        .unwrap();
    assert_eq!(partial.amount, 500);
    assert_eq!(partial.status, Some(RefundStatus::Succeeded));
    let full = c
        .create_refund(&RefundParams::new("pi_1"), &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(
        full.status,
        Some(RefundStatus::Unknown),
        "unknown statuses are kept apart"
    );
    assert!(full.metadata.is_empty(), "null metadata reads as empty");

    let seen = fake.seen();
    assert_eq!(seen[0].url, "https://stripe.test/v1/refunds");
    assert_eq!(
        seen[0].header("idempotency-key"),
        Some(format!("refund-{PURCHASE}-1").as_str())
    );
    assert_eq!(
        pairs(seen[0].body.as_deref().unwrap()),
        owned(&[
            ("payment_intent", "pi_1"),
            ("amount", "500"),
            ("reason", "requested_by_customer"),
            ("metadata[vault_purchase_id]", PURCHASE),
        ])
    );
    assert_eq!(seen[1].body.as_deref(), Some("payment_intent=pi_1"));
    assert_ne!(
        seen[0].header("idempotency-key"),
        seen[1].header("idempotency-key")
    );

    for bad in [
        Money::zero(Currency::USD),
        Money::from_minor(-5, Currency::USD),
    ] {
        assert!(matches!(
            RefundParams::new("pi_1").amount(bad).to_form(),
            Err(StripeError::InvalidParams(_))
        ));
    }
}

#[tokio::test]
async fn checkout_session_fields_are_read() {
    let body = r#"{
        "id":"cs_2","object":"checkout.session","mode":"subscription","status":"complete",
        "payment_status":"no_payment_required","url":null,
        "client_reference_id":null,"customer":{"id":"cus_5","object":"customer","email":"x@y.z"},
        "customer_email":null,"payment_intent":null,"subscription":"sub_5",
        "amount_total":0,"currency":"eur","metadata":{"vault_purchase_id":"6f1c0d2e-8a3b-4c5d-9e7f-0123456789ab"},
        "expires_at":1,"created":0,"livemode":true,"ui_mode":"hosted","brand_new":{"a":[1]}
    }"#;
    let fake = Fake::with(vec![Ok(json(200, body))]);
    let c = client(&fake);
    let s: vault_stripe::client::CheckoutSession = c
        .request(
            Method::Get,
            "/v1/checkout/sessions/cs_2",
            &Form::new(),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(s.mode, CheckoutMode::Subscription);
    assert_eq!(s.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(
        s.payment_status,
        Some(CheckoutPaymentStatus::NoPaymentRequired)
    );
    assert_eq!(s.customer.as_deref(), Some("cus_5"));
    assert_eq!(s.subscription.as_deref(), Some("sub_5"));
    assert_eq!(s.url, None);
    assert!(s.livemode);
    assert_eq!(s.purchase_id(), Some(PurchaseId::parse(PURCHASE).unwrap()));
}

#[tokio::test]
async fn get_params_go_in_the_query() {
    let fake = Fake::with(vec![]);
    let c = client(&fake);
    let mut q = Form::new();
    q.push("expand[0]", "customer");
    let _: serde_json::Value = c
        .request(
            Method::Get,
            "/v1/checkout/sessions/cs_1",
            &q,
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    let seen = fake.seen();
    assert_eq!(
        seen[0].url,
        "https://stripe.test/v1/checkout/sessions/cs_1?expand%5B0%5D=customer"
    );
    assert_eq!(seen[0].body, None);
}

#[tokio::test]
async fn errors_are_typed_and_keep_status_and_request_id() {
    type Check = fn(&StripeError) -> bool;
    let cases: Vec<(u16, String, Check)> = vec![
        (402, err_body("card_error", "card_declined"), |e| {
            matches!(e, StripeError::Card(_))
        }),
        (
            400,
            err_body("invalid_request_error", "parameter_invalid"),
            |e| matches!(e, StripeError::InvalidRequest(_)),
        ),
        (
            404,
            err_body("invalid_request_error", "resource_missing"),
            |e| matches!(e, StripeError::InvalidRequest(_)),
        ),
        (
            401,
            err_body("invalid_request_error", "api_key_invalid"),
            |e| matches!(e, StripeError::Authentication(_)),
        ),
        (
            403,
            err_body("invalid_request_error", "secret_key_required"),
            |e| matches!(e, StripeError::Permission(_)),
        ),
        (429, err_body("invalid_request_error", "rate_limit"), |e| {
            matches!(e, StripeError::RateLimit(_))
        }),
        (400, err_body("invalid_request_error", "rate_limit"), |e| {
            matches!(e, StripeError::RateLimit(_))
        }),
        (
            400,
            err_body("idempotency_error", "idempotency_key_in_use"),
            |e| matches!(e, StripeError::Idempotency(_)),
        ),
        (500, err_body("api_error", "x"), |e| {
            matches!(e, StripeError::Api(_))
        }),
        (418, "not json at all".to_owned(), |e| {
            matches!(e, StripeError::Api(_))
        }),
    ];
    for (status, body, check) in cases {
        let fake = Fake::with(vec![Ok(json(status, &body))]);
        let c = StripeClient::builder(ApiKey::new(SECRET))
            .transport(Arc::clone(&fake) as _)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let err = c.retrieve_customer("cus_1").await.unwrap_err();
        assert!(check(&err), "{status} {body} -> {err:?}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.request_id(), Some("req_abc123"));
        let api = err.api_error().unwrap();
        if body.starts_with('{') {
            assert_eq!(api.message.as_deref(), Some("m"));
            assert_eq!(api.param.as_deref(), Some("p"));
            assert_eq!(api.decline_code.as_deref(), Some("insufficient_funds"));
            assert!(api.doc_url.is_some());
        } else {
            assert_eq!(api.error_type, "api_error");
            assert!(api.message.as_deref().unwrap().contains("not json at all"));
        }
        assert!(err.to_string().contains("req_abc123"), "{err}");
        assert_eq!(
            fake.seen()[0].url,
            "https://api.stripe.com/v1/customers/cus_1"
        );
    }
}

#[tokio::test]
async fn a_bad_success_body_is_a_decode_error() {
    let fake = Fake::with(vec![Ok(json(200, r#"{"object":"customer"}"#))]);
    let c = client(&fake);
    let err = c.retrieve_customer("cus_1").await.unwrap_err();
    assert!(
        matches!(err, StripeError::Decode { status: 200, .. }),
        "{err:?}"
    );
    assert_eq!(err.request_id(), Some("req_abc123"));
}

#[tokio::test]
async fn transport_errors_that_cannot_help_are_not_retried() {
    let fake = Fake::with(vec![Err(TransportError::new(
        TransportErrorKind::Request,
        "bad header",
    ))]);
    let c = client(&fake);
    let err = c.retrieve_customer("cus_1").await.unwrap_err();
    assert!(
        matches!(err, StripeError::Connection { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn the_key_is_in_no_debug_output() {
    let fake = Fake::with(vec![Ok(json(
        402,
        &err_body("card_error", "card_declined"),
    ))]);
    let c = client(&fake);
    let err = c
        .create_checkout_session(
            &CheckoutSessionParams::workflow(
                PurchaseId::parse(PURCHASE).unwrap(),
                "W",
                Money::from_minor(100, Currency::USD),
                urls(),
            ),
            &RequestOptions::new(),
        )
        .await
        .unwrap_err();
    let outputs = [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{:?}", ApiKey::new(SECRET)),
        format!("{:?}", fake.seen()),
        format!("{fake:?}"),
        format!("{err:?}"),
        err.to_string(),
    ];
    for out in &outputs {
        assert!(!out.contains(SECRET_BODY), "the key leaked: {out}");
    }
    // The request's Debug still shows the rest.
    assert!(outputs[3].contains("Authorization"));
    assert!(outputs[3].contains("<redacted>"));
    assert!(outputs[3].contains("Stripe-Version"));
    assert!(outputs[0].contains("sk_test_<redacted>"));
}

/// Every tracing event and span the client emits, as text.
#[test]
fn debug_of_a_request_redacts_only_authorization() {
    let r = HttpRequest {
        method: Method::Post,
        url: "https://x/v1/y".into(),
        headers: vec![
            ("authorization".into(), format!("Bearer {SECRET}")),
            ("Idempotency-Key".into(), "k1".into()),
        ],
        body: Some("a=1".into()),
    };
    let s = format!("{r:?}");
    assert!(!s.contains(SECRET_BODY), "{s}");
    assert!(s.contains("k1") && s.contains("a=1"), "{s}");
    struct Shown<'a>(&'a HttpRequest);
    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:#?}", self.0)
        }
    }
    assert!(!Shown(&r).to_string().contains(SECRET_BODY));
}

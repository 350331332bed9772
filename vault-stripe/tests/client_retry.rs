//! Retries, against a local scripted server through the default (reqwest)
//! transport: what is retried, how often, with which delays, and that a
//! retried POST keeps its Idempotency-Key.
#![allow(clippy::unwrap_used)]

mod client_support;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client_support::{RecordingServer, RecordingSleeper, Reply};
use vault_stripe::client::{
    ApiKey, CancelAt, CustomerParams, RequestOptions, RetryPolicy, StripeClient, StripeError,
    TransportErrorKind,
};

const CUSTOMER: &str =
    r#"{"id":"cus_123","object":"customer","email":"a@example.com","metadata":{}}"#;
const SERVER_ERROR: &str =
    r#"{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}"#;
const CONFLICT: &str = r#"{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"This object cannot be accessed right now because another API request or Stripe process is currently accessing it."}}"#;
const BAD_REQUEST: &str = r#"{"error":{"type":"invalid_request_error","code":"parameter_missing","param":"email","message":"Missing required param: email."}}"#;
const RATE_LIMITED: &str = r#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests."}}"#;

fn client(base_url: &str, sleeper: Arc<RecordingSleeper>) -> StripeClient {
    StripeClient::builder(ApiKey::new("sk_test_retry_SECRET"))
        .base_url(base_url)
        .sleeper(sleeper)
        .build()
        .unwrap()
}

async fn create_customer(c: &StripeClient) -> Result<vault_stripe::client::Customer, StripeError> {
    c.create_customer(
        &CustomerParams::new().email("a@example.com"),
        &RequestOptions::new(),
    )
    .await
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test]
async fn a_500_then_200_is_retried_with_the_same_idempotency_key() {
    let server = RecordingServer::scripted(vec![
        Reply::json(500, SERVER_ERROR),
        Reply::json(200, CUSTOMER),
    ]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));

    let customer = create_customer(&c).await.unwrap();
    assert_eq!(customer.id, "cus_123");

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let key = reqs[0].header("idempotency-key").unwrap();
    assert_eq!(key.len(), 36);
    assert_eq!(reqs[1].header("idempotency-key"), Some(key));
    assert_eq!(reqs[0].body, reqs[1].body);
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 1);
    // Never below 0.5 s, as Stripe's clients: the first retry waits exactly that.
    assert_eq!(ms(delays[0]), 500, "{delays:?}");
}

#[tokio::test]
async fn a_409_is_retried() {
    let server =
        RecordingServer::scripted(vec![Reply::json(409, CONFLICT), Reply::json(200, CUSTOMER)]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    create_customer(&c).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(sleeper.delays().len(), 1);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = RecordingServer::always(Reply::json(400, BAD_REQUEST));
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    let StripeError::InvalidRequest(e) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(e.status, 400);
    assert_eq!(e.param.as_deref(), Some("email"));
    assert_eq!(e.code.as_deref(), Some("parameter_missing"));
    assert_eq!(err.request_id(), Some("req_test_400"));
    assert_eq!(server.requests().len(), 1);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn stripe_should_retry_false_stops_a_500() {
    let server = RecordingServer::always(
        Reply::json(500, SERVER_ERROR).with_header("Stripe-Should-Retry", "false"),
    );
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    assert!(matches!(err, StripeError::Api(_)), "{err:?}");
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_plain_429_is_not_retried() {
    let server = RecordingServer::always(Reply::json(429, RATE_LIMITED));
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    assert!(matches!(err, StripeError::RateLimit(_)), "{err:?}");
    assert_eq!(err.status(), Some(429));
    assert_eq!(server.requests().len(), 1);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn stripe_should_retry_true_retries_a_429() {
    let server = RecordingServer::scripted(vec![
        Reply::json(429, RATE_LIMITED).with_header("Stripe-Should-Retry", "true"),
        Reply::json(200, CUSTOMER),
    ]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    create_customer(&c).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].header("idempotency-key"),
        reqs[1].header("idempotency-key")
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_growing_delays() {
    let server = RecordingServer::always(Reply::json(503, SERVER_ERROR));
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    assert!(matches!(err, StripeError::Api(_)), "{err:?}");
    assert_eq!(err.request_id(), Some("req_test_503"));
    // The default: 2 retries after the first try.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter()
            .all(|r| r.header("idempotency-key") == reqs[0].header("idempotency-key"))
    );
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 2);
    assert_eq!(ms(delays[0]), 500, "{delays:?}");
    assert!((500..=1000).contains(&ms(delays[1])), "{delays:?}");
}

#[tokio::test]
async fn max_retries_is_configurable() {
    let server = RecordingServer::always(Reply::json(500, SERVER_ERROR));
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = StripeClient::builder(ApiKey::new("sk_test_x"))
        .base_url(server.base_url())
        .sleeper(Arc::clone(&sleeper) as _)
        .max_retries(4)
        .build()
        .unwrap();
    create_customer(&c).await.unwrap_err();
    assert_eq!(server.requests().len(), 5);
    let delays: Vec<u128> = sleeper.delays().into_iter().map(ms).collect();
    // min(0.5 * 2^(n-1), 5) s times a jitter in [0.5, 1], never below 0.5 s.
    for (d, cap) in delays.iter().zip([500, 1000, 2000, 4000]) {
        assert!(((cap / 2).max(500)..=cap).contains(d), "{delays:?}");
    }

    let server = RecordingServer::always(Reply::json(500, SERVER_ERROR));
    let none = StripeClient::builder(ApiKey::new("sk_test_x"))
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    create_customer(&none).await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_a_connection_error() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&format!("http://127.0.0.1:{port}"), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    let StripeError::Connection { source, attempts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*attempts, 3);
    assert_eq!(source.kind, TransportErrorKind::Connect, "{source}");
    assert_eq!(err.status(), None);
    assert_eq!(sleeper.delays().len(), 2);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_with_the_same_key() {
    let server = RecordingServer::scripted(vec![Reply::Hangup, Reply::json(200, CUSTOMER)]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    create_customer(&c).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].header("idempotency-key"),
        reqs[1].header("idempotency-key")
    );
}

#[tokio::test]
async fn a_caller_key_is_used_on_every_try() {
    let server = RecordingServer::scripted(vec![
        Reply::json(502, "<html>bad gateway</html>"),
        Reply::json(
            200,
            r#"{"id":"sub_1","status":"active","cancel_at_period_end":true}"#,
        ),
    ]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let sub = c
        .cancel_subscription(
            "sub_1",
            CancelAt::PeriodEnd,
            &RequestOptions::new().idempotency_key("cancel-membership-7"),
        )
        .await
        .unwrap();
    assert!(sub.cancel_at_period_end);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.header("idempotency-key"), Some("cancel-membership-7"));
        assert_eq!(r.target, "/v1/subscriptions/sub_1");
        assert_eq!(r.body, "cancel_at_period_end=true");
    }
}

#[tokio::test]
async fn a_get_is_retried_without_an_idempotency_key() {
    let server = RecordingServer::scripted(vec![
        Reply::json(503, SERVER_ERROR),
        Reply::json(200, CUSTOMER),
    ]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let customer = c.retrieve_customer("cus_123").await.unwrap();
    assert_eq!(customer.email.as_deref(), Some("a@example.com"));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/v1/customers/cus_123");
        assert_eq!(r.header("idempotency-key"), None);
        assert!(r.body.is_empty());
    }
}

/// The default sleeper really waits, and the policy scales the waits.
#[tokio::test]
async fn the_tokio_sleeper_waits_the_scaled_backoff() {
    let server = RecordingServer::always(Reply::json(500, SERVER_ERROR));
    let c = StripeClient::builder(ApiKey::new("sk_test_x"))
        .base_url(server.base_url())
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(60),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    create_customer(&c).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(server.requests().len(), 3);
    // At least 40 ms (the floor) + 40 ms of jittered sleep; far below the
    // unscaled 1 s.
    assert!(took >= Duration::from_millis(80), "{took:?}");
    assert!(took < Duration::from_millis(700), "{took:?}");
}

#[tokio::test]
async fn a_server_that_always_hangs_up_is_a_connection_error() {
    let server = RecordingServer::always(Reply::Hangup);
    let sleeper = Arc::new(RecordingSleeper::default());
    let c = client(&server.base_url(), Arc::clone(&sleeper));
    let err = create_customer(&c).await.unwrap_err();
    let StripeError::Connection { source, attempts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*attempts, 3);
    assert_eq!(source.kind, TransportErrorKind::Network, "{source}");
    assert_eq!(server.requests().len(), 3);
    assert!(!err.to_string().contains("SECRET"), "{err}");
}

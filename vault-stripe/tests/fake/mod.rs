//! Shared by the `client_*` tests that need no socket: a transport that
//! answers from a queue and keeps every request, a sleeper that returns at
//! once, and the test API key.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use vault_stripe::client::{
    ApiKey, HttpRequest, HttpResponse, HttpTransport, Sleeper, StripeClient, TransportError,
};

pub const SECRET: &str = "sk_test_51FakeKeyTOPSECRETvalue987";
/// The part of the key that must never be shown, prefix or not.
pub const SECRET_BODY: &str = "51FakeKeyTOPSECRETvalue987";

/// Answers from a queue (then 200 `{}`), keeping every request.
#[derive(Debug, Default)]
pub struct Fake {
    replies: Mutex<VecDeque<Result<HttpResponse, TransportError>>>,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Fake {
    pub fn with(replies: Vec<Result<HttpResponse, TransportError>>) -> Arc<Self> {
        Arc::new(Self {
            replies: Mutex::new(replies.into()),
            seen: Mutex::default(),
        })
    }
    pub fn seen(&self) -> Vec<HttpRequest> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl HttpTransport for Fake {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.lock().unwrap().push(req);
        self.replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(json(200, "{}")))
    }
}

#[derive(Debug)]
pub struct NoSleep;

#[async_trait]
impl Sleeper for NoSleep {
    async fn sleep(&self, _: std::time::Duration) {}
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("request-id".into(), "req_abc123".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

pub fn client(fake: &Arc<Fake>) -> StripeClient {
    StripeClient::builder(ApiKey::new(SECRET))
        .base_url("https://stripe.test/")
        .transport(Arc::clone(fake) as _)
        .sleeper(Arc::new(NoSleep))
        .build()
        .unwrap()
}

pub fn err_body(ty: &str, code: &str) -> String {
    format!(
        r#"{{"error":{{"type":"{ty}","code":"{code}","message":"m","param":"p","decline_code":"insufficient_funds","doc_url":"https://stripe.com/docs/error-codes/{code}"}}}}"#
    )
}

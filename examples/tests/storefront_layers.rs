//! The storefront's HTTP layers (tower-http): the stylesheet served from
//! `/static`, pages compressed for clients that accept gzip, a request id on
//! every response (kept when the client sent one), and request spans that
//! name the route's pattern and the id, never the URI, so a password-reset
//! token never reaches the logs. In its own test binary, because the span
//! capture installs a process-wide subscriber.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use support::*;

/// Every span's name and fields, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut line = attrs.metadata().name().to_owned();
        attrs.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_compression_request_ids_and_spans_without_secrets() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(capture.clone()))
        .unwrap();
    let site = site().await;
    let b = browser();

    let css = b
        .get(format!("{}/static/site.css", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.text().await.unwrap().contains(".cards"));
    let page = get(&b, &site, "/").await;
    assert!(page.body.contains(r#"href="/static/site.css""#));
    assert_eq!(get(&b, &site, "/static/../Cargo.toml").await.status, 404);

    // reqwest is built without gzip here, so the body stays as sent.
    let gz = b
        .get(format!("{}/", site.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let bytes = gz.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    let plain = b.get(format!("{}/", site.base)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());

    // An id on every response, a fresh one each time; the client's own is
    // kept.
    let ids: Vec<String> = request_ids(&b, &site).await;
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[0].len(), 36, "a UUID: {}", ids[0]);
    let mine = b
        .get(format!("{}/healthz", site.base))
        .header("x-request-id", "req-from-the-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "req-from-the-proxy");

    // A reset link's token stays out of the spans; the route's pattern and
    // the request id are in.
    let token = "ab".repeat(32);
    let reset = b
        .get(format!("{}/reset/{token}", site.base))
        .send()
        .await
        .unwrap();
    let reset_id = reset.headers()["x-request-id"].to_str().unwrap().to_owned();
    let spans = capture.0.lock().unwrap().join("\n");
    assert!(!spans.contains(&token), "{spans}");
    let line = spans
        .lines()
        .find(|l| l.contains(&reset_id))
        .unwrap_or_else(|| panic!("no span with the request id {reset_id}: {spans}"));
    assert!(line.starts_with("http "), "{line}");
    assert!(line.contains("route=\"/reset/{token}\""), "{line}");
    assert!(line.contains("method=GET"), "{line}");
}

/// The request ids of two plain requests.
async fn request_ids(b: &reqwest::Client, site: &Site) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..2 {
        let r = b
            .get(format!("{}/healthz", site.base))
            .send()
            .await
            .unwrap();
        out.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    out
}

#[tokio::test]
async fn the_first_free_port_is_taken_and_a_held_one_skipped() {
    // Two free ports next to each other, found by the system.
    let (a, b) = loop {
        let probe = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let a = probe.local_addr().unwrap().port();
        if a < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", a + 1)).is_ok() {
            drop(probe);
            break (a, a + 1);
        }
    };
    use vault_examples::storefront;
    let got = storefront::first_free_port(a..b + 1).await.unwrap();
    assert_eq!(got.local_addr().unwrap().port(), a, "the first one");
    // While it is held, the next one.
    let next = storefront::first_free_port(a..b + 1).await.unwrap();
    assert_eq!(next.local_addr().unwrap().port(), b);
    // All held: an error that says what to do.
    let err = storefront::first_free_port(a..b + 1).await.unwrap_err();
    assert!(err.to_string().contains("--port"), "{err}");
}

//! The API key shows up in no `tracing` event, through retries and errors.
//!
//! This test is a binary of its own on purpose. `tracing` caches each
//! callsite's interest process-wide; a callsite first hit by another test's
//! thread while no subscriber exists can be cached as "never" between this
//! test installing its subscriber and rebuilding the cache, and then the
//! capture silently misses events (it failed CI once that way). Alone in its
//! process, every callsite is first hit on this thread, under the capture.
#![allow(clippy::unwrap_used)]

mod fake;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use vault_stripe::client::{CustomerParams, RequestOptions, TransportError, TransportErrorKind};

use fake::{Fake, SECRET_BODY, client, err_body, json};

/// Writes every span and event, with all fields, as one line of text.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "span {}", attrs.metadata().name());
        attrs.record(&mut Line(&mut out));
        out.push('\n');
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut out = self.0.lock().unwrap();
        values.record(&mut Line(&mut out));
        out.push('\n');
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let _ = write!(
            out,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Line(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn the_key_is_in_no_log() {
    let capture = Capture::default();
    let logs = Arc::clone(&capture.0);
    tracing::subscriber::with_default(capture, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let fake = Fake::with(vec![
                Err(TransportError::new(TransportErrorKind::Connect, "refused")),
                Ok(json(500, &err_body("api_error", "x"))),
                Ok(json(200, r#"{"id":"cus_1"}"#)),
                Ok(json(
                    401,
                    &err_body("invalid_request_error", "api_key_invalid"),
                )),
            ]);
            let c = client(&fake);
            c.create_customer(
                &CustomerParams::new().email("e@x.y"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
            c.retrieve_customer("cus_1").await.unwrap_err();
        });
    });
    let logs = logs.lock().unwrap().clone();
    assert!(
        !logs.contains(SECRET_BODY),
        "the key leaked into logs:\n{logs}"
    );
    // The capture works: the requests, retries and errors were logged.
    assert!(logs.contains("path=\"/v1/customers\""), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("status=401"), "{logs}");
    assert!(logs.contains("vault_stripe::client"), "{logs}");
}

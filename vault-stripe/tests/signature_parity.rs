//! Webhook signatures against Stripe's official Python library: headers it
//! generates verify here, and for valid, tampered, stale, wrong-secret,
//! rotated, malformed, missing-header, empty-secret and bad-`v1` cases our
//! verdict *and the cause we name* equal its
//! `stripe.Webhook.construct_event`'s (its message, sorted into our
//! [`SignatureError`] variants by `tests/python/signatures.py`). Skips
//! (printed) without Python unless `VAULT_REQUIRE_STRIPE_PY=1`.
#![allow(clippy::unwrap_used)]

mod stripe_py;

use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::Utc;
use serde_json::{Value, json};
use vault_stripe::signature::{SignatureError, Verifier, WebhookSecret};

const SECRET: &str = "whsec_parity_0123456789abcdef";

/// Which `Stripe-Signature` header a case verifies.
enum Header {
    /// The one both libraries generate from the case's secret and time.
    Generated,
    /// None at all: Python gets `None`, we get `""` (how a missing header
    /// reaches [`Verifier::verify`]).
    Absent,
    /// This one, as given.
    Given(String),
}

struct Case {
    name: &'static str,
    sign_secret: &'static str,
    timestamp: i64,
    verify_payload: String,
    verify_secret: &'static str,
    header: Header,
    /// The cause both libraries must name: `ok` or a `kind` of
    /// `signatures.py`.
    expected: &'static str,
}

impl Case {
    /// A case that signs with [`SECRET`] now and verifies `payload` with it.
    fn new(name: &'static str, now: i64, payload: &str, expected: &'static str) -> Self {
        Self {
            name,
            sign_secret: SECRET,
            timestamp: now,
            verify_payload: payload.to_owned(),
            verify_secret: SECRET,
            header: Header::Generated,
            expected,
        }
    }

    fn header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }
}

/// Our error, in `signatures.py`'s words.
fn kind(result: &Result<(), SignatureError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(SignatureError::MissingHeader) => "missing_header",
        Err(SignatureError::EmptySecret) => "empty_secret",
        Err(SignatureError::MalformedHeader(_)) => "malformed",
        Err(SignatureError::Mismatch) => "mismatch",
        Err(SignatureError::Stale { .. }) => "stale",
        Err(other) => panic!("no kind for {other:?}"),
    }
}

fn cases(now: i64, payload: &str) -> Vec<Case> {
    let ours = WebhookSecret::new(SECRET);
    let good = ours.sign(now, payload.as_bytes());
    let given = |h: String| Header::Given(h);
    let with_v1 = |v1: &str| given(format!("t={now},v1={v1}"));
    vec![
        Case::new("valid", now, payload, "ok"),
        Case::new("tampered", now, &payload.replace("49", "4"), "mismatch"),
        Case {
            timestamp: now - 400,
            ..Case::new("stale", now, payload, "stale")
        },
        Case {
            timestamp: now - 250,
            ..Case::new("within tolerance", now, payload, "ok")
        },
        Case {
            timestamp: now + 400,
            ..Case::new("ahead of the clock", now, payload, "ok")
        },
        Case {
            sign_secret: "whsec_someone_else",
            ..Case::new("wrong secret", now, payload, "mismatch")
        },
        Case::new("rotated: any v1 may match, v0 ignored", now, payload, "ok").header(given(
            format!("t={now},v0={good},v1={},v1={good}", "0".repeat(64)),
        )),
        Case::new("only v0", now, payload, "malformed").header(given(format!("t={now},v0={good}"))),
        Case::new("no v1 at all", now, payload, "malformed").header(given(format!("t={now}"))),
        Case::new("no timestamp", now, payload, "malformed").header(given(format!("v1={good}"))),
        Case::new("timestamp not a number", now, payload, "malformed")
            .header(given(format!("t=soon,v1={good}"))),
        Case::new("blank header", now, payload, "malformed").header(given(" ".into())),
        // The causes Stripe's libraries name on their own.
        Case::new("absent header", now, payload, "missing_header").header(Header::Absent),
        Case::new("empty header", now, payload, "missing_header").header(given(String::new())),
        Case {
            verify_secret: "",
            ..Case::new("empty secret", now, payload, "empty_secret")
        },
        Case {
            verify_secret: " \t\r\n",
            ..Case::new("whitespace secret", now, payload, "empty_secret")
        },
        Case {
            verify_secret: "",
            ..Case::new(
                "empty header and empty secret",
                now,
                payload,
                "missing_header",
            )
        }
        .header(given(String::new())),
        Case::new("v1 truncated to odd length", now, payload, "mismatch")
            .header(with_v1(&good[..63])),
        Case::new("v1 truncated to even length", now, payload, "mismatch")
            .header(with_v1(&good[..62])),
        Case::new("v1 empty", now, payload, "mismatch").header(with_v1("")),
        Case::new("v1 not hex", now, payload, "mismatch").header(with_v1(&"zz".repeat(32))),
        Case::new("v1 uppercase hex", now, payload, "mismatch")
            .header(with_v1(&good.to_ascii_uppercase())),
        Case::new("a non-hex v1 beside the good one", now, payload, "ok")
            .header(given(format!("t={now},v1=nothex,v1={good}"))),
    ]
}

#[test]
fn verdicts_and_causes_match_the_official_library() {
    let Some(py) = stripe_py::stripe_python() else {
        return;
    };
    let now = Utc::now().timestamp();
    let payload = r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"name":"Café – 49 €"}}}"#;
    let cases = cases(now, payload);
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            let (header, absent) = match &c.header {
                Header::Generated => (None, false),
                Header::Absent => (None, true),
                Header::Given(h) => (Some(h.as_str()), false),
            };
            json!({"payload": payload, "sign_secret": c.sign_secret, "timestamp": c.timestamp,
                   "verify_payload": c.verify_payload, "verify_secret": c.verify_secret,
                   "header": header, "absent_header": absent})
        })
        .collect();
    let mut child = Command::new(&py)
        .arg(stripe_py::python_dir().join("signatures.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.len(), cases.len());
    let mut differences = Vec::new();
    for (c, theirs) in cases.iter().zip(&verdicts) {
        let their_header = theirs["header"].as_str().unwrap();
        // Their signer and ours produce the same header, byte for byte.
        assert_eq!(
            their_header,
            WebhookSecret::new(c.sign_secret).header(c.timestamp, payload.as_bytes()),
            "{}",
            c.name
        );
        let checked = match &c.header {
            Header::Generated => their_header,
            Header::Absent => "",
            Header::Given(h) => h.as_str(),
        };
        let verifier = Verifier::new(WebhookSecret::new(c.verify_secret));
        let ours = verifier.verify(c.verify_payload.as_bytes(), checked, Utc::now());
        let their_kind = theirs["kind"].as_str().unwrap();
        if kind(&ours) != c.expected || their_kind != c.expected {
            differences.push(format!(
                "{}: expected {}, ours {ours:?}, theirs {their_kind} ({})",
                c.name, c.expected, theirs["error"]
            ));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
}

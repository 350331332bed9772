//! Webhook signatures against Stripe's official Python library: headers it
//! generates verify here, and for valid, tampered, stale, wrong-secret,
//! rotated and malformed cases our verdict equals its
//! `stripe.Webhook.construct_event`'s. Skips (printed) without Python unless
//! `VAULT_REQUIRE_STRIPE_PY=1`.
#![allow(clippy::unwrap_used)]

mod stripe_py;

use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::Utc;
use serde_json::{Value, json};
use vault_stripe::signature::{SignatureError, Verifier, WebhookSecret};

/// (name, sign secret, timestamp, payload to verify, verify secret, header
/// override, expected verdict)
type Case<'a> = (
    &'a str,
    &'a str,
    i64,
    String,
    &'a str,
    Option<String>,
    Result<(), &'a str>,
);

const SECRET: &str = "whsec_parity_0123456789abcdef";

#[test]
fn verdicts_match_the_official_library() {
    let Some(py) = stripe_py::stripe_python() else {
        return;
    };
    let now = Utc::now().timestamp();
    let payload = r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"name":"Café – 49 €"}}}"#;
    let ours = WebhookSecret::new(SECRET);
    let rotated = format!(
        "t={now},v0={},v1={},v1={}",
        ours.sign(now, payload.as_bytes()),
        "0".repeat(64),
        ours.sign(now, payload.as_bytes())
    );
    // (name, sign secret, timestamp, payload to verify, verify secret, header override, expected)
    let cases: Vec<Case<'_>> = vec![
        ("valid", SECRET, now, payload.into(), SECRET, None, Ok(())),
        (
            "tampered",
            SECRET,
            now,
            payload.replace("49", "4"),
            SECRET,
            None,
            Err("mismatch"),
        ),
        (
            "stale",
            SECRET,
            now - 400,
            payload.into(),
            SECRET,
            None,
            Err("stale"),
        ),
        (
            "within tolerance",
            SECRET,
            now - 250,
            payload.into(),
            SECRET,
            None,
            Ok(()),
        ),
        (
            "ahead of the clock",
            SECRET,
            now + 400,
            payload.into(),
            SECRET,
            None,
            Ok(()),
        ),
        (
            "wrong secret",
            "whsec_someone_else",
            now,
            payload.into(),
            SECRET,
            None,
            Err("mismatch"),
        ),
        (
            "rotated: any v1 may match, v0 ignored",
            SECRET,
            now,
            payload.into(),
            SECRET,
            Some(rotated),
            Ok(()),
        ),
        (
            "only v0",
            SECRET,
            now,
            payload.into(),
            SECRET,
            Some(format!("t={now},v0={}", ours.sign(now, payload.as_bytes()))),
            Err("malformed"),
        ),
        (
            "no timestamp",
            SECRET,
            now,
            payload.into(),
            SECRET,
            Some(format!("v1={}", ours.sign(now, payload.as_bytes()))),
            Err("malformed"),
        ),
    ];
    let input: Vec<Value> = cases
        .iter()
        .map(|(_, sign, t, verify_payload, verify_secret, header, _)| {
            json!({"payload": payload, "sign_secret": sign, "timestamp": t,
                   "verify_payload": verify_payload, "verify_secret": verify_secret, "header": header})
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
    let verifier = Verifier::new(WebhookSecret::new(SECRET));
    for ((name, sign, t, verify_payload, _, header, expected), theirs) in
        cases.iter().zip(&verdicts)
    {
        let their_header = theirs["header"].as_str().unwrap();
        // Their signer and ours produce the same header, byte for byte.
        assert_eq!(
            their_header,
            WebhookSecret::new(*sign).header(*t, payload.as_bytes()),
            "{name}"
        );
        let checked = header.as_deref().unwrap_or(their_header);
        let ours = verifier.verify(verify_payload.as_bytes(), checked, Utc::now());
        assert_eq!(
            ours.is_ok(),
            theirs["ok"].as_bool().unwrap(),
            "{name}: ours {ours:?}, theirs {theirs}"
        );
        match (expected, &ours) {
            (Ok(()), Ok(())) => {}
            (Err("mismatch"), Err(SignatureError::Mismatch)) => {}
            (Err("stale"), Err(SignatureError::Stale { .. })) => {}
            (Err("malformed"), Err(SignatureError::MalformedHeader(_))) => {}
            _ => panic!("{name}: expected {expected:?}, got {ours:?}"),
        }
    }
}

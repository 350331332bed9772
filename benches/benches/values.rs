//! Checked values that the vault builds on every call, each beside the
//! hand-written code a well-kept crate replaced, so the choice can be
//! checked again on any machine (`*/crate` is what ships, `*/ours` the
//! loop it replaced, kept here only as the baseline).
//!
//! * `hex_digest`: a 32-byte digest as lowercase hex (IP hashes, file
//!   digests, cursor tokens): const-hex vs a table loop.
//! * `cursor_decode`: a listing cursor token back into a cursor (every
//!   page after the first): const-hex decoding vs `from_str_radix` per pair.
//! * `version_parse`: `MAJOR.MINOR.PATCH`: semver vs a split-and-parse.
//! * `stripe_form`: a Checkout Session body: form_urlencoded vs a byte loop.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::Criterion;
use serde_json::json;
use vault_core::catalog::query::{Cursor, SortKey, WorkflowSort};
use vault_core::value::ids::WorkflowId;
use vault_core::value::version::Version;
use vault_stripe::client::form::Form;

fn ours_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn ours_unhex(token: &str) -> Option<Vec<u8>> {
    (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect()
}

fn ours_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.strip_prefix('v').unwrap_or(s).split('.');
    let mut next = || -> Option<u32> {
        let p = parts.next()?;
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        p.parse().ok()
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

fn ours_form(form: &Form) -> String {
    let mut out = String::new();
    for (i, (k, v)) in form.pairs().iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        for (j, side) in [k, v].into_iter().enumerate() {
            if j == 1 {
                out.push('=');
            }
            for &b in side.as_bytes() {
                match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                        out.push(char::from(b))
                    }
                    b' ' => out.push('+'),
                    _ => {
                        let _ = write!(out, "%{b:02X}");
                    }
                }
            }
        }
    }
    out
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .configure_from_args();
    let mut g = c.benchmark_group("values");

    let digest: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(37)).collect();
    g.bench_function("hex_digest/crate", |b| {
        b.iter(|| const_hex::encode(black_box(&digest)))
    });
    g.bench_function("hex_digest/ours", |b| {
        b.iter(|| ours_hex(black_box(&digest)))
    });

    let id = WorkflowId::from_uuid(uuid::Uuid::from_u128(
        0x1234_5678_9abc_def0_1234_5678_9abc_def0,
    ));
    let token = Cursor::new(WorkflowSort::Downloads, SortKey::Downloads(123_456), id)
        .unwrap()
        .encode();
    assert_eq!(ours_unhex(&token), const_hex::decode(&token).ok());
    g.bench_function("cursor_decode/crate", |b| {
        b.iter(|| Cursor::decode(black_box(&token)).unwrap())
    });
    g.bench_function("cursor_decode/ours", |b| {
        b.iter(|| {
            let bytes = ours_unhex(black_box(&token)).unwrap();
            black_box(serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
        })
    });

    assert_eq!(ours_version("v1.10.3"), Some((1, 10, 3)));
    g.bench_function("version_parse/crate", |b| {
        b.iter(|| Version::parse(black_box("v1.10.3")).unwrap())
    });
    g.bench_function("version_parse/ours", |b| {
        b.iter(|| ours_version(black_box("v1.10.3")).unwrap())
    });

    let form = Form::from_json(&json!({
        "mode": "payment",
        "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/flows/invoice-sync",
        "client_reference_id": "8c7e1d2a-0b4f-4c7e-9a1d-2b3c4d5e6f70",
        "line_items": [{
            "quantity": 1,
            "price_data": {
                "currency": "usd",
                "unit_amount": 4900,
                "product_data": { "name": "Invoice sync — Make.com ✓" }
            }
        }],
        "metadata": { "vault_purchase_id": "8c7e1d2a-0b4f-4c7e-9a1d-2b3c4d5e6f70" }
    }));
    assert_eq!(ours_form(&form), form.encode());
    g.bench_function("stripe_form/crate", |b| {
        b.iter(|| black_box(&form).encode())
    });
    g.bench_function("stripe_form/ours", |b| {
        b.iter(|| ours_form(black_box(&form)))
    });

    g.finish();
    c.final_summary();
}

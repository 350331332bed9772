//! Validation of commerce (`commerce/`): license keys, payment references,
//! purchases, their transitions and the refund cascade, membership periods,
//! memberships and their events.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use chrono::Duration;
use proptest::prelude::*;
use uuid::Uuid;

use vault_core::Error;
use vault_core::commerce::license::LicenseKey;
use vault_core::commerce::membership::{MembershipEvent, NewMembership, Period};
use vault_core::commerce::purchase::{NewPurchase, PaymentRef, PurchaseItem};
use vault_core::commerce::refund::{PaymentEvent, cascade};
use vault_core::value::clock::SeededEntropy;
use vault_core::value::ids::{BundleId, MembershipId};
use vault_core::value::money::{Currency, MAX_MINOR, Money};
use vault_core::value::tier::PricingTier;

use common::{
    Edit, R, build_purchase, eur, invalid, long, membership, new_membership, new_purchase, refused,
    string_ctor_agrees, t, text, usd,
};

// ---------------------------------------------------------------------------
// License keys and payment references
// ---------------------------------------------------------------------------

#[test]
fn license_key_parse() {
    let bad = [
        "",
        "WV-",
        "WV",
        "XX-00000-00000-00000-00000-00000",
        "WV00000-00000-00000-00000-00000",
        "WV-0000-00000-00000-00000-00000",
        "WV-000000-00000-00000-00000-0000",
        "WV-00000-00000-00000-00000",
        "WV-00000-00000-00000-00000-00000-00000",
        "WV-0000U-00000-00000-00000-00000",
        "WV-0000*-00000-00000-00000-00000",
        "WV-000é-00000-00000-00000-00000",
        "WV-00000-00000-00000-00000-0000\u{130}",
        "WV-00000 00000-00000-00000-00000",
    ];
    for input in bad {
        refused(input, LicenseKey::parse(input), "license_key", R::Format);
        refused(
            input,
            LicenseKey::try_from(input.to_owned()),
            "license_key",
            R::Format,
        );
    }
    let k = LicenseKey::parse("  wv-oooo1-iiiii-lllll-abcde-fghjk ").expect("forgiving");
    assert_eq!(k.as_str(), "WV-00001-11111-11111-ABCDE-FGHJK");
}

#[test]
fn payment_ref_parse() {
    let cases: &[(&str, &str, R)] = &[
        ("empty", "", R::Empty),
        ("blank", "  ", R::Empty),
        ("256 chars", &long(256), R::TooLong(255)),
        ("space", "pi 1", R::Format),
        ("trailing newline", "pi_1\n", R::Format),
        ("non-breaking space", "pi\u{a0}1", R::Format),
        ("control", "pi\u{1}", R::Format),
    ];
    for (label, input, want) in cases {
        refused(label, PaymentRef::parse(input), "payment_ref", *want);
    }
    assert!(PaymentRef::parse(&long(255)).is_ok());
}

// ---------------------------------------------------------------------------
// Purchases and refunds
// ---------------------------------------------------------------------------

#[test]
fn new_purchase_build() {
    let cases: &[(&str, Edit<NewPurchase>, &str, R)] = &[
        (
            "negative amount",
            |p| p.amount = usd(-1),
            "amount",
            R::Negative,
        ),
        ("negative tax", |p| p.tax = usd(-1), "tax", R::Negative),
        (
            "zero download limit",
            |p| p.download_limit = Some(0),
            "download_limit",
            R::OutOfRange,
        ),
        (
            "zero update months",
            |p| p.update_months = Some(0),
            "update_months",
            R::OutOfRange,
        ),
        (
            "bundle without members",
            |p| {
                p.item = PurchaseItem::Bundle {
                    bundle_id: BundleId::from_uuid(Uuid::nil()),
                    members: vec![],
                }
            },
            "members",
            R::Empty,
        ),
        (
            "license expiring when bought",
            |p| p.license_expires_at = Some(t(0)),
            "license_expires_at",
            R::Inconsistent,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut p = new_purchase();
        edit(&mut p);
        invalid(label, build_purchase(p), field, *want);
    }
    // Tax in another currency than the amount.
    let mut p = new_purchase();
    p.tax = eur(931);
    assert!(matches!(
        build_purchase(p),
        Err(Error::CurrencyMismatch { expected, found })
            if expected == Currency::USD && found == Currency::EUR
    ));
    // At the top of the range the total would leave it: the tax is refused.
    let mut p = new_purchase();
    p.amount = Money::from_minor(MAX_MINOR, Currency::JPY);
    p.tax = Money::from_minor(1, Currency::JPY);
    invalid(
        "total past MAX_MINOR",
        build_purchase(p),
        "tax",
        R::OutOfRange,
    );
    let ok = build_purchase(new_purchase()).expect("valid");
    assert_eq!(ok.total, usd(5831));
    let mut expiring = new_purchase();
    expiring.license_expires_at = Some(t(1));
    assert!(build_purchase(expiring).is_ok(), "a future expiry is fine");
}

#[test]
fn purchase_transitions_are_typed() {
    let pay = |s: &str| PaymentRef::parse(s).expect("valid");
    let mut p = build_purchase(new_purchase()).expect("valid");
    assert!(p.fail(t(1)).expect("pending can fail"));
    assert!(
        p.complete(pay("pi_1"), t(1))
            .expect("a failed attempt is not terminal")
    );
    let mut p = build_purchase(new_purchase()).expect("valid");
    assert!(p.complete(pay("pi_1"), t(1)).expect("completes"));
    assert!(matches!(
        p.complete(pay("pi_2"), t(1)),
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        p.fail(t(2)),
        Err(Error::InvalidTransition {
            state: "completed",
            event: "fail",
            ..
        })
    ));
}

#[test]
fn refund_cascade_checks() {
    let mut p = build_purchase(new_purchase()).expect("valid");
    let refund = |m: Money| PaymentEvent::Refunded {
        refunded_total: m,
        reason: None,
    };
    // Not yet paid: nothing to refund.
    assert!(matches!(
        cascade(&p, &refund(usd(1)), &[], t(1)),
        Err(Error::InvalidTransition {
            state: "pending",
            ..
        })
    ));
    p.complete(PaymentRef::parse("pi_1").expect("valid"), t(1))
        .expect("completes");
    invalid(
        "refund above the total",
        cascade(&p, &refund(usd(5832)), &[], t(2)),
        "refunded_total",
        R::OutOfRange,
    );
    invalid(
        "negative refund",
        cascade(&p, &refund(usd(-1)), &[], t(2)),
        "refunded_total",
        R::OutOfRange,
    );
    for (label, reason, want) in [
        ("long reason", "r".repeat(501), R::TooLong(500)),
        ("control characters", "a\u{0}b".to_owned(), R::Format),
    ] {
        let event = PaymentEvent::Refunded {
            refunded_total: usd(100),
            reason: Some(reason),
        };
        invalid(label, cascade(&p, &event, &[], t(2)), "reason", want);
    }
    assert!(matches!(
        cascade(&p, &refund(eur(100)), &[], t(2)),
        Err(Error::CurrencyMismatch { .. })
    ));
    assert!(
        cascade(&p, &refund(usd(5831)), &[], t(2)).is_ok(),
        "the whole total is fine"
    );
    let fx = cascade(&p, &PaymentEvent::DisputeOpened, &[], t(2)).expect("dispute");
    fx.apply_to(&mut p, t(2));
    // A refund made before the dispute opened may arrive while it is open:
    // recorded, with the same checks.
    invalid(
        "refund above the total while disputed",
        cascade(&p, &refund(usd(5832)), &[], t(3)),
        "refunded_total",
        R::OutOfRange,
    );
    let during = cascade(&p, &refund(usd(1)), &[], t(3)).expect("recorded");
    assert_eq!(
        during.to,
        vault_core::commerce::purchase::PaymentStatus::Disputed
    );
}

// ---------------------------------------------------------------------------
// Memberships
// ---------------------------------------------------------------------------

#[test]
fn period_new() {
    refused(
        "end at start",
        Period::new(t(1), t(1)),
        "current_period_end",
        R::Inconsistent,
    );
    refused(
        "end before start",
        Period::new(t(2), t(1)),
        "current_period_end",
        R::Inconsistent,
    );
    let reversed = r#"{"start":"1970-01-31T00:00:00Z","end":"1970-01-01T00:00:00Z"}"#;
    assert!(serde_json::from_str::<Period>(reversed).is_err());
}

#[test]
fn new_membership_build() {
    let cases: &[(&str, Edit<NewMembership>, &str, R)] = &[
        (
            "free tier",
            |m| m.tier = PricingTier::Free,
            "tier",
            R::Inconsistent,
        ),
        (
            "free trial of the free tier",
            |m| {
                m.tier = PricingTier::Free;
                m.trial = true;
            },
            "tier",
            R::Inconsistent,
        ),
        (
            "zero downloads a period",
            |m| m.period_download_limit = Some(0),
            "period_download_limit",
            R::OutOfRange,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut m = new_membership();
        edit(&mut m);
        refused(
            label,
            m.build(MembershipId::from_uuid(Uuid::nil()), t(0)),
            field,
            *want,
        );
    }
}

#[test]
fn membership_events_are_checked() {
    let cases: &[(&str, MembershipEvent, &str, R)] = &[
        (
            "renewal starting before the current period",
            MembershipEvent::Renew {
                period: Period::new(t(-30), t(0)).expect("valid"),
            },
            "current_period_start",
            R::Inconsistent,
        ),
        (
            "move to the free tier",
            MembershipEvent::ChangeTier {
                tier: PricingTier::Free,
                period_download_limit: None,
            },
            "tier",
            R::Inconsistent,
        ),
        (
            "zero downloads a period",
            MembershipEvent::ChangeTier {
                tier: PricingTier::Premium,
                period_download_limit: Some(0),
            },
            "period_download_limit",
            R::OutOfRange,
        ),
    ];
    for (label, event, field, want) in cases {
        let mut m = membership();
        let before = m.clone();
        invalid(label, m.apply(event, t(5)), field, *want);
        assert_eq!(m, before, "{label}: a refused event changes nothing");
    }
    let mut m = membership();
    assert!(matches!(
        m.apply(&MembershipEvent::Expire, t(5)),
        Err(Error::InvalidTransition {
            state: "active",
            event: "expire",
            ..
        })
    ));
    m.apply(&MembershipEvent::Cancel, t(5)).expect("cancel");
    assert!(matches!(
        m.apply(&MembershipEvent::PaymentFailed, t(6)),
        Err(Error::InvalidTransition {
            state: "canceled",
            event: "payment_failed",
            ..
        })
    ));
    // An unending grace is a policy, not a crash.
    let mut m = membership();
    m.apply(&MembershipEvent::PaymentFailed, t(29)).expect("ok");
    assert!(m.standing(t(90), Duration::MAX).grants());
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #[test]
    fn license_key_never_panics_and_roundtrips(s in text("(?i)wv(-[0-9a-zA-Z]{5}){5}")) {
        string_ctor_agrees(&s, LicenseKey::parse, |k: &LicenseKey| k.as_str().to_owned())?;
    }

    #[test]
    fn generated_license_keys_parse_in_any_case(seed in any::<u64>()) {
        let k = LicenseKey::generate(&SeededEntropy::new(seed));
        prop_assert_eq!(LicenseKey::parse(&k.as_str().to_lowercase()).ok(), Some(k.clone()));
        string_ctor_agrees(k.as_str(), LicenseKey::parse, |k: &LicenseKey| k.as_str().to_owned())?;
    }

    #[test]
    fn payment_ref_never_panics_and_roundtrips(s in text("[ -~]{0,260}")) {
        string_ctor_agrees(&s, PaymentRef::parse, |p: &PaymentRef| p.as_str().to_owned())?;
    }

    #[test]
    fn period_agrees_with_serde(start in -100_000i64..100_000, len in -1000i64..1000) {
        let (s, e) = (t(0) + Duration::minutes(start), t(0) + Duration::minutes(start + len));
        let json = serde_json::json!({ "start": s, "end": e });
        prop_assert_eq!(Period::new(s, e).ok(), serde_json::from_value::<Period>(json).ok());
        prop_assert_eq!(Period::new(s, e).is_ok(), len > 0);
    }
}

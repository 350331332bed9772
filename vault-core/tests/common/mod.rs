//! The harness of the validation tests (`validation_*.rs`), one file per
//! area of what is validated, and the fixtures more than one of them builds.
//!
//! The requirement: every value is checked when it is built, bad input never
//! panics, and every typed error bad input can produce is pinned down by a
//! test naming the exact field and [`Reason`] variant.
//!
//! * The tables of each file list, per constructor (`parse`, `new`,
//!   `new_field`, `price`, `validate`, `build`, `FromStr`), one row per
//!   distinct class of bad input with the field and reason it must produce.
//! * Cross-field rules (free tier with a price, bundle above its original
//!   price, duplicate members, reversed periods, refunds above the total, tax
//!   in another currency, non-increasing versions, …) have their own rows.
//! * Property tests feed arbitrary unicode to every string constructor: it
//!   never panics, what it accepts round-trips through `Display`/`as_str` and
//!   serde_json, and what it refuses serde refuses too.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use vault_core::catalog::wedge::Wedge;
use vault_core::catalog::workflow::{Media, Seo, WorkflowContent};
use vault_core::commerce::license::{LicenseKey, LicenseType};
use vault_core::commerce::membership::{Membership, NewMembership, Period};
use vault_core::commerce::purchase::{NewPurchase, ProviderRefs, Purchase, PurchaseItem};
use vault_core::value::actor::UserId;
use vault_core::value::clock::SeededEntropy;
use vault_core::value::error::Reason;
use vault_core::value::ids::{CategoryId, MembershipId, PurchaseId, WorkflowId};
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::{Error, ValidationError};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The expected [`Reason`] of a row, with the payload where it is fixed by
/// the API (maximum lengths, decimal places).
#[derive(Debug, Clone, Copy)]
pub(crate) enum R {
    Empty,
    TooLong(usize),
    OutOfRange,
    Format,
    Precision(u32),
    Negative,
    Unknown,
    Inconsistent,
}

impl R {
    fn is(self, reason: &Reason) -> bool {
        match self {
            R::Empty => matches!(reason, Reason::Empty),
            R::TooLong(want) => matches!(reason, Reason::TooLong { max } if *max == want),
            R::OutOfRange => matches!(reason, Reason::OutOfRange { .. }),
            R::Format => matches!(reason, Reason::Format { .. }),
            R::Precision(want) => {
                matches!(reason, Reason::Precision { max_scale } if *max_scale == want)
            }
            R::Negative => matches!(reason, Reason::Negative),
            R::Unknown => matches!(reason, Reason::Unknown { .. }),
            R::Inconsistent => matches!(reason, Reason::Inconsistent { .. }),
        }
    }
}

/// Asserts `result` is a validation error for `field` with reason `want`.
#[track_caller]
pub(crate) fn refused<T: Debug>(
    label: &str,
    result: Result<T, ValidationError>,
    field: &str,
    want: R,
) {
    match result {
        Ok(v) => panic!("{label}: expected {field} {want:?}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.field(), field, "{label}: wrong field in {e:?}");
            assert!(
                want.is(e.reason()),
                "{label}: field {field}: expected {want:?}, got {:?}",
                e.reason()
            );
            // The message names the field, for logs and API responses.
            assert!(e.to_string().contains(field), "{label}: {e}");
        }
    }
}

/// Like [`refused`], for operations returning the crate [`Error`].
#[track_caller]
pub(crate) fn invalid<T: Debug>(label: &str, result: Result<T, Error>, field: &str, want: R) {
    match result {
        Err(Error::Invalid(e)) => refused(label, Err::<(), _>(e), field, want),
        other => panic!("{label}: expected Error::Invalid({field} {want:?}), got {other:?}"),
    }
}

pub(crate) fn t(days: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
}

pub(crate) fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

pub(crate) fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

pub(crate) fn wid(n: u128) -> WorkflowId {
    WorkflowId::from_uuid(Uuid::from_u128(n))
}

pub(crate) fn user() -> UserId {
    UserId::parse("user-1").expect("valid user id")
}

pub(crate) fn long(n: usize) -> String {
    "x".repeat(n)
}

pub(crate) type Edit<T> = fn(&mut T);

// ---------------------------------------------------------------------------
// Fixtures: a workflow
// ---------------------------------------------------------------------------

pub(crate) fn content(tier: PricingTier, price: Option<Money>) -> WorkflowContent {
    WorkflowContent {
        slug: Slug::parse("lead-capture").expect("valid"),
        title: "Lead capture".into(),
        short_description: "Capture leads".into(),
        description: String::new(),
        category_id: CategoryId::from_uuid(Uuid::nil()),
        wedge: Wedge::default(),
        pricing_tier: tier,
        price,
        media: Media::default(),
        features: vec![],
        requirements: vec![],
        includes: vec![],
        tags: vec![],
        seo: Seo::default(),
        update_months: None,
        download_limit: None,
    }
}

// ---------------------------------------------------------------------------
// Fixtures: a purchase
// ---------------------------------------------------------------------------

pub(crate) fn new_purchase() -> NewPurchase {
    NewPurchase {
        user_id: user(),
        item: PurchaseItem::Workflow {
            workflow_id: wid(1),
        },
        license_type: LicenseType::Personal,
        amount: usd(4900),
        tax: usd(931),
        download_limit: Some(5),
        license_expires_at: None,
        update_months: Some(12),
        provider: ProviderRefs::default(),
    }
}

pub(crate) fn build_purchase(n: NewPurchase) -> Result<Purchase, Error> {
    n.build(
        PurchaseId::from_uuid(Uuid::nil()),
        LicenseKey::generate(&SeededEntropy::new(7)).hash(),
        t(0),
    )
}

// ---------------------------------------------------------------------------
// Fixtures: a membership
// ---------------------------------------------------------------------------

pub(crate) fn new_membership() -> NewMembership {
    NewMembership {
        user_id: user(),
        tier: PricingTier::Pro,
        period: Period::new(t(0), t(30)).expect("valid"),
        trial: false,
        period_download_limit: Some(10),
        features: BTreeMap::new(),
        provider: ProviderRefs::default(),
    }
}

pub(crate) fn membership() -> Membership {
    new_membership()
        .build(MembershipId::from_uuid(Uuid::nil()), t(0))
        .expect("valid")
}

// ---------------------------------------------------------------------------
// Properties: the shared check and strategies
// ---------------------------------------------------------------------------

/// A string constructor never panics. What it accepts re-parses from its
/// display form, serializes as that form and deserializes back; deserializing
/// the raw input agrees with the constructor either way.
pub(crate) fn string_ctor_agrees<T, P, S>(
    input: &str,
    parse: P,
    show: S,
) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
    P: Fn(&str) -> Result<T, ValidationError>,
    S: Fn(&T) -> String,
{
    let raw_json = serde_json::to_string(input).expect("a string serializes");
    match parse(input) {
        Ok(v) => {
            let shown = show(&v);
            let reparsed = parse(&shown).ok();
            prop_assert_eq!(reparsed.as_ref(), Some(&v), "display re-parses");
            let json = serde_json::to_string(&v).expect("serializes");
            prop_assert_eq!(&json, &serde_json::to_string(&shown).expect("string"));
            let back = serde_json::from_str::<T>(&json).ok();
            prop_assert_eq!(back.as_ref(), Some(&v));
            let raw = serde_json::from_str::<T>(&raw_json).ok();
            prop_assert_eq!(raw.as_ref(), Some(&v));
        }
        Err(e) => {
            prop_assert!(!e.field().is_empty());
            prop_assert!(
                serde_json::from_str::<T>(&raw_json).is_err(),
                "serde accepted {:?}",
                input
            );
        }
    }
    Ok(())
}

/// Arbitrary text, with a bias toward `near` (strings close to valid).
pub(crate) fn text(near: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC{0,140}", "[ -~]{0,70}", near,]
}

/// Any decimal Rust can hold: every mantissa, every scale.
pub(crate) fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        (any::<i32>(), 0u32..=6).prop_map(|(m, s)| Decimal::new(i64::from(m), s)),
    ]
}

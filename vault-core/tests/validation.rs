//! Validation at the public boundary of vault-core.
//!
//! The requirement: every value is checked when it is built, bad input never
//! panics, and every typed error bad input can produce is pinned down by a
//! test naming the exact field and [`Reason`] variant.
//!
//! * The tables below list, per constructor (`parse`, `new`, `new_field`,
//!   `price`, `validate`, `build`, `FromStr`), one row per distinct class of
//!   bad input with the field and reason it must produce.
//! * Cross-field rules (free tier with a price, bundle above its original
//!   price, duplicate members, reversed periods, refunds above the total, tax
//!   in another currency, non-increasing versions, …) have their own rows.
//! * Property tests feed arbitrary unicode to every string constructor: it
//!   never panics, what it accepts round-trips through `Display`/`as_str` and
//!   serde_json, and what it refuses serde refuses too.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rust_decimal::{Decimal, dec};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use vault_core::catalog::bundle::{
    BundlePricing, NewBundle, allocate_revenue, complete_the_bundle,
};
use vault_core::catalog::category::{NewCategory, core_systems};
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::query::{Cursor, PriceRange, SortKey, WorkflowQuery, WorkflowSort};
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::catalog::wedge::{
    Complexity, DigitalMaturity, ExcellenceTier, GrowthPotential, Score, Wedge,
};
use vault_core::catalog::workflow::{
    Media, Seo, Tag, Workflow, WorkflowContent, WorkflowStatus, parse_tags,
};
use vault_core::commerce::license::{LicenseKey, LicenseType};
use vault_core::commerce::membership::{
    Membership, MembershipEvent, MembershipStatus, NewMembership, Period,
};
use vault_core::commerce::purchase::{
    NewPurchase, PaymentRef, PaymentStatus, ProviderRefs, Purchase, PurchaseItem, PurchaseType,
};
use vault_core::commerce::refund::{PaymentEvent, cascade};
use vault_core::community::favorite::Favorite;
use vault_core::community::rating::{
    BayesianPrior, Contribution, DimensionRatings, DimensionTotals, Rating, RatingAggregate,
    RatingDelta,
};
use vault_core::community::review::{ModerationStatus, ReviewInput, Vote};
use vault_core::delivery::download::{DownloadKind, IpHash, IpSalt, check_header};
use vault_core::value::actor::{Actor, UserId};
use vault_core::value::clock::SeededEntropy;
use vault_core::value::country::CountryCode;
use vault_core::value::error::Reason;
use vault_core::value::ids::{
    BundleId, CategoryId, DownloadId, FileId, MembershipId, PurchaseId, ReviewId, UpdateId,
    WorkflowId,
};
use vault_core::value::money::{Currency, MAX_MINOR, MIN_MINOR, Money, MoneyError};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::{Error, ValidationError};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The expected [`Reason`] of a row, with the payload where it is fixed by
/// the API (maximum lengths, decimal places).
#[derive(Debug, Clone, Copy)]
enum R {
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
fn refused<T: Debug>(label: &str, result: Result<T, ValidationError>, field: &str, want: R) {
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
fn invalid<T: Debug>(label: &str, result: Result<T, Error>, field: &str, want: R) {
    match result {
        Err(Error::Invalid(e)) => refused(label, Err::<(), _>(e), field, want),
        other => panic!("{label}: expected Error::Invalid({field} {want:?}), got {other:?}"),
    }
}

fn t(days: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn wid(n: u128) -> WorkflowId {
    WorkflowId::from_uuid(Uuid::from_u128(n))
}

fn user() -> UserId {
    UserId::parse("user-1").expect("valid user id")
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

// ---------------------------------------------------------------------------
// String newtypes
// ---------------------------------------------------------------------------

#[test]
fn slug_parse() {
    let cases: &[(&str, &str, R)] = &[
        ("empty", "", R::Empty),
        ("101 chars", &"a".repeat(101), R::TooLong(100)),
        ("leading hyphen", "-a", R::Format),
        ("trailing hyphen", "a-", R::Format),
        ("double hyphen", "a--b", R::Format),
        ("uppercase", "Lead", R::Format),
        ("space", "a b", R::Format),
        ("underscore", "a_b", R::Format),
        ("non-ascii", "café", R::Format),
        ("51 non-ascii chars", &"é".repeat(51), R::Format),
        ("only a hyphen", "-", R::Format),
        ("control", "a\u{0}b", R::Format),
    ];
    for (label, input, want) in cases {
        refused(label, Slug::parse(input), "slug", *want);
        refused(
            label,
            Slug::parse_field("bundle_slug", input),
            "bundle_slug",
            *want,
        );
        refused(label, Slug::try_from((*input).to_owned()), "slug", *want);
    }
    assert_eq!(
        Slug::parse(&"a".repeat(100))
            .expect("100 ok")
            .as_str()
            .len(),
        100
    );
    // A title with nothing slug-worthy yields the empty slug, refused.
    refused(
        "title of symbols",
        Slug::from_title("!!! ???"),
        "slug",
        R::Empty,
    );
    refused("blank title", Slug::from_title(""), "slug", R::Empty);
    // A long title is trimmed, never refused as too long.
    assert!(Slug::from_title(&"word ".repeat(100)).is_ok());
}

#[test]
fn version_parse() {
    let bad = [
        "",
        "v",
        "1",
        "1.2",
        "1.2.3.4",
        "1..3",
        "01.2.3",
        "1.02.3",
        "1.-2.3",
        "1.+2.3",
        "a.b.c",
        "1.2.3-beta",
        "1.2.3+build",
        "99999999999.0.0",
        "4294967296.0.0",
        " 1.2.3",
        "1.2.3 ",
        "V1.2.3",
        "vv1.2.3",
        "١.٢.٣",
    ];
    for input in bad {
        refused(input, Version::parse(input), "version", R::Format);
        refused(input, input.parse::<Version>(), "version", R::Format);
        refused(
            input,
            Version::try_from(input.to_owned()),
            "version",
            R::Format,
        );
    }
    assert_eq!(
        Version::parse("v4294967295.0.0").expect("max"),
        Version::new(u32::MAX, 0, 0)
    );
}

#[test]
fn country_code_parse() {
    let cases = [
        ("", R::Format),
        ("U", R::Format),
        ("USA", R::Format),
        ("1A", R::Format),
        ("É1", R::Format),
        ("Ü", R::Format),
        ("u ", R::Format),
        ("XX", R::Unknown),
        ("zz", R::Unknown),
        ("UK", R::Unknown),
    ];
    for (input, want) in cases {
        refused(input, CountryCode::parse(input), "country_code", want);
    }
    assert_eq!(CountryCode::parse("gb").expect("valid").as_str(), "GB");
}

#[test]
fn user_id_and_actor() {
    let cases: &[(&str, &str, R)] = &[
        ("empty", "", R::Empty),
        ("blank", "   ", R::Empty),
        ("129 chars", &long(129), R::TooLong(128)),
        ("bell", "a\u{7}b", R::Format),
        ("nul", "a\u{0}", R::Format),
        ("leading space", " user", R::Format),
        ("trailing space", "user ", R::Format),
        ("tab", "a\tb", R::Format),
        ("newline", "a\nb", R::Format),
        ("carriage return", "a\rb", R::Format),
    ];
    for (label, input, want) in cases {
        refused(label, UserId::parse(input), "user_id", *want);
        refused(label, Actor::user(input), "user_id", *want);
        refused(label, Actor::admin(input), "user_id", *want);
    }
    assert!(UserId::parse(&long(128)).is_ok());
    assert!(
        UserId::parse("auth0|5f7c 8ab").is_ok(),
        "inner spaces are fine"
    );
    // An actor deserialized from a request checks its user id too.
    assert!(serde_json::from_str::<Actor>(r#"{"kind":"user","user_id":""}"#).is_err());
    assert!(serde_json::from_str::<Actor>(r#"{"kind":"admin","user_id":" x"}"#).is_err());
    assert_eq!(
        serde_json::from_str::<Actor>(r#"{"kind":"user","user_id":"u1"}"#).expect("valid"),
        Actor::user("u1").expect("valid")
    );
}

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
fn checksum_and_ip_hash_parse() {
    let hex64 = "a".repeat(64);
    for input in [
        String::new(),
        "abc".into(),
        "a".repeat(63),
        "a".repeat(65),
        "g".repeat(64),
        format!("{} ", "a".repeat(63)),
        "é".repeat(32),
    ] {
        refused(&input, Checksum::parse(&input), "checksum", R::Format);
        refused(&input, IpHash::parse(&input), "ip_hash", R::Format);
    }
    assert!(
        Checksum::parse(&hex64.to_uppercase()).is_ok(),
        "either case"
    );
    // Stored IP hashes are lowercase only.
    refused(
        "uppercase ip hash",
        IpHash::parse(&hex64.to_uppercase()),
        "ip_hash",
        R::Format,
    );
    assert!(IpHash::parse(&hex64).is_ok());
}

#[test]
fn ip_salt_new() {
    refused("empty", IpSalt::new(Vec::new()), "ip_salt", R::OutOfRange);
    refused(
        "15 bytes",
        IpSalt::new(vec![7u8; 15]),
        "ip_salt",
        R::OutOfRange,
    );
    assert!(IpSalt::new(vec![7u8; 16]).is_ok());
}

#[test]
fn check_header_text() {
    refused(
        "2049 chars",
        check_header("referrer", &long(2049)),
        "referrer",
        R::TooLong(2048),
    );
    refused(
        "control",
        check_header("user_agent", "curl\u{1b}[0m"),
        "user_agent",
        R::Format,
    );
    assert!(check_header("referrer", "").is_ok(), "headers are optional");
    assert!(check_header("referrer", &long(2048)).is_ok());
}

#[test]
fn tag_parse() {
    let cases: &[(&str, &str, R)] = &[
        ("empty", "", R::Empty),
        ("blank", " \t ", R::Empty),
        ("51 chars", &long(51), R::TooLong(50)),
        ("slash", "a/b", R::Format),
        ("underscore", "a_b", R::Format),
        ("hash", "#crm", R::Format),
        ("control", "a\u{0}b", R::Format),
        ("inner tab", "a\tb", R::Format),
    ];
    for (label, input, want) in cases {
        refused(label, Tag::parse(input), "tags", *want);
        refused(label, parse_tags(&["ok", input]), "tags", *want);
    }
    assert_eq!(
        Tag::parse("  Lead Gen 2.0 ").expect("valid").as_str(),
        "lead gen 2.0"
    );
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

#[test]
fn id_parse() {
    fn check<T: FromStr<Err = ValidationError> + Debug>(field: &str) {
        for bad in [
            "",
            "42",
            "not-a-uuid",
            "00000000-0000-0000-0000-00000000000g",
        ] {
            refused(bad, bad.parse::<T>(), field, R::Format);
        }
        assert!("67e55044-10b1-426f-9247-bb680e5fe0c8".parse::<T>().is_ok());
    }
    check::<CategoryId>("category_id");
    check::<WorkflowId>("workflow_id");
    check::<FileId>("file_id");
    check::<MembershipId>("membership_id");
    check::<PurchaseId>("purchase_id");
    check::<DownloadId>("download_id");
    check::<ReviewId>("review_id");
    check::<UpdateId>("update_id");
    check::<BundleId>("bundle_id");
}

// ---------------------------------------------------------------------------
// Named enums
// ---------------------------------------------------------------------------

/// Every value round-trips through `Display`, `FromStr` and serde under the
/// same name; near misses are `Unknown` for `field`, and serde refuses them.
fn check_named_enum<T>(field: &str, all: &[T])
where
    T: FromStr<Err = ValidationError> + Display + Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert!(!all.is_empty());
    for v in all {
        let name = v.to_string();
        assert_eq!(&name.parse::<T>().expect("own name parses"), v);
        let json = serde_json::to_string(v).expect("serializes");
        assert_eq!(
            json,
            serde_json::to_string(&name).expect("string"),
            "{field}"
        );
        assert_eq!(&serde_json::from_str::<T>(&json).expect("deserializes"), v);
        let mut near_misses = vec![
            name.to_uppercase(),
            format!(" {name}"),
            format!("{name} "),
            format!("{name}s"),
        ];
        if name.contains('_') {
            near_misses.push(name.replace('_', "-"));
            near_misses.push(name.replace('_', " "));
        }
        for bad in near_misses.into_iter().filter(|b| *b != name) {
            refused(&bad, bad.parse::<T>(), field, R::Unknown);
            let json = serde_json::to_string(&bad).expect("string");
            assert!(
                serde_json::from_str::<T>(&json).is_err(),
                "{field}: serde took {bad:?}"
            );
        }
    }
    for bad in ["", "gold", "unknown", "null", "0", "🙂"] {
        refused(bad, bad.parse::<T>(), field, R::Unknown);
    }
}

#[test]
fn named_enums_from_str() {
    check_named_enum("pricing_tier", &PricingTier::ALL);
    check_named_enum("status", WorkflowStatus::ALL);
    check_named_enum("workflow_complexity", Complexity::ALL);
    check_named_enum("digital_maturity", DigitalMaturity::ALL);
    check_named_enum("growth_potential", GrowthPotential::ALL);
    check_named_enum("excellence_tier", ExcellenceTier::ALL);
    check_named_enum("file_kind", FileKind::ALL);
    check_named_enum("license_type", LicenseType::ALL);
    check_named_enum("payment_status", PaymentStatus::ALL);
    check_named_enum("purchase_type", PurchaseType::ALL);
    check_named_enum("status", MembershipStatus::ALL);
    check_named_enum("moderation_status", ModerationStatus::ALL);
    check_named_enum("vote", Vote::ALL);
    check_named_enum("download_type", DownloadKind::ALL);
    check_named_enum("change_kind", ChangeKind::ALL);
}

// ---------------------------------------------------------------------------
// Numbers: money, scores, ratings
// ---------------------------------------------------------------------------

#[test]
fn currency_parse() {
    let cases = [
        ("", R::Format),
        ("US", R::Format),
        ("USDD", R::Format),
        ("U$D", R::Format),
        ("1SD", R::Format),
        ("ÜSD", R::Format),
        ("XYZ", R::Unknown),
        ("xxx", R::Unknown),
        ("DEM", R::Unknown),
    ];
    for (input, want) in cases {
        refused(input, Currency::parse(input), "currency", want);
        refused(
            input,
            Currency::try_from(input.to_owned()),
            "currency",
            want,
        );
    }
    assert_eq!(Currency::parse("kwd").expect("valid").exponent(), 3);
}

#[test]
fn money_new_new_field_and_price() {
    let kwd = Currency::parse("KWD").expect("valid");
    let clf = Currency::parse("CLF").expect("valid");
    let usd_max = Decimal::new(MAX_MINOR, 2);
    let precision: &[(&str, Decimal, Currency, u32)] = &[
        ("a tenth of a cent", dec!(19.999), Currency::USD, 2),
        ("negative tenth of a cent", dec!(-0.001), Currency::USD, 2),
        ("half a yen", dec!(5.5), Currency::JPY, 0),
        ("a tenth of a fils", dec!(1.0001), kwd, 3),
        ("five places of CLF", dec!(1.00001), clf, 4),
        ("28 places", Decimal::new(1, 28), Currency::EUR, 2),
    ];
    for (label, amount, currency, places) in precision {
        refused(
            label,
            Money::new(*amount, *currency),
            "amount",
            R::Precision(*places),
        );
        refused(
            label,
            Money::new_field("refund_amount", *amount, *currency),
            "refund_amount",
            R::Precision(*places),
        );
        refused(
            label,
            Money::price("price", *amount, *currency),
            "price",
            R::Precision(*places),
        );
    }
    // Too large to hold to the minor unit: refused, never silently rounded.
    for (label, amount) in [
        ("Decimal::MAX", Decimal::MAX),
        ("Decimal::MIN", Decimal::MIN),
    ] {
        refused(
            label,
            Money::new(amount, Currency::USD),
            "amount",
            R::OutOfRange,
        );
        refused(
            label,
            Money::price("price", amount, Currency::EUR),
            "price",
            R::OutOfRange,
        );
    }
    assert!(Money::new(usd_max, Currency::USD).is_ok());
    assert!(Money::new(Decimal::from(MAX_MINOR), Currency::JPY).is_ok());
    // One minor unit past what every store holds.
    refused(
        "past MAX_MINOR",
        Money::new(Decimal::from(MAX_MINOR) + Decimal::ONE, Currency::JPY),
        "amount",
        R::OutOfRange,
    );
    // Prices must not be negative; other amounts (refund deltas) may.
    refused(
        "negative price",
        Money::price("price", dec!(-1), Currency::USD),
        "price",
        R::Negative,
    );
    refused(
        "negative cent",
        Money::price("bundle_price", dec!(-0.01), Currency::USD),
        "bundle_price",
        R::Negative,
    );
    assert!(Money::new(dec!(-1), Currency::USD).is_ok());
    assert!(
        Money::price("price", dec!(-0), Currency::USD).is_ok(),
        "-0 is zero"
    );
    assert!(
        Money::new(dec!(19.990000), Currency::USD).is_ok(),
        "trailing zeros are fine"
    );
}

#[test]
fn money_arithmetic_errors_are_typed() {
    assert!(matches!(
        usd(1).checked_add(&eur(1)),
        Err(MoneyError::CurrencyMismatch { expected, found })
            if expected == Currency::USD && found == Currency::EUR
    ));
    assert!(matches!(
        usd(1).checked_sub(&eur(1)),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        usd(1).checked_cmp(&eur(1)),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        Money::sum(Currency::USD, [&usd(1), &eur(1)]),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    let jpy_max = Money::from_minor(MAX_MINOR, Currency::JPY);
    let one_yen = Money::from_minor(1, Currency::JPY);
    assert!(matches!(
        jpy_max.checked_add(&one_yen),
        Err(MoneyError::Overflow { .. })
    ));
    assert!(matches!(
        Money::from_minor(MIN_MINOR, Currency::JPY).checked_sub(&one_yen),
        Err(MoneyError::Overflow { .. })
    ));
    assert!(matches!(
        jpy_max.mul_round(dec!(2)),
        Err(MoneyError::Overflow { .. })
    ));
    assert_eq!(jpy_max.to_minor(), Some(MAX_MINOR), "every amount converts");
    // allocate: weights and amount are checked.
    invalid(
        "no weights",
        usd(100).allocate(&[]).map_err(Error::from),
        "weights",
        R::Inconsistent,
    );
    invalid(
        "negative weight",
        usd(100).allocate(&[dec!(1), dec!(-1)]).map_err(Error::from),
        "weights",
        R::Negative,
    );
    invalid(
        "negative amount",
        usd(-100).allocate(&[dec!(1)]).map_err(Error::from),
        "amount",
        R::Negative,
    );
    // The largest amount splits exactly, without overflowing.
    let parts = jpy_max.allocate(&[dec!(1), dec!(2)]).expect("splits");
    assert_eq!(
        parts
            .iter()
            .filter_map(Money::to_minor)
            .map(i128::from)
            .sum::<i128>(),
        i128::from(MAX_MINOR)
    );
}

#[test]
fn score_new() {
    let cases = [
        ("above ten", dec!(10.1), R::OutOfRange),
        ("far above", dec!(11), R::OutOfRange),
        ("below zero", dec!(-0.1), R::OutOfRange),
        ("huge", Decimal::MAX, R::OutOfRange),
        ("two places", dec!(7.25), R::Precision(1)),
        ("many places", dec!(0.0001), R::Precision(1)),
    ];
    for (label, value, want) in cases {
        refused(label, Score::new("wedge_score", value), "wedge_score", want);
        refused(
            label,
            Score::new("efficiency_rating", value),
            "efficiency_rating",
            want,
        );
    }
    for ok in [dec!(0), dec!(10), dec!(10.00), dec!(7.5), dec!(7.50)] {
        assert!(Score::new("wedge_score", ok).is_ok(), "{ok}");
    }
    assert!(serde_json::from_str::<Score>(r#""10.5""#).is_err());
    assert!(serde_json::from_str::<Score>(r#""7.25""#).is_err());
    assert!(serde_json::from_str::<Wedge>(
        r#"{"score":"11","complexity":"beginner","efficiency":"1","digital_maturity":"foundational","growth_potential":"low","excellence_tier":"standard"}"#
    )
    .is_err());
}

#[test]
fn rating_new_and_new_field() {
    for stars in [0u8, 6, 7, 255] {
        let label = stars.to_string();
        refused(&label, Rating::new(stars), "rating", R::OutOfRange);
        refused(
            &label,
            Rating::new_field("rating_growth", stars),
            "rating_growth",
            R::OutOfRange,
        );
        refused(&label, Rating::try_from(stars), "rating", R::OutOfRange);
        assert!(serde_json::from_str::<Rating>(&label).is_err());
    }
    for stars in 1..=5u8 {
        assert_eq!(Rating::new(stars).expect("valid").stars(), stars);
    }
}

#[test]
fn bayesian_prior_new() {
    let cases = [
        ("zero", dec!(0), R::OutOfRange),
        ("below one", dec!(0.99), R::OutOfRange),
        ("above five", dec!(5.01), R::OutOfRange),
        ("negative", dec!(-3), R::OutOfRange),
        ("huge", Decimal::MAX, R::OutOfRange),
        ("three places", dec!(3.333), R::Precision(2)),
    ];
    for (label, mean, want) in cases {
        refused(label, BayesianPrior::new(10, mean), "prior_mean", want);
        let json = format!(r#"{{"weight":10,"mean":"{mean}"}}"#);
        assert!(
            serde_json::from_str::<BayesianPrior>(&json).is_err(),
            "{label}"
        );
    }
    assert!(BayesianPrior::new(0, dec!(1)).is_ok());
    assert!(BayesianPrior::new(u32::MAX, dec!(4.99)).is_ok());
}

#[test]
fn rating_aggregate_from_parts() {
    let none = [DimensionTotals::default(); 5];
    let dim = |count, sum| {
        let mut d = none;
        d[2] = DimensionTotals { count, sum };
        d
    };
    refused(
        "count overflows",
        RatingAggregate::from_parts([u64::MAX, 1, 0, 0, 0], none),
        "rating_stars",
        R::OutOfRange,
    );
    refused(
        "sum overflows",
        RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 5 + 1], none),
        "rating_stars",
        R::OutOfRange,
    );
    let one = [0, 0, 0, 1, 0];
    let cases = [
        ("sum below count", dim(1, 0), R::Inconsistent),
        ("sum above five times count", dim(1, 6), R::Inconsistent),
        ("sum without count", dim(0, 3), R::Inconsistent),
        ("more raters than reviews", dim(2, 8), R::Inconsistent),
    ];
    for (label, dims, want) in cases {
        refused(
            label,
            RatingAggregate::from_parts(one, dims),
            "rating_dimensions",
            want,
        );
    }
    assert!(RatingAggregate::from_parts(one, dim(1, 5)).is_ok());
    assert!(RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 5], none).is_ok());
    // Serde goes through from_parts.
    let bad = r#"{"stars":[0,0,0,1,0],"dimensions":[{"count":0,"sum":0},{"count":0,"sum":0},{"count":1,"sum":9},{"count":0,"sum":0},{"count":0,"sum":0}]}"#;
    assert!(serde_json::from_str::<RatingAggregate>(bad).is_err());
    // A delta that takes a count below zero is refused, not wrapped.
    let c = Contribution {
        overall: Rating::new(3).expect("valid"),
        dimensions: DimensionRatings::default(),
    };
    let remove = RatingDelta::between(Some(&c), None);
    assert!(matches!(
        RatingAggregate::default().apply(&remove),
        Err(Error::Overflow { .. })
    ));
}

// ---------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------

fn content(tier: PricingTier, price: Option<Money>) -> WorkflowContent {
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

type Edit<T> = fn(&mut T);

#[test]
fn workflow_content_validate() {
    let cases: &[(&str, Edit<WorkflowContent>, &str, R)] = &[
        (
            "empty title",
            |c| c.title = String::new(),
            "title",
            R::Empty,
        ),
        (
            "blank title",
            |c| c.title = " \n ".into(),
            "title",
            R::Empty,
        ),
        (
            "long title",
            |c| c.title = long(201),
            "title",
            R::TooLong(200),
        ),
        (
            "control in title",
            |c| c.title = "a\u{8}b".into(),
            "title",
            R::Format,
        ),
        (
            "long card text",
            |c| c.short_description = long(501),
            "short_description",
            R::TooLong(500),
        ),
        (
            "control in card text",
            |c| c.short_description = "\u{0}".into(),
            "short_description",
            R::Format,
        ),
        (
            "long description",
            |c| c.description = long(20_001),
            "description",
            R::TooLong(20_000),
        ),
        (
            "control in description",
            |c| c.description = "\u{7f}".into(),
            "description",
            R::Format,
        ),
        (
            "empty thumbnail",
            |c| c.media.thumbnail_url = Some(String::new()),
            "thumbnail_url",
            R::Empty,
        ),
        (
            "ftp thumbnail",
            |c| c.media.thumbnail_url = Some("ftp://x/a.png".into()),
            "thumbnail_url",
            R::Format,
        ),
        (
            "long thumbnail",
            |c| c.media.thumbnail_url = Some(format!("https://{}", long(2041))),
            "thumbnail_url",
            R::TooLong(2048),
        ),
        (
            "21 previews",
            |c| c.media.preview_images = vec!["/a.png".into(); 21],
            "preview_images",
            R::TooLong(20),
        ),
        (
            "relative preview",
            |c| c.media.preview_images = vec!["a.png".into()],
            "preview_images",
            R::Format,
        ),
        (
            "blank preview",
            |c| c.media.preview_images = vec![" ".into()],
            "preview_images",
            R::Empty,
        ),
        (
            "script video",
            |c| c.media.video_url = Some("javascript:alert(1)".into()),
            "video_url",
            R::Format,
        ),
        (
            "video with space",
            |c| c.media.video_url = Some("https://x.test/a b".into()),
            "video_url",
            R::Format,
        ),
        (
            "relative demo",
            |c| c.media.demo_url = Some("demo".into()),
            "demo_url",
            R::Format,
        ),
        (
            "51 features",
            |c| c.features = vec!["f".into(); 51],
            "features",
            R::TooLong(50),
        ),
        (
            "blank feature",
            |c| c.features = vec!["".into()],
            "features",
            R::Empty,
        ),
        (
            "long feature",
            |c| c.features = vec![long(501)],
            "features",
            R::TooLong(500),
        ),
        (
            "51 requirements",
            |c| c.requirements = vec!["r".into(); 51],
            "requirements",
            R::TooLong(50),
        ),
        (
            "blank requirement",
            |c| c.requirements = vec![" ".into()],
            "requirements",
            R::Empty,
        ),
        (
            "control requirement",
            |c| c.requirements = vec!["\u{1}".into()],
            "requirements",
            R::Format,
        ),
        (
            "51 includes",
            |c| c.includes = vec!["i".into(); 51],
            "includes",
            R::TooLong(50),
        ),
        (
            "long include",
            |c| c.includes = vec![long(501)],
            "includes",
            R::TooLong(500),
        ),
        (
            "21 tags",
            |c| {
                c.tags = (0..21)
                    .map(|i| Tag::parse(&format!("t{i}")).expect("tag"))
                    .collect()
            },
            "tags",
            R::TooLong(20),
        ),
        (
            "empty meta title",
            |c| c.seo.meta_title = Some(String::new()),
            "meta_title",
            R::Empty,
        ),
        (
            "long meta title",
            |c| c.seo.meta_title = Some(long(201)),
            "meta_title",
            R::TooLong(200),
        ),
        (
            "long meta description",
            |c| c.seo.meta_description = Some(long(501)),
            "meta_description",
            R::TooLong(500),
        ),
        (
            "blank meta description",
            |c| c.seo.meta_description = Some(" ".into()),
            "meta_description",
            R::Empty,
        ),
        (
            "31 keywords",
            |c| c.seo.keywords = vec!["k".into(); 31],
            "seo_keywords",
            R::TooLong(30),
        ),
        (
            "blank keyword",
            |c| c.seo.keywords = vec!["".into()],
            "seo_keywords",
            R::Empty,
        ),
        (
            "long keyword",
            |c| c.seo.keywords = vec![long(101)],
            "seo_keywords",
            R::TooLong(100),
        ),
        (
            "zero update months",
            |c| c.update_months = Some(0),
            "update_months",
            R::OutOfRange,
        ),
        (
            "zero download limit",
            |c| c.download_limit = Some(0),
            "download_limit",
            R::OutOfRange,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut c = content(PricingTier::Pro, Some(usd(4900)));
        c.validate().expect("base content is valid");
        edit(&mut c);
        refused(label, c.validate(), field, *want);
        refused(
            label,
            Workflow::new_draft(WorkflowId::from_uuid(Uuid::nil()), c, t(0)),
            field,
            *want,
        );
    }
}

#[test]
fn workflow_pricing_cross_field() {
    let cases = [
        (
            "free tier with a price",
            PricingTier::Free,
            Some(usd(100)),
            R::Inconsistent,
        ),
        (
            "free tier with a negative price",
            PricingTier::Free,
            Some(usd(-100)),
            R::Inconsistent,
        ),
        (
            "paid tier priced at zero",
            PricingTier::Pro,
            Some(usd(0)),
            R::Inconsistent,
        ),
        (
            "paid tier with a negative price",
            PricingTier::Basic,
            Some(usd(-1)),
            R::Negative,
        ),
        (
            "enterprise priced at zero yen",
            PricingTier::Enterprise,
            Some(Money::zero(Currency::JPY)),
            R::Inconsistent,
        ),
    ];
    for (label, tier, price, want) in cases {
        refused(label, content(tier, price).validate(), "price", want);
    }
    for (tier, price) in [
        (PricingTier::Free, None),
        (PricingTier::Free, Some(usd(0))),
        (PricingTier::Pro, None),
        (PricingTier::Pro, Some(usd(4900))),
    ] {
        assert!(content(tier, price).validate().is_ok(), "{tier} {price:?}");
    }
}

// ---------------------------------------------------------------------------
// Files, categories, updates
// ---------------------------------------------------------------------------

fn new_file() -> NewFile {
    NewFile {
        workflow_id: wid(1),
        kind: FileKind::Make,
        file_name: "blueprint.json".into(),
        storage_key: "wf/1/blueprint.json".into(),
        mime_type: "application/json".into(),
        version: Version::default(),
        is_primary: true,
        access: FileAccess::Standard,
        size_bytes: 10,
        checksum: Checksum::of(b"{}"),
    }
}

#[test]
fn new_file_validate_and_build() {
    let cases: &[(&str, Edit<NewFile>, &str, R)] = &[
        (
            "empty name",
            |f| f.file_name = String::new(),
            "file_name",
            R::Empty,
        ),
        (
            "blank name",
            |f| f.file_name = "  ".into(),
            "file_name",
            R::Empty,
        ),
        (
            "long name",
            |f| f.file_name = long(256),
            "file_name",
            R::TooLong(255),
        ),
        (
            "control in name",
            |f| f.file_name = "a\u{0}.json".into(),
            "file_name",
            R::Format,
        ),
        (
            "slash in name",
            |f| f.file_name = "../etc/passwd".into(),
            "file_name",
            R::Format,
        ),
        (
            "backslash in name",
            |f| f.file_name = "..\\boot.ini".into(),
            "file_name",
            R::Format,
        ),
        ("dot", |f| f.file_name = ".".into(), "file_name", R::Format),
        (
            "dot dot",
            |f| f.file_name = "..".into(),
            "file_name",
            R::Format,
        ),
        (
            "empty storage key",
            |f| f.storage_key = String::new(),
            "storage_key",
            R::Empty,
        ),
        (
            "long storage key",
            |f| f.storage_key = long(1025),
            "storage_key",
            R::TooLong(1024),
        ),
        (
            "control in storage key",
            |f| f.storage_key = "k\u{1b}".into(),
            "storage_key",
            R::Format,
        ),
        (
            "empty mime type",
            |f| f.mime_type = String::new(),
            "mime_type",
            R::Empty,
        ),
        (
            "long mime type",
            |f| f.mime_type = long(256),
            "mime_type",
            R::TooLong(255),
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut f = new_file();
        f.validate().expect("base file is valid");
        edit(&mut f);
        refused(label, f.validate(), field, *want);
        refused(
            label,
            f.build(FileId::from_uuid(Uuid::nil()), t(0)),
            field,
            *want,
        );
    }
    assert!(
        new_file()
            .build(FileId::from_uuid(Uuid::nil()), t(0))
            .is_ok()
    );
}

#[test]
fn new_category_validate_and_build() {
    let cases: &[(&str, Edit<NewCategory>, &str, R)] = &[
        ("empty name", |c| c.name = String::new(), "name", R::Empty),
        ("blank name", |c| c.name = " ".into(), "name", R::Empty),
        ("long name", |c| c.name = long(101), "name", R::TooLong(100)),
        (
            "control in name",
            |c| c.name = "a\u{1}".into(),
            "name",
            R::Format,
        ),
        (
            "long description",
            |c| c.description = long(2001),
            "description",
            R::TooLong(2000),
        ),
        ("long icon", |c| c.icon = long(33), "icon", R::TooLong(32)),
        (
            "long color",
            |c| c.color = long(33),
            "color",
            R::TooLong(32),
        ),
        (
            "control in color",
            |c| c.color = "#fff\u{0}".into(),
            "color",
            R::Format,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut c = core_systems().remove(0);
        c.validate().expect("seed category is valid");
        edit(&mut c);
        refused(label, c.validate(), field, *want);
        refused(
            label,
            c.build(CategoryId::from_uuid(Uuid::nil()), t(0)),
            field,
            *want,
        );
    }
}

fn new_update(version: Version) -> NewUpdate {
    NewUpdate {
        workflow_id: wid(1),
        version,
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Added,
            text: "Slack step".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: String::new(),
    }
}

#[test]
fn new_update_validate_and_build() {
    let cases: &[(&str, Edit<NewUpdate>, &str, R)] = &[
        (
            "no changelog",
            |u| u.changelog.clear(),
            "changelog",
            R::Empty,
        ),
        (
            "101 lines",
            |u| u.changelog = vec![u.changelog[0].clone(); 101],
            "changelog",
            R::TooLong(100),
        ),
        (
            "blank line",
            |u| u.changelog[0].text = " ".into(),
            "changelog",
            R::Empty,
        ),
        (
            "long line",
            |u| u.changelog[0].text = long(1001),
            "changelog",
            R::TooLong(1000),
        ),
        (
            "control in line",
            |u| u.changelog[0].text = "\u{0}".into(),
            "changelog",
            R::Format,
        ),
        (
            "201 added",
            |u| u.files_added = vec!["a".into(); 201],
            "files_added",
            R::TooLong(200),
        ),
        (
            "blank added",
            |u| u.files_added = vec!["".into()],
            "files_added",
            R::Empty,
        ),
        (
            "long modified",
            |u| u.files_modified = vec![long(256)],
            "files_modified",
            R::TooLong(255),
        ),
        (
            "blank removed",
            |u| u.files_removed = vec![" ".into()],
            "files_removed",
            R::Empty,
        ),
        (
            "201 removed",
            |u| u.files_removed = vec!["r".into(); 201],
            "files_removed",
            R::TooLong(200),
        ),
        (
            "long notes",
            |u| u.release_notes = long(20_001),
            "release_notes",
            R::TooLong(20_000),
        ),
        (
            "control in notes",
            |u| u.release_notes = "\u{7}".into(),
            "release_notes",
            R::Format,
        ),
    ];
    let id = UpdateId::from_uuid(Uuid::nil());
    for (label, edit, field, want) in cases {
        let mut u = new_update(Version::new(1, 1, 0));
        u.validate().expect("base update is valid");
        edit(&mut u);
        refused(label, u.validate(), field, *want);
        refused(label, u.build(id, None, t(0)), field, *want);
    }
    // Versions strictly increase.
    let previous = Version::new(1, 3, 0);
    for (label, v) in [
        ("same version", Version::new(1, 3, 0)),
        ("older patch", Version::new(1, 2, 9)),
        ("older major", Version::new(0, 9, 0)),
    ] {
        refused(
            label,
            new_update(v).build(id, Some(previous), t(0)),
            "version",
            R::Inconsistent,
        );
    }
    let u = new_update(Version::new(2, 0, 0))
        .build(id, Some(previous), t(0))
        .expect("newer");
    assert!(u.is_major);
    let u = new_update(Version::new(1, 3, 1))
        .build(id, Some(previous), t(0))
        .expect("newer");
    assert!(!u.is_major);
}

// ---------------------------------------------------------------------------
// Bundles
// ---------------------------------------------------------------------------

fn new_bundle() -> NewBundle {
    NewBundle {
        slug: Slug::parse("starter-pack").expect("valid"),
        name: "Starter pack".into(),
        description: String::new(),
        workflow_ids: vec![wid(1), wid(2)],
        price: usd(7900),
        valid_from: None,
        valid_until: None,
        seo: Seo::default(),
    }
}

#[test]
fn new_bundle_validate_and_build() {
    let cases: &[(&str, Edit<NewBundle>, &str, R)] = &[
        ("empty name", |b| b.name = String::new(), "name", R::Empty),
        ("long name", |b| b.name = long(201), "name", R::TooLong(200)),
        (
            "control in name",
            |b| b.name = "a\u{2}".into(),
            "name",
            R::Format,
        ),
        (
            "long description",
            |b| b.description = long(10_001),
            "description",
            R::TooLong(10_000),
        ),
        (
            "no members",
            |b| b.workflow_ids.clear(),
            "workflow_ids",
            R::OutOfRange,
        ),
        (
            "one member",
            |b| b.workflow_ids.truncate(1),
            "workflow_ids",
            R::OutOfRange,
        ),
        (
            "101 members",
            |b| b.workflow_ids = (0..101).map(wid).collect(),
            "workflow_ids",
            R::TooLong(100),
        ),
        (
            "duplicate member",
            |b| b.workflow_ids = vec![wid(1), wid(2), wid(1)],
            "workflow_ids",
            R::Inconsistent,
        ),
        (
            "negative price",
            |b| b.price = usd(-1),
            "price",
            R::Negative,
        ),
        (
            "window ends at its start",
            |b| {
                b.valid_from = Some(t(5));
                b.valid_until = Some(t(5));
            },
            "valid_until",
            R::Inconsistent,
        ),
        (
            "window ends before its start",
            |b| {
                b.valid_from = Some(t(5));
                b.valid_until = Some(t(4));
            },
            "valid_until",
            R::Inconsistent,
        ),
        (
            "long meta title",
            |b| b.seo.meta_title = Some(long(201)),
            "meta_title",
            R::TooLong(200),
        ),
    ];
    let id = BundleId::from_uuid(Uuid::nil());
    for (label, edit, field, want) in cases {
        let mut b = new_bundle();
        b.validate().expect("base bundle is valid");
        edit(&mut b);
        refused(label, b.validate(), field, *want);
        let prices = vec![usd(4900); b.workflow_ids.len()];
        invalid(label, b.build(id, &prices, t(0)), field, *want);
    }
    // Cross-field checks that need the member prices.
    invalid(
        "a price per member",
        new_bundle().build(id, &[usd(4900)], t(0)),
        "workflow_ids",
        R::Inconsistent,
    );
    invalid(
        "price above the original",
        new_bundle().build(id, &[usd(3000), usd(4000)], t(0)),
        "price",
        R::OutOfRange,
    );
    invalid(
        "a negative member price",
        new_bundle().build(id, &[usd(-100), usd(9000)], t(0)),
        "member_prices",
        R::Negative,
    );
    assert!(matches!(
        new_bundle().build(id, &[usd(4900), eur(4900)], t(0)),
        Err(Error::CurrencyMismatch { .. })
    ));
    let b = new_bundle()
        .build(id, &[usd(3900), usd(4000)], t(0))
        .expect("equal is fine");
    assert_eq!(b.original_price, usd(7900));
}

#[test]
fn bundle_pricing_rules() {
    invalid(
        "above original",
        BundlePricing::new(&[usd(100), usd(100)], usd(201)),
        "price",
        R::OutOfRange,
    );
    invalid(
        "negative",
        BundlePricing::new(&[usd(100)], usd(-1)),
        "price",
        R::Negative,
    );
    invalid(
        "no members, any price",
        BundlePricing::new(&[], usd(1)),
        "price",
        R::OutOfRange,
    );
    invalid(
        "negative member",
        BundlePricing::new(&[usd(-5), usd(10)], usd(1)),
        "member_prices",
        R::Negative,
    );
    assert!(matches!(
        BundlePricing::new(&[usd(100), eur(100)], usd(150)),
        Err(Error::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        BundlePricing::new(&[usd(100)], eur(50)),
        Err(Error::CurrencyMismatch { .. })
    ));
    // Near the top of the range: typed errors, not panics.
    let big = Money::from_minor(MAX_MINOR, Currency::JPY);
    assert!(matches!(
        BundlePricing::new(&[big, big], Money::zero(Currency::JPY)),
        Err(Error::Overflow { .. })
    ));
    assert!(BundlePricing::new(&[big], Money::zero(Currency::JPY)).is_ok());

    invalid(
        "one flag per member",
        complete_the_bundle(usd(100), &[usd(60), usd(60)], &[true]),
        "owned",
        R::Inconsistent,
    );
    assert!(matches!(
        complete_the_bundle(usd(100), &[usd(60), eur(60)], &[true, false]),
        Err(Error::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        allocate_revenue(usd(100), &[eur(60)]),
        Err(Error::CurrencyMismatch { .. })
    ));
    invalid(
        "no members to allocate to",
        allocate_revenue(usd(100), &[]),
        "weights",
        R::Inconsistent,
    );
}

// ---------------------------------------------------------------------------
// Purchases and refunds
// ---------------------------------------------------------------------------

fn new_purchase() -> NewPurchase {
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

fn build_purchase(n: NewPurchase) -> Result<Purchase, Error> {
    n.build(
        PurchaseId::from_uuid(Uuid::nil()),
        LicenseKey::generate(&SeededEntropy::new(7)),
        t(0),
    )
}

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

fn new_membership() -> NewMembership {
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

fn membership() -> Membership {
    new_membership()
        .build(MembershipId::from_uuid(Uuid::nil()), t(0))
        .expect("valid")
}

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
// Reviews, favorites, queries
// ---------------------------------------------------------------------------

#[test]
fn review_input_validate() {
    let cases: &[(&str, Edit<ReviewInput>, &str, R)] = &[
        (
            "long title",
            |r| r.title = long(201),
            "title",
            R::TooLong(200),
        ),
        (
            "control in title",
            |r| r.title = "a\u{0}".into(),
            "title",
            R::Format,
        ),
        (
            "long body",
            |r| r.body = long(10_001),
            "body",
            R::TooLong(10_000),
        ),
        (
            "control in body",
            |r| r.body = "\u{1b}[31m".into(),
            "body",
            R::Format,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut r = ReviewInput {
            rating: Rating::new(4).expect("valid"),
            dimensions: DimensionRatings::default(),
            title: String::new(),
            body: "Works\nwell".into(),
        };
        r.validate().expect("base review is valid");
        edit(&mut r);
        refused(label, r.validate(), field, *want);
    }
    // Stars are checked when the input is deserialized.
    let json = r#"{"rating":6,"dimensions":[null,null,null,null,null],"title":"","body":""}"#;
    assert!(serde_json::from_str::<ReviewInput>(json).is_err());
}

#[test]
fn favorite_validate() {
    let cases: &[(&str, Edit<Favorite>, &str, R)] = &[
        (
            "long note",
            |f| f.note = Some(long(2001)),
            "note",
            R::TooLong(2000),
        ),
        (
            "control in note",
            |f| f.note = Some("\u{0}".into()),
            "note",
            R::Format,
        ),
        (
            "21 tags",
            |f| {
                f.tags = (0..21)
                    .map(|i| Tag::parse(&format!("t{i}")).expect("tag"))
                    .collect()
            },
            "tags",
            R::TooLong(20),
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut f = Favorite {
            user_id: user(),
            workflow_id: wid(1),
            note: Some(String::new()),
            tags: vec![],
            created_at: t(0),
        };
        f.validate().expect("base favorite is valid");
        edit(&mut f);
        refused(label, f.validate(), field, *want);
    }
}

#[test]
fn workflow_query_validate() {
    fn cursor(sort: WorkflowSort, key: SortKey) -> Result<Cursor, ValidationError> {
        Cursor::new(sort, key, wid(1))
    }
    let cases: &[(&str, Edit<WorkflowQuery>, &str, R)] = &[
        ("zero limit", |q| q.limit = 0, "limit", R::OutOfRange),
        ("limit 101", |q| q.limit = 101, "limit", R::OutOfRange),
        (
            "long text",
            |q| q.text = Some(long(201)),
            "text",
            R::TooLong(200),
        ),
        (
            "cursor of another sort",
            |q| q.cursor = cursor(WorkflowSort::Downloads, SortKey::Downloads(3)).ok(),
            "cursor",
            R::Inconsistent,
        ),
    ];
    for (label, edit, field, want) in cases {
        let mut q = WorkflowQuery::default();
        q.validate().expect("default query is valid");
        edit(&mut q);
        refused(label, q.validate(), field, *want);
    }
    // A price range checks itself when built.
    refused(
        "inverted price range",
        PriceRange::new(Currency::USD, Some(dec!(50)), Some(dec!(10))),
        "price",
        R::Inconsistent,
    );
    // A cursor's key must be the kind its sort produces.
    let sorts = [
        WorkflowSort::WedgeScore,
        WorkflowSort::Rating,
        WorkflowSort::BayesianRating,
        WorkflowSort::Downloads,
        WorkflowSort::Newest,
    ];
    let keys = [
        SortKey::Score(dec!(7.5)),
        SortKey::Rating { sum: 9, count: 2 },
        SortKey::Downloads(3),
        SortKey::Time(t(1)),
    ];
    for sort in sorts {
        for key in keys {
            let fits = matches!(
                (sort, key),
                (WorkflowSort::WedgeScore, SortKey::Score(_))
                    | (
                        WorkflowSort::Rating | WorkflowSort::BayesianRating,
                        SortKey::Rating { .. }
                    )
                    | (WorkflowSort::Downloads, SortKey::Downloads(_))
                    | (WorkflowSort::Newest, SortKey::Time(_))
            );
            if fits {
                let q = WorkflowQuery {
                    sort,
                    cursor: Some(cursor(sort, key).expect("fits")),
                    ..WorkflowQuery::default()
                };
                assert!(q.validate().is_ok(), "{sort} {key:?}");
            } else {
                let label = format!("{sort} cursor with {key:?}");
                refused(&label, cursor(sort, key), "cursor", R::Inconsistent);
            }
        }
    }
    let mut q = WorkflowQuery {
        price: Some(PriceRange::new(Currency::USD, Some(dec!(10)), Some(dec!(10))).expect("valid")),
        limit: 100,
        text: Some(long(200)),
        ..WorkflowQuery::default()
    };
    assert!(q.validate().is_ok(), "bounds are inclusive");
    q.limit = 1;
    assert!(q.validate().is_ok());
}

#[test]
fn cursor_decode() {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let bad = [
        "abc".to_owned(),
        "zz".to_owned(),
        "+1".to_owned(),
        "é".to_owned(),
        "0".repeat(2002),
        hex("not json"),
        hex(r#"{"sort":"rating"}"#),
        hex(
            r#"{"sort":"sideways","key":{"key":"downloads","value":1},"id":"00000000-0000-0000-0000-000000000000"}"#,
        ),
        String::new(),
    ];
    for token in bad {
        refused(&token, Cursor::decode(&token), "cursor", R::Format);
    }
    let c =
        Cursor::new(WorkflowSort::WedgeScore, SortKey::Score(dec!(7.5)), wid(9)).expect("valid");
    assert_eq!(Cursor::decode(&c.encode()).expect("roundtrip"), c);
}

// ---------------------------------------------------------------------------
// Serde refuses what the constructors refuse
// ---------------------------------------------------------------------------

#[test]
fn serde_refuses_invalid_values() {
    fn refuses<T: DeserializeOwned + Debug>(json: &str) {
        let r = serde_json::from_str::<T>(json);
        assert!(
            r.is_err(),
            "{} accepted {json}: {r:?}",
            std::any::type_name::<T>()
        );
    }
    refuses::<Slug>(r#""Not A Slug""#);
    refuses::<Version>(r#""1.2""#);
    refuses::<CountryCode>(r#""XX""#);
    refuses::<UserId>(r#"" padded""#);
    refuses::<Currency>(r#""XYZ""#);
    refuses::<LicenseKey>(r#""WV-1""#);
    refuses::<Checksum>(r#""abc""#);
    refuses::<IpHash>(r#""abc""#);
    refuses::<Tag>(r#""a/b""#);
    refuses::<PaymentRef>(r#""pi 1""#);
    refuses::<Score>(r#""10.5""#);
    refuses::<Rating>("0");
    refuses::<Money>(r#"{"amount":"19.999","currency":"USD"}"#);
    refuses::<Money>(r#"{"amount":"1","currency":"usd "}"#);
    refuses::<Money>(r#"{"amount":"79228162514264337593543950335","currency":"USD"}"#);
    refuses::<BayesianPrior>(r#"{"weight":1,"mean":"6"}"#);
    refuses::<Period>(r#"{"start":"1970-01-02T00:00:00Z","end":"1970-01-02T00:00:00Z"}"#);
    // Containers carry their fields' checks.
    refuses::<PurchaseItem>(r#"{"type":"workflow","workflow_id":"nope"}"#);
    let mut json = serde_json::to_value(content(PricingTier::Pro, Some(usd(100)))).expect("ser");
    json["slug"] = "Bad Slug".into();
    refuses::<WorkflowContent>(&json.to_string());
    let mut json = serde_json::to_value(content(PricingTier::Pro, Some(usd(100)))).expect("ser");
    json["price"]["amount"] = "1.001".into();
    refuses::<WorkflowContent>(&json.to_string());
}

#[test]
fn serde_roundtrips_valid_values() {
    fn roundtrip<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: T) {
        let json = serde_json::to_string(&v).expect("serializes");
        assert_eq!(
            serde_json::from_str::<T>(&json).expect("deserializes"),
            v,
            "{json}"
        );
    }
    roundtrip(Money::new(dec!(19.9), Currency::USD).expect("valid"));
    roundtrip(Money::new(dec!(-3), Currency::JPY).expect("valid"));
    roundtrip(Money::new(dec!(1.234), Currency::parse("KWD").expect("valid")).expect("valid"));
    roundtrip(Score::new("wedge_score", dec!(7.5)).expect("valid"));
    roundtrip(Rating::new(5).expect("valid"));
    roundtrip(BayesianPrior::new(3, dec!(4.25)).expect("valid"));
    roundtrip(Period::new(t(0), t(30)).expect("valid"));
    roundtrip(membership());
    roundtrip(build_purchase(new_purchase()).expect("valid"));
    roundtrip(content(PricingTier::Pro, Some(usd(4900))));
    roundtrip(WorkflowQuery::default());
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// A string constructor never panics. What it accepts re-parses from its
/// display form, serializes as that form and deserializes back; deserializing
/// the raw input agrees with the constructor either way.
fn string_ctor_agrees<T, P, S>(input: &str, parse: P, show: S) -> Result<(), TestCaseError>
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

/// `FromStr` of a named enum accepts exactly the names in `all`, and serde
/// agrees.
fn enum_agrees<T>(input: &str, field: &str, all: &[T]) -> Result<(), TestCaseError>
where
    T: FromStr<Err = ValidationError> + Display + DeserializeOwned + PartialEq + Debug,
{
    let listed = all.iter().find(|v| v.to_string() == input);
    let raw_json = serde_json::to_string(input).expect("a string serializes");
    match input.parse::<T>() {
        Ok(v) => {
            prop_assert_eq!(Some(&v), listed);
            let raw = serde_json::from_str::<T>(&raw_json).ok();
            prop_assert_eq!(raw.as_ref(), Some(&v));
        }
        Err(e) => {
            prop_assert!(listed.is_none());
            prop_assert_eq!(e.field(), field);
            let unknown = matches!(e.reason(), Reason::Unknown { .. });
            prop_assert!(unknown, "{:?}", e.reason());
            prop_assert!(serde_json::from_str::<T>(&raw_json).is_err());
        }
    }
    Ok(())
}

/// Arbitrary text, with a bias toward `near` (strings close to valid).
fn text(near: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC{0,140}", "[ -~]{0,70}", near,]
}

/// Any decimal Rust can hold: every mantissa, every scale.
fn any_decimal() -> impl Strategy<Value = Decimal> {
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

fn any_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::EUR),
        Just(Currency::JPY),
        Just(Currency::parse("KWD").expect("valid")),
        Just(Currency::parse("CLF").expect("valid")),
    ]
}

proptest! {
    #[test]
    fn slug_never_panics_and_roundtrips(s in text("[a-z0-9-]{0,110}")) {
        string_ctor_agrees(&s, Slug::parse, Slug::to_string)?;
    }

    #[test]
    fn slug_from_title_never_panics(s in text("[A-Za-z0-9 !-]{0,200}")) {
        if let Ok(slug) = Slug::from_title(&s) {
            prop_assert_eq!(Slug::parse(slug.as_str()).ok(), Some(slug));
        }
    }

    #[test]
    fn version_never_panics_and_roundtrips(s in text("v?[0-9]{1,11}\\.[0-9]{1,4}\\.[0-9]{1,4}")) {
        string_ctor_agrees(&s, Version::parse, Version::to_string)?;
        prop_assert_eq!(s.parse::<Version>().ok(), Version::parse(&s).ok());
    }

    #[test]
    fn country_code_never_panics_and_roundtrips(s in text("[A-Za-z]{2}")) {
        string_ctor_agrees(&s, CountryCode::parse, CountryCode::to_string)?;
    }

    #[test]
    fn currency_never_panics_and_roundtrips(s in text("[A-Za-z]{3}")) {
        string_ctor_agrees(&s, Currency::parse, Currency::to_string)?;
    }

    #[test]
    fn user_id_never_panics_and_roundtrips(s in text("[ -~\t\n]{0,130}")) {
        string_ctor_agrees(&s, UserId::parse, UserId::to_string)?;
        prop_assert_eq!(Actor::user(&s).is_ok(), UserId::parse(&s).is_ok());
    }

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
    fn checksum_never_panics_and_roundtrips(s in text("[0-9a-fA-F]{63,65}")) {
        // Stored lowercase: the canonical form is what re-parses identically.
        string_ctor_agrees(&s, Checksum::parse, |c: &Checksum| c.as_str().to_owned())?;
    }

    #[test]
    fn ip_hash_never_panics_and_roundtrips(s in text("[0-9a-fA-F]{64}")) {
        string_ctor_agrees(&s, IpHash::parse, |h: &IpHash| h.as_str().to_owned())?;
    }

    #[test]
    fn tag_never_panics_and_roundtrips(s in text("[A-Za-z0-9 ._/-]{0,55}")) {
        string_ctor_agrees(&s, Tag::parse, |t: &Tag| t.as_str().to_owned())?;
    }

    #[test]
    fn payment_ref_never_panics_and_roundtrips(s in text("[ -~]{0,260}")) {
        string_ctor_agrees(&s, PaymentRef::parse, |p: &PaymentRef| p.as_str().to_owned())?;
    }

    #[test]
    fn ids_never_panic_and_roundtrip(s in text("[0-9a-fA-F-]{36}")) {
        string_ctor_agrees(&s, WorkflowId::parse, WorkflowId::to_string)?;
    }

    #[test]
    fn cursor_decode_never_panics(s in text("([0-9a-f]{2}){0,80}")) {
        if let Ok(c) = Cursor::decode(&s) {
            prop_assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        }
    }

    #[test]
    fn headers_never_panic(s in text("[ -~]{2040,2060}")) {
        let ok = check_header("referrer", &s).is_ok();
        prop_assert_eq!(ok, s.chars().count() <= 2048
            && !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')));
    }

    #[test]
    fn named_enums_accept_exactly_their_names(s in text("[a-z_]{2,20}")) {
        enum_agrees(&s, "pricing_tier", &PricingTier::ALL)?;
        enum_agrees(&s, "status", WorkflowStatus::ALL)?;
        enum_agrees(&s, "workflow_complexity", Complexity::ALL)?;
        enum_agrees(&s, "digital_maturity", DigitalMaturity::ALL)?;
        enum_agrees(&s, "growth_potential", GrowthPotential::ALL)?;
        enum_agrees(&s, "excellence_tier", ExcellenceTier::ALL)?;
        enum_agrees(&s, "file_kind", FileKind::ALL)?;
        enum_agrees(&s, "license_type", LicenseType::ALL)?;
        enum_agrees(&s, "payment_status", PaymentStatus::ALL)?;
        enum_agrees(&s, "purchase_type", PurchaseType::ALL)?;
        enum_agrees(&s, "status", MembershipStatus::ALL)?;
        enum_agrees(&s, "moderation_status", ModerationStatus::ALL)?;
        enum_agrees(&s, "vote", Vote::ALL)?;
        enum_agrees(&s, "download_type", DownloadKind::ALL)?;
        enum_agrees(&s, "change_kind", ChangeKind::ALL)?;
    }

    #[test]
    fn money_never_panics_and_roundtrips(amount in any_decimal(), currency in any_currency()) {
        let json = serde_json::json!({ "amount": amount.to_string(), "currency": currency.code() });
        match Money::new(amount, currency) {
            Ok(m) => {
                prop_assert_eq!(m.amount(), amount);
                prop_assert_eq!(m.amount().scale(), currency.exponent());
                prop_assert_eq!(&m.to_string(), &format!("{} {}", m.amount(), currency));
                let back: Money = serde_json::from_str(&serde_json::to_string(&m).expect("ser"))
                    .expect("deserializes");
                prop_assert_eq!(back, m);
                prop_assert_eq!(serde_json::from_value::<Money>(json).ok(), Some(m));
                // Never panics, whatever the size.
                let _ = m.to_minor();
                let _ = m.checked_add(&m);
                let _ = m.checked_sub(&m);
                let _ = m.mul_round(dec!(1.5));
                let _ = m.allocate(&[dec!(1), dec!(2)]);
                match Money::price("price", amount, currency) {
                    Ok(p) => prop_assert!(!p.is_negative()),
                    Err(e) => {
                        prop_assert_eq!(e.field(), "price");
                        prop_assert!(m.is_negative() && matches!(e.reason(), Reason::Negative));
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.field(), "amount");
                let expected = matches!(
                    e.reason(),
                    Reason::Precision { .. } | Reason::OutOfRange { .. }
                );
                prop_assert!(expected, "{:?}", e.reason());
                prop_assert!(serde_json::from_value::<Money>(json).is_err());
            }
        }
    }

    #[test]
    fn bundle_pricing_never_panics(
        members in proptest::collection::vec(any_decimal(), 0..5),
        price in any_decimal(),
    ) {
        let members: Vec<Money> = members
            .into_iter()
            .filter_map(|a| Money::new(a.trunc(), Currency::JPY).ok())
            .collect();
        if let Ok(price) = Money::new(price.trunc(), Currency::JPY) {
            if let Ok(p) = BundlePricing::new(&members, price) {
                prop_assert!(!p.savings.is_negative());
                prop_assert!(p.savings_percent >= Decimal::ZERO && p.savings_percent <= dec!(100));
            }
            let owned = vec![true; members.len()];
            let _ = complete_the_bundle(price, &members, &owned);
        }
    }

    #[test]
    fn score_never_panics_and_roundtrips(value in any_decimal()) {
        let json = serde_json::to_string(&value.to_string()).expect("ser");
        match Score::new("wedge_score", value) {
            Ok(s) => {
                prop_assert_eq!(s.value(), value);
                let back: Score = serde_json::from_str(&serde_json::to_string(&s).expect("ser"))
                    .expect("deserializes");
                prop_assert_eq!(back, s);
                prop_assert_eq!(serde_json::from_str::<Score>(&json).ok(), Some(s));
            }
            Err(e) => {
                prop_assert_eq!(e.field(), "wedge_score");
                prop_assert!(serde_json::from_str::<Score>(&json).is_err());
            }
        }
    }

    #[test]
    fn bayesian_prior_never_panics(weight in any::<u32>(), mean in any_decimal()) {
        let json = serde_json::json!({ "weight": weight, "mean": mean.to_string() });
        match BayesianPrior::new(weight, mean) {
            Ok(p) => {
                prop_assert_eq!(serde_json::from_value::<BayesianPrior>(json).ok(), Some(p));
                // Ranking with any valid prior and any aggregate never panics.
                let none = [DimensionTotals::default(); 5];
                let agg = RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 5], none)
                    .expect("fits");
                let _ = agg.bayesian(&p);
                let _ = agg.cmp_bayesian(&RatingAggregate::default(), &p);
            }
            Err(e) => {
                prop_assert_eq!(e.field(), "prior_mean");
                prop_assert!(serde_json::from_value::<BayesianPrior>(json).is_err());
            }
        }
    }

    #[test]
    fn rating_accepts_exactly_one_to_five(stars in any::<u8>()) {
        let r = Rating::new(stars);
        prop_assert_eq!(r.is_ok(), (1..=5).contains(&stars));
        prop_assert_eq!(serde_json::from_str::<Rating>(&stars.to_string()).ok(), r.ok());
    }

    #[test]
    fn rating_aggregate_from_parts_never_panics(
        stars in proptest::array::uniform5(any::<u64>()),
        dims in proptest::array::uniform5((any::<u64>(), any::<u64>())),
    ) {
        let dims = dims.map(|(count, sum)| DimensionTotals { count, sum });
        if let Ok(a) = RatingAggregate::from_parts(stars, dims) {
            let _ = (a.count(), a.sum(), a.average(), a.average_display());
            let json = serde_json::to_string(&a).expect("ser");
            prop_assert_eq!(serde_json::from_str::<RatingAggregate>(&json).ok(), Some(a));
        }
    }

    #[test]
    fn period_agrees_with_serde(start in -100_000i64..100_000, len in -1000i64..1000) {
        let (s, e) = (t(0) + Duration::minutes(start), t(0) + Duration::minutes(start + len));
        let json = serde_json::json!({ "start": s, "end": e });
        prop_assert_eq!(Period::new(s, e).ok(), serde_json::from_value::<Period>(json).ok());
        prop_assert_eq!(Period::new(s, e).is_ok(), len > 0);
    }
}

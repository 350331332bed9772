//! Validation of the words every area speaks (`value/`): slugs, versions,
//! country codes, user ids and actors, hashes and salts, tags, ids, the named
//! enums (the stored status names), currencies and money.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use std::fmt::{Debug, Display};
use std::str::FromStr;

use proptest::prelude::*;
use rust_decimal::{Decimal, dec};
use serde::Serialize;
use serde::de::DeserializeOwned;

use vault_core::catalog::file::{Checksum, FileKind};
use vault_core::catalog::update::ChangeKind;
use vault_core::catalog::wedge::{Complexity, DigitalMaturity, ExcellenceTier, GrowthPotential};
use vault_core::catalog::workflow::{Tag, WorkflowStatus, parse_tags};
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::membership::MembershipStatus;
use vault_core::commerce::purchase::{PaymentStatus, PurchaseType};
use vault_core::community::review::{ModerationStatus, Vote};
use vault_core::delivery::download::{DownloadKind, IpHash, IpSalt};
use vault_core::value::actor::{Actor, UserId};
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

use common::{R, any_decimal, eur, invalid, long, refused, string_ctor_agrees, text, usd};

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
// Currencies and money
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

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

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
    fn ids_never_panic_and_roundtrip(s in text("[0-9a-fA-F-]{36}")) {
        string_ctor_agrees(&s, WorkflowId::parse, WorkflowId::to_string)?;
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
}

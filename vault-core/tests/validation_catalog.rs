//! Validation of the rest of the catalog (`catalog/`): files, categories,
//! updates, bundles (their pricing and revenue split), and the listing query
//! with its cursor. Workflows have `validation_workflows.rs`.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use proptest::prelude::*;
use rust_decimal::{Decimal, dec};
use uuid::Uuid;

use vault_core::catalog::bundle::{
    BundlePricing, NewBundle, allocate_revenue, complete_the_bundle,
};
use vault_core::catalog::category::{NewCategory, core_systems};
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::query::{Cursor, PriceRange, SortKey, WorkflowQuery, WorkflowSort};
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::catalog::workflow::Seo;
use vault_core::value::ids::{BundleId, CategoryId, FileId, UpdateId};
use vault_core::value::money::{Currency, MAX_MINOR, Money};
use vault_core::value::slug::Slug;
use vault_core::value::version::Version;
use vault_core::{Error, ValidationError};

use common::{Edit, R, any_decimal, eur, invalid, long, refused, t, text, usd, wid};

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
// Queries
// ---------------------------------------------------------------------------

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
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #[test]
    fn cursor_decode_never_panics(s in text("([0-9a-f]{2}){0,80}")) {
        if let Ok(c) = Cursor::decode(&s) {
            prop_assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
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
}

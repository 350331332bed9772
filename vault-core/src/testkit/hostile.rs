//! Hostile input: values at and past the edges of what every store holds,
//! NUL bytes, and cursors that no previous page produced. Each must be
//! refused as [`Error::Invalid`] naming its field (writing nothing), or
//! work the same on every backend: never a panic, never an untyped backend
//! error. Values arrive the way an app receives them where it can: cursor
//! tokens and JSON bodies.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;

mod listing;

pub use self::listing::hostile_listing_proptest;
use super::{Fixture, NowUtc};
use crate::catalog::bundle::NewBundle;
use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use crate::catalog::query::{
    Cursor, MAX_KEY_REVIEWS, Page, PriceRange, SortKey, WorkflowQuery, WorkflowSort, run_query,
};
use crate::catalog::wedge::Score;
use crate::catalog::workflow::Workflow;
use crate::commerce::license::LicenseType;
use crate::commerce::membership::{NewMembership, Period};
use crate::commerce::purchase::{PaymentRef, ProviderRefs};
use crate::community::rating::{DimensionRatings, Rating};
use crate::community::review::{ModerationStatus, ReviewInput};
use crate::store::Store;
use crate::value::MAX_INTEGER;
use crate::value::actor::Actor;
use crate::value::clock::{MAX_DATE, MIN_DATE};
use crate::value::error::Error;
use crate::value::error::{StoreError, StoreResult};
use crate::value::ids::WorkflowId;
use crate::value::money::{Currency, MAX_MINOR, MIN_MINOR, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::validation::ValidationError;
use crate::value::version::Version;
use crate::vault::{CheckoutItem, StartPurchase};

const SORTS: [WorkflowSort; 5] = [
    WorkflowSort::WedgeScore,
    WorkflowSort::Rating,
    WorkflowSort::BayesianRating,
    WorkflowSort::Downloads,
    WorkflowSort::Newest,
];

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, ValidationError>, field: &str) {
    match r {
        Err(e) => assert_eq!(e.field(), field, "{e}"),
        Ok(v) => panic!("expected {field} refused, got Ok({v:?})"),
    }
}

#[track_caller]
fn invalid<T: std::fmt::Debug>(r: crate::value::error::Result<T>, field: &str) {
    match r {
        Err(Error::Invalid(e)) => assert_eq!(e.field(), field, "{e}"),
        other => panic!("expected Invalid({field}), got {other:?}"),
    }
}

#[track_caller]
fn store_invalid<T: std::fmt::Debug>(r: StoreResult<T>, field: &str) {
    match r {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field(), field, "{e}"),
        other => panic!("expected StoreError::Invalid({field}), got {other:?}"),
    }
}

/// A cursor token as a URL carries it: hex of `{"sort", "key", "id"}`.
fn token(sort: WorkflowSort, key: SortKey, id: WorkflowId) -> String {
    let json = json!({ "sort": sort, "key": key, "id": id });
    const_hex::encode(json.to_string().as_bytes())
}

fn nil() -> WorkflowId {
    WorkflowId::from_uuid(uuid::Uuid::nil())
}

fn at(date: NaiveDate, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    date.and_hms_opt(h, m, s).unwrap().and_utc()
}

/// Five published workflows: free, two in USD (one score tie), one in yen,
/// one for members only; with downloads and approved reviews, so every
/// sort has distinct and tied keys. Returns them as stored.
async fn catalog(f: &Fixture) -> Vec<Workflow> {
    let specs: [(&str, PricingTier, Option<Money>, i64); 5] = [
        ("free-a", PricingTier::Free, None, 20),
        ("paid-b", PricingTier::Pro, Some(usd(4900)), 75),
        ("paid-c", PricingTier::Basic, Some(usd(1999)), 75),
        (
            "yen-d",
            PricingTier::Pro,
            Some(Money::from_minor(5000, Currency::JPY)),
            90,
        ),
        ("members-e", PricingTier::Premium, None, 40),
    ];
    let mut ids = Vec::new();
    for (slug, tier, price, score) in specs {
        let mut c = f.content(slug, tier, None);
        c.price = price;
        c.wedge.score = Score::new("wedge_score", Decimal::new(score, 1)).unwrap();
        f.advance(Duration::minutes(1));
        ids.push(f.publish(c).await.0.id);
    }
    for (i, downloads) in [(0, 2), (2, 1)] {
        for _ in 0..downloads {
            f.vault
                .download(&f.admin, ids[i], None, &Default::default())
                .await
                .unwrap();
        }
    }
    for (i, stars) in [(1, 5), (1, 4), (2, 3), (0, 5)] {
        let user = Fixture::user(&format!("reviewer-{i}-{stars}"));
        let input = ReviewInput {
            rating: Rating::new(stars).unwrap(),
            dimensions: DimensionRatings::default(),
            title: "fine".into(),
            body: String::new(),
        };
        let r = f.vault.submit_review(&user, ids[i], input).await.unwrap();
        f.vault
            .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
            .await
            .unwrap();
    }
    let mut all = Vec::new();
    for id in ids {
        all.push(f.store.workflow(id).await.unwrap().unwrap());
    }
    all
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn page_ids(p: &Page<Workflow>) -> Vec<WorkflowId> {
    p.items.iter().map(|w| w.id).collect()
}

/// Lists `q` through the service (anonymously) and through the store
/// directly. `Ok` when both answer what the reference semantics
/// ([`run_query`]) give over `all`, or both refuse with `Invalid` naming
/// the same field (returned); any other outcome is described in `Err`.
async fn listing(
    f: &Fixture,
    all: &[Workflow],
    q: &WorkflowQuery,
    compare: bool,
) -> Result<Option<&'static str>, String> {
    let mut direct = q.clone();
    direct.prior = f.vault.config().rating_prior;
    let via_vault = f.vault.list_workflows(&Actor::Anonymous, q.clone()).await;
    let via_store = f.store.list_workflows(&direct).await;
    match (via_vault, via_store) {
        (Ok(a), Ok(b)) => {
            if (page_ids(&a), a.next) != (page_ids(&b), b.next) {
                return Err(format!("service and store pages differ: {a:?} / {b:?}"));
            }
            let want = run_query(&direct, all);
            if compare && (page_ids(&a), a.next) != (page_ids(&want), want.next) {
                return Err(format!(
                    "page {:?} next {:?}, reference {:?} next {:?}",
                    page_ids(&a),
                    a.next,
                    page_ids(&want),
                    want.next
                ));
            }
            Ok(None)
        }
        (Err(Error::Invalid(a)), Err(StoreError::Invalid(b))) if a.field() == b.field() => {
            Ok(Some(a.field()))
        }
        (a, b) => Err(format!(
            "expected both Ok or both Invalid, got {:?} / {:?}",
            a.map(|p| page_ids(&p)),
            b.map(|p| page_ids(&p))
        )),
    }
}

#[track_caller]
fn lists(r: Result<Option<&'static str>, String>) {
    assert_eq!(r, Ok(None));
}

// ------------------------------------------------------------ extreme numbers

/// Amounts and counts at and past the 64-bit ranges the stores hold:
/// price filters of `Decimal::MAX`, cursors with `u64::MAX` or -7.9e28
/// keys, a tax of `i64::MAX` minor units, a file of `u64::MAX` bytes.
pub async fn hostile_extreme_numbers(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let all = catalog(&f).await;

    // Price filters past what any store holds are refused, naming the bound.
    refused(
        PriceRange::new(Currency::USD, None, Some(Decimal::MAX)),
        "price.max",
    );
    refused(
        PriceRange::new(Currency::USD, Some(Decimal::MIN), None),
        "price.min",
    );
    refused(
        PriceRange::new(
            Currency::JPY,
            None,
            Some(Decimal::from(MAX_MINOR) + Decimal::ONE),
        ),
        "price.max",
    );
    let from_json = serde_json::from_value::<PriceRange>(
        json!({ "currency": "USD", "min": null, "max": Decimal::MAX.to_string() }),
    );
    assert!(from_json.is_err(), "{from_json:?}");
    // The widest range that is accepted lists the same everywhere.
    for currency in [
        Currency::USD,
        Currency::JPY,
        Currency::parse("KWD").unwrap(),
    ] {
        let widest = PriceRange::new(
            currency,
            Some(Money::from_minor(MIN_MINOR, currency).amount()),
            Some(Money::from_minor(MAX_MINOR, currency).amount()),
        )
        .unwrap();
        let top = Money::from_minor(MAX_MINOR, currency).amount();
        let topmost = PriceRange::new(currency, Some(top), Some(top)).unwrap();
        for range in [widest, topmost] {
            let q = WorkflowQuery {
                price: Some(range),
                ..WorkflowQuery::default()
            };
            lists(listing(&f, &all, &q, true).await);
        }
    }

    // Cursor keys past the stores' ranges: refused when the token is read.
    let overflowing = [
        (WorkflowSort::WedgeScore, SortKey::Score(Decimal::MIN)),
        (
            WorkflowSort::WedgeScore,
            SortKey::Score(Decimal::new(101, 1)),
        ),
        (WorkflowSort::Downloads, SortKey::Downloads(u64::MAX)),
        (WorkflowSort::Downloads, SortKey::Downloads(MAX_INTEGER + 1)),
        (
            WorkflowSort::Rating,
            SortKey::Rating {
                sum: u64::MAX,
                count: u64::MAX,
            },
        ),
        (
            WorkflowSort::BayesianRating,
            SortKey::Rating {
                sum: i64::MAX as u64,
                count: 1,
            },
        ),
        (
            WorkflowSort::BayesianRating,
            SortKey::Rating {
                sum: MAX_KEY_REVIEWS + 1,
                count: MAX_KEY_REVIEWS + 1,
            },
        ),
    ];
    for (sort, key) in overflowing {
        refused(Cursor::new(sort, key, nil()), "cursor");
        refused(Cursor::decode(&token(sort, key, nil())), "cursor");
    }
    // The largest keys accepted page exactly as the reference does.
    let extreme_keys = [
        (WorkflowSort::WedgeScore, SortKey::Score(Decimal::TEN)),
        (WorkflowSort::WedgeScore, SortKey::Score(Decimal::ZERO)),
        (WorkflowSort::Downloads, SortKey::Downloads(MAX_INTEGER)),
        (WorkflowSort::Downloads, SortKey::Downloads(0)),
        (
            WorkflowSort::Rating,
            SortKey::Rating {
                sum: 5 * MAX_KEY_REVIEWS,
                count: MAX_KEY_REVIEWS,
            },
        ),
        (
            WorkflowSort::BayesianRating,
            SortKey::Rating {
                sum: 5 * MAX_KEY_REVIEWS,
                count: MAX_KEY_REVIEWS,
            },
        ),
        (
            WorkflowSort::BayesianRating,
            SortKey::Rating {
                sum: MAX_KEY_REVIEWS,
                count: MAX_KEY_REVIEWS,
            },
        ),
        (WorkflowSort::Rating, SortKey::Rating { sum: 0, count: 0 }),
    ];
    for (sort, key) in extreme_keys {
        for id in [nil(), all[1].id] {
            let cursor = Cursor::decode(&token(sort, key, id)).unwrap();
            let q = WorkflowQuery {
                sort,
                limit: 2,
                cursor: Some(cursor),
                ..WorkflowQuery::default()
            };
            lists(listing(&f, &all, &q, true).await);
        }
    }

    // A tax that would carry the total past the range: refused, no purchase.
    let buyer = Fixture::user("buyer");
    let tax = Money::from_minor(MAX_MINOR, Currency::USD);
    let checkout = f
        .vault
        .start_purchase(
            &buyer,
            StartPurchase {
                user_id: buyer.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(all[1].id),
                license_type: LicenseType::Personal,
                tax: Some(tax),
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await;
    invalid(checkout, "tax");
    let bought = f.store.purchases_for_user(buyer.user_id().unwrap()).await;
    assert!(bought.unwrap().is_empty());

    // A file size past a signed 64-bit column: refused, nothing attached.
    let file = |size_bytes, version| NewFile {
        workflow_id: all[0].id,
        kind: FileKind::Zip,
        file_name: "huge.zip".into(),
        storage_key: format!("files/huge-{size_bytes}.zip"),
        mime_type: "application/zip".into(),
        version,
        is_primary: false,
        access: FileAccess::Standard,
        size_bytes,
        checksum: Checksum::of(b"huge"),
    };
    let before = f.store.files(all[0].id).await.unwrap();
    for size in [u64::MAX, MAX_INTEGER + 1] {
        let r = f
            .vault
            .add_file(&f.admin, file(size, Version::new(2, 0, 0)))
            .await;
        invalid(r, "size_bytes");
    }
    assert_eq!(f.store.files(all[0].id).await.unwrap(), before);
    let largest = f
        .vault
        .add_file(&f.admin, file(MAX_INTEGER, Version::new(2, 0, 0)))
        .await
        .unwrap();
    let stored = f.store.file(largest.id).await.unwrap().unwrap();
    assert_eq!(stored.size_bytes, MAX_INTEGER);
}

// -------------------------------------------------------------- extreme dates

/// Instants and days at and past the four-digit years every store keeps:
/// cursors, membership periods, license expiries, sale windows, analytics.
pub async fn hostile_extreme_dates(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let all = catalog(&f).await;
    let first = at(MIN_DATE, 0, 0, 0);
    let last = at(MAX_DATE, 23, 59, 59);
    let year_10000 = at(MAX_DATE, 0, 0, 0) + Duration::days(1);

    // `newest` cursors.
    for t in [
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
        year_10000,
    ] {
        let key = SortKey::Time(t);
        refused(Cursor::new(WorkflowSort::Newest, key, nil()), "cursor");
        refused(
            Cursor::decode(&token(WorkflowSort::Newest, key, nil())),
            "cursor",
        );
    }
    // Also a nanosecond either side of a stored instant: finer than
    // PostgreSQL keeps, which must not make it skip or repeat a row.
    let stored = all[2].published_at.unwrap();
    let nano = Duration::nanoseconds(1);
    let last_id = WorkflowId::from_uuid(uuid::Uuid::max());
    for t in [first, last, super::epoch(), stored + nano, stored - nano] {
        for id in [nil(), last_id] {
            let key = SortKey::Time(t);
            let q = WorkflowQuery {
                sort: WorkflowSort::Newest,
                limit: 1,
                cursor: Some(Cursor::decode(&token(WorkflowSort::Newest, key, id)).unwrap()),
                ..WorkflowQuery::default()
            };
            lists(listing(&f, &all, &q, true).await);
        }
    }

    // Membership periods: refused past the range, stored up to its end.
    let now = f.clock.now_utc();
    refused(
        Period::new(now, DateTime::<Utc>::MAX_UTC),
        "current_period_end",
    );
    refused(
        Period::new(DateTime::<Utc>::MIN_UTC, now),
        "current_period_start",
    );
    let webhook_period = json!({ "start": now, "end": DateTime::<Utc>::MAX_UTC });
    assert!(serde_json::from_value::<Period>(webhook_period).is_err());
    let member = Fixture::user("long-member");
    let m = f
        .vault
        .start_membership(
            &Actor::Service,
            NewMembership {
                user_id: member.user_id().unwrap().clone(),
                tier: PricingTier::Pro,
                period: Period::new(now, last).unwrap(),
                trial: false,
                period_download_limit: None,
                features: BTreeMap::new(),
                provider: ProviderRefs::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.store.membership(m.id).await.unwrap().unwrap().period.end,
        last
    );

    // License expiry past the range: refused, no purchase.
    let buyer = Fixture::user("expiring-buyer");
    let checkout = f
        .vault
        .start_purchase(
            &buyer,
            StartPurchase {
                user_id: buyer.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(all[1].id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: Some(DateTime::<Utc>::MAX_UTC),
                provider: ProviderRefs::default(),
            },
        )
        .await;
    invalid(checkout, "license_expires_at");
    let bought = f.store.purchases_for_user(buyer.user_id().unwrap()).await;
    assert!(bought.unwrap().is_empty());

    // Bundle sale windows.
    let bundle = |valid_from, valid_until| NewBundle {
        slug: Slug::parse("forever").unwrap(),
        name: "Forever".into(),
        description: String::new(),
        workflow_ids: vec![all[1].id, all[2].id],
        price: usd(5000),
        valid_from,
        valid_until,
        seo: Default::default(),
    };
    let r = f
        .vault
        .create_bundle(&f.admin, bundle(None, Some(DateTime::<Utc>::MAX_UTC)))
        .await;
    invalid(r, "valid_until");
    let r = f
        .vault
        .create_bundle(&f.admin, bundle(Some(DateTime::<Utc>::MIN_UTC), None))
        .await;
    invalid(r, "valid_from");
    assert!(f.store.bundles().await.unwrap().is_empty());
    let b = f
        .vault
        .create_bundle(&f.admin, bundle(Some(first), Some(last)))
        .await
        .unwrap();
    let stored = f.store.bundle(b.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.valid_from, stored.valid_until),
        (Some(first), Some(last))
    );

    // Analytics ranges, through the service and the store directly.
    let w = all[0].id;
    invalid(
        f.vault
            .analytics(&f.admin, w, NaiveDate::MIN, NaiveDate::MIN)
            .await,
        "from",
    );
    invalid(
        f.vault
            .analytics(&f.admin, w, MAX_DATE, NaiveDate::MAX)
            .await,
        "to",
    );
    store_invalid(f.store.analytics(w, NaiveDate::MIN, MIN_DATE).await, "from");
    store_invalid(f.store.analytics(w, MIN_DATE, NaiveDate::MAX).await, "to");
    let today = super::epoch().date_naive();
    let rows = f.store.analytics(w, MIN_DATE, MAX_DATE).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.date, r.downloads))
            .collect::<Vec<_>>(),
        vec![(today, 2)]
    );
    let edge = f
        .vault
        .analytics(&f.admin, w, MAX_DATE - Duration::days(366), MAX_DATE)
        .await;
    assert!(edge.unwrap().is_empty());
}

// ------------------------------------------------------------------ NUL bytes

/// NUL and other control characters, which PostgreSQL refuses in text and
/// in `jsonb`: membership features (nested), provider ids, search text.
pub async fn hostile_nul_bytes(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let all = catalog(&f).await;
    let now = f.clock.now_utc();
    let join = |name: &str, features: BTreeMap<String, serde_json::Value>, sub: &str| {
        let user = Fixture::user(name);
        NewMembership {
            user_id: user.user_id().unwrap().clone(),
            tier: PricingTier::Pro,
            period: Period::new(now, now + Duration::days(30)).unwrap(),
            trial: false,
            period_download_limit: None,
            features,
            provider: ProviderRefs {
                subscription_id: Some(sub.into()),
                ..ProviderRefs::default()
            },
        }
    };
    let hostile_features = [
        json!({ "plan": "pro\u{0}" }),
        json!({ "limits": { "note": "a\u{0}b" } }),
        json!({ "limits": { "bad\u{0}key": 1 } }),
        json!({ "tags": ["ok", ["deep\u{1b}"]] }),
    ];
    for (i, features) in hostile_features.into_iter().enumerate() {
        let features = serde_json::from_value(features).unwrap();
        let new = join(&format!("nul-{i}"), features, &format!("sub_nul_{i}"));
        let user = new.user_id.clone();
        invalid(
            f.vault.start_membership(&Actor::Service, new).await,
            "features",
        );
        assert!(
            f.store
                .memberships_for_user(&user)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let with_nul_id = join("nul-id", BTreeMap::new(), "sub_\u{0}1");
    invalid(
        f.vault.start_membership(&Actor::Service, with_nul_id).await,
        "provider.subscription_id",
    );
    // Plain features and ids are stored and found.
    let fine = serde_json::from_value(json!({ "seats": 3, "note": { "k": "v\n" } })).unwrap();
    let m = f
        .vault
        .start_membership(&Actor::Service, join("member", fine, "sub_fine"))
        .await
        .unwrap();
    let found = f
        .vault
        .membership_by_subscription(&f.admin, "sub_fine")
        .await;
    assert_eq!(found.unwrap().map(|m| m.id), Some(m.id));
    // A lookup by an id no membership can carry finds none, on every store.
    for id in ["sub_\u{0}fine", "sub_fine\u{0}", "\u{0}", "", "sub fine"] {
        let via_vault = f.vault.membership_by_subscription(&f.admin, id).await;
        assert!(matches!(via_vault, Ok(None)), "{id:?}: {via_vault:?}");
        let via_store = f.store.membership_by_subscription(id).await;
        assert!(matches!(via_store, Ok(None)), "{id:?}: {via_store:?}");
    }
    refused(PaymentRef::parse("pi_\u{0}"), "payment_ref");

    // Search text straight from a URL: control characters are separators.
    for text in ["paid\u{0}", "\u{0}", "pai\u{0}d b", "\u{0}\u{1}\u{7f}free"] {
        let q = WorkflowQuery {
            text: Some(text.into()),
            ..WorkflowQuery::default()
        };
        lists(listing(&f, &all, &q, true).await);
    }
}

// ---------------------------------------------------------- malformed cursors

/// Tokens that no page produced: not hex, not JSON, unknown sorts, keys of
/// another kind, cursors of another sort than the query; and queries built
/// by hand that skip the service's checks.
pub async fn hostile_malformed_cursors(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let all = catalog(&f).await;
    let hex = |s: &str| const_hex::encode(s.as_bytes());
    let id = all[0].id;
    let malformed = [
        String::new(),
        "0".into(),
        "zz".into(),
        "é".into(),
        "0".repeat(2002),
        hex("null"),
        hex("{}"),
        hex(r#"{"sort":"downloads"}"#),
        hex(&format!(
            r#"{{"sort":"sideways","key":{{"key":"downloads","value":1}},"id":"{id}"}}"#
        )),
        hex(r#"{"sort":"downloads","key":{"key":"downloads","value":1},"id":"not-a-uuid"}"#),
        hex(&format!(
            r#"{{"sort":"downloads","key":{{"key":"downloads","value":-1}},"id":"{id}"}}"#
        )),
        hex(&format!(
            r#"{{"sort":"downloads","key":{{"key":"downloads","value":1e3}},"id":"{id}"}}"#
        )),
        hex(&format!(
            r#"{{"sort":"newest","key":{{"key":"time","value":"yesterday"}},"id":"{id}"}}"#
        )),
        hex(&format!(
            r#"{{"sort":"downloads","key":{{"key":"downloads","value":1}},"id":"{id}"}}x"#
        )),
        format!("{}\u{0}", hex("{}")),
    ];
    for t in &malformed {
        refused(Cursor::decode(t), "cursor");
    }
    // Keys of another kind than their sort.
    for sort in SORTS {
        for key in [
            SortKey::Score(Decimal::ONE),
            SortKey::Downloads(1),
            SortKey::Rating { sum: 4, count: 1 },
            SortKey::Time(super::epoch()),
        ] {
            if std::mem::discriminant(&key) != std::mem::discriminant(&SortKey::of(&all[0], sort)) {
                refused(Cursor::decode(&token(sort, key, id)), "cursor");
            }
        }
    }
    // Ratings no set of one-to-five-star reviews gives.
    for (sum, count) in [(1, 0), (0, 1), (11, 2), (u64::MAX, 3)] {
        let key = SortKey::Rating { sum, count };
        refused(
            Cursor::decode(&token(WorkflowSort::Rating, key, id)),
            "cursor",
        );
    }
    // A valid cursor of another sort than the query's, and hand-built
    // queries that skip the service: Invalid from the store itself.
    let downloads = Cursor::decode(&token(WorkflowSort::Downloads, SortKey::Downloads(1), id));
    let q = WorkflowQuery {
        sort: WorkflowSort::Newest,
        cursor: Some(downloads.unwrap()),
        ..WorkflowQuery::default()
    };
    assert_eq!(listing(&f, &all, &q, true).await, Ok(Some("cursor")));
    for (edit, field) in [
        (
            &(|q: &mut WorkflowQuery| q.limit = 0) as &dyn Fn(&mut WorkflowQuery),
            "limit",
        ),
        (&|q: &mut WorkflowQuery| q.limit = u32::MAX, "limit"),
        (
            &|q: &mut WorkflowQuery| q.text = Some("x".repeat(201)),
            "text",
        ),
    ] {
        let mut q = WorkflowQuery::default();
        edit(&mut q);
        store_invalid(f.store.list_workflows(&q).await, field);
        assert_eq!(listing(&f, &all, &q, true).await, Ok(Some(field)));
    }
    // A token the store handed out still resumes where it left off.
    let q = WorkflowQuery {
        sort: WorkflowSort::Downloads,
        limit: 2,
        ..WorkflowQuery::default()
    };
    let first = f
        .vault
        .list_workflows(&Actor::Anonymous, q.clone())
        .await
        .unwrap();
    let token = first.next.unwrap().encode();
    let resumed = WorkflowQuery {
        cursor: Some(Cursor::decode(&token).unwrap()),
        ..q
    };
    lists(listing(&f, &all, &resumed, true).await);
}

//! The listing proptest: arbitrary cursors and price ranges, as a URL
//! would carry them, on the store under test.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;

use super::{Fixture, SORTS, at, catalog, listing, token};
use crate::catalog::query::{
    Cursor, MAX_KEY_REVIEWS, PriceRange, SortKey, WorkflowQuery, WorkflowSort,
};
use crate::catalog::workflow::Workflow;
use crate::store::Store;
use crate::value::MAX_INTEGER;
use crate::value::clock::{MAX_DATE, MIN_DATE};
use crate::value::ids::WorkflowId;
use crate::value::money::{Currency, MAX_MINOR};

/// The parts of a listing request as a URL would carry them.
#[derive(Debug, Clone)]
struct Request {
    sort: WorkflowSort,
    /// Query the cursor under another sort than its own.
    other_sort: Option<WorkflowSort>,
    key: SortKey,
    id: WorkflowId,
    price: Option<(Currency, Option<Decimal>, Option<Decimal>)>,
    text: Option<String>,
    limit: u32,
}

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
        Just(Decimal::from(MAX_MINOR)),
        (-20i64..=120, 0u32..=2).prop_map(|(m, s)| Decimal::new(m, s)),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        (any::<[u32; 3]>(), any::<bool>(), 0u32..=28)
            .prop_map(|(p, neg, s)| Decimal::from_parts(p[0], p[1], p[2], neg, s)),
    ]
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..8,
        Just(MAX_INTEGER),
        Just(MAX_INTEGER + 1),
        Just(MAX_KEY_REVIEWS),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        Just(at(MIN_DATE, 0, 0, 0)),
        Just(at(MAX_DATE, 23, 59, 59)),
        (-10i64..10).prop_map(|m| crate::testkit::epoch() + Duration::minutes(m)),
        // Finer than PostgreSQL's microseconds, next to stored instants.
        (-10i64..10, -2000i64..2000).prop_map(|(m, n)| crate::testkit::epoch()
            + Duration::minutes(m)
            + Duration::nanoseconds(n)),
        any::<i64>().prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or(DateTime::UNIX_EPOCH)),
    ]
}

/// Keys of the kind `sort` produces, edges included.
fn key_for(sort: WorkflowSort) -> BoxedStrategy<SortKey> {
    match sort {
        WorkflowSort::WedgeScore => prop_oneof![
            (0u32..=100).prop_map(|s| SortKey::Score(Decimal::new(i64::from(s), 1))),
            decimal().prop_map(SortKey::Score),
        ]
        .boxed(),
        WorkflowSort::Rating | WorkflowSort::BayesianRating => prop_oneof![
            (0u64..6)
                .prop_flat_map(|c| (c..=5 * c, Just(c)))
                .prop_map(|(sum, count)| SortKey::Rating { sum, count }),
            (1u64..=5).prop_map(|stars| SortKey::Rating {
                sum: stars * MAX_KEY_REVIEWS,
                count: MAX_KEY_REVIEWS,
            }),
            (count(), count()).prop_map(|(sum, count)| SortKey::Rating { sum, count }),
        ]
        .boxed(),
        WorkflowSort::Downloads => count().prop_map(SortKey::Downloads).boxed(),
        WorkflowSort::Newest => instant().prop_map(SortKey::Time).boxed(),
    }
}

/// Any key, whatever the sort.
fn key() -> impl Strategy<Value = SortKey> {
    proptest::sample::select(SORTS.to_vec()).prop_flat_map(key_for)
}

fn request(ids: Vec<WorkflowId>) -> impl Strategy<Value = Request> {
    let sort = proptest::sample::select(SORTS.to_vec());
    let id = prop_oneof![
        proptest::sample::select(ids),
        any::<u128>().prop_map(|n| WorkflowId::from_uuid(uuid::Uuid::from_u128(n))),
    ];
    let currency = proptest::sample::select(vec![
        Currency::USD,
        Currency::JPY,
        Currency::EUR,
        Currency::parse("KWD").unwrap_or(Currency::USD),
    ]);
    let price = proptest::option::of((
        currency,
        proptest::option::of(decimal()),
        proptest::option::of(decimal()),
    ));
    let text = proptest::option::weighted(
        0.2,
        prop_oneof!["(?s).{0,8}", "[a-z\\x00 ]{0,12}", Just("x".repeat(201))],
    );
    let limit = prop_oneof![8 => 1u32..=5, 1 => Just(0u32), 1 => Just(101u32)];
    let keyed =
        sort.prop_flat_map(|sort| (Just(sort), prop_oneof![4 => key_for(sort), 1 => key()]));
    (
        keyed,
        proptest::option::weighted(0.1, proptest::sample::select(SORTS.to_vec())),
        id,
        price,
        text,
        limit,
    )
        .prop_map(
            |((sort, key), other_sort, id, price, text, limit)| Request {
                sort,
                other_sort,
                key,
                id,
                price,
                text,
                limit,
            },
        )
}

/// One request: the cursor and price range are built as a URL's would be
/// (the token through [`Cursor::decode`], which must agree with
/// [`Cursor::new`]), then listed through the service and the store.
async fn one_request(f: &Fixture, all: &[Workflow], r: Request) -> Result<(), TestCaseError> {
    let built = Cursor::new(r.sort, r.key, r.id);
    let decoded = Cursor::decode(&token(r.sort, r.key, r.id));
    prop_assert_eq!(&built, &decoded, "decoding must agree with Cursor::new");
    if let Err(e) = &built {
        prop_assert_eq!(e.field(), "cursor");
    }
    let price = match r.price {
        None => None,
        Some((currency, min, max)) => match PriceRange::new(currency, min, max) {
            Ok(range) => Some(range),
            Err(e) => {
                prop_assert!(
                    ["price", "price.min", "price.max"].contains(&e.field()),
                    "{e}"
                );
                None
            }
        },
    };
    let q = WorkflowQuery {
        sort: r.other_sort.unwrap_or(r.sort),
        cursor: built.ok(),
        price,
        // Full-text matching is the backends' own (FTS5, tsvector); the
        // reference is only compared without text.
        text: r.text.clone(),
        limit: r.limit,
        ..WorkflowQuery::default()
    };
    match listing(f, all, &q, r.text.is_none()).await {
        Ok(None) => {}
        Ok(Some(field)) => {
            prop_assert!(["cursor", "limit", "text"].contains(&field), "{field}");
        }
        Err(e) => return Err(TestCaseError::fail(e)),
    }
    Ok(())
}

/// Arbitrary cursors and price ranges (with some search text and page
/// sizes), a few hundred of them, listed on the store under test: every
/// one is `Ok` with the reference page or `Invalid`, never a panic or a
/// backend error. A failure prints the smallest failing request.
pub async fn hostile_listing_proptest(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let all = catalog(&f).await;
    let ids: Vec<WorkflowId> = all.iter().map(|w| w.id).collect();
    let handle = tokio::runtime::Handle::current();
    // The runner is synchronous; the case runs on a worker of the
    // multi-threaded runtime `run` builds, which may block in place.
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&request(ids), |r| handle.block_on(one_request(&f, &all, r)));
        if let Err(e) = outcome {
            panic!("hostile listing: {e}");
        }
    });
}

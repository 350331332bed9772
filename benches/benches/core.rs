//! Pure-core benches: the rules with no store around them.
//!
//! * `decide/*`: `access::decide` with its full explanation, for a grant
//!   through a purchase (several entitlements to weigh) and for a denial
//!   (reasons and remedies built).
//! * `rating_apply`: `RatingAggregate::apply(&RatingDelta::between(..))`, a
//!   review edited from 3 to 5 stars with dimensions.
//! * `bundle_pricing/N`, `allocate_revenue/N`, `complete_the_bundle/N` for
//!   bundles of 2, 10 and 100 members.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion};
use vault_core::catalog::bundle::{BundlePricing, allocate_revenue, complete_the_bundle};
use vault_core::community::rating::{
    Contribution, Dimension, DimensionRatings, DimensionTotals, Rating, RatingAggregate,
    RatingDelta,
};
use vault_core::delivery::access::{Entitlements, FileTarget, Target, decide};
use vault_core::store::Store;
use vault_core::testkit::Fixture;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;
use vault_core::{Clock, MemoryStore};

fn access(c: &mut Criterion) {
    let rt = vault_benches::runtime();
    // Real records, made by the vault over the memory store.
    let (target, grant, deny, actor, stranger, now, policy) = rt.block_on(async {
        let fx = Fixture::new(Arc::new(MemoryStore::new()) as Arc<dyn Store>).await;
        let (w, f) = fx
            .workflow("target-flow", PricingTier::Pro, Some(4900))
            .await;
        let (other, _) = fx
            .workflow("other-flow", PricingTier::Pro, Some(2900))
            .await;
        let alice = Fixture::user("alice");
        let other_purchase = fx.buy(&alice, CheckoutItem::Workflow(other.id)).await;
        let purchase = fx.buy(&alice, CheckoutItem::Workflow(w.id)).await;
        // Newest first, as a store lists them; the rule sorts them itself.
        let purchases = [purchase.terms(), other_purchase.terms()];
        let memberships = vec![fx.join(&alice, PricingTier::Basic, Some(10), false).await];
        let target = Target::new(&w, Some(FileTarget::new(&f, f.created_at)));
        let grant = Entitlements {
            purchases: purchases.to_vec(),
            memberships,
            downloaded_before: false,
        };
        (
            target,
            grant,
            Entitlements::default(),
            alice,
            Fixture::user("bob"),
            fx.clock.now(),
            fx.vault.config().access,
        )
    });
    let mut g = c.benchmark_group("core");
    g.bench_function(BenchmarkId::new("decide", "grant"), |b| {
        b.iter(|| decide(black_box(&actor), &target, black_box(&grant), now, &policy))
    });
    g.bench_function(BenchmarkId::new("decide", "deny"), |b| {
        b.iter(|| {
            decide(
                black_box(&stranger),
                &target,
                black_box(&deny),
                now,
                &policy,
            )
        })
    });
    g.finish();
}

fn rating(c: &mut Criterion) {
    let stars = |n| Rating::new(n).unwrap();
    let mut dims = DimensionRatings::default();
    for d in Dimension::ALL {
        dims.set(d, Some(stars(4)));
    }
    let old = Contribution {
        overall: stars(3),
        dimensions: dims,
    };
    let new = Contribution {
        overall: stars(5),
        dimensions: dims,
    };
    let agg = RatingAggregate::from_parts(
        [3, 5, 40, 120, 300],
        [DimensionTotals {
            count: 100,
            sum: 400,
        }; 5],
    )
    .unwrap();
    c.benchmark_group("core")
        .bench_function("rating_apply", |b| {
            b.iter(|| {
                black_box(&agg)
                    .apply(&RatingDelta::between(
                        Some(black_box(&old)),
                        Some(black_box(&new)),
                    ))
                    .unwrap()
            })
        });
}

fn bundles(c: &mut Criterion) {
    let mut g = c.benchmark_group("core");
    for n in [2usize, 10, 100] {
        let prices: Vec<Money> = (0..n)
            .map(|i| Money::from_minor(900 + 137 * i as i64, Currency::USD))
            .collect();
        let total: i64 = (0..n).map(|i| 900 + 137 * i as i64).sum();
        let price = Money::from_minor(total * 7 / 10, Currency::USD);
        let owned: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        g.bench_with_input(BenchmarkId::new("bundle_pricing", n), &prices, |b, p| {
            b.iter(|| BundlePricing::new(black_box(p), price).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("allocate_revenue", n), &prices, |b, p| {
            b.iter(|| allocate_revenue(price, black_box(p)).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("complete_the_bundle", n),
            &prices,
            |b, p| b.iter(|| complete_the_bundle(price, black_box(p), black_box(&owned)).unwrap()),
        );
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .configure_from_args();
    access(&mut c);
    rating(&mut c);
    bundles(&mut c);
    c.final_summary();
}

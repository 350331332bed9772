use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

fn c(overall: u8, dims: [Option<u8>; 5]) -> Contribution {
    let mut d = DimensionRatings::default();
    for (i, v) in dims.iter().enumerate() {
        d.0[i] = v.map(|s| Rating::new(s).expect("valid"));
    }
    Contribution {
        overall: Rating::new(overall).expect("valid"),
        dimensions: d,
    }
}

#[test]
fn rating_range() {
    assert!(Rating::new(1).is_ok() && Rating::new(5).is_ok());
    for bad in [0, 6, 255] {
        assert_eq!(Rating::new(bad).expect_err("range").field(), "rating");
    }
    assert_eq!(
        Rating::new_field("rating_growth", 9)
            .expect_err("range")
            .field(),
        "rating_growth"
    );
}

#[test]
fn aggregate_basics() {
    let cs = [
        c(5, [Some(4), None, None, None, None]),
        c(4, [None; 5]),
        c(4, [Some(2); 5]),
    ];
    let agg = RatingAggregate::recompute(&cs);
    assert_eq!(agg.count(), 3);
    assert_eq!(agg.sum(), 13);
    assert_eq!(agg.distribution(), [0, 0, 0, 2, 1]);
    assert_eq!(agg.average_display(), Some(dec!(4.33)));
    assert_eq!(agg.dimension_average(Dimension::Complexity), Some(dec!(3)));
    assert_eq!(agg.dimension_average(Dimension::Efficiency), Some(dec!(2)));
    assert_eq!(RatingAggregate::default().average(), None);
}

#[test]
fn bayesian_damps_small_samples() {
    let prior = BayesianPrior::default();
    let two_fives = RatingAggregate::recompute(&[c(5, [None; 5]), c(5, [None; 5])]);
    let many: Vec<Contribution> = (0..200)
        .map(|i| c(if i % 5 == 0 { 4 } else { 5 }, [None; 5]))
        .collect();
    let many = RatingAggregate::recompute(&many);
    assert!(two_fives.average() > many.average());
    assert_eq!(two_fives.cmp_bayesian(&many, &prior), Ordering::Less);
    assert_eq!(two_fives.bayesian(&prior), Some(dec!(45) / dec!(12)));
    assert!(BayesianPrior::new(5, dec!(0.5)).is_err());
    assert!(BayesianPrior::new(5, dec!(3.333)).is_err());
}

#[test]
fn from_parts_refuses_what_would_overflow_or_cannot_exist() {
    let none = [DimensionTotals::default(); 5];
    let e = RatingAggregate::from_parts([u64::MAX, 1, 0, 0, 0], none).expect_err("overflow");
    assert_eq!(e.field(), "rating_stars");
    let e = RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 4], none).expect_err("sum");
    assert_eq!(e.field(), "rating_stars");
    let mut dims = none;
    dims[0] = DimensionTotals { count: 2, sum: 6 };
    let e = RatingAggregate::from_parts([0, 0, 1, 0, 0], dims).expect_err("too many");
    assert_eq!(e.field(), "rating_dimensions");
    assert!(RatingAggregate::from_parts([0, 0, 2, 0, 0], dims).is_ok());
}

#[test]
fn deserializing_checks_invariants() {
    let agg = RatingAggregate::recompute(&[c(4, [Some(3), None, None, None, None])]);
    let json = serde_json::to_string(&agg).expect("serializes");
    assert_eq!(
        serde_json::from_str::<RatingAggregate>(&json).expect("valid"),
        agg
    );
    let bad = json.replacen("\"sum\":3", "\"sum\":9", 1);
    assert!(serde_json::from_str::<RatingAggregate>(&bad).is_err());
    let prior = serde_json::to_string(&BayesianPrior::default()).expect("serializes");
    assert_eq!(
        serde_json::from_str::<BayesianPrior>(&prior).expect("valid"),
        BayesianPrior::default()
    );
    for bad in [
        r#"{"weight":1,"mean":"79228162514264337593543950335"}"#,
        r#"{"weight":1,"mean":"0.5"}"#,
        r#"{"weight":1,"mean":"3.333"}"#,
    ] {
        assert!(serde_json::from_str::<BayesianPrior>(bad).is_err(), "{bad}");
    }
}

#[test]
fn comparisons_are_exact_at_the_extremes() {
    // The cross products of these overflow an i128; the order is still exact.
    let max = u64::MAX;
    assert_eq!(
        compare_average((max, max), (max - 1, max)),
        Ordering::Greater
    );
    assert_eq!(compare_average((max - 1, max), (max, max)), Ordering::Less);
    assert_eq!(compare_average((max, max), (1, 1)), Ordering::Equal);
    assert_eq!(compare_average((max, 1), (max, 0)), Ordering::Greater);
    let prior = BayesianPrior::default();
    let n = max / 5;
    assert_eq!(
        compare_bayesian((5 * n, n), (5 * n - 1, n), &prior),
        Ordering::Greater
    );
    assert_eq!(
        compare_bayesian((5 * n - 1, n), (5 * n, n), &prior),
        Ordering::Less
    );
    assert_eq!(
        compare_bayesian((5 * n, n), (5 * n, n), &prior),
        Ordering::Equal
    );
    let agg = RatingAggregate::from_parts([0, 0, 0, 0, n], Default::default()).expect("fits");
    assert!(agg.bayesian(&prior).is_some_and(|b| b > dec!(4.99)));
}

#[test]
fn combining_huge_aggregates_does_not_panic() {
    let none = [DimensionTotals::default(); 5];
    let big = RatingAggregate::from_parts([0, 0, 0, 0, u64::MAX / 5], none).expect("fits");
    let both = RatingAggregate::combine(&[big, big, big]);
    assert_eq!(both.count(), (u64::MAX / 5) * 3);
    assert_eq!(both.sum(), u64::MAX, "saturates");
    assert!(both.average().is_some());
    let all = RatingAggregate::combine(&[big; 6]);
    assert_eq!(all.count(), u64::MAX);
    let small = RatingAggregate::recompute(&[c(4, [Some(3), None, None, None, None])]);
    let two = RatingAggregate::combine(&[small, small]);
    assert_eq!((two.count(), two.sum()), (2, 8));
    assert_eq!(two.dimension_totals(Dimension::Complexity).sum, 6);
}

#[test]
fn wilson_orders_by_confidence() {
    let one = wilson_lower_bound(1, 0, Z_95);
    let many = wilson_lower_bound(90, 10, Z_95);
    assert!(many > one);
    assert_eq!(wilson_lower_bound(0, 0, Z_95), Decimal::ZERO);
    let w = wilson_lower_bound(90, 10, Z_95);
    assert!(w > dec!(0.82) && w < dec!(0.83), "{w}");
}

#[test]
fn wilson_never_panics() {
    // The vote total does not fit a u64; the bound is still a probability.
    let w = wilson_lower_bound(u64::MAX, u64::MAX, Z_95);
    assert!(w > dec!(0.49) && w < dec!(0.5), "{w}");
    assert!(wilson_lower_bound(u64::MAX, 0, Z_95) > dec!(0.99));
    // A z whose square overflows: the interval is the whole range.
    assert_eq!(wilson_lower_bound(1, 1, Decimal::MAX), Decimal::ZERO);
    assert_eq!(wilson_lower_bound(3, 1, Decimal::MIN), Decimal::ZERO);
    // A negative z counts by its magnitude.
    assert_eq!(
        wilson_lower_bound(90, 10, -Z_95),
        wilson_lower_bound(90, 10, Z_95)
    );
}

#[test]
fn applying_an_impossible_delta_fails() {
    let agg = RatingAggregate::default();
    let d = RatingDelta::between(Some(&c(3, [None; 5])), None);
    assert!(agg.apply(&d).is_err());
}

fn arb_contribution() -> impl Strategy<Value = Contribution> {
    (
        1u8..=5,
        proptest::array::uniform5(proptest::option::of(1u8..=5)),
    )
        .prop_map(|(o, d)| c(o, d))
}

#[derive(Debug, Clone)]
enum Op {
    Add(Contribution, bool),
    Edit(usize, Contribution),
    Remove(usize),
    Moderate(usize, bool),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (arb_contribution(), any::<bool>()).prop_map(|(c, a)| Op::Add(c, a)),
        (any::<usize>(), arb_contribution()).prop_map(|(i, c)| Op::Edit(i, c)),
        any::<usize>().prop_map(Op::Remove),
        (any::<usize>(), any::<bool>()).prop_map(|(i, a)| Op::Moderate(i, a)),
    ]
}

proptest! {
    /// Maintaining the aggregate one review change at a time gives exactly
    /// the aggregate recomputed from the approved reviews.
    #[test]
    fn incremental_equals_recomputed(ops in proptest::collection::vec(arb_op(), 0..60)) {
        let mut reviews: Vec<(Contribution, bool)> = Vec::new();
        let mut agg = RatingAggregate::default();
        for op in ops {
            let counted = |r: &(Contribution, bool)| r.1.then_some(r.0);
            let (old, new) = match op {
                Op::Add(c, approved) => {
                    reviews.push((c, approved));
                    (None, counted(&(c, approved)))
                }
                Op::Edit(i, c) if !reviews.is_empty() => {
                    let i = i % reviews.len();
                    let old = counted(&reviews[i]);
                    reviews[i].0 = c;
                    (old, counted(&reviews[i]))
                }
                Op::Remove(i) if !reviews.is_empty() => {
                    let i = i % reviews.len();
                    let old = counted(&reviews[i]);
                    reviews.remove(i);
                    (old, None)
                }
                Op::Moderate(i, a) if !reviews.is_empty() => {
                    let i = i % reviews.len();
                    let old = counted(&reviews[i]);
                    reviews[i].1 = a;
                    (old, counted(&reviews[i]))
                }
                _ => (None, None),
            };
            agg = agg.apply(&RatingDelta::between(old.as_ref(), new.as_ref())).expect("consistent");
            let approved: Vec<Contribution> = reviews.iter().filter(|r| r.1).map(|r| r.0).collect();
            let fresh = RatingAggregate::recompute(&approved);
            prop_assert_eq!(agg, fresh);
            prop_assert_eq!(agg.average(), fresh.average());
            if let Some(avg) = agg.average() {
                prop_assert!(avg >= Decimal::ONE && avg <= Decimal::from(5));
            }
            for d in Dimension::ALL {
                if let Some(avg) = agg.dimension_average(d) {
                    prop_assert!(avg >= Decimal::ONE && avg <= Decimal::from(5));
                }
            }
        }
    }

    /// Ranking by exact fractions agrees with comparing the Decimal means.
    #[test]
    fn cmp_average_matches_decimal(a in proptest::collection::vec(arb_contribution(), 1..30), b in proptest::collection::vec(arb_contribution(), 1..30)) {
        let x = RatingAggregate::recompute(&a);
        let y = RatingAggregate::recompute(&b);
        let by_fraction = x.cmp_average(&y);
        let sx = u128::from(x.sum()) * u128::from(y.count());
        let sy = u128::from(y.sum()) * u128::from(x.count());
        prop_assert_eq!(by_fraction, sx.cmp(&sy));
        let prior = BayesianPrior::default();
        if let (Some(bx), Some(by)) = (x.bayesian(&prior), y.bayesian(&prior)) {
            if x.cmp_bayesian(&y, &prior) == Ordering::Greater {
                prop_assert!(bx >= by);
            }
            prop_assert!(bx >= Decimal::ONE && bx <= Decimal::from(5));
        }
    }

    /// Over the whole u64 range, the order is the one exact u128 cross
    /// products give (they cannot overflow for plain averages).
    #[test]
    fn compare_average_is_exact_everywhere(s1 in any::<u64>(), c1 in any::<u64>(), s2 in any::<u64>(), c2 in any::<u64>()) {
        let expected = match (c1 == 0, c2 == 0) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => (u128::from(s1) * u128::from(c2)).cmp(&(u128::from(s2) * u128::from(c1))),
        };
        prop_assert_eq!(compare_average((s1, c1), (s2, c2)), expected);
        let prior = BayesianPrior::default();
        let ab = compare_bayesian((s1, c1), (s2, c2), &prior);
        prop_assert_eq!(ab, compare_bayesian((s2, c2), (s1, c1), &prior).reverse());
    }

    #[test]
    fn wilson_is_a_probability(up in 0u64..10_000, down in 0u64..10_000) {
        let w = wilson_lower_bound(up, down, Z_95);
        let any_z = wilson_lower_bound(up, down, Decimal::from_i128_with_scale(i128::from(up) * 1_000_000_007, 3));
        prop_assert!(any_z >= Decimal::ZERO && any_z <= Decimal::ONE);
        prop_assert!(w >= Decimal::ZERO && w <= Decimal::ONE);
        if up + down > 0 {
            let p = Decimal::from(up) / Decimal::from(up + down);
            prop_assert!(w <= p + dec!(0.0000001));
        }
    }
}

#[test]
fn a_delta_reports_its_count_sum_and_whether_it_is_empty() {
    let five = c(5, [Some(3), None, None, None, None]);
    let two = c(2, [None; 5]);
    let add = RatingDelta::between(None, Some(&five));
    assert!(!add.is_zero());
    assert_eq!((add.count(), add.sum()), (1, 5));
    let change = RatingDelta::between(Some(&five), Some(&two));
    assert!(!change.is_zero());
    assert_eq!((change.count(), change.sum()), (0, -3));
    let remove = RatingDelta::between(Some(&two), None);
    assert_eq!((remove.count(), remove.sum()), (-1, -2));
    // The same contribution before and after changes nothing.
    assert!(RatingDelta::between(Some(&five), Some(&five)).is_zero());
    assert!(RatingDelta::default().is_zero());
    // A change in a dimension alone is not empty.
    let dim_only = RatingDelta::between(Some(&c(4, [None; 5])), Some(&c(4, [Some(1); 5])));
    assert_eq!((dim_only.count(), dim_only.sum()), (0, 0));
    assert!(!dim_only.is_zero());
}

#[test]
fn a_prior_keeps_its_weight_and_mean() {
    let p = BayesianPrior::new(7, dec!(4.25)).expect("valid");
    assert_eq!((p.weight(), p.mean()), (7, dec!(4.25)));
    let d = BayesianPrior::default();
    assert_eq!((d.weight(), d.mean()), (10, dec!(3.5)));
}

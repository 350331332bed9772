//! Validation of the community (`community/`): ratings, the Bayesian prior,
//! rating aggregates, reviews and favorites.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use proptest::prelude::*;
use rust_decimal::{Decimal, dec};

use vault_core::Error;
use vault_core::catalog::workflow::Tag;
use vault_core::community::favorite::Favorite;
use vault_core::community::rating::{
    BayesianPrior, Contribution, DimensionRatings, DimensionTotals, Rating, RatingAggregate,
    RatingDelta,
};
use vault_core::community::review::ReviewInput;

use common::{Edit, R, any_decimal, long, refused, t, user, wid};

// ---------------------------------------------------------------------------
// Ratings
// ---------------------------------------------------------------------------

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
// Reviews and favorites
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

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
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
}

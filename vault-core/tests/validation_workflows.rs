//! Validation of workflows (`catalog/workflow.rs`, `catalog/wedge.rs`): a
//! workflow's content field by field, its pricing across fields, and the
//! wedge scores.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use proptest::prelude::*;
use rust_decimal::{Decimal, dec};
use uuid::Uuid;

use vault_core::catalog::wedge::{Score, Wedge};
use vault_core::catalog::workflow::{Tag, Workflow, WorkflowContent};
use vault_core::value::ids::WorkflowId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;

use common::{Edit, R, any_decimal, content, long, refused, t, usd};

// ---------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------

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
// Wedge scores
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
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
}

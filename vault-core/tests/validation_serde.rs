//! Serde refuses what the constructors refuse, in every area, and
//! round-trips what they accept.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use std::fmt::Debug;

use rust_decimal::dec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use vault_core::catalog::file::Checksum;
use vault_core::catalog::query::WorkflowQuery;
use vault_core::catalog::wedge::Score;
use vault_core::catalog::workflow::{Tag, WorkflowContent};
use vault_core::commerce::license::{LicenseKey, LicenseKeyHash};
use vault_core::commerce::membership::Period;
use vault_core::commerce::purchase::{PaymentRef, PurchaseItem};
use vault_core::community::rating::{BayesianPrior, Rating};
use vault_core::delivery::download::IpHash;
use vault_core::value::actor::UserId;
use vault_core::value::country::CountryCode;
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;

use common::{build_purchase, content, membership, new_purchase, t, usd};

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
    refuses::<LicenseKeyHash>(r#""WV-00000-00000-00000-00000-00000""#);
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

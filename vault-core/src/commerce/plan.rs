//! Membership plans: what a shop offers to join, at what price, with what
//! trial, and how many downloads a period includes.
//!
//! A [`Membership`](crate::commerce::membership::Membership) records what a
//! member holds; a plan is what the shop sells before anyone holds it. The
//! payment provider bills the plan's price (its `price_id`), and the
//! subscription events it sends back carry the tier; the plan supplies the
//! per-period download limit and the trial that checkout asks for.
//!
//! Plans are kept as the system setting [`MembershipPlan::SETTING`] (a JSON
//! array), so staff change them like any other setting and every reader
//! parses them through [`MembershipPlan::parse_list`], which refuses a list
//! a checkout could not sell: a free tier, a negative or zero price, a trial
//! of zero days, a limit of zero, a blank price id, or two plans for one
//! tier.

use serde::{Deserialize, Serialize};

use crate::value::money::Money;
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError, check_limit, check_text};

/// How often a plan bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    /// Every calendar month.
    Month,
    /// Every year.
    Year,
}

impl BillingInterval {
    /// Calendar months per period.
    pub fn months(self) -> u32 {
        match self {
            Self::Month => 1,
            Self::Year => 12,
        }
    }

    /// The word for one period (`month`, `year`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

/// One plan a shop sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipPlan {
    /// The tier it grants (covers workflows of this tier and below; not
    /// free).
    pub tier: PricingTier,
    /// Its name on the page.
    pub name: String,
    /// What one period costs.
    pub price: Money,
    /// How often it bills.
    pub interval: BillingInterval,
    /// Free days before the first charge (`None`: no trial).
    #[serde(default)]
    pub trial_days: Option<u32>,
    /// Downloads per period (`None`: unlimited).
    #[serde(default)]
    pub period_download_limit: Option<u32>,
    /// The payment provider's recurring price (`price_…`).
    pub price_id: String,
}

impl MembershipPlan {
    /// The system setting that holds the plans.
    pub const SETTING: &'static str = "membership.plans";

    /// Checks one plan (see the module's list).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.tier == PricingTier::Free {
            return Err(ValidationError::new(
                "tier",
                Reason::Inconsistent {
                    detail: "free content needs no membership".into(),
                },
            ));
        }
        check_text("name", &self.name, true, 100)?;
        if self.price.is_negative() || self.price.is_zero() {
            return Err(ValidationError::new(
                "price",
                Reason::OutOfRange {
                    min: "more than 0".into(),
                    max: "any".into(),
                },
            ));
        }
        check_limit("trial_days", self.trial_days)?;
        check_limit("period_download_limit", self.period_download_limit)?;
        check_text("price_id", &self.price_id, true, 255)?;
        if self.price_id.chars().any(char::is_whitespace) {
            return Err(ValidationError::new(
                "price_id",
                Reason::Format {
                    expected: "a provider id without whitespace",
                },
            ));
        }
        Ok(())
    }

    /// Reads the setting's JSON: an array of plans, each checked, at most
    /// one per tier, returned lowest tier first.
    pub fn parse_list(json: &serde_json::Value) -> Result<Vec<Self>, ValidationError> {
        let mut plans: Vec<Self> = serde_json::from_value(json.clone()).map_err(|_| {
            ValidationError::new(
                "membership.plans",
                Reason::Format {
                    expected: "an array of membership plans",
                },
            )
        })?;
        for p in &plans {
            p.validate()?;
        }
        plans.sort_by_key(|p| p.tier);
        if plans.windows(2).any(|w| w[0].tier == w[1].tier) {
            return Err(ValidationError::new(
                "tier",
                Reason::Inconsistent {
                    detail: "one plan per tier".into(),
                },
            ));
        }
        Ok(plans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::money::Currency;

    fn pro() -> MembershipPlan {
        MembershipPlan {
            tier: PricingTier::Pro,
            name: "Pro".into(),
            price: Money::from_minor(1900, Currency::USD),
            interval: BillingInterval::Month,
            trial_days: Some(14),
            period_download_limit: Some(20),
            price_id: "price_pro_monthly".into(),
        }
    }

    fn list(plans: &[MembershipPlan]) -> serde_json::Value {
        serde_json::to_value(plans).expect("serializes")
    }

    #[test]
    fn a_list_round_trips_sorted_by_tier() {
        let basic = MembershipPlan {
            tier: PricingTier::Basic,
            price_id: "price_basic".into(),
            trial_days: None,
            ..pro()
        };
        let got = MembershipPlan::parse_list(&list(&[pro(), basic.clone()])).expect("valid");
        assert_eq!(got, vec![basic, pro()]);
    }

    #[test]
    fn what_checkout_could_not_sell_is_refused_naming_the_field() {
        let cases: [(MembershipPlan, &str); 7] = [
            (
                MembershipPlan {
                    tier: PricingTier::Free,
                    ..pro()
                },
                "tier",
            ),
            (
                MembershipPlan {
                    price: Money::from_minor(0, Currency::USD),
                    ..pro()
                },
                "price",
            ),
            (
                MembershipPlan {
                    price: Money::from_minor(-1, Currency::USD),
                    ..pro()
                },
                "price",
            ),
            (
                MembershipPlan {
                    trial_days: Some(0),
                    ..pro()
                },
                "trial_days",
            ),
            (
                MembershipPlan {
                    period_download_limit: Some(0),
                    ..pro()
                },
                "period_download_limit",
            ),
            (
                MembershipPlan {
                    price_id: " ".into(),
                    ..pro()
                },
                "price_id",
            ),
            (
                MembershipPlan {
                    name: String::new(),
                    ..pro()
                },
                "name",
            ),
        ];
        for (plan, field) in cases {
            let e = MembershipPlan::parse_list(&list(&[plan])).expect_err(field);
            assert_eq!(e.field(), field);
        }
        let e = MembershipPlan::parse_list(&list(&[pro(), pro()])).expect_err("two pro plans");
        assert_eq!(e.field(), "tier");
        let e = MembershipPlan::parse_list(&serde_json::json!({"tier": "pro"}))
            .expect_err("not an array");
        assert_eq!(e.field(), "membership.plans");
    }
}

//! Bundles: curated sets of workflows sold together at a discount, and the
//! pricing rules that go with them.
//!
//! * The **original price** is the sum of the members' one-time prices, all in
//!   the bundle's currency (a member in another currency is a typed error).
//! * The **bundle price** lies in `[0, original]`.
//! * **Savings** = original - price, and the percentage of the original,
//!   rounded half-to-even to two places.
//! * **Complete the bundle**: a buyer who owns some members pays the bundle
//!   price minus the owned members' *share of the bundle price* (allocated in
//!   proportion to list prices). The credit is never more than the bundle
//!   price, so the result is never negative and never above the bundle price.
//! * **Revenue allocation**: a charged total is split across the members in
//!   proportion to their list prices by largest remainder, so per-workflow
//!   revenue sums exactly to what was charged.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::workflow::Seo;
use crate::value::clock::check_time;
use crate::value::error::Error;
use crate::value::ids::{BundleId, WorkflowId};
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::validation::{Reason, ValidationError, check_text};

/// What an admin provides to create a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBundle {
    /// URL slug, unique across bundles.
    pub slug: Slug,
    /// Name, 1-200 characters.
    pub name: String,
    /// Description, up to 10 000 characters.
    pub description: String,
    /// Members, 2-100 distinct workflows.
    pub workflow_ids: Vec<WorkflowId>,
    /// Price of the whole bundle.
    pub price: Money,
    /// On sale from (inclusive).
    pub valid_from: Option<DateTime<Utc>>,
    /// On sale until (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// Search-engine fields.
    pub seo: Seo,
}

impl NewBundle {
    /// Checks fields that need no member prices.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("name", &self.name, true, 200)?;
        check_text("description", &self.description, false, 10_000)?;
        if self.workflow_ids.len() < 2 {
            return Err(ValidationError::new(
                "workflow_ids",
                Reason::OutOfRange {
                    min: "2 workflows".into(),
                    max: "100".into(),
                },
            ));
        }
        if self.workflow_ids.len() > 100 {
            return Err(ValidationError::new(
                "workflow_ids",
                Reason::TooLong { max: 100 },
            ));
        }
        let mut seen = self.workflow_ids.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.workflow_ids.len() {
            return Err(ValidationError::new(
                "workflow_ids",
                Reason::Inconsistent {
                    detail: "a workflow appears twice".into(),
                },
            ));
        }
        if self.price.is_negative() {
            return Err(ValidationError::new("price", Reason::Negative));
        }
        if let Some(from) = self.valid_from {
            check_time("valid_from", from)?;
        }
        if let Some(until) = self.valid_until {
            check_time("valid_until", until)?;
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until <= from
        {
            return Err(ValidationError::new(
                "valid_until",
                Reason::Inconsistent {
                    detail: "must be after valid_from".into(),
                },
            ));
        }
        self.seo.validate()
    }

    /// Builds the bundle, pricing it against `member_prices` (same order as
    /// `workflow_ids`).
    pub fn build(
        self,
        id: BundleId,
        member_prices: &[Money],
        now: DateTime<Utc>,
    ) -> Result<Bundle, Error> {
        self.validate()?;
        if member_prices.len() != self.workflow_ids.len() {
            return Err(ValidationError::new(
                "workflow_ids",
                Reason::Inconsistent {
                    detail: "every member needs a price".into(),
                },
            )
            .into());
        }
        let pricing = BundlePricing::new(member_prices, self.price)?;
        Ok(Bundle {
            id,
            slug: self.slug,
            name: self.name,
            description: self.description,
            workflow_ids: self.workflow_ids,
            price: self.price,
            original_price: pricing.original,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            seo: self.seo,
            is_active: true,
            purchase_count: 0,
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }
}

/// A stored bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Id.
    pub id: BundleId,
    /// Slug.
    pub slug: Slug,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Members.
    pub workflow_ids: Vec<WorkflowId>,
    /// Bundle price.
    pub price: Money,
    /// Sum of member prices when priced.
    pub original_price: Money,
    /// On sale from.
    pub valid_from: Option<DateTime<Utc>>,
    /// On sale until.
    pub valid_until: Option<DateTime<Utc>>,
    /// SEO.
    pub seo: Seo,
    /// Inactive bundles cannot be bought.
    pub is_active: bool,
    /// Completed purchases (maintained).
    pub purchase_count: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every edit; an edit is written only over the revision it
    /// was made from.
    #[serde(default)]
    pub revision: u64,
}

/// Why a bundle cannot be bought right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "window", rename_all = "snake_case")]
pub enum Availability {
    /// On sale.
    OnSale,
    /// Not yet on sale.
    NotYet {
        /// From when.
        from: DateTime<Utc>,
    },
    /// No longer on sale.
    Ended {
        /// Since when.
        until: DateTime<Utc>,
    },
    /// Switched off by an admin.
    Inactive,
}

impl Bundle {
    /// Whether it is on sale at `now`: active and within
    /// `[valid_from, valid_until)`.
    pub fn availability(&self, now: DateTime<Utc>) -> Availability {
        if !self.is_active {
            return Availability::Inactive;
        }
        if let Some(from) = self.valid_from
            && now < from
        {
            return Availability::NotYet { from };
        }
        if let Some(until) = self.valid_until
            && now >= until
        {
            return Availability::Ended { until };
        }
        Availability::OnSale
    }

    /// The bundle's currency.
    pub fn currency(&self) -> Currency {
        self.price.currency()
    }
}

/// A bundle's price next to what its members cost separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePricing {
    /// Sum of member prices.
    pub original: Money,
    /// Bundle price.
    pub price: Money,
    /// `original - price`, never negative.
    pub savings: Money,
    /// Savings as a percentage of the original, two places, half-to-even.
    pub savings_percent: Decimal,
}

impl BundlePricing {
    /// Prices a bundle. Fails when a member's currency differs from the
    /// bundle's, a member price is negative, or the price is negative or
    /// above the original.
    pub fn new(member_prices: &[Money], price: Money) -> Result<Self, Error> {
        let original = Money::sum(price.currency(), member_prices)?;
        if member_prices.iter().any(Money::is_negative) {
            return Err(ValidationError::new("member_prices", Reason::Negative).into());
        }
        if price.is_negative() {
            return Err(ValidationError::new("price", Reason::Negative).into());
        }
        if price.checked_cmp(&original)? == std::cmp::Ordering::Greater {
            return Err(ValidationError::new(
                "price",
                Reason::OutOfRange {
                    min: format!("0 {}", price.currency()),
                    max: original.to_string(),
                },
            )
            .into());
        }
        let savings = original.checked_sub(&price)?;
        let savings_percent = if original.is_zero() {
            Decimal::ZERO
        } else {
            // Checked: `Decimal`'s `*` panics when savings x 100 overflows
            // (amounts near 7.9e28 yen). Savings never exceed the original,
            // so the ratio first, then x 100, always fits.
            savings
                .amount()
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|s| s.checked_div(original.amount()))
                .or_else(|| {
                    savings
                        .amount()
                        .checked_div(original.amount())
                        .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                })
                .ok_or(Error::Overflow {
                    what: "savings percent",
                })?
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
        };
        Ok(Self {
            original,
            price,
            savings,
            savings_percent,
        })
    }
}

/// Splits `total` across members in proportion to `member_prices`, so the
/// parts sum exactly to `total` (largest remainder over minor units).
pub fn allocate_revenue(total: Money, member_prices: &[Money]) -> Result<Vec<Money>, Error> {
    let weights = member_prices
        .iter()
        .map(|p| {
            if p.currency() != total.currency() {
                return Err(Error::CurrencyMismatch {
                    expected: total.currency(),
                    found: p.currency(),
                });
            }
            Ok(p.amount())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(total.allocate(&weights)?)
}

/// The price of the rest of a bundle for a buyer who already owns the members
/// flagged in `owned` (same order as `member_prices`): the bundle price minus
/// the owned members' allocated share of it. Never negative, never above the
/// bundle price; owning nothing pays the bundle price, owning everything
/// pays zero.
pub fn complete_the_bundle(
    bundle_price: Money,
    member_prices: &[Money],
    owned: &[bool],
) -> Result<Money, Error> {
    if owned.len() != member_prices.len() {
        return Err(ValidationError::new(
            "owned",
            Reason::Inconsistent {
                detail: "one flag per member".into(),
            },
        )
        .into());
    }
    let shares = allocate_revenue(bundle_price, member_prices)?;
    let credit = Money::sum(
        bundle_price.currency(),
        shares
            .iter()
            .zip(owned)
            .filter(|(_, o)| **o)
            .map(|(s, _)| s),
    )?;
    Ok(bundle_price.checked_sub(&credit)?)
}

/// The license a purchase carries: how many downloads, and how many months
/// of updates (each `None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseTerms {
    /// Downloads allowed (`None`: unlimited).
    pub download_limit: Option<u32>,
    /// Months of updates from purchase (`None`: every update).
    pub update_months: Option<u32>,
}

/// The license a bundle sells: its members' most generous terms. Unlimited
/// downloads if any member is unlimited, else the sum of their limits
/// (saturating); every update if any member gives every update, else the
/// longest window. A buyer never gets less from the bundle than from any
/// member bought alone. An empty bundle gives the strictest terms (0, 0).
pub fn bundle_license_terms(members: &[LicenseTerms]) -> LicenseTerms {
    members.iter().fold(
        LicenseTerms {
            download_limit: Some(0),
            update_months: Some(0),
        },
        |acc, m| LicenseTerms {
            download_limit: match (acc.download_limit, m.download_limit) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            },
            update_months: match (acc.update_months, m.update_months) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn usd(c: i64) -> Money {
        Money::from_minor(c, Currency::USD)
    }

    #[test]
    fn pricing_and_savings() {
        let p = BundlePricing::new(&[usd(4900), usd(2900), usd(1900)], usd(7900)).expect("valid");
        assert_eq!(p.original, usd(9700));
        assert_eq!(p.savings, usd(1800));
        assert_eq!(p.savings_percent, dec!(18.56));
    }

    #[test]
    fn price_bounds_and_currency() {
        assert!(matches!(
            BundlePricing::new(&[usd(100), usd(100)], usd(201)),
            Err(Error::Invalid(e)) if e.field() == "price"
        ));
        assert!(matches!(
            BundlePricing::new(&[usd(100)], usd(-1)),
            Err(Error::Invalid(e)) if e.field() == "price"
        ));
        assert!(matches!(
            BundlePricing::new(&[usd(100), Money::from_minor(100, Currency::EUR)], usd(150)),
            Err(Error::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn member_prices_must_not_be_negative() {
        assert!(matches!(
            BundlePricing::new(&[usd(-100), usd(300)], usd(150)),
            Err(Error::Invalid(e)) if e.field() == "member_prices" && e.reason() == &Reason::Negative
        ));
    }

    #[test]
    fn huge_amounts_price_without_panicking() {
        let big = Money::from_minor(crate::value::money::MAX_MINOR, Currency::JPY);
        let p = BundlePricing::new(&[big], Money::zero(Currency::JPY)).expect("prices");
        assert_eq!(p.savings_percent, dec!(100));
    }

    #[test]
    fn completing_a_bundle() {
        let prices = [usd(6000), usd(3000), usd(1000)];
        let bundle = usd(8000);
        assert_eq!(
            complete_the_bundle(bundle, &prices, &[false; 3]).expect("ok"),
            bundle
        );
        assert_eq!(
            complete_the_bundle(bundle, &prices, &[true; 3]).expect("ok"),
            usd(0)
        );
        // Owning the 60.00 member credits its 60% share of 80.00.
        assert_eq!(
            complete_the_bundle(bundle, &prices, &[true, false, false]).expect("ok"),
            usd(3200)
        );
    }

    #[test]
    fn availability_window() {
        let t = |d: i64| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(d);
        let mut b = NewBundle {
            slug: Slug::parse("starter").expect("valid"),
            name: "Starter".into(),
            description: String::new(),
            workflow_ids: vec![
                WorkflowId::from_uuid(uuid::Uuid::from_u128(1)),
                WorkflowId::from_uuid(uuid::Uuid::from_u128(2)),
            ],
            price: usd(100),
            valid_from: Some(t(10)),
            valid_until: Some(t(20)),
            seo: Seo::default(),
        }
        .build(
            BundleId::from_uuid(uuid::Uuid::nil()),
            &[usd(80), usd(80)],
            t(0),
        )
        .expect("valid");
        assert_eq!(b.availability(t(9)), Availability::NotYet { from: t(10) });
        assert_eq!(b.availability(t(10)), Availability::OnSale);
        assert_eq!(b.availability(t(20)), Availability::Ended { until: t(20) });
        b.is_active = false;
        assert_eq!(b.availability(t(15)), Availability::Inactive);
    }

    #[test]
    fn bundle_members_checked() {
        let one = vec![WorkflowId::from_uuid(uuid::Uuid::from_u128(1))];
        let n = NewBundle {
            slug: Slug::parse("x").expect("valid"),
            name: "X".into(),
            description: String::new(),
            workflow_ids: one.clone(),
            price: usd(1),
            valid_from: None,
            valid_until: None,
            seo: Seo::default(),
        };
        assert_eq!(
            n.validate().expect_err("one member").field(),
            "workflow_ids"
        );
        let dup = NewBundle {
            workflow_ids: vec![one[0], one[0]],
            ..n
        };
        assert_eq!(
            dup.validate().expect_err("duplicate").field(),
            "workflow_ids"
        );
        let negative = NewBundle {
            workflow_ids: vec![one[0], WorkflowId::from_uuid(uuid::Uuid::from_u128(2))],
            price: usd(-1),
            ..dup
        };
        let e = negative.validate().expect_err("negative price");
        assert_eq!((e.field(), e.reason()), ("price", &Reason::Negative));
    }

    proptest! {
        #[test]
        fn bundle_rules_hold(
            prices in proptest::collection::vec(1i64..100_000, 2..100),
            discount_pct in 0i64..=100,
            owned_bits in proptest::collection::vec(any::<bool>(), 100),
        ) {
            let members: Vec<Money> = prices.iter().map(|c| usd(*c)).collect();
            let original: i64 = prices.iter().sum();
            let price = usd(original * (100 - discount_pct) / 100);
            let pricing = BundlePricing::new(&members, price).expect("valid");
            prop_assert!(!pricing.savings.is_negative());
            prop_assert!(pricing.savings_percent >= Decimal::ZERO && pricing.savings_percent <= Decimal::ONE_HUNDRED);
            let parts = allocate_revenue(price, &members).expect("ok");
            let sum: i64 = parts.iter().map(|m| m.to_minor().expect("fits")).sum();
            prop_assert_eq!(sum, price.to_minor().expect("fits"));
            let owned = &owned_bits[..members.len()];
            let rest = complete_the_bundle(price, &members, owned).expect("ok");
            prop_assert!(!rest.is_negative());
            prop_assert!(rest.checked_cmp(&price).expect("same currency") != std::cmp::Ordering::Greater);
            // Owning more never costs more.
            let mut more = owned.to_vec();
            if let Some(i) = more.iter().position(|o| !o) {
                more[i] = true;
                let rest2 = complete_the_bundle(price, &members, &more).expect("ok");
                prop_assert!(rest2.checked_cmp(&rest).expect("same") != std::cmp::Ordering::Greater);
            }
        }
    }

    fn arb_terms() -> impl proptest::strategy::Strategy<Value = LicenseTerms> {
        use proptest::prelude::*;
        (
            proptest::option::of(0u32..100),
            proptest::option::of(0u32..60),
        )
            .prop_map(|(d, u)| LicenseTerms {
                download_limit: d,
                update_months: u,
            })
    }

    proptest::proptest! {
        /// The bundle's terms are at least as generous as every member's,
        /// and no more generous than all of them together: unlimited only
        /// when a member is, the sum of limits, the longest window.
        #[test]
        fn bundle_terms_are_the_most_generous(members in proptest::collection::vec(arb_terms(), 1..8)) {
            let t = bundle_license_terms(&members);
            for m in &members {
                proptest::prop_assert!(t.download_limit.is_none() || m.download_limit.is_some_and(|l| l <= t.download_limit.unwrap_or(0)));
                proptest::prop_assert!(t.update_months.is_none() || m.update_months.is_some_and(|u| u <= t.update_months.unwrap_or(0)));
            }
            let unlimited = members.iter().any(|m| m.download_limit.is_none());
            proptest::prop_assert_eq!(t.download_limit.is_none(), unlimited);
            if !unlimited {
                proptest::prop_assert_eq!(t.download_limit, Some(members.iter().filter_map(|m| m.download_limit).sum()));
            }
            let forever = members.iter().any(|m| m.update_months.is_none());
            proptest::prop_assert_eq!(t.update_months.is_none(), forever);
            if !forever {
                proptest::prop_assert_eq!(t.update_months, members.iter().filter_map(|m| m.update_months).max());
            }
        }
    }

    #[test]
    fn a_bundle_holds_up_to_a_hundred_workflows() {
        let of = |n: u128| NewBundle {
            slug: Slug::parse("big").expect("valid"),
            name: "Big".into(),
            description: String::new(),
            workflow_ids: (1..=n)
                .map(|i| WorkflowId::from_uuid(uuid::Uuid::from_u128(i)))
                .collect(),
            price: usd(100),
            valid_from: None,
            valid_until: None,
            seo: Seo::default(),
        };
        assert!(of(100).validate().is_ok());
        let err = of(101).validate().expect_err("101");
        assert_eq!(err.field(), "workflow_ids");
        assert!(matches!(err.reason(), Reason::TooLong { max: 100 }));
    }
}

//! Pricing tiers, shared by workflows (what a workflow requires) and
//! memberships (what a member has).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// The seed's pricing tiers, ordered from least to most: a membership of tier
/// `t` covers every workflow whose tier is `<= t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingTier {
    /// Free to download for everyone.
    Free,
    /// Entry paid tier.
    Basic,
    /// Professional tier.
    Pro,
    /// Premium tier.
    Premium,
    /// Enterprise tier.
    Enterprise,
}

impl PricingTier {
    /// Every tier, lowest first.
    pub const ALL: [PricingTier; 5] = [
        PricingTier::Free,
        PricingTier::Basic,
        PricingTier::Pro,
        PricingTier::Premium,
        PricingTier::Enterprise,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PricingTier::Free => "free",
            PricingTier::Basic => "basic",
            PricingTier::Pro => "pro",
            PricingTier::Premium => "premium",
            PricingTier::Enterprise => "enterprise",
        }
    }

    /// True when a membership of tier `self` covers content of tier `required`.
    pub fn covers(&self, required: PricingTier) -> bool {
        *self >= required
    }
}

impl fmt::Display for PricingTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for PricingTier {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "pricing_tier",
                    Reason::Unknown {
                        allowed: "free, basic, pro, premium, enterprise",
                    },
                )
            })
    }
}

/// Declares a closed, ordered enum stored by its snake_case name, with
/// `as_str`, `ALL`, `Display` and a `FromStr` that names the field on error.
macro_rules! named_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $field:literal, $allowed:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vdoc])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::value::validation::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::value::validation::ValidationError::new(
                        $field,
                        $crate::value::validation::Reason::Unknown { allowed: $allowed },
                    )),
                }
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_cover_lower_tiers() {
        assert!(PricingTier::Pro.covers(PricingTier::Basic));
        assert!(PricingTier::Pro.covers(PricingTier::Pro));
        assert!(!PricingTier::Basic.covers(PricingTier::Pro));
    }

    #[test]
    fn tier_names_roundtrip() {
        for t in PricingTier::ALL {
            assert_eq!(t.as_str().parse::<PricingTier>().expect("roundtrip"), t);
        }
        let err = "gold".parse::<PricingTier>().expect_err("unknown");
        assert_eq!(err.field(), "pricing_tier");
    }
}

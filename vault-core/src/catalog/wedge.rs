//! The W.E.D.G.E. framework (Workflow Engine for Digital Growth &
//! Excellence): how the catalog scores and classifies a workflow.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError};

/// A score from 0 to 10 with at most one decimal place (`7.5`), as the seed's
/// `wedge_score` and `efficiency_rating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Score(Decimal);

impl Score {
    /// Checks `value` is within 0..=10 with at most one decimal place.
    pub fn new(field: &'static str, value: Decimal) -> Result<Self, ValidationError> {
        if value < Decimal::ZERO || value > Decimal::TEN {
            return Err(ValidationError::new(
                field,
                Reason::OutOfRange {
                    min: "0".into(),
                    max: "10".into(),
                },
            ));
        }
        let v = value.normalize();
        if v.scale() > 1 {
            return Err(ValidationError::new(
                field,
                Reason::Precision { max_scale: 1 },
            ));
        }
        Ok(Self(v))
    }

    /// The score.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Score {
    type Error = ValidationError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Self::new("score", d)
    }
}

impl From<Score> for Decimal {
    fn from(s: Score) -> Self {
        s.0
    }
}

named_enum!(
    /// **W**orkflow complexity: how much skill setting it up takes.
    Complexity, "workflow_complexity", "beginner, intermediate, advanced, expert" {
        /// Set up in minutes, no prior knowledge.
        Beginner = "beginner",
        /// Some familiarity with the platform.
        Intermediate = "intermediate",
        /// Comfortable with APIs and data mapping.
        Advanced = "advanced",
        /// Custom code, webhooks, error handling.
        Expert = "expert",
    }
);

named_enum!(
    /// **D**igital maturity the workflow assumes of a business.
    DigitalMaturity, "digital_maturity", "foundational, developing, established, advanced, cutting_edge" {
        /// Just starting to automate.
        Foundational = "foundational",
        /// Some tools connected.
        Developing = "developing",
        /// Automation is routine.
        Established = "established",
        /// Integrated systems and data.
        Advanced = "advanced",
        /// Leading edge.
        CuttingEdge = "cutting_edge",
    }
);

named_enum!(
    /// **G**rowth potential: the business impact the workflow can have.
    GrowthPotential, "growth_potential", "low, moderate, high, exponential" {
        /// Saves a little time.
        Low = "low",
        /// Noticeable gains.
        Moderate = "moderate",
        /// Changes how a team works.
        High = "high",
        /// Compounds with scale.
        Exponential = "exponential",
    }
);

named_enum!(
    /// **E**xcellence tier: the curated quality level.
    ExcellenceTier, "excellence_tier", "standard, professional, elite, legendary" {
        /// Meets the catalog's bar.
        Standard = "standard",
        /// Polished and documented.
        Professional = "professional",
        /// Best in its category.
        Elite = "elite",
        /// Hall of fame.
        Legendary = "legendary",
    }
);

/// A workflow's W.E.D.G.E. profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wedge {
    /// Overall score, 0-10.
    pub score: Score,
    /// **W**: complexity.
    pub complexity: Complexity,
    /// **E**: efficiency rating, 0-10 (time and resources saved).
    pub efficiency: Score,
    /// **D**: digital maturity.
    pub digital_maturity: DigitalMaturity,
    /// **G**: growth potential.
    pub growth_potential: GrowthPotential,
    /// **E**: excellence tier.
    pub excellence_tier: ExcellenceTier,
}

impl Default for Wedge {
    fn default() -> Self {
        Self {
            score: Score(Decimal::ZERO),
            complexity: Complexity::Beginner,
            efficiency: Score(Decimal::ZERO),
            digital_maturity: DigitalMaturity::Foundational,
            growth_potential: GrowthPotential::Low,
            excellence_tier: ExcellenceTier::Standard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn score_range_and_precision() {
        assert!(Score::new("wedge_score", dec!(7.5)).is_ok());
        assert!(Score::new("wedge_score", dec!(10.0)).is_ok());
        let e = Score::new("wedge_score", dec!(10.1)).expect_err("range");
        assert_eq!(e.field(), "wedge_score");
        assert!(matches!(e.reason(), Reason::OutOfRange { .. }));
        let e = Score::new("efficiency_rating", dec!(-0.1)).expect_err("range");
        assert_eq!(e.field(), "efficiency_rating");
        let e = Score::new("wedge_score", dec!(7.25)).expect_err("precision");
        assert_eq!(e.reason(), &Reason::Precision { max_scale: 1 });
    }

    #[test]
    fn enums_parse_and_name_their_field() {
        assert_eq!(
            "expert".parse::<Complexity>().expect("ok"),
            Complexity::Expert
        );
        assert_eq!(
            "cutting_edge".parse::<DigitalMaturity>().expect("ok"),
            DigitalMaturity::CuttingEdge
        );
        assert_eq!(
            "huge".parse::<GrowthPotential>().expect_err("x").field(),
            "growth_potential"
        );
        assert_eq!(
            "gold".parse::<ExcellenceTier>().expect_err("x").field(),
            "excellence_tier"
        );
        assert!(Complexity::Beginner < Complexity::Expert);
    }
}

//! Reviews: one per user per workflow, moderated before they count, voted on
//! for helpfulness (one vote per user).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::community::rating::{Contribution, DimensionRatings, Rating};
use crate::value::actor::UserId;
use crate::value::ids::{ReviewId, WorkflowId};
use crate::value::tier::named_enum;
use crate::value::validation::{ValidationError, check_text};

named_enum!(
    /// Moderation status. Only `approved` reviews count toward ratings.
    ModerationStatus, "moderation_status", "pending, approved, rejected, flagged" {
        /// Waiting for a moderator.
        Pending = "pending",
        /// Visible and counted.
        Approved = "approved",
        /// Hidden.
        Rejected = "rejected",
        /// Reported; hidden until looked at again.
        Flagged = "flagged",
    }
);

named_enum!(
    /// A helpfulness vote.
    Vote, "vote", "helpful, not_helpful" {
        /// Helped.
        Helpful = "helpful",
        /// Did not.
        NotHelpful = "not_helpful",
    }
);

/// What a reviewer writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewInput {
    /// Overall stars.
    pub rating: Rating,
    /// Per-dimension stars.
    pub dimensions: DimensionRatings,
    /// Title, up to 200 characters.
    pub title: String,
    /// Body, up to 10 000 characters.
    pub body: String,
}

impl ReviewInput {
    /// Checks the text fields (ratings are checked when built).
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("title", &self.title, false, 200)?;
        check_text("body", &self.body, false, 10_000)
    }
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Id.
    pub id: ReviewId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The reviewer.
    pub user_id: UserId,
    /// What they wrote.
    pub input: ReviewInput,
    /// The reviewer had a paid purchase of the workflow when writing.
    pub verified_purchase: bool,
    /// Helpful votes (maintained).
    pub helpful_count: u64,
    /// Not-helpful votes (maintained).
    pub not_helpful_count: u64,
    /// Moderation status.
    pub status: ModerationStatus,
    /// Who moderated last.
    pub moderated_by: Option<UserId>,
    /// When.
    pub moderated_at: Option<DateTime<Utc>>,
    /// Moderator's note.
    pub moderation_note: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; a write expecting an older one conflicts.
    pub revision: u64,
}

impl Review {
    /// What this review adds to the workflow's rating: nothing unless approved.
    pub fn contribution(&self) -> Option<Contribution> {
        (self.status == ModerationStatus::Approved).then_some(Contribution {
            overall: self.input.rating,
            dimensions: self.input.dimensions,
        })
    }

    /// The Wilson lower bound of its helpfulness at 95%.
    pub fn helpfulness(&self) -> rust_decimal::Decimal {
        crate::community::rating::wilson_lower_bound(
            self.helpful_count,
            self.not_helpful_count,
            crate::community::rating::Z_95,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        let mut r = ReviewInput {
            rating: Rating::new(4).expect("valid"),
            dimensions: DimensionRatings::default(),
            title: "t".repeat(201),
            body: String::new(),
        };
        assert_eq!(r.validate().expect_err("long").field(), "title");
        r.title = "Great".into();
        r.body = "b".repeat(10_001);
        assert_eq!(r.validate().expect_err("long").field(), "body");
    }
}

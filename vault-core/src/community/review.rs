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
    /// When it was first approved, kept through later moderation and edits:
    /// the day the analytics count it as a new review, so that day's figure
    /// can be counted again from the rows.
    pub approved_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; a write expecting an older one conflicts.
    pub revision: u64,
}

impl Review {
    /// A review as submitted at `now`: pending moderation, no votes, at
    /// revision 0. `verified_purchase` says whether the author paid for the
    /// workflow.
    pub fn submitted(
        id: ReviewId,
        workflow_id: WorkflowId,
        user_id: UserId,
        input: ReviewInput,
        verified_purchase: bool,
        now: DateTime<Utc>,
    ) -> Review {
        Review {
            id,
            workflow_id,
            user_id,
            input,
            verified_purchase,
            helpful_count: 0,
            not_helpful_count: 0,
            status: ModerationStatus::Pending,
            moderated_by: None,
            moderated_at: None,
            moderation_note: None,
            approved_at: None,
            created_at: now,
            updated_at: now,
            revision: 0,
        }
    }

    /// The review after a moderator sets `status` at `now`, and whether
    /// this is its first approval (what the day's `reviews` figure counts).
    /// Approving again after a rejection or an edit counts nothing more:
    /// a review is new once.
    pub fn moderated(
        &self,
        status: ModerationStatus,
        by: Option<UserId>,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> (Review, bool) {
        let first = status == ModerationStatus::Approved && self.approved_at.is_none();
        let mut next = self.clone();
        next.status = status;
        next.moderated_by = by;
        next.moderated_at = Some(now);
        next.moderation_note = note;
        if first {
            next.approved_at = Some(now);
        }
        next.updated_at = now;
        next.revision = self.revision + 1;
        (next, first)
    }

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
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn pending() -> Review {
        Review::submitted(
            ReviewId::from_uuid(uuid::Uuid::from_u128(1)),
            WorkflowId::from_uuid(uuid::Uuid::from_u128(2)),
            UserId::parse("user-1").expect("user"),
            ReviewInput {
                rating: Rating::new(4).expect("valid"),
                dimensions: DimensionRatings::default(),
                title: "t".into(),
                body: String::new(),
            },
            false,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        )
    }

    proptest! {
        // Any run of moderations counts the review as new at most once, on
        // the first approval, and `approved_at` names that instant.
        #[test]
        fn first_approval_is_counted_once(steps in proptest::collection::vec(0usize..4, 0..12)) {
            const ALL: [ModerationStatus; 4] = [
                ModerationStatus::Pending,
                ModerationStatus::Approved,
                ModerationStatus::Rejected,
                ModerationStatus::Flagged,
            ];
            let mut r = pending();
            let mut firsts = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let now = r.created_at + chrono::Duration::hours(i as i64 + 1);
                let (next, first) = r.moderated(ALL[*s], None, None, now);
                prop_assert_eq!(next.revision, r.revision + 1);
                prop_assert_eq!(next.status, ALL[*s]);
                if first {
                    firsts.push(now);
                }
                r = next;
            }
            let first_approval = steps
                .iter()
                .position(|s| ALL[*s] == ModerationStatus::Approved)
                .map(|i| r.created_at + chrono::Duration::hours(i as i64 + 1));
            prop_assert_eq!(firsts.len(), usize::from(first_approval.is_some()));
            prop_assert_eq!(r.approved_at, first_approval);
        }
    }

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

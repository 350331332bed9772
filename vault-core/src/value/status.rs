//! The stored status names of the domain's records: closed sets of names,
//! parsed from text and written as text the same way by every store (the
//! `named_enum!` tables are the one place each name is spelled). They live
//! at the bottom because an access decision and the crate's errors speak of
//! them; each area re-exports its own.

use serde::{Deserialize, Serialize};

use crate::value::ids::{MembershipId, PurchaseId};
use crate::value::tier::named_enum;

named_enum!(
    /// The seed's membership status.
    MembershipStatus, "status", "trialing, active, past_due, canceled, expired" {
        /// In a free trial.
        Trialing = "trialing",
        /// Paid and current.
        Active = "active",
        /// A renewal payment failed; access continues for a grace period.
        PastDue = "past_due",
        /// Ended by the member or the app; no access.
        Canceled = "canceled",
        /// Ran out (trial or period over without renewal); no access.
        Expired = "expired",
    }
);

impl MembershipStatus {
    /// Canceled or expired: nothing brings it back.
    pub fn is_ended(&self) -> bool {
        matches!(self, MembershipStatus::Canceled | MembershipStatus::Expired)
    }
}

named_enum!(
    /// The seed's `payment_status`.
    PaymentStatus, "payment_status", "pending, completed, failed, refunded, partially_refunded, disputed" {
        /// Checkout started, not paid.
        Pending = "pending",
        /// Paid.
        Completed = "completed",
        /// Payment failed.
        Failed = "failed",
        /// Fully refunded: access revoked.
        Refunded = "refunded",
        /// Partly refunded: access kept.
        PartiallyRefunded = "partially_refunded",
        /// Under dispute: access suspended.
        Disputed = "disputed",
    }
);

impl PaymentStatus {
    /// Paid and not taken back: the statuses that can grant access.
    pub fn is_paid(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Completed | PaymentStatus::PartiallyRefunded
        )
    }
}

named_enum!(
    /// Where a workflow is in its life.
    WorkflowStatus, "status", "draft, published, archived, coming_soon" {
        /// Being written; visible and downloadable only by admins.
        Draft = "draft",
        /// In the catalog.
        Published = "published",
        /// Withdrawn: hidden from the catalog, downloadable only by those who
        /// already had access.
        Archived = "archived",
        /// Announced in the catalog, not yet downloadable.
        ComingSoon = "coming_soon",
    }
);

impl WorkflowStatus {
    /// Shown in the public catalog (published and announced workflows).
    pub fn is_listed(&self) -> bool {
        matches!(self, WorkflowStatus::Published | WorkflowStatus::ComingSoon)
    }
}

/// What paid for a download: the entitlement whose quota it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum DownloadSource {
    /// Nothing: free content.
    Free,
    /// A purchase.
    Purchase(PurchaseId),
    /// A membership.
    Membership(MembershipId),
    /// An admin or the service.
    Staff,
}

named_enum!(
    /// Why a download was allowed (the seed's `download_type`).
    DownloadKind, "download_type", "free, purchased, membership, trial" {
        /// Free workflow or public file.
        Free = "free",
        /// Through a purchase.
        Purchased = "purchased",
        /// Through a paid membership.
        Membership = "membership",
        /// Through a trial membership.
        Trial = "trial",
    }
);

//! Typed identifiers. A `WorkflowId` cannot be passed where a `FileId` is
//! expected, which rules out a whole class of mix-ups in the service.
//!
//! Ids are UUIDs minted from the caller's [`Entropy`](crate::Entropy), so tests
//! can fix them and vault-core never reads a random source of its own.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::value::validation::{Reason, ValidationError};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (e.g. one read back from storage).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the hyphenated UUID form.
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                Uuid::parse_str(s).map(Self).map_err(|_| {
                    ValidationError::new($field, Reason::Format { expected: "a UUID" })
                })
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a category (one of the business systems).
    CategoryId, "category_id"
);
id_type!(
    /// Identifies a workflow product.
    WorkflowId, "workflow_id"
);
id_type!(
    /// Identifies one file of a workflow.
    FileId, "file_id"
);
id_type!(
    /// Identifies a membership (subscription).
    MembershipId, "membership_id"
);
id_type!(
    /// Identifies a purchase.
    PurchaseId, "purchase_id"
);
id_type!(
    /// Identifies a recorded download.
    DownloadId, "download_id"
);
id_type!(
    /// Identifies a review.
    ReviewId, "review_id"
);
id_type!(
    /// Identifies a released update (version) of a workflow.
    UpdateId, "update_id"
);
id_type!(
    /// Identifies a bundle of workflows.
    BundleId, "bundle_id"
);
id_type!(
    /// Identifies a comment on a workflow.
    CommentId, "comment_id"
);
id_type!(
    /// Identifies an asset (image, video, file) shown on a workflow's page.
    AssetId, "asset_id"
);
id_type!(
    /// Identifies a setup guide of a workflow.
    DocId, "doc_id"
);
id_type!(
    /// Identifies one entry of the audit trail.
    AuditId, "audit_id"
);
id_type!(
    /// Identifies a job of the queue; also the idempotency key its handler
    /// receives.
    JobId, "job_id"
);

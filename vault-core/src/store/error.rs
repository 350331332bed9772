//! The storage contract's error.

use std::error::Error as StdError;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Which kind of record an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entity {
    /// A category.
    Category,
    /// A workflow.
    Workflow,
    /// A file.
    File,
    /// An update.
    Update,
    /// A bundle.
    Bundle,
    /// A purchase.
    Purchase,
    /// A membership.
    Membership,
    /// A download.
    Download,
    /// A review.
    Review,
    /// A vote.
    Vote,
    /// A favorite.
    Favorite,
    /// An analytics row.
    Analytics,
    /// A webhook event.
    WebhookEvent,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Category => "category",
            Entity::Workflow => "workflow",
            Entity::File => "file",
            Entity::Update => "update",
            Entity::Bundle => "bundle",
            Entity::Purchase => "purchase",
            Entity::Membership => "membership",
            Entity::Download => "download",
            Entity::Review => "review",
            Entity::Vote => "vote",
            Entity::Favorite => "favorite",
            Entity::Analytics => "analytics",
            Entity::WebhookEvent => "webhook event",
        })
    }
}

/// What a storage operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record (or a parent it names) does not exist.
    #[error("{entity} not found: {key}")]
    NotFound {
        /// Kind of record.
        entity: Entity,
        /// Key looked up.
        key: String,
    },
    /// A unique key is taken.
    #[error("{entity} already exists: {key}")]
    AlreadyExists {
        /// Kind of record.
        entity: Entity,
        /// The key.
        key: String,
    },
    /// A guarded write's precondition no longer holds; nothing was written.
    #[error("conflict on {entity} {key}: {reason}")]
    Conflict {
        /// Kind of record.
        entity: Entity,
        /// Its key.
        key: String,
        /// What no longer held.
        reason: &'static str,
    },
    /// A quota is full; nothing was written.
    #[error("{entity} {key}: limit of {limit} reached")]
    LimitReached {
        /// Kind of record holding the quota.
        entity: Entity,
        /// Its key.
        key: String,
        /// The limit.
        limit: u32,
    },
    /// The input failed a check of vault-core's that the store repeats
    /// because the trait can be called directly, bypassing the service (a
    /// hand-built query, a lookup key no record can carry). Nothing was
    /// read or written; the service maps it to [`crate::Error::Invalid`].
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The backend could not get what it waited for in time: the database's
    /// write lock (SQLite's busy timeout) or a pooled connection
    /// (PostgreSQL's acquire timeout, a lock timeout). Nothing was written;
    /// the same call may succeed later, so an app answers "try again" (503
    /// with `Retry-After`) rather than "failed". Its error is kept.
    #[error("{backend} backend busy")]
    Busy {
        /// Which backend.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
    /// The backend failed (I/O, connection, corruption). Its error is kept.
    #[error("{backend} backend error")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}

impl StoreError {
    /// A `NotFound` for `entity` with `key`.
    pub fn not_found(entity: Entity, key: impl fmt::Display) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    /// An `AlreadyExists` for `entity` with `key`.
    pub fn exists(entity: Entity, key: impl fmt::Display) -> Self {
        StoreError::AlreadyExists {
            entity,
            key: key.to_string(),
        }
    }

    /// A `Conflict` for `entity` with `key`.
    pub fn conflict(entity: Entity, key: impl fmt::Display, reason: &'static str) -> Self {
        StoreError::Conflict {
            entity,
            key: key.to_string(),
            reason,
        }
    }

    /// A [`StoreError::Busy`] wrapping the backend's own error.
    pub fn busy(
        backend: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        StoreError::Busy {
            backend,
            source: source.into(),
        }
    }

    /// Wraps a backend's own error.
    pub fn backend(
        backend: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        StoreError::Backend {
            backend,
            source: source.into(),
        }
    }
}

/// Shorthand.
pub type StoreResult<T> = Result<T, StoreError>;

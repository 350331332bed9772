//! The errors: the one error type at vault-core's boundary, the validation
//! error every constructor returns, and the error a store returns.
//!
//! Variants are chosen so a caller can act on them: show a field error to the
//! user, retry a conflict, explain a denial, or report a backend failure.
//! They sit at the bottom of the crate because money arithmetic and every
//! state machine return them.

use std::error::Error as StdError;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::actor::Refusal;
use crate::value::decision::AccessDecision;
use crate::value::money::{Currency, MoneyError};
pub use crate::value::validation::{Reason, ValidationError};

/// Every error vault-core returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency the operation works in.
        expected: Currency,
        /// The currency that was offered.
        found: Currency,
    },
    /// An arithmetic result does not fit the money representation.
    #[error("amount overflow in {what}")]
    Overflow {
        /// The operation that overflowed.
        what: &'static str,
    },
    /// The thing asked for does not exist (or is invisible to the actor).
    #[error("{entity} not found: {key}")]
    NotFound {
        /// What kind of record.
        entity: Entity,
        /// The key that was looked up.
        key: String,
    },
    /// A record with the same unique key exists already.
    #[error("{entity} already exists: {key}")]
    AlreadyExists {
        /// What kind of record.
        entity: Entity,
        /// The unique key that clashed.
        key: String,
    },
    /// The actor may not do this. Nothing was written.
    #[error("forbidden: {action}: {reason}")]
    Forbidden {
        /// The operation that was refused.
        action: &'static str,
        /// Why, in words.
        reason: &'static str,
    },
    /// The acting user's account may not act (banned, deleted or erased).
    /// Nothing was written.
    #[error("account {}", .refusal.as_str())]
    Refused {
        /// Why.
        refusal: Refusal,
    },
    /// Access to a workflow or file was denied; the decision says why and what
    /// would grant it.
    #[error("access denied: {}", .0.summary())]
    Denied(Box<AccessDecision>),
    /// A state machine refused an event in its current state.
    #[error("{entity} cannot {event} while {state}")]
    InvalidTransition {
        /// What kind of record.
        entity: Entity,
        /// The state it is in.
        state: &'static str,
        /// The event that was refused.
        event: &'static str,
    },
    /// The record changed between read and write (or a limit was reached
    /// concurrently); reading again and retrying may succeed.
    #[error("conflict on {entity} {key}: {reason}")]
    Conflict {
        /// What kind of record.
        entity: Entity,
        /// Its key.
        key: String,
        /// What no longer held.
        reason: &'static str,
    },
    /// The storage backend failed.
    #[error("storage: {0}")]
    Store(#[source] StoreError),
}

impl Error {
    /// The variant's name, for logs and traces: what happened, never the
    /// values involved.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid",
            Error::CurrencyMismatch { .. } => "currency_mismatch",
            Error::Overflow { .. } => "overflow",
            Error::NotFound { .. } => "not_found",
            Error::AlreadyExists { .. } => "already_exists",
            Error::Forbidden { .. } => "forbidden",
            Error::Refused { .. } => "refused",
            Error::Denied(_) => "denied",
            Error::InvalidTransition { .. } => "invalid_transition",
            Error::Conflict { .. } => "conflict",
            Error::Store(StoreError::Busy { .. }) => "busy",
            Error::Store(StoreError::Corrupt { .. }) => "corrupt",
            Error::Store(_) => "store",
        }
    }
}

impl From<MoneyError> for Error {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::CurrencyMismatch { expected, found } => {
                Error::CurrencyMismatch { expected, found }
            }
            MoneyError::Overflow { what } => Error::Overflow { what },
            MoneyError::Invalid(v) => Error::Invalid(v),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, key } => Error::NotFound { entity, key },
            StoreError::AlreadyExists { entity, key } => Error::AlreadyExists { entity, key },
            StoreError::Conflict {
                entity,
                key,
                reason,
            } => Error::Conflict {
                entity,
                key,
                reason,
            },
            StoreError::Invalid(e) => Error::Invalid(e),
            other => Error::Store(other),
        }
    }
}

/// Shorthand for results in vault-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// ------------------------------------------------------------ the store's

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
    /// An account.
    Account,
    /// A system setting.
    Setting,
    /// An entry of the audit trail.
    AuditEntry,
    /// A comment on a workflow.
    Comment,
    /// An asset of a workflow's page.
    Asset,
    /// A setup guide of a workflow's page.
    Doc,
    /// A job of the queue.
    Job,
}

impl Entity {
    /// Every kind, for parsing back what [`Entity::word`] wrote.
    pub const ALL: [Entity; 20] = [
        Entity::Category,
        Entity::Workflow,
        Entity::File,
        Entity::Update,
        Entity::Bundle,
        Entity::Purchase,
        Entity::Membership,
        Entity::Download,
        Entity::Review,
        Entity::Vote,
        Entity::Favorite,
        Entity::Analytics,
        Entity::WebhookEvent,
        Entity::Account,
        Entity::Setting,
        Entity::AuditEntry,
        Entity::Comment,
        Entity::Asset,
        Entity::Doc,
        Entity::Job,
    ];

    /// The stored word (snake case, as serde writes it).
    pub fn word(self) -> &'static str {
        match self {
            Entity::WebhookEvent => "webhook_event",
            Entity::AuditEntry => "audit_entry",
            other => other.display_word(),
        }
    }

    /// The kind a stored word names.
    pub fn from_word(word: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.word() == word)
    }

    fn display_word(self) -> &'static str {
        match self {
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
            Entity::Account => "account",
            Entity::Setting => "setting",
            Entity::AuditEntry => "audit entry",
            Entity::Comment => "comment",
            Entity::Asset => "asset",
            Entity::Doc => "doc",
            Entity::Job => "job",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_word())
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
    /// A stored row does not decode: a value read back failed its vault-core
    /// constructor (an unknown status, a malformed id, timestamp or JSON, a
    /// negative counter) or contradicts another column of its row. The row
    /// was edited by hand or by another program, or the schema and the code
    /// disagree; retrying will not help, the row needs repair.
    ///
    /// `value` is the stored text, except in a column that may hold
    /// something sensitive (a key or its hash, an email, a credential, a
    /// token, a secret, an IP hash, an event payload): there it is
    /// `<redacted>`, so the error can be logged as it is.
    /// [`StoreError::corrupt`] decides which ([`is_sensitive_column`]).
    #[error("corrupt row in {table}.{column}: {value}")]
    Corrupt {
        /// The table read.
        table: &'static str,
        /// The column that does not decode (or the columns that disagree,
        /// comma-separated).
        column: String,
        /// What it holds, or `<redacted>`.
        value: String,
    },
    /// The backend failed (I/O, connection). Its error is kept.
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

    /// A [`StoreError::Corrupt`] for `column` of `table` holding `value`,
    /// the value replaced by `<redacted>` when the column's name says it may
    /// hold something sensitive ([`is_sensitive_column`]). A decoder that
    /// knows its column but not its table passes `""` and the row's reader
    /// names the table with [`StoreError::in_table`].
    pub fn corrupt(table: &'static str, column: &str, value: impl fmt::Display) -> Self {
        let value = if is_sensitive_column(column) {
            REDACTED.to_owned()
        } else {
            value.to_string()
        };
        StoreError::Corrupt {
            table,
            column: column.to_owned(),
            value,
        }
    }

    /// Names the table of a [`StoreError::Corrupt`] that does not name one
    /// yet; any other error is returned as it is.
    pub fn in_table(self, name: &'static str) -> Self {
        match self {
            StoreError::Corrupt {
                table: "",
                column,
                value,
            } => StoreError::Corrupt {
                table: name,
                column,
                value,
            },
            other => other,
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

/// What [`StoreError::Corrupt`] says instead of a sensitive value.
pub const REDACTED: &str = "<redacted>";

/// Whether a column may hold something that must not reach a log: a key or
/// its hash, an email, a credential, a token, a secret, a password, an IP
/// hash, a visitor key, or a payment provider's event payload (which names
/// the customer). Judged by the words of the column's name, so a new column
/// named that way is covered without a list to keep in step with the schemas.
pub fn is_sensitive_column(column: &str) -> bool {
    let column = column.to_ascii_lowercase();
    [
        "key",
        "hash",
        "email",
        "credential",
        "token",
        "secret",
        "password",
        "ip",
        "visitor",
        "payload",
    ]
    .iter()
    .any(|word| {
        column
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|part| part == *word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_names_table_and_column_and_redacts_sensitive_values() {
        let e = StoreError::corrupt("", "status", "exploded").in_table("workflows");
        assert_eq!(e.to_string(), "corrupt row in workflows.status: exploded");
        assert_eq!(Error::from(e).kind(), "corrupt");
        for column in [
            "license_key_hash",
            "email",
            "ip_hash",
            "api_token",
            "visitor_key",
            "license_key",
            "payload",
        ] {
            let e = StoreError::corrupt("t", column, "hunter2");
            assert!(!e.to_string().contains("hunter2"), "{column}: {e}");
        }
        // Words, not substrings: a description or a zip code is shown.
        for column in ["description", "ship_to", "status"] {
            let e = StoreError::corrupt("t", column, "plain");
            assert!(e.to_string().contains("plain"), "{column}: {e}");
        }
        // A table already named stays named.
        let e = StoreError::corrupt("purchases", "status", "x").in_table("other");
        assert!(matches!(
            e,
            StoreError::Corrupt {
                table: "purchases",
                ..
            }
        ));
    }
}

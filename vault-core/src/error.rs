//! The one error type at vault-core's boundary, and the validation error every
//! constructor returns.
//!
//! Variants are chosen so a caller can act on them: show a field error to the
//! user, retry a conflict, explain a denial, or report a backend failure.

use std::fmt;

use crate::access::AccessDecision;
use crate::money::Currency;
use crate::store::{Entity, StoreError};

/// Why a value was refused at construction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The value was empty or blank.
    Empty,
    /// The value was longer than allowed.
    TooLong {
        /// The maximum length in characters (or items).
        max: usize,
    },
    /// The value lies outside its allowed range.
    OutOfRange {
        /// Lower bound, inclusive, rendered for humans.
        min: String,
        /// Upper bound, inclusive, rendered for humans.
        max: String,
    },
    /// The value does not have the required shape.
    Format {
        /// What the shape should be.
        expected: &'static str,
    },
    /// A money amount has more decimal places than its currency's minor unit.
    Precision {
        /// Decimal places the currency allows.
        max_scale: u32,
    },
    /// A value that must not be negative was negative.
    Negative,
    /// The value is not one of the allowed names.
    Unknown {
        /// The allowed names, rendered for humans.
        allowed: &'static str,
    },
    /// The value contradicts another field.
    Inconsistent {
        /// What it contradicts, in words.
        detail: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Empty => f.write_str("must not be empty"),
            Reason::TooLong { max } => write!(f, "must be at most {max} long"),
            Reason::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Reason::Format { expected } => write!(f, "must be {expected}"),
            Reason::Precision { max_scale } => {
                write!(f, "must have at most {max_scale} decimal places")
            }
            Reason::Negative => f.write_str("must not be negative"),
            Reason::Unknown { allowed } => write!(f, "must be one of {allowed}"),
            Reason::Inconsistent { detail } => f.write_str(detail),
        }
    }
}

/// A value that failed its constructor's checks: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ValidationError {
    field: &'static str,
    reason: Reason,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: &'static str, reason: Reason) -> Self {
        Self { field, reason }
    }

    /// The name of the field that was refused, as the API calls it.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why it was refused.
    pub fn reason(&self) -> &Reason {
        &self.reason
    }
}

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

/// Checks a free-text field: trims nothing, refuses blank when `required`,
/// and refuses more than `max` characters.
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    required: bool,
    max: usize,
) -> Result<(), ValidationError> {
    if required && value.trim().is_empty() {
        return Err(ValidationError::new(field, Reason::Empty));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(field, Reason::TooLong { max }));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ValidationError::new(
            field,
            Reason::Format {
                expected: "text without control characters",
            },
        ));
    }
    Ok(())
}

/// Checks an optional count that must be at least one when set (`None`
/// means unlimited): download limits and update windows.
pub(crate) fn check_limit(field: &'static str, value: Option<u32>) -> Result<(), ValidationError> {
    if value == Some(0) {
        return Err(ValidationError::new(
            field,
            Reason::OutOfRange {
                min: "1".into(),
                max: "unlimited".into(),
            },
        ));
    }
    Ok(())
}

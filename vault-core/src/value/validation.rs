//! The validation error every constructor returns: which field was refused,
//! and why. It sits at the very bottom: every checked value builds on it.

use std::fmt;

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
/// Checks a stored SHA-256 digest: 64 lowercase hex characters, the form
/// every digest the vault keeps instead of a secret is written in (IP
/// hashes, license keys).
pub(crate) fn check_digest(field: &'static str, s: &str) -> Result<(), ValidationError> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ValidationError::new(
            field,
            Reason::Format {
                expected: "64 lowercase hex characters",
            },
        ));
    }
    Ok(())
}

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

//! URL slugs for workflows, categories and bundles.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// A URL-safe identifier: 1 to 100 characters of lowercase ASCII letters,
/// digits and single hyphens, not starting or ending with a hyphen.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Longest slug accepted.
    pub const MAX_LEN: usize = 100;

    /// Checks `s` and wraps it; the field is reported as `slug`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::parse_field("slug", s)
    }

    /// Like [`Slug::parse`], naming `field` in the error.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, ValidationError> {
        const SHAPE: Reason = Reason::Format {
            expected: "lowercase letters, digits and single hyphens, not at either end",
        };
        if s.is_empty() {
            return Err(ValidationError::new(field, Reason::Empty));
        }
        // Characters, not bytes: 51 'é' are a bad shape, not too long. No
        // more bytes than the limit is no more characters (counting them
        // cost ~a third of a parse, once per card of a catalog page).
        if s.len() > Self::MAX_LEN && s.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new(
                field,
                Reason::TooLong { max: Self::MAX_LEN },
            ));
        }
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(ValidationError::new(field, SHAPE));
        }
        Ok(Self(s.to_owned()))
    }

    /// Derives a slug from a title: lowercases, turns runs of anything else
    /// into one hyphen, and trims to [`Slug::MAX_LEN`].
    pub fn from_title(title: &str) -> Result<Self, ValidationError> {
        let mut out = String::with_capacity(title.len());
        for c in title.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.truncate(Self::MAX_LEN);
        while out.ends_with('-') {
            out.pop();
        }
        Self::parse(&out)
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({:?})", self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl TryFrom<String> for Slug {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_plain_slugs() {
        assert_eq!(
            Slug::parse("lead-capture-2").expect("valid").as_str(),
            "lead-capture-2"
        );
    }

    #[test]
    fn refuses_each_bad_shape_naming_the_field() {
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "é", &"a".repeat(101)] {
            let err = Slug::parse_field("bundle_slug", bad).expect_err(bad);
            assert_eq!(err.field(), "bundle_slug");
        }
        assert_eq!(Slug::parse("").expect_err("empty").reason(), &Reason::Empty);
        assert!(matches!(
            Slug::parse(&"a".repeat(101)).expect_err("long").reason(),
            Reason::TooLong { max: 100 }
        ));
        assert!(matches!(
            Slug::parse(&"é".repeat(51)).expect_err("shape").reason(),
            Reason::Format { .. }
        ));
    }

    #[test]
    fn from_title_slugifies() {
        assert_eq!(
            Slug::from_title("  Lead Capture → CRM (v2)! ")
                .expect("valid")
                .as_str(),
            "lead-capture-crm-v2"
        );
        assert!(Slug::from_title("!!!").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_valid_slugs_roundtrip(s in "\\PC{0,120}") {
            if let Ok(slug) = Slug::parse(&s) {
                prop_assert_eq!(slug.as_str(), s.as_str());
            }
        }

        #[test]
        fn from_title_yields_valid_or_error(s in "\\PC{0,200}") {
            if let Ok(slug) = Slug::from_title(&s) {
                prop_assert!(Slug::parse(slug.as_str()).is_ok());
            }
        }
    }
}

//! Tags: the short labels a workflow carries and a favorite can be filed
//! under.

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// A tag: 1-50 characters of lowercase letters, digits, hyphens and spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Lowercases and checks a tag.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim().to_lowercase();
        if t.is_empty() {
            return Err(ValidationError::new("tags", Reason::Empty));
        }
        if t.chars().count() > 50 {
            return Err(ValidationError::new("tags", Reason::TooLong { max: 50 }));
        }
        if !t
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == ' ' || c == '.')
        {
            return Err(ValidationError::new(
                "tags",
                Reason::Format {
                    expected: "letters, digits, hyphens, dots and spaces",
                },
            ));
        }
        Ok(Self(t))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> Self {
        t.0
    }
}

/// Parses a list of tags, dropping duplicates but keeping first-seen order.
pub fn parse_tags<S: AsRef<str>>(tags: &[S]) -> Result<Vec<Tag>, ValidationError> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        let tag = Tag::parse(t.as_ref())?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

//! Favorites: a user's bookmarks, with a private note and tags.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::actor::UserId;
use crate::value::ids::WorkflowId;
use crate::value::tag::Tag;
use crate::value::validation::{ValidationError, check_text};

/// A bookmarked workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Favorite {
    /// Who.
    pub user_id: UserId,
    /// What.
    pub workflow_id: WorkflowId,
    /// Private note, up to 2000 characters.
    pub note: Option<String>,
    /// Private tags, up to 20.
    pub tags: Vec<Tag>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl Favorite {
    /// Checks the note and tags.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(n) = &self.note {
            check_text("note", n, false, 2000)?;
        }
        if self.tags.len() > 20 {
            return Err(ValidationError::new(
                "tags",
                crate::value::validation::Reason::TooLong { max: 20 },
            ));
        }
        Ok(())
    }
}

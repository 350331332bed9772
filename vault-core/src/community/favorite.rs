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
    /// This favorite with a new note and tags (each tag once, first
    /// occurrence kept), checked; the user, workflow and creation time stay.
    pub fn edited(&self, note: Option<String>, tags: Vec<Tag>) -> Result<Self, ValidationError> {
        let mut unique: Vec<Tag> = Vec::with_capacity(tags.len());
        for tag in tags {
            if !unique.contains(&tag) {
                unique.push(tag);
            }
        }
        let next = Self {
            note,
            tags: unique,
            ..self.clone()
        };
        next.validate()?;
        Ok(next)
    }

    /// True when the favorite carries `tag`: the filter of a user's list.
    pub fn carries(&self, tag: &Tag) -> bool {
        self.tags.contains(tag)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn favorite() -> Favorite {
        Favorite {
            user_id: UserId::parse("ada").expect("user"),
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            note: None,
            tags: vec![],
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn tag(s: &str) -> Tag {
        Tag::parse(s).expect("tag")
    }

    #[test]
    fn an_edit_keeps_who_what_and_when() {
        let f = favorite();
        let e = f
            .edited(
                Some("for the CRM".into()),
                vec![tag("crm"), tag("later"), tag("crm")],
            )
            .expect("edit");
        assert_eq!(
            (&e.user_id, e.workflow_id, e.created_at),
            (&f.user_id, f.workflow_id, f.created_at)
        );
        assert_eq!(e.note.as_deref(), Some("for the CRM"));
        assert_eq!(e.tags, [tag("crm"), tag("later")]);
        assert!(e.carries(&tag("later")) && !e.carries(&tag("sales")));
    }

    #[test]
    fn an_edit_is_checked() {
        let f = favorite();
        let long = "x".repeat(2001);
        assert_eq!(
            f.edited(Some(long), vec![]).expect_err("note").field(),
            "note"
        );
        let many: Vec<Tag> = (0..21).map(|i| tag(&format!("t{i}"))).collect();
        assert_eq!(f.edited(None, many).expect_err("tags").field(), "tags");
        let dups: Vec<Tag> = (0..40).map(|i| tag(&format!("t{}", i % 20))).collect();
        assert_eq!(f.edited(None, dups).expect("20 distinct").tags.len(), 20);
    }

    proptest! {
        #[test]
        fn an_edit_carries_exactly_its_tags(names in proptest::collection::vec("[a-z]{1,3}", 0..30)) {
            let tags: Vec<Tag> = names.iter().map(|n| tag(n)).collect();
            match favorite().edited(None, tags.clone()) {
                Ok(e) => {
                    for t in &tags {
                        prop_assert!(e.carries(t));
                    }
                    prop_assert!(e.tags.len() <= 20);
                    let mut sorted = e.tags.clone();
                    sorted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                    sorted.dedup();
                    prop_assert_eq!(sorted.len(), e.tags.len());
                }
                Err(err) => prop_assert_eq!(err.field(), "tags"),
            }
        }
    }
}

//! Released updates of a workflow: version history and changelog. Versions
//! strictly increase per workflow; the store refuses one that does not.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::workflow::check_list;
use crate::value::ids::{UpdateId, WorkflowId};
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError, check_text};
use crate::value::version::Version;

named_enum!(
    /// The kind of a changelog line (Keep a Changelog's headings).
    ChangeKind, "change_kind", "added, changed, fixed, removed, security, deprecated" {
        /// New capability.
        Added = "added",
        /// Changed behaviour.
        Changed = "changed",
        /// Bug fix.
        Fixed = "fixed",
        /// Removed capability.
        Removed = "removed",
        /// Security fix.
        Security = "security",
        /// To be removed.
        Deprecated = "deprecated",
    }
);

/// One changelog line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangelogEntry {
    /// Heading.
    pub kind: ChangeKind,
    /// Text, 1-1000 characters.
    pub text: String,
}

/// What an editor provides to publish an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpdate {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The new version; must be greater than every earlier one.
    pub version: Version,
    /// Changelog lines (1-100).
    pub changelog: Vec<ChangelogEntry>,
    /// Names of files added.
    pub files_added: Vec<String>,
    /// Names of files modified.
    pub files_modified: Vec<String>,
    /// Names of files removed.
    pub files_removed: Vec<String>,
    /// Free-form notes, up to 20 000 characters.
    pub release_notes: String,
}

impl NewUpdate {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.changelog.is_empty() {
            return Err(ValidationError::new("changelog", Reason::Empty));
        }
        if self.changelog.len() > 100 {
            return Err(ValidationError::new(
                "changelog",
                Reason::TooLong { max: 100 },
            ));
        }
        for e in &self.changelog {
            check_text("changelog", &e.text, true, 1000)?;
        }
        check_list("files_added", &self.files_added, 200, 255)?;
        check_list("files_modified", &self.files_modified, 200, 255)?;
        check_list("files_removed", &self.files_removed, 200, 255)?;
        check_text("release_notes", &self.release_notes, false, 20_000)
    }

    /// Builds the stored update. `previous` is the latest released version;
    /// the new one must be greater, and the major flag is derived from both.
    pub fn build(
        self,
        id: UpdateId,
        previous: Option<Version>,
        now: DateTime<Utc>,
    ) -> Result<WorkflowUpdate, ValidationError> {
        self.validate()?;
        if let Some(p) = previous
            && self.version <= p
        {
            return Err(ValidationError::new(
                "version",
                Reason::Inconsistent {
                    detail: format!("must be greater than the latest version {p}"),
                },
            ));
        }
        Ok(WorkflowUpdate {
            id,
            is_major: self.version.is_major_bump_from(previous),
            workflow_id: self.workflow_id,
            version: self.version,
            changelog: self.changelog,
            files_added: self.files_added,
            files_modified: self.files_modified,
            files_removed: self.files_removed,
            release_notes: self.release_notes,
            released_at: now,
        })
    }
}

/// A released update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowUpdate {
    /// Id.
    pub id: UpdateId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Version released.
    pub version: Version,
    /// Changelog.
    pub changelog: Vec<ChangelogEntry>,
    /// Files added.
    pub files_added: Vec<String>,
    /// Files modified.
    pub files_modified: Vec<String>,
    /// Files removed.
    pub files_removed: Vec<String>,
    /// Notes.
    pub release_notes: String,
    /// Raised the major version.
    pub is_major: bool,
    /// When it was released; version-scoped licenses compare against it.
    pub released_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(v: Version) -> NewUpdate {
        NewUpdate {
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            version: v,
            changelog: vec![ChangelogEntry {
                kind: ChangeKind::Added,
                text: "Slack step".into(),
            }],
            files_added: vec![],
            files_modified: vec![],
            files_removed: vec![],
            release_notes: String::new(),
        }
    }

    #[test]
    fn versions_strictly_increase_and_major_is_derived() {
        let id = UpdateId::from_uuid(uuid::Uuid::nil());
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let u = new(Version::new(2, 0, 0))
            .build(id, Some(Version::new(1, 3, 0)), now)
            .expect("valid");
        assert!(u.is_major);
        let u = new(Version::new(1, 4, 0))
            .build(id, Some(Version::new(1, 3, 0)), now)
            .expect("valid");
        assert!(!u.is_major);
        let e = new(Version::new(1, 3, 0))
            .build(id, Some(Version::new(1, 3, 0)), now)
            .expect_err("not greater");
        assert_eq!(e.field(), "version");
    }

    #[test]
    fn changelog_required() {
        let mut u = new(Version::new(1, 0, 0));
        u.changelog.clear();
        assert_eq!(u.validate().expect_err("empty").field(), "changelog");
    }
}

//! The files of a workflow: the Make.com blueprint, the n8n export, the PDF
//! guide. Each carries the access level it requires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::MAX_INTEGER;
use crate::value::ids::{FileId, WorkflowId};
use crate::value::tier::{PricingTier, named_enum};
use crate::value::validation::{Reason, ValidationError, check_text};
use crate::value::version::Version;

named_enum!(
    /// What kind of file it is.
    FileKind, "file_kind", "make, n8n, zapier, json, pdf, zip, video, other" {
        /// A Make.com scenario blueprint.
        Make = "make",
        /// An n8n workflow export.
        N8n = "n8n",
        /// A Zapier template.
        Zapier = "zapier",
        /// Plain JSON.
        Json = "json",
        /// A PDF guide.
        Pdf = "pdf",
        /// An archive.
        Zip = "zip",
        /// A video.
        Video = "video",
        /// Anything else.
        Other = "other",
    }
);

/// Who may download a file, relative to the workflow's own rule.
///
/// A file can only be *as strict or stricter* than its workflow: the
/// workflow's access decision always applies first (see [`crate::delivery::access`]),
/// except for `Public` previews of listed workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "level", content = "tier", rename_all = "snake_case")]
pub enum FileAccess {
    /// A preview anyone may download, even anonymously, even for paid
    /// workflows (while the workflow is published).
    Public,
    /// Whoever may download the workflow.
    Standard,
    /// Members need at least this tier (when stricter than the workflow's);
    /// purchasers are unaffected.
    MinimumTier(PricingTier),
    /// Only buyers: memberships do not cover it.
    OwnersOnly,
}

/// A SHA-256 checksum as 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Checksum(String);

impl Checksum {
    /// Checks a hex SHA-256 digest (either case; stored lowercase).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ValidationError::new(
                "checksum",
                Reason::Format {
                    expected: "64 hex characters (SHA-256)",
                },
            ));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(bytes);
        Self(const_hex::encode(digest))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Checksum {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Checksum> for String {
    fn from(c: Checksum) -> Self {
        c.0
    }
}

/// What an editor provides to attach a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFile {
    /// The workflow it belongs to.
    pub workflow_id: WorkflowId,
    /// Kind.
    pub kind: FileKind,
    /// File name shown and sent to the browser, 1-255 characters.
    pub file_name: String,
    /// Where the app keeps the bytes (object key, path); opaque to the vault.
    pub storage_key: String,
    /// MIME type.
    pub mime_type: String,
    /// Workflow version the file belongs to.
    pub version: Version,
    /// The main download of the workflow (at most one per workflow).
    pub is_primary: bool,
    /// Access level.
    pub access: FileAccess,
    /// Size in bytes, at most [`MAX_INTEGER`].
    pub size_bytes: u64,
    /// SHA-256 of the content.
    pub checksum: Checksum,
}

impl NewFile {
    /// The primary, standard-access file of a workflow holding `bytes`: its
    /// size and checksum are taken from them, its MIME type from the
    /// name's extension (`.json` JSON, otherwise bytes).
    pub fn of_bytes(
        workflow_id: WorkflowId,
        kind: FileKind,
        file_name: impl Into<String>,
        storage_key: impl Into<String>,
        version: Version,
        bytes: &[u8],
    ) -> Self {
        let file_name = file_name.into();
        let mime_type = if file_name.ends_with(".json") {
            "application/json"
        } else {
            "application/octet-stream"
        };
        Self {
            workflow_id,
            kind,
            mime_type: mime_type.into(),
            file_name,
            storage_key: storage_key.into(),
            version,
            is_primary: true,
            access: FileAccess::Standard,
            size_bytes: bytes.len() as u64,
            checksum: Checksum::of(bytes),
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("file_name", &self.file_name, true, 255)?;
        if self.file_name.contains(['/', '\\']) || matches!(self.file_name.as_str(), "." | "..") {
            return Err(ValidationError::new(
                "file_name",
                Reason::Format {
                    expected: "a name without path separators, not . or ..",
                },
            ));
        }
        check_text("storage_key", &self.storage_key, true, 1024)?;
        check_text("mime_type", &self.mime_type, true, 255)?;
        if self.size_bytes > MAX_INTEGER {
            return Err(ValidationError::new(
                "size_bytes",
                Reason::OutOfRange {
                    min: "0".into(),
                    max: MAX_INTEGER.to_string(),
                },
            ));
        }
        Ok(())
    }

    /// Builds the stored file.
    pub fn build(self, id: FileId, now: DateTime<Utc>) -> Result<WorkflowFile, ValidationError> {
        self.validate()?;
        Ok(WorkflowFile {
            id,
            workflow_id: self.workflow_id,
            kind: self.kind,
            file_name: self.file_name,
            storage_key: self.storage_key,
            mime_type: self.mime_type,
            version: self.version,
            is_primary: self.is_primary,
            access: self.access,
            size_bytes: self.size_bytes,
            checksum: self.checksum,
            download_count: 0,
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowFile {
    /// Id.
    pub id: FileId,
    /// The workflow it belongs to.
    pub workflow_id: WorkflowId,
    /// Kind.
    pub kind: FileKind,
    /// File name.
    pub file_name: String,
    /// Where the app keeps the bytes.
    pub storage_key: String,
    /// MIME type.
    pub mime_type: String,
    /// Workflow version.
    pub version: Version,
    /// Main download.
    pub is_primary: bool,
    /// Access level.
    pub access: FileAccess,
    /// Size in bytes.
    pub size_bytes: u64,
    /// SHA-256.
    pub checksum: Checksum,
    /// Recorded downloads (maintained).
    pub download_count: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (maintained).
    pub updated_at: DateTime<Utc>,
    /// Bumped by every edit; an edit is written only over the revision it
    /// was made from.
    #[serde(default)]
    pub revision: u64,
}

/// What anyone who may see a workflow may know of one of its files: the
/// [`WorkflowFile`] without its `storage_key`. The key locates the bytes in
/// the app's storage; a client that learned it could fetch them without a
/// download decision (and without its limit and record), so only
/// [`Vault::download`](crate::vault::Vault::download) hands it out, for
/// the file it granted, and staff see it through
/// [`Vault::stored_files`](crate::vault::Vault::stored_files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Id.
    pub id: FileId,
    /// The workflow it belongs to.
    pub workflow_id: WorkflowId,
    /// Kind.
    pub kind: FileKind,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub mime_type: String,
    /// Workflow version.
    pub version: Version,
    /// Main download.
    pub is_primary: bool,
    /// Access level.
    pub access: FileAccess,
    /// Size in bytes.
    pub size_bytes: u64,
    /// SHA-256, for the client to check what it downloaded.
    pub checksum: Checksum,
    /// Recorded downloads.
    pub download_count: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<WorkflowFile> for FileInfo {
    fn from(f: WorkflowFile) -> Self {
        Self {
            id: f.id,
            workflow_id: f.workflow_id,
            kind: f.kind,
            file_name: f.file_name,
            mime_type: f.mime_type,
            version: f.version,
            is_primary: f.is_primary,
            access: f.access,
            size_bytes: f.size_bytes,
            checksum: f.checksum,
            download_count: f.download_count,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_checks_and_computes() {
        let c = Checksum::of(b"abc");
        assert_eq!(
            c.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(Checksum::parse(&c.as_str().to_uppercase()).is_ok());
        assert_eq!(
            Checksum::parse("abc").expect_err("short").field(),
            "checksum"
        );
    }

    #[test]
    fn file_name_without_paths() {
        let f = NewFile {
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            kind: FileKind::Make,
            file_name: "../etc/passwd".into(),
            storage_key: "k".into(),
            mime_type: "application/json".into(),
            version: Version::default(),
            is_primary: true,
            access: FileAccess::Standard,
            size_bytes: 10,
            checksum: Checksum::of(b"x"),
        };
        assert_eq!(f.validate().expect_err("path").field(), "file_name");
        let f = NewFile {
            file_name: "x.json".into(),
            storage_key: String::new(),
            ..f
        };
        assert_eq!(f.validate().expect_err("blank").field(), "storage_key");
        // Sizes stop where a signed 64-bit column does.
        let f = NewFile {
            storage_key: "k".into(),
            size_bytes: MAX_INTEGER + 1,
            ..f
        };
        assert_eq!(f.validate().expect_err("huge").field(), "size_bytes");
        let f = NewFile {
            size_bytes: MAX_INTEGER,
            ..f
        };
        assert!(f.validate().is_ok());
        for dots in [".", ".."] {
            let f = NewFile {
                file_name: dots.into(),
                storage_key: "k".into(),
                ..f.clone()
            };
            assert_eq!(f.validate().expect_err(dots).field(), "file_name");
        }
    }
}

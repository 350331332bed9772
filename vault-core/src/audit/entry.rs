//! One audit entry, built so that it cannot hold personal data: what
//! changed is recorded as ids, numbers, flags, amounts and words from the
//! vault's own vocabulary (`&'static str`), never free text a user typed.
//! An erasure request therefore never has to touch the trail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::value::actor::{Actor, UserId};
use crate::value::error::Entity;
use crate::value::ids::AuditId;
use crate::value::keyset::{After, check_limit};
use crate::value::money::Money;
use crate::value::validation::{Reason, ValidationError};

/// What a staff write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A category was created.
    CategoryCreated,
    /// A workflow was created.
    WorkflowCreated,
    /// Its content was edited.
    WorkflowEdited,
    /// It was published.
    WorkflowPublished,
    /// It was announced as coming soon.
    WorkflowAnnounced,
    /// It was archived.
    WorkflowArchived,
    /// It was deleted (softly).
    WorkflowDeleted,
    /// A deleted workflow was restored.
    WorkflowRestored,
    /// An asset or a guide of its page was added, edited, removed or
    /// reordered.
    PageChanged,
    /// A file was added, edited or removed.
    FileChanged,
    /// A new version was released.
    UpdatePublished,
    /// A bundle was created.
    BundleCreated,
    /// A bundle was edited, put on sale or taken off.
    BundleEdited,
    /// A review was moderated.
    ReviewModerated,
    /// A comment was hidden or shown again.
    CommentModerated,
    /// A purchase was refunded.
    PurchaseRefunded,
    /// An account's role changed.
    RoleChanged,
    /// An account was banned.
    AccountBanned,
    /// An account's ban was lifted.
    AccountUnbanned,
    /// An account was deleted (softly) by staff.
    AccountDeleted,
    /// A deleted account was restored by staff.
    AccountRestored,
    /// An account's personal data was erased.
    AccountErased,
    /// A system setting changed.
    SettingChanged,
    /// A job was cancelled.
    JobCancelled,
    /// A job was queued to run again now.
    JobRetried,
}

impl AuditAction {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CategoryCreated => "category_created",
            Self::WorkflowCreated => "workflow_created",
            Self::WorkflowEdited => "workflow_edited",
            Self::WorkflowPublished => "workflow_published",
            Self::WorkflowAnnounced => "workflow_announced",
            Self::WorkflowArchived => "workflow_archived",
            Self::WorkflowDeleted => "workflow_deleted",
            Self::WorkflowRestored => "workflow_restored",
            Self::PageChanged => "page_changed",
            Self::FileChanged => "file_changed",
            Self::UpdatePublished => "update_published",
            Self::BundleCreated => "bundle_created",
            Self::BundleEdited => "bundle_edited",
            Self::ReviewModerated => "review_moderated",
            Self::CommentModerated => "comment_moderated",
            Self::PurchaseRefunded => "purchase_refunded",
            Self::RoleChanged => "role_changed",
            Self::AccountBanned => "account_banned",
            Self::AccountUnbanned => "account_unbanned",
            Self::AccountDeleted => "account_deleted",
            Self::AccountRestored => "account_restored",
            Self::AccountErased => "account_erased",
            Self::SettingChanged => "setting_changed",
            Self::JobCancelled => "job_cancelled",
            Self::JobRetried => "job_retried",
        }
    }

    /// Every action, for parsing back what [`AuditAction::as_str`] wrote.
    pub const ALL: [AuditAction; 25] = [
        Self::CategoryCreated,
        Self::WorkflowCreated,
        Self::WorkflowEdited,
        Self::WorkflowPublished,
        Self::WorkflowAnnounced,
        Self::WorkflowArchived,
        Self::WorkflowDeleted,
        Self::WorkflowRestored,
        Self::PageChanged,
        Self::FileChanged,
        Self::UpdatePublished,
        Self::BundleCreated,
        Self::BundleEdited,
        Self::ReviewModerated,
        Self::CommentModerated,
        Self::PurchaseRefunded,
        Self::RoleChanged,
        Self::AccountBanned,
        Self::AccountUnbanned,
        Self::AccountDeleted,
        Self::AccountRestored,
        Self::AccountErased,
        Self::SettingChanged,
        Self::JobCancelled,
        Self::JobRetried,
    ];

    /// The action a stored word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == word)
    }
}

/// A value an entry may record: nothing a user typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuditValue {
    /// A record's id.
    Id(Uuid),
    /// A count, a revision, a size.
    Number(i64),
    /// A flag.
    Flag(bool),
    /// An amount.
    Amount(Money),
    /// A word of the vault's vocabulary: a status, a role, a setting key.
    Word(&'static str),
}

/// A revision as an entry records it (revisions never reach `i64::MAX`;
/// one that did would read as the largest number rather than wrap).
pub fn revision_number(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// One entry of the trail, as the vault writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its id, minted from the vault's entropy.
    pub id: AuditId,
    /// When.
    pub at: DateTime<Utc>,
    /// The actor's kind (`admin`, `service`, ...).
    pub actor_kind: &'static str,
    /// The staff member, when a person did it. An app's user id, which the
    /// trail keeps as the purchases do.
    pub actor_id: Option<UserId>,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record it was done to.
    pub target: Entity,
    /// The record's key.
    pub target_id: String,
    /// What changed, by field name.
    pub changes: BTreeMap<&'static str, AuditValue>,
}

/// The most changes one entry records.
pub const MAX_CHANGES: usize = 50;

impl AuditEntry {
    /// An entry `id` for `actor` doing `action` to a `target` record keyed
    /// `target_id` (an id, 1-255 characters without spaces).
    pub fn new(
        id: AuditId,
        actor: &Actor,
        action: AuditAction,
        target: Entity,
        target_id: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let target_id = target_id.into();
        if target_id.is_empty()
            || target_id.len() > 255
            || target_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ValidationError::new(
                "target_id",
                Reason::Format {
                    expected: "a record's id",
                },
            ));
        }
        let actor_id = match actor {
            Actor::Admin(id) | Actor::User(id) => Some(id.clone()),
            Actor::Anonymous | Actor::Service => None,
        };
        Ok(Self {
            id,
            at,
            actor_kind: actor.kind(),
            actor_id,
            action,
            target,
            target_id,
            changes: BTreeMap::new(),
        })
    }

    /// Records one change; refuses past [`MAX_CHANGES`].
    pub fn with(mut self, field: &'static str, value: AuditValue) -> Result<Self, ValidationError> {
        if self.changes.len() >= MAX_CHANGES && !self.changes.contains_key(field) {
            return Err(ValidationError::new(
                "changes",
                Reason::TooLong { max: MAX_CHANGES },
            ));
        }
        self.changes.insert(field, value);
        Ok(self)
    }

    /// What changed, as the JSON object the stores keep.
    pub fn changes_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.changes).unwrap_or(serde_json::Value::Null)
    }

    /// The entry as it reads back.
    pub fn record(&self) -> AuditRecord {
        AuditRecord {
            id: self.id,
            at: self.at,
            actor_kind: self.actor_kind.to_owned(),
            actor_id: self.actor_id.clone(),
            action: self.action,
            target: self.target,
            target_id: self.target_id.clone(),
            changes: self.changes_json(),
        }
    }
}

/// One entry of the trail, as it reads back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its id.
    pub id: AuditId,
    /// When.
    pub at: DateTime<Utc>,
    /// The actor's kind (`admin`, `service`, ...).
    pub actor_kind: String,
    /// The staff member, when a person did it.
    pub actor_id: Option<UserId>,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record it was done to.
    pub target: Entity,
    /// The record's key.
    pub target_id: String,
    /// What changed: a JSON object of field name to value.
    pub changes: serde_json::Value,
}

/// Which entries to list: newest first, filtered by any of actor, target
/// and time, in cursor pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this staff member's entries.
    pub actor: Option<UserId>,
    /// Only entries about this kind of record.
    pub target: Option<Entity>,
    /// Only entries about the record with this key (with `target`).
    pub target_id: Option<String>,
    /// Only entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Where the page starts.
    pub after: Option<After>,
    /// At most this many (1 to [`crate::value::keyset::MAX_PAGE`]).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            actor: None,
            target: None,
            target_id: None,
            since: None,
            until: None,
            after: None,
            limit: 50,
        }
    }
}

impl AuditQuery {
    /// Checks the page size, the times and the target key.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit)?;
        for (field, t) in [("since", self.since), ("until", self.until)] {
            if let Some(t) = t {
                crate::value::clock::check_time(field, t)?;
            }
        }
        if let Some(id) = &self.target_id
            && (id.is_empty() || id.len() > 255 || id.chars().any(char::is_control))
        {
            return Err(ValidationError::new(
                "target_id",
                Reason::Format {
                    expected: "a record's id",
                },
            ));
        }
        Ok(())
    }

    /// True when `r` passes the filters (not the cursor).
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.actor
            .as_ref()
            .is_none_or(|a| r.actor_id.as_ref() == Some(a))
            && self.target.is_none_or(|t| r.target == t)
            && self.target_id.as_ref().is_none_or(|id| &r.target_id == id)
            && self.since.is_none_or(|t| r.at >= t)
            && self.until.is_none_or(|t| r.at < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::money::Currency;

    fn t() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn id() -> AuditId {
        AuditId::from_uuid(Uuid::from_u128(7))
    }

    #[test]
    fn words_parse_back() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        for e in Entity::ALL {
            assert_eq!(Entity::from_word(e.word()), Some(e));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }

    #[test]
    fn a_record_reads_back_the_changes_as_json_and_queries_filter() {
        let admin = Actor::Admin(UserId::parse("staff-1").expect("user"));
        let e = AuditEntry::new(
            id(),
            &admin,
            AuditAction::RoleChanged,
            Entity::Account,
            "u-1",
            t(),
        )
        .expect("entry")
        .with("role", AuditValue::Word("admin"))
        .expect("change");
        let r = e.record();
        assert_eq!(r.changes, serde_json::json!({"role": "admin"}));
        assert!(AuditQuery::default().matches(&r));
        let by_other = AuditQuery {
            actor: Some(UserId::parse("staff-2").expect("user")),
            ..AuditQuery::default()
        };
        assert!(!by_other.matches(&r));
        let on_target = AuditQuery {
            target: Some(Entity::Account),
            target_id: Some("u-1".into()),
            since: Some(t()),
            ..AuditQuery::default()
        };
        assert!(on_target.matches(&r));
        let before = AuditQuery {
            until: Some(t()),
            ..AuditQuery::default()
        };
        assert!(!before.matches(&r));
        assert!(
            AuditQuery {
                limit: 0,
                ..AuditQuery::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn an_entry_names_who_what_and_which_record() {
        let admin = Actor::Admin(UserId::parse("staff-1").expect("user"));
        let e = AuditEntry::new(
            id(),
            &admin,
            AuditAction::PurchaseRefunded,
            Entity::Purchase,
            "p-1",
            t(),
        )
        .expect("entry")
        .with(
            "refunded",
            AuditValue::Amount(Money::from_minor(4900, Currency::USD)),
        )
        .expect("change")
        .with("status", AuditValue::Word("refunded"))
        .expect("change");
        assert_eq!(e.actor_kind, "admin");
        assert_eq!(e.actor_id.as_ref().map(UserId::as_str), Some("staff-1"));
        assert_eq!(e.action.as_str(), "purchase_refunded");
        assert_eq!(e.changes.len(), 2);
        let service = AuditEntry::new(
            id(),
            &Actor::Service,
            AuditAction::AccountErased,
            Entity::Account,
            "u-9",
            t(),
        )
        .expect("entry");
        assert_eq!((service.actor_kind, service.actor_id), ("service", None));
    }

    #[test]
    fn bad_targets_and_too_many_changes_are_refused() {
        for bad in ["", "a b", "x\u{0}"] {
            let e = AuditEntry::new(
                id(),
                &Actor::Service,
                AuditAction::RoleChanged,
                Entity::Account,
                bad,
                t(),
            );
            assert_eq!(e.expect_err(bad).field(), "target_id");
        }
        let long = "a".repeat(256);
        assert!(
            AuditEntry::new(
                id(),
                &Actor::Service,
                AuditAction::RoleChanged,
                Entity::Account,
                long,
                t()
            )
            .is_err()
        );
        const FIELDS: [&str; 51] = [
            "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13",
            "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25",
            "f26", "f27", "f28", "f29", "f30", "f31", "f32", "f33", "f34", "f35", "f36", "f37",
            "f38", "f39", "f40", "f41", "f42", "f43", "f44", "f45", "f46", "f47", "f48", "f49",
            "f50",
        ];
        let mut e = AuditEntry::new(
            id(),
            &Actor::Service,
            AuditAction::SettingChanged,
            Entity::Setting,
            "k",
            t(),
        )
        .expect("entry");
        for f in &FIELDS[..50] {
            e = e.with(f, AuditValue::Flag(true)).expect("fits");
        }
        let e = e
            .with("f0", AuditValue::Flag(false))
            .expect("replacing fits");
        assert_eq!(
            e.with(FIELDS[50], AuditValue::Number(1))
                .expect_err("51")
                .field(),
            "changes"
        );
    }
}

//! One audit entry, built so that it cannot hold personal data: what
//! changed is recorded as ids, numbers, flags, amounts and words from the
//! vault's own vocabulary (`&'static str`), never free text a user typed.
//! An erasure request therefore never has to touch the trail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::value::actor::{Actor, UserId};
use crate::value::money::Money;
use crate::value::validation::{Reason, ValidationError};

/// What a staff write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A workflow was created.
    WorkflowCreated,
    /// Its content was edited.
    WorkflowEdited,
    /// It was published.
    WorkflowPublished,
    /// It was archived.
    WorkflowArchived,
    /// It was deleted (softly).
    WorkflowDeleted,
    /// A file was added, edited or removed.
    FileChanged,
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
    /// An account's personal data was erased.
    AccountErased,
    /// A system setting changed.
    SettingChanged,
}

impl AuditAction {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkflowCreated => "workflow_created",
            Self::WorkflowEdited => "workflow_edited",
            Self::WorkflowPublished => "workflow_published",
            Self::WorkflowArchived => "workflow_archived",
            Self::WorkflowDeleted => "workflow_deleted",
            Self::FileChanged => "file_changed",
            Self::ReviewModerated => "review_moderated",
            Self::CommentModerated => "comment_moderated",
            Self::PurchaseRefunded => "purchase_refunded",
            Self::RoleChanged => "role_changed",
            Self::AccountBanned => "account_banned",
            Self::AccountUnbanned => "account_unbanned",
            Self::AccountErased => "account_erased",
            Self::SettingChanged => "setting_changed",
        }
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

/// One entry of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The actor's kind (`admin`, `service`, ...).
    pub actor_kind: &'static str,
    /// The staff member, when a person did it. An app's user id, which the
    /// trail keeps as the purchases do.
    pub actor_id: Option<UserId>,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record it was done to (`workflow`, `account`, ...).
    pub target_type: &'static str,
    /// The record's key.
    pub target_id: String,
    /// What changed, by field name.
    pub changes: BTreeMap<&'static str, AuditValue>,
}

/// The most changes one entry records.
pub const MAX_CHANGES: usize = 50;

impl AuditEntry {
    /// An entry for `actor` doing `action` to a `target_type` record keyed
    /// `target_id` (an id, 1-255 characters without spaces).
    pub fn new(
        actor: &Actor,
        action: AuditAction,
        target_type: &'static str,
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
            at,
            actor_kind: actor.kind(),
            actor_id,
            action,
            target_type,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::money::Currency;

    fn t() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    #[test]
    fn an_entry_names_who_what_and_which_record() {
        let admin = Actor::Admin(UserId::parse("staff-1").expect("user"));
        let e = AuditEntry::new(
            &admin,
            AuditAction::PurchaseRefunded,
            "purchase",
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
            &Actor::Service,
            AuditAction::AccountErased,
            "account",
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
                &Actor::Service,
                AuditAction::RoleChanged,
                "account",
                bad,
                t(),
            );
            assert_eq!(e.expect_err(bad).field(), "target_id");
        }
        let long = "a".repeat(256);
        assert!(
            AuditEntry::new(
                &Actor::Service,
                AuditAction::RoleChanged,
                "account",
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
            &Actor::Service,
            AuditAction::SettingChanged,
            "setting",
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

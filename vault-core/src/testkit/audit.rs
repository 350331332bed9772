//! The audit trail, through the service: every staff write leaves exactly
//! one entry, a write that fails leaves neither the change nor its entry,
//! and the log filters and pages.

use std::sync::Arc;

use chrono::Duration;

use super::account::{email, new_file, profile, user};
use super::records::audit;
use super::{Fixture, NowUtc};
use crate::account::profile::{Profile, Role};
use crate::audit::entry::{AuditAction, AuditQuery, AuditRecord};
use crate::community::rating::Rating;
use crate::community::review::{ModerationStatus, ReviewInput};
use crate::settings::system::{Setting, SettingKey, SettingValue};
use crate::store::{Entity, Store, StoreError};
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::keyset::After;
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

pub(super) async fn trail(f: &Fixture) -> Vec<AuditRecord> {
    let mut all = Vec::new();
    let mut after: Option<After> = None;
    loop {
        let page = f
            .vault
            .audit_log(
                &f.admin,
                &AuditQuery {
                    after: after.clone(),
                    limit: 100,
                    ..AuditQuery::default()
                },
            )
            .await
            .unwrap();
        all.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return all,
        }
    }
}

/// Runs `write`, then checks it added exactly one entry, with `action`, by
/// the admin, about `target`.
pub(super) async fn one_entry<T, Fut>(
    f: &Fixture,
    action: AuditAction,
    target: Entity,
    write: Fut,
) -> T
where
    Fut: std::future::Future<Output = crate::value::error::Result<T>>,
{
    let before = trail(f).await.len();
    // Entries of one instant are ordered by id; a second apart, by time.
    f.advance(Duration::seconds(1));
    let out = write.await.unwrap();
    let after = trail(f).await;
    assert_eq!(after.len(), before + 1, "{action:?} writes one entry");
    let newest = &after[0];
    assert_eq!(newest.action, action);
    assert_eq!(newest.target, target);
    assert_eq!(newest.actor_kind, "admin");
    assert_eq!(newest.actor_id.as_ref().map(UserId::as_str), Some("admin"));
    out
}

pub async fn audit_one_entry_per_staff_write(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let admin = f.admin.clone();
    let w = one_entry(
        &f,
        AuditAction::WorkflowCreated,
        Entity::Workflow,
        f.vault
            .create_workflow(&admin, f.content("audited", PricingTier::Pro, Some(4900))),
    )
    .await;
    one_entry(
        &f,
        AuditAction::WorkflowEdited,
        Entity::Workflow,
        f.vault.edit_workflow(
            &admin,
            w.id,
            f.content("audited", PricingTier::Pro, Some(5900)),
        ),
    )
    .await;
    let new_file = new_file(w.id);
    let file = one_entry(
        &f,
        AuditAction::FileChanged,
        Entity::File,
        f.vault.add_file(&admin, new_file.clone()),
    )
    .await;
    one_entry(
        &f,
        AuditAction::FileChanged,
        Entity::File,
        f.vault.edit_file(&admin, file.id, new_file),
    )
    .await;
    one_entry(
        &f,
        AuditAction::WorkflowPublished,
        Entity::Workflow,
        f.vault.publish_workflow(&admin, w.id),
    )
    .await;
    let alice = Fixture::user("alice");
    let p = f.buy(&alice, CheckoutItem::Workflow(w.id)).await;
    let review = f
        .vault
        .submit_review(
            &alice,
            w.id,
            ReviewInput {
                rating: Rating::new(4).unwrap(),
                dimensions: Default::default(),
                title: String::new(),
                body: String::new(),
            },
        )
        .await
        .unwrap();
    one_entry(
        &f,
        AuditAction::ReviewModerated,
        Entity::Review,
        f.vault
            .moderate_review(&admin, review.id, ModerationStatus::Rejected, None),
    )
    .await;
    let refunded = one_entry(
        &f,
        AuditAction::PurchaseRefunded,
        Entity::Purchase,
        f.vault.refund_purchase(&admin, p.id, None, None),
    )
    .await;
    assert!(refunded.0.refund.is_some());
    let comment = f
        .vault
        .post_comment(&alice, w.id, None, "a question".into())
        .await
        .unwrap();
    one_entry(
        &f,
        AuditAction::CommentModerated,
        Entity::Comment,
        f.vault.moderate_comment(&admin, comment.id, true),
    )
    .await;
    one_entry(
        &f,
        AuditAction::CommentModerated,
        Entity::Comment,
        f.vault.delete_comment(&admin, comment.id),
    )
    .await;
    // Its author's own deletion of a comment is not a staff write.
    let own = f
        .vault
        .post_comment(&alice, w.id, None, "mine".into())
        .await
        .unwrap();
    let before = trail(&f).await.len();
    f.vault.delete_comment(&alice, own.id).await.unwrap();
    assert_eq!(trail(&f).await.len(), before);
    one_entry(
        &f,
        AuditAction::WorkflowArchived,
        Entity::Workflow,
        f.vault.archive_workflow(&admin, w.id),
    )
    .await;

    let bob = UserId::parse("bob").unwrap();
    f.vault
        .open_account(
            &Actor::User(bob.clone()),
            &bob,
            email("bob@example.com"),
            profile("Bob"),
        )
        .await
        .unwrap();
    one_entry(
        &f,
        AuditAction::RoleChanged,
        Entity::Account,
        f.vault.set_role(&admin, &bob, Role::Admin),
    )
    .await;
    one_entry(
        &f,
        AuditAction::AccountBanned,
        Entity::Account,
        f.vault.ban_account(&admin, &bob, Some("spam".into())),
    )
    .await;
    one_entry(
        &f,
        AuditAction::AccountUnbanned,
        Entity::Account,
        f.vault.unban_account(&admin, &bob),
    )
    .await;
    one_entry(
        &f,
        AuditAction::AccountDeleted,
        Entity::Account,
        f.vault.delete_account(&admin, &bob),
    )
    .await;
    one_entry(
        &f,
        AuditAction::AccountRestored,
        Entity::Account,
        f.vault.restore_account(&admin, &bob),
    )
    .await;
    let erased = one_entry(
        &f,
        AuditAction::AccountErased,
        Entity::Account,
        f.vault.erase_account(&admin, &bob),
    )
    .await;
    assert!(erased.email.is_none() && erased.profile == Profile::default());
    let name = SettingKey::parse("seller.name").unwrap();
    one_entry(
        &f,
        AuditAction::SettingChanged,
        Entity::Setting,
        f.vault.set_setting(
            &admin,
            Setting::new(name, SettingValue::Text("Vault Ltd".into())).unwrap(),
        ),
    )
    .await;
    one_entry(
        &f,
        AuditAction::SettingChanged,
        Entity::Setting,
        f.vault.remove_setting(&admin, name),
    )
    .await;
    // Unsetting what is not set changes nothing and records nothing.
    let before = trail(&f).await.len();
    assert!(!f.vault.remove_setting(&admin, name).await.unwrap());
    assert_eq!(trail(&f).await.len(), before);

    // A user's own changes are theirs, not staff writes.
    let carol = UserId::parse("carol").unwrap();
    let as_carol = Actor::User(carol.clone());
    f.vault
        .open_account(
            &as_carol,
            &carol,
            email("carol@example.com"),
            profile("Carol"),
        )
        .await
        .unwrap();
    let before = trail(&f).await.len();
    f.vault
        .update_profile(&as_carol, &carol, profile("Caroline"))
        .await
        .unwrap();
    f.vault.delete_account(&as_carol, &carol).await.unwrap();
    assert_eq!(trail(&f).await.len(), before);

    // The trail holds ids and words: no name, email or reason.
    let text = format!("{:?}", trail(&f).await);
    for personal in ["Bob", "bob@example.com", "spam", "Vault Ltd", "Caroline"] {
        assert!(!text.contains(personal), "{personal} in the trail");
    }
}

pub async fn audit_entry_rolls_back_with_its_write(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let (w, _) = f.workflow("rollback", PricingTier::Pro, Some(4900)).await;
    // An entry whose id is taken fails the write at its very end: after the
    // change was made, inside the same transaction.
    let taken = audit();
    let mut edited = w.clone();
    edited.content.title = "first edit".into();
    edited.revision += 1;
    store
        .update_workflow(&edited, w.revision, &taken)
        .await
        .unwrap();
    let count = trail(&f).await.len();

    let mut again = edited.clone();
    again.content.title = "second edit".into();
    again.revision += 1;
    let clash = store.update_workflow(&again, edited.revision, &taken).await;
    assert!(
        matches!(
            clash,
            Err(StoreError::AlreadyExists {
                entity: Entity::AuditEntry,
                ..
            })
        ),
        "{clash:?}"
    );
    let stored = store.workflow(w.id).await.unwrap().unwrap();
    assert_eq!(stored.content.title, "first edit", "the change rolled back");
    assert_eq!(stored.revision, edited.revision);
    assert_eq!(trail(&f).await.len(), count, "no entry either");

    // The same for an account, a setting and a refund.
    let dan = user("dan");
    f.vault
        .open_account(&f.admin, &dan, email("dan@example.com"), profile("Dan"))
        .await
        .unwrap();
    let account = store.account(&dan).await.unwrap().unwrap();
    let mut banned = account.clone();
    banned.banned_at = Some(f.clock.now_utc());
    banned.revision += 1;
    let r = store
        .update_account(&banned, account.revision, Some(&taken))
        .await;
    assert!(matches!(
        r,
        Err(StoreError::AlreadyExists {
            entity: Entity::AuditEntry,
            ..
        })
    ));
    assert_eq!(store.account(&dan).await.unwrap().unwrap(), account);

    let key = SettingKey::parse("invoice.series_prefix").unwrap();
    let setting = Setting::new(key, SettingValue::Text("INV".into())).unwrap();
    assert!(store.put_setting(&setting, &taken).await.is_err());
    assert!(store.settings().await.unwrap().is_empty());

    let p = f
        .buy(&Fixture::user("erin"), CheckoutItem::Workflow(w.id))
        .await;
    let mut refunded = p.clone();
    refunded.status = crate::commerce::purchase::PaymentStatus::Refunded;
    let r = store
        .settle_purchase(&crate::store::PurchaseWrite {
            purchase: refunded,
            expected_status: p.status,
            expected_refunded: None,
            expected_dispute: None,
            count_purchase: false,
            analytics: vec![],
            refunds: vec![],
            audit: Some(taken.clone()),
            outbox: vec![],
        })
        .await;
    assert!(r.is_err());
    assert_eq!(
        store.purchase(p.id).await.unwrap().unwrap().status,
        p.status
    );
    assert_eq!(
        trail(&f).await.len(),
        count,
        "only the entries of the accepted writes"
    );

    // A file, a category, a review's moderation and a comment's hiding:
    // each refused whole by its entry's clash.
    let clashes = |r: crate::value::error::StoreResult<()>| {
        assert!(
            matches!(
                r,
                Err(StoreError::AlreadyExists {
                    entity: Entity::AuditEntry,
                    ..
                })
            ),
            "{r:?}"
        );
    };
    let mut file = new_file(w.id)
        .build(
            crate::value::ids::FileId::from_uuid(uuid::Uuid::from_u128(77)),
            f.clock.now_utc(),
        )
        .unwrap();
    file.is_primary = false;
    clashes(store.insert_file(&file, &taken).await);
    assert!(store.file(file.id).await.unwrap().is_none());
    let mut category = f.categories[0].clone();
    category.id = crate::value::ids::CategoryId::from_uuid(uuid::Uuid::from_u128(78));
    category.slug = crate::value::slug::Slug::parse("clashing").unwrap();
    clashes(store.insert_category(&category, &taken).await);
    assert!(store.category(category.id).await.unwrap().is_none());
    let erin = Fixture::user("erin");
    let review = f
        .vault
        .submit_review(
            &erin,
            w.id,
            ReviewInput {
                rating: Rating::new(5).unwrap(),
                dimensions: Default::default(),
                title: String::new(),
                body: String::new(),
            },
        )
        .await
        .unwrap();
    let mut rejected = review.clone();
    rejected.status = ModerationStatus::Rejected;
    rejected.revision += 1;
    let delta = crate::community::rating::RatingDelta::between(
        review.contribution().as_ref(),
        rejected.contribution().as_ref(),
    );
    clashes(
        store
            .update_review(&rejected, review.revision, &delta, None, Some(&taken))
            .await,
    );
    assert_eq!(store.review(review.id).await.unwrap().unwrap(), review);
    let comment = f
        .vault
        .post_comment(&erin, w.id, None, "hello".into())
        .await
        .unwrap();
    let mut hidden = comment.clone();
    hidden.set_hidden(true, f.clock.now_utc());
    hidden.revision += 1;
    clashes(
        store
            .update_comment(&hidden, comment.revision, Some(&taken))
            .await,
    );
    assert!(!store.comment(comment.id).await.unwrap().unwrap().hidden);
    assert_eq!(trail(&f).await.len(), count);
}

pub async fn audit_log_filters_and_pages(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let other = Actor::admin("second-admin").unwrap();
    let (w, _) = f.workflow("filtered", PricingTier::Pro, Some(100)).await;
    f.advance(Duration::minutes(5));
    let since = f.clock.now_utc();
    f.vault.archive_workflow(&other, w.id).await.unwrap();
    f.vault.publish_workflow(&f.admin, w.id).await.unwrap();
    let by_other = f
        .vault
        .audit_log(
            &f.admin,
            &AuditQuery {
                actor: Some(user("second-admin")),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_other.items.len(), 1);
    assert_eq!(by_other.items[0].action, AuditAction::WorkflowArchived);
    let on_w = f
        .vault
        .audit_log(
            &f.admin,
            &AuditQuery {
                target: Some(Entity::Workflow),
                target_id: Some(w.id.to_string()),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    // Created, published (by the fixture), archived, published again.
    assert_eq!(on_w.items.len(), 4);
    let recent = f
        .vault
        .audit_log(
            &f.admin,
            &AuditQuery {
                since: Some(since),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 2);
    assert_eq!(
        recent.items[0].action,
        AuditAction::WorkflowPublished,
        "newest first"
    );
    let before = f
        .vault
        .audit_log(
            &f.admin,
            &AuditQuery {
                until: Some(since),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        before.items.len() + recent.items.len(),
        trail(&f).await.len()
    );
    let r = f
        .vault
        .audit_log(&Fixture::user("nosy"), &AuditQuery::default())
        .await;
    assert!(matches!(r, Err(Error::Forbidden { .. })));
    let r = f
        .vault
        .audit_log(
            &f.admin,
            &AuditQuery {
                limit: 0,
                ..AuditQuery::default()
            },
        )
        .await;
    assert!(matches!(r, Err(Error::Invalid(e)) if e.field() == "limit"));
}

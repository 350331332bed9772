//! Accounts, settings and the audit trail, through the service and the
//! stores' traits: every staff write leaves exactly one entry, and a write
//! that fails leaves neither the change nor its entry; refused accounts
//! write nothing; email uniqueness holds under contention; secrets never
//! show.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::records::audit;
use super::{Fixture, NowUtc};
use crate::account::email::{Credential, Email};
use crate::account::profile::{Author, Profile, Role};
use crate::account::settings::{Locale, TimeZone, UserSettings};
use crate::audit::entry::{AuditAction, AuditQuery, AuditRecord};
use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use crate::commerce::license::LicenseType;
use crate::community::rating::Rating;
use crate::community::review::{ModerationStatus, ReviewInput};
use crate::delivery::download::RequestInfo;
use crate::settings::system::{Setting, SettingKey, SettingValue};
use crate::store::{AccountQuery, Entity, Store, StoreError};
use crate::value::actor::{Actor, Refusal, UserId};
use crate::value::error::Error;
use crate::value::ids::WorkflowId;
use crate::value::keyset::After;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::CheckoutItem;

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn new_file(workflow: WorkflowId) -> NewFile {
    NewFile {
        workflow_id: workflow,
        kind: FileKind::Make,
        file_name: "audited.json".into(),
        storage_key: format!("files/{workflow}/audited.json"),
        mime_type: "application/json".into(),
        version: Version::new(1, 0, 0),
        is_primary: true,
        access: FileAccess::Standard,
        size_bytes: 2048,
        checksum: Checksum::of(b"audited"),
    }
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn profile(name: &str) -> Profile {
    Profile {
        display_name: name.into(),
        ..Profile::default()
    }
}

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
            audit: Some(taken.clone()),
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

pub async fn refused_accounts_write_nothing_and_keep_their_purchases(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let (w, _) = f.workflow("kept", PricingTier::Pro, Some(4900)).await;
    let (free, _) = f.workflow("free-one", PricingTier::Free, None).await;
    let frank = user("frank");
    let as_frank = Actor::User(frank.clone());
    f.vault
        .open_account(
            &as_frank,
            &frank,
            email("Frank@Example.com"),
            profile("Frank"),
        )
        .await
        .unwrap();
    let p = f.buy(&as_frank, CheckoutItem::Workflow(w.id)).await;
    let request = RequestInfo::default();
    f.vault
        .download(&as_frank, w.id, None, &request)
        .await
        .unwrap();

    for (refusal, bar) in [(Refusal::Banned, 0), (Refusal::Deleted, 1)] {
        match bar {
            0 => f
                .vault
                .ban_account(&f.admin, &frank, None)
                .await
                .map(|_| ())
                .unwrap(),
            _ => f
                .vault
                .delete_account(&f.admin, &frank)
                .await
                .map(|_| ())
                .unwrap(),
        }
        let downloads = store
            .workflow(w.id)
            .await
            .unwrap()
            .unwrap()
            .stats
            .download_count;
        let rows = store.downloads_for_user(&frank, 10).await.unwrap().len();
        let refused = |r: crate::value::error::Result<()>| {
            assert!(
                matches!(r, Err(Error::Refused { refusal: got }) if got == refusal),
                "{r:?}"
            );
        };
        refused(
            f.vault
                .check_access(&as_frank, w.id, None)
                .await
                .map(|_| ()),
        );
        refused(
            f.vault
                .download(&as_frank, w.id, None, &request)
                .await
                .map(|_| ()),
        );
        refused(
            f.vault
                .download(&as_frank, free.id, None, &request)
                .await
                .map(|_| ()),
        );
        refused(
            f.vault
                .add_favorite(&as_frank, w.id, None, vec![])
                .await
                .map(|_| ()),
        );
        refused(
            f.vault
                .purchases_for_user(&as_frank, &frank)
                .await
                .map(|_| ()),
        );
        refused(
            f.checkout(
                &as_frank,
                CheckoutItem::Workflow(w.id),
                LicenseType::Personal,
            )
            .await
            .map(|_| ()),
        );
        refused(
            f.vault
                .update_profile(&as_frank, &frank, profile("F"))
                .await
                .map(|_| ()),
        );
        refused(
            f.vault
                .post_comment(&as_frank, w.id, None, "still here".into())
                .await
                .map(|_| ()),
        );
        // A workflow that does not exist: still refused, not "not found".
        refused(
            f.vault
                .check_access(&as_frank, WorkflowId::from_uuid(uuid::Uuid::nil()), None)
                .await
                .map(|_| ()),
        );
        // Nothing was written, and the purchase stays (the seller's record).
        let after = store.workflow(w.id).await.unwrap().unwrap();
        assert_eq!(after.stats.download_count, downloads);
        assert_eq!(after.stats.favorite_count, 0);
        assert_eq!(
            store.downloads_for_user(&frank, 10).await.unwrap().len(),
            rows
        );
        assert_eq!(
            store.purchases_for_user(&frank).await.unwrap(),
            vec![store.purchase(p.id).await.unwrap().unwrap()]
        );
        assert!(f.vault.actor_for(&frank).await.is_err());
        match bar {
            0 => f
                .vault
                .unban_account(&f.admin, &frank)
                .await
                .map(|_| ())
                .unwrap(),
            _ => f
                .vault
                .restore_account(&f.admin, &frank)
                .await
                .map(|_| ())
                .unwrap(),
        }
        f.vault
            .download(&as_frank, w.id, None, &request)
            .await
            .unwrap();
    }
    // A deleted account leaves the listing; restored, it is back.
    f.vault.delete_account(&as_frank, &frank).await.unwrap();
    // What it wrote shows as from a deleted user; an id without an account
    // is the app's to name.
    let shown = f
        .vault
        .authors(&Actor::Anonymous, &[frank.clone(), user("ghost")])
        .await
        .unwrap();
    assert_eq!(shown, vec![Author::Deleted, Author::Unknown]);
    let listed = f
        .vault
        .accounts(&f.admin, &AccountQuery::default())
        .await
        .unwrap();
    assert!(listed.items.iter().all(|a| a.user_id != frank));
    let all = AccountQuery {
        include_deleted: true,
        ..AccountQuery::default()
    };
    assert_eq!(
        f.vault.accounts(&f.admin, &all).await.unwrap().items.len(),
        1
    );
    // A user id without an account acts as before.
    let (w2, _) = f.workflow("no-account", PricingTier::Free, None).await;
    f.vault
        .download(&Fixture::user("ghost"), w2.id, None, &request)
        .await
        .unwrap();
    // An admin account acts as staff; a user account as a user.
    f.vault.restore_account(&f.admin, &frank).await.unwrap();
    assert_eq!(
        f.vault
            .authors(&Actor::Anonymous, std::slice::from_ref(&frank))
            .await
            .unwrap(),
        vec![Author::Named {
            display_name: "Frank".into(),
            avatar_url: None
        }]
    );
    assert_eq!(f.vault.actor_for(&frank).await.unwrap(), as_frank);
    f.vault
        .set_role(&f.admin, &frank, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        f.vault.actor_for(&frank).await.unwrap(),
        Actor::Admin(frank.clone())
    );
}

pub async fn email_is_unique_case_insensitively_under_contention(store: Arc<dyn Store>) {
    let f = Arc::new(Fixture::new(store).await);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                let u = user(&format!("signup-{i}"));
                // The same address, spelled in 16 cases.
                let spelled: String = "same.person@example.com"
                    .chars()
                    .enumerate()
                    .map(|(k, c)| {
                        if (i >> (k % 4)) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                f.vault
                    .open_account(&f.admin, &u, email(&spelled), profile("Same"))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::AlreadyExists {
                entity: Entity::Account,
                ..
            }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1, "one account per address");
    let all = f
        .vault
        .accounts(&f.admin, &AccountQuery::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    let found = f
        .vault
        .account_by_email(&f.admin, &email("SAME.PERSON@example.COM"))
        .await
        .unwrap();
    assert_eq!(found.user_id, all.items[0].user_id);
    // Changing to a taken address clashes too; the account keeps its own.
    let other = user("other");
    f.vault
        .open_account(&f.admin, &other, email("other@example.com"), profile("O"))
        .await
        .unwrap();
    let clash = f
        .vault
        .change_email(&f.admin, &other, email("Same.Person@Example.com"))
        .await;
    assert!(
        matches!(clash, Err(Error::AlreadyExists { .. })),
        "{clash:?}"
    );
    let kept = f.vault.account(&f.admin, &other).await.unwrap();
    assert_eq!(kept.email.unwrap().as_str(), "other@example.com");
}

pub async fn accounts_list_search_and_page(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    for i in 0..7 {
        let u = user(&format!("u{i}"));
        f.vault
            .open_account(
                &f.admin,
                &u,
                email(&format!("person{i}@shop{}.example", i % 2)),
                profile(&format!("Person {i}")),
            )
            .await
            .unwrap();
        if i % 3 == 0 {
            f.advance(Duration::seconds(1));
        }
    }
    f.vault
        .ban_account(&f.admin, &user("u3"), None)
        .await
        .unwrap();
    // Pages of 2 walk all seven, newest first, once each.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .vault
            .accounts(
                &f.admin,
                &AccountQuery {
                    after: after.clone(),
                    limit: 2,
                    ..AccountQuery::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|a| (a.created_at, a.user_id.clone())));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mut want = seen.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, want);
    assert_eq!(seen.len(), 7);
    let search = |text: &str| AccountQuery {
        text: Some(text.into()),
        ..AccountQuery::default()
    };
    let shop1 = f.vault.accounts(&f.admin, &search("SHOP1")).await.unwrap();
    assert_eq!(shop1.items.len(), 3);
    let named = f
        .vault
        .accounts(&f.admin, &search("person 4"))
        .await
        .unwrap();
    assert_eq!(named.items.len(), 1);
    // A LIKE wildcard is a literal character.
    assert!(
        f.vault
            .accounts(&f.admin, &search("%"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let banned = AccountQuery {
        banned_only: true,
        ..AccountQuery::default()
    };
    assert_eq!(
        f.vault
            .accounts(&f.admin, &banned)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Staff only; a malformed cursor names the field.
    let r = f
        .vault
        .accounts(&Fixture::user("u1"), &AccountQuery::default())
        .await;
    assert!(matches!(r, Err(Error::Forbidden { .. })));
    assert_eq!(After::decode("not-a-cursor").unwrap_err().field(), "cursor");
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

pub async fn membership_plans_read_from_their_setting(store: Arc<dyn Store>) {
    use crate::commerce::plan::{BillingInterval, MembershipPlan};
    use crate::value::money::{Currency, Money};
    let f = Fixture::new(Arc::clone(&store)).await;
    let anyone = Actor::Anonymous;
    assert_eq!(f.vault.membership_plans(&anyone).await.unwrap(), vec![]);
    let plan = MembershipPlan {
        tier: PricingTier::Pro,
        name: "Pro".into(),
        price: Money::from_minor(1900, Currency::USD),
        interval: BillingInterval::Month,
        trial_days: Some(14),
        period_download_limit: Some(20),
        price_id: "price_pro".into(),
    };
    let json = serde_json::to_value([&plan]).unwrap();
    let key = SettingKey::parse(MembershipPlan::SETTING).unwrap();
    f.vault
        .set_setting(
            &f.admin,
            Setting::new(key, SettingValue::Json(json)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        f.vault.membership_plans(&anyone).await.unwrap(),
        vec![plan.clone()]
    );
    // A list no checkout could sell shows as invalid, not as no plans.
    let free = MembershipPlan {
        tier: PricingTier::Free,
        ..plan
    };
    let json = serde_json::to_value([&free]).unwrap();
    f.vault
        .set_setting(
            &f.admin,
            Setting::new(key, SettingValue::Json(json)).unwrap(),
        )
        .await
        .unwrap();
    let r = f.vault.membership_plans(&anyone).await;
    assert!(
        matches!(r, Err(Error::Invalid(ref e)) if e.field() == "tier"),
        "{r:?}"
    );
}

pub async fn settings_are_typed_and_secrets_never_show(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let set =
        |name: &str, v: SettingValue| Setting::new(SettingKey::parse(name).unwrap(), v).unwrap();
    let secret = "sk_live_TOPSECRET42";
    for s in [
        set("seller.name", SettingValue::Text("Vault Ltd".into())),
        set(
            "tax.default_rate_percent",
            SettingValue::Number(Decimal::new(1950, 2)),
        ),
        set("stripe.secret_key", SettingValue::Secret(secret.into())),
        set("reviews.require_purchase", SettingValue::Flag(true)),
    ] {
        f.vault.set_setting(&f.admin, s).await.unwrap();
    }
    // Set again: replaced, not added.
    f.vault
        .set_setting(
            &f.admin,
            set("seller.name", SettingValue::Text("Vault GmbH".into())),
        )
        .await
        .unwrap();
    let all = f.vault.settings(&f.admin).await.unwrap();
    assert_eq!(all.len(), 4);
    let name = all
        .iter()
        .find(|s| s.key().name() == "seller.name")
        .unwrap();
    assert_eq!(name.value(), &SettingValue::Text("Vault GmbH".into()));
    let stored = all
        .iter()
        .find(|s| s.key().name() == "stripe.secret_key")
        .unwrap();
    assert!(
        matches!(stored.value(), SettingValue::Secret(v) if v == secret),
        "stored as given"
    );
    let shown = format!("{all:?} {:?} {}", trail(&f).await, stored.value().shown());
    assert!(!shown.contains(secret), "{shown}");
    assert!(matches!(
        f.vault.settings(&Fixture::user("u")).await,
        Err(Error::Forbidden { .. })
    ));

    // User settings: defaults until saved; checked values read back.
    let gina = user("gina");
    let as_gina = Actor::User(gina.clone());
    assert_eq!(
        f.vault.user_settings(&as_gina, &gina).await.unwrap(),
        UserSettings::default()
    );
    let r = f
        .vault
        .save_user_settings(&as_gina, &gina, UserSettings::default())
        .await;
    assert!(
        matches!(
            r,
            Err(Error::NotFound {
                entity: Entity::Account,
                ..
            })
        ),
        "{r:?}"
    );
    f.vault
        .open_account(&as_gina, &gina, email("gina@example.com"), profile("Gina"))
        .await
        .unwrap();
    let mine = UserSettings {
        marketing_emails: true,
        locale: Locale::parse("pt-BR").unwrap(),
        timezone: TimeZone::parse("America/Sao_Paulo").unwrap(),
        ..UserSettings::default()
    };
    f.vault
        .save_user_settings(&as_gina, &gina, mine.clone())
        .await
        .unwrap();
    assert_eq!(f.vault.user_settings(&as_gina, &gina).await.unwrap(), mine);
    assert!(matches!(
        f.vault.user_settings(&Fixture::user("hank"), &gina).await,
        Err(Error::Forbidden { .. })
    ));

    // The credential: stored and read back by the service only, shown
    // nowhere else.
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$SECRETHASHVALUE";
    f.vault
        .set_credential(&as_gina, &gina, Some(Credential::new(phc).unwrap()))
        .await
        .unwrap();
    let back = f
        .vault
        .credential(&Actor::Service, &gina)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.expose(), phc);
    assert!(matches!(
        f.vault.credential(&as_gina, &gina).await,
        Err(Error::Forbidden { .. })
    ));
    let account = f.vault.account(&as_gina, &gina).await.unwrap();
    let listed = f
        .vault
        .accounts(&f.admin, &AccountQuery::default())
        .await
        .unwrap();
    let shown = format!("{account:?} {listed:?} {back:?} {:?}", trail(&f).await);
    assert!(!shown.contains("SECRETHASHVALUE"), "{shown}");
    // Sign-up with a password: the account and its credential in one
    // write; a taken email writes neither.
    let ivan = user("ivan");
    let as_ivan = Actor::User(ivan.clone());
    let ivan_phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$IVANHASH";
    f.vault
        .open_account_with_credential(
            &as_ivan,
            &ivan,
            email("ivan@example.com"),
            profile("Ivan"),
            Credential::new(ivan_phc).unwrap(),
        )
        .await
        .unwrap();
    let got = f.vault.credential(&Actor::Service, &ivan).await.unwrap();
    assert_eq!(
        got.map(|c| c.expose().to_owned()).as_deref(),
        Some(ivan_phc)
    );
    let jan = user("jan");
    assert!(matches!(
        f.vault
            .open_account_with_credential(
                &Actor::User(jan.clone()),
                &jan,
                email("IVAN@example.com"),
                profile("Jan"),
                Credential::new(ivan_phc).unwrap(),
            )
            .await,
        Err(Error::AlreadyExists { .. })
    ));
    assert!(store.account(&jan).await.unwrap().is_none());
    f.vault.record_login(&as_gina, &gina).await.unwrap();
    assert_eq!(
        store.account(&gina).await.unwrap().unwrap().last_login_at,
        Some(f.clock.now_utc())
    );
}

pub async fn store_account_writes_are_guarded(store: Arc<dyn Store>) {
    {
        let now = super::epoch();
        let a = crate::account::profile::Account::new(
            user("ivy"),
            email("ivy@example.com"),
            profile("Ivy"),
            now,
        )
        .unwrap();
        store.insert_account(&a).await.unwrap();
        assert!(matches!(
            store.insert_account(&a).await,
            Err(StoreError::AlreadyExists {
                entity: Entity::Account,
                ..
            })
        ));
        let mut stale = a.clone();
        stale.revision = 5;
        assert!(matches!(
            store.update_account(&stale, 3, None).await,
            Err(StoreError::Conflict { .. })
        ));
        let mut missing = a.clone();
        missing.user_id = user("nobody");
        missing.email = None;
        assert!(matches!(
            store.update_account(&missing, 0, None).await,
            Err(StoreError::NotFound { .. })
        ));
        let mut next = a.clone();
        next.profile.bio = Some("hello".into());
        next.revision = 1;
        store.update_account(&next, 0, None).await.unwrap();
        assert_eq!(store.account(&a.user_id).await.unwrap().unwrap(), next);
        assert_eq!(
            store
                .account_by_email(&email("IVY@example.com"))
                .await
                .unwrap()
                .unwrap(),
            next
        );
        // Erased: the address is free for someone else.
        let mut erased = next.clone();
        erased
            .apply(&crate::account::profile::AccountEvent::Erase, now)
            .unwrap();
        erased.revision = 2;
        store
            .update_account(&erased, 1, Some(&audit()))
            .await
            .unwrap();
        let again = crate::account::profile::Account::new(
            user("ivy2"),
            email("ivy@example.com"),
            profile("Ivy"),
            now,
        )
        .unwrap();
        store.insert_account(&again).await.unwrap();
        assert_eq!(store.account(&user("ivy")).await.unwrap().unwrap(), erased);
        // The standing the access read uses agrees with the record's.
        assert_eq!(
            store.account_refusal(&user("ivy")).await.unwrap(),
            Some(Refusal::Erased)
        );
        assert_eq!(store.account_refusal(&user("ivy2")).await.unwrap(), None);
        assert_eq!(store.account_refusal(&user("nobody")).await.unwrap(), None);
    }
}

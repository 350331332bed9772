//! Accounts through the service and the stores' traits: refused accounts
//! write nothing; email uniqueness holds under contention; lists search
//! and page; the store's account writes are guarded.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use super::records::audit;
use crate::account::email::Email;
use crate::account::profile::{Author, Profile, Role};
use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use crate::commerce::license::LicenseType;
use crate::delivery::download::RequestInfo;
use crate::store::{AccountQuery, Entity, Store, StoreError};
use crate::value::actor::{Actor, Refusal, UserId};
use crate::value::error::Error;
use crate::value::ids::WorkflowId;
use crate::value::keyset::After;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::CheckoutItem;

pub(super) fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

pub(super) fn new_file(workflow: WorkflowId) -> NewFile {
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

pub(super) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(super) fn profile(name: &str) -> Profile {
    Profile {
        display_name: name.into(),
        ..Profile::default()
    }
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
        // Listings: a page with workflows on it (its standing may come with
        // it), one with none, and one no status of which a buyer may see.
        refused(
            f.vault
                .list_workflows(&as_frank, crate::catalog::query::WorkflowQuery::default())
                .await
                .map(|_| ()),
        );
        let nothing = crate::catalog::query::WorkflowQuery {
            text: Some("zzzz-no-such-term".into()),
            ..Default::default()
        };
        refused(f.vault.list_workflows(&as_frank, nothing).await.map(|_| ()));
        let drafts = crate::catalog::query::WorkflowQuery {
            statuses: vec![crate::catalog::workflow::WorkflowStatus::Draft],
            ..Default::default()
        };
        refused(f.vault.list_workflows(&as_frank, drafts).await.map(|_| ()));
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
        store.insert_account(&a, &[]).await.unwrap();
        assert!(matches!(
            store.insert_account(&a, &[]).await,
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
        store.insert_account(&again, &[]).await.unwrap();
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

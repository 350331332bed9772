//! Commerce's storage trait called directly ([`crate::store::CommerceStore`]):
//! purchases and what they must name, the guarded settlement and the
//! counters it moves once, memberships guarded by revision and listed.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::records::{
    assert_err, bundle_id, completed, day, delta, direct, download, failure, membership,
    membership_id, of_bundle, pay, purchase, purchase_id, shop, snapshot, t, user, wf_id,
};
use crate::commerce::membership::{Membership, MembershipEvent, MembershipStatus, Period};
use crate::commerce::purchase::{PaymentStatus, Purchase, PurchaseItem};
use crate::store::{Charge, Entity, PurchaseWrite, Store, StoreError};
use crate::value::money::Currency;
use crate::value::tier::PricingTier;

pub async fn store_purchases_are_unique_and_name_existing_items(store: Arc<dyn Store>) {
    shop(&*store).await;
    store
        .insert_membership(&membership(1, "ann", 0, None), t(0), Duration::days(3))
        .await
        .unwrap();
    let p1 = purchase(1, "ann", direct(10), Some(5), 1);
    let p2 = completed(purchase(2, "ann", of_bundle(1, &[10, 11]), None, 2), "pi_2");
    let p3 = purchase(
        3,
        "ann",
        PurchaseItem::MembershipIncluded {
            workflow_id: wf_id(11),
            membership_id: membership_id(1),
        },
        None,
        3,
    );
    let p4 = purchase(4, "bob", direct(10), None, 4);
    for p in [&p1, &p2, &p3, &p4] {
        store.insert_purchase(p).await.unwrap();
    }
    let before = snapshot(&*store).await;
    assert_err!(
        store.insert_purchase(&p1).await,
        StoreError::AlreadyExists {
            entity: Entity::Purchase,
            ..
        }
    );
    let reused = completed(purchase(5, "bob", direct(11), None, 5), "pi_2");
    assert_err!(
        store.insert_purchase(&reused).await,
        StoreError::AlreadyExists {
            entity: Entity::Purchase,
            ..
        }
    );
    // A license key's digest is unique too, and finds its purchase.
    let mut twin = purchase(6, "bob", direct(11), None, 6);
    twin.license_key_hash = p3.license_key_hash.clone();
    assert_err!(
        store.insert_purchase(&twin).await,
        StoreError::AlreadyExists {
            entity: Entity::Purchase,
            ..
        }
    );
    assert_eq!(
        store
            .purchase_by_license_key(&p2.license_key_hash)
            .await
            .unwrap(),
        Some(p2.clone())
    );
    assert_eq!(
        store
            .purchase_by_license_key(&twin.license_key_hash)
            .await
            .unwrap()
            .map(|p| p.id),
        Some(p3.id)
    );
    assert_eq!(
        store
            .purchase_by_license_key(&purchase(7, "bob", direct(11), None, 7).license_key_hash)
            .await
            .unwrap(),
        None
    );
    for (item, entity) in [
        (direct(99), Entity::Workflow),
        (of_bundle(9, &[10, 11]), Entity::Bundle),
        (of_bundle(1, &[10, 99]), Entity::Workflow),
        (
            PurchaseItem::MembershipIncluded {
                workflow_id: wf_id(10),
                membership_id: membership_id(9),
            },
            Entity::Membership,
        ),
    ] {
        let result = store
            .insert_purchase(&purchase(6, "bob", item, None, 6))
            .await;
        assert_eq!(failure(&result), Some(("not found", entity)), "{result:?}");
    }
    assert_eq!(snapshot(&*store).await, before);

    assert_eq!(
        store.purchase(purchase_id(1)).await.unwrap(),
        Some(p1.clone())
    );
    assert_eq!(store.purchase(purchase_id(9)).await.unwrap(), None);
    assert_eq!(
        store.purchase_by_payment_ref(&pay("pi_2")).await.unwrap(),
        Some(p2.clone())
    );
    assert_eq!(
        store.purchase_by_payment_ref(&pay("pi_x")).await.unwrap(),
        None
    );
    let ids = |ps: Vec<Purchase>| ps.iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.purchases_for_user(&user("ann")).await.unwrap()),
        vec![purchase_id(3), purchase_id(2), purchase_id(1)]
    );
    assert_eq!(
        ids(store
            .purchases_covering(&user("ann"), wf_id(10))
            .await
            .unwrap()),
        vec![purchase_id(2), purchase_id(1)]
    );
    assert_eq!(
        ids(store
            .purchases_covering(&user("ann"), wf_id(11))
            .await
            .unwrap()),
        vec![purchase_id(3), purchase_id(2)]
    );
    assert!(
        store
            .purchases_covering(&user("bob"), wf_id(11))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Ann's pending purchase 1 of bundle 1 (limit 3), Bob's completed purchase
/// 2 paid by `pi_taken`, and the write that completes Ann's with `pi_1`,
/// counting it and recording its sale for both workflows on day 5.
async fn settlement(store: &dyn Store) -> (Purchase, PurchaseWrite) {
    shop(store).await;
    let pending = purchase(1, "ann", of_bundle(1, &[10, 11]), Some(3), 1);
    store.insert_purchase(&pending).await.unwrap();
    store
        .insert_purchase(&completed(
            purchase(2, "bob", direct(10), None, 1),
            "pi_taken",
        ))
        .await
        .unwrap();
    let mut sale = delta(10, 5);
    sale.purchases = 1;
    sale.revenue = Decimal::new(2450, 2);
    sale.currency = Some(Currency::USD);
    let mut sale_11 = sale.clone();
    sale_11.workflow_id = wf_id(11);
    let write = PurchaseWrite {
        purchase: completed(pending.clone(), "pi_1"),
        expected_status: PaymentStatus::Pending,
        expected_refunded: None,
        expected_dispute: None,
        count_purchase: true,
        analytics: vec![sale, sale_11],
        refunds: vec![],
        audit: None,
        outbox: vec![],
    };
    (pending, write)
}

pub async fn store_settle_purchase_is_guarded_and_counts_once(store: Arc<dyn Store>) {
    let (pending, write) = settlement(&*store).await;
    let before = snapshot(&*store).await;

    let mut missing = write.clone();
    missing.purchase.id = purchase_id(9);
    assert_err!(
        store.settle_purchase(&missing).await,
        StoreError::NotFound {
            entity: Entity::Purchase,
            ..
        }
    );
    let mut stale = write.clone();
    stale.expected_status = PaymentStatus::Completed;
    assert_err!(
        store.settle_purchase(&stale).await,
        StoreError::Conflict {
            entity: Entity::Purchase,
            ..
        }
    );
    let taken = PurchaseWrite {
        purchase: completed(pending.clone(), "pi_taken"),
        ..write.clone()
    };
    assert_err!(
        store.settle_purchase(&taken).await,
        StoreError::AlreadyExists {
            entity: Entity::Purchase,
            ..
        }
    );
    // A bad delta after a good one: neither is applied.
    let mut orphan = write.clone();
    orphan.analytics.push(delta(99, 5));
    assert_err!(
        store.settle_purchase(&orphan).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    store.settle_purchase(&write).await.unwrap();
    let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
    assert_eq!(stored, write.purchase);
    for wf in [10, 11] {
        let w = store.workflow(wf_id(wf)).await.unwrap().unwrap();
        assert_eq!(w.stats.purchase_count, 1);
        let rows = store.analytics(wf_id(wf), day(5), day(5)).await.unwrap();
        assert_eq!(rows[0].purchases, 1);
        assert_eq!(rows[0].revenue, Decimal::new(2450, 2));
    }
    assert_eq!(
        store
            .bundle(bundle_id(1))
            .await
            .unwrap()
            .unwrap()
            .purchase_count,
        1
    );
    // A replayed completion finds the status moved.
    assert_err!(
        store.settle_purchase(&write).await,
        StoreError::Conflict { .. }
    );

    // Downloads charged after the refund's read (`stored`) stay counted,
    // and a write that does not complete the purchase counts nothing.
    let charge = Charge::Purchase {
        id: purchase_id(1),
        expected_status: PaymentStatus::Completed,
        limit: Some(3),
    };
    for n in 1..=2 {
        store
            .record_download(&download(n, Some("ann"), 10, 1, 6), &charge, &delta(10, 6))
            .await
            .unwrap();
    }
    let mut refunded = stored.clone();
    refunded.status = PaymentStatus::PartiallyRefunded;
    refunded.updated_at = t(7);
    store
        .settle_purchase(&PurchaseWrite {
            purchase: refunded.clone(),
            expected_status: PaymentStatus::Completed,
            expected_refunded: None,
            expected_dispute: None,
            count_purchase: false,
            analytics: vec![],
            refunds: vec![],
            audit: None,
            outbox: vec![],
        })
        .await
        .unwrap();
    let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(stored.updated_at, t(7));
    assert_eq!(stored.quota.used, 2);
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(w.stats.purchase_count, 1);
}

/// A settlement whose last analytics delta would take a day's revenue past
/// what any amount can hold is refused whole, as a backend error: the
/// deltas before it are not applied either.
pub async fn store_settle_purchase_refuses_an_overflowing_day_whole(store: Arc<dyn Store>) {
    let (_, write) = settlement(&*store).await;
    // Beyond the money every store holds, a day is refused outright...
    let mut beyond = delta(11, 6);
    beyond.revenue = Decimal::MAX;
    beyond.currency = Some(Currency::USD);
    assert_err!(
        store.record_analytics(&beyond).await,
        StoreError::Invalid(_)
    );
    // ...and a day at the top of that range cannot grow any further.
    let mut full = delta(11, 6);
    full.revenue =
        crate::value::money::Money::from_minor(crate::value::money::MAX_MINOR, Currency::USD)
            .amount();
    full.currency = Some(Currency::USD);
    store.record_analytics(&full).await.unwrap();
    let before = snapshot(&*store).await;

    let mut overflow = write.clone();
    let mut huge = delta(11, 6);
    huge.revenue = Decimal::new(1, 2);
    huge.currency = Some(Currency::USD);
    overflow.analytics.push(huge);
    assert_err!(
        store.settle_purchase(&overflow).await,
        StoreError::Invalid(_)
    );
    assert_eq!(snapshot(&*store).await, before);
}

pub async fn store_memberships_are_guarded_and_listed(store: Arc<dyn Store>) {
    shop(&*store).await;
    let m1 = membership(1, "ann", 0, Some(10));
    let mut m2 = membership(2, "ann", 5, None);
    let mut m3 = membership(3, "bob", 1, None);
    m3.status = MembershipStatus::Canceled;
    for m in [&m1, &m3] {
        store
            .insert_membership(m, t(0), Duration::days(3))
            .await
            .unwrap();
    }
    // Two live memberships of one user, which no start can make (the
    // one-membership rule refuses the second), to test the listings: an
    // ended membership takes no slot, and an update is guarded by its
    // revision only.
    let mut ended = m2.clone();
    ended.status = MembershipStatus::Expired;
    store
        .insert_membership(&ended, t(0), Duration::days(3))
        .await
        .unwrap();
    m2.revision = 1;
    store.update_membership(&m2, 0).await.unwrap();
    let before = snapshot(&*store).await;
    assert_err!(
        store.insert_membership(&m1, t(0), Duration::days(3)).await,
        StoreError::AlreadyExists {
            entity: Entity::Membership,
            ..
        }
    );
    assert_err!(
        store
            .update_membership(&membership(9, "ann", 0, None), 0)
            .await,
        StoreError::NotFound {
            entity: Entity::Membership,
            ..
        }
    );
    assert_err!(
        store.update_membership(&m1, 7).await,
        StoreError::Conflict {
            entity: Entity::Membership,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let ids = |ms: Vec<Membership>| ms.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.memberships_for_user(&user("ann")).await.unwrap()),
        vec![membership_id(2), membership_id(1)]
    );
    assert_eq!(
        store.membership_by_subscription("sub_1").await.unwrap(),
        Some(m1.clone())
    );
    assert_eq!(
        store.membership_by_subscription("sub_x").await.unwrap(),
        None
    );
    assert_eq!(
        ids(store
            .memberships_with_status(&[MembershipStatus::Active])
            .await
            .unwrap()),
        vec![membership_id(1), membership_id(2)]
    );
    assert_eq!(
        ids(store
            .memberships_with_status(&[MembershipStatus::Canceled, MembershipStatus::Active])
            .await
            .unwrap()),
        vec![membership_id(1), membership_id(2), membership_id(3)]
    );
    assert!(store.memberships_with_status(&[]).await.unwrap().is_empty());

    // Three downloads happen after the member's read; a tier change in
    // the same period keeps them, a renewal starts a fresh quota.
    let charge = Charge::Membership {
        id: membership_id(1),
        expected_status: MembershipStatus::Active,
        period_start: t(0),
        limit: Some(10),
    };
    for n in 1..=3 {
        store
            .record_download(&download(n, Some("ann"), 10, 1, 1), &charge, &delta(10, 1))
            .await
            .unwrap();
    }
    let mut edit = m1.clone();
    edit.apply(
        &MembershipEvent::ChangeTier {
            tier: PricingTier::Premium,
            period_download_limit: Some(20),
        },
        t(2),
    )
    .unwrap();
    edit.revision = 1;
    store.update_membership(&edit, 0).await.unwrap();
    let stored = store.membership(membership_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.tier, PricingTier::Premium);
    assert_eq!((stored.quota.used, stored.quota.limit), (3, Some(20)));
    assert_eq!(stored.revision, 1);

    let mut renewed = stored.clone();
    renewed
        .apply(
            &MembershipEvent::Renew {
                period: Period::new(t(30), t(60)).unwrap(),
            },
            t(30),
        )
        .unwrap();
    renewed.revision = 2;
    store.update_membership(&renewed, 1).await.unwrap();
    let stored = store.membership(membership_id(1)).await.unwrap().unwrap();
    assert_eq!(stored, renewed);
    assert_eq!(stored.quota.used, 0);
}

/// The outbox: jobs in a settlement commit with it or not at all. A
/// settlement refused by its guard, by a taken payment, or by a job whose
/// id is taken (the last insert of the transaction) leaves no job and no
/// change; one that commits leaves its jobs queued, and a unique key
/// already held is not enqueued twice.
pub async fn store_settlement_outbox_commits_with_it(store: Arc<dyn Store>) {
    use crate::jobs::job::{JobId, JobKind, NewJob};
    use crate::jobs::store::JobQuery;

    let (_, write) = settlement(&*store).await;
    let job = |n: u128, key: Option<&str>| {
        let mut new = NewJob::new(
            JobKind::parse("mail.receipt").unwrap(),
            serde_json::json!({"n": n}),
        )
        .unwrap();
        if let Some(k) = key {
            new = new.unique_key(k);
        }
        new.into_job(
            JobId::from_uuid(uuid::Uuid::from_u128(0x0b0c << 64 | n)),
            t(5),
        )
    };
    let jobs = async |store: &dyn Store| {
        store
            .jobs(&JobQuery::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    // A job already queued under id 1 and key "held".
    store.enqueue_job(&job(1, Some("held"))).await.unwrap();
    let before = snapshot(&*store).await;

    let mut stale = write.clone();
    stale.expected_status = PaymentStatus::Completed;
    stale.outbox = vec![job(2, None)];
    assert_err!(
        store.settle_purchase(&stale).await,
        StoreError::Conflict { .. }
    );
    // Two jobs of one write with one id: refused whole on every store.
    let mut twice = write.clone();
    twice.outbox = vec![job(6, None), job(6, None)];
    assert_err!(
        store.settle_purchase(&twice).await,
        StoreError::AlreadyExists {
            entity: Entity::Job,
            ..
        }
    );
    let mut taken_job = write.clone();
    taken_job.outbox = vec![job(3, None), job(1, None)];
    assert_err!(
        store.settle_purchase(&taken_job).await,
        StoreError::AlreadyExists {
            entity: Entity::Job,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before, "nothing of the write");
    assert_eq!(jobs(&*store).await, vec![job(1, None).id], "no job of it");

    let mut ok = write.clone();
    ok.outbox = vec![job(4, None), job(5, Some("held"))];
    store.settle_purchase(&ok).await.unwrap();
    assert!(
        store
            .purchase(purchase_id(1))
            .await
            .unwrap()
            .unwrap()
            .status
            .is_paid()
    );
    let mut queued = jobs(&*store).await;
    queued.sort();
    let mut want = vec![job(1, None).id, job(4, None).id];
    want.sort();
    assert_eq!(queued, want, "its new job queued; the held key not doubled");
    let j4 = store.job(job(4, None).id).await.unwrap().unwrap();
    assert_eq!(j4, job(4, None));
}

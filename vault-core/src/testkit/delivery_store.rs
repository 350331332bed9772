//! Delivery's storage trait called directly ([`crate::store::DeliveryStore`]):
//! the guarded download write checks everything before it writes, counts
//! every download everywhere, holds its limit under contention, and the
//! history lists newest first.

use std::sync::Arc;

use chrono::Duration;

use super::records::{
    assert_err, cat_id, completed, day, delta, direct, download, download_id, failure, file_id,
    membership, membership_id, purchase, purchase_id, shop, snapshot, t, user, wf_id,
};
use crate::commerce::membership::MembershipStatus;
use crate::commerce::purchase::PaymentStatus;
use crate::delivery::download::Download;
use crate::insight::analytics::AnalyticsDelta;
use crate::store::{Charge, Entity, Store, StoreError};

pub async fn store_record_download_checks_everything_before_writing(store: Arc<dyn Store>) {
    shop(&*store).await;
    let p = completed(purchase(1, "ann", direct(10), Some(2), 1), "pi_1");
    store.insert_purchase(&p).await.unwrap();
    let m = membership(1, "ann", 0, Some(1));
    store
        .insert_membership(&m, t(0), Duration::days(3))
        .await
        .unwrap();
    let by_purchase = |limit| Charge::Purchase {
        id: purchase_id(1),
        expected_status: PaymentStatus::Completed,
        limit,
    };
    let by_membership = Charge::Membership {
        id: membership_id(1),
        expected_status: MembershipStatus::Active,
        period_start: t(0),
        limit: Some(1),
    };
    let none = delta(10, 1);
    let before = snapshot(&*store).await;

    let refused: Vec<(Download, Charge, AnalyticsDelta, (&str, Entity))> = vec![
        (
            download(1, Some("ann"), 99, 1, 1),
            Charge::Nothing,
            delta(99, 1),
            ("not found", Entity::Workflow),
        ),
        (
            download(1, Some("ann"), 10, 99, 1),
            Charge::Nothing,
            none.clone(),
            ("not found", Entity::File),
        ),
        // File 2 belongs to workflow 11.
        (
            download(1, Some("ann"), 10, 2, 1),
            Charge::Nothing,
            none.clone(),
            ("not found", Entity::File),
        ),
        (
            download(1, Some("ann"), 10, 1, 1),
            Charge::Purchase {
                id: purchase_id(9),
                expected_status: PaymentStatus::Completed,
                limit: None,
            },
            none.clone(),
            ("not found", Entity::Purchase),
        ),
        (
            download(1, Some("ann"), 10, 1, 1),
            Charge::Purchase {
                id: purchase_id(1),
                expected_status: PaymentStatus::Pending,
                limit: None,
            },
            none.clone(),
            ("conflict", Entity::Purchase),
        ),
        (
            download(1, Some("ann"), 10, 1, 1),
            Charge::Membership {
                id: membership_id(9),
                expected_status: MembershipStatus::Active,
                period_start: t(0),
                limit: None,
            },
            none.clone(),
            ("not found", Entity::Membership),
        ),
        (
            download(1, Some("ann"), 10, 1, 1),
            Charge::Membership {
                id: membership_id(1),
                expected_status: MembershipStatus::PastDue,
                period_start: t(0),
                limit: None,
            },
            none.clone(),
            ("conflict", Entity::Membership),
        ),
        (
            download(1, Some("ann"), 10, 1, 1),
            Charge::Membership {
                id: membership_id(1),
                expected_status: MembershipStatus::Active,
                period_start: t(30),
                limit: None,
            },
            none.clone(),
            ("conflict", Entity::Membership),
        ),
    ];
    for (d, charge, analytics, expected) in &refused {
        let result = store.record_download(d, charge, analytics).await;
        assert_eq!(failure(&result), Some(*expected), "{result:?}");
    }
    assert_eq!(snapshot(&*store).await, before);

    let mut counted = delta(10, 1);
    counted.downloads = 1;
    for n in 1..=2 {
        store
            .record_download(
                &download(n, Some("ann"), 10, 1, 1),
                &by_purchase(Some(2)),
                &counted,
            )
            .await
            .unwrap();
    }
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .record_download(
                &download(3, Some("ann"), 10, 1, 1),
                &by_purchase(Some(2)),
                &counted
            )
            .await,
        StoreError::LimitReached {
            entity: Entity::Purchase,
            limit: 2,
            ..
        }
    );
    assert_err!(
        store
            .record_download(
                &download(1, Some("ann"), 10, 1, 1),
                &Charge::Nothing,
                &counted
            )
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Download,
            ..
        }
    );
    // A taken id with a charge: a store may find it only at the insert,
    // after the charge; the charge goes back with the rest.
    assert_err!(
        store
            .record_download(
                &download(1, Some("ann"), 10, 1, 1),
                &by_purchase(None),
                &counted
            )
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Download,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    // Unlimited charges are still counted; free ones touch no quota.
    store
        .record_download(
            &download(3, Some("ann"), 10, 1, 1),
            &by_purchase(None),
            &counted,
        )
        .await
        .unwrap();
    store
        .record_download(&download(4, None, 10, 1, 1), &Charge::Nothing, &counted)
        .await
        .unwrap();
    assert_eq!(
        store
            .purchase(purchase_id(1))
            .await
            .unwrap()
            .unwrap()
            .quota
            .used,
        3
    );

    store
        .record_download(
            &download(5, Some("ann"), 10, 1, 1),
            &by_membership,
            &counted,
        )
        .await
        .unwrap();
    assert_err!(
        store
            .record_download(
                &download(6, Some("ann"), 10, 1, 1),
                &by_membership,
                &counted
            )
            .await,
        StoreError::LimitReached {
            entity: Entity::Membership,
            limit: 1,
            ..
        }
    );
    let m = store.membership(membership_id(1)).await.unwrap().unwrap();
    assert_eq!(m.quota.used, 1);
    // Counters never move timestamps.
    assert_eq!(m.updated_at, t(0));

    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(w.stats.download_count, 5);
    let f = store.file(file_id(1)).await.unwrap().unwrap();
    assert_eq!(f.download_count, 5);
    let c = store.category(cat_id(1)).await.unwrap().unwrap();
    assert_eq!(c.total_downloads, 5);
    let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
    assert_eq!(rows[0].downloads, 5);
    assert_eq!(
        store
            .downloads_for_workflow(wf_id(10), 100)
            .await
            .unwrap()
            .len(),
        5
    );
}

pub async fn store_downloads_are_listed_newest_first(store: Arc<dyn Store>) {
    shop(&*store).await;
    for d in [
        download(1, Some("ann"), 10, 1, 1),
        download(2, Some("ann"), 10, 1, 3),
        download(3, Some("ann"), 11, 2, 2),
        download(4, None, 10, 1, 4),
        download(5, Some("ann"), 10, 1, 3),
    ] {
        // Each with its own workflow's and day's counters, as the service
        // writes them.
        let own = AnalyticsDelta::none(d.workflow_id, d.downloaded_at);
        store
            .record_download(&d, &Charge::Nothing, &own)
            .await
            .unwrap();
    }
    let ids = |ds: Vec<Download>| ds.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.downloads_for_user(&user("ann"), 10).await.unwrap()),
        vec![
            download_id(2),
            download_id(5),
            download_id(3),
            download_id(1)
        ]
    );
    assert_eq!(
        ids(store.downloads_for_user(&user("ann"), 2).await.unwrap()),
        vec![download_id(2), download_id(5)]
    );
    assert!(
        store
            .downloads_for_user(&user("ann"), 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.downloads_for_workflow(wf_id(10), 10).await.unwrap()),
        vec![
            download_id(4),
            download_id(2),
            download_id(5),
            download_id(1)
        ]
    );
    assert!(store.has_downloaded(&user("ann"), wf_id(11)).await.unwrap());
    assert!(!store.has_downloaded(&user("bob"), wf_id(10)).await.unwrap());
}

/// Thirty-two downloads against a purchase limited to five, all at once:
/// five are written, the rest find the quota full.
pub async fn store_concurrent_downloads_never_exceed_the_limit(store: Arc<dyn Store>) {
    shop(&*store).await;
    let p = completed(purchase(1, "ann", direct(10), Some(5), 1), "pi_1");
    store.insert_purchase(&p).await.unwrap();
    let tasks: Vec<_> = (1..=32)
        .map(|n| {
            let store = Arc::clone(&store);
            super::tokio::spawn(async move {
                let charge = Charge::Purchase {
                    id: purchase_id(1),
                    expected_status: PaymentStatus::Completed,
                    limit: Some(5),
                };
                store
                    .record_download(&download(n, Some("ann"), 10, 1, 1), &charge, &delta(10, 1))
                    .await
            })
        })
        .collect();
    let (mut ok, mut full) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached { limit: 5, .. }) => full += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, full), (5, 27));
    assert_eq!(
        store
            .downloads_for_workflow(wf_id(10), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    let stored = store.purchase(purchase_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.quota.used, 5);
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(w.stats.download_count, 5);
}

/// The download row and its analytics delta both name a workflow and a day;
/// a delta of another workflow, or of another day, is refused before
/// anything is written ([`Download::check_analytics`]), even when that other
/// workflow exists. So is a delta that moves money: a download only counts
/// (which is what lets a store add it in place).
pub async fn store_record_download_refuses_analytics_of_another_workflow(store: Arc<dyn Store>) {
    shop(&*store).await;
    let before = snapshot(&*store).await;
    let d = download(1, Some("ann"), 10, 1, 1);
    let mut paid = delta(10, 1);
    paid.revenue = rust_decimal::Decimal::ONE;
    paid.currency = Some(crate::value::money::Currency::USD);
    let mut priced = delta(10, 1);
    priced.currency = Some(crate::value::money::Currency::USD);
    for (analytics, field) in [
        (delta(11, 1), "analytics.workflow_id"),
        (delta(99, 1), "analytics.workflow_id"),
        (delta(10, 2), "analytics.date"),
        (paid, "analytics.revenue"),
        (priced, "analytics.currency"),
    ] {
        let r = store
            .record_download(&d, &Charge::Nothing, &analytics)
            .await;
        match r {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field(), field, "{e}"),
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
    assert_eq!(snapshot(&*store).await, before);
    // The same download with its own delta goes through.
    let mut own = delta(10, 1);
    own.downloads = 1;
    store
        .record_download(&d, &Charge::Nothing, &own)
        .await
        .unwrap();
}

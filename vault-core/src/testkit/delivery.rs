//! Delivery through the service: access decisions, downloads and their
//! charges, under contention too; and the one access read against the
//! calls it replaces.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use super::helpers::{denied, no_request, usd, workflow_of};
use crate::catalog::bundle::NewBundle;
use crate::catalog::file::FileAccess;
use crate::catalog::query::WorkflowQuery;
use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use crate::commerce::license::LicenseType;
use crate::commerce::membership::Period;
use crate::commerce::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use crate::delivery::access::{AccessKind, DenyReason, Remedy};
use crate::delivery::download::{DownloadKind, RequestInfo};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::Store;
use crate::store::{AccessQuery, AccessRead, FileWanted, compose_access_read};
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::error::StoreError;
use crate::value::ids::FileId;
use crate::value::ids::WorkflowId;
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::{CheckoutItem, StartPurchase};

pub async fn free_download_counts_everywhere(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, file) = f.workflow("free-one", PricingTier::Free, None).await;
    let req = RequestInfo {
        ip: Some("198.51.100.4".parse().unwrap()),
        user_agent: Some("Mozilla/5.0".into()),
        referrer: Some("https://news.example.org/x".into()),
        country: Some(crate::value::country::CountryCode::parse("DE").unwrap()),
    };
    let t = f
        .vault
        .download(&Actor::Anonymous, w.id, None, &req)
        .await
        .unwrap();
    assert_eq!(t.download.kind, DownloadKind::Free);
    assert_eq!(t.decision.kind(), Some(AccessKind::Free));
    assert_eq!(t.download.user_id, None);
    let hash = t.download.request.ip_hash.clone().unwrap();
    assert_ne!(hash.as_str(), "198.51.100.4");
    assert!(
        !format!("{t:?}").contains("198.51.100.4"),
        "the raw IP is never kept"
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 1);
    assert_eq!(
        f.store.file(file.id).await.unwrap().unwrap().download_count,
        1
    );
    assert_eq!(
        f.store
            .category(f.categories[0].id)
            .await
            .unwrap()
            .unwrap()
            .total_downloads,
        1
    );
    let day = super::epoch().date_naive();
    let rows = f.store.analytics(w.id, day, day).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].downloads, 1);
    let recorded = f.store.downloads_for_workflow(w.id, 10).await.unwrap();
    assert_eq!(recorded, vec![t.download]);
}

pub async fn paid_download_denied_with_remedy(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("paid", PricingTier::Pro, Some(4900)).await;
    let anon = denied(
        f.vault
            .download(&Actor::Anonymous, w.id, None, &no_request())
            .await,
    );
    assert_eq!(anon.reasons, vec![DenyReason::SignInRequired]);
    assert_eq!(anon.remedies, vec![Remedy::SignIn]);
    let user = Fixture::user("window-shopper");
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert_eq!(d.reasons, vec![DenyReason::NoEntitlement]);
    assert!(d.remedies.contains(&Remedy::Buy { price: usd(4900) }));
    assert!(d.remedies.contains(&Remedy::Join {
        tier: PricingTier::Pro
    }));
    assert_eq!(
        workflow_of(&f, w.id).await.stats.download_count,
        0,
        "a denial writes nothing"
    );
    let basic = f.join(&user, PricingTier::Basic, None, false).await;
    let d = f.vault.check_access(&user, w.id, None).await.unwrap();
    assert!(
        d.summary()
            .contains("needs tier pro or higher; you have basic"),
        "{}",
        d.summary()
    );
    assert!(d.remedies.contains(&Remedy::Upgrade {
        membership_id: basic.id,
        to: PricingTier::Pro
    }));
}

pub async fn purchase_grants_and_limit_holds(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("limited", PricingTier::Pro, Some(2900));
    c.download_limit = Some(5);
    let (w, _) = f.publish(c).await;
    let user = Fixture::user("buyer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    assert_eq!(p.status, PaymentStatus::Completed);
    let mut ids = Vec::new();
    for i in 1..=5 {
        f.clock.advance(chrono::Duration::microseconds(1));
        let t = f
            .vault
            .download(&user, w.id, None, &no_request())
            .await
            .unwrap();
        assert_eq!(t.download.kind, DownloadKind::Purchased);
        assert_eq!(t.quota_after.unwrap().used, i);
        ids.push(t.download.id);
    }
    // Download ids are time-ordered: a later download's sorts after.
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "{ids:?}");
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert!(
        d.summary().contains("5 of 5 downloads used"),
        "{}",
        d.summary()
    );
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_user(user.user_id().unwrap(), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    // The guard itself: a charge over the limit is refused by the store.
    let dl = f
        .store
        .downloads_for_user(user.user_id().unwrap(), 1)
        .await
        .unwrap()
        .remove(0);
    let mut extra = dl.clone();
    extra.id = crate::value::ids::DownloadId::from_uuid(uuid::Uuid::from_u128(77));
    let charge = crate::store::Charge::Purchase {
        id: p.id,
        expected_status: PaymentStatus::Completed,
        limit: Some(5),
    };
    let r = f
        .store
        .record_download(&extra, &charge, &AnalyticsDelta::none(w.id, super::epoch()))
        .await;
    assert!(
        matches!(r, Err(StoreError::LimitReached { limit: 5, .. })),
        "{r:?}"
    );
    let wrong_state = crate::store::Charge::Purchase {
        id: p.id,
        expected_status: PaymentStatus::Refunded,
        limit: None,
    };
    let r = f
        .store
        .record_download(
            &extra,
            &wrong_state,
            &AnalyticsDelta::none(w.id, super::epoch()),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(
        workflow_of(&f, w.id).await.stats.download_count,
        5,
        "refused charges write nothing"
    );
    // The denial offers buying again, and buying again works: a license
    // with no downloads left does not count as owning the workflow.
    assert!(d.remedies.contains(&Remedy::Buy { price: usd(2900) }));
    let again = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    assert_ne!(again.id, p.id);
    let t = f
        .vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(
        t.download.source,
        crate::delivery::download::DownloadSource::Purchase(again.id)
    );
    // So does an expired license.
    let (w2, _) = f.workflow("expiring", PricingTier::Pro, Some(1500)).await;
    let first = f
        .vault
        .start_purchase(
            &user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w2.id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: Some(super::epoch() + Duration::days(1)),
                provider: ProviderRefs::default(),
            },
        )
        .await
        .unwrap();
    f.vault
        .complete_purchase(
            &Actor::Service,
            first.id,
            PaymentRef::parse("pi_expiring").unwrap(),
        )
        .await
        .unwrap();
    f.advance(Duration::days(2));
    let d = denied(f.vault.download(&user, w2.id, None, &no_request()).await);
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::LicenseExpired { .. }]
    ));
    f.buy(&user, CheckoutItem::Workflow(w2.id)).await;
    f.vault
        .download(&user, w2.id, None, &no_request())
        .await
        .unwrap();
}

pub async fn membership_tier_quota_and_renewal(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (pro, _) = f.workflow("pro-flow", PricingTier::Pro, Some(4900)).await;
    let (premium, _) = f
        .workflow("premium-flow", PricingTier::Premium, Some(9900))
        .await;
    let user = Fixture::user("member");
    let m = f.join(&user, PricingTier::Pro, Some(2), false).await;
    let t = f
        .vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(t.download.kind, DownloadKind::Membership);
    let d = denied(
        f.vault
            .download(&user, premium.id, None, &no_request())
            .await,
    );
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::TierTooLow { .. }]
    ));
    f.vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    let d = denied(f.vault.download(&user, pro.id, None, &no_request()).await);
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::PeriodQuotaUsed { .. }]),
        "{:?}",
        d.reasons
    );
    assert!(
        d.remedies
            .iter()
            .any(|r| matches!(r, Remedy::WaitUntil { .. }))
    );
    // The period ends: without renewal, no access; a renewal resets the quota.
    f.advance(Duration::days(30));
    let d = denied(f.vault.download(&user, pro.id, None, &no_request()).await);
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::MembershipLapsed { .. }]),
        "{:?}",
        d.reasons
    );
    let now = super::epoch() + Duration::days(30);
    let renewed = f
        .vault
        .renew_membership(
            &Actor::Service,
            m.id,
            Period::new(now, now + Duration::days(30)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(renewed.quota.used, 0);
    assert_eq!(renewed.enrolled_at, m.enrolled_at);
    f.vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(
        f.store.membership(m.id).await.unwrap().unwrap().quota.used,
        1
    );
    // A renewal that only extends the current period keeps its count, and
    // what the service returns is what was stored.
    let extended = f
        .vault
        .renew_membership(
            &Actor::Service,
            m.id,
            Period::new(now, now + Duration::days(60)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(extended.quota.used, 1);
    assert_eq!(f.store.membership(m.id).await.unwrap().unwrap(), extended);
    // Upgrading covers premium and keeps the enrollment date.
    let up = f
        .vault
        .change_membership_tier(&Actor::Service, m.id, PricingTier::Premium, Some(2))
        .await
        .unwrap();
    assert_eq!(up.enrolled_at, m.enrolled_at);
    f.vault
        .download(&user, premium.id, None, &no_request())
        .await
        .unwrap();
}

pub async fn archived_only_for_prior_access(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("retired", PricingTier::Pro, Some(4900)).await;
    let early = Fixture::user("early");
    f.buy(&early, CheckoutItem::Workflow(w.id)).await;
    let member = Fixture::user("member");
    f.join(&member, PricingTier::Enterprise, None, false).await;
    let late_member = Fixture::user("late-member");
    f.join(&late_member, PricingTier::Enterprise, None, false)
        .await;
    f.vault
        .download(&member, w.id, None, &no_request())
        .await
        .unwrap();
    f.advance(Duration::days(1));
    f.vault.archive_workflow(&f.admin, w.id).await.unwrap();
    assert!(
        f.vault
            .check_access(&early, w.id, None)
            .await
            .unwrap()
            .is_granted(),
        "earlier buyers keep access"
    );
    assert!(
        f.vault
            .check_access(&member, w.id, None)
            .await
            .unwrap()
            .is_granted(),
        "members who downloaded before keep access"
    );
    let d = f
        .vault
        .check_access(&late_member, w.id, None)
        .await
        .unwrap();
    assert!(!d.is_granted());
    let buy_now = f
        .vault
        .start_purchase(
            &Fixture::user("late"),
            StartPurchase {
                user_id: UserId::parse("late").unwrap(),
                item: CheckoutItem::Workflow(w.id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(
        matches!(buy_now, Err(Error::InvalidTransition { .. })),
        "archived workflows are not sold"
    );
    let listed = f
        .vault
        .list_workflows(&Actor::Anonymous, WorkflowQuery::default())
        .await
        .unwrap();
    assert!(
        listed.items.iter().all(|x| x.id != w.id),
        "archived workflows leave the catalog"
    );
}

pub async fn version_scoped_purchase(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("evolving", PricingTier::Pro, Some(4900));
    c.update_months = Some(12);
    let (w, v1) = f.publish(c).await;
    let user = Fixture::user("subscriber-of-updates");
    f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let update = |v: Version| NewUpdate {
        workflow_id: w.id,
        version: v,
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Changed,
            text: "new".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: String::new(),
    };
    f.advance(Duration::days(100));
    f.vault
        .publish_update(&f.admin, update(Version::new(1, 1, 0)))
        .await
        .unwrap();
    let v11 = f
        .add_file(w.id, Version::new(1, 1, 0), FileAccess::Standard, false)
        .await;
    f.advance(Duration::days(300));
    f.vault
        .publish_update(&f.admin, update(Version::new(2, 0, 0)))
        .await
        .unwrap();
    let v2 = f
        .add_file(w.id, Version::new(2, 0, 0), FileAccess::Standard, true)
        .await;
    assert!(
        f.vault
            .check_access(&user, w.id, Some(v11.id))
            .await
            .unwrap()
            .is_granted(),
        "inside the window"
    );
    assert!(
        f.vault
            .check_access(&user, w.id, Some(v1.id))
            .await
            .unwrap()
            .is_granted(),
        "earlier versions forever"
    );
    let d = f
        .vault
        .check_access(&user, w.id, Some(v2.id))
        .await
        .unwrap();
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::VersionNotCovered { .. }]),
        "{:?}",
        d.reasons
    );
}

async fn race_downloads(f: &Fixture, user: &Actor, w: WorkflowId, tasks: usize) -> (usize, usize) {
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let vault = f.vault.clone();
        let user = user.clone();
        handles.push(super::tokio::spawn(async move {
            vault
                .download(&user, w, None, &RequestInfo::default())
                .await
        }));
    }
    let (mut ok, mut denied) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Denied(_)) => denied += 1,
            Err(e) => panic!("unexpected error under concurrency: {e:?}"),
        }
    }
    (ok, denied)
}

pub async fn concurrent_downloads_respect_purchase_limit(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("hot", PricingTier::Pro, Some(1000));
    c.download_limit = Some(5);
    let (w, _) = f.publish(c).await;
    let user = Fixture::user("racer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let (ok, denied) = race_downloads(&f, &user, w.id, 32).await;
    assert_eq!((ok, denied), (5, 27));
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_user(user.user_id().unwrap(), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 5);
}

/// The store's guard on its own: 32 writers that all decided before any of
/// them wrote (a barrier lines them up) still get exactly 5 successes.
pub async fn guarded_charge_under_contention(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("contended", PricingTier::Pro, Some(1000));
    c.download_limit = Some(5);
    let (w, file) = f.publish(c).await;
    let user = Fixture::user("contender");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let barrier = Arc::new(super::tokio::sync::Barrier::new(32));
    let mut handles = Vec::new();
    for i in 0..32u128 {
        let store = Arc::clone(&f.store);
        let barrier = Arc::clone(&barrier);
        let download = crate::delivery::download::Download {
            id: crate::value::ids::DownloadId::from_uuid(uuid::Uuid::from_u128(1000 + i)),
            user_id: user.user_id().cloned(),
            workflow_id: w.id,
            file_id: file.id,
            file_version: file.version,
            kind: DownloadKind::Purchased,
            source: crate::delivery::download::DownloadSource::Purchase(p.id),
            request: Default::default(),
            downloaded_at: super::epoch(),
        };
        handles.push(super::tokio::spawn(async move {
            let charge = crate::store::Charge::Purchase {
                id: p.id,
                expected_status: PaymentStatus::Completed,
                limit: Some(5),
            };
            let mut delta = AnalyticsDelta::none(download.workflow_id, super::epoch());
            delta.downloads = 1;
            barrier.wait().await;
            store.record_download(&download, &charge, &delta).await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached { limit: 5, .. }) => full += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, full), (5, 27));
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_workflow(w.id, 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 5);
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].downloads,
        5
    );
}

pub async fn concurrent_downloads_respect_membership_limit(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f
        .workflow("hot-member", PricingTier::Basic, Some(1000))
        .await;
    let user = Fixture::user("member-racer");
    let m = f.join(&user, PricingTier::Pro, Some(3), false).await;
    let (ok, denied) = race_downloads(&f, &user, w.id, 16).await;
    assert_eq!((ok, denied), (3, 13));
    assert_eq!(
        f.store.membership(m.id).await.unwrap().unwrap().quota.used,
        3
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 3);
}

// ------------------------------------------------------------ the one read

/// An access read with its purchases and memberships in id order: the
/// order [`AccessRead`] leaves open.
fn by_id(mut read: AccessRead) -> AccessRead {
    read.purchases.sort_by_key(|p| p.id);
    read.memberships.sort_by_key(|m| m.id);
    read
}

/// [`crate::store::DeliveryStore::access_read`] returns what the separate
/// calls return (up to the order of purchases and memberships), for every
/// shape of query: a file by id (its own, another workflow's, none), the
/// primary file (present or not), with and without a user, with and
/// without entitlements, archived and missing workflows. Plus the facts themselves, so a backend cannot pass by
/// getting both paths wrong the same way.
pub async fn access_read_matches_separate_reads(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let (w, primary) = f.workflow("reads-main", PricingTier::Pro, Some(2900)).await;
    f.advance(Duration::days(3));
    let newer = f
        .add_file(w.id, Version::new(1, 1, 0), FileAccess::Standard, false)
        .await;
    f.advance(Duration::days(1));
    let announced = f
        .vault
        .publish_update(
            &f.admin,
            NewUpdate {
                workflow_id: w.id,
                version: Version::new(1, 1, 0),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Added,
                    text: "a newer file".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: String::new(),
            },
        )
        .await
        .unwrap();
    // A patch after it, released later: a file's release is its own
    // version's, to the patch.
    f.advance(Duration::days(1));
    let patched = f
        .add_file(w.id, Version::new(1, 1, 1), FileAccess::Standard, false)
        .await;
    let patch = f
        .vault
        .publish_update(
            &f.admin,
            NewUpdate {
                workflow_id: w.id,
                version: Version::new(1, 1, 1),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Fixed,
                    text: "a patch".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: String::new(),
            },
        )
        .await
        .unwrap();
    assert_ne!(patch.released_at, announced.released_at);
    let (other, other_file) = f.workflow("reads-other", PricingTier::Pro, Some(900)).await;
    let (retired, _) = f
        .workflow("reads-retired", PricingTier::Pro, Some(900))
        .await;
    // A draft whose only file is not primary.
    let bare = f
        .vault
        .create_workflow(&f.admin, f.content("reads-bare", PricingTier::Free, None))
        .await
        .unwrap();
    let bare_file = f
        .add_file(bare.id, Version::new(0, 1, 0), FileAccess::Public, false)
        .await;

    let buyer = Fixture::user("reads-buyer");
    let purchase = f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    f.buy(&buyer, CheckoutItem::Workflow(retired.id)).await;
    let membership = f.join(&buyer, PricingTier::Basic, Some(3), false).await;
    // A bundle covering `w` and `other`, bought later: two purchases cover
    // `w`, newest first.
    f.advance(Duration::hours(1));
    let bundle = f
        .vault
        .create_bundle(
            &f.admin,
            NewBundle {
                slug: Slug::parse("reads-bundle").unwrap(),
                name: "reads bundle".into(),
                description: String::new(),
                workflow_ids: vec![w.id, other.id],
                price: usd(3000),
                valid_from: None,
                valid_until: None,
                seo: Default::default(),
            },
        )
        .await
        .unwrap();
    let bundled = f.buy(&buyer, CheckoutItem::Bundle(bundle.id)).await;
    f.vault
        .download(&buyer, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    f.vault
        .download(&buyer, retired.id, None, &RequestInfo::default())
        .await
        .unwrap();
    f.vault
        .archive_workflow(&f.admin, retired.id)
        .await
        .unwrap();
    let stranger = Fixture::user("reads-stranger");
    let nobody = FileId::from_uuid(uuid::Uuid::from_u128(0xdead));
    let missing = WorkflowId::from_uuid(uuid::Uuid::from_u128(0xbeef));

    let workflows = [w.id, other.id, retired.id, bare.id, missing];
    let files = [
        FileWanted::None,
        FileWanted::Primary,
        FileWanted::Id(primary.id),
        FileWanted::Id(newer.id),
        FileWanted::Id(patched.id),
        FileWanted::Id(other_file.id),
        FileWanted::Id(bare_file.id),
        FileWanted::Id(nobody),
    ];
    let users = [None, buyer.user_id(), stranger.user_id()];
    for &workflow in &workflows {
        for &file in &files {
            for &user in &users {
                for before_download in [false, true] {
                    let q = AccessQuery {
                        workflow,
                        file,
                        user,
                        before_download,
                    };
                    let one = store.access_read(&q).await.unwrap().map(by_id);
                    let separate = compose_access_read(&*store, &q).await.unwrap().map(by_id);
                    assert_eq!(one, separate, "{q:?}");
                }
            }
        }
    }

    let read = |workflow, file, user: &Actor| {
        let store = Arc::clone(&store);
        let user = user.user_id().cloned();
        async move {
            store
                .access_read(&AccessQuery {
                    workflow,
                    file,
                    user: user.as_ref(),
                    before_download: false,
                })
                .await
                .unwrap()
        }
    };
    let r = read(w.id, FileWanted::Id(newer.id), &buyer).await.unwrap();
    assert_eq!(r.workflow.id, w.id);
    assert_eq!(r.file.as_ref().map(|x| x.id), Some(newer.id));
    assert_eq!(r.file_released_at, Some(announced.released_at));
    let r = read(w.id, FileWanted::Id(patched.id), &buyer)
        .await
        .unwrap();
    assert_eq!(r.file_released_at, Some(patch.released_at));
    let r = by_id(read(w.id, FileWanted::Id(newer.id), &buyer).await.unwrap());
    let mut covering = vec![bundled.id, purchase.id];
    covering.sort();
    assert_eq!(
        r.purchases.iter().map(|p| p.id).collect::<Vec<_>>(),
        covering,
        "only the purchases covering this workflow"
    );
    assert_eq!(
        r.memberships.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![membership.id]
    );
    assert!(r.downloaded_before);

    let r = read(w.id, FileWanted::Primary, &buyer).await.unwrap();
    assert_eq!(r.file.as_ref().map(|x| x.id), Some(primary.id));
    assert_eq!(r.file_released_at, None, "1.0.0 was never announced");

    let r = read(w.id, FileWanted::Id(other_file.id), &stranger)
        .await
        .unwrap();
    assert_eq!(r.file, None, "another workflow's file is not this one's");
    assert!(r.purchases.is_empty() && r.memberships.is_empty());
    assert!(!r.downloaded_before);

    let r = read(bare.id, FileWanted::Primary, &buyer).await.unwrap();
    assert_eq!(r.file, None, "no primary file");
    assert!(r.purchases.is_empty());
    assert_eq!(r.memberships.len(), 1, "memberships are per user");

    let r = read(retired.id, FileWanted::None, &buyer).await.unwrap();
    assert!(r.downloaded_before && r.file.is_none());

    let r = read(w.id, FileWanted::Primary, &Actor::Anonymous)
        .await
        .unwrap();
    assert!(r.purchases.is_empty() && r.memberships.is_empty() && !r.downloaded_before);

    assert_eq!(read(missing, FileWanted::Primary, &buyer).await, None);
}

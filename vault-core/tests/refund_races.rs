//! A refund that loses a race against another refund.
//!
//! `Interleaved` wraps the in-memory store and, when armed, lets a competing
//! partial refund commit right after the service reads the purchase: the
//! interleaving two concurrent refund calls can hit, made deterministic.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use vault_core::MemoryStore;
use vault_core::account::email::Email;
use vault_core::account::profile::Account;
use vault_core::account::settings::UserSettings;
use vault_core::catalog::bundle::Bundle;
use vault_core::catalog::category::Category;
use vault_core::catalog::file::WorkflowFile;
use vault_core::catalog::page::{WorkflowAsset, WorkflowDoc};
use vault_core::catalog::query::{Page, WorkflowQuery};
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::workflow::Workflow;
use vault_core::commerce::membership::{Membership, MembershipStatus};
use vault_core::commerce::purchase::{PaymentRef, PaymentStatus, Purchase};
use vault_core::commerce::refund::{PaymentEvent, cascade};
use vault_core::community::comment::Comment;
use vault_core::community::comment_feed::CommentFeedQuery;
use vault_core::community::comment_query::{CommentCursor, CommentQuery};
use vault_core::community::favorite::Favorite;
use vault_core::community::rating::RatingDelta;
use vault_core::community::review::{ModerationStatus, Review, Vote};
use vault_core::community::review_query::{ReviewCursor, ReviewQuery};
use vault_core::delivery::download::Download;
use vault_core::insight::analytics::{AnalyticsDelta, DailyAnalytics, WorkflowStatsRow};
use vault_core::jobs::job::{Job, JobAttempt, JobId};
use vault_core::jobs::lease::{Command, Completion, Outcome};
use vault_core::settings::system::{Setting, SettingKey};
use vault_core::store::PageStore;
use vault_core::store::{
    AccountQuery, AccountStore, AuditEntry, AuditQuery, AuditRecord, AuditStore, Listing,
    SettingsStore,
};
use vault_core::store::{
    AnalyticsStore, CatalogStore, Charge, CommentStore, CommerceStore, CommunityStore,
    DeliveryStore, PurchaseWrite, Store, StoreResult,
};
use vault_core::store::{
    Claim, Finish, NewWebhookEvent, WebhookEvent, WebhookStatus, WebhookStore,
};
use vault_core::store::{ClaimRequest, Enqueued, JobQuery, JobStore};
use vault_core::testkit::{Fixture, run};
use vault_core::value::actor::{Actor, UserId};
use vault_core::value::ids::{
    AssetId, BundleId, CategoryId, CommentId, DocId, FileId, MembershipId, PurchaseId, ReviewId,
    WorkflowId,
};
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;

#[derive(Debug, Default)]
struct Interleaved {
    inner: MemoryStore,
    /// The next read of this purchase is followed by a competing refund of
    /// this much more.
    armed: Mutex<Option<(PurchaseId, Money)>>,
}

impl Interleaved {
    async fn competing_refund(&self, read: &Purchase, more: Money) {
        let already = read
            .refund
            .as_ref()
            .map_or(Money::zero(more.currency()), |r| r.refunded);
        let event = PaymentEvent::Refunded {
            refunded_total: already.checked_add(&more).unwrap(),
            reason: Some("the other refund".into()),
        };
        let fx = cascade(read, &event, &[], read.updated_at).unwrap();
        let mut next = read.clone();
        fx.apply_to(&mut next, read.updated_at);
        self.inner
            .settle_purchase(&PurchaseWrite {
                purchase: next,
                expected_status: read.status,
                expected_refunded: read.refund.as_ref().map(|r| r.refunded),
                expected_dispute: read.dispute_outcome,
                count_purchase: false,
                analytics: vec![],
                refunds: vec![],
                audit: None,
                outbox: vec![],
            })
            .await
            .unwrap();
    }
}

#[async_trait]
impl AccountStore for Interleaved {
    async fn insert_account(
        &self,
        a: &Account,
        outbox: &[vault_core::jobs::job::Job],
    ) -> StoreResult<()> {
        self.inner.insert_account(a, outbox).await
    }
    async fn update_account(
        &self,
        a: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.inner.update_account(a, expected_revision, audit).await
    }
    async fn account(&self, user: &UserId) -> StoreResult<Option<Account>> {
        self.inner.account(user).await
    }
    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<Account>> {
        self.inner.account_by_email(email).await
    }
    async fn list_accounts(&self, q: &AccountQuery) -> StoreResult<Listing<Account>> {
        self.inner.list_accounts(q).await
    }
    async fn user_settings(&self, user: &UserId) -> StoreResult<Option<UserSettings>> {
        self.inner.user_settings(user).await
    }
    async fn put_user_settings(&self, user: &UserId, s: &UserSettings) -> StoreResult<()> {
        self.inner.put_user_settings(user, s).await
    }
}

#[async_trait]
impl AuditStore for Interleaved {
    async fn audit_log(&self, q: &AuditQuery) -> StoreResult<Listing<AuditRecord>> {
        self.inner.audit_log(q).await
    }
}

#[async_trait]
impl SettingsStore for Interleaved {
    async fn settings(&self) -> StoreResult<Vec<Setting>> {
        self.inner.settings().await
    }
    async fn put_setting(&self, s: &Setting, a: &AuditEntry) -> StoreResult<()> {
        self.inner.put_setting(s, a).await
    }
    async fn remove_setting(&self, k: SettingKey, a: &AuditEntry) -> StoreResult<bool> {
        self.inner.remove_setting(k, a).await
    }
}

// The queue is not part of these races: straight through.
#[async_trait]
impl JobStore for Interleaved {
    async fn enqueue_job(&self, job: &Job) -> StoreResult<Enqueued> {
        self.inner.enqueue_job(job).await
    }
    async fn claim_jobs(&self, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
        self.inner.claim_jobs(req).await
    }
    async fn heartbeat_job(
        &self,
        id: JobId,
        fence: u64,
        now: chrono::DateTime<chrono::Utc>,
        lease: chrono::Duration,
    ) -> StoreResult<Job> {
        self.inner.heartbeat_job(id, fence, now, lease).await
    }
    async fn finish_job(
        &self,
        id: JobId,
        fence: u64,
        outcome: &Outcome,
        completion: &Completion,
    ) -> StoreResult<Job> {
        self.inner.finish_job(id, fence, outcome, completion).await
    }
    async fn command_job(
        &self,
        id: JobId,
        command: Command,
        now: chrono::DateTime<chrono::Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<Job> {
        self.inner.command_job(id, command, now, audit).await
    }
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.inner.job(id).await
    }
    async fn jobs(&self, query: &JobQuery) -> StoreResult<Listing<Job>> {
        self.inner.jobs(query).await
    }
    async fn job_attempts(&self, id: JobId) -> StoreResult<Vec<JobAttempt>> {
        self.inner.job_attempts(id).await
    }
    async fn purge_jobs(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
        self.inner.purge_jobs(before).await
    }
}

#[async_trait]
impl WebhookStore for Interleaved {
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: chrono::DateTime<chrono::Utc>,
        lease: chrono::Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        self.inner
            .claim_webhook_event(event, now, lease, max_attempts)
            .await
    }
    async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        self.inner.finish_webhook_event(id, finish, now).await
    }
    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>> {
        self.inner.webhook_event(id).await
    }
    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        self.inner.webhook_events(status, waiting_for, limit).await
    }
    async fn purge_webhook_events(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        self.inner.purge_webhook_events(before).await
    }

    async fn expire_parked_webhook_events(
        &self,
        parked_before: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        self.inner
            .expire_parked_webhook_events(parked_before, now)
            .await
    }
}

#[async_trait]
impl PageStore for Interleaved {
    async fn insert_asset(&self, x: &WorkflowAsset, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_asset(x, a).await
    }
    async fn update_asset(&self, x: &WorkflowAsset, r: u64, a: &AuditEntry) -> StoreResult<()> {
        self.inner.update_asset(x, r, a).await
    }
    async fn remove_asset(&self, id: AssetId, a: &AuditEntry) -> StoreResult<()> {
        self.inner.remove_asset(id, a).await
    }
    async fn asset(&self, id: AssetId) -> StoreResult<Option<WorkflowAsset>> {
        self.inner.asset(id).await
    }
    async fn assets(&self, w: WorkflowId) -> StoreResult<Vec<WorkflowAsset>> {
        self.inner.assets(w).await
    }
    async fn reorder_assets(
        &self,
        w: WorkflowId,
        o: &[AssetId],
        a: &AuditEntry,
    ) -> StoreResult<()> {
        self.inner.reorder_assets(w, o, a).await
    }
    async fn insert_doc(&self, x: &WorkflowDoc, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_doc(x, a).await
    }
    async fn update_doc(&self, x: &WorkflowDoc, r: u64, a: &AuditEntry) -> StoreResult<()> {
        self.inner.update_doc(x, r, a).await
    }
    async fn remove_doc(&self, id: DocId, a: &AuditEntry) -> StoreResult<()> {
        self.inner.remove_doc(id, a).await
    }
    async fn doc(&self, id: DocId) -> StoreResult<Option<WorkflowDoc>> {
        self.inner.doc(id).await
    }
    async fn docs(&self, w: WorkflowId) -> StoreResult<Vec<WorkflowDoc>> {
        self.inner.docs(w).await
    }
    async fn reorder_docs(&self, w: WorkflowId, o: &[DocId], a: &AuditEntry) -> StoreResult<()> {
        self.inner.reorder_docs(w, o, a).await
    }
}

#[async_trait]
impl CatalogStore for Interleaved {
    async fn insert_category(&self, c: &Category, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_category(c, a).await
    }
    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.inner.categories().await
    }
    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        self.inner.category(id).await
    }
    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        self.inner.category_by_slug(slug).await
    }
    async fn insert_workflow(&self, w: &Workflow, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_workflow(w, a).await
    }
    async fn update_workflow(
        &self,
        w: &Workflow,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        self.inner.update_workflow(w, expected_revision, a).await
    }
    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        self.inner.workflow(id).await
    }
    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        self.inner.workflow_by_slug(slug).await
    }
    async fn list_workflows(&self, q: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        self.inner.list_workflows(q).await
    }
    async fn insert_file(&self, f: &WorkflowFile, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_file(f, a).await
    }
    async fn update_file(&self, f: &WorkflowFile, r: u64, a: &AuditEntry) -> StoreResult<()> {
        self.inner.update_file(f, r, a).await
    }
    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        self.inner.file(id).await
    }
    async fn files(&self, w: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        self.inner.files(w).await
    }
    async fn insert_update(&self, u: &WorkflowUpdate, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_update(u, a).await
    }
    async fn updates(&self, w: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        self.inner.updates(w).await
    }
    async fn insert_bundle(&self, b: &Bundle, a: &AuditEntry) -> StoreResult<()> {
        self.inner.insert_bundle(b, a).await
    }
    async fn update_bundle(&self, b: &Bundle, r: u64, a: &AuditEntry) -> StoreResult<()> {
        self.inner.update_bundle(b, r, a).await
    }
    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        self.inner.bundle(id).await
    }
    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        self.inner.bundle_by_slug(slug).await
    }
    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        self.inner.bundles().await
    }
}

#[async_trait]
impl CommerceStore for Interleaved {
    async fn insert_purchase(&self, p: &Purchase) -> StoreResult<()> {
        self.inner.insert_purchase(p).await
    }
    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>> {
        let read = self.inner.purchase(id).await?;
        let armed = {
            let mut armed = self.armed.lock().unwrap();
            match *armed {
                Some((target, more)) if target == id => armed.take().map(|_| more),
                _ => None,
            }
        };
        if let (Some(more), Some(p)) = (armed, &read) {
            self.competing_refund(p, more).await;
        }
        Ok(read)
    }
    async fn purchase_by_payment_ref(&self, r: &PaymentRef) -> StoreResult<Option<Purchase>> {
        self.inner.purchase_by_payment_ref(r).await
    }
    async fn purchase_by_license_key(
        &self,
        k: &vault_core::commerce::license::LicenseKeyHash,
    ) -> StoreResult<Option<Purchase>> {
        self.inner.purchase_by_license_key(k).await
    }
    async fn purchases_for_user(&self, u: &UserId) -> StoreResult<Vec<Purchase>> {
        self.inner.purchases_for_user(u).await
    }
    async fn purchases_covering(&self, u: &UserId, w: WorkflowId) -> StoreResult<Vec<Purchase>> {
        self.inner.purchases_covering(u, w).await
    }
    async fn settle_purchase(&self, w: &PurchaseWrite) -> StoreResult<()> {
        self.inner.settle_purchase(w).await
    }
    async fn insert_membership(
        &self,
        m: &Membership,
        now: chrono::DateTime<chrono::Utc>,
        grace: chrono::Duration,
    ) -> StoreResult<()> {
        self.inner.insert_membership(m, now, grace).await
    }
    async fn update_membership(&self, m: &Membership, expected_revision: u64) -> StoreResult<()> {
        self.inner.update_membership(m, expected_revision).await
    }
    async fn membership(&self, id: MembershipId) -> StoreResult<Option<Membership>> {
        self.inner.membership(id).await
    }
    async fn membership_by_subscription(&self, s: &str) -> StoreResult<Option<Membership>> {
        self.inner.membership_by_subscription(s).await
    }
    async fn memberships_for_user(&self, u: &UserId) -> StoreResult<Vec<Membership>> {
        self.inner.memberships_for_user(u).await
    }
    async fn memberships_with_status(
        &self,
        s: &[MembershipStatus],
    ) -> StoreResult<Vec<Membership>> {
        self.inner.memberships_with_status(s).await
    }
}

#[async_trait]
impl CommunityStore for Interleaved {
    async fn insert_review(
        &self,
        r: &Review,
        d: &RatingDelta,
        a: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        self.inner.insert_review(r, d, a).await
    }
    async fn update_review(
        &self,
        r: &Review,
        expected_revision: u64,
        d: &RatingDelta,
        a: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.inner
            .update_review(r, expected_revision, d, a, audit)
            .await
    }
    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        d: &RatingDelta,
    ) -> StoreResult<()> {
        self.inner.delete_review(id, expected_revision, d).await
    }
    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>> {
        self.inner.review(id).await
    }
    async fn review_by_user(&self, w: WorkflowId, u: &UserId) -> StoreResult<Option<Review>> {
        self.inner.review_by_user(w, u).await
    }
    async fn reviews_for_workflow(
        &self,
        w: WorkflowId,
        s: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>> {
        self.inner.reviews_for_workflow(w, s).await
    }
    async fn list_reviews(&self, q: &ReviewQuery) -> StoreResult<Page<Review, ReviewCursor>> {
        self.inner.list_reviews(q).await
    }
    async fn set_vote(
        &self,
        r: ReviewId,
        u: &UserId,
        v: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        self.inner.set_vote(r, u, v).await
    }
    async fn insert_favorite(&self, f: &Favorite, a: &AnalyticsDelta) -> StoreResult<()> {
        self.inner.insert_favorite(f, a).await
    }
    async fn delete_favorite(&self, u: &UserId, w: WorkflowId) -> StoreResult<bool> {
        self.inner.delete_favorite(u, w).await
    }
    async fn update_favorite(&self, f: &Favorite) -> StoreResult<()> {
        self.inner.update_favorite(f).await
    }
    async fn favorites_for_user(
        &self,
        u: &UserId,
        t: Option<&vault_core::value::tag::Tag>,
    ) -> StoreResult<Vec<Favorite>> {
        self.inner.favorites_for_user(u, t).await
    }
}

#[async_trait]
impl CommentStore for Interleaved {
    async fn insert_comment(&self, c: &Comment) -> StoreResult<()> {
        self.inner.insert_comment(c).await
    }
    async fn update_comment(
        &self,
        c: &Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.inner.update_comment(c, expected_revision, audit).await
    }
    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        self.inner.comment(id).await
    }
    async fn list_comments(&self, q: &CommentQuery) -> StoreResult<Page<Comment, CommentCursor>> {
        self.inner.list_comments(q).await
    }
    async fn comment_feed(
        &self,
        q: &CommentFeedQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        self.inner.comment_feed(q).await
    }
    async fn set_comment_like(
        &self,
        c: CommentId,
        u: &UserId,
        liked: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool> {
        self.inner.set_comment_like(c, u, liked, now).await
    }
    async fn comment_likers(&self, c: CommentId) -> StoreResult<Vec<UserId>> {
        self.inner.comment_likers(c).await
    }
}

#[async_trait]
impl DeliveryStore for Interleaved {
    async fn record_download(
        &self,
        d: &Download,
        c: &Charge,
        a: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.inner.record_download(d, c, a).await
    }

    async fn downloads_for_user(&self, u: &UserId, limit: u32) -> StoreResult<Vec<Download>> {
        self.inner.downloads_for_user(u, limit).await
    }

    async fn downloads_for_workflow(
        &self,
        w: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>> {
        self.inner.downloads_for_workflow(w, limit).await
    }

    async fn has_downloaded(&self, u: &UserId, w: WorkflowId) -> StoreResult<bool> {
        self.inner.has_downloaded(u, w).await
    }
}

#[async_trait]
impl AnalyticsStore for Interleaved {
    async fn day_counts(
        &self,
        date: chrono::NaiveDate,
    ) -> StoreResult<vault_core::insight::rebuild::DayCounts> {
        self.inner.day_counts(date).await
    }
    async fn active_memberships_report(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<vault_core::insight::analytics::ActiveMembershipRow>> {
        self.inner.active_memberships_report(now).await
    }
    async fn record_analytics(&self, d: &AnalyticsDelta) -> StoreResult<()> {
        self.inner.record_analytics(d).await
    }
    async fn analytics(
        &self,
        w: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>> {
        self.inner.analytics(w, from, to).await
    }
    async fn workflow_stats(&self, w: Option<WorkflowId>) -> StoreResult<Vec<WorkflowStatsRow>> {
        self.inner.workflow_stats(w).await
    }
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// "Refund 10.00 more" read the purchase, then another 10.00 refund
/// committed: the call must end with 20.00 refunded, not absorb the other
/// refund as if it were its own.
#[test]
fn a_refund_that_loses_a_race_still_counts() {
    run(async {
        let store = Arc::new(Interleaved::default());
        let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
        let (w, _) = f
            .workflow("raced-refund", PricingTier::Pro, Some(5000))
            .await;
        let user = Fixture::user("refunded");
        let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
        *store.armed.lock().unwrap() = Some((p.id, usd(1000)));
        let (after, fx) = f
            .vault
            .refund_purchase(&Actor::Service, p.id, Some(usd(1000)), None)
            .await
            .unwrap();
        assert!(store.armed.lock().unwrap().is_none(), "the race happened");
        assert!(fx.changed);
        assert_eq!(after.refund.as_ref().map(|r| r.refunded), Some(usd(2000)));
        let stored = f.store.purchase(p.id).await.unwrap().unwrap();
        assert_eq!(stored, after);
        assert_eq!(stored.status, PaymentStatus::PartiallyRefunded);
    });
}

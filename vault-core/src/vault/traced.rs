//! A span around every store write the vault makes: `store.<method>`, the
//! ids the write names, and how it ended (`outcome`: `ok` or the store
//! error's kind); the subscriber times it. Written once here, so every
//! backend's writes show up the same way in an app's traces. Nothing else of
//! the written values reaches the span: no key, hash, email or payload.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tracing::Instrument;

use crate::account::profile::Account;
use crate::account::settings::UserSettings;
use crate::audit::entry::AuditEntry;
use crate::catalog::bundle::Bundle;
use crate::catalog::category::Category;
use crate::catalog::file::WorkflowFile;
use crate::catalog::page::{WorkflowAsset, WorkflowDoc};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::commerce::membership::Membership;
use crate::commerce::purchase::Purchase;
use crate::community::favorite::Favorite;
use crate::community::rating::RatingDelta;
use crate::community::review::{Review, Vote};
use crate::delivery::download::Download;
use crate::insight::analytics::AnalyticsDelta;
use crate::jobs::job::{Job, JobId};
use crate::jobs::lease::Command;
use crate::settings::system::{Setting, SettingKey};
use crate::store::{
    Charge, Claim, Enqueued, Finish, NewWebhookEvent, PurchaseWrite, Store, StoreError,
    StoreResult, WebhookStore,
};
use crate::value::actor::UserId;
use crate::value::ids::{AssetId, DocId, ReviewId, WorkflowId};

/// The span of one write: its name, the ids it names, an empty `outcome`.
macro_rules! write_span {
    ($name:literal $(, $($field:tt)+)?) => {
        tracing::info_span!($name, $($($field)+,)? outcome = tracing::field::Empty)
    };
}

/// How a write ended, as the span's `outcome`.
fn outcome(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound { .. } => "not_found",
        StoreError::AlreadyExists { .. } => "already_exists",
        StoreError::Conflict { .. } => "conflict",
        StoreError::LimitReached { .. } => "limit_reached",
        StoreError::Invalid(_) => "invalid",
        StoreError::Busy { .. } => "busy",
        StoreError::Corrupt { .. } => "corrupt",
        StoreError::Backend { .. } => "backend",
    }
}

async fn traced<T>(
    span: tracing::Span,
    write: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let out = write.instrument(span.clone()).await;
    span.record("outcome", out.as_ref().map_or_else(outcome, |_| "ok"));
    out
}

/// The writes of a store, each in its span. The vault makes every write
/// through one; an app that writes to a store itself (the webhook handler
/// does) can wrap it the same way with [`TracedWrites::new`].
#[derive(Debug)]
pub struct TracedWrites<S: ?Sized>(Arc<S>);

impl<S: ?Sized> Clone for TracedWrites<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

#[allow(missing_docs)] // Each is the store method of the same name, in a span.
impl<S: Store + ?Sized> TracedWrites<S> {
    /// The writes of `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self(store)
    }

    pub async fn enqueue_job(&self, j: &Job) -> StoreResult<Enqueued> {
        let span = write_span!("store.enqueue_job", id = %j.id, kind = %j.kind);
        traced(span, self.0.enqueue_job(j)).await
    }

    pub async fn command_job(
        &self,
        id: JobId,
        c: Command,
        now: DateTime<Utc>,
        a: &AuditEntry,
    ) -> StoreResult<Job> {
        let span = write_span!("store.command_job", id = %id, command = ?c, audit = %a.id);
        traced(span, self.0.command_job(id, c, now, a)).await
    }

    pub async fn purge_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let span = write_span!("store.purge_jobs", before = %before);
        traced(span, self.0.purge_jobs(before)).await
    }

    pub async fn insert_category(&self, c: &Category, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.insert_category", id = %c.id, audit = %a.id);
        traced(span, self.0.insert_category(c, a)).await
    }

    pub async fn insert_workflow(&self, w: &Workflow, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.insert_workflow", id = %w.id, audit = %a.id);
        traced(span, self.0.insert_workflow(w, a)).await
    }

    pub async fn update_workflow(
        &self,
        w: &Workflow,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span =
            write_span!("store.update_workflow", id = %w.id, expected_revision, audit = %a.id);
        traced(span, self.0.update_workflow(w, expected_revision, a)).await
    }

    pub async fn insert_file(&self, f: &WorkflowFile, a: &AuditEntry) -> StoreResult<()> {
        let span =
            write_span!("store.insert_file", id = %f.id, workflow = %f.workflow_id, audit = %a.id);
        traced(span, self.0.insert_file(f, a)).await
    }

    pub async fn update_file(
        &self,
        f: &WorkflowFile,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_file", id = %f.id, expected_revision, audit = %a.id);
        traced(span, self.0.update_file(f, expected_revision, a)).await
    }

    pub async fn insert_update(&self, u: &WorkflowUpdate, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.insert_update", id = %u.id, workflow = %u.workflow_id, audit = %a.id);
        traced(span, self.0.insert_update(u, a)).await
    }

    pub async fn insert_bundle(&self, b: &Bundle, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.insert_bundle", id = %b.id, audit = %a.id);
        traced(span, self.0.insert_bundle(b, a)).await
    }

    pub async fn update_bundle(
        &self,
        b: &Bundle,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_bundle", id = %b.id, expected_revision, audit = %a.id);
        traced(span, self.0.update_bundle(b, expected_revision, a)).await
    }

    pub async fn insert_asset(&self, x: &WorkflowAsset, a: &AuditEntry) -> StoreResult<()> {
        let span =
            write_span!("store.insert_asset", id = %x.id, workflow = %x.workflow_id, audit = %a.id);
        traced(span, self.0.insert_asset(x, a)).await
    }

    pub async fn update_asset(
        &self,
        x: &WorkflowAsset,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_asset", id = %x.id, expected_revision, audit = %a.id);
        traced(span, self.0.update_asset(x, expected_revision, a)).await
    }

    pub async fn remove_asset(&self, id: AssetId, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.remove_asset", id = %id, audit = %a.id);
        traced(span, self.0.remove_asset(id, a)).await
    }

    pub async fn reorder_assets(
        &self,
        workflow: WorkflowId,
        order: &[AssetId],
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.reorder_assets", workflow = %workflow, count = order.len(), audit = %a.id);
        traced(span, self.0.reorder_assets(workflow, order, a)).await
    }

    pub async fn insert_doc(&self, x: &WorkflowDoc, a: &AuditEntry) -> StoreResult<()> {
        let span =
            write_span!("store.insert_doc", id = %x.id, workflow = %x.workflow_id, audit = %a.id);
        traced(span, self.0.insert_doc(x, a)).await
    }

    pub async fn update_doc(
        &self,
        x: &WorkflowDoc,
        expected_revision: u64,
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_doc", id = %x.id, expected_revision, audit = %a.id);
        traced(span, self.0.update_doc(x, expected_revision, a)).await
    }

    pub async fn remove_doc(&self, id: DocId, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.remove_doc", id = %id, audit = %a.id);
        traced(span, self.0.remove_doc(id, a)).await
    }

    pub async fn reorder_docs(
        &self,
        workflow: WorkflowId,
        order: &[DocId],
        a: &AuditEntry,
    ) -> StoreResult<()> {
        let span = write_span!("store.reorder_docs", workflow = %workflow, count = order.len(), audit = %a.id);
        traced(span, self.0.reorder_docs(workflow, order, a)).await
    }

    pub async fn insert_account(
        &self,
        a: &Account,
        outbox: &[crate::jobs::job::Job],
    ) -> StoreResult<()> {
        let span = write_span!("store.insert_account", user = %a.user_id, jobs = outbox.len());
        traced(span, self.0.insert_account(a, outbox)).await
    }

    pub async fn update_account(
        &self,
        a: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_account", user = %a.user_id, expected_revision);
        traced(span, self.0.update_account(a, expected_revision, audit)).await
    }

    pub async fn put_user_settings(&self, user: &UserId, s: &UserSettings) -> StoreResult<()> {
        let span = write_span!("store.put_user_settings", user = %user);
        traced(span, self.0.put_user_settings(user, s)).await
    }

    // The key's name, never its value: a setting may be a secret.
    pub async fn put_setting(&self, s: &Setting, a: &AuditEntry) -> StoreResult<()> {
        let span = write_span!("store.put_setting", key = s.key().name(), audit = %a.id);
        traced(span, self.0.put_setting(s, a)).await
    }

    pub async fn remove_setting(&self, key: SettingKey, a: &AuditEntry) -> StoreResult<bool> {
        let span = write_span!("store.remove_setting", key = key.name(), audit = %a.id);
        traced(span, self.0.remove_setting(key, a)).await
    }

    pub async fn insert_purchase(&self, p: &Purchase) -> StoreResult<()> {
        let span = write_span!("store.insert_purchase", id = %p.id);
        traced(span, self.0.insert_purchase(p)).await
    }

    pub async fn settle_purchase(&self, w: &PurchaseWrite) -> StoreResult<()> {
        let span = write_span!("store.settle_purchase", id = %w.purchase.id);
        traced(span, self.0.settle_purchase(w)).await
    }

    pub async fn insert_membership(
        &self,
        m: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        let span = write_span!("store.insert_membership", id = %m.id);
        traced(span, self.0.insert_membership(m, now, grace)).await
    }

    pub async fn update_membership(
        &self,
        m: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_membership", id = %m.id, expected_revision);
        traced(span, self.0.update_membership(m, expected_revision)).await
    }

    pub async fn insert_review(
        &self,
        r: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        let span = write_span!("store.insert_review", id = %r.id, workflow = %r.workflow_id);
        traced(span, self.0.insert_review(r, delta, analytics)).await
    }

    pub async fn update_review(
        &self,
        r: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_review", id = %r.id, expected_revision);
        traced(
            span,
            self.0
                .update_review(r, expected_revision, delta, analytics, audit),
        )
        .await
    }

    pub async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        let span = write_span!("store.delete_review", id = %id, expected_revision);
        traced(span, self.0.delete_review(id, expected_revision, delta)).await
    }

    pub async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        let span = write_span!("store.set_vote", review = %review, user = %user);
        traced(span, self.0.set_vote(review, user, vote)).await
    }

    pub async fn insert_favorite(&self, f: &Favorite, a: &AnalyticsDelta) -> StoreResult<()> {
        let span =
            write_span!("store.insert_favorite", user = %f.user_id, workflow = %f.workflow_id);
        traced(span, self.0.insert_favorite(f, a)).await
    }

    pub async fn update_favorite(&self, f: &Favorite) -> StoreResult<()> {
        let span =
            write_span!("store.update_favorite", user = %f.user_id, workflow = %f.workflow_id);
        traced(span, self.0.update_favorite(f)).await
    }

    pub async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        let span = write_span!("store.delete_favorite", user = %user, workflow = %workflow);
        traced(span, self.0.delete_favorite(user, workflow)).await
    }

    pub async fn record_download(
        &self,
        d: &Download,
        charge: &Charge,
        a: &AnalyticsDelta,
    ) -> StoreResult<()> {
        let span = write_span!(
            "store.record_download",
            id = %d.id,
            workflow = %d.workflow_id,
            file = %d.file_id
        );
        traced(span, self.0.record_download(d, charge, a)).await
    }

    pub async fn record_analytics(&self, a: &AnalyticsDelta) -> StoreResult<()> {
        let span = write_span!("store.record_analytics", workflow = %a.workflow_id, date = %a.date);
        traced(span, self.0.record_analytics(a)).await
    }
}

#[allow(missing_docs)] // Each is the webhook store method of the same name, in a span.
impl<S: WebhookStore + ?Sized> TracedWrites<S> {
    /// The writes of a webhook store.
    pub fn webhooks(store: Arc<S>) -> Self {
        Self(store)
    }

    pub async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        let span = write_span!("store.claim_webhook_event", event = %event.id);
        traced(
            span,
            self.0.claim_webhook_event(event, now, lease, max_attempts),
        )
        .await
    }

    pub async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let span = write_span!("store.finish_webhook_event", event = %id);
        traced(span, self.0.finish_webhook_event(id, finish, now)).await
    }

    pub async fn purge_webhook_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let span = write_span!("store.purge_webhook_events");
        traced(span, self.0.purge_webhook_events(before)).await
    }

    pub async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let span = write_span!("store.expire_parked_webhook_events");
        traced(
            span,
            self.0.expire_parked_webhook_events(parked_before, now),
        )
        .await
    }
}

#[allow(missing_docs)] // Each is the comment store method of the same name, in a span.
impl<S: Store + ?Sized> TracedWrites<S> {
    pub async fn insert_comment(&self, c: &crate::community::comment::Comment) -> StoreResult<()> {
        let span = write_span!("store.insert_comment", id = %c.id, workflow = %c.workflow_id);
        traced(span, self.0.insert_comment(c)).await
    }

    pub async fn update_comment(
        &self,
        c: &crate::community::comment::Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let span = write_span!("store.update_comment", id = %c.id, expected_revision);
        traced(span, self.0.update_comment(c, expected_revision, audit)).await
    }

    pub async fn set_comment_like(
        &self,
        comment: crate::value::ids::CommentId,
        user: &UserId,
        liked: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let span = write_span!("store.set_comment_like", comment = %comment, user = %user, liked);
        traced(span, self.0.set_comment_like(comment, user, liked, now)).await
    }
}

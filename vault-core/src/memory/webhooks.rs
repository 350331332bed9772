//! Webhook events in memory.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::MemoryStore;
use crate::store::{
    Claim, Entity, Finish, NewWebhookEvent, StoreError, StoreResult, WebhookEvent, WebhookStatus,
    WebhookStore, claim_decision, claimed_record, finished_record,
};

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        let mut events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let existing = events.get(&event.id);
        let claim = claim_decision(existing, now, lease, max_attempts);
        if let Claim::Claimed { attempt } = claim {
            let record = claimed_record(event, existing, attempt, now);
            events.insert(event.id.clone(), record);
        }
        Ok(claim)
    }

    async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let e = events
            .remove(id)
            .ok_or_else(|| StoreError::not_found(Entity::WebhookEvent, id))?;
        events.insert(id.to_owned(), finished_record(e, finish, now));
        Ok(())
    }

    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>> {
        let events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        Ok(events.get(id).cloned())
    }

    async fn latest_applied(&self, object_id: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        Ok(events
            .values()
            .filter(|e| {
                e.status == WebhookStatus::Processed
                    && e.applied
                    && e.object_id.as_deref() == Some(object_id)
            })
            .map(|e| e.created)
            .max())
    }
}

//! Webhook events in memory.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::MemoryStore;
use crate::store::{
    Claim, Finish, NewWebhookEvent, WebhookEvent, WebhookStatus, WebhookStore, claim_decision,
    claimed_record, expired_record, finished_record,
};
use crate::value::error::{Entity, StoreError, StoreResult};

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

    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<&WebhookEvent> = events
            .values()
            .filter(|e| {
                e.status == status
                    && waiting_for.is_none_or(|w| e.waiting_for.as_deref() == Some(w))
            })
            .collect();
        found.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        Ok(found
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut events = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let due: Vec<String> = events
            .values()
            .filter(|e| {
                e.status == WebhookStatus::Parked
                    && e.parked_at.is_some_and(|at| at < parked_before)
            })
            .map(|e| e.id.clone())
            .collect();
        for id in &due {
            if let Some(e) = events.remove(id) {
                events.insert(id.clone(), expired_record(e, now));
            }
        }
        Ok(due.len() as u64)
    }
}

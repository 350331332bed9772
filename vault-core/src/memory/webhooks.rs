//! Webhook events in memory.
//!
//! Events sit in their own map under their own lock, with two indexes kept
//! by [`Events::put`], the one function that stores an event: by status,
//! in the order listings return (received, then id), and by what a parked
//! event waits for (the provider object the integration names).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::MemoryStore;
use crate::store::{
    Claim, Finish, NewWebhookEvent, WebhookEvent, WebhookStatus, WebhookStore, claim_decision,
    claimed_record, expired_record, finished_record,
};
use crate::value::error::{Entity, StoreError, StoreResult};

/// Every event by id, and the indexes over them.
#[derive(Default)]
pub(super) struct Events {
    events: BTreeMap<String, WebhookEvent>,
    index: EventIndex,
}

#[derive(Debug, Default, PartialEq)]
struct EventIndex {
    by_status: BTreeMap<WebhookStatus, BTreeSet<(DateTime<Utc>, String)>>,
    waiting: BTreeMap<String, BTreeSet<String>>,
}

impl EventIndex {
    fn build(events: &BTreeMap<String, WebhookEvent>) -> Self {
        let mut index = Self::default();
        events.values().for_each(|e| index.add(e));
        index
    }

    fn add(&mut self, e: &WebhookEvent) {
        self.by_status
            .entry(e.status)
            .or_default()
            .insert((e.received_at, e.id.clone()));
        if let Some(w) = &e.waiting_for {
            self.waiting
                .entry(w.clone())
                .or_default()
                .insert(e.id.clone());
        }
    }

    fn remove(&mut self, e: &WebhookEvent) {
        if let Some(set) = self.by_status.get_mut(&e.status) {
            set.remove(&(e.received_at, e.id.clone()));
            if set.is_empty() {
                self.by_status.remove(&e.status);
            }
        }
        if let Some(w) = &e.waiting_for
            && let Some(set) = self.waiting.get_mut(w)
        {
            set.remove(&e.id);
            if set.is_empty() {
                self.waiting.remove(w);
            }
        }
    }
}

impl Events {
    /// Stores `event`, replacing the one with its id.
    fn put(&mut self, event: WebhookEvent) {
        if let Some(old) = self.events.get(&event.id) {
            self.index.remove(old);
        }
        self.index.add(&event);
        self.events.insert(event.id.clone(), event);
        self.debug_check();
    }

    /// Panics (in debug builds, for up to `CHECKED_UP_TO` events) when an
    /// index differs from one built from the events.
    fn debug_check(&self) {
        if cfg!(debug_assertions) && self.events.len() <= super::index::CHECKED_UP_TO {
            assert!(
                self.index == EventIndex::build(&self.events),
                "memory store: a webhook index drifted from its events"
            );
        }
    }

    /// Events in `status` (waiting for `waiting_for`, when given), received
    /// first, then by id.
    fn listed(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
    ) -> Box<dyn Iterator<Item = &WebhookEvent> + '_> {
        match waiting_for {
            None => Box::new(
                self.index
                    .by_status
                    .get(&status)
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, id)| self.events.get(id)),
            ),
            Some(w) => {
                let mut found: Vec<&WebhookEvent> = self
                    .index
                    .waiting
                    .get(w)
                    .into_iter()
                    .flatten()
                    .filter_map(|id| self.events.get(id))
                    .filter(|e| e.status == status)
                    .collect();
                found.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
                Box::new(found.into_iter())
            }
        }
    }
}

impl MemoryStore {
    fn events(&self) -> std::sync::MutexGuard<'_, Events> {
        self.webhooks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        let mut events = self.events();
        let existing = events.events.get(&event.id);
        let claim = claim_decision(existing, now, lease, max_attempts);
        if let Claim::Claimed { attempt } = claim {
            let record = claimed_record(event, existing, attempt, now);
            events.put(record);
        }
        Ok(claim)
    }

    async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut events = self.events();
        let e = events
            .events
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::not_found(Entity::WebhookEvent, id))?;
        events.put(finished_record(e, finish, now));
        Ok(())
    }

    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>> {
        Ok(self.events().events.get(id).cloned())
    }

    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let events = self.events();
        Ok(events
            .listed(status, waiting_for)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn purge_webhook_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut events = self.events();
        let gone: Vec<WebhookEvent> = events
            .listed(WebhookStatus::Processed, None)
            .filter(|e| e.purgeable(before))
            .cloned()
            .collect();
        for e in &gone {
            events.index.remove(e);
            events.events.remove(&e.id);
        }
        let stale: Vec<WebhookEvent> = events
            .events
            .values()
            .filter(|e| e.payload_expired(before))
            .cloned()
            .collect();
        for mut e in stale {
            e.payload = None;
            events.put(e);
        }
        events.debug_check();
        Ok(gone.len() as u64)
    }

    async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut events = self.events();
        let due: Vec<WebhookEvent> = events
            .listed(WebhookStatus::Parked, None)
            .filter(|e| e.parked_at.is_some_and(|at| at < parked_before))
            .cloned()
            .collect();
        let expired = due.len() as u64;
        for e in due {
            events.put(expired_record(e, now));
        }
        Ok(expired)
    }
}

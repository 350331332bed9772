//! Webhook event records (`stripe_webhook_events`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use vault_core::store::{
    Claim, Entity, Finish, NewWebhookEvent, StoreError, StoreResult, WebhookEvent, WebhookStore,
    claim_decision, claimed_record, finished_record,
};

use crate::SqliteStore;
use crate::catalog::query_one;
use crate::codec::*;

const COLS: &str = "id, event_type, object_id, created, status, attempts, last_error, applied, \
    received_at, claimed_at, finished_at";

fn from_row(row: &Row<'_>) -> StoreResult<WebhookEvent> {
    Ok(WebhookEvent {
        id: get(row, "id")?,
        event_type: get(row, "event_type")?,
        object_id: get(row, "object_id")?,
        created: time(row, "created")?,
        status: parse(row, "status")?,
        attempts: u32_col(row, "attempts")?,
        last_error: get(row, "last_error")?,
        applied: bool_col(row, "applied")?,
        received_at: time(row, "received_at")?,
        claimed_at: time(row, "claimed_at")?,
        finished_at: opt_time(row, "finished_at")?,
    })
}

fn load(conn: &Connection, id: &str) -> StoreResult<Option<WebhookEvent>> {
    query_one(
        conn,
        &format!("SELECT {COLS} FROM stripe_webhook_events WHERE id = ?1"),
        [id],
        from_row,
    )
}

fn save(conn: &Connection, e: &WebhookEvent) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO stripe_webhook_events ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .map_err(db)?
    .execute(params![
        e.id,
        e.event_type,
        e.object_id,
        ts(&e.created),
        e.status.as_str(),
        e.attempts,
        e.last_error,
        e.applied,
        ts(&e.received_at),
        ts(&e.claimed_at),
        opt_ts(&e.finished_at),
    ])
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        let event = event.clone();
        // Read and write in one immediate transaction: racing claims queue on
        // the write lock, and only the first sees no record.
        self.write(move |tx| {
            let existing = load(tx, &event.id)?;
            let claim = claim_decision(existing.as_ref(), now, lease, max_attempts);
            if let Claim::Claimed { attempt } = claim {
                save(tx, &claimed_record(&event, existing.as_ref(), attempt, now))?;
            }
            Ok(claim)
        })
        .await
    }

    async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (id, finish) = (id.to_owned(), finish.clone());
        self.write(move |tx| {
            let e =
                load(tx, &id)?.ok_or_else(|| StoreError::not_found(Entity::WebhookEvent, &id))?;
            save(tx, &finished_record(e, &finish, now))
        })
        .await
    }

    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>> {
        let id = id.to_owned();
        self.read(move |c| load(c, &id)).await
    }

    async fn latest_applied(&self, object_id: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let object = object_id.to_owned();
        self.read(move |c| {
            let latest: Option<String> = c
                .prepare_cached(
                    "SELECT MAX(created) FROM stripe_webhook_events \
                     WHERE object_id = ?1 AND status = 'processed' AND applied = 1",
                )
                .map_err(db)?
                .query_row([object], |r| r.get(0))
                .map_err(db)?;
            latest.map(|s| parse_ts(&s)).transpose()
        })
        .await
    }
}

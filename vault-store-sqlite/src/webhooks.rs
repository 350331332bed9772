//! Webhook event records (`stripe_webhook_events`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use vault_core::store::{
    Claim, Entity, Finish, NewWebhookEvent, StoreError, StoreResult, WebhookEvent, WebhookStatus,
    WebhookStore, claim_decision, claimed_record, finished_record,
};

use crate::SqliteStore;
use crate::codec::*;
use crate::sql::{query_all, query_one};

macro_rules! cols {
    () => {
        "id, event_type, object_id, created, status, attempts, last_error, applied, \
         received_at, claimed_at, finished_at, waiting_for, parked_at, payload"
    };
}

fn from_row(row: &Row<'_>) -> StoreResult<WebhookEvent> {
    decode("stripe_webhook_events", || {
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
            waiting_for: get(row, "waiting_for")?,
            parked_at: opt_time(row, "parked_at")?,
            payload: get(row, "payload")?,
        })
    })
}

fn load(conn: &Connection, id: &str) -> StoreResult<Option<WebhookEvent>> {
    query_one(
        conn,
        concat!(
            "SELECT ",
            cols!(),
            " FROM stripe_webhook_events WHERE id = ?1"
        ),
        [id],
        from_row,
    )
}

fn save(conn: &Connection, e: &WebhookEvent) -> StoreResult<()> {
    conn.prepare_cached(concat!(
        "INSERT OR REPLACE INTO stripe_webhook_events (",
        cols!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
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
        e.waiting_for,
        opt_ts(&e.parked_at),
        e.payload,
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

    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let waiting_for = waiting_for.map(str::to_owned);
        self.read(move |c| match &waiting_for {
            // The status as a literal: the parked-by-key index is partial
            // (`WHERE status = 'parked'`), and the planner, which reads no
            // bound value (`prepare_once`), can only match a literal to it.
            Some(key) if status == WebhookStatus::Parked => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM stripe_webhook_events WHERE status = 'parked' AND waiting_for = ?1 \
                     ORDER BY received_at, id LIMIT ?2"
                ),
                params![key, limit],
                from_row,
            ),
            Some(key) => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM stripe_webhook_events WHERE status = ?1 AND waiting_for = ?2 \
                     ORDER BY received_at, id LIMIT ?3"
                ),
                params![status.as_str(), key, limit],
                from_row,
            ),
            None => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM stripe_webhook_events WHERE status = ?1 ORDER BY received_at, id LIMIT ?2"
                ),
                params![status.as_str(), limit],
                from_row,
            ),
        })
        .await
    }

    async fn purge_webhook_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| {
            // WebhookEvent::purgeable, as a statement.
            let n = tx
                .prepare_cached(
                    "DELETE FROM stripe_webhook_events \
                     WHERE status = 'processed' AND finished_at < ?1",
                )
                .map_err(db)?
                .execute(params![ts(&before)])
                .map_err(db)?;
            // WebhookEvent::payload_expired, as a statement.
            tx.prepare_cached(
                "UPDATE stripe_webhook_events SET payload = NULL \
                 WHERE status IN ('failed', 'expired') AND payload IS NOT NULL \
                 AND finished_at < ?1",
            )
            .map_err(db)?
            .execute(params![ts(&before)])
            .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }

    async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE stripe_webhook_events SET status = 'expired', finished_at = ?1 \
                     WHERE status = 'parked' AND parked_at < ?2",
                )
                .map_err(db)?
                .execute(params![ts(&now), ts(&parked_before)])
                .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }
}

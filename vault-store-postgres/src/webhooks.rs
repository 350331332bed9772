//! Webhook event records (`stripe_webhook_events`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, Row, postgres::PgRow};
use vault_core::store::{
    Claim, Entity, Finish, NewWebhookEvent, StoreError, StoreResult, WebhookEvent, WebhookStatus,
    WebhookStore, claim_decision, claimed_record, finished_record,
};

use crate::codec::{db, decode};
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

macro_rules! cols {
    () => {
        "id, event_type, object_id, created, status, attempts, last_error, applied, \
         received_at, claimed_at, finished_at, waiting_for, parked_at, payload"
    };
}

macro_rules! insert {
    ($conflict:literal) => {
        concat!(
            "INSERT INTO stripe_webhook_events (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) ",
            $conflict
        )
    };
}

const INSERT_ONLY: &str = insert!("DO NOTHING");
const UPSERT: &str = insert!(
    "DO UPDATE SET event_type = EXCLUDED.event_type, object_id = EXCLUDED.object_id, \
     created = EXCLUDED.created, status = EXCLUDED.status, attempts = EXCLUDED.attempts, \
     last_error = EXCLUDED.last_error, applied = EXCLUDED.applied, \
     received_at = EXCLUDED.received_at, claimed_at = EXCLUDED.claimed_at, \
     finished_at = EXCLUDED.finished_at, waiting_for = EXCLUDED.waiting_for, \
     parked_at = EXCLUDED.parked_at, payload = EXCLUDED.payload"
);

fn from_row(row: &PgRow) -> StoreResult<WebhookEvent> {
    decode("stripe_webhook_events", || {
        let status: String = row.try_get("status").map_err(db)?;
        let attempts: i32 = row.try_get("attempts").map_err(db)?;
        Ok(WebhookEvent {
            id: row.try_get("id").map_err(db)?,
            event_type: row.try_get("event_type").map_err(db)?,
            object_id: row.try_get("object_id").map_err(db)?,
            created: row.try_get("created").map_err(db)?,
            status: status.parse().map_err(db)?,
            attempts: u32::try_from(attempts).map_err(db)?,
            last_error: row.try_get("last_error").map_err(db)?,
            applied: row.try_get("applied").map_err(db)?,
            received_at: row.try_get("received_at").map_err(db)?,
            claimed_at: row.try_get("claimed_at").map_err(db)?,
            finished_at: row.try_get("finished_at").map_err(db)?,
            waiting_for: row.try_get("waiting_for").map_err(db)?,
            parked_at: row.try_get("parked_at").map_err(db)?,
            payload: row.try_get("payload").map_err(db)?,
        })
    })
}

async fn save(c: &mut PgConnection, e: &WebhookEvent, insert_only: bool) -> StoreResult<u64> {
    let sql: &'static str = if insert_only { INSERT_ONLY } else { UPSERT };
    let attempts = i32::try_from(e.attempts).map_err(db)?;
    Ok(sqlx::query(sql)
        .bind(&e.id)
        .bind(&e.event_type)
        .bind(&e.object_id)
        .bind(e.created)
        .bind(e.status.as_str())
        .bind(attempts)
        .bind(&e.last_error)
        .bind(e.applied)
        .bind(e.received_at)
        .bind(e.claimed_at)
        .bind(e.finished_at)
        .bind(&e.waiting_for)
        .bind(e.parked_at)
        .bind(&e.payload)
        .execute(&mut *c)
        .await
        .map_err(db)?
        .rows_affected())
}

async fn locked(c: &mut PgConnection, id: &str) -> StoreResult<Option<WebhookEvent>> {
    sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM stripe_webhook_events WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?
    .as_ref()
    .map(from_row)
    .transpose()
}

async fn claim(
    c: &mut PgConnection,
    event: &NewWebhookEvent,
    now: DateTime<Utc>,
    lease: Duration,
    max_attempts: u32,
) -> StoreResult<Claim> {
    // The first delivery inserts; a racing one waits on the conflict, then
    // finds the row and reads it locked.
    if save(c, &claimed_record(event, None, 1, now), true).await? == 1 {
        return Ok(Claim::Claimed { attempt: 1 });
    }
    let existing = locked(c, &event.id).await?;
    let claim = claim_decision(existing.as_ref(), now, lease, max_attempts);
    if let Claim::Claimed { attempt } = claim {
        save(
            c,
            &claimed_record(event, existing.as_ref(), attempt, now),
            false,
        )
        .await?;
    }
    Ok(claim)
}

async fn finish(c: &mut PgConnection, id: &str, f: &Finish, now: DateTime<Utc>) -> StoreResult<()> {
    let e = locked(c, id)
        .await?
        .ok_or_else(|| StoreError::not_found(Entity::WebhookEvent, id))?;
    save(c, &finished_record(e, f, now), false).await?;
    Ok(())
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim> {
        write_tx!(self, |c| claim(c, event, now, lease, max_attempts))
    }

    async fn finish_webhook_event(
        &self,
        id: &str,
        f: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        write_tx!(self, |c| finish(c, id, f, now))
    }

    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM stripe_webhook_events WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let rows = on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM stripe_webhook_events WHERE status = $1 \
              AND ($2::text IS NULL OR waiting_for = $2) ORDER BY received_at, id LIMIT $3"
        ))
        .bind(status.as_str())
        .bind(waiting_for)
        .bind(i64::from(limit))
        .fetch_all(c))
        .map_err(db)?;
        rows.iter().map(from_row).collect()
    }

    async fn purge_webhook_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        write_tx!(self, |c| async move {
            // WebhookEvent::purgeable, as a statement.
            let n = sqlx::query(
                "DELETE FROM stripe_webhook_events \
                 WHERE status = 'processed' AND finished_at < $1",
            )
            .bind(before)
            .execute(&mut *c)
            .await
            .map_err(db)?
            .rows_affected();
            // WebhookEvent::payload_expired, as a statement.
            sqlx::query(
                "UPDATE stripe_webhook_events SET payload = NULL \
                 WHERE status IN ('failed', 'expired') AND payload IS NOT NULL \
                 AND finished_at < $1",
            )
            .bind(before)
            .execute(&mut *c)
            .await
            .map_err(db)?;
            Ok(n)
        })
    }

    async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        write_tx!(self, |c| async move {
            Ok(sqlx::query(
                "UPDATE stripe_webhook_events SET status = 'expired', finished_at = $1 \
                 WHERE status = 'parked' AND parked_at < $2",
            )
            .bind(now)
            .bind(parked_before)
            .execute(&mut *c)
            .await
            .map_err(db)?
            .rows_affected())
        })
    }
}

//! Memberships: their column list, row decoder, binds and guarded writes.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use vault_core::commerce::license::Quota;
use vault_core::commerce::membership::{Membership, Period, claim_slot};
use vault_core::store::{Entity, StoreError, StoreResult};

use crate::catalog::PgQuery;
use crate::codec::*;

use super::{memberships_for_user, provider, user};

macro_rules! membership_cols {
    () => {
        "id, user_id, tier, status, trial_ends_at, current_period_start, current_period_end, \
         period_download_limit, cancel_at_period_end, past_due_since, canceled_at, ended_at, \
         features, enrolled_at, stripe_customer_id, stripe_subscription_id, stripe_price_id, \
         created_at, updated_at, revision, provider_sync, grace_ends_at, period_downloads_used"
    };
}
pub(crate) use membership_cols;

pub(crate) fn membership_from_row(row: &impl Cols) -> StoreResult<Membership> {
    decode("memberships", || {
        let period = Period::new(
            get(row, "current_period_start")?,
            get(row, "current_period_end")?,
        )
        .map_err(|_| {
            corrupt(
                "current_period_start, current_period_end",
                "an empty period",
            )
        })?;
        Ok(Membership {
            id: id(row, "id")?,
            user_id: user(row, "user_id")?,
            tier: parse(row, "tier")?,
            status: parse(row, "status")?,
            trial_ends_at: get(row, "trial_ends_at")?,
            period,
            quota: Quota {
                used: u32_col(row, "period_downloads_used")?,
                limit: opt_u32_col(row, "period_download_limit")?,
            },
            cancel_at_period_end: get(row, "cancel_at_period_end")?,
            past_due_since: get(row, "past_due_since")?,
            grace_ends_at: get(row, "grace_ends_at")?,
            canceled_at: get(row, "canceled_at")?,
            ended_at: get(row, "ended_at")?,
            features: json_col(row, "features")?,
            enrolled_at: get(row, "enrolled_at")?,
            provider: provider(row, false)?,
            provider_sync: get::<Option<serde_json::Value>>(row, "provider_sync")?
                .map(|v| Deserialize::deserialize(&v).map_err(|_| corrupt("provider_sync", &v)))
                .transpose()?
                .unwrap_or_default(),
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// Binds $1..$22 of the membership writes: every column but
/// `period_downloads_used`, which downloads own.
fn bind_membership<'q>(q: PgQuery<'q>, m: &Membership) -> StoreResult<PgQuery<'q>> {
    Ok(q.bind(m.id.as_uuid())
        .bind(m.user_id.as_str().to_owned())
        .bind(m.tier.as_str())
        .bind(m.status.as_str())
        .bind(m.trial_ends_at)
        .bind(m.period.start)
        .bind(m.period.end)
        .bind(m.quota.limit.map(i64::from))
        .bind(m.cancel_at_period_end)
        .bind(m.past_due_since)
        .bind(m.canceled_at)
        .bind(m.ended_at)
        .bind(json(&m.features)?)
        .bind(m.enrolled_at)
        .bind(m.provider.customer_id.clone())
        .bind(m.provider.subscription_id.clone())
        .bind(m.provider.price_id.clone())
        .bind(m.created_at)
        .bind(m.updated_at)
        .bind(i64_of(m.revision)?)
        .bind(if m.provider_sync.is_empty() {
            None
        } else {
            Some(json(&m.provider_sync)?)
        })
        .bind(m.grace_ends_at))
}

macro_rules! membership_set {
    () => {
        "UPDATE memberships SET user_id = $2, tier = $3, status = $4, trial_ends_at = $5, \
         current_period_start = $6, current_period_end = $7, period_download_limit = $8, \
         cancel_at_period_end = $9, past_due_since = $10, canceled_at = $11, ended_at = $12, \
         features = $13, enrolled_at = $14, stripe_customer_id = $15, \
         stripe_subscription_id = $16, stripe_price_id = $17, created_at = $18, \
         updated_at = $19, revision = $20, provider_sync = $21, grace_ends_at = $22"
    };
}

pub(super) async fn insert_membership(
    c: &mut PgConnection,
    m: &Membership,
    now: DateTime<Utc>,
    grace: Duration,
) -> StoreResult<()> {
    // One user's starts take turns: a user with no membership row has
    // nothing to lock FOR UPDATE, so the lock is on the user id itself,
    // held to the end of the transaction.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('vault.membership:' || $1, 0))")
        .bind(m.user_id.as_str())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM memberships WHERE id = $1 OR stripe_subscription_id = $2",
    )
    .bind(m.id.as_uuid())
    .bind(m.provider.subscription_id.as_deref())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Membership, m.id));
    }
    let mine = memberships_for_user(&mut *c, &m.user_id).await?;
    let slot = claim_slot(&mine, m, now, grace);
    for lapsed in &slot.lapsed {
        bind_membership(
            sqlx::query(concat!(membership_set!(), " WHERE id = $1")),
            lapsed,
        )?
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    if let Some(holder) = slot.held_by {
        return Err(StoreError::exists(
            Entity::Membership,
            format!("{} holds {holder}", m.user_id),
        ));
    }
    bind_membership(
        sqlx::query(concat!(
            "INSERT INTO memberships (",
            membership_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23)"
        )),
        m,
    )?
    .bind(i64::from(m.quota.used))
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Membership, m.id))?;
    Ok(())
}

pub(super) async fn update_membership(
    c: &mut PgConnection,
    m: &Membership,
    expected: u64,
) -> StoreResult<()> {
    // The period comparison happens in SQL, at the stored (microsecond)
    // precision of both sides.
    let row = sqlx::query(
        "SELECT revision, current_period_start = $2 AS same_period FROM memberships \
         WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(m.id.as_uuid())
    .bind(m.period.start)
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?
    .ok_or_else(|| StoreError::not_found(Entity::Membership, m.id))?;
    if get::<i64>(&row, "revision")? != i64_of(expected)? {
        return Err(StoreError::conflict(
            Entity::Membership,
            m.id,
            "the membership changed since it was read",
        ));
    }
    // Downloads own the quota; only a new period resets it (as written).
    let q = if get::<bool>(&row, "same_period")? {
        bind_membership(sqlx::query(concat!(membership_set!(), " WHERE id = $1")), m)?
    } else {
        bind_membership(
            sqlx::query(concat!(
                membership_set!(),
                ", period_downloads_used = $23 WHERE id = $1"
            )),
            m,
        )?
        .bind(i64::from(m.quota.used))
    };
    q.execute(&mut *c).await.map_err(db)?;
    Ok(())
}

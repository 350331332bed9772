//! Memberships: their columns and decoder, and the guarded insert that
//! claims the user's one membership slot.

use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use vault_core::commerce::license::Quota;
use vault_core::commerce::membership::{Membership, Period, claim_slot};
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::actor::UserId;

use crate::Tx;
use crate::codec::*;
use crate::sql::{Id, exists, query_all};

use super::{provider, update_by_id, user};

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! membership_cols {
    () => {
        "id, user_id, tier, status, trial_ends_at, current_period_start, \
    current_period_end, period_download_limit, period_downloads_used, cancel_at_period_end, \
    past_due_since, grace_ends_at, canceled_at, ended_at, features, enrolled_at, stripe_customer_id, \
    stripe_subscription_id, stripe_price_id, provider_sync, created_at, updated_at, revision"
    };
}
pub(crate) use membership_cols;
pub(super) const MEMBERSHIP_COLS: &str = membership_cols!();

pub(crate) fn membership_from_row(row: &Row<'_>) -> StoreResult<Membership> {
    membership_at(row, 0)
}

/// A membership of a statement that selects `membership_cols!()` from
/// position `base`.
pub(crate) fn membership_at(row: &Row<'_>, base: usize) -> StoreResult<Membership> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(membership_cols!(), $name)
        };
    }
    decode("memberships", || {
        let period = Period::new(
            time(row, c!("current_period_start"))?,
            time(row, c!("current_period_end"))?,
        )
        .map_err(|_| {
            corrupt(
                "current_period_start, current_period_end",
                "an empty period",
            )
        })?;
        Ok(Membership {
            id: parse(row, c!("id"))?,
            user_id: user(row, c!("user_id"))?,
            tier: parse(row, c!("tier"))?,
            status: parse(row, c!("status"))?,
            trial_ends_at: opt_time(row, c!("trial_ends_at"))?,
            period,
            quota: Quota {
                used: u32_col(row, c!("period_downloads_used"))?,
                limit: opt_u32_col(row, c!("period_download_limit"))?,
            },
            cancel_at_period_end: bool_col(row, c!("cancel_at_period_end"))?,
            past_due_since: opt_time(row, c!("past_due_since"))?,
            grace_ends_at: opt_time(row, c!("grace_ends_at"))?,
            canceled_at: opt_time(row, c!("canceled_at"))?,
            ended_at: opt_time(row, c!("ended_at"))?,
            features: json_col(row, c!("features"))?,
            enrolled_at: time(row, c!("enrolled_at"))?,
            provider: provider(
                row,
                c!("stripe_customer_id"),
                None::<(usize, usize)>,
                c!("stripe_subscription_id"),
                c!("stripe_price_id"),
            )?,
            provider_sync: get::<Option<String>>(row, c!("provider_sync"))?
                .map(|s| from_json(&s))
                .transpose()?
                .unwrap_or_default(),
            created_at: time(row, c!("created_at"))?,
            updated_at: time(row, c!("updated_at"))?,
            revision: u64_col(row, c!("revision"))?,
        })
    })
}

pub(super) fn membership_values(m: &Membership) -> StoreResult<Vec<Value>> {
    let text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    Ok(vec![
        Value::Text(m.id.to_string()),
        Value::Text(m.user_id.to_string()),
        Value::Text(m.tier.as_str().into()),
        Value::Text(m.status.as_str().into()),
        text(opt_ts(&m.trial_ends_at)),
        Value::Text(ts(&m.period.start)),
        Value::Text(ts(&m.period.end)),
        m.quota
            .limit
            .map_or(Value::Null, |l| Value::Integer(i64::from(l))),
        Value::Integer(i64::from(m.cancel_at_period_end)),
        text(opt_ts(&m.past_due_since)),
        text(opt_ts(&m.grace_ends_at)),
        text(opt_ts(&m.canceled_at)),
        text(opt_ts(&m.ended_at)),
        Value::Text(json(&m.features)?),
        Value::Text(ts(&m.enrolled_at)),
        text(m.provider.customer_id.clone()),
        text(m.provider.subscription_id.clone()),
        text(m.provider.price_id.clone()),
        if m.provider_sync.is_empty() {
            Value::Null
        } else {
            Value::Text(json(&m.provider_sync)?)
        },
        Value::Text(ts(&m.created_at)),
        Value::Text(ts(&m.updated_at)),
        Value::Integer(i64_of(m.revision)?),
    ])
}

pub(super) const MEMBERSHIP_WRITE_COLS: [&str; 22] = [
    "id",
    "user_id",
    "tier",
    "status",
    "trial_ends_at",
    "current_period_start",
    "current_period_end",
    "period_download_limit",
    "cancel_at_period_end",
    "past_due_since",
    "grace_ends_at",
    "canceled_at",
    "ended_at",
    "features",
    "enrolled_at",
    "stripe_customer_id",
    "stripe_subscription_id",
    "stripe_price_id",
    "provider_sync",
    "created_at",
    "updated_at",
    "revision",
];

pub(super) fn insert_membership(
    tx: &Tx<'_>,
    m: &Membership,
    now: DateTime<Utc>,
    grace: Duration,
) -> StoreResult<()> {
    if exists(tx, "SELECT 1 FROM memberships WHERE id = ?1", [Id(&m.id)])? {
        return Err(StoreError::exists(Entity::Membership, m.id));
    }
    if let Some(sub) = &m.provider.subscription_id
        && exists(
            tx,
            "SELECT 1 FROM memberships WHERE stripe_subscription_id = ?1",
            [sub],
        )?
    {
        return Err(StoreError::exists(Entity::Membership, sub));
    }
    let mine = memberships_for_user(tx, &m.user_id)?;
    let slot = claim_slot(&mine, m, now, grace);
    // Downloads own the quota's `used`: it is not among the columns written.
    for lapsed in &slot.lapsed {
        update_by_id(
            tx,
            "memberships",
            &MEMBERSHIP_WRITE_COLS,
            membership_values(lapsed)?,
        )?;
    }
    if let Some(holder) = slot.held_by {
        return Err(StoreError::exists(
            Entity::Membership,
            format!("{} holds {holder}", m.user_id),
        ));
    }
    let mut cols = MEMBERSHIP_WRITE_COLS.to_vec();
    let mut vals = membership_values(m)?;
    cols.push("period_downloads_used");
    vals.push(Value::Integer(i64::from(m.quota.used)));
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    tx.prepare_cached(&format!(
        "INSERT INTO memberships ({}) VALUES ({})",
        cols.join(", "),
        marks.join(", ")
    ))
    .map_err(db)?
    .execute(params_from_iter(vals))
    .map_err(db)?;
    tx.step("insert_membership:after_row")
}

/// A user's memberships, newest first.
pub(crate) fn memberships_for_user(c: &Connection, user: &UserId) -> StoreResult<Vec<Membership>> {
    query_all(
        c,
        concat!(
            "SELECT ",
            membership_cols!(),
            " FROM memberships WHERE user_id = ?1 ORDER BY created_at DESC, id"
        ),
        [Id(user)],
        membership_from_row,
    )
}

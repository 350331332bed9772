//! Purchases and memberships, with their guarded writes.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use vault_core::commerce::license::{LicenseKey, LicenseKeyHash, Quota};
use vault_core::commerce::membership::{Membership, MembershipStatus, Period, claim_slot};
use vault_core::commerce::purchase::{
    PaymentRef, ProviderRefs, Purchase, PurchaseItem, PurchaseTerms, RefundState,
};
use vault_core::store::{
    CommerceStore, Entity, PaymentState, PurchaseWrite, StoreError, StoreResult,
};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{MembershipId, PurchaseId, WorkflowId};

use crate::catalog::require_workflow;
use crate::codec::*;
use crate::insight::daily::apply_delta;
use crate::sql::{Id, exists, query_all, query_one};
use crate::{SqliteStore, Tx};

// --------------------------------------------------------------- purchases

/// Migration 0018's step: each license key stored before it becomes its
/// digest, as vault-core computes it from the parsed key (a stored key was
/// canonical, so a buyer's key still finds its purchase). `secure_delete`
/// overwrites the replaced text in the file instead of leaving it in free
/// space; the WAL holds only the new pages, and the checkpoint that follows
/// the migration moves them into the file.
pub(crate) fn hash_stored_license_keys(tx: &Connection) -> StoreResult<()> {
    let secure: i64 = tx
        .pragma_query_value(None, "secure_delete", |r| r.get(0))
        .map_err(db)?;
    tx.pragma_update(None, "secure_delete", true).map_err(db)?;
    let keys: Vec<(String, String)> = query_all(
        tx,
        "SELECT id, license_key_hash FROM workflow_purchases",
        [],
        |row| Ok((get(row, "id")?, get(row, "license_key_hash")?)),
    )?;
    // The old key is not named in the error: it is the secret being hidden.
    let mut update = tx
        .prepare("UPDATE workflow_purchases SET license_key_hash = ?2 WHERE id = ?1")
        .map_err(db)?;
    for (id, key) in keys {
        let key = decode("workflow_purchases", || {
            LicenseKey::parse(&key).map_err(|_| corrupt("license_key", "not a license key"))
        })?;
        update
            .execute(params![id, key.hash().as_str()])
            .map_err(db)?;
    }
    tx.pragma_update(None, "secure_delete", secure)
        .map_err(db)?;
    Ok(())
}

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! purchase_cols {
    () => {
        concat!(
            $crate::commerce::purchase_head_cols!(),
            ", license_type, license_key_hash, download_limit, downloads_used, license_expires_at, \
    update_months, updates_until, payment_status, currency, amount_minor, tax_minor, total_minor, \
    refunded_minor, refund_reason, refunded_at, payment_ref, stripe_customer_id, \
    stripe_checkout_session_id, stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, \
    created_at, completed_at, disputed_at, dispute_outcome, updated_at"
        )
    };
}

/// The columns both a purchase and its terms begin with: who bought what.
macro_rules! purchase_head_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows"
    };
}
pub(crate) use purchase_head_cols;

/// The columns of a [`PurchaseTerms`]: what the access rule weighs.
macro_rules! purchase_terms_cols {
    () => {
        concat!(
            $crate::commerce::purchase_head_cols!(),
            ", payment_status, download_limit, downloads_used, license_expires_at, updates_until, \
    completed_at, disputed_at, refunded_minor, refunded_at"
        )
    };
}
pub(crate) use purchase_terms_cols;

fn user(row: &Row<'_>, col: impl Col) -> StoreResult<UserId> {
    parse_with(row, col, UserId::parse)
}

/// The provider's references; a purchase's row also holds its checkout
/// session and payment intent (`checkout`), a membership's does not.
fn provider<C: Col>(
    row: &Row<'_>,
    customer: C,
    checkout: Option<(C, C)>,
    subscription: C,
    price: C,
) -> StoreResult<ProviderRefs> {
    let (session, intent) = match checkout {
        Some((session, intent)) => (get(row, session)?, get(row, intent)?),
        None => (None, None),
    };
    Ok(ProviderRefs {
        customer_id: get(row, customer)?,
        checkout_session_id: session,
        payment_intent_id: intent,
        subscription_id: get(row, subscription)?,
        price_id: get(row, price)?,
    })
}

fn purchase_from_row(row: &Row<'_>) -> StoreResult<Purchase> {
    purchase_at(row, 0)
}

/// The id, buyer and item of a statement that selects
/// `purchase_head_cols!()` from position `base`.
fn head_at(row: &Row<'_>, base: usize) -> StoreResult<(PurchaseId, UserId, PurchaseItem)> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(purchase_head_cols!(), $name)
        };
    }
    let kind: String = get(row, c!("purchase_type"))?;
    let item = match kind.as_str() {
        "one_time" => PurchaseItem::Workflow {
            workflow_id: parse(row, c!("workflow_id"))?,
        },
        "bundle" => PurchaseItem::Bundle {
            bundle_id: parse(row, c!("bundle_id"))?,
            members: json_col(row, c!("item_workflows"))?,
        },
        "membership_included" => PurchaseItem::MembershipIncluded {
            workflow_id: parse(row, c!("workflow_id"))?,
            membership_id: parse(row, c!("membership_id"))?,
        },
        other => return Err(corrupt("purchase_type", other)),
    };
    Ok((parse(row, c!("id"))?, user(row, c!("user_id"))?, item))
}

/// A purchase of a statement that selects `purchase_cols!()` from
/// position `base`.
fn purchase_at(row: &Row<'_>, base: usize) -> StoreResult<Purchase> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(purchase_cols!(), $name)
        };
    }
    decode("workflow_purchases", || {
        let (id, user_id, item) = head_at(row, base)?;
        let currency: String = get(row, c!("currency"))?;
        let refund = match get::<Option<i64>>(row, c!("refunded_minor"))? {
            Some(minor) => Some(RefundState {
                refunded: money(minor, &currency)?,
                reason: get(row, c!("refund_reason"))?,
                refunded_at: time(row, c!("refunded_at"))?,
            }),
            None => None,
        };
        Ok(Purchase {
            id,
            user_id,
            item,
            license_type: parse(row, c!("license_type"))?,
            license_key_hash: parse_with(row, c!("license_key_hash"), LicenseKeyHash::parse)?,
            quota: Quota {
                used: u32_col(row, c!("downloads_used"))?,
                limit: opt_u32_col(row, c!("download_limit"))?,
            },
            license_expires_at: opt_time(row, c!("license_expires_at"))?,
            update_months: opt_u32_col(row, c!("update_months"))?,
            updates_until: opt_time(row, c!("updates_until"))?,
            status: parse(row, c!("payment_status"))?,
            amount: money(get(row, c!("amount_minor"))?, &currency)?,
            tax: money(get(row, c!("tax_minor"))?, &currency)?,
            total: money(get(row, c!("total_minor"))?, &currency)?,
            refund,
            payment_ref: parse_opt_with(row, c!("payment_ref"), PaymentRef::parse)?,
            provider: provider(
                row,
                c!("stripe_customer_id"),
                Some((
                    c!("stripe_checkout_session_id"),
                    c!("stripe_payment_intent_id"),
                )),
                c!("stripe_subscription_id"),
                c!("stripe_price_id"),
            )?,
            created_at: time(row, c!("created_at"))?,
            completed_at: opt_time(row, c!("completed_at"))?,
            disputed_at: opt_time(row, c!("disputed_at"))?,
            dispute_outcome: parse_opt(row, c!("dispute_outcome"))?,
            updated_at: time(row, c!("updated_at"))?,
        })
    })
}

/// A purchase's terms, of a statement that selects `purchase_terms_cols!()`
/// from position `base`: what [`purchase_at`] would decode, then
/// [`Purchase::terms`], without reading the rest.
pub(crate) fn purchase_terms_at(row: &Row<'_>, base: usize) -> StoreResult<PurchaseTerms> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(purchase_terms_cols!(), $name)
        };
    }
    decode("workflow_purchases", || {
        let (id, user_id, item) = head_at(row, base)?;
        // A refund's instant counts only with its amount, as in a `Purchase`.
        let refunded_at = match get::<Option<i64>>(row, c!("refunded_minor"))? {
            Some(_) => Some(time(row, c!("refunded_at"))?),
            None => None,
        };
        Ok(PurchaseTerms {
            id,
            user_id,
            item,
            status: parse(row, c!("payment_status"))?,
            quota: Quota {
                used: u32_col(row, c!("downloads_used"))?,
                limit: opt_u32_col(row, c!("download_limit"))?,
            },
            license_expires_at: opt_time(row, c!("license_expires_at"))?,
            updates_until: opt_time(row, c!("updates_until"))?,
            completed_at: opt_time(row, c!("completed_at"))?,
            disputed_at: opt_time(row, c!("disputed_at"))?,
            refunded_at,
        })
    })
}

fn load_purchase(conn: &Connection, id: PurchaseId) -> StoreResult<Option<Purchase>> {
    query_one(
        conn,
        concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases WHERE id = ?1"
        ),
        [Id(&id)],
        purchase_from_row,
    )
}

/// Every mutable column of a purchase except `downloads_used`, which
/// downloads own. Order matches `PURCHASE_SET`.
fn purchase_values(p: &Purchase) -> StoreResult<Vec<Value>> {
    let (amount, currency) = money_parts(&p.amount)?;
    let (tax, _) = money_parts(&p.tax)?;
    let (total, _) = money_parts(&p.total)?;
    let (workflow, bundle, membership) = match &p.item {
        PurchaseItem::Workflow { workflow_id } => (Some(workflow_id.to_string()), None, None),
        PurchaseItem::Bundle { bundle_id, .. } => (None, Some(bundle_id.to_string()), None),
        PurchaseItem::MembershipIncluded {
            workflow_id,
            membership_id,
        } => (
            Some(workflow_id.to_string()),
            None,
            Some(membership_id.to_string()),
        ),
    };
    let text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    let int = |v: Option<u32>| v.map_or(Value::Null, |v| Value::Integer(i64::from(v)));
    let refunded = match &p.refund {
        Some(r) => Value::Integer(money_parts(&r.refunded)?.0),
        None => Value::Null,
    };
    Ok(vec![
        Value::Text(p.id.to_string()),
        Value::Text(p.user_id.to_string()),
        Value::Text(p.purchase_type().as_str().into()),
        text(workflow),
        text(bundle),
        text(membership),
        Value::Text(json(&p.item.workflows())?),
        Value::Text(p.license_type.as_str().into()),
        Value::Text(p.license_key_hash.as_str().into()),
        int(p.quota.limit),
        text(opt_ts(&p.license_expires_at)),
        int(p.update_months),
        text(opt_ts(&p.updates_until)),
        Value::Text(p.status.as_str().into()),
        Value::Text(currency),
        Value::Integer(amount),
        Value::Integer(tax),
        Value::Integer(total),
        refunded,
        text(p.refund.as_ref().and_then(|r| r.reason.clone())),
        text(p.refund.as_ref().map(|r| ts(&r.refunded_at))),
        text(p.payment_ref.as_ref().map(|r| r.as_str().to_owned())),
        text(p.provider.customer_id.clone()),
        text(p.provider.checkout_session_id.clone()),
        text(p.provider.payment_intent_id.clone()),
        text(p.provider.subscription_id.clone()),
        text(p.provider.price_id.clone()),
        Value::Text(ts(&p.created_at)),
        text(opt_ts(&p.completed_at)),
        text(opt_ts(&p.disputed_at)),
        text(p.dispute_outcome.map(|o| o.as_str().to_owned())),
        Value::Text(ts(&p.updated_at)),
    ])
}

const PURCHASE_WRITE_COLS: [&str; 32] = [
    "id",
    "user_id",
    "purchase_type",
    "workflow_id",
    "bundle_id",
    "membership_id",
    "item_workflows",
    "license_type",
    "license_key_hash",
    "download_limit",
    "license_expires_at",
    "update_months",
    "updates_until",
    "payment_status",
    "currency",
    "amount_minor",
    "tax_minor",
    "total_minor",
    "refunded_minor",
    "refund_reason",
    "refunded_at",
    "payment_ref",
    "stripe_customer_id",
    "stripe_checkout_session_id",
    "stripe_payment_intent_id",
    "stripe_subscription_id",
    "stripe_price_id",
    "created_at",
    "completed_at",
    "disputed_at",
    "dispute_outcome",
    "updated_at",
];

fn check_purchase_refs(tx: &Tx<'_>, p: &Purchase) -> StoreResult<()> {
    match &p.item {
        PurchaseItem::Workflow { workflow_id } => require_workflow(tx, *workflow_id)?,
        PurchaseItem::Bundle { bundle_id, members } => {
            if !exists(
                tx,
                "SELECT 1 FROM workflow_bundles WHERE id = ?1",
                [Id(&bundle_id)],
            )? {
                return Err(StoreError::not_found(Entity::Bundle, bundle_id));
            }
            for m in members {
                require_workflow(tx, *m)?;
            }
        }
        PurchaseItem::MembershipIncluded {
            workflow_id,
            membership_id,
        } => {
            require_workflow(tx, *workflow_id)?;
            if !exists(
                tx,
                "SELECT 1 FROM memberships WHERE id = ?1",
                [Id(&membership_id)],
            )? {
                return Err(StoreError::not_found(Entity::Membership, membership_id));
            }
        }
    }
    Ok(())
}

fn payment_ref_taken(tx: &Tx<'_>, p: &Purchase) -> StoreResult<bool> {
    match &p.payment_ref {
        Some(r) => exists(
            tx,
            "SELECT 1 FROM workflow_purchases WHERE payment_ref = ?1 AND id <> ?2",
            params![r.as_str(), Id(&p.id)],
        ),
        None => Ok(false),
    }
}

fn insert_purchase(tx: &Tx<'_>, p: &Purchase) -> StoreResult<()> {
    if exists(
        tx,
        "SELECT 1 FROM workflow_purchases WHERE id = ?1",
        [Id(&p.id)],
    )? {
        return Err(StoreError::exists(Entity::Purchase, p.id));
    }
    if payment_ref_taken(tx, p)? {
        return Err(StoreError::exists(
            Entity::Purchase,
            p.payment_ref.as_ref().map_or("", |r| r.as_str()),
        ));
    }
    if exists(
        tx,
        "SELECT 1 FROM workflow_purchases WHERE license_key_hash = ?1",
        [p.license_key_hash.as_str()],
    )? {
        return Err(StoreError::exists(Entity::Purchase, "license key"));
    }
    check_purchase_refs(tx, p)?;
    let mut cols: Vec<&str> = PURCHASE_WRITE_COLS.to_vec();
    let mut vals = purchase_values(p)?;
    cols.push("downloads_used");
    vals.push(Value::Integer(i64::from(p.quota.used)));
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    tx.prepare_cached(&format!(
        "INSERT INTO workflow_purchases ({}) VALUES ({})",
        cols.join(", "),
        marks.join(", ")
    ))
    .map_err(db)?
    .execute(params_from_iter(vals))
    .map_err(db)?;
    tx.step("insert_purchase:after_row")?;
    for (i, w) in p.item.workflows().iter().enumerate() {
        tx.prepare_cached("INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![Id(&p.id), w.to_string(), i as i64])
            .map_err(db)?;
        tx.step("insert_purchase:after_item")?;
    }
    Ok(())
}

fn settle_purchase(tx: &Tx<'_>, w: &PurchaseWrite) -> StoreResult<()> {
    let p = &w.purchase;
    let held: Option<(String, Option<i64>, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT payment_status, refunded_minor, currency, dispute_outcome \
             FROM workflow_purchases WHERE id = ?1",
        )
        .map_err(db)?
        .query_row([Id(&p.id)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(db)?;
    let held = held
        .map(|(status, refunded, currency, dispute)| {
            decode("workflow_purchases", || {
                Ok(PaymentState {
                    status: parse_text("payment_status", &status)?,
                    refunded: refunded.map(|minor| money(minor, &currency)).transpose()?,
                    dispute: dispute
                        .map(|d| parse_text("dispute_outcome", &d))
                        .transpose()?,
                })
            })
        })
        .transpose()?;
    // vault-core's guard: the payment state the write was computed from.
    w.verdict(held)?;
    if payment_ref_taken(tx, p)? {
        return Err(StoreError::exists(
            Entity::Purchase,
            p.payment_ref.as_ref().map_or("", |r| r.as_str()),
        ));
    }
    check_purchase_refs(tx, p)?;
    update_by_id(
        tx,
        "workflow_purchases",
        &PURCHASE_WRITE_COLS,
        purchase_values(p)?,
    )?;
    tx.step("settle_purchase:after_row")?;
    if w.count_purchase {
        for wf in p.item.workflows() {
            tx.prepare_cached(
                "UPDATE workflows SET purchase_count = purchase_count + 1 WHERE id = ?1",
            )
            .map_err(db)?
            .execute([wf.to_string()])
            .map_err(db)?;
        }
        if let PurchaseItem::Bundle { bundle_id, .. } = &p.item {
            tx.prepare_cached(
                "UPDATE workflow_bundles SET purchase_count = purchase_count + 1 WHERE id = ?1",
            )
            .map_err(db)?
            .execute([Id(&bundle_id)])
            .map_err(db)?;
        }
    }
    tx.step("settle_purchase:after_counters")?;
    for d in &w.analytics {
        apply_delta(tx, d)?;
    }
    for line in &w.refunds {
        let (minor, currency) = money_parts(&line.amount)?;
        tx.prepare_cached(
            "INSERT INTO purchase_refunds (purchase_id, workflow_id, amount_minor, currency, refunded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?
        .execute(params![
            Id(&line.purchase_id),
            Id(&line.workflow_id),
            minor,
            currency,
            ts(&line.refunded_at)
        ])
        .map_err(db)?;
    }
    // The outbox: its jobs commit with the purchase or not at all.
    for job in &w.outbox {
        crate::jobs::enqueue(tx, job)?;
    }
    tx.step("settle_purchase:after_outbox")
}

// ------------------------------------------------------------- memberships

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
const MEMBERSHIP_COLS: &str = membership_cols!();

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

fn membership_values(m: &Membership) -> StoreResult<Vec<Value>> {
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

const MEMBERSHIP_WRITE_COLS: [&str; 22] = [
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

/// `UPDATE table SET cols[1..] = vals[1..] WHERE id = vals[0]`: the first
/// column is the id, and `cols` and `vals` pair up one to one.
fn update_by_id(tx: &Tx<'_>, table: &str, cols: &[&str], vals: Vec<Value>) -> StoreResult<()> {
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    tx.prepare_cached(&format!(
        "UPDATE {table} SET {} WHERE id = ?1",
        sets.join(", ")
    ))
    .map_err(db)?
    .execute(params_from_iter(vals))
    .map_err(db)?;
    Ok(())
}

fn insert_membership(
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

#[async_trait]
impl CommerceStore for SqliteStore {
    async fn insert_purchase(&self, p: &Purchase) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |tx| insert_purchase(tx, &p)).await
    }

    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>> {
        self.read(move |c| load_purchase(c, id)).await
    }

    async fn purchase_by_license_key(&self, key: &LicenseKeyHash) -> StoreResult<Option<Purchase>> {
        let k = key.as_str().to_owned();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    purchase_cols!(),
                    " FROM workflow_purchases WHERE license_key_hash = ?1"
                ),
                [k],
                purchase_from_row,
            )
        })
        .await
    }

    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>> {
        let r = payment.as_str().to_owned();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    purchase_cols!(),
                    " FROM workflow_purchases WHERE payment_ref = ?1"
                ),
                [r],
                purchase_from_row,
            )
        })
        .await
    }

    async fn purchases_for_user(&self, user: &UserId) -> StoreResult<Vec<Purchase>> {
        let u = user.to_string();
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    purchase_cols!(),
                    " FROM workflow_purchases WHERE user_id = ?1 ORDER BY created_at DESC, id"
                ),
                [u],
                purchase_from_row,
            )
        })
        .await
    }

    async fn purchases_covering(
        &self,
        user: &UserId,
        workflow: WorkflowId,
    ) -> StoreResult<Vec<Purchase>> {
        let u = user.clone();
        self.read(move |c| purchases_covering(c, &u, workflow))
            .await
    }

    async fn settle_purchase(&self, write: &PurchaseWrite) -> StoreResult<()> {
        let w = write.clone();
        self.write(move |tx| {
            settle_purchase(tx, &w)?;
            crate::account::append_opt(tx, w.audit.as_ref())
        })
        .await
    }

    async fn insert_membership(
        &self,
        m: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        let m = m.clone();
        // The rule is read and applied inside one immediate transaction:
        // concurrent starts for one user, from any process, take turns.
        self.write(move |tx| insert_membership(tx, &m, now, grace))
            .await
    }

    async fn update_membership(&self, m: &Membership, expected_revision: u64) -> StoreResult<()> {
        let m = m.clone();
        self.write(move |tx| {
            let row: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT revision, current_period_start FROM memberships WHERE id = ?1",
                )
                .map_err(db)?
                .query_row([Id(&m.id)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db)?;
            let Some((revision, start)) = row else {
                return Err(StoreError::not_found(Entity::Membership, m.id));
            };
            if revision != i64_of(expected_revision)? {
                return Err(StoreError::conflict(
                    Entity::Membership,
                    m.id,
                    "the membership changed since it was read",
                ));
            }
            let mut cols = MEMBERSHIP_WRITE_COLS.to_vec();
            let mut vals = membership_values(&m)?;
            // Downloads own the quota; only a new period resets it.
            if start != ts(&m.period.start) {
                cols.push("period_downloads_used");
                vals.push(Value::Integer(i64::from(m.quota.used)));
            }
            update_by_id(tx, "memberships", &cols, vals)?;
            tx.step("update_membership:after_row")?;
            Ok(())
        })
        .await
    }

    async fn membership(&self, id: MembershipId) -> StoreResult<Option<Membership>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    " FROM memberships WHERE id = ?1"
                ),
                [Id(&id)],
                membership_from_row,
            )
        })
        .await
    }

    async fn membership_by_subscription(
        &self,
        subscription_id: &str,
    ) -> StoreResult<Option<Membership>> {
        // An id no membership can carry matches none, on every backend.
        if ProviderRefs::check_id("subscription_id", subscription_id).is_err() {
            return Ok(None);
        }
        let s = subscription_id.to_owned();
        self.read(move |c| {
            query_one(
                c,
                concat!("SELECT ", membership_cols!(), " FROM memberships WHERE stripe_subscription_id = ?1 ORDER BY created_at DESC, id LIMIT 1"),
                [s],
                membership_from_row,
            )
        })
        .await
    }

    async fn memberships_for_user(&self, user: &UserId) -> StoreResult<Vec<Membership>> {
        let u = user.clone();
        self.read(move |c| memberships_for_user(c, &u)).await
    }

    async fn memberships_with_status(
        &self,
        statuses: &[MembershipStatus],
    ) -> StoreResult<Vec<Membership>> {
        let statuses: Vec<Value> = statuses
            .iter()
            .map(|s| Value::Text(s.as_str().into()))
            .collect();
        self.read(move |c| {
            if statuses.is_empty() {
                return Ok(vec![]);
            }
            let marks: Vec<String> = (1..=statuses.len()).map(|i| format!("?{i}")).collect();
            query_all(
                c,
                &format!(
                    "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE status IN ({}) ORDER BY id",
                    marks.join(", ")
                ),
                params_from_iter(statuses),
                membership_from_row,
            )
        })
        .await
    }
}

/// The condition on a purchase `p` of user `$user` that it covers workflow
/// `$workflow` (SQL parameters, e.g. `"?1"`), directly or through a bundle.
macro_rules! covering {
    ($user:literal, $workflow:literal) => {
        concat!(
            "p.user_id = ",
            $user,
            " AND CASE WHEN p.purchase_type = 'bundle' \
             THEN EXISTS (SELECT 1 FROM workflow_purchase_items i \
                          WHERE i.purchase_id = p.id AND i.workflow_id = ",
            $workflow,
            ") ELSE p.workflow_id = ",
            $workflow,
            " END"
        )
    };
}
pub(crate) use covering;

/// A user's purchases covering a workflow (directly or through a bundle),
/// newest first. The user's index is walked in its order: `id IN (SELECT
/// ...)` built the workflow's whole purchaser list in a temporary table on
/// every call (work that grows with the workflow's sales, not the user's
/// purchases). The index holds each purchase's type and workflow
/// (migration 0017): a purchase of one workflow covers the one its row
/// names ([`PurchaseItem::covers`]), so only a bundle probes the items.
pub(crate) fn purchases_covering(
    c: &Connection,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<Vec<Purchase>> {
    query_all(
        c,
        concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases p WHERE ",
            covering!("?1", "?2"),
            " ORDER BY created_at DESC, id"
        ),
        params![Id(user), Id(&workflow)],
        purchase_from_row,
    )
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

//! Purchases: their columns and decoders (a whole purchase, or the terms
//! the access rule weighs), the covering condition, and their guarded writes.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use vault_core::commerce::license::{LicenseKey, LicenseKeyHash, Quota};
use vault_core::commerce::purchase::{
    PaymentRef, Purchase, PurchaseItem, PurchaseTerms, RefundState,
};
use vault_core::store::{Entity, PaymentState, PurchaseWrite, StoreError, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{PurchaseId, WorkflowId};

use crate::Tx;
use crate::catalog::require_workflow;
use crate::codec::*;
use crate::insight::daily::apply_delta;
use crate::sql::{Id, exists, query_all, query_one};

use super::{provider, update_by_id, user};

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
pub(super) use purchase_cols;

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

pub(super) fn purchase_from_row(row: &Row<'_>) -> StoreResult<Purchase> {
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

pub(super) fn load_purchase(conn: &Connection, id: PurchaseId) -> StoreResult<Option<Purchase>> {
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

pub(super) const PURCHASE_WRITE_COLS: [&str; 32] = [
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

pub(super) fn insert_purchase(tx: &Tx<'_>, p: &Purchase) -> StoreResult<()> {
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

pub(super) fn settle_purchase(tx: &Tx<'_>, w: &PurchaseWrite) -> StoreResult<()> {
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

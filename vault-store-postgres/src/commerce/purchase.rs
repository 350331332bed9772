//! Purchases: their column lists, row decoders, binds and guarded writes.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;
use vault_core::commerce::license::{LicenseKeyHash, Quota};
use vault_core::commerce::purchase::{
    PaymentRef, Purchase, PurchaseItem, PurchaseTerms, RefundState,
};
use vault_core::store::{Entity, PaymentState, PurchaseWrite, StoreError, StoreResult};
use vault_core::value::ids::WorkflowId;
use vault_core::value::validation::Reason;

use crate::PgStore;
use crate::catalog::{PgQuery, require_workflow};
use crate::codec::*;
use crate::insight::daily::apply_deltas;

use super::{provider, user};

/// The columns a purchase is written with ($1..$32 of [`bind_purchase`]).
macro_rules! purchase_write_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows, \
         license_type, license_key_hash, download_limit, license_expires_at, update_months, \
         updates_until, payment_status, currency, amount, tax, total, refunded_amount, \
         refund_reason, refunded_at, payment_ref, stripe_customer_id, stripe_checkout_session_id, \
         stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, created_at, \
         completed_at, disputed_at, updated_at, dispute_outcome"
    };
}
pub(crate) use purchase_write_cols;

/// The columns a purchase is read with, from `workflow_purchases`
/// unaliased: its used downloads are a row of their own (migration 0014),
/// read by key.
macro_rules! purchase_cols {
    () => {
        concat!(
            $crate::commerce::purchase_write_cols!(),
            ", (SELECT c.downloads_used FROM workflow_purchase_download_counts c \
             WHERE c.purchase_id = workflow_purchases.id) AS downloads_used"
        )
    };
}
pub(super) use purchase_cols;

/// The columns of a [`PurchaseTerms`] (what the access rule weighs), from
/// `workflow_purchases` unaliased.
macro_rules! purchase_terms_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows, \
         payment_status, download_limit, license_expires_at, updates_until, completed_at, \
         disputed_at, refunded_amount, refunded_at, \
         (SELECT c.downloads_used FROM workflow_purchase_download_counts c \
         WHERE c.purchase_id = workflow_purchases.id) AS downloads_used"
    };
}
pub(crate) use purchase_terms_cols;

/// What a purchase's row says was bought.
fn item(row: &impl Cols) -> StoreResult<PurchaseItem> {
    let kind: String = get(row, "purchase_type")?;
    Ok(match kind.as_str() {
        "one_time" => PurchaseItem::Workflow {
            workflow_id: id(row, "workflow_id")?,
        },
        "bundle" => PurchaseItem::Bundle {
            bundle_id: id(row, "bundle_id")?,
            members: get::<Vec<Uuid>>(row, "item_workflows")?
                .into_iter()
                .map(WorkflowId::from_uuid)
                .collect(),
        },
        "membership_included" => PurchaseItem::MembershipIncluded {
            workflow_id: id(row, "workflow_id")?,
            membership_id: id(row, "membership_id")?,
        },
        other => return Err(corrupt("purchase_type", other)),
    })
}

/// A purchase's terms, of a row with `purchase_terms_cols!()`: what
/// [`purchase_from_row`] would decode, then [`Purchase::terms`].
pub(crate) fn purchase_terms_from_row(row: &impl Cols) -> StoreResult<PurchaseTerms> {
    decode("workflow_purchases", || {
        let item = item(row)?;
        // A refund's instant counts only with its amount, as in a `Purchase`.
        let refunded_at = match get::<Option<Decimal>>(row, "refunded_amount")? {
            Some(_) => Some(get(row, "refunded_at")?),
            None => None,
        };
        Ok(PurchaseTerms {
            id: id(row, "id")?,
            user_id: user(row, "user_id")?,
            item,
            status: parse(row, "payment_status")?,
            quota: Quota {
                used: u32_col(row, "downloads_used")?,
                limit: opt_u32_col(row, "download_limit")?,
            },
            license_expires_at: get(row, "license_expires_at")?,
            updates_until: get(row, "updates_until")?,
            completed_at: get(row, "completed_at")?,
            disputed_at: get(row, "disputed_at")?,
            refunded_at,
        })
    })
}

pub(super) fn purchase_from_row(row: &impl Cols) -> StoreResult<Purchase> {
    decode("workflow_purchases", || {
        let currency: String = get(row, "currency")?;
        let item = item(row)?;
        let refund = match get::<Option<Decimal>>(row, "refunded_amount")? {
            Some(amount) => Some(RefundState {
                refunded: money(amount, &currency)?,
                reason: get(row, "refund_reason")?,
                refunded_at: get(row, "refunded_at")?,
            }),
            None => None,
        };
        Ok(Purchase {
            id: id(row, "id")?,
            user_id: user(row, "user_id")?,
            item,
            license_type: parse(row, "license_type")?,
            license_key_hash: parse_with(row, "license_key_hash", LicenseKeyHash::parse)?,
            quota: Quota {
                used: u32_col(row, "downloads_used")?,
                limit: opt_u32_col(row, "download_limit")?,
            },
            license_expires_at: get(row, "license_expires_at")?,
            update_months: opt_u32_col(row, "update_months")?,
            updates_until: get(row, "updates_until")?,
            status: parse(row, "payment_status")?,
            amount: money(get(row, "amount")?, &currency)?,
            tax: money(get(row, "tax")?, &currency)?,
            total: money(get(row, "total")?, &currency)?,
            refund,
            payment_ref: parse_opt_with(row, "payment_ref", PaymentRef::parse)?,
            provider: provider(row, true)?,
            created_at: get(row, "created_at")?,
            completed_at: get(row, "completed_at")?,
            disputed_at: get(row, "disputed_at")?,
            dispute_outcome: parse_opt(row, "dispute_outcome")?,
            updated_at: get(row, "updated_at")?,
        })
    })
}

/// Binds $1..$32 of the purchase writes: every column but `downloads_used`,
/// which downloads own.
fn bind_purchase<'q>(q: PgQuery<'q>, p: &Purchase) -> StoreResult<PgQuery<'q>> {
    let currency = p.amount.currency();
    if p.tax.currency() != currency
        || p.total.currency() != currency
        || p.refund
            .as_ref()
            .is_some_and(|r| r.refunded.currency() != currency)
    {
        return Err(unfit(
            "currency",
            Reason::Inconsistent {
                detail: "a purchase's amounts must share a currency".into(),
            },
        ));
    }
    let (workflow, bundle, membership) = match &p.item {
        PurchaseItem::Workflow { workflow_id } => (Some(workflow_id.as_uuid()), None, None),
        PurchaseItem::Bundle { bundle_id, .. } => (None, Some(bundle_id.as_uuid()), None),
        PurchaseItem::MembershipIncluded {
            workflow_id,
            membership_id,
        } => (
            Some(workflow_id.as_uuid()),
            None,
            Some(membership_id.as_uuid()),
        ),
    };
    let items: Vec<Uuid> = p.item.workflows().iter().map(|w| w.as_uuid()).collect();
    let pr = &p.provider;
    Ok(q.bind(p.id.as_uuid())
        .bind(p.user_id.as_str().to_owned())
        .bind(p.purchase_type().as_str())
        .bind(workflow)
        .bind(bundle)
        .bind(membership)
        .bind(items)
        .bind(p.license_type.as_str())
        .bind(p.license_key_hash.as_str().to_owned())
        .bind(p.quota.limit.map(i64::from))
        .bind(p.license_expires_at)
        .bind(p.update_months.map(i64::from))
        .bind(p.updates_until)
        .bind(p.status.as_str())
        .bind(currency.code().to_owned())
        .bind(p.amount.amount())
        .bind(p.tax.amount())
        .bind(p.total.amount())
        .bind(p.refund.as_ref().map(|r| r.refunded.amount()))
        .bind(p.refund.as_ref().and_then(|r| r.reason.clone()))
        .bind(p.refund.as_ref().map(|r| r.refunded_at))
        .bind(p.payment_ref.as_ref().map(|r| r.as_str().to_owned()))
        .bind(pr.customer_id.clone())
        .bind(pr.checkout_session_id.clone())
        .bind(pr.payment_intent_id.clone())
        .bind(pr.subscription_id.clone())
        .bind(pr.price_id.clone())
        .bind(p.created_at)
        .bind(p.completed_at)
        .bind(p.disputed_at)
        .bind(p.updated_at)
        .bind(p.dispute_outcome.map(|o| o.as_str())))
}

async fn check_purchase_refs(c: &mut PgConnection, p: &Purchase) -> StoreResult<()> {
    match &p.item {
        PurchaseItem::Workflow { workflow_id } => require_workflow(c, *workflow_id).await?,
        PurchaseItem::Bundle { bundle_id, members } => {
            let found: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE id = $1")
                    .bind(bundle_id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(db)?;
            if found.is_none() {
                return Err(StoreError::not_found(Entity::Bundle, bundle_id));
            }
            for m in members {
                require_workflow(c, *m).await?;
            }
        }
        PurchaseItem::MembershipIncluded {
            workflow_id,
            membership_id,
        } => {
            require_workflow(c, *workflow_id).await?;
            let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM memberships WHERE id = $1")
                .bind(membership_id.as_uuid())
                .fetch_optional(&mut *c)
                .await
                .map_err(db)?;
            if found.is_none() {
                return Err(StoreError::not_found(Entity::Membership, membership_id));
            }
        }
    }
    Ok(())
}

fn payment_key(p: &Purchase) -> String {
    p.payment_ref
        .as_ref()
        .map_or_else(|| p.id.to_string(), |r| r.as_str().to_owned())
}

async fn payment_ref_taken(c: &mut PgConnection, p: &Purchase) -> StoreResult<bool> {
    let Some(r) = &p.payment_ref else {
        return Ok(false);
    };
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_purchases WHERE payment_ref = $1 AND id <> $2")
            .bind(r.as_str())
            .bind(p.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    Ok(found.is_some())
}

async fn write_purchase_items(c: &mut PgConnection, p: &Purchase) -> StoreResult<()> {
    sqlx::query("DELETE FROM workflow_purchase_items WHERE purchase_id = $1")
        .bind(p.id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    for (i, w) in p.item.workflows().iter().enumerate() {
        sqlx::query(
            "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(p.id.as_uuid())
        .bind(w.as_uuid())
        .bind(i32::try_from(i).map_err(|_| unfit("items", past_i64()))?)
        .execute(&mut *c)
        .await
        .map_err(unique_or_parent(
            Entity::Purchase,
            p.id,
            Entity::Workflow,
            w,
        ))?;
    }
    Ok(())
}

pub(super) async fn insert_purchase(
    s: &PgStore,
    c: &mut PgConnection,
    p: &Purchase,
) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_purchases WHERE id = $1")
        .bind(p.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Purchase, p.id));
    }
    if payment_ref_taken(c, p).await? {
        return Err(StoreError::exists(Entity::Purchase, payment_key(p)));
    }
    let key_taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_purchases WHERE license_key_hash = $1")
            .bind(p.license_key_hash.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if key_taken.is_some() {
        return Err(StoreError::exists(Entity::Purchase, "license key"));
    }
    check_purchase_refs(c, p).await?;
    bind_purchase(
        sqlx::query(concat!(
            "INSERT INTO workflow_purchases (",
            purchase_write_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)"
        )),
        p,
    )?
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Purchase, payment_key(p)))?;
    // The insert's trigger gave the purchase its count row, at zero.
    if p.quota.used > 0 {
        sqlx::query(
            "UPDATE workflow_purchase_download_counts SET downloads_used = $2 \
             WHERE purchase_id = $1",
        )
        .bind(p.id.as_uuid())
        .bind(i64::from(p.quota.used))
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    s.step(c, "insert_purchase:after_row").await?;
    write_purchase_items(c, p).await
}

pub(super) async fn settle_purchase(
    s: &PgStore,
    c: &mut PgConnection,
    w: &PurchaseWrite,
) -> StoreResult<()> {
    let p = &w.purchase;
    // The row lock makes concurrent settlements of one purchase take turns;
    // each sees the status the previous one committed.
    let held: Option<(String, Option<Decimal>, String, Option<String>)> = sqlx::query_as(
        "SELECT payment_status, refunded_amount, currency, dispute_outcome \
         FROM workflow_purchases WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(p.id.as_uuid())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    let held = held
        .map(|(status, refunded, currency, dispute)| {
            decode("workflow_purchases", || {
                Ok(PaymentState {
                    status: parse_text("payment_status", &status)?,
                    refunded: refunded.map(|a| money(a, &currency)).transpose()?,
                    dispute: dispute
                        .map(|d| parse_text("dispute_outcome", &d))
                        .transpose()?,
                })
            })
        })
        .transpose()?;
    // vault-core's guard: the payment state the write was computed from.
    w.verdict(held)?;
    if payment_ref_taken(c, p).await? {
        return Err(StoreError::exists(Entity::Purchase, payment_key(p)));
    }
    check_purchase_refs(c, p).await?;
    bind_purchase(
        sqlx::query(
            "UPDATE workflow_purchases SET user_id = $2, purchase_type = $3, workflow_id = $4, \
             bundle_id = $5, membership_id = $6, item_workflows = $7, license_type = $8, \
             license_key_hash = $9, download_limit = $10, license_expires_at = $11, \
             update_months = $12, updates_until = $13, payment_status = $14, currency = $15, \
             amount = $16, tax = $17, total = $18, refunded_amount = $19, refund_reason = $20, \
             refunded_at = $21, payment_ref = $22, stripe_customer_id = $23, \
             stripe_checkout_session_id = $24, stripe_payment_intent_id = $25, \
             stripe_subscription_id = $26, stripe_price_id = $27, created_at = $28, \
             completed_at = $29, disputed_at = $30, updated_at = $31, dispute_outcome = $32 \
             WHERE id = $1",
        ),
        p,
    )?
    .execute(&mut *c)
    .await
    // Two purchases settled with one payment reference at once: the
    // second commit hits the unique index.
    .map_err(unique(Entity::Purchase, payment_key(p)))?;
    write_purchase_items(c, p).await?;
    s.step(c, "settle_purchase:after_row").await?;
    if w.count_purchase {
        // In id order, so concurrent bundle purchases never deadlock.
        let mut workflows = p.item.workflows();
        workflows.sort();
        workflows.dedup();
        for wf in workflows {
            sqlx::query("UPDATE workflows SET purchase_count = purchase_count + 1 WHERE id = $1")
                .bind(wf.as_uuid())
                .execute(&mut *c)
                .await
                .map_err(db)?;
        }
        if let PurchaseItem::Bundle { bundle_id, .. } = &p.item {
            sqlx::query(
                "UPDATE workflow_bundles SET purchase_count = purchase_count + 1 WHERE id = $1",
            )
            .bind(bundle_id.as_uuid())
            .execute(&mut *c)
            .await
            .map_err(db)?;
        }
    }
    s.step(c, "settle_purchase:after_counters").await?;
    apply_deltas(c, &w.analytics).await?;
    if !w.refunds.is_empty() {
        // The refund's lines in one statement.
        let lines = &w.refunds;
        sqlx::query(
            "INSERT INTO purchase_refunds (purchase_id, workflow_id, amount, currency, refunded_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::numeric[], $4::text[], $5::timestamptz[])",
        )
        .bind(lines.iter().map(|l| l.purchase_id.as_uuid()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.workflow_id.as_uuid()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.amount.amount()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.amount.currency().code().to_owned()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.refunded_at).collect::<Vec<_>>())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    // The outbox: its jobs commit with the purchase or not at all.
    for job in &w.outbox {
        crate::jobs::enqueue(c, job).await?;
    }
    s.step(c, "settle_purchase:after_outbox").await
}

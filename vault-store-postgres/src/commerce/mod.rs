//! Purchases, memberships and downloads, with their guarded writes.

mod membership;
mod purchase;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgExecutor;
use vault_core::commerce::license::LicenseKeyHash;
use vault_core::commerce::membership::{Membership, MembershipStatus};
use vault_core::commerce::purchase::{PaymentRef, ProviderRefs, Purchase};
use vault_core::store::{CommerceStore, PurchaseWrite, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{MembershipId, PurchaseId, WorkflowId};

use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

use membership::{insert_membership, update_membership};
pub(crate) use membership::{membership_cols, membership_from_row};
use purchase::{insert_purchase, purchase_cols, purchase_from_row, settle_purchase};
pub(crate) use purchase::{purchase_terms_cols, purchase_terms_from_row, purchase_write_cols};

// Decoders both sections share.

fn user(row: &impl Cols, col: &str) -> StoreResult<UserId> {
    parse_with(row, col, UserId::parse)
}

fn provider(row: &impl Cols, with_purchase_ids: bool) -> StoreResult<ProviderRefs> {
    Ok(ProviderRefs {
        customer_id: get(row, "stripe_customer_id")?,
        checkout_session_id: if with_purchase_ids {
            get(row, "stripe_checkout_session_id")?
        } else {
            None
        },
        payment_intent_id: if with_purchase_ids {
            get(row, "stripe_payment_intent_id")?
        } else {
            None
        },
        subscription_id: get(row, "stripe_subscription_id")?,
        price_id: get(row, "stripe_price_id")?,
    })
}

#[async_trait]
impl CommerceStore for PgStore {
    async fn insert_purchase(&self, purchase: &Purchase) -> StoreResult<()> {
        write_tx!(self, |c| insert_purchase(self, c, purchase))
    }

    async fn purchase(&self, id: PurchaseId) -> StoreResult<Option<Purchase>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(purchase_from_row)
        .transpose()
    }

    async fn purchase_by_license_key(&self, key: &LicenseKeyHash) -> StoreResult<Option<Purchase>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases WHERE license_key_hash = $1"
        ))
        .bind(key.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(purchase_from_row)
        .transpose()
    }

    async fn purchase_by_payment_ref(&self, payment: &PaymentRef) -> StoreResult<Option<Purchase>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases WHERE payment_ref = $1"
        ))
        .bind(payment.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(purchase_from_row)
        .transpose()
    }

    async fn purchases_for_user(&self, user: &UserId) -> StoreResult<Vec<Purchase>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            purchase_cols!(),
            " FROM workflow_purchases WHERE user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(user.as_str())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(purchase_from_row)
        .collect()
    }

    async fn purchases_covering(
        &self,
        user: &UserId,
        workflow: WorkflowId,
    ) -> StoreResult<Vec<Purchase>> {
        on_conn!(self, |c| purchases_covering(c, user, workflow))
    }

    async fn settle_purchase(&self, write: &PurchaseWrite) -> StoreResult<()> {
        write_tx!(self, |c| async {
            settle_purchase(self, &mut *c, write).await?;
            crate::audit::append_opt(self, c, write.audit.as_ref()).await
        })
    }

    async fn insert_membership(
        &self,
        membership: &Membership,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> StoreResult<()> {
        write_tx!(self, |c| insert_membership(c, membership, now, grace))
    }

    async fn update_membership(
        &self,
        membership: &Membership,
        expected_revision: u64,
    ) -> StoreResult<()> {
        write_tx!(self, |c| update_membership(
            c,
            membership,
            expected_revision
        ))
    }

    async fn membership(&self, id: MembershipId) -> StoreResult<Option<Membership>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            membership_cols!(),
            " FROM memberships WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(membership_from_row)
        .transpose()
    }

    async fn membership_by_subscription(
        &self,
        subscription_id: &str,
    ) -> StoreResult<Option<Membership>> {
        // An id no membership can carry matches none; sent as a parameter,
        // a NUL in it would fail the query instead.
        if ProviderRefs::check_id("subscription_id", subscription_id).is_err() {
            return Ok(None);
        }
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            membership_cols!(),
            " FROM memberships WHERE stripe_subscription_id = $1 \
             ORDER BY created_at DESC, id LIMIT 1"
        ))
        .bind(subscription_id)
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(membership_from_row)
        .transpose()
    }

    async fn memberships_for_user(&self, user: &UserId) -> StoreResult<Vec<Membership>> {
        on_conn!(self, |c| memberships_for_user(c, user))
    }

    async fn memberships_with_status(
        &self,
        statuses: &[MembershipStatus],
    ) -> StoreResult<Vec<Membership>> {
        if statuses.is_empty() {
            return Ok(vec![]);
        }
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            membership_cols!(),
            " FROM memberships WHERE status = ANY($1) ORDER BY id"
        ))
        .bind(statuses)
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(membership_from_row)
        .collect()
    }
}

/// A user's purchases covering a workflow (directly or through a bundle),
/// newest first.
pub(crate) async fn purchases_covering<'e>(
    e: impl PgExecutor<'e>,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<Vec<Purchase>> {
    sqlx::query(concat!(
        "SELECT ",
        purchase_cols!(),
        " FROM workflow_purchases WHERE user_id = $1 AND item_workflows @> ARRAY[$2::uuid] \
         ORDER BY created_at DESC, id"
    ))
    .bind(user.as_str())
    .bind(workflow.as_uuid())
    .fetch_all(e)
    .await
    .map_err(db)?
    .iter()
    .map(purchase_from_row)
    .collect()
}

/// A user's memberships, newest first.
pub(crate) async fn memberships_for_user<'e>(
    e: impl PgExecutor<'e>,
    user: &UserId,
) -> StoreResult<Vec<Membership>> {
    sqlx::query(concat!(
        "SELECT ",
        membership_cols!(),
        " FROM memberships WHERE user_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(user.as_str())
    .fetch_all(e)
    .await
    .map_err(db)?
    .iter()
    .map(membership_from_row)
    .collect()
}

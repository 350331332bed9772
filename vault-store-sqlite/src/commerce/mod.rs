//! Purchases and memberships, with their guarded writes: each area's
//! columns, decoders and writes in its own file (`purchase.rs`,
//! `membership.rs`), the store's methods here.

mod membership;
mod purchase;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use vault_core::commerce::license::LicenseKeyHash;
use vault_core::commerce::membership::{Membership, MembershipStatus};
use vault_core::commerce::purchase::{PaymentRef, ProviderRefs, Purchase};
use vault_core::store::{CommerceStore, Entity, PurchaseWrite, StoreError, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::{MembershipId, PurchaseId, WorkflowId};
use vault_core::value::validation::Reason;

use crate::codec::*;
use crate::sql::{Id, query_all, query_one};
use crate::{SqliteStore, Tx};

use self::membership::{
    MEMBERSHIP_COLS, MEMBERSHIP_WRITE_COLS, insert_membership, membership_values,
};
pub(crate) use self::membership::{
    membership_at, membership_cols, membership_from_row, memberships_for_user,
};
pub(crate) use self::purchase::{
    covering, hash_stored_license_keys, purchase_head_cols, purchase_terms_at, purchase_terms_cols,
};
use self::purchase::{
    insert_purchase, load_purchase, purchase_cols, purchase_from_row, purchases_covering,
    settle_purchase,
};

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

/// The column a download row's foreign key pairs with the id (migration
/// 0019: a download names its user's purchase or membership). SQLite
/// looks for the child rows of the old pair whenever an `UPDATE` sets a
/// parent key column, even to its own value: a walk of the user's
/// downloads, on every settled purchase. So it is written only when it
/// changes, by a statement of its own.
pub(crate) const PAIRED_KEY: &str = "user_id";

/// `UPDATE table SET cols[1..] = vals[1..] WHERE id = vals[0]`: the first
/// column is the id, and `cols` and `vals` pair up one to one. The
/// [`PAIRED_KEY`] column is set apart, and only where it differs.
fn update_by_id(tx: &Tx<'_>, table: &str, cols: &[&str], vals: Vec<Value>) -> StoreResult<()> {
    let (sql, keyed) = update_sql(table, cols);
    let mut vals = vals.into_iter();
    let id = vals.next().ok_or_else(|| unfit("id", Reason::Empty))?;
    let (mut plain, mut paired) = (vec![id.clone()], None);
    for (c, v) in cols.iter().skip(1).zip(vals) {
        if *c == PAIRED_KEY {
            paired = Some(v);
        } else {
            plain.push(v);
        }
    }
    tx.prepare_cached(&sql)
        .map_err(db)?
        .execute(params_from_iter(plain))
        .map_err(db)?;
    if let (Some(keyed), Some(v)) = (keyed, paired) {
        tx.prepare_cached(&keyed)
            .map_err(db)?
            .execute(params_from_iter([id, v]))
            .map_err(db)?;
    }
    Ok(())
}

/// The statements of [`update_by_id`]: every column but the id and the
/// [`PAIRED_KEY`], numbered in order; then the paired key's own, when
/// `cols` has it.
pub(crate) fn update_sql(table: &str, cols: &[&str]) -> (String, Option<String>) {
    let sets: Vec<String> = cols
        .iter()
        .skip(1)
        .filter(|c| **c != PAIRED_KEY)
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 2))
        .collect();
    let keyed = cols.contains(&PAIRED_KEY).then(|| {
        format!("UPDATE {table} SET {PAIRED_KEY} = ?2 WHERE id = ?1 AND {PAIRED_KEY} IS NOT ?2")
    });
    (
        format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", ")),
        keyed,
    )
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::*;
    use crate::SqliteOptions;

    /// The root pages of the download rows' table and its indexes.
    fn download_roots(c: &Connection) -> Vec<i64> {
        let mut s = c
            .prepare("SELECT rootpage FROM sqlite_schema WHERE tbl_name = 'workflow_downloads'")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The root pages a statement's program opens a cursor on.
    fn opened_roots(c: &Connection, sql: &str) -> Vec<i64> {
        let mut s = c.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let mut rows = s.raw_query();
        let mut roots = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            let op: String = r.get(1).unwrap();
            if op == "OpenRead" || op == "OpenWrite" {
                roots.push(r.get(3).unwrap());
            }
        }
        roots
    }

    /// A download row's keys name its user's purchase or membership and
    /// its workflow's file (migration 0019). Editing one of those rows
    /// must not set the key's column when it does not change: SQLite walks
    /// the download rows of the old pair whenever an `UPDATE` sets it.
    #[test]
    fn editing_a_downloads_parent_walks_no_download_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        SqliteStore::open_blocking(Some(path.clone()), SqliteOptions::default()).unwrap();
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "foreign_keys", true).unwrap();
        let roots = download_roots(&c);
        assert_eq!(roots.len(), 4, "the table, its id's index and two more");
        let mut edits = vec![crate::catalog::UPDATE_FILE_SQL.to_owned()];
        let mut keyed = Vec::new();
        for (table, cols) in [
            ("workflow_purchases", &purchase::PURCHASE_WRITE_COLS[..]),
            ("memberships", &membership::MEMBERSHIP_WRITE_COLS[..]),
        ] {
            let (edit, key) = update_sql(table, cols);
            edits.push(edit);
            keyed.push(key.unwrap());
        }
        for sql in &edits {
            let opened = opened_roots(&c, sql);
            assert!(
                opened.iter().all(|r| !roots.contains(r)),
                "{sql} opens a download b-tree: {opened:?}"
            );
        }
        // The check can fail: a statement that sets the user does walk them.
        for sql in &keyed {
            assert!(
                opened_roots(&c, sql).iter().any(|r| roots.contains(r)),
                "{sql}"
            );
        }
    }
}

//! The audit trail under injected faults and raw SQL: an entry is written
//! last in its staff write's transaction, so a fault just before it leaves
//! neither the change nor the entry; and the table refuses `UPDATE` and
//! `DELETE` from any connection (its triggers).
#![allow(clippy::unwrap_used)]

mod common;

use rusqlite::Connection;
use vault_core::account::email::Email;
use vault_core::account::profile::Profile;
use vault_core::value::actor::UserId;
use vault_core::value::tier::PricingTier;

use crate::common::faults::Env;

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_before_the_entry_undoes_the_staff_write() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("audited", PricingTier::Free, None).await;
    let entries = "SELECT COUNT(*) FROM audit_logs WHERE target_id = ?1";
    let before = env.scalar(entries, w.id);
    env.fault("audit:before_entry", async || {
        env.fx.vault.archive_workflow(env.admin(), w.id).await
    })
    .await;
    assert_eq!(env.scalar(entries, w.id), before + 1);

    let u = UserId::parse("banned-one").unwrap();
    env.fx
        .vault
        .open_account(
            env.admin(),
            &u,
            Email::parse("banned@example.com").unwrap(),
            Profile {
                display_name: "Banned One".into(),
                ..Profile::default()
            },
        )
        .await
        .unwrap();
    env.fault("audit:before_entry", async || {
        env.fx.vault.ban_account(env.admin(), &u, None).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_refuses_update_and_delete() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("kept", PricingTier::Free, None).await;
    let raw = Connection::open(&env.path).unwrap();
    let count = |c: &Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM audit_logs", [], |r| r.get(0))
            .unwrap()
    };
    let n = count(&raw);
    assert!(n >= 2, "the fixture's writes are in the trail");
    for sql in [
        "UPDATE audit_logs SET action = 'forged'",
        "DELETE FROM audit_logs",
        "DELETE FROM audit_logs WHERE action = 'workflow_created'",
    ] {
        let err = raw.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // A refused statement inside a transaction leaves the trail as it was.
    assert_eq!(count(&raw), n);
    let untouched: String = raw
        .query_row(
            "SELECT action FROM audit_logs WHERE target_id = ?1 ORDER BY at LIMIT 1",
            [w.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(untouched, "workflow_created");
}

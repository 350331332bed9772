//! Failures in the middle of a write leave nothing behind: an injected error
//! after some statements ran (or, in a download's one statement, a step of
//! it that fails after the charge), and a connection killed by the server
//! (`pg_terminate_backend`) while the write's transaction or statement is
//! open. The store answers with a typed `StoreError::Backend` and the next
//! call works.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use vault_core::catalog::file::WorkflowFile;
use vault_core::catalog::workflow::Workflow;
use vault_core::commerce::purchase::PaymentStatus;
use vault_core::delivery::download::{Download, DownloadKind, DownloadSource};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{
    AnalyticsStore, CatalogStore, Charge, CommerceStore, DeliveryStore, Store, StoreError,
};
use vault_core::testkit::{Fixture, epoch};
use vault_core::value::ids::{DownloadId, PurchaseId};
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;
use vault_store_postgres::PgStore;

/// Everything one download moves, to compare before and after.
#[derive(Debug, PartialEq, Eq)]
struct Counters {
    workflow_downloads: u64,
    file_downloads: u64,
    category_downloads: u64,
    quota_used: u32,
    recorded: usize,
    analytics_downloads: u64,
}

struct Setup {
    store: Arc<PgStore>,
    _fixture: Fixture,
    workflow: Workflow,
    file: WorkflowFile,
    purchase: PurchaseId,
    user: vault_core::value::actor::UserId,
}

async fn setup() -> Option<Setup> {
    let store = Arc::new(common::fresh_store().await?);
    let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let mut c = f.content("fragile", PricingTier::Pro, Some(1500));
    c.download_limit = Some(5);
    let (workflow, file) = f.publish(c).await;
    let buyer = Fixture::user("buyer");
    let p = f.buy(&buyer, CheckoutItem::Workflow(workflow.id)).await;
    Some(Setup {
        store,
        workflow,
        file,
        purchase: p.id,
        user: buyer.user_id().unwrap().clone(),
        _fixture: f,
    })
}

impl Setup {
    fn download(&self, n: u128) -> (Download, Charge, AnalyticsDelta) {
        let d = Download {
            id: DownloadId::from_uuid(uuid::Uuid::from_u128(0xd0_0000 + n)),
            user_id: Some(self.user.clone()),
            workflow_id: self.workflow.id,
            file_id: self.file.id,
            file_version: self.file.version,
            kind: DownloadKind::Purchased,
            source: DownloadSource::Purchase(self.purchase),
            request: Default::default(),
            downloaded_at: epoch(),
        };
        let charge = Charge::Purchase {
            id: self.purchase,
            expected_status: PaymentStatus::Completed,
            limit: Some(5),
        };
        let mut delta = AnalyticsDelta::none(self.workflow.id, epoch());
        delta.downloads = 1;
        (d, charge, delta)
    }

    async fn counters(&self) -> Counters {
        let s = &self.store;
        let w = s.workflow(self.workflow.id).await.unwrap().unwrap();
        let day = epoch().date_naive();
        Counters {
            workflow_downloads: w.stats.download_count,
            file_downloads: s.file(self.file.id).await.unwrap().unwrap().download_count,
            category_downloads: s
                .category(w.content.category_id)
                .await
                .unwrap()
                .unwrap()
                .total_downloads,
            quota_used: s.purchase(self.purchase).await.unwrap().unwrap().quota.used,
            recorded: s
                .downloads_for_workflow(self.workflow.id, 100)
                .await
                .unwrap()
                .len(),
            analytics_downloads: s
                .analytics(self.workflow.id, day, day)
                .await
                .unwrap()
                .first()
                .map_or(0, |r| r.downloads),
        }
    }

    /// One more download goes through and moves every counter by one.
    async fn next_call_works(&self, before: &Counters, n: u128) {
        let (d, charge, delta) = self.download(n);
        self.store
            .record_download(&d, &charge, &delta)
            .await
            .unwrap();
        let after = self.counters().await;
        assert_eq!(
            after,
            Counters {
                workflow_downloads: before.workflow_downloads + 1,
                file_downloads: before.file_downloads + 1,
                category_downloads: before.category_downloads + 1,
                quota_used: before.quota_used + 1,
                recorded: before.recorded + 1,
                analytics_downloads: before.analytics_downloads + 1,
            }
        );
    }
}

fn sqlx_source(e: &StoreError) -> Option<&sqlx::Error> {
    match e {
        StoreError::Backend { backend, source } => {
            assert_eq!(*backend, "postgres");
            source.downcast_ref::<sqlx::Error>()
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_failure_before_a_download_writes_nothing() {
    let Some(s) = setup().await else { return };
    let before = s.counters().await;
    // A download is one statement: the step before it is the only one.
    s.store.fail_at("record_download:before_statement");
    let (d, charge, delta) = s.download(0);
    let r = s.store.record_download(&d, &charge, &delta).await;
    assert!(matches!(r, Err(StoreError::Backend { .. })), "{r:?}");
    assert_eq!(s.counters().await, before);
    s.next_call_works(&before, 99).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_last_step_fails_keeps_none_of_its_steps() {
    let Some(s) = setup().await else { return };
    let before = s.counters().await;
    // The day's row is the statement's last step, after the charge, the
    // row and the counters: make it fail, and the statement (no
    // transaction around it) must keep none of them.
    let pool = s.store.pool();
    sqlx::query(
        "CREATE FUNCTION refuse_day() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'the day refused'; END $$",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_day BEFORE INSERT OR UPDATE ON workflow_analytics \
         FOR EACH ROW EXECUTE FUNCTION refuse_day()",
    )
    .execute(pool)
    .await
    .unwrap();
    let (d, charge, delta) = s.download(0);
    let r = s.store.record_download(&d, &charge, &delta).await;
    let err = r.expect_err("the day's row refused");
    assert!(
        err.to_string().contains("the day refused")
            || sqlx_source(&err).is_some_and(|e| e.to_string().contains("the day refused")),
        "{err:?}"
    );
    assert_eq!(s.counters().await, before, "a partial download was kept");
    sqlx::query("DROP TRIGGER refuse_day ON workflow_analytics")
        .execute(pool)
        .await
        .unwrap();
    s.next_call_works(&before, 99).await;
}

/// A transaction on its own connection, and that connection's backend pid
/// (what a blocked statement's `pg_blocking_pids` names).
async fn begin_with_pid(pool: &sqlx::PgPool) -> (sqlx::Transaction<'static, sqlx::Postgres>, i32) {
    let mut tx = pool.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    (tx, pid)
}

impl Setup {
    /// Starts download 0 and returns once its statement waits on a lock
    /// the backend `holder` holds (within 20 s): the write, the waiting
    /// backend's pid, and the admin connection that saw it.
    async fn download_blocked_by(
        &self,
        holder: i32,
    ) -> (
        tokio::task::JoinHandle<Result<(), StoreError>>,
        i32,
        sqlx::PgConnection,
    ) {
        let (d, charge, delta) = self.download(0);
        let store = Arc::clone(&self.store);
        let write = tokio::spawn(async move { store.record_download(&d, &charge, &delta).await });
        let (_, mut admin) = common::server().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))",
            )
            .bind(holder)
            .fetch_optional(&mut admin)
            .await
            .unwrap();
            if let Some(pid) = pid {
                return (write, pid, admin);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the download never waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_category_goes_half_way_keeps_nothing() {
    let Some(s) = setup().await else { return };
    // The workflow alone in a category of its own, which a concurrent
    // transaction deletes (moving the workflow out) while the download's
    // statement waits on its row: the statement's snapshot still names the
    // category, its counter finds no row, and the steps before (the charge,
    // the row, the workflow's and file's counts) must not be kept.
    let pool = s.store.pool();
    let wf = s.workflow.id.as_uuid();
    let (home, doomed): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "WITH c AS (INSERT INTO workflow_categories (slug, name) VALUES ('doomed', 'Doomed') \
         RETURNING id), w AS (UPDATE workflows SET category_id = (SELECT id FROM c) \
         WHERE id = $1 RETURNING 1) \
         SELECT (SELECT category_id FROM workflows WHERE id = $1), (SELECT id FROM c)",
    )
    .bind(wf)
    .fetch_one(pool)
    .await
    .unwrap();
    let before = s.counters().await;
    let (mut mover, mover_pid) = begin_with_pid(pool).await;
    sqlx::query("UPDATE workflows SET category_id = $2 WHERE id = $1")
        .bind(wf)
        .bind(home)
        .execute(&mut *mover)
        .await
        .unwrap();
    sqlx::query("DELETE FROM workflow_categories WHERE id = $1")
        .bind(doomed)
        .execute(&mut *mover)
        .await
        .unwrap();
    let (write, _, _admin) = s.download_blocked_by(mover_pid).await;
    mover.commit().await.unwrap();
    let r = write.await.unwrap();
    assert!(
        matches!(r, Err(StoreError::NotFound { .. })),
        "the chain broke after the charge: {r:?}"
    );
    let after = s.counters().await;
    assert_eq!(
        (
            after.workflow_downloads,
            after.file_downloads,
            after.quota_used,
            after.recorded,
            after.analytics_downloads
        ),
        (
            before.workflow_downloads,
            before.file_downloads,
            before.quota_used,
            before.recorded,
            before.analytics_downloads
        ),
        "a partial download was kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_download_writes_nothing() {
    let Some(s) = setup().await else { return };
    let before = s.counters().await;
    // Hold the category's download total: the download's statement
    // charges, inserts and counts the workflow and file, then waits on it,
    // half way.
    let pool = s.store.pool();
    let (mut blocker, blocker_pid) = begin_with_pid(pool).await;
    sqlx::query(
        "SELECT 1 FROM workflow_category_download_counts WHERE category_id = $1 FOR UPDATE",
    )
    .bind(s.workflow.content.category_id.as_uuid())
    .execute(&mut *blocker)
    .await
    .unwrap();
    let (write, waiting, mut admin) = s.download_blocked_by(blocker_pid).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(waiting)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed, "backend {waiting} not terminated");
    let r = write.await.unwrap();
    let err = r.expect_err("a write on a killed connection cannot succeed");
    assert!(
        sqlx_source(&err).is_some(),
        "expected StoreError::Backend with the sqlx error as source, got {err:?}"
    );
    blocker.rollback().await.unwrap();
    assert_eq!(
        s.counters().await,
        before,
        "the killed statement kept a step"
    );
    // The pool replaced the dead connection.
    s.next_call_works(&before, 99).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_purchase_completion_writes_nothing() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    // With an outbox job, paused after its insert: the kill must take the
    // job with the purchase.
    let f = Fixture::with_config(Arc::clone(&store) as Arc<dyn Store>, |c| {
        c.with_purchase_jobs([vault_core::jobs::job::JobKind::parse("mail.receipt").unwrap()])
    })
    .await;
    let (w, _) = f.workflow("once-only", PricingTier::Pro, Some(4900)).await;
    let buyer = Fixture::user("payer");
    let pending = f
        .vault
        .start_purchase(
            &buyer,
            vault_core::vault::StartPurchase {
                user_id: buyer.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w.id),
                license_type: vault_core::commerce::license::LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: Default::default(),
            },
        )
        .await
        .unwrap();
    let mut pause = store.pause_at("settle_purchase:after_outbox");
    let vault = f.vault.clone();
    let id = pending.id;
    let write = tokio::spawn(async move {
        vault
            .complete_purchase(
                &vault_core::value::actor::Actor::Service,
                id,
                vault_core::commerce::purchase::PaymentRef::parse("pi_killed").unwrap(),
            )
            .await
    });
    let pid = pause.reached().await.unwrap();
    let (_, mut admin) = common::server().await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    pause.release();
    let r = write.await.unwrap();
    assert!(
        matches!(
            r,
            Err(vault_core::value::error::Error::Store(
                StoreError::Backend { .. }
            ))
        ),
        "{r:?}"
    );
    let stored = store.purchase(id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::Pending);
    assert_eq!(stored.payment_ref, None);
    assert_eq!(
        store
            .workflow(w.id)
            .await
            .unwrap()
            .unwrap()
            .stats
            .purchase_count,
        0
    );
    assert!(
        queued(&store).await.is_empty(),
        "the outbox job went with it"
    );
    // Retrying the same webhook delivery completes it exactly once.
    let done = f
        .vault
        .complete_purchase(
            &vault_core::value::actor::Actor::Service,
            id,
            vault_core::commerce::purchase::PaymentRef::parse("pi_killed").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.status, PaymentStatus::Completed);
    assert_eq!(
        store
            .workflow(w.id)
            .await
            .unwrap()
            .unwrap()
            .stats
            .purchase_count,
        1
    );
    let jobs = queued(&store).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].payload["purchase_id"], id.to_string());
}

async fn queued(store: &PgStore) -> Vec<vault_core::jobs::job::Job> {
    use vault_core::jobs::store::{JobQuery, JobStore};
    store.jobs(&JobQuery::default()).await.unwrap().items
}

/// Kills every server backend of the store's database while its pooled
/// connection sits idle, as a server restart or a proxy's idle timeout does.
async fn kill_idle_connections(database: &str) {
    // sqlx pings a connection as it returns to the pool, in the background;
    // let that finish so the connection is idle in the pool when it dies.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, mut admin) = common::server().await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(database)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "the store had no open connection");
    // Termination is asynchronous: wait until the backends are gone.
    for _ in 0..100 {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                .bind(database)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if left == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("backends of {database} still alive");
}

async fn one_connection_store(test_before_acquire: bool) -> Option<(PgStore, String)> {
    let options = common::fresh_database().await?;
    let database = options.get_database().unwrap().to_owned();
    let store = PgStore::connect_with_options(
        options,
        vault_store_postgres::PgOptions {
            max_connections: 1,
            test_before_acquire,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Some((store, database))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_while_idle_fails_one_call_then_is_replaced() {
    let Some((store, database)) = one_connection_store(false).await else {
        return;
    };
    assert!(store.categories().await.unwrap().len() >= 9);
    kill_idle_connections(&database).await;
    let first = store.categories().await;
    assert!(
        matches!(first, Err(StoreError::Backend { .. })),
        "without a ping before checkout the dead connection is used: {first:?}"
    );
    assert!(
        store.categories().await.unwrap().len() >= 9,
        "then replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_before_acquire_replaces_a_connection_closed_while_idle() {
    let Some((store, database)) = one_connection_store(true).await else {
        return;
    };
    assert!(store.categories().await.unwrap().len() >= 9);
    kill_idle_connections(&database).await;
    assert!(store.categories().await.unwrap().len() >= 9);
}

async fn store_with(options: vault_store_postgres::PgOptions) -> Option<(PgStore, String)> {
    let connect = common::fresh_database().await?;
    let database = connect.get_database().unwrap().to_owned();
    let store = PgStore::connect_with_options(connect, options)
        .await
        .unwrap();
    Some((store, database))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_connection_closed_while_idle_fails_one_call_then_is_replaced() {
    let Some((store, database)) = store_with(vault_store_postgres::PgOptions {
        max_connections: 4,
        ..Default::default()
    })
    .await
    else {
        return;
    };
    assert!(store.categories().await.unwrap().len() >= 9);
    assert_eq!(store.parked_connections(), 1, "a clean call parks");
    // Every connection dies: the parked one and any sqlx holds idle.
    let open = store.pool().size() as usize;
    kill_idle_connections(&database).await;
    let first = store.categories().await;
    assert!(
        matches!(first, Err(StoreError::Backend { .. })),
        "the parked connection is taken first, dead: {first:?}"
    );
    // Each failed call gives its connection back to sqlx, which drops it;
    // re-parking it would fail every later call the same way. So each dead
    // connection fails one call at most, then the store works again.
    let mut failed = 1;
    loop {
        assert_eq!(store.parked_connections(), 0, "a failed call parks nothing");
        match store.categories().await {
            Ok(categories) => {
                assert!(categories.len() >= 9);
                break;
            }
            Err(e) => {
                failed += 1;
                assert!(
                    failed <= open,
                    "{failed} failures, {open} dead connections: {e:?}"
                );
            }
        }
    }
    assert_eq!(store.parked_connections(), 1);
    assert!(store.categories().await.unwrap().len() >= 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_before_acquire_parks_nothing() {
    let Some((store, _)) = store_with(vault_store_postgres::PgOptions {
        max_connections: 4,
        test_before_acquire: true,
        ..Default::default()
    })
    .await
    else {
        return;
    };
    for _ in 0..3 {
        assert!(store.categories().await.unwrap().len() >= 9);
    }
    assert_eq!(store.parked_connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_write_is_not_parked_and_writes_nothing() {
    let Some(s) = setup().await else { return };
    let before = s.counters().await;
    let parked = s.store.parked_connections();
    assert!(parked >= 1, "the setup's calls parked their connections");
    let mut pause = s.store.pause_at("record_download:before_statement");
    let (d, charge, delta) = s.download(7);
    let store = Arc::clone(&s.store);
    let write = tokio::spawn(async move { store.record_download(&d, &charge, &delta).await });
    pause.reached().await.unwrap();
    // The write took the most recently parked connection.
    assert_eq!(s.store.parked_connections(), parked - 1);
    // Cancelled with its connection taken, its statement not yet sent.
    write.abort();
    assert!(write.await.unwrap_err().is_cancelled());
    assert_eq!(
        s.store.parked_connections(),
        parked - 1,
        "a cancelled call's connection goes back to sqlx"
    );
    assert_eq!(
        s.counters().await,
        before,
        "nothing was sent, nothing written"
    );
    s.next_call_works(&before, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_store_hands_its_parked_connections_back() {
    let Some((store, _)) = store_with(Default::default()).await else {
        return;
    };
    assert!(store.categories().await.unwrap().len() >= 9);
    assert_eq!(store.parked_connections(), 1);
    // Parked for over a second: the store's sweeper returns it to sqlx
    // (within another half second; a loaded machine may take longer).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store.parked_connections() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "still parked after 20 s without a call"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(store.pool().num_idle() >= 1, "back in sqlx's idle queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_pool_does_not_wait_for_parked_connections() {
    for close_through_store in [false, true] {
        let Some((store, _)) = store_with(Default::default()).await else {
            return;
        };
        assert!(store.categories().await.unwrap().len() >= 9);
        assert_eq!(store.parked_connections(), 1);
        let closing = async {
            if close_through_store {
                store.close().await;
            } else {
                // The sweeper sees the closed pool and hands back.
                store.pool().close().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), closing)
            .await
            .expect("the pool closed with a connection parked");
        assert_eq!(store.parked_connections(), 0);
        assert!(matches!(
            store.categories().await,
            Err(StoreError::Backend { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_within_the_acquire_timeout_is_busy() {
    let Some((store, _)) = store_with(vault_store_postgres::PgOptions {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await
    else {
        return;
    };
    // The app holds the only connection.
    let held = store.pool().acquire().await.unwrap();
    match store.categories().await {
        Err(StoreError::Busy { backend, source }) => {
            assert_eq!(backend, "postgres");
            assert!(matches!(
                source.downcast_ref::<sqlx::Error>(),
                Some(sqlx::Error::PoolTimedOut)
            ));
        }
        other => panic!("expected StoreError::Busy, got {other:?}"),
    }
    drop(held);
    assert!(store.categories().await.unwrap().len() >= 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_racing_a_refund_waits_for_it_and_charges_nothing() {
    let Some(s) = setup().await else { return };
    let before = s.counters().await;
    // The purchase's used downloads are a row of their own (migration 0014):
    // the charge must still wait for a refund in flight on the purchase row
    // and then see its status, not charge a purchase refunded meanwhile.
    let pool = s.store.pool();
    let (mut refund, refund_pid) = begin_with_pid(pool).await;
    sqlx::query(
        "UPDATE workflow_purchases SET payment_status = 'refunded', \
         refunded_amount = total, refunded_at = now() WHERE id = $1",
    )
    .bind(s.purchase.as_uuid())
    .execute(&mut *refund)
    .await
    .unwrap();
    // Fails after 20 s if the download does not wait for the refund.
    let (write, _, _admin) = s.download_blocked_by(refund_pid).await;
    refund.commit().await.unwrap();
    let r = write.await.unwrap();
    assert!(
        matches!(r, Err(StoreError::Conflict { .. })),
        "the charge saw the refund's status: {r:?}"
    );
    let after = s.counters().await;
    assert_eq!(
        (after.quota_used, after.recorded, after.workflow_downloads),
        (
            before.quota_used,
            before.recorded,
            before.workflow_downloads
        ),
        "a refunded purchase was charged"
    );
}

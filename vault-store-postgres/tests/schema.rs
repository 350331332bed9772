//! The schema itself: seed rows, migrating twice, the rollback script, the
//! CHECK constraints, exact money, and a Debug that hides the password.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use rust_decimal::Decimal;
use sqlx::PgPool;
use vault_core::catalog::category::CORE_SYSTEMS;
use vault_core::store::{CatalogStore, Store};
use vault_core::testkit::Fixture;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_store_postgres::{PgOptions, PgStore, migrate, rollback};

async fn sqlstate(pool: &PgPool, sql: String) -> Option<String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .err()
        .and_then(|e| {
            e.as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nine_core_categories_are_seeded_exactly() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let seeded = store.categories().await.unwrap();
    assert_eq!(seeded.len(), 9);
    for (i, (c, (slug, name, icon, color, description))) in
        seeded.iter().zip(CORE_SYSTEMS).enumerate()
    {
        assert_eq!(c.slug.as_str(), slug);
        assert_eq!(c.name, name);
        assert_eq!(c.icon, icon);
        assert_eq!(c.color, color);
        assert_eq!(c.description, description);
        assert_eq!(c.order_index, i as i32 + 1);
        assert!(c.is_active);
        assert_eq!((c.workflow_count, c.total_downloads), (0, 0));
        assert_eq!(c.metadata, serde_json::json!({}));
    }
    // The service finds them by slug and adds nothing.
    let store: Arc<dyn Store> = Arc::new(store);
    let f = Fixture::new(Arc::clone(&store)).await;
    let ids: Vec<_> = f.categories.iter().map(|c| c.id).collect();
    assert_eq!(ids, seeded.iter().map(|c| c.id).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_twice_is_a_no_op_and_the_rollback_undoes_it() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let pool = store.pool().clone();
    migrate(&pool).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 21, "every migration, each once");

    rollback(&pool).await.unwrap();
    // Every migration forgotten, so the next run applies each again (the
    // script once listed only the first fifteen).
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 0, "a migration the rollback still records");
    for relation in [
        "accounts",
        "user_settings",
        "system_settings",
        "audit_logs",
        "stripe_webhook_events",
        "workflow_categories",
        "workflows",
        "workflow_files",
        "memberships",
        "workflow_purchases",
        "workflow_downloads",
        "workflow_reviews",
        "workflow_updates",
        "workflow_bundles",
        "workflow_analytics",
        "workflow_favorites",
        "active_memberships",
        "workflow_stats",
        "comments",
        "comment_likes",
        "workflow_assets",
        "workflow_docs",
        "job_queue",
        "job_log",
        "purchase_refunds",
        "workflow_favorite_adds",
        "workflow_review_approvals",
        "workflow_download_counts",
        "workflow_file_download_counts",
        "workflow_category_download_counts",
        "workflow_purchase_download_counts",
    ] {
        let gone: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NULL")
            .bind(relation)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(gone, "{relation} survived the rollback");
    }
    let function_gone: bool =
        sqlx::query_scalar("SELECT to_regprocedure('vault_fail(text)') IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(function_gone, "vault_fail survived the rollback");
    let domains_left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_type WHERE typtype = 'd' AND typname LIKE 'vault\\_%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(domains_left, 0, "a domain survived the rollback");

    // And it can be applied again, seed rows included.
    migrate(&pool).await.unwrap();
    assert_eq!(store.categories().await.unwrap().len(), 9);
    // The last migrations too (a rollback that forgot them would leave
    // them recorded and their tables and indexes missing).
    for relation in [
        "job_queue",
        "idx_workflow_reviews_status_created",
        "workflow_review_approvals",
        "workflow_download_counts",
        "workflow_file_download_counts",
        "workflow_category_download_counts",
        "workflow_purchase_download_counts",
    ] {
        let back: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(relation)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(back, "{relation} is back");
    }
    let function_back: bool =
        sqlx::query_scalar("SELECT to_regprocedure('vault_fail(text)') IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(function_back, "vault_fail is back");
    let domains: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_type WHERE typtype = 'd' AND typname IN \
         ('vault_count', 'vault_version', 'vault_download_type', 'vault_download_source', \
          'vault_country_code', 'vault_json_object')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(domains, 6, "migration 0019's domains are back");
    // Each with its constraint, validated over the rows by 0021.
    let validated: Vec<bool> = sqlx::query_scalar(
        "SELECT c.convalidated FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid \
         WHERE t.typname LIKE 'vault\\_%' AND c.contype = 'c'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        validated,
        vec![true; 6],
        "0021 validates 0019's constraints"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_constraints_refuse_what_the_domain_refuses() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let f = Fixture::new(Arc::new(store.clone()) as Arc<dyn Store>).await;
    let (w, _) = f.workflow("checked", PricingTier::Pro, Some(1000)).await;
    let pool = store.pool();
    // Statements whose only fault is the value under test.
    let wid = w.id.as_uuid();
    // A download row of `w` with these version, type, source and country.
    let download = |values: &str| {
        format!(
            "INSERT INTO workflow_downloads (id, workflow_id, file_id, file_version, \
             download_type, source, country_code, downloaded_at) \
             VALUES (gen_random_uuid(), '{wid}', gen_random_uuid(), {values}, now())"
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "rating above 5",
            format!(
                "INSERT INTO workflow_reviews (id, workflow_id, user_id, rating, title) \
                 VALUES (gen_random_uuid(), '{wid}', 'u', 6, 't')"
            ),
        ),
        (
            "dimension rating below 1",
            format!(
                "INSERT INTO workflow_reviews (id, workflow_id, user_id, rating, rating_growth, title) \
                 VALUES (gen_random_uuid(), '{wid}', 'u', 4, 0, 't')"
            ),
        ),
        (
            "W.E.D.G.E. score above 10",
            format!("UPDATE workflows SET wedge_score = 10.5 WHERE id = '{wid}'"),
        ),
        (
            "unknown pricing tier",
            format!("UPDATE workflows SET pricing_tier = 'gold' WHERE id = '{wid}'"),
        ),
        (
            "a price finer than a minor unit of 4 places",
            format!("UPDATE workflows SET price = 1.00001 WHERE id = '{wid}'"),
        ),
        (
            "a price without its currency",
            format!("UPDATE workflows SET currency = NULL WHERE id = '{wid}'"),
        ),
        (
            "total other than amount + tax",
            format!(
                "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, \
                 item_workflows, license_type, license_key_hash, payment_status, currency, amount, tax, total) \
                 VALUES (gen_random_uuid(), 'u', 'one_time', '{wid}', ARRAY['{wid}'::uuid], \
                 'personal', 'k-1', 'pending', 'USD', 10.00, 1.00, 12.00)"
            ),
        ),
        (
            "unknown payment status",
            format!(
                "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, \
                 item_workflows, license_type, license_key_hash, payment_status, currency, amount, tax, total) \
                 VALUES (gen_random_uuid(), 'u', 'one_time', '{wid}', ARRAY['{wid}'::uuid], \
                 'personal', 'k-2', 'paid', 'USD', 10.00, 1.00, 11.00)"
            ),
        ),
        (
            "negative download counter",
            format!(
                "UPDATE workflow_download_counts SET download_count = -1 WHERE workflow_id = '{wid}'"
            ),
        ),
        (
            "negative file download counter",
            format!(
                "UPDATE workflow_file_download_counts SET download_count = -1 \
                 WHERE file_id IN (SELECT id FROM workflow_files WHERE workflow_id = '{wid}')"
            ),
        ),
        (
            "negative purchase downloads used",
            // The row CHECK comes before the purchase's foreign key.
            "INSERT INTO workflow_purchase_download_counts (purchase_id, downloads_used) \
             VALUES (gen_random_uuid(), -1)"
                .to_owned(),
        ),
        // Migration 0019's domains, one case each.
        (
            "a download's version that is not x.y.z",
            download("'1.0', 'free', 'free', NULL"),
        ),
        (
            "an unknown download type",
            download("'1.0.0', 'pirated', 'free', NULL"),
        ),
        (
            "an unknown download source",
            download("'1.0.0', 'free', 'gift', NULL"),
        ),
        (
            "a download's country that is not two capitals",
            download("'1.0.0', 'free', 'free', 'usa'"),
        ),
        (
            "a negative count of the day's views",
            format!(
                "INSERT INTO workflow_analytics (workflow_id, date, views) \
                 VALUES ('{wid}', '2026-01-01', -1)"
            ),
        ),
        (
            "the day's traffic sources not an object",
            format!(
                "INSERT INTO workflow_analytics (workflow_id, date, traffic_sources) \
                 VALUES ('{wid}', '2026-01-02', '[]')"
            ),
        ),
        (
            "negative category download total",
            format!(
                "UPDATE workflow_category_download_counts SET total_downloads = -1 \
                 WHERE category_id = (SELECT category_id FROM workflows WHERE id = '{wid}')"
            ),
        ),
    ];
    for (what, sql) in cases {
        assert_eq!(
            sqlstate(pool, sql).await.as_deref(),
            Some("23514"),
            "{what} must violate a CHECK"
        );
    }
    // The control: the same purchase with a consistent total is accepted.
    let ok = format!(
        "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, \
         item_workflows, license_type, license_key_hash, payment_status, currency, amount, tax, total) \
         VALUES (gen_random_uuid(), 'u', 'one_time', '{wid}', ARRAY['{wid}'::uuid], \
         'personal', 'k-3', 'pending', 'USD', 10.00, 1.00, 11.00)"
    );
    assert_eq!(sqlstate(pool, ok).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_reads_back_exactly_in_every_minor_unit() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let f = Fixture::new(Arc::new(store.clone()) as Arc<dyn Store>).await;
    for (slug, code, amount) in [
        ("priced-usd", "USD", Decimal::new(1999, 2)),
        ("priced-jpy", "JPY", Decimal::new(4900, 0)),
        ("priced-bhd", "BHD", Decimal::new(12345, 3)),
        (
            "priced-big",
            "USD",
            Decimal::new(123_456_789_012_345_678, 2),
        ),
    ] {
        let mut c = f.content(slug, PricingTier::Pro, None);
        c.price = Some(Money::new(amount, Currency::parse(code).unwrap()).unwrap());
        let w = f.vault.create_workflow(&f.admin, c).await.unwrap();
        let read = store.workflow(w.id).await.unwrap().unwrap();
        assert_eq!(read, w, "{slug}");
        assert_eq!(read.content.price.unwrap().amount(), amount);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_never_shows_the_password() {
    let Some(options) = common::fresh_database().await else {
        return;
    };
    // The server here trusts local connections, so any password connects.
    let options = options.password("s3cret-Pa55");
    let store = PgStore::connect_with_options(options, PgOptions::default())
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("PgStore"), "{shown}");
}

/// The trail is append-only for every role, the owner included: UPDATE,
/// DELETE and TRUNCATE raise (the trigger's `P0001`), and a fault just
/// before an entry leaves neither the staff write nor the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_refuses_update_delete_and_truncate() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let pool = store.pool().clone();
    let f = Fixture::new(Arc::new(store.clone()) as Arc<dyn Store>).await;
    let (w, _) = f.workflow("kept", PricingTier::Free, None).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_logs")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let n = count().await;
    assert!(n >= 2, "the fixture's writes are in the trail");
    for sql in [
        "UPDATE audit_logs SET action = 'forged'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ] {
        assert_eq!(
            sqlstate(&pool, sql.to_owned()).await.as_deref(),
            Some("P0001"),
            "{sql}"
        );
    }
    assert_eq!(count().await, n);

    store.fail_at("audit:before_entry");
    let r = f.vault.archive_workflow(&f.admin, w.id).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(count().await, n, "no entry");
    let kept = store.workflow(w.id).await.unwrap().unwrap();
    assert_eq!(
        kept.status,
        vault_core::catalog::workflow::WorkflowStatus::Published,
        "no change"
    );
    f.vault.archive_workflow(&f.admin, w.id).await.unwrap();
    assert_eq!(count().await, n + 1);
}

/// A license key is never stored: after a purchase, no row of any table
/// holds the key's text, and the row's digest is what migration 0016's SQL
/// computes from the key (so keys stored before it still match).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_table_holds_a_license_key_in_clear() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let pool = store.pool().clone();
    let f = Fixture::new(Arc::new(store.clone()) as Arc<dyn Store>).await;
    let (w, _) = f.workflow("keyed", PricingTier::Pro, Some(1200)).await;
    let p = f
        .buy(
            &Fixture::user("key-holder"),
            vault_core::vault::CheckoutItem::Workflow(w.id),
        )
        .await;
    let key = f.vault.license_key(&p).expect("derived");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|t| t == "workflow_purchases"),
        "{tables:?}"
    );
    for t in &tables {
        let sql = format!("SELECT count(*) FROM \"{t}\" AS r WHERE r::text LIKE '%' || $1 || '%'");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(key.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{t} holds the license key");
    }
    let (stored, by_sql): (String, String) = sqlx::query_as(
        "SELECT license_key_hash, encode(sha256(convert_to($2, 'UTF8')), 'hex') \
         FROM workflow_purchases WHERE id = $1",
    )
    .bind(p.id.as_uuid())
    .bind(key.as_str())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, key.hash().as_str());
    assert_eq!(by_sql, stored, "0016's digest is vault-core's");
}

/// The two users the download-key tests cross: a reader with a free
/// download, and a buyer of a paid workflow.
struct Crossed {
    pool: PgPool,
    store: Arc<dyn Store>,
    fx: Fixture,
    free: vault_core::catalog::workflow::Workflow,
    paid_file: vault_core::catalog::file::WorkflowFile,
    buyer: vault_core::value::actor::Actor,
    bought: vault_core::commerce::purchase::Purchase,
    read: vault_core::delivery::download::Download,
}

async fn crossed() -> Option<Crossed> {
    use vault_core::value::actor::Actor;
    use vault_core::vault::CheckoutItem;
    let store = common::fresh_store().await?;
    let pool = store.pool().clone();
    let store: Arc<dyn Store> = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store)).await;
    let (free, _) = fx.workflow("free", PricingTier::Free, None).await;
    let (paid, paid_file) = fx.workflow("paid", PricingTier::Pro, Some(900)).await;
    let buyer = Actor::user("buyer").unwrap();
    let bought = fx.buy(&buyer, CheckoutItem::Workflow(paid.id)).await;
    let read = fx
        .vault
        .download(
            &Actor::user("reader").unwrap(),
            free.id,
            None,
            &Default::default(),
        )
        .await
        .unwrap()
        .download;
    Some(Crossed {
        pool,
        store,
        fx,
        free,
        paid_file,
        buyer,
        bought,
        read,
    })
}

/// The download row's foreign keys are pairs (migration 0017): a download
/// naming a purchase or membership that is not its user's is refused as
/// that entity not found, an anonymous one naming a purchase by the CHECK
/// that keeps the pair whole, and a row naming a file of another workflow
/// by the key. Nothing of a refused download is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_names_its_workflows_file_and_its_users_purchase() {
    use vault_core::delivery::download::DownloadSource;
    use vault_core::insight::analytics::AnalyticsDelta;
    use vault_core::store::{Charge, Entity, StoreError};
    use vault_core::value::ids::DownloadId;
    let Some(Crossed {
        pool,
        store,
        fx,
        free,
        paid_file,
        buyer,
        bought,
        read,
    }) = crossed().await
    else {
        return;
    };
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM workflow_downloads")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = rows().await;
    let delta = AnalyticsDelta::none(free.id, read.downloaded_at);
    let fresh = || {
        let mut d = read.clone();
        d.id = DownloadId::from_uuid(uuid::Uuid::new_v4());
        d
    };
    // `d` is refused as `expected` not found.
    let not_found =
        async |d: &vault_core::delivery::download::Download, expected: Entity| match store
            .record_download(d, &Charge::Nothing, &delta)
            .await
        {
            Err(StoreError::NotFound { entity, .. }) => assert_eq!(entity, expected),
            other => panic!("another user's {expected:?} must be refused, got {other:?}"),
        };
    // Another user's purchase.
    let mut theirs = fresh();
    theirs.source = DownloadSource::Purchase(bought.id);
    theirs.kind = vault_core::delivery::download::DownloadKind::Purchased;
    not_found(&theirs, Entity::Purchase).await;
    // Another user's membership.
    let membership = fx.join(&buyer, PricingTier::Pro, None, false).await;
    let mut joined = fresh();
    joined.source = DownloadSource::Membership(membership.id);
    joined.kind = vault_core::delivery::download::DownloadKind::Membership;
    not_found(&joined, Entity::Membership).await;
    // Anonymous, naming a purchase.
    let mut nobody = theirs.clone();
    nobody.id = DownloadId::from_uuid(uuid::Uuid::new_v4());
    nobody.user_id = None;
    match store
        .record_download(&nobody, &Charge::Nothing, &delta)
        .await
    {
        Err(StoreError::Backend { source, .. }) => assert!(
            source
                .to_string()
                .contains("workflow_downloads_charged_user"),
            "{source}"
        ),
        other => panic!("an anonymous charged download must be refused, got {other:?}"),
    }
    // Another workflow's file: the store's write refuses it before the
    // insert, so the key itself is tried with a row written directly.
    let code = sqlstate(
        &pool,
        format!(
            "INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
             download_type, source, downloaded_at) VALUES ('{}', 'reader', '{}', '{}', '1.0.0', \
             'free', 'free', now())",
            uuid::Uuid::new_v4(),
            free.id,
            paid_file.id
        ),
    )
    .await;
    assert_eq!(code.as_deref(), Some("23503"), "the (workflow, file) key");
    // A workflow that does not exist, with a file that does: the same pair
    // refuses it, the row's own key to its workflow gone (migration 0020).
    let code = sqlstate(
        &pool,
        format!(
            "INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
             download_type, source, downloaded_at) VALUES ('{}', 'reader', '{}', '{}', '1.0.0', \
             'free', 'free', now())",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            paid_file.id
        ),
    )
    .await;
    assert_eq!(
        code.as_deref(),
        Some("23503"),
        "a workflow that does not exist"
    );
    assert_eq!(rows().await, before, "a refused download writes no row");
    // Deleting a workflow still takes its downloads, through its files.
    let of_free = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM workflow_downloads WHERE workflow_id = $1",
        )
        .bind(free.id.as_uuid())
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(of_free().await > 0, "the reader's download is there");
    sqlx::query("DELETE FROM workflows WHERE id = $1")
        .bind(free.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        of_free().await,
        0,
        "a deleted workflow's downloads go with it"
    );
}

/// Migration 0018 validates 0017's keys over the rows already there: a
/// row that breaks a pair (here, one naming another user's purchase, which
/// the single keys before 0017 took) stops it, naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_the_download_keys_names_a_row_that_breaks_one() {
    let Some(Crossed {
        pool, bought, read, ..
    }) = crossed().await
    else {
        return;
    };
    // As a database between 0017 and 0018 could hold it.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE workflow_downloads DROP CONSTRAINT workflow_downloads_purchase_id_fkey; \
         INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
         download_type, source, purchase_id, downloaded_at) \
         SELECT '{}', user_id, workflow_id, file_id, file_version, 'purchased', 'purchase', \
         '{}', downloaded_at FROM workflow_downloads WHERE id = '{}'; \
         ALTER TABLE workflow_downloads ADD CONSTRAINT workflow_downloads_purchase_id_fkey \
         FOREIGN KEY (user_id, purchase_id) REFERENCES workflow_purchases (user_id, id) NOT VALID; \
         DELETE FROM _sqlx_migrations WHERE version = 18;",
        uuid::Uuid::new_v4(),
        bought.id,
        read.id
    )))
    .execute(&pool)
    .await
    .unwrap();
    let e = migrate(&pool).await.unwrap_err();
    assert!(
        format!("{e:?}").contains("workflow_downloads_purchase_id_fkey"),
        "{e:?}"
    );
}

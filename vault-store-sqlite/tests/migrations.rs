//! Schema migrations and connection settings: a fresh file gets the schema,
//! reopening changes nothing, a newer schema is refused untouched, racing
//! openers apply it once, and every foreign key is indexed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use rusqlite::{Connection, OpenFlags};
use vault_core::delivery::download::DownloadSource;
use vault_core::store::{Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::ids::{DownloadId, PurchaseId};
use vault_core::value::tier::PricingTier;
use vault_store_sqlite::{SCHEMA_VERSION, SchemaError, SqliteStore};

use crate::common::{assert_same, downloads_back_to_18, snapshot};

const TABLES: [&str; 11] = [
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
];

const VIEWS: [&str; 2] = ["active_memberships", "workflow_stats"];

fn raw(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn user_version(conn: &Connection) -> u32 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn names(conn: &Connection, kind: &str) -> BTreeSet<String> {
    conn.prepare("SELECT name FROM sqlite_schema WHERE type = ?1")
        .unwrap()
        .query_map([kind], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn fresh_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    (dir, path)
}

fn schema_error(e: &StoreError) -> &SchemaError {
    match e {
        StoreError::Backend { source, .. } => source
            .downcast_ref::<SchemaError>()
            .unwrap_or_else(|| panic!("not a SchemaError: {source}")),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_file_gets_the_whole_schema() {
    let (_dir, path) = fresh_path();
    let store = SqliteStore::open(&path).await.unwrap();
    let conn = raw(&path);
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    let tables = names(&conn, "table");
    for t in TABLES {
        assert!(tables.contains(t), "missing table {t}: {tables:?}");
    }
    let views = names(&conn, "view");
    for v in VIEWS {
        assert!(views.contains(v), "missing view {v}: {views:?}");
        // The views compile against the tables they name.
        conn.prepare(&format!("SELECT * FROM {v}")).unwrap();
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // WAL is a property of the file: every connection sees it.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(store);
}

/// Foreign keys are a per-connection setting, so the store's own writer is
/// checked by what it does: a download naming a purchase that does not
/// exist (the one reference `record_download` leaves to the database) is
/// refused, and nothing is written. The keys are pairs (user, purchase or
/// membership): another user's purchase or membership is refused too, and
/// an anonymous download naming a purchase by the CHECK that keeps the
/// pair whole.
async fn foreign_keys_enforced(store: SqliteStore, path: Option<&Path>) {
    let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("free", PricingTier::Free, None).await;
    let reader = Actor::user("reader").unwrap();
    let t = fx
        .vault
        .download(&reader, w.id, None, &Default::default())
        .await
        .unwrap();
    // Another user's purchase and membership: the single keys of schema
    // 18 took them, the pairs of 0019 do not.
    let (paid, _) = fx.workflow("paid", PricingTier::Pro, Some(900)).await;
    let buyer = Actor::user("buyer").unwrap();
    let theirs = fx
        .buy(&buyer, vault_core::vault::CheckoutItem::Workflow(paid.id))
        .await;
    let member = fx.join(&buyer, PricingTier::Pro, None, false).await;
    let delta =
        vault_core::insight::analytics::AnalyticsDelta::none(w.id, t.download.downloaded_at);
    let before = path.map(snapshot);
    let nowhere = DownloadSource::Purchase(PurchaseId::from_uuid(uuid::Uuid::new_v4()));
    for (source, signed_in, refusal) in [
        (nowhere, true, "FOREIGN KEY constraint failed"),
        (nowhere, false, "CHECK constraint failed"),
        (
            DownloadSource::Purchase(theirs.id),
            true,
            "FOREIGN KEY constraint failed",
        ),
        (
            DownloadSource::Membership(member.id),
            true,
            "FOREIGN KEY constraint failed",
        ),
    ] {
        let mut dangling = t.download.clone();
        dangling.id = DownloadId::from_uuid(uuid::Uuid::new_v4());
        dangling.source = source;
        if !signed_in {
            dangling.user_id = None;
        }
        let r = fx
            .store
            .record_download(&dangling, &vault_core::store::Charge::Nothing, &delta)
            .await;
        match r {
            Err(StoreError::Backend { source, .. }) => {
                assert!(source.to_string().contains(refusal), "{source}")
            }
            other => panic!("{source:?} must be refused, got {other:?}"),
        }
    }
    if let (Some(before), Some(path)) = (before, path) {
        assert_same(&before, &snapshot(path), "a refused dangling reference");
    }
    assert_eq!(
        fx.store
            .downloads_for_workflow(w.id, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_keys_are_on_for_files() {
    let (_dir, path) = fresh_path();
    let store = SqliteStore::open(&path).await.unwrap();
    foreign_keys_enforced(store, Some(&path)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_keys_are_on_in_memory() {
    foreign_keys_enforced(SqliteStore::open_in_memory().await.unwrap(), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reopening_is_a_no_op() {
    let (_dir, path) = fresh_path();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
        let (w, _) = fx.workflow("kept", PricingTier::Pro, Some(4900)).await;
        fx.buy(
            &Fixture::user("buyer"),
            vault_core::vault::CheckoutItem::Workflow(w.id),
        )
        .await;
    }
    let before = snapshot(&path);
    assert_eq!(before["workflows"].len(), 1);
    for _ in 0..3 {
        let store = SqliteStore::open(&path).await.unwrap();
        assert_same(&before, &snapshot(&path), "reopening");
        // And the data reads back through the store.
        let fx_store: Arc<dyn Store> = Arc::new(store);
        assert_eq!(fx_store.categories().await.unwrap().len(), 9);
        drop(fx_store);
        assert_same(&before, &snapshot(&path), "reopening");
    }
    assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
}

/// Migration 0016 copies each workflow's thumbnail out of its media into
/// the cards' column: a database written before it lists the same cards.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_before_the_thumbnail_column_gets_its_thumbnails() {
    use vault_core::catalog::query::WorkflowQuery;
    use vault_core::catalog::store::CatalogStore;
    let (_dir, path) = fresh_path();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
        let mut c = fx.content("pictured", PricingTier::Free, None);
        c.media.thumbnail_url = Some("https://cdn.example.com/p.png".into());
        fx.publish(c).await;
        fx.publish(fx.content("plain", PricingTier::Free, None))
            .await;
    }
    {
        let conn = Connection::open(&path).unwrap();
        downloads_back_to_18(&conn);
        conn.execute_batch(
            "ALTER TABLE workflows DROP COLUMN thumbnail_url; \
             DROP INDEX idx_workflow_purchases_user_items; \
             CREATE INDEX idx_workflow_purchases_user ON workflow_purchases (user_id, created_at DESC, id); \
             ALTER TABLE workflow_purchases RENAME COLUMN license_key_hash TO license_key; \
             UPDATE workflow_purchases SET license_key = printf('WV-00000-00000-00000-00000-%05d', rowid); \
             PRAGMA user_version = 15;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let (page, _) = store
        .list_cards(&WorkflowQuery::default(), None)
        .await
        .unwrap();
    let mut thumbs: Vec<(String, Option<String>)> = page
        .items
        .iter()
        .map(|c| (c.slug.to_string(), c.thumbnail_url.clone()))
        .collect();
    thumbs.sort();
    assert_eq!(
        thumbs,
        [
            (
                "pictured".into(),
                Some("https://cdn.example.com/p.png".into())
            ),
            ("plain".into(), None),
        ]
    );
    assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
}

/// Migration 0019 rebuilds the download rows' table: every row comes
/// through, the table keeps only the indexes its reads use, and each
/// (workflow, user) pair downloaded before is one, from those rows.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_before_the_lean_download_rows_keeps_its_downloads() {
    use vault_core::delivery::store::DeliveryStore;
    use vault_core::vault::CheckoutItem;
    let (_dir, path) = fresh_path();
    let buyer = Actor::user("buyer").unwrap();
    let before = {
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
        let (free, _) = fx.workflow("free", PricingTier::Free, None).await;
        let (paid, _) = fx.workflow("paid", PricingTier::Pro, Some(900)).await;
        fx.buy(&buyer, CheckoutItem::Workflow(paid.id)).await;
        for w in [free.id, paid.id, paid.id] {
            fx.vault
                .download(&buyer, w, None, &Default::default())
                .await
                .unwrap();
        }
        fx.vault
            .download(&Actor::Anonymous, free.id, None, &Default::default())
            .await
            .unwrap();
        let mine = fx
            .store
            .downloads_for_user(buyer.user_id().unwrap(), 10)
            .await
            .unwrap();
        let all_free = fx.store.downloads_for_workflow(free.id, 10).await.unwrap();
        assert_eq!((mine.len(), all_free.len()), (3, 2));
        (mine, all_free, free.id, paid.id)
    };
    // Back to schema 18's download rows.
    {
        let conn = Connection::open(&path).unwrap();
        downloads_back_to_18(&conn);
        conn.pragma_update(None, "user_version", 18).unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
    let (mine, all_free, free, paid) = before;
    let buyer_id = buyer.user_id().unwrap();
    for w in [free, paid] {
        assert!(store.has_downloaded(buyer_id, w).await.unwrap());
    }
    let stranger = Actor::user("stranger").unwrap();
    assert!(
        !store
            .has_downloaded(stranger.user_id().unwrap(), free)
            .await
            .unwrap()
    );
    assert_eq!(
        raw(&path)
            .query_row("SELECT count(*) FROM workflow_downloaders", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        2,
        "one row per pair: the buyer's two workflows; the anonymous download has none"
    );
    assert_eq!(
        store
            .downloads_for_user(buyer.user_id().unwrap(), 10)
            .await
            .unwrap(),
        mine
    );
    assert_eq!(
        store.downloads_for_workflow(free, 10).await.unwrap(),
        all_free
    );
    assert_eq!(
        names(&raw(&path), "index")
            .into_iter()
            .filter(|i| i.starts_with("idx_workflow_downloads"))
            .collect::<Vec<_>>(),
        [
            "idx_workflow_downloads_user",
            "idx_workflow_downloads_workflow",
        ]
    );
}

/// A download row that migration 0019's keys would refuse (here, one
/// naming another user's purchase, which older versions wrote when a store
/// was called with one) stops the migration with the count and an id,
/// and leaves the file at schema 18; without it, the migration runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_download_off_its_keys_stops_the_rebuild_and_says_so() {
    use vault_core::vault::CheckoutItem;
    let (_dir, path) = fresh_path();
    let stray = DownloadId::from_uuid(uuid::Uuid::new_v4());
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
        let (free, _) = fx.workflow("free", PricingTier::Free, None).await;
        let (paid, _) = fx.workflow("paid", PricingTier::Pro, Some(900)).await;
        let bought = fx
            .buy(
                &Actor::user("buyer").unwrap(),
                CheckoutItem::Workflow(paid.id),
            )
            .await;
        let read = fx
            .vault
            .download(
                &Actor::user("reader").unwrap(),
                free.id,
                None,
                &Default::default(),
            )
            .await
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        downloads_back_to_18(&conn);
        conn.pragma_update(None, "user_version", 18).unwrap();
        conn.execute(
            "INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
             download_type, source, purchase_id, downloaded_at) \
             SELECT ?1, user_id, workflow_id, file_id, file_version, 'purchased', 'purchase', ?2, \
             downloaded_at FROM workflow_downloads WHERE id = ?3",
            rusqlite::params![
                stray.to_string(),
                bought.id.to_string(),
                read.download.id.to_string()
            ],
        )
        .unwrap();
    }
    let Err(e) = SqliteStore::open(&path).await else {
        panic!("the migration must refuse a download off its keys");
    };
    match schema_error(&e) {
        SchemaError::DownloadsOffTheirKeys { count, example } => {
            assert_eq!((*count, example.as_str()), (1, stray.to_string().as_str()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(user_version(&raw(&path)), 18, "nothing of 0019 kept");
    Connection::open(&path)
        .unwrap()
        .execute(
            "DELETE FROM workflow_downloads WHERE id = ?1",
            [stray.to_string()],
        )
        .unwrap();
    SqliteStore::open(&path).await.unwrap();
    assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// Migration 0018 replaces each stored license key by its digest: the key
/// its buyer holds still finds the purchase, and neither the file nor its
/// WAL keeps any key's text afterwards (sixty purchases: pages whose free
/// space would keep a replaced key if it were not overwritten).
#[tokio::test(flavor = "multi_thread")]
async fn a_database_before_hashed_license_keys_keeps_none_in_clear() {
    use vault_core::commerce::license::LicenseKey;
    use vault_core::commerce::store::CommerceStore;
    use vault_core::vault::CheckoutItem;
    let (dir, path) = fresh_path();
    let mut bought = Vec::new();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
        let holder = Actor::user("holder").unwrap();
        for n in 0..60 {
            let (w, _) = fx
                .workflow(&format!("keyed-{n}"), PricingTier::Pro, Some(900))
                .await;
            bought.push(fx.buy(&holder, CheckoutItem::Workflow(w.id)).await.id);
        }
    }
    // As schema 17 kept them: the keys themselves, in a column of their name.
    let key = |n: usize| format!("WV-8M2QK-4T7ZC-0N9XH-RB3WD-{n:05}");
    {
        let conn = Connection::open(&path).unwrap();
        downloads_back_to_18(&conn);
        conn.execute_batch(
            "ALTER TABLE workflow_purchases RENAME COLUMN license_key_hash TO license_key; \
             PRAGMA user_version = 17;",
        )
        .unwrap();
        for (n, id) in bought.iter().enumerate() {
            conn.execute(
                "UPDATE workflow_purchases SET license_key = ?1 WHERE id = ?2",
                rusqlite::params![key(n), id.to_string()],
            )
            .unwrap();
        }
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    assert!(
        holds(&file_bytes(&path), &key(7)),
        "the old file holds the keys"
    );
    let store = SqliteStore::open(&path).await.unwrap();
    for (n, id) in bought.iter().enumerate() {
        let read = store.purchase(*id).await.unwrap().unwrap();
        assert_eq!(
            read.license_key_hash,
            LicenseKey::parse(&key(n)).unwrap().hash()
        );
    }
    assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
    // With the store still open: the file, its WAL and anything else in
    // the directory.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap().path();
        let bytes = file_bytes(&entry);
        for n in 0..bought.len() {
            assert!(!holds(&bytes, &key(n)), "{} holds key {n}", entry.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_schema_is_refused_untouched() {
    let (_dir, path) = fresh_path();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        Fixture::new(Arc::new(store) as Arc<dyn Store>).await;
    }
    let newer = SCHEMA_VERSION + 1;
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let before = snapshot(&path);
    let bytes = file_bytes(&path);
    for _ in 0..2 {
        let e = SqliteStore::open(&path).await.unwrap_err();
        match schema_error(&e) {
            SchemaError::TooNew { found, supported } => {
                assert_eq!((*found, *supported), (newer, SCHEMA_VERSION));
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
        assert!(e.to_string().contains("sqlite"));
        assert_same(&before, &snapshot(&path), "refusing a newer schema");
        assert_eq!(file_bytes(&path), bytes, "the refused file changed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_schema_in_rollback_journal_mode_is_refused_untouched() {
    // Written by some other tool (or a future version) without WAL: the
    // refusal must not convert the file to WAL on the way out.
    let (_dir, path) = fresh_path();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future_table (id INTEGER PRIMARY KEY); INSERT INTO future_table VALUES (1);")
            .unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
    }
    let bytes = file_bytes(&path);
    let e = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(schema_error(&e), SchemaError::TooNew { found, .. } if *found == SCHEMA_VERSION + 7)
    );
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "the refused file was switched to another journal mode"
    );
    assert_eq!(file_bytes(&path), bytes, "the refused file changed");
}

#[test]
fn racing_threads_apply_the_schema_once() {
    for round in 0..10 {
        let (_dir, path) = fresh_path();
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (barrier, path) = (Arc::clone(&barrier), path.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    barrier.wait();
                    rt.block_on(SqliteStore::open(&path)).map(|_| ())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: an opener failed: {e:?}"));
        }
        let conn = raw(&path);
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
        assert!(names(&conn, "table").contains("workflows"));
    }
}

/// Set by `racing_processes_apply_the_schema_once` for its children.
const CHILD_DB: &str = "VAULT_MIGRATIONS_CHILD_DB";

/// Not a test on its own: the body of each child process.
#[tokio::test(flavor = "multi_thread")]
async fn child_opens_the_database() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let start: u128 = std::env::var("VAULT_MIGRATIONS_START")
        .unwrap()
        .parse()
        .unwrap();
    // Start together: wait for the agreed instant.
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        if now >= start {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    SqliteStore::open(&path).await.unwrap();
}

#[test]
fn racing_processes_apply_the_schema_once() {
    let exe = std::env::current_exe().unwrap();
    for round in 0..3 {
        let (_dir, path) = fresh_path();
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 500;
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--exact", "child_opens_the_database", "--test-threads=1"])
                    .env(CHILD_DB, &path)
                    .env("VAULT_MIGRATIONS_START", start.to_string())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a child failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("1 passed"),
                "the child ran no test"
            );
        }
        assert_eq!(user_version(&raw(&path)), SCHEMA_VERSION);
    }
}

/// Each table's foreign keys as (child column, parent table), first column
/// of each key.
fn foreign_keys(conn: &Connection, table: &str) -> Vec<(String, String)> {
    let mut firsts: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT id, seq, \"table\", \"from\" FROM pragma_foreign_key_list(?1)")
        .unwrap();
    let rows = stmt
        .query_map([table], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (id, seq, parent, from) = row.unwrap();
        if seq == 0 {
            firsts.insert(id, (from, parent));
        }
    }
    firsts.into_values().collect()
}

/// The leading column of each of a table's indexes (explicit, unique and
/// primary key ones alike).
fn leading_columns(conn: &Connection, table: &str) -> BTreeSet<String> {
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_list(?1)")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    indexes
        .iter()
        .filter_map(|i| {
            conn.query_row(
                "SELECT name FROM pragma_index_info(?1) WHERE seqno = 0",
                [i],
                |r| r.get::<_, Option<String>>(0),
            )
            .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_foreign_key_is_indexed() {
    let (_dir, path) = fresh_path();
    SqliteStore::open(&path).await.unwrap();
    let conn = raw(&path);
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    let mut scanned = Vec::new();
    for t in &tables {
        let leading = leading_columns(&conn, t);
        for (col, parent) in foreign_keys(&conn, t) {
            checked += 1;
            if !leading.contains(&col) {
                missing.push(format!("{t}.{col} -> {parent}"));
            }
            // What SQLite runs on a parent delete or key change: it must
            // search an index (a partial `IS NOT NULL` one qualifies), not
            // scan the child table.
            let plan: Vec<String> = conn
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT 1 FROM \"{t}\" WHERE \"{col}\" = ?1"
                ))
                .unwrap()
                .query_map([""], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            if plan.iter().any(|p| p.starts_with("SCAN")) {
                scanned.push(format!("{t}.{col}: {plan:?}"));
            }
        }
    }
    assert!(checked >= 20, "only {checked} foreign keys found");
    assert!(
        missing.is_empty(),
        "foreign keys without an index: {missing:?}"
    );
    assert!(
        scanned.is_empty(),
        "foreign key lookups that scan: {scanned:?}"
    );
}

//! Search on SQLite: a window of the listing, then the full-text index.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use vault_core::catalog::query::{WorkflowQuery, run_query};
use vault_core::store::{CatalogStore, Store};
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;

/// A search reads a window of the listing first and asks the full-text
/// index only when the window holds less than a page
/// (`SqliteOptions::search_window`): through a window of three rows, every
/// page is the core's answer (`vault_core::testkit`'s case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_in_a_window_or_the_index_gives_the_same_pages() {
    use vault_store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(
        dir.path().join("vault.db"),
        SqliteOptions {
            search_window: 3,
            ..SqliteOptions::default()
        },
    )
    .await
    .unwrap();
    vault_core::testkit::search_pages_match_the_core_through_any_window(Arc::new(store)).await;
}

/// A database from before the search words (schema 12) gets them, and its
/// full-text rows in the core's words, when it is opened: a search through
/// the window finds what it found before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_database_gets_its_search_words_on_open() {
    use vault_store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let options = || SqliteOptions {
        search_window: 2,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, options()).await.unwrap());
    let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    for i in 0..5 {
        let mut c = f.content(&format!("old-{i}"), PricingTier::Free, None);
        c.title = format!("Legacy sync {i}");
        f.publish(c).await;
    }
    drop(f);
    drop(store);
    // Back to schema 12: no column, the full-text rows as that version
    // wrote them (the raw text), 0015's indexes, 0016's column, 0017's
    // index, 0018's digests (keys again) and 0019's parent pairs and
    // downloaders' table undone.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        common::downloads_back_to_18(&conn);
        conn.execute_batch(
            "DROP INDEX idx_workflows_category_downloads; \
             DROP INDEX idx_workflows_category_newest; \
             DROP INDEX idx_workflows_category_score; \
             DROP INDEX idx_workflows_category_rating; \
             DROP INDEX idx_workflows_newest_words; \
             CREATE INDEX idx_workflows_status_newest ON workflows (status, newest_at DESC, id); \
             ALTER TABLE workflows DROP COLUMN search_words; \
             ALTER TABLE workflows DROP COLUMN thumbnail_url; \
             DROP INDEX idx_workflow_purchases_user_items; \
             CREATE INDEX idx_workflow_purchases_user ON workflow_purchases (user_id, created_at DESC, id); \
             DELETE FROM workflows_fts; \
             INSERT INTO workflows_fts (rowid, title, short_description, description, tags) \
             SELECT rowid, title, short_description, description, '' FROM workflows; \
             ALTER TABLE workflow_purchases RENAME COLUMN license_key_hash TO license_key; \
             UPDATE workflow_purchases SET license_key = printf('WV-00000-00000-00000-00000-%05d', rowid); \
             PRAGMA user_version = 12;",
        )
        .unwrap();
    }
    let store = SqliteStore::open_with(&path, options()).await.unwrap();
    let all = vault_core::testkit::published_catalog(&store).await;
    assert_eq!(all.len(), 5);
    let words: Vec<String> = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut st = conn
            .prepare("SELECT search_words FROM workflows ORDER BY title")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(words[0].starts_with(" legacy sync 0"), "{words:?}");
    for text in ["legacy", "sync 3", "leg sy"] {
        let q = WorkflowQuery {
            text: Some(text.into()),
            limit: 1,
            ..WorkflowQuery::default()
        };
        let got = store.list_workflows(&q).await.unwrap();
        assert_eq!(got.items, run_query(&q, &all).items, "{text:?}");
        assert_eq!(got.next, run_query(&q, &all).next, "{text:?}");
    }
}

/// Words past ASCII are the core's words in both steps of a search: the
/// full-text index (a window of 0) and the window (a page it fills) give
/// the core's answer for text that SQLite's `unicode61` tokenizer split
/// otherwise (a Devanagari vowel sign, Greek final sigma, a circled
/// letter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_steps_split_words_as_the_core_does() {
    use vault_store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let mut stores = Vec::new();
    for (name, window) in [("index.db", 0), ("window.db", 1000)] {
        let store = Arc::new(
            SqliteStore::open_with(
                dir.path().join(name),
                SqliteOptions {
                    search_window: window,
                    ..SqliteOptions::default()
                },
            )
            .await
            .unwrap(),
        );
        let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
        for (i, title) in [
            "हिंदी one",
            "हिंदी two",
            "οδος one",
            "οδος two",
            "ⓐbc one",
            "ⓐbc two",
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = f.content(&format!("t-{i}"), PricingTier::Free, None);
            c.title = title.into();
            f.publish(c).await;
        }
        stores.push((store, f));
    }
    for text in ["दी", "हिं", "हिंदी", "οδοσ", "οδος", "οδο", "bc", "ⓐ", "ⓐb"]
    {
        let mut answers = Vec::new();
        for (store, _) in &stores {
            let all = vault_core::testkit::published_catalog(&**store).await;
            let q = WorkflowQuery {
                text: Some(text.into()),
                limit: 1,
                ..WorkflowQuery::default()
            };
            let want = run_query(&q, &all);
            let got = store.list_workflows(&q).await.unwrap();
            assert_eq!(got.items, want.items, "{text:?}");
            assert_eq!(got.next, want.next, "{text:?}");
            answers.push(got.items.len());
        }
        assert_eq!(answers[0], answers[1], "{text:?}");
    }
}

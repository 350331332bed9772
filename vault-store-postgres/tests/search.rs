//! Full-text search gives exactly the core's answer
//! (`vault_core::catalog::query::run_query`), on text that PostgreSQL's own parser
//! would split differently: e-mail addresses, URLs, hyphens, underscores,
//! apostrophes, accents, other scripts, tsquery operators, and words past
//! the sixteenth of a field (which the core does not index).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use vault_core::catalog::query::{WorkflowQuery, run_query};
use vault_core::catalog::workflow::parse_tags;
use vault_core::store::{CatalogStore, Store};
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_the_core_semantics_exactly() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let long: Vec<String> = (1..=20).map(|i| format!("w{i}")).collect();
    let texts: [(&str, &str, &str, &[&str]); 6] = [
        (
            "Email foo@bar.com to ops-team",
            "Routes mail",
            "See https://example.org/path?q=1 for snake_case_words and v2.0",
            &["email"],
        ),
        (
            "Café déjà vu",
            "ÉCOLE straße Ünïcödé",
            "日本語 テキスト 中文",
            &["i18n"],
        ),
        ("Numbers 123abc 4567", "", &long.join(" "), &[]),
        ("Plain", "", "", &["crm-sync", "n8n"]),
        (
            "Don't stop-believing",
            "",
            "it's O'Reilly's \"quoted\" back\\slash & more | less !not",
            &[],
        ),
        ("seventeenth w17", "", "", &[]),
    ];
    for (i, (title, short, description, tags)) in texts.iter().enumerate() {
        let mut c = f.content(&format!("text-{i}"), PricingTier::Free, None);
        c.title = (*title).into();
        c.short_description = (*short).into();
        c.description = (*description).into();
        c.tags = parse_tags(tags).unwrap();
        f.publish(c).await;
    }
    let all = vault_core::testkit::published_catalog(&*store).await;
    assert_eq!(all.len(), texts.len());
    let queries = [
        "bar",
        "com",
        "foo@bar",
        "foo@bar.com",
        "ops",
        "team",
        "ops-team",
        "example org",
        "https",
        "path q",
        "snake",
        "case",
        "words",
        "snake_case",
        "v2",
        "0",
        "v2.0",
        "café",
        "CAFÉ",
        "caf",
        "deja",
        "déjà",
        "école",
        "ÉCO",
        "stra",
        "straße",
        "ünï",
        "日本",
        "テキ",
        "中",
        "123",
        "123a",
        "abc",
        "45",
        "w1",
        "w16",
        "w17",
        "w20",
        "seventeenth",
        "crm",
        "sync",
        "crm-sync",
        "n8",
        "don",
        "t",
        "don't",
        "reilly",
        "o'reilly's",
        "quoted",
        "\"quoted\"",
        "back\\slash",
        "slash",
        "&",
        "|",
        "!not",
        "not",
        "'",
        ":*",
        "a:*b",
        "x & y",
        "( )",
        "Routes MAIL",
        "automates text",
        "text 1",
        "plain",
        "email",
        "i18n",
        "i",
        "18n",
        "numbers 4567 w2",
        "nothing-matches-this",
    ];
    for text in queries {
        let q = WorkflowQuery {
            text: Some(text.into()),
            limit: 100,
            ..WorkflowQuery::default()
        };
        let expected: Vec<_> = run_query(&q, &all).items.iter().map(|w| w.id).collect();
        let got: Vec<_> = store
            .list_workflows(&q)
            .await
            .unwrap()
            .items
            .iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(got, expected, "query {text:?}");
    }
    // The core indexes 16 words per field: the 17th of a long description
    // is found only where it is also among a field's first 16.
    let q = WorkflowQuery {
        text: Some("w17".into()),
        limit: 100,
        ..WorkflowQuery::default()
    };
    assert_eq!(store.list_workflows(&q).await.unwrap().items.len(), 1);
}

/// A search reads a window of the listing first and asks the word index
/// only when the window holds less than a page (`PgOptions::search_window`):
/// through a window of three rows, every page is the core's answer
/// (`vault_core::testkit`'s case), the viewed listing's too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_in_a_window_or_the_index_gives_the_same_pages() {
    use vault_store_postgres::{PgOptions, PgStore};
    let Some(options) = common::fresh_database().await else {
        return;
    };
    let store = PgStore::connect_with_options(
        options,
        PgOptions {
            search_window: 3,
            ..PgOptions::default()
        },
    )
    .await
    .unwrap();
    let store = Arc::new(store);
    let all = vault_core::testkit::search_pages_match_the_core_through_any_window(
        Arc::clone(&store) as Arc<dyn Store>,
    )
    .await;
    // The viewed listing takes the same two steps.
    let viewer = vault_core::value::actor::UserId::parse("viewer").unwrap();
    for text in ["common", "rare"] {
        let q = WorkflowQuery {
            text: Some(text.into()),
            limit: 2,
            ..WorkflowQuery::default()
        };
        let (page, _) = store.list_workflows_viewed(&q, &viewer).await.unwrap();
        assert_eq!(page.items, run_query(&q, &all).items, "{text:?}");
    }
}

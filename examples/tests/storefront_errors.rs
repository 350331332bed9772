//! Every error a person can meet, over HTTP with JavaScript off: each is a
//! page with its status, the reason in words (the field, for bad input),
//! the layout still knowing who is signed in, and neither a stack trace nor
//! an internal detail. A database another process holds is a 503 with
//! `Retry-After`, and the same request succeeds once it is free.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::*;
use vault_core::Actor;
use vault_examples::{seed_catalog, storefront};
use vault_store_sqlite::{SqliteOptions, SqliteStore};

const PAGE: &str = "/workflows/invoice-chaser";

/// What no error page may show, whatever went wrong.
fn nothing_internal(what: &str, g: &Got) {
    for leak in [
        "panicked",
        "stack backtrace",
        "src/",
        "rusqlite",
        "sqlx",
        "SQLITE_",
        "database is locked",
    ] {
        assert!(!g.body.contains(leak), "{what} shows {leak:?}: {}", g.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_is_a_page_with_its_status_and_reason() {
    let site = site().await;
    let anon = browser();
    let user = browser();
    sign_up(&user, &site, "eve@example.com", "eve password!!").await;

    // (who, path, status, words the page must contain)
    let cases: [(&reqwest::Client, &str, u16, &str); 6] = [
        (&anon, "/?cursor=zz", 400, "cursor"),
        (&anon, "/?sort=loudest", 400, "sort"),
        (&anon, "/admin", 401, "Sign in"),
        (&user, "/admin", 403, "staff"),
        (
            &anon,
            "/workflows/no-such-workflow",
            404,
            "workflow not found",
        ),
        (&anon, "/no/such/page", 404, "no such page"),
    ];
    for (who, path, status, words) in cases {
        let g = get(who, &site, path).await;
        assert_eq!(g.status, status, "{path}: {}", g.body);
        assert!(
            g.body.to_lowercase().contains(&words.to_lowercase()),
            "{path} says {words:?}: {}",
            g.body
        );
        assert!(g.body.contains("<html"), "{path} is a page: {}", g.body);
        nothing_internal(path, &g);
    }
    // The signed-in user's error page still has their header.
    assert!(signed_in(&get(&user, &site, "/admin").await.body));

    // 422 names the field; nothing is written.
    let review = |rating: &'static str| {
        [
            ("rating", rating),
            ("title", "Works"),
            ("body", "Chases invoices."),
        ]
    };
    let bad = post_form(&user, &site, PAGE, &format!("{PAGE}/reviews"), &review("6")).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("rating"), "{}", bad.body);
    nothing_internal("422", &bad);
    let first = post_form(&user, &site, PAGE, &format!("{PAGE}/reviews"), &review("4")).await;
    assert_eq!(first.status, 303, "{}", first.body);

    // 409: one review per person and workflow.
    let again = post_form(&user, &site, PAGE, &format!("{PAGE}/reviews"), &review("5")).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already"), "{}", again.body);
    nothing_internal("409", &again);

    // 403 from a missing CSRF token is a page, not a bare status.
    let forged = got(user
        .post(format!("{}{PAGE}/favorite", site.base))
        .form(&[("note", "x")])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("<html"), "{}", forged.body);
}

/// A site on a SQLite file whose writes give up after 300 ms of waiting for
/// the lock, so a held lock turns into `Busy` quickly.
async fn impatient_site(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let db = dir.join("storefront.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(300),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&db, options).await.unwrap();
    let vault = vault_examples::vault_over(Arc::new(store)).unwrap();
    seed_catalog(&vault, &Actor::Service).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = storefront::demo_config(&base, &dir.join("files")).unwrap();
    let app = storefront::router(vault, config);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    (base, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_database_is_503_with_retry_after_and_then_works() {
    let dir = tempfile::tempdir().unwrap();
    let (base, db) = impatient_site(dir.path()).await;
    let b = browser();
    let post = |token: String| {
        let b = b.clone();
        let base = base.clone();
        async move {
            b.post(format!("{base}{PAGE}/favorite"))
                .form(&[
                    ("csrf", token.as_str()),
                    ("note", "for Monday"),
                    ("tags", ""),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let sign_up_page = b.get(format!("{base}/sign-up")).send().await.unwrap();
    let token = csrf(&sign_up_page.text().await.unwrap());
    let signed = b
        .post(format!("{base}/sign-up"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "bo@example.com"),
            ("name", "Bo"),
            ("password", "bo password!!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let page = b.get(format!("{base}{PAGE}")).send().await.unwrap();
    let token = csrf(&page.text().await.unwrap());

    // Another process's writer holds the lock.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let refused = post(token.clone()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body = refused.text().await.unwrap();
    assert!(body.contains("try again in a moment"), "{body}");
    assert!(body.contains("<html"), "{body}");
    nothing_internal(
        "503",
        &Got {
            status: 503,
            location: None,
            set_cookie: vec![],
            body: body.clone(),
        },
    );
    let favorites = b.get(format!("{base}/dashboard")).send().await.unwrap();
    assert!(
        !favorites.text().await.unwrap().contains("for Monday"),
        "the refused write wrote nothing"
    );

    holder.execute_batch("ROLLBACK").unwrap();
    let done = post(token).await;
    assert_eq!(done.status(), 303);
    let dashboard = b.get(format!("{base}/dashboard")).send().await.unwrap();
    assert!(dashboard.text().await.unwrap().contains("for Monday"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_500_page_and_the_server_lives_on() {
    use axum::routing::get;
    let routes = axum::Router::new()
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("sk_live_leaked_in_a_panic");
                }
                "unreachable"
            }),
        )
        .route("/ok", get(|| async { "ok" }));
    let app = storefront::with_layers(routes);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let b = browser();
    for _ in 0..2 {
        let r = b.get(format!("{base}/boom")).send().await.unwrap();
        assert_eq!(r.status(), 500);
        assert!(r.headers().contains_key("x-request-id"));
        let body = r.text().await.unwrap();
        assert!(body.contains("<html"), "{body}");
        assert!(body.contains("on our side"), "{body}");
        assert!(!body.contains("sk_live"), "{body}");
        nothing_internal(
            "panic",
            &Got {
                status: 500,
                location: None,
                set_cookie: vec![],
                body,
            },
        );
    }
    let ok = b.get(format!("{base}/ok")).send().await.unwrap();
    assert_eq!(ok.status(), 200, "the server lives on");
}

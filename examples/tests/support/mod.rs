//! The storefront test harness: the router on a loopback port over a SQLite
//! file with the demo catalog, and a cookie-keeping client that does not
//! follow redirects, as a browser with JavaScript off would be driven.
//! `VAULT_STOREFRONT_BACKEND=postgres` (with `DATABASE_URL`) runs the same
//! tests on PostgreSQL.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use reqwest::redirect::Policy;
use vault_core::Actor;
use vault_examples::{open_sqlite_vault, seed_catalog, storefront};

pub struct Site {
    pub base: String,
    pub vault: vault_core::Vault<dyn vault_core::store::Store>,
    _dir: tempfile::TempDir,
}

impl Site {
    /// The folder the object store keeps file bytes in.
    pub fn files_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("files")
    }
}

pub async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let vault = match std::env::var("VAULT_STOREFRONT_BACKEND").as_deref() {
        // CI runs every storefront test a second time on PostgreSQL, each
        // on a fresh database.
        Ok("postgres") => {
            let store = vault_store_postgres::testkit::fresh_store()
                .await
                .expect("VAULT_STOREFRONT_BACKEND=postgres needs DATABASE_URL");
            vault_examples::vault_over(std::sync::Arc::new(store)).unwrap()
        }
        _ => open_sqlite_vault(&dir.path().join("storefront.db"))
            .await
            .unwrap(),
    };
    seed_catalog(&vault, &Actor::Service).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = storefront::demo_config(&base, &dir.path().join("files")).unwrap();
    // The demo files' bytes, as the binary writes them.
    vault_examples::seed_files(&vault, &Actor::Service, config.files.as_ref())
        .await
        .unwrap();
    let app = storefront::router(vault.clone(), config);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    Site {
        base,
        vault,
        _dir: dir,
    }
}

/// A browser: keeps cookies, does not follow redirects (the tests look at
/// where each one goes).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub struct Got {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub body: String,
}

pub async fn got(r: reqwest::Response) -> Got {
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let set_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    Got {
        status: r.status().as_u16(),
        location,
        set_cookie,
        body: r.text().await.unwrap(),
    }
}

pub async fn get(b: &reqwest::Client, site: &Site, path: &str) -> Got {
    got(b.get(format!("{}{path}", site.base)).send().await.unwrap()).await
}

/// The CSRF token in a page's first form.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// Opens `page` (for its token) and posts `fields` to `action`.
pub async fn submit(
    b: &reqwest::Client,
    site: &Site,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Got {
    let token = csrf(&get(b, site, page).await.body);
    let mut form: Vec<(&str, &str)> = vec![("csrf", &token)];
    form.extend_from_slice(fields);
    got(b
        .post(format!("{}{action}", site.base))
        .form(&form)
        .send()
        .await
        .unwrap())
    .await
}

pub async fn sign_up(b: &reqwest::Client, site: &Site, email: &str, password: &str) -> Got {
    submit(
        b,
        site,
        "/sign-up",
        "/sign-up",
        &[("email", email), ("name", "Ada"), ("password", password)],
    )
    .await
}

pub async fn sign_in(b: &reqwest::Client, site: &Site, email: &str, password: &str) -> Got {
    submit(
        b,
        site,
        "/sign-in",
        "/sign-in",
        &[("email", email), ("password", password)],
    )
    .await
}

/// The page's `<main>`: what a person reads, without the `<head>` (a
/// test looking for text must not find it in the title).
pub fn main_part(html: &str) -> String {
    let start = html.find("<main").expect("a <main> element");
    let end = html.rfind("</main>").expect("a </main>");
    html[start..end].to_owned()
}

/// The dev mailbox once it holds `needle`: mails are sent by the job
/// worker, a moment after the request that queued them (5 s at most).
pub async fn mailbox_with(b: &reqwest::Client, site: &Site, needle: &str) -> Got {
    for _ in 0..100 {
        let g = get(b, site, "/dev/mailbox").await;
        if g.body.contains(needle) {
            return g;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail with {needle:?} in the mailbox after 5 s");
}

pub fn signed_in(html: &str) -> bool {
    html.contains("Sign out")
}

pub fn session_cookie(g: &Got) -> Option<String> {
    g.set_cookie
        .iter()
        .find(|c| c.starts_with("wv_session="))
        .cloned()
}

/// A browser signed in as the demo admin (created on first use).
pub async fn admin(site: &Site) -> reqwest::Client {
    let (email, password) = storefront::demo_admin(&site.vault).await.unwrap();
    let b = browser();
    let g = sign_in(&b, site, email, password).await;
    assert_eq!(g.status, 303, "admin sign-in: {}", g.body);
    b
}

/// Posts a form with this session's token, taken from `page`.
pub async fn post_form(
    b: &reqwest::Client,
    site: &Site,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Got {
    submit(b, site, page, action, fields).await
}

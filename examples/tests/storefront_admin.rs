//! The admin pages and the dashboard over HTTP, JavaScript off: staff create,
//! edit, upload to, publish and archive a workflow; search, ban and promote
//! accounts; read the audit trail. Users keep their profile and settings.
//! Nobody else gets in.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::catalog::file::FileAccess;
use vault_core::{Actor, Email, Slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_staff_open_the_admin_pages() {
    let site = site().await;
    let anon = browser();
    for path in [
        "/admin",
        "/admin/workflows",
        "/admin/accounts",
        "/admin/audit",
    ] {
        assert_eq!(get(&anon, &site, path).await.status, 401, "{path}");
    }
    let user = browser();
    sign_up(&user, &site, "uma@example.com", "uma password!!").await;
    for path in [
        "/admin",
        "/admin/workflows",
        "/admin/accounts",
        "/admin/audit",
    ] {
        let g = get(&user, &site, path).await;
        assert_eq!(g.status, 403, "{path}");
        assert!(g.body.contains("for staff"), "{}", g.body);
    }
    // A user's forged admin write is refused and writes nothing.
    let token = csrf(&get(&user, &site, "/").await.body);
    let g = got(user
        .post(format!("{}/admin/workflows", site.base))
        .form(&[
            ("csrf", token.as_str()),
            ("title", "Sneaky"),
            ("slug", "sneaky"),
            ("category", ""),
            ("tier", "free"),
            ("price", ""),
            ("short_description", ""),
            ("description", ""),
            ("tags", ""),
            ("wedge_score", ""),
            ("download_limit", ""),
        ])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(g.status, 403);
    let admin = admin(&site).await;
    let page = get(&admin, &site, "/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Audit log"));
    assert!(
        page.body.contains("href=\"/admin\""),
        "the header links admin"
    );
}

fn category_of(html: &str) -> String {
    let at = html.find("<select name=\"category\">").unwrap();
    let at = html[at..].find("value=\"").unwrap() + at + 7;
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_create_upload_publish_and_archive_a_workflow() {
    let site = site().await;
    let admin = admin(&site).await;
    let new = get(&admin, &site, "/admin/workflows/new").await;
    assert_eq!(new.status, 200);
    let category = category_of(&new.body);
    let form = |slug: &'static str, price: &'static str| {
        vec![
            ("title", "CRM dedupe"),
            ("slug", slug),
            (
                "category",
                Box::leak(category.clone().into_boxed_str()) as &str,
            ),
            ("tier", "basic"),
            ("price", price),
            ("short_description", "Merge duplicate contacts nightly."),
            ("description", "Finds and merges duplicates."),
            ("tags", "crm, hubspot"),
            ("wedge_score", "7.5"),
            ("download_limit", "3"),
        ]
    };
    // Refusals name the field and create nothing.
    let bad = post_form(
        &admin,
        &site,
        "/admin/workflows/new",
        "/admin/workflows",
        &form("Not A Slug", "19.00"),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("slug:"), "{}", bad.body);
    let bad = post_form(
        &admin,
        &site,
        "/admin/workflows/new",
        "/admin/workflows",
        &form("crm-dedupe", "nineteen"),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("price:"), "{}", bad.body);
    let slug = Slug::parse("crm-dedupe").unwrap();
    assert!(
        site.vault
            .workflow_by_slug(&Actor::Service, &slug)
            .await
            .is_err()
    );

    let made = post_form(
        &admin,
        &site,
        "/admin/workflows/new",
        "/admin/workflows",
        &form("crm-dedupe", "19.00"),
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let edit_path = made.location.unwrap();
    let edit_path = edit_path.split('?').next().unwrap().to_owned();
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &slug)
        .await
        .unwrap();
    assert_eq!(w.status.to_string(), "draft");
    assert_eq!(w.content.price.unwrap().to_string(), "19.00 USD");
    // A draft is not in the catalog.
    assert!(
        !get(&browser(), &site, "/")
            .await
            .body
            .contains("CRM dedupe")
    );

    // Edit: the title changes, what the form does not show stays.
    let mut edited = form("crm-dedupe", "24.00");
    edited[0] = ("title", "CRM dedupe pro");
    let saved = post_form(&admin, &site, &edit_path, &edit_path, &edited).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let w = site.vault.workflow(&Actor::Service, w.id).await.unwrap();
    assert_eq!(w.content.title, "CRM dedupe pro");
    assert_eq!(w.content.price.unwrap().to_string(), "24.00 USD");

    // Upload: multipart with this session's token; the bytes land in the
    // object store under the record's key.
    let token = csrf(&get(&admin, &site, &edit_path).await.body);
    let bytes = br#"{"name":"crm dedupe","modules":[]}"#.to_vec();
    let upload = |token: String, bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("csrf", token)
            .text("version", "1.2.0")
            .text("kind", "make")
            .text("access", "standard")
            .text("primary", "on")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("crm-dedupe.json"),
            )
    };
    let forged = got(admin
        .post(format!("{}{edit_path}/files", site.base))
        .multipart(upload("0".repeat(64), bytes.clone()))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(forged.status, 403);
    assert!(
        site.vault
            .files(&Actor::Service, w.id)
            .await
            .unwrap()
            .is_empty()
    );
    let up = got(admin
        .post(format!("{}{edit_path}/files", site.base))
        .multipart(upload(token, bytes.clone()))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(up.status, 303, "{}", up.body);
    let files = site.vault.files(&Actor::Service, w.id).await.unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f.file_name, "crm-dedupe.json");
    assert_eq!(f.version.to_string(), "1.2.0");
    assert_eq!(f.access, FileAccess::Standard);
    assert!(f.is_primary);
    assert_eq!(f.size_bytes, bytes.len() as u64);
    let key = site
        .vault
        .stored_files(&Actor::Service, w.id)
        .await
        .unwrap()
        .remove(0)
        .storage_key;
    let stored = std::fs::read(site.files_dir().join(key)).unwrap();
    assert_eq!(stored, bytes);
    assert!(
        get(&admin, &site, &edit_path)
            .await
            .body
            .contains("crm-dedupe.json")
    );

    // Publish: in the catalog. Archive: out again.
    let token = csrf(&get(&admin, &site, &edit_path).await.body);
    let p = got(admin
        .post(format!("{}{edit_path}/publish", site.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(p.status, 303);
    assert!(
        get(&browser(), &site, "/")
            .await
            .body
            .contains("CRM dedupe pro")
    );
    let a = got(admin
        .post(format!("{}{edit_path}/archive", site.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(a.status, 303);
    assert!(
        !get(&browser(), &site, "/")
            .await
            .body
            .contains("CRM dedupe pro")
    );
    let list = get(&admin, &site, "/admin/workflows").await.body;
    assert!(list.contains("CRM dedupe pro") && list.contains("archived"));

    // Every one of those writes is in the trail, newest first.
    let trail = get(&admin, &site, "/admin/audit").await.body;
    for action in [
        "workflow_created",
        "workflow_edited",
        "file_changed",
        "workflow_published",
        "workflow_archived",
    ] {
        assert!(trail.contains(action), "{action} missing:\n{trail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_search_ban_and_promote_accounts() {
    let site = site().await;
    let vic = browser();
    sign_up(&vic, &site, "vic@example.com", "vic password!!").await;
    let admin = admin(&site).await;
    let found = get(&admin, &site, "/admin/accounts?q=vic").await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("vic@example.com"));
    assert!(!found.body.contains("admin@example.com"), "search filters");
    let user = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("vic@example.com").unwrap())
        .await
        .unwrap()
        .user_id;
    let page = format!("/admin/accounts/{user}");
    assert_eq!(get(&admin, &site, &page).await.status, 200);
    let banned = post_form(
        &admin,
        &site,
        &page,
        &format!("{page}/ban"),
        &[("reason", "chargeback fraud")],
    )
    .await;
    assert_eq!(banned.status, 303, "{}", banned.body);
    // Vic is signed out at once and cannot come back.
    assert!(!get(&vic, &site, "/").await.body.contains("Sign out"));
    assert!(
        get(&admin, &site, &page)
            .await
            .body
            .contains("chargeback fraud")
    );
    let back = post_form(&admin, &site, &page, &format!("{page}/unban"), &[]).await;
    assert_eq!(back.status, 303);
    let promoted = post_form(
        &admin,
        &site,
        &page,
        &format!("{page}/role"),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(promoted.status, 303);
    let bad = post_form(
        &admin,
        &site,
        &page,
        &format!("{page}/role"),
        &[("role", "emperor")],
    )
    .await;
    assert_eq!(bad.status, 422);
    sign_in(&vic, &site, "vic@example.com", "vic password!!").await;
    assert_eq!(
        get(&vic, &site, "/admin").await.status,
        200,
        "vic is staff now"
    );
    let trail = get(&admin, &site, "/admin/audit").await.body;
    for action in ["account_banned", "account_unbanned", "role_changed"] {
        assert!(trail.contains(action), "{action} missing:\n{trail}");
    }
    assert_eq!(get(&admin, &site, "/admin/accounts/%00").await.status, 404);
    assert_eq!(
        get(&admin, &site, "/admin/accounts?cursor=zzz")
            .await
            .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_keeps_profile_and_preferences() {
    let site = site().await;
    let anon = browser();
    let g = get(&anon, &site, "/dashboard").await;
    assert_eq!(g.status, 303);
    assert_eq!(g.location.as_deref(), Some("/sign-in?next=/dashboard"));
    let b = browser();
    sign_up(&b, &site, "wes@example.com", "wes password!!").await;
    let home = get(&b, &site, "/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Hello, Ada"), "{}", home.body);
    assert!(home.body.contains("Nothing bought yet"));

    let saved = post_form(
        &b,
        &site,
        "/dashboard/settings",
        "/dashboard/profile",
        &[
            ("display_name", "Wes Anderson"),
            ("bio", "Automates <everything>"),
            ("website", ""),
            ("location", "Lisbon"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let settings = get(&b, &site, "/dashboard/settings").await.body;
    assert!(settings.contains("value=\"Wes Anderson\""));
    assert!(
        settings.contains("Automates &#60;everything&#62;"),
        "escaped"
    );
    let bad = post_form(
        &b,
        &site,
        "/dashboard/settings",
        "/dashboard/preferences",
        &[
            ("email_notifications", "on"),
            ("locale", "en-US"),
            ("timezone", "Mars/Olympus_Mons"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("timezone"), "{}", bad.body);
    let ok = post_form(
        &b,
        &site,
        "/dashboard/settings",
        "/dashboard/preferences",
        &[
            ("marketing_emails", "on"),
            ("locale", "pt-BR"),
            ("timezone", "Europe/Lisbon"),
        ],
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let user = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("wes@example.com").unwrap())
        .await
        .unwrap()
        .user_id;
    let s = site
        .vault
        .user_settings(&Actor::Service, &user)
        .await
        .unwrap();
    assert!(s.marketing_emails && !s.email_notifications && !s.workflow_updates);
    assert_eq!(s.timezone.name(), "Europe/Lisbon");
    assert_eq!(s.locale.as_str(), "pt-BR");
    // Favorites show on the dashboard with their note.
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap();
    site.vault
        .add_favorite(&Actor::User(user), w.id, Some("for Q3".into()), vec![])
        .await
        .unwrap();
    let home = get(&b, &site, "/dashboard").await.body;
    assert!(
        home.contains("Invoice chaser") && home.contains("for Q3"),
        "{home}"
    );
}

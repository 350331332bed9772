//! The storefront over HTTP: the router on a loopback port, on a SQLite
//! file with the demo catalog, driven with reqwest. What a visitor sees,
//! and that every bad value from the URL is a page naming it, never a 500.
#![allow(clippy::unwrap_used)]

use vault_core::community::rating::Rating;
use vault_core::community::review::ReviewInput;
use vault_core::vault::CheckoutItem;
use vault_core::{Actor, Slug};
mod support;

use support::{Site, site};

async fn get(site: &Site, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", site.base)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_lists_searches_sorts_and_pages() {
    let site = site().await;
    let (status, html) = get(&site, "/").await;
    assert_eq!(status, 200);
    for title in [
        "Invoice chaser",
        "Weekly KPI report",
        "Lead magnet delivery",
    ] {
        assert!(html.contains(title), "{title} missing:\n{html}");
    }
    assert!(
        html.contains("49.00 USD") && html.contains("free"),
        "{html}"
    );
    let (status, html) = get(&site, "/?q=invoice").await;
    assert_eq!(status, 200);
    assert!(html.contains("Invoice chaser"));
    assert!(!html.contains("Weekly KPI report"), "{html}");
    let (status, html) = get(&site, "/?q=nothing-matches-this").await;
    assert_eq!(status, 200);
    assert!(html.contains("No workflow matches."));
    let (status, html) = get(&site, "/?sort=downloads").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<option value="downloads" selected>"#),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_page_explains_the_access_decision() {
    let site = site().await;
    let (status, html) = get(&site, "/workflows/invoice-chaser").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Invoice chaser</h1>"), "{html}");
    assert!(html.contains("Not yet yours"), "{html}");
    // A visitor is told what would grant it.
    assert!(html.contains("sign in"), "{html}");
    let (status, html) = get(&site, "/workflows/lead-magnet-delivery").await;
    assert_eq!(status, 200);
    assert!(html.contains("Yours to download"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_text_is_escaped() {
    let site = site().await;
    let slug = Slug::parse("invoice-chaser").unwrap();
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &slug)
        .await
        .unwrap();
    let mallory = Actor::user("mallory").unwrap();
    let p = site
        .vault
        .start_purchase(
            &mallory,
            vault_core::vault::StartPurchase {
                user_id: mallory.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w.id),
                license_type: vault_core::commerce::license::LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: Default::default(),
            },
        )
        .await
        .unwrap();
    site.vault
        .complete_purchase(
            &Actor::Service,
            p.id,
            vault_core::commerce::purchase::PaymentRef::parse("pi_escape").unwrap(),
        )
        .await
        .unwrap();
    let review = site
        .vault
        .submit_review(
            &mallory,
            w.id,
            ReviewInput {
                rating: Rating::new(1).unwrap(),
                dimensions: Default::default(),
                title: "<script>alert(1)</script>".into(),
                body: "<b>bold</b> & more".into(),
            },
        )
        .await
        .unwrap();
    // Shown once approved.
    site.vault
        .moderate_review(
            &Actor::Service,
            review.id,
            vault_core::community::review::ModerationStatus::Approved,
            None,
        )
        .await
        .unwrap();
    site.vault
        .post_comment(&mallory, w.id, None, "<img src=x onerror=alert(2)>".into())
        .await
        .unwrap();
    let (status, html) = get(&site, "/workflows/invoice-chaser").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;b&#62;bold&#60;/b&#62; &#38; more"),
        "{html}"
    );
    assert!(
        html.contains("&#60;img src=x onerror=alert(2)&#62;"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_from_the_url_are_pages_naming_them() {
    let site = site().await;
    let (status, html) = get(&site, "/?cursor=not-a-cursor").await;
    assert_eq!(status, 400);
    assert!(html.contains("cursor"), "{html}");
    let (status, html) = get(&site, "/?sort=cheapest").await;
    assert_eq!(status, 400);
    assert!(html.contains("sort"), "{html}");
    // Control characters only separate search terms (core's
    // `search_terms`): a page, not an error.
    let (status, _) = get(&site, "/?q=%00%01").await;
    assert_eq!(status, 200);
    let long = "a".repeat(5000);
    let (status, _) = get(&site, &format!("/?q={long}")).await;
    assert_eq!(status, 400);
    for path in [
        "/workflows/no-such-workflow",
        "/workflows/NOT%20A%20SLUG",
        "/workflows/%00",
        "/no/such/page",
    ] {
        let (status, html) = get(&site, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Back to the catalog"), "{path}: {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_link_walks_every_page_once() {
    let site = site().await;
    let template = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("weekly-kpi-report").unwrap())
        .await
        .unwrap();
    for i in 0..20 {
        let mut content = template.content.clone();
        content.slug = Slug::parse(&format!("extra-report-{i}")).unwrap();
        content.title = format!("Extra report {i}");
        let w = site
            .vault
            .create_workflow(&Actor::Service, content)
            .await
            .unwrap();
        site.vault
            .publish_workflow(&Actor::Service, w.id)
            .await
            .unwrap();
    }
    let mut path = "/?sort=newest".to_owned();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let (status, html) = get(&site, &path).await;
        assert_eq!(status, 200, "{path}");
        pages += 1;
        seen += html.matches(r#"<li class="card">"#).count();
        let Some(at) = html.find(r#"<a rel="next" href=""#) else {
            break;
        };
        let rest = &html[at + r#"<a rel="next" href=""#.len()..];
        // The template escapes the link; undo what it escaped.
        path = rest[..rest.find('"').unwrap()].replace("&#38;", "&");
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, 26, "6 demo workflows and 20 more, each once");
}

/// The titles on a catalog page, in order.
fn titles(html: &str) -> Vec<String> {
    html.split("<h2><a href=\"/workflows/")
        .skip(1)
        .map(|s| {
            s.split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_filters_by_category_tier_price_and_tag() {
    let site = site().await;
    let chaser = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap();
    let category = site
        .vault
        .categories(&Actor::Service)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == chaser.content.category_id)
        .unwrap();
    let (status, html) = get(&site, &format!("/?category={}", category.slug)).await;
    assert_eq!(status, 200);
    assert_eq!(titles(&html), ["Invoice chaser"]);
    // A page per business system, with its name and description.
    let (status, html) = get(&site, &format!("/categories/{}", category.slug)).await;
    assert_eq!(status, 200);
    let escaped = category.name.replace('&', "&#38;");
    assert!(html.contains(&format!("<h1>{escaped}</h1>")), "{html}");
    assert_eq!(titles(&html), ["Invoice chaser"]);
    let (status, _) = get(&site, "/categories/no-such-system").await;
    assert_eq!(status, 404);

    let (_, html) = get(&site, "/?tier=basic&sort=newest").await;
    let mut got = titles(&html);
    got.sort();
    assert_eq!(got, ["Client onboarding kit", "Project status digest"]);
    let (_, html) = get(&site, "/?min=20&max=50").await;
    let mut got = titles(&html);
    got.sort();
    assert_eq!(got, ["Invoice chaser", "Weekly KPI report"]);
    let (_, html) = get(&site, "/?tag=make").await;
    let mut got = titles(&html);
    got.sort();
    assert_eq!(got, ["Invoice chaser", "Lead magnet delivery"]);
    // Filters combine.
    let (_, html) = get(&site, "/?tag=make&tier=pro").await;
    assert_eq!(titles(&html), ["Invoice chaser"]);

    let long_tag = format!("/?tag={}", "x".repeat(300));
    for (path, field) in [
        (long_tag.as_str(), "tag"),
        ("/?min=cheap", "min"),
        ("/?min=50&max=20", "price"),
        ("/?tier=gold", "tier"),
        ("/?category=nowhere", "category"),
    ] {
        let (status, html) = get(&site, path).await;
        assert_eq!(status, 400, "{path}: {html}");
        assert!(
            html.contains(&format!("<strong>{field}</strong>")),
            "{path}: {html}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_link_keeps_the_filters() {
    let site = site().await;
    let template = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("weekly-kpi-report").unwrap())
        .await
        .unwrap();
    for i in 0..25 {
        let mut c = template.content.clone();
        c.slug = Slug::parse(&format!("kpi-variant-{i}")).unwrap();
        c.title = format!("KPI variant {i}");
        let w = site
            .vault
            .create_workflow(&Actor::Service, c)
            .await
            .unwrap();
        site.vault
            .publish_workflow(&Actor::Service, w.id)
            .await
            .unwrap();
    }
    let (_, first) = get(&site, "/?tier=pro&tag=reporting&sort=newest").await;
    assert_eq!(titles(&first).len(), 20);
    let at = first.find("rel=\"next\" href=\"").unwrap() + 17;
    let next = first[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        next.contains("tier=pro") && next.contains("tag=reporting"),
        "{next}"
    );
    let (status, second) = get(&site, &next).await;
    assert_eq!(status, 200);
    let rest = titles(&second);
    // 25 variants + the original: 6 more, none repeated.
    assert_eq!(rest.len(), 6, "{rest:?}");
    assert!(rest.iter().all(|t| !titles(&first).contains(t)));
}

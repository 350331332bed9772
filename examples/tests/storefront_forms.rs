//! Every form field of every page has a label, checked by parsing the HTML
//! of each page a visitor, a customer and staff can open (with reviews,
//! comments and replies present, a checkout open and a reset link mailed,
//! so the forms those show are there too). A field is labelled when it sits
//! inside a `<label>`, a `<label for>` names its id, or it carries
//! `aria-label`/`aria-labelledby`; hidden inputs and buttons need none.
//! Every form that posts also carries this session's CSRF token.
#![allow(clippy::unwrap_used)]

mod support;

use scraper::{ElementRef, Html, Selector};
use support::*;
use vault_core::{Actor, Slug};

const PAGE: &str = "/workflows/invoice-chaser";

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// The fields of `html` that have no label, and the posting forms without
/// a CSRF token, each as a short description.
fn unlabelled(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let labelled_ids: Vec<String> = doc
        .select(&sel("label[for]"))
        .filter_map(|l| l.value().attr("for").map(str::to_owned))
        .collect();
    let mut bad = Vec::new();
    for field in doc.select(&sel("input, select, textarea")) {
        let v = field.value();
        let kind = v.attr("type").unwrap_or("text");
        if v.name() == "input" && matches!(kind, "hidden" | "submit" | "button" | "image" | "reset")
        {
            continue;
        }
        let in_label = field
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() == "label");
        let by_for = v
            .id()
            .is_some_and(|id| labelled_ids.iter().any(|f| f == id));
        let by_aria = v.attr("aria-label").is_some_and(|l| !l.trim().is_empty())
            || v.attr("aria-labelledby").is_some();
        if !(in_label || by_for || by_aria) {
            bad.push(format!(
                "<{} name={:?} type={kind}> has no label",
                v.name(),
                v.attr("name").unwrap_or("")
            ));
        }
    }
    for form in doc.select(&sel("form")) {
        let posts = form
            .value()
            .attr("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let token = form.select(&sel("input[name=csrf]")).next().is_some();
        if posts && !token {
            bad.push(format!(
                "a form posting to {:?} has no CSRF token",
                form.value().attr("action").unwrap_or("")
            ));
        }
    }
    bad
}

async fn check(who: &reqwest::Client, site: &Site, path: &str, failures: &mut Vec<String>) {
    let g = get(who, site, path).await;
    assert_eq!(g.status, 200, "{path}: {}", g.body);
    assert!(g.body.contains("<main"), "{path} is a page");
    failures.extend(
        unlabelled(&g.body)
            .into_iter()
            .map(|b| format!("{path}: {b}")),
    );
}

#[test]
fn the_check_finds_an_unlabelled_field() {
    let html = r#"<main><form method="post"><input name="csrf" type="hidden" value="t">
        <label>Title <input name="title"></label>
        <label for="b">Body</label><textarea id="b" name="body"></textarea>
        <input name="q" aria-label="Search">
        <textarea name="reply"></textarea>
        <button>Go</button></form>
        <form method="post" action="/x"><label>n <input name="n"></label></form></main>"#;
    let bad = unlabelled(html);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("\"reply\""), "{bad:?}");
    assert!(bad[1].contains("\"/x\""), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_every_page_has_a_label() {
    let site = site().await;
    let mut failures = Vec::new();

    // A customer with a review, a comment and a reply on the page, and a
    // checkout open.
    let user = browser();
    sign_up(&user, &site, "lena@example.com", "lena password!!").await;
    let review = post_form(
        &user,
        &site,
        PAGE,
        &format!("{PAGE}/reviews"),
        &[("rating", "5"), ("title", "Great"), ("body", "Works.")],
    )
    .await;
    assert_eq!(review.status, 303, "{}", review.body);
    let wid = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap()
        .id;
    for r in site.vault.reviews(&Actor::Service, wid).await.unwrap() {
        site.vault
            .moderate_review(
                &Actor::Service,
                r.id,
                vault_core::community::review::ModerationStatus::Approved,
                None,
            )
            .await
            .unwrap();
    }
    let comment = post_form(
        &user,
        &site,
        PAGE,
        &format!("{PAGE}/comments"),
        &[("body", "Does it do partial payments?")],
    )
    .await;
    assert_eq!(comment.status, 303, "{}", comment.body);
    let buy = post_form(&user, &site, PAGE, "/checkout/workflow/invoice-chaser", &[]).await;
    assert_eq!(buy.status, 303, "{}", buy.body);
    let checkout = buy.location.unwrap();
    let checkout = checkout.strip_prefix(&site.base).unwrap().to_owned();

    let anon = browser();
    let asked = submit(
        &anon,
        &site,
        "/reset",
        "/reset",
        &[("email", "lena@example.com")],
    )
    .await;
    assert_eq!(asked.status, 200);
    let mailbox = mailbox_with(&anon, &site, "/reset/").await.body;
    let at = mailbox.find("/reset/").expect("a reset mail");
    let reset: String = mailbox[at..].chars().take(7 + 64).collect();

    for path in [
        "/",
        "/?q=invoice",
        "/categories/client-acquisition",
        "/bundles",
        "/membership",
        PAGE,
        "/sign-up",
        "/sign-in",
        "/reset",
        reset.as_str(),
        "/dev/mailbox",
    ] {
        check(&anon, &site, path, &mut failures).await;
    }
    for path in [
        "/",
        PAGE,
        "/bundles",
        "/membership",
        "/dashboard",
        "/dashboard/settings",
        checkout.as_str(),
    ] {
        check(&user, &site, path, &mut failures).await;
    }

    // Staff see the most forms: every admin page, a workflow's edit page
    // and an account's page.
    let staff = admin(&site).await;
    let account = site
        .vault
        .store()
        .account_by_email(&vault_core::Email::parse("lena@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let pages = [
        "/admin".to_owned(),
        "/admin/workflows".to_owned(),
        "/admin/workflows/new".to_owned(),
        format!("/admin/workflows/{wid}"),
        "/admin/accounts".to_owned(),
        format!("/admin/accounts/{}", account.user_id),
        "/admin/audit".to_owned(),
        "/admin/moderation".to_owned(),
        "/admin/moderation?status=approved".to_owned(),
        "/admin/moderation/comments".to_owned(),
        "/admin/jobs".to_owned(),
        "/admin/jobs?state=succeeded".to_owned(),
        "/admin/webhooks".to_owned(),
        PAGE.to_owned(),
        "/dashboard".to_owned(),
    ];
    for path in &pages {
        check(&staff, &site, path, &mut failures).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

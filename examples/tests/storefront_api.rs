//! The storefront's JSON API over HTTP: the router on a loopback port, on a
//! SQLite file with the demo catalog, driven with reqwest (a cookie jar per
//! person, so a signed-in client stays signed in). Every error is the JSON
//! shape naming its field, never a plain-text rejection; every write needs
//! `Content-Type: application/json`; the OpenAPI document covers every
//! route the router serves.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use support::{Site, site};
use vault_core::vault::CheckoutItem;
use vault_core::{Actor, Email, Slug};
use vault_examples::storefront;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs up `email` through the site's form: a client holding the
/// signed-in session cookie.
async fn signed_up(site: &Site, email: &str, name: &str) -> reqwest::Client {
    let c = client();
    let html = c
        .get(format!("{}/sign-up", site.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let r = c
        .post(format!("{}/sign-up", site.base))
        .form(&[
            ("csrf", csrf),
            ("email", email),
            ("name", name),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "sign-up: {}", r.status());
    c
}

async fn get(c: &reqwest::Client, site: &Site, path: &str) -> (u16, Value) {
    let r = c.get(format!("{}{path}", site.base)).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
    (status, v)
}

async fn send(
    c: &reqwest::Client,
    site: &Site,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = c
        .request(method, format!("{}{path}", site.base))
        .header(CONTENT_TYPE, "application/json");
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))
    };
    (status, v)
}

async fn post(c: &reqwest::Client, site: &Site, path: &str, body: Value) -> (u16, Value) {
    send(c, site, reqwest::Method::POST, path, Some(body)).await
}

/// The error's code and field, checking the shape.
fn error(v: &Value) -> (&str, Option<&str>) {
    let e = &v["error"];
    assert!(e["message"].is_string(), "no message: {v}");
    (e["code"].as_str().unwrap(), e["field"].as_str())
}

fn slugs(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listing_searches_filters_sorts_and_walks_pages() {
    let site = site().await;
    let c = client();
    let (status, v) = get(&c, &site, "/api/workflows").await;
    assert_eq!(status, 200);
    let all = slugs(&v);
    assert_eq!(all.len(), 6, "{v}");
    // Default order: W.E.D.G.E. score, highest first (9.2 is the top).
    assert_eq!(all[0], "invoice-chaser");
    let scores: Vec<f64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["wedge_score"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(scores.windows(2).all(|p| p[0] >= p[1]), "{scores:?}");
    assert!(v["next"].is_null());
    assert_eq!(v["items"][0]["price"]["amount"], "49.00");
    assert_eq!(v["items"][0]["price"]["currency"], "USD");

    let (_, v) = get(&c, &site, "/api/workflows?q=invoice").await;
    assert_eq!(slugs(&v), ["invoice-chaser"]);
    let (_, v) = get(&c, &site, "/api/workflows?tier=free").await;
    assert_eq!(slugs(&v), ["lead-magnet-delivery"]);
    let (_, v) = get(&c, &site, "/api/workflows?tier=basic,premium").await;
    assert_eq!(slugs(&v).len(), 3, "{v}");

    let (status, cats) = get(&c, &site, "/api/categories").await;
    assert_eq!(status, 200);
    assert_eq!(cats.as_array().unwrap().len(), 9);
    let (_, detail) = get(&c, &site, "/api/workflows/invoice-chaser").await;
    let cat = detail["category"].as_str().unwrap();
    let (_, v) = get(&c, &site, &format!("/api/workflows?category={cat}")).await;
    assert_eq!(slugs(&v), ["invoice-chaser"]);

    // Pages of two, newest first: three pages, each workflow once.
    let mut seen = Vec::new();
    let mut path = "/api/workflows?sort=newest&limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, v) = get(&c, &site, &path).await;
        assert_eq!(status, 200, "{path}: {v}");
        pages += 1;
        let page = slugs(&v);
        assert!(page.len() <= 2);
        seen.extend(page);
        match v["next"].as_str() {
            Some(next) => path = format!("/api/workflows?sort=newest&limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (6, 6), "{seen:?}");

    let (_, bundles) = get(&c, &site, "/api/bundles").await;
    let b = &bundles[0];
    assert_eq!(b["slug"], "agency-starter-pack");
    assert_eq!(b["workflows"].as_array().unwrap().len(), 3);
    assert_eq!(b["price"]["amount"], "69.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_has_files_wedge_and_rating_and_unknown_ones_are_json_404() {
    let site = site().await;
    let c = client();
    let (status, v) = get(&c, &site, "/api/workflows/invoice-chaser").await;
    assert_eq!(status, 200);
    assert_eq!(v["title"], "Invoice chaser");
    assert_eq!(v["wedge"]["score"], "9.2");
    assert_eq!(v["wedge"]["complexity"], "intermediate");
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v}");
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["is_primary"] == true && f["kind"] == "make")
    );
    assert_eq!(v["rating_summary"]["count"], 0);
    assert_eq!(v["rating_summary"]["distribution"], json!([0, 0, 0, 0, 0]));
    for path in [
        "/api/workflows/no-such-workflow",
        "/api/workflows/NOT%20A%20SLUG",
        "/api/workflows/no-such-workflow/reviews",
        "/api/no/such/route",
    ] {
        let (status, v) = get(&c, &site, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error(&v).0, "not_found", "{path}");
    }
    // A known path with another method: a JSON 405.
    let (status, v) = get(
        &c,
        &site,
        &format!("/api/reviews/{}/votes", uuid::Uuid::nil()),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(error(&v).0, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_in_the_url_are_400_naming_the_parameter() {
    let site = site().await;
    let c = client();
    let (_, first) = get(&c, &site, "/api/workflows?sort=newest&limit=1").await;
    let newest_cursor = first["next"].as_str().unwrap().to_owned();
    let long = "a".repeat(300);
    for (path, field) in [
        ("/api/workflows?cursor=not-a-cursor".to_owned(), "cursor"),
        // A cursor of another order resumes nowhere.
        (
            format!("/api/workflows?sort=downloads&cursor={newest_cursor}"),
            "cursor",
        ),
        ("/api/workflows?sort=cheapest".to_owned(), "sort"),
        ("/api/workflows?limit=0".to_owned(), "limit"),
        ("/api/workflows?limit=101".to_owned(), "limit"),
        ("/api/workflows?limit=ten".to_owned(), "limit"),
        ("/api/workflows?tier=gold".to_owned(), "tier"),
        (
            "/api/workflows?category=no-such-category".to_owned(),
            "category",
        ),
        (format!("/api/workflows?q={long}"), "q"),
        (
            "/api/workflows/invoice-chaser/comments?order=loudest".to_owned(),
            "order",
        ),
        (
            "/api/workflows/invoice-chaser/comments?cursor=zz".to_owned(),
            "cursor",
        ),
        (
            "/api/workflows/invoice-chaser/access?file=nope".to_owned(),
            "file",
        ),
    ] {
        let (status, v) = get(&c, &site, &path).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(error(&v), ("invalid", Some(field)), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_is_explained_in_words_and_structured() {
    let site = site().await;
    let anon = client();
    let (status, v) = get(&anon, &site, "/api/workflows/invoice-chaser/access").await;
    assert_eq!(status, 200);
    assert_eq!(v["granted"], false);
    let codes = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        codes("reasons").contains(&"sign_in_required".to_owned()),
        "{v}"
    );
    assert!(codes("remedies").contains(&"sign_in".to_owned()), "{v}");
    assert!(
        v["summary"].as_str().unwrap().starts_with("denied: "),
        "{v}"
    );
    assert!(!v["trace"].as_array().unwrap().is_empty());
    let (_, v) = get(&anon, &site, "/api/workflows/lead-magnet-delivery/access").await;
    assert_eq!((&v["granted"], &v["kind"]), (&json!(true), &json!("free")));

    // Bought through the vault: the same person's API says so.
    let ada = signed_up(&site, "ada@example.com", "Ada").await;
    let (_, v) = get(&ada, &site, "/api/workflows/invoice-chaser/access").await;
    assert_eq!(v["granted"], false);
    let buy = v["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "buy")
        .cloned()
        .unwrap_or_else(|| panic!("no buy remedy: {v}"));
    assert_eq!(buy["detail"]["price"]["amount"], "49.00", "{buy}");
    let account = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("ada@example.com").unwrap())
        .await
        .unwrap();
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap();
    let user = Actor::User(account.user_id.clone());
    let p = site
        .vault
        .start_purchase(
            &user,
            vault_core::vault::StartPurchase {
                user_id: account.user_id.clone(),
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
            vault_core::commerce::purchase::PaymentRef::parse("pi_api_test").unwrap(),
        )
        .await
        .unwrap();
    let (_, v) = get(&ada, &site, "/api/workflows/invoice-chaser/access").await;
    assert_eq!(
        (&v["granted"], &v["kind"]),
        (&json!(true), &json!("purchased"))
    );
    let (status, v) = get(&ada, &site, "/api/me/purchases").await;
    assert_eq!(status, 200);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["status"], "completed");
    assert_eq!(v[0]["workflows"], json!([w.id.as_uuid()]));
    let (status, v) = get(&ada, &site, "/api/me/memberships").await;
    assert_eq!((status, v), (200, json!([])));
    let (status, v) = get(&ada, &site, "/api/me/downloads").await;
    assert_eq!((status, v), (200, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_callers_get_401_for_their_own_things_and_writes() {
    let site = site().await;
    let anon = client();
    for path in [
        "/api/me/favorites",
        "/api/me/purchases",
        "/api/me/memberships",
        "/api/me/downloads",
    ] {
        let (status, v) = get(&anon, &site, path).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(error(&v).0, "sign_in_required", "{path}");
    }
    let review = json!({"rating": 5, "title": "Great", "body": "Works."});
    let (status, v) = post(
        &anon,
        &site,
        "/api/workflows/invoice-chaser/reviews",
        review,
    )
    .await;
    assert_eq!((status, error(&v).0), (401, "sign_in_required"));
    let (status, v) = post(
        &anon,
        &site,
        "/api/workflows/invoice-chaser/favorite",
        json!({}),
    )
    .await;
    assert_eq!((status, error(&v).0), (401, "sign_in_required"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_is_posted_listed_voted_and_bad_bodies_name_the_field() {
    let site = site().await;
    let ada = signed_up(&site, "ada@example.com", "Ada").await;
    let path = "/api/workflows/invoice-chaser/reviews";
    for (body, status, field) in [
        (
            json!({"rating": 6, "title": "t", "body": "b"}),
            422,
            "rating",
        ),
        (
            json!({"rating": "five", "title": "t", "body": "b"}),
            422,
            "rating",
        ),
        (json!({"rating": 5, "body": "b"}), 422, "title"),
        (
            json!({"rating": 5, "title": "t", "body": "b", "stars": 5}),
            422,
            "stars",
        ),
        (
            json!({"rating": 5, "title": "t", "body": "b", "dimensions": {"efficiency": 9}}),
            422,
            "dimensions.efficiency",
        ),
        (
            json!({"rating": 5, "title": "x".repeat(201), "body": "b"}),
            422,
            "title",
        ),
    ] {
        let (got, v) = post(&ada, &site, path, body.clone()).await;
        assert_eq!(got, status, "{body}: {v}");
        assert_eq!(error(&v), ("invalid", Some(field)), "{body}");
    }
    // Malformed JSON: 400 naming the body.
    let r = ada
        .post(format!("{}{path}", site.base))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"rating": 5,"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error(&v), ("invalid", Some("body")));
    // Nothing of the refused bodies was written.
    let (_, v) = get(&ada, &site, path).await;
    assert_eq!(v, json!([]));

    let body = json!({"rating": 4, "title": "Saves me hours",
        "body": "Chases every invoice.", "dimensions": {"efficiency": 5}});
    let (status, posted) = post(&ada, &site, path, body.clone()).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["status"], "pending");
    assert_eq!(posted["mine"], true);
    assert_eq!(posted["author"], "Ada");
    assert_eq!(posted["dimensions"], json!({"efficiency": 5}));
    let (status, v) = post(&ada, &site, path, body).await;
    assert_eq!((status, error(&v).0), (409, "already_exists"), "{v}");
    // Its author sees it at once; others only once approved.
    let (_, mine) = get(&ada, &site, path).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], posted["id"]);
    let (_, others) = get(&client(), &site, path).await;
    assert_eq!(others, json!([]));
    let id = vault_core::ReviewId::parse(posted["id"].as_str().unwrap()).unwrap();
    site.vault
        .moderate_review(
            &Actor::Service,
            id,
            vault_core::community::review::ModerationStatus::Approved,
            None,
        )
        .await
        .unwrap();
    let (_, others) = get(&client(), &site, path).await;
    assert_eq!(others[0]["title"], "Saves me hours");
    assert_eq!(others[0]["mine"], false);
    let (_, detail) = get(&ada, &site, "/api/workflows/invoice-chaser").await;
    assert_eq!(detail["rating_summary"]["count"], 1);

    let bob = signed_up(&site, "bob@example.com", "Bob").await;
    let votes = format!("/api/reviews/{id}/votes");
    let (status, v) = post(&bob, &site, &votes, json!({"vote": "helpful"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["helpful_count"], 1);
    let (status, v) = post(&bob, &site, &votes, json!({"vote": null})).await;
    assert_eq!((status, &v["helpful_count"]), (200, &json!(0)));
    let (status, v) = post(&bob, &site, &votes, json!({})).await;
    assert_eq!((status, error(&v)), (422, ("invalid", Some("vote"))));
    let (status, v) = post(&bob, &site, &votes, json!({"vote": "love"})).await;
    assert_eq!((status, error(&v)), (422, ("invalid", Some("vote"))));
    let (status, v) = post(&ada, &site, &votes, json!({"vote": "helpful"})).await;
    assert_eq!((status, error(&v).0), (403, "forbidden"), "{v}");
    let (status, v) = post(
        &bob,
        &site,
        "/api/reviews/nope/votes",
        json!({"vote": null}),
    )
    .await;
    assert_eq!((status, error(&v)), (400, ("invalid", Some("id"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_favorite_is_added_listed_and_removed() {
    let site = site().await;
    let ada = signed_up(&site, "ada@example.com", "Ada").await;
    let path = "/api/workflows/invoice-chaser/favorite";
    // No body at all is a bookmark without a note.
    let (status, v) = send(&ada, &site, reqwest::Method::POST, path, None).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["workflow"]["slug"], "invoice-chaser");
    let (status, v) = post(&ada, &site, path, json!({})).await;
    assert_eq!((status, error(&v).0), (409, "already_exists"), "{v}");
    let (status, v) = post(
        &ada,
        &site,
        "/api/workflows/weekly-kpi-report/favorite",
        json!({"note": "for Monday", "tags": ["reports"]}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = post(
        &ada,
        &site,
        "/api/workflows/content-repurposer/favorite",
        json!({"tags": ["Not A Tag!"]}),
    )
    .await;
    assert_eq!(
        (status, error(&v)),
        (422, ("invalid", Some("tags[0]"))),
        "{v}"
    );
    let (_, favs) = get(&ada, &site, "/api/me/favorites").await;
    let listed: HashSet<&str> = favs
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["workflow"]["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        HashSet::from(["invoice-chaser", "weekly-kpi-report"])
    );
    let (status, _) = send(&ada, &site, reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, 204);
    let (status, v) = send(&ada, &site, reqwest::Method::DELETE, path, None).await;
    assert_eq!((status, error(&v).0), (404, "not_found"));
    let (_, favs) = get(&ada, &site, "/api/me/favorites").await;
    assert_eq!(favs.as_array().unwrap().len(), 1);
    assert_eq!(favs[0]["workflow"]["slug"], "weekly-kpi-report");
    assert_eq!(favs[0]["note"], "for Monday");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_is_posted_replied_to_and_liked() {
    let site = site().await;
    let ada = signed_up(&site, "ada@example.com", "Ada").await;
    let bob = signed_up(&site, "bob@example.com", "Bob").await;
    let path = "/api/workflows/invoice-chaser/comments";
    let (status, c) = post(&ada, &site, path, json!({"body": "Does it do Xero?"})).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!((&c["depth"], &c["author"]), (&json!(0), &json!("Ada")));
    let id = c["id"].as_str().unwrap();
    let (status, r) = post(&bob, &site, path, json!({"body": "Yes.", "parent_id": id})).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!((&r["depth"], &r["parent_id"]), (&json!(1), &json!(id)));
    for (body, field) in [
        (json!({"body": ""}), "body"),
        (json!({"body": "x", "parent_id": "nope"}), "parent_id"),
        (json!({"text": "x"}), "text"),
    ] {
        let (status, v) = post(&ada, &site, path, body.clone()).await;
        assert_eq!(
            (status, error(&v)),
            (422, ("invalid", Some(field))),
            "{body}: {v}"
        );
    }
    let likes = format!("/api/comments/{id}/likes");
    let (status, v) = send(&bob, &site, reqwest::Method::POST, &likes, None).await;
    assert_eq!((status, &v["like_count"]), (200, &json!(1)), "{v}");
    // Once per user.
    let (_, v) = send(&bob, &site, reqwest::Method::POST, &likes, None).await;
    assert_eq!(v["like_count"], 1);
    let (status, page) = get(&client(), &site, &format!("{path}?order=most_liked")).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        (&page["items"][0]["id"], &page["items"][0]["like_count"]),
        (&json!(id), &json!(1))
    );
    // Pages of one: the cursor resumes after the first.
    let (_, p1) = get(&client(), &site, &format!("{path}?limit=1")).await;
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = get(&client(), &site, &format!("{path}?limit=1&cursor={next}")).await;
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    let (_, v) = send(&bob, &site, reqwest::Method::DELETE, &likes, None).await;
    assert_eq!(v["like_count"], 0);
    let (status, v) = send(&client(), &site, reqwest::Method::POST, &likes, None).await;
    assert_eq!((status, error(&v).0), (401, "sign_in_required"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_not_declared_json_are_415_and_change_nothing() {
    let site = site().await;
    let ada = signed_up(&site, "ada@example.com", "Ada").await;
    let reviews = format!("{}/api/workflows/invoice-chaser/reviews", site.base);
    // What a cross-site HTML form can send.
    let r = ada
        .post(&reviews)
        .form(&[("rating", "5"), ("title", "t"), ("body", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error(&v).0, "unsupported_media_type");
    let r = ada
        .post(&reviews)
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"rating": 5, "title": "t", "body": "b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let favorite = format!("{}/api/workflows/invoice-chaser/favorite", site.base);
    let r = ada.post(&favorite).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let (_, v) = get(&ada, &site, "/api/workflows/invoice-chaser/reviews").await;
    assert_eq!(v, json!([]), "a refused write wrote nothing");
    let (_, v) = get(&ada, &site, "/api/me/favorites").await;
    assert_eq!(v, json!([]));
    // A bodiless DELETE needs the header too.
    let (status, _) = post(
        &ada,
        &site,
        "/api/workflows/invoice-chaser/favorite",
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let r = ada.delete(&favorite).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let (_, v) = get(&ada, &site, "/api/me/favorites").await;
    assert_eq!(v.as_array().unwrap().len(), 1, "still bookmarked");
    // With a charset parameter it is still JSON.
    let r = ada
        .delete(&favorite)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route_served() {
    let site = site().await;
    let c = client();
    let (status, doc) = get(&c, &site, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let served = storefront::api::served_routes();
    assert!(served.len() >= 19, "{served:?}");
    let served_set: HashSet<(String, String)> = served
        .iter()
        .map(|r| (r.method.to_lowercase(), format!("/api{}", r.path)))
        .collect();
    for (method, path) in &served_set {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is served but not in openapi.json"
        );
    }
    // And the document promises nothing the router does not serve.
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                assert!(
                    served_set.contains(&(method.to_owned(), path.clone())),
                    "{method} {path} is documented but not served"
                );
            }
        }
    }
    // Every schema the document points at is in it.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 10, "{all:?}");
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    // The list is the router's: each route answers from a handler, not
    // from the fallbacks.
    let nil = uuid::Uuid::nil().to_string();
    for r in &served {
        let path = r
            .path
            .replace("{slug}", "invoice-chaser")
            .replace("{id}", &nil);
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let res = c
            .request(method, format!("{}/api{path}", site.base))
            .header(CONTENT_TYPE, "application/json")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_ne!(status, 405, "{} {path}: {text}", r.method);
        assert!(
            !text.contains("no such API route"),
            "{} {path}: {text}",
            r.method
        );
    }
}

//! Buying through the JSON API: a checkout is started with one JSON call
//! and paid on (fake) Stripe's page, the granted file's bytes come from
//! the API's download route and a refusal is its JSON 403 with the reason,
//! and a membership is joined and canceled at the period's end; bad bodies
//! are 422 naming the field, and a bad webhook signature is a 400.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::*;
use vault_core::{Actor, Slug};

async fn post_json(b: &reqwest::Client, site: &Site, path: &str, body: Value) -> (u16, Value) {
    let r = b
        .post(format!("{}{path}", site.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")),
    )
}

/// Pays the fake checkout at `url` as the browser `b` would.
async fn pay(b: &reqwest::Client, site: &Site, url: &str) {
    let page = url.strip_prefix(&site.base).unwrap().to_owned();
    let paid = post_form(b, site, &page, &format!("{page}/pay"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_download_join_and_cancel_through_the_api() {
    let site = site().await;
    let (status, v) = post_json(
        &browser(),
        &site,
        "/api/checkout",
        json!({"workflow": "invoice-chaser"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("sign_in_required")),
        "{v}"
    );

    let b = browser();
    sign_up(&b, &site, "eli@example.com", "eli password!!").await;
    for (body, field) in [
        (json!({}), "workflow"),
        (
            json!({"workflow": "invoice-chaser", "bundle": "agency-starter-pack"}),
            "workflow",
        ),
        (json!({"workflow": "Not A Slug"}), "workflow"),
        (json!({"membership": "gold"}), "membership"),
    ] {
        let (status, v) = post_json(&b, &site, "/api/checkout", body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (status, v) = post_json(
        &b,
        &site,
        "/api/checkout",
        json!({"workflow": "no-such-thing"}),
    )
    .await;
    assert_eq!(status, 404, "{v}");

    // Buy, pay, download through the API.
    let (status, v) = post_json(
        &b,
        &site,
        "/api/checkout",
        json!({"workflow": "invoice-chaser"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let url = v["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/fake-stripe/checkout/cs_test_", site.base)),
        "{url}"
    );
    pay(&b, &site, url).await;
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap();
    let file = site
        .vault
        .files(&Actor::Service, w.id)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.file_name == "invoice-chaser.json")
        .unwrap();
    let path = format!("/api/workflows/invoice-chaser/files/{}/download", file.id);
    let got = b.get(format!("{}{path}", site.base)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    let bytes = got.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, file.size_bytes);
    assert_eq!(bytes.first(), Some(&b'{'));
    let (status, v) = post_json(
        &b,
        &site,
        "/api/checkout",
        json!({"workflow": "invoice-chaser"}),
    )
    .await;
    assert_eq!(status, 409, "owned already: {v}");

    // Another user: the JSON 403 with the reason in words.
    let other = browser();
    sign_up(&other, &site, "fay@example.com", "fay password!!").await;
    let r = other
        .get(format!("{}{path}", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("buy it"),
        "{v}"
    );

    // Join a membership, cancel it at the period's end.
    let (status, v) = post_json(&other, &site, "/api/me/membership/cancel", json!({})).await;
    assert_eq!(status, 404, "nothing to cancel yet: {v}");
    let (status, v) = post_json(&other, &site, "/api/checkout", json!({"membership": "pro"})).await;
    assert_eq!(status, 201, "{v}");
    pay(&other, &site, v["url"].as_str().unwrap()).await;
    let (status, v) = post_json(
        &other,
        &site,
        "/api/checkout",
        json!({"membership": "premium"}),
    )
    .await;
    assert_eq!(status, 409, "one membership at a time: {v}");
    let (status, v) = post_json(&other, &site, "/api/me/membership/cancel", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["tier"], "pro");
    assert_eq!(v["cancel_at_period_end"], true, "{v}");
    let mine: Value =
        serde_json::from_str(&get(&other, &site, "/api/me/memberships").await.body).unwrap();
    assert_eq!(mine[0]["cancel_at_period_end"], true, "{mine}");

    // The dashboards show both: the membership ending with its period (no
    // cancel button left), the download in the downloads table.
    let dash = main_part(&get(&other, &site, "/dashboard").await.body);
    assert!(dash.contains("<strong>pro</strong> · trialing"), "{dash}");
    assert!(dash.contains("Ends at the end of this period."), "{dash}");
    assert!(!dash.contains("Cancel at the end of the period"), "{dash}");
    let dash = main_part(&get(&b, &site, "/dashboard").await.body);
    let downloads = &dash[dash.find("<h2>Downloads</h2>").unwrap()..];
    let downloads = &downloads[..downloads.find("</table>").unwrap()];
    assert!(
        downloads.contains("Invoice chaser") && downloads.contains("1.0.0"),
        "{downloads}"
    );
    assert!(dash.contains("1 of 3"), "the purchase's quota: {dash}");

    // Stripe's webhook through the API refuses a bad signature.
    let r = reqwest::Client::new()
        .post(format!("{}/api/stripe/webhook", site.base))
        .header("content-type", "application/json")
        .header("stripe-signature", "t=1,v1=00")
        .body(r#"{"id":"evt_x","type":"charge.refunded"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

//! The demo's showcase workflow shows every part of a workflow's page to a
//! visitor, and the catalog's sorts by rating, Bayesian rating and
//! downloads put the workflows with those in front, on the page and in the
//! API.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::{Actor, Slug};

const SHOWCASE: &str = "/workflows/client-onboarding-kit";

/// The titles of the catalog's cards, in order.
fn card_titles(html: &str) -> Vec<String> {
    html.split(r#"<li class="card">"#)
        .skip(1)
        .map(|card| {
            let at = card.find("<h2>").or_else(|| card.find("<h3>")).unwrap();
            let rest = &card[at..];
            let text: String = rest[..rest.find("</h").unwrap()]
                .split('>')
                .filter_map(|p| p.split('<').next())
                .collect();
            text.trim().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_showcase_page_shows_every_part() {
    let site = site().await;
    let page = get(&browser(), &site, SHOWCASE).await;
    assert_eq!(page.status, 200);
    let main = main_part(&page.body);
    for words in [
        // Description, W.E.D.G.E., rating and files.
        "Contract, intake form and kickoff call in one flow.",
        "W.E.D.G.E.",
        "4.50★ (2 reviews)",
        "client-onboarding-kit.json",
        // The second version and its changelog.
        "1.1.0",
        "A welcome email in the client&#39;s own language.",
        "Update in place",
        // Assets and the setup guide.
        "A three-minute walkthrough",
        "The onboarding checklist it automates",
        "Setting it up in ten minutes",
        // Reviews: per-dimension averages, authors, the helpful vote.
        "Averages:",
        "Onboarding went from a day to an hour",
        "Maya (agency owner)",
        "1 found it helpful",
        // The thread: a question, its reply indented, a like.
        "Does it work with HubSpot&#39;s free plan?",
        "only the deal stage step needs a paid seat",
        "1 likes",
    ] {
        assert!(main.contains(words), "{words:?} in {main}");
    }
    let question = main.find("Does it work with HubSpot").unwrap();
    let reply = main.find("only the deal stage step").unwrap();
    assert!(question < reply, "the reply follows its question");
    assert!(main.contains("margin-left: 2rem"), "the reply is indented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_sorts_by_rating_bayesian_rating_and_downloads() {
    let site = site().await;
    // A visitor signs up and downloads the free workflow twice.
    let b = browser();
    sign_up(&b, &site, "dee@example.com", "dee password!!").await;
    let free = site
        .vault
        .workflow_by_slug(
            &Actor::Service,
            &Slug::parse("lead-magnet-delivery").unwrap(),
        )
        .await
        .unwrap();
    let file = site.vault.files(&Actor::Service, free.id).await.unwrap()[0].id;
    for _ in 0..2 {
        let g = get(&b, &site, &format!("/download/lead-magnet-delivery/{file}")).await;
        assert_eq!(g.status, 200, "{}", g.body);
    }

    for (sort, first) in [
        ("rating", "Client onboarding kit"),
        ("bayesian_rating", "Client onboarding kit"),
        ("downloads", "Lead magnet delivery"),
    ] {
        let html = get(&b, &site, &format!("/?sort={sort}")).await.body;
        let titles = card_titles(&html);
        assert_eq!(
            titles.first().map(String::as_str),
            Some(first),
            "{sort}: {titles:?}"
        );
        assert!(
            html.contains(&format!(r#"<option value="{sort}" selected>"#)),
            "{sort} is the selected option"
        );
        let api: serde_json::Value = serde_json::from_str(
            &get(&b, &site, &format!("/api/workflows?sort={sort}"))
                .await
                .body,
        )
        .unwrap();
        let api_first = api["items"][0]["title"].as_str().unwrap_or_default();
        assert_eq!(api_first, first, "/api/workflows?sort={sort}: {api}");
    }
    let html = get(&b, &site, "/?sort=downloads").await.body;
    assert!(html.contains("2 downloads"), "the card's count");
}

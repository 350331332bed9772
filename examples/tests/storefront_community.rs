//! The workflow page's community forms over HTTP, JavaScript off: reviews
//! with helpful votes, threaded comments with likes, favorites with a note
//! and tags. Signed-out visitors and forged forms write nothing.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::community::comment_query::CommentOrder;
use vault_core::community::review::ModerationStatus;
use vault_core::{Actor, Slug};

const PAGE: &str = "/workflows/invoice-chaser";

async fn workflow_id(site: &Site) -> vault_core::WorkflowId {
    site.vault
        .workflow_by_slug(&Actor::Service, &Slug::parse("invoice-chaser").unwrap())
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_is_posted_voted_on_and_shown_with_dimension_averages() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "rae@example.com", "rae password!!").await;
    let bad = post_form(
        &b,
        &site,
        PAGE,
        &format!("{PAGE}/reviews"),
        &[("rating", "6"), ("title", "x"), ("body", "y")],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("rating"), "{}", bad.body);
    // The error page still knows who is signed in.
    assert!(bad.body.contains("Sign out"), "{}", bad.body);
    let posted = post_form(
        &b,
        &site,
        PAGE,
        &format!("{PAGE}/reviews"),
        &[
            ("rating", "4"),
            ("title", "Saves my Mondays"),
            ("body", "Chases every unpaid invoice."),
            ("efficiency", "5"),
            ("growth", ""),
        ],
    )
    .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert_eq!(
        posted.location.as_deref(),
        Some("/workflows/invoice-chaser#reviews")
    );
    let reviews = site
        .vault
        .reviews(&Actor::Service, workflow_id(&site).await)
        .await
        .unwrap();
    assert_eq!(reviews.len(), 1);
    let id = reviews[0].id;
    assert_eq!(reviews[0].status, ModerationStatus::Pending);
    // Pending: the author sees it as waiting; others do not see it yet.
    let mine = get(&b, &site, PAGE).await.body;
    assert!(mine.contains("waiting for moderation"), "{mine}");
    site.vault
        .moderate_review(&Actor::Service, id, ModerationStatus::Approved, None)
        .await
        .unwrap();

    let voter = browser();
    sign_up(&voter, &site, "vin@example.com", "vin password!!").await;
    let voted = post_form(
        &voter,
        &site,
        PAGE,
        &format!("{PAGE}/reviews/{id}/vote"),
        &[("vote", "helpful")],
    )
    .await;
    assert_eq!(voted.status, 303, "{}", voted.body);
    let bad_vote = post_form(
        &voter,
        &site,
        PAGE,
        &format!("{PAGE}/reviews/{id}/vote"),
        &[("vote", "love")],
    )
    .await;
    assert_eq!(bad_vote.status, 422);
    let r = site
        .vault
        .reviews(&Actor::Service, workflow_id(&site).await)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((r.helpful_count, r.not_helpful_count), (1, 0));
    let page = get(&voter, &site, PAGE).await.body;
    assert!(page.contains("Saves my Mondays"), "{page}");
    assert!(page.contains("1 found it helpful"), "{page}");
    let averages = &page[page.find("Averages:").expect("averages shown")..];
    let averages = &averages[..averages.find("</p>").unwrap()];
    assert!(averages.contains("efficiency 5.0"), "{averages}");
    assert!(
        !averages.contains("growth"),
        "an unrated dimension has no average: {averages}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_thread_and_likes_count_once() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "cal@example.com", "cal password!!").await;
    let first = post_form(
        &b,
        &site,
        PAGE,
        &format!("{PAGE}/comments"),
        &[("body", "Does it work with Xero?")],
    )
    .await;
    assert_eq!(first.status, 303, "{}", first.body);
    let wid = workflow_id(&site).await;
    let top = site
        .vault
        .comments(&Actor::Service, wid, CommentOrder::Newest, None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    let reply = post_form(
        &b,
        &site,
        PAGE,
        &format!("{PAGE}/comments"),
        &[
            ("body", "Yes, through Make's Xero app."),
            ("parent", &top.id.to_string()),
        ],
    )
    .await;
    assert_eq!(reply.status, 303);
    let bad_parent = post_form(
        &b,
        &site,
        PAGE,
        &format!("{PAGE}/comments"),
        &[("body", "orphan"), ("parent", "not-an-id")],
    )
    .await;
    assert_eq!(bad_parent.status, 422);
    let like = format!("{PAGE}/comments/{}/like", top.id);
    for _ in 0..2 {
        assert_eq!(post_form(&b, &site, PAGE, &like, &[]).await.status, 303);
    }
    let listed = site
        .vault
        .comments(&Actor::Service, wid, CommentOrder::Newest, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), 2, "the orphan was not written");
    let top_now = listed.iter().find(|c| c.id == top.id).unwrap();
    assert_eq!(top_now.like_count, 1, "one like per person");
    let page = get(&b, &site, PAGE).await.body;
    let (q, a) = (
        page.find("Does it work with Xero?").unwrap(),
        page.find("Yes, through Make").unwrap(),
    );
    assert!(q < a, "the reply shows under its comment");
    assert!(page.contains("margin-left: 2rem"), "the reply is indented");
    let unlike = format!("{PAGE}/comments/{}/unlike", top.id);
    assert_eq!(post_form(&b, &site, PAGE, &unlike, &[]).await.status, 303);
    assert!(get(&b, &site, PAGE).await.body.contains("0 likes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn favorites_keep_a_note_and_tags() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "fin@example.com", "fin password!!").await;
    let fav = format!("{PAGE}/favorite");
    let bad = post_form(
        &b,
        &site,
        PAGE,
        &fav,
        &[("note", ""), ("tags", "no spaces allowed here?")],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("tags"), "{}", bad.body);
    let added = post_form(
        &b,
        &site,
        PAGE,
        &fav,
        &[("note", "for Q3"), ("tags", "finance, Q3")],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let edited = post_form(
        &b,
        &site,
        PAGE,
        &fav,
        &[("note", "for Q4"), ("tags", "finance")],
    )
    .await;
    assert_eq!(edited.status, 303);
    let page = get(&b, &site, PAGE).await.body;
    assert!(page.contains("In your favorites"));
    assert!(page.contains("value=\"for Q4\""), "{page}");
    let dash = get(&b, &site, "/dashboard").await.body;
    assert!(
        dash.contains("for Q4") && dash.contains("finance"),
        "{dash}"
    );
    let removed = post_form(&b, &site, PAGE, &format!("{PAGE}/unfavorite"), &[]).await;
    assert_eq!(removed.status, 303);
    assert!(
        !get(&b, &site, PAGE)
            .await
            .body
            .contains("In your favorites")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_and_forged_posts_write_nothing() {
    let site = site().await;
    let anon = browser();
    let page = get(&anon, &site, PAGE).await.body;
    assert!(page.contains("to review or comment"), "{page}");
    for (action, fields) in [
        (format!("{PAGE}/comments"), vec![("body", "spam")]),
        (
            format!("{PAGE}/reviews"),
            vec![("rating", "1"), ("title", "spam"), ("body", "spam")],
        ),
        (format!("{PAGE}/favorite"), vec![("note", "x")]),
    ] {
        let g = post_form(&anon, &site, "/sign-in", &action, &fields).await;
        assert_eq!(g.status, 401, "{action}");
    }
    let b = browser();
    sign_up(&b, &site, "mal@example.com", "mal password!!").await;
    let forged = got(b
        .post(format!("{}{PAGE}/comments", site.base))
        .form(&[("csrf", "0".repeat(64).as_str()), ("body", "forged")])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(forged.status, 403);
    let wid = workflow_id(&site).await;
    let comments = site
        .vault
        .comments(&Actor::Service, wid, CommentOrder::Newest, None, 10)
        .await
        .unwrap();
    assert!(comments.items.is_empty());
    assert!(
        site.vault
            .reviews(&Actor::Service, wid)
            .await
            .unwrap()
            .is_empty()
    );
    let missing = post_form(
        &b,
        &site,
        PAGE,
        "/workflows/no-such/comments",
        &[("body", "x")],
    )
    .await;
    assert_eq!(missing.status, 404);
}

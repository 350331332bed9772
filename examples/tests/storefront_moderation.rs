//! The moderation queue over HTTP, JavaScript off: a user's review waits in
//! the queue, staff approve or reject it from the page, hide and show
//! comments; the author follows both on their dashboard; users cannot
//! moderate; bad input is refused naming the field and writes nothing.
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
async fn staff_approve_and_reject_reviews_from_the_queue() {
    let site = site().await;
    // The demo's own approved reviews are in the trail already.
    let seeded = get(&admin(&site).await, &site, "/admin/audit")
        .await
        .body
        .matches("review_moderated")
        .count();
    let user = browser();
    sign_up(&user, &site, "quinn@example.com", "quinn password!!").await;
    for path in ["/admin/moderation", "/admin/moderation/comments"] {
        assert_eq!(get(&browser(), &site, path).await.status, 401, "{path}");
        assert_eq!(get(&user, &site, path).await.status, 403, "{path}");
    }
    let posted = post_form(
        &user,
        &site,
        PAGE,
        &format!("{PAGE}/reviews"),
        &[
            ("rating", "2"),
            ("title", "<b>Queue me</b>"),
            ("body", "Needs a retry setting."),
        ],
    )
    .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let wid = workflow_id(&site).await;
    let review = site
        .vault
        .reviews(&Actor::Service, wid)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.input.title == "<b>Queue me</b>")
        .unwrap();
    let shown = "&#60;b&#62;Queue me&#60;/b&#62;";

    // The author sees it waiting on their dashboard.
    let dash = main_part(&get(&user, &site, "/dashboard").await.body);
    let mine = &dash[dash.find("My reviews").expect("a reviews section")..];
    assert!(mine.contains(shown), "{mine}");
    assert!(mine.contains("pending"), "{mine}");

    // A user cannot decide it, even with a valid token.
    let forged = post_form(
        &user,
        &site,
        "/dashboard",
        &format!("/admin/reviews/{}/moderate", review.id),
        &[("status", "approved")],
    )
    .await;
    assert_eq!(forged.status, 403);

    let admin = admin(&site).await;
    let queue = get(&admin, &site, "/admin/moderation").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains(shown), "{}", queue.body);
    assert!(
        !queue.body.contains("<b>Queue me"),
        "the title is escaped: {}",
        queue.body
    );
    let action = format!("/admin/reviews/{}/moderate", review.id);
    assert!(queue.body.contains(&action), "{}", queue.body);
    assert!(queue.body.contains("value=\"approved\""));

    // Bad input: a status that is not one, an id that is not one, a cursor
    // or filter that did not come from us.
    let bad = post_form(
        &admin,
        &site,
        "/admin/moderation",
        &action,
        &[("status", "gold")],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("status"), "{}", bad.body);
    let unknown = post_form(
        &admin,
        &site,
        "/admin/moderation",
        "/admin/reviews/not-a-review/moderate",
        &[("status", "approved")],
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        get(&admin, &site, "/admin/moderation?cursor=zz")
            .await
            .status,
        400
    );
    assert_eq!(
        get(&admin, &site, "/admin/moderation?status=gold")
            .await
            .status,
        400
    );
    assert_eq!(
        site.vault
            .reviews(&Actor::Service, wid)
            .await
            .unwrap()
            .iter()
            .find(|r| r.id == review.id)
            .unwrap()
            .status,
        ModerationStatus::Pending,
        "refused requests wrote nothing"
    );

    let anon = browser();
    assert!(!get(&anon, &site, PAGE).await.body.contains(shown));
    let approved = post_form(
        &admin,
        &site,
        "/admin/moderation",
        &action,
        &[("status", "approved"), ("note", "fair point")],
    )
    .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(
        approved.location.as_deref(),
        Some("/admin/moderation?done=review+approved")
    );
    let queue = get(&admin, &site, "/admin/moderation?done=review+approved")
        .await
        .body;
    assert!(!queue.contains(shown), "decided: out of the queue");
    assert!(queue.contains("Done: review approved."));
    let listed = get(&admin, &site, "/admin/moderation?status=approved")
        .await
        .body;
    assert!(listed.contains(shown), "{listed}");
    assert!(get(&anon, &site, PAGE).await.body.contains(shown));
    let now = site
        .vault
        .reviews(&Actor::Service, wid)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == review.id)
        .unwrap();
    assert_eq!(now.status, ModerationStatus::Approved);
    assert_eq!(now.moderation_note.as_deref(), Some("fair point"));

    // Rejected from the approved list: gone from the page again.
    let rejected = post_form(
        &admin,
        &site,
        "/admin/moderation",
        &action,
        &[("status", "rejected")],
    )
    .await;
    assert_eq!(rejected.status, 303);
    assert!(!get(&anon, &site, PAGE).await.body.contains(shown));
    let dash = main_part(&get(&user, &site, "/dashboard").await.body);
    let mine = &dash[dash.find("My reviews").unwrap()..];
    assert!(mine.contains("rejected"), "{mine}");
    let audit = get(&admin, &site, "/admin/audit").await.body;
    assert_eq!(
        audit.matches("review_moderated").count(),
        seeded + 2,
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_hide_and_show_comments() {
    let site = site().await;
    let user = browser();
    sign_up(&user, &site, "cass@example.com", "cass password!!").await;
    let posted = post_form(
        &user,
        &site,
        PAGE,
        &format!("{PAGE}/comments"),
        &[("body", "Buy cheap watches at example.net")],
    )
    .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let comment = site
        .vault
        .comments(
            &Actor::Service,
            workflow_id(&site).await,
            CommentOrder::Newest,
            None,
            10,
        )
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(comment.body, "Buy cheap watches at example.net");
    let dash = main_part(&get(&user, &site, "/dashboard").await.body);
    let mine = &dash[dash.find("My comments").expect("a comments section")..];
    assert!(mine.contains("cheap watches"), "{mine}");
    assert!(!mine.contains("hidden by a moderator"));

    let hide = format!("/admin/comments/{}/hide", comment.id);
    assert_eq!(
        post_form(&user, &site, "/dashboard", &hide, &[])
            .await
            .status,
        403
    );
    let admin = admin(&site).await;
    let feed = get(&admin, &site, "/admin/moderation/comments").await.body;
    assert!(feed.contains("cheap watches"), "{feed}");
    assert!(feed.contains(&hide), "{feed}");
    let hidden = post_form(&admin, &site, "/admin/moderation/comments", &hide, &[]).await;
    assert_eq!(hidden.status, 303, "{}", hidden.body);
    assert!(
        !get(&browser(), &site, PAGE)
            .await
            .body
            .contains("cheap watches"),
        "hidden from visitors"
    );
    let only_hidden = get(&admin, &site, "/admin/moderation/comments?hidden=yes")
        .await
        .body;
    assert!(only_hidden.contains("cheap watches"), "{only_hidden}");
    let only_visible = get(&admin, &site, "/admin/moderation/comments?hidden=no")
        .await
        .body;
    assert!(!only_visible.contains("cheap watches"));
    assert_eq!(
        get(&admin, &site, "/admin/moderation/comments?hidden=maybe")
            .await
            .status,
        400
    );
    let dash = main_part(&get(&user, &site, "/dashboard").await.body);
    assert!(dash.contains("hidden by a moderator"), "{dash}");

    let show = format!("/admin/comments/{}/show", comment.id);
    assert_eq!(
        post_form(&admin, &site, "/admin/moderation/comments", &show, &[])
            .await
            .status,
        303
    );
    assert!(
        get(&browser(), &site, PAGE)
            .await
            .body
            .contains("cheap watches")
    );
    // Without the form's token nothing happens.
    let raw = got(admin
        .post(format!("{}{hide}", site.base))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(raw.status, 403);
    assert!(
        get(&browser(), &site, PAGE)
            .await
            .body
            .contains("cheap watches")
    );
}

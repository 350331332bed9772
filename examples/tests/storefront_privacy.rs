//! One user's records are not another's: another user's purchase (its
//! receipt page, its API resource) is a 404 exactly like an unknown one,
//! and a download URL that pairs a workflow with another workflow's file
//! is a 404. A download link of a workflow one has not bought is the 403
//! that explains what would grant it (the workflow's files are listed on
//! its public page; only their bytes are guarded).
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::{Actor, Email, Slug};

const PAGE: &str = "/workflows/invoice-chaser";

async fn user_id(site: &Site, email: &str) -> vault_core::UserId {
    site.vault
        .store()
        .account_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .user_id
}

async fn file_ids(site: &Site, slug: &str) -> Vec<String> {
    let w = site
        .vault
        .workflow_by_slug(&Actor::Service, &Slug::parse(slug).unwrap())
        .await
        .unwrap();
    site.vault
        .files(&Actor::Service, w.id)
        .await
        .unwrap()
        .iter()
        .map(|f| f.id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_purchase_and_files_are_not_found() {
    let site = site().await;
    let ann = browser();
    sign_up(&ann, &site, "ann@example.com", "ann password!!").await;
    let bob = browser();
    sign_up(&bob, &site, "bob@example.com", "bob password!!").await;

    // Ann buys through the fake checkout.
    let started = post_form(&ann, &site, PAGE, "/checkout/workflow/invoice-chaser", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let checkout = started
        .location
        .unwrap()
        .strip_prefix(&site.base)
        .unwrap()
        .to_owned();
    let paid = post_form(&ann, &site, &checkout, &format!("{checkout}/pay"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let ann_id = user_id(&site, "ann@example.com").await;
    let purchases = site
        .vault
        .purchases_for_user(&Actor::Service, &ann_id)
        .await
        .unwrap();
    assert_eq!(purchases.len(), 1);
    let key = site.vault.license_key(&purchases[0]).expect("derived");
    let receipt = format!("/dashboard/purchases/{}", purchases[0].id);
    let api = format!("/api/me/purchases/{}", purchases[0].id);

    // Ann sees her receipt, linked from the dashboard, and the resource.
    let dash = main_part(&get(&ann, &site, "/dashboard").await.body);
    assert!(dash.contains(&format!("href=\"{receipt}\"")), "{dash}");
    let mine = get(&ann, &site, &receipt).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let mine = main_part(&mine.body);
    for words in ["Invoice chaser", "completed", "49.00 USD", "0 of 3"] {
        assert!(mine.contains(words), "{words}: {mine}");
    }
    let json = get(&ann, &site, &api).await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert!(json.body.contains(&purchases[0].id.to_string()));
    // Her key is shown to her on both, derived again from the purchase.
    assert!(mine.contains(key.as_str()), "{mine}");
    assert!(json.body.contains(key.as_str()), "{}", json.body);

    // Bob gets exactly what an unknown id gets.
    let unknown = "/dashboard/purchases/00000000-0000-4000-8000-000000000000";
    for path in [receipt.as_str(), unknown, "/dashboard/purchases/not-a-uuid"] {
        let g = get(&bob, &site, path).await;
        assert_eq!(g.status, 404, "{path}: {}", g.body);
        assert!(!g.body.contains("49.00"), "{path}");
        assert!(!g.body.contains(key.as_str()));
    }
    let theirs = get(&bob, &site, &api).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert!(theirs.body.contains("\"not_found\""), "{}", theirs.body);
    assert!(!theirs.body.contains(key.as_str()));
    let bad = get(&bob, &site, "/api/me/purchases/zz").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("\"id\""), "{}", bad.body);

    // Signed out: sign in first; staff may look.
    assert_eq!(get(&browser(), &site, &receipt).await.status, 401);
    assert_eq!(get(&browser(), &site, &api).await.status, 401);
    let staff = admin(&site).await;
    assert_eq!(get(&staff, &site, &receipt).await.status, 200);

    // A file of another workflow under this workflow's URL: not found,
    // for the buyer too; the quota is untouched.
    let other = file_ids(&site, "lead-magnet-delivery").await;
    let own = file_ids(&site, "invoice-chaser").await;
    for who in [&ann, &bob] {
        let g = get(
            who,
            &site,
            &format!("/download/invoice-chaser/{}", other[0]),
        )
        .await;
        assert_eq!(g.status, 404, "{}", g.body);
    }
    // Bob has not bought it: the reason, in words.
    let denied = get(&bob, &site, &format!("/download/invoice-chaser/{}", own[0])).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("buy it"), "{}", denied.body);
    let after = site
        .vault
        .purchases_for_user(&Actor::Service, &ann_id)
        .await
        .unwrap();
    assert_eq!(after[0].quota.used, 0, "nothing was charged");
}

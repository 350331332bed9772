//! Catalog cards: a store's short listing is its listing, card for card.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{no_request, review_input};
use crate::catalog::card::WorkflowCard;
use crate::catalog::query::{Page, PriceRange, WorkflowQuery, WorkflowSort};
use crate::catalog::wedge::Score;
use crate::catalog::workflow::{Workflow, WorkflowStatus};
use crate::community::review::ModerationStatus;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::money::Currency;
use crate::value::tier::PricingTier;

fn short(page: &Page<Workflow>) -> Page<WorkflowCard> {
    Page {
        items: page.items.iter().map(WorkflowCard::of).collect(),
        next: page.next,
    }
}

/// Every order, filter and page size, with and without a viewer: the
/// cards a store lists are [`WorkflowCard::of`] the workflows it lists, in
/// the same order with the same cursors and standing, over a catalog whose
/// cards differ in every field a card holds (price or none, thumbnail or
/// none, scores, downloads, ratings, coming soon, a draft, a deleted one).
/// Through the service too, where a refused viewer is refused either way.
pub async fn store_cards_are_the_listing_in_short(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let mut made = Vec::new();
    for i in 0..9u32 {
        let (tier, price) = match i % 3 {
            0 => (PricingTier::Free, None),
            1 => (PricingTier::Pro, Some(900 + i64::from(i))),
            _ => (PricingTier::Premium, Some(4_999)),
        };
        let mut c = f.content(&format!("card-{i}"), tier, price);
        c.title = format!("card flow {i}");
        c.short_description = format!("Short « {i} » blurb, with \"quotes\"");
        c.description = "a long description no card shows".repeat(20);
        c.features = vec!["feature".into(); 3];
        c.wedge.score = Score::new("wedge_score", Decimal::new(i64::from(i % 4) * 17, 1)).unwrap();
        if i % 2 == 0 {
            c.media.thumbnail_url =
                Some(format!("https://cdn.example.com/t/{i}.png?size=card&n=é"));
        }
        c.media.preview_images = vec!["https://cdn.example.com/p.png".into()];
        f.advance(Duration::minutes(1));
        let (w, _) = f.publish(c).await;
        if tier == PricingTier::Free {
            for _ in 0..i {
                f.vault
                    .download(&Actor::Anonymous, w.id, None, &no_request())
                    .await
                    .unwrap();
            }
        }
        for k in 0..(i % 3) {
            let user = Fixture::user(&format!("card-r{i}-{k}"));
            let r = f
                .vault
                .submit_review(&user, w.id, review_input(((i + k) % 5 + 1) as u8))
                .await
                .unwrap();
            f.vault
                .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
                .await
                .unwrap();
        }
        made.push(w);
    }
    // Thumbnails changed after publication: one replaced, one added, one
    // removed (a store that keeps the card's thumbnail apart from the
    // media must follow each edit).
    for (i, thumb) in [
        (0, Some("https://cdn.example.com/t/0-new.png")),
        (1, Some("https://cdn.example.com/t/1-added.png")),
        (2, None),
    ] {
        let mut c = made[i].content.clone();
        c.media.thumbnail_url = thumb.map(String::from);
        made[i] = f
            .vault
            .edit_workflow(&f.admin, made[i].id, c)
            .await
            .unwrap();
    }
    // Coming soon, a draft and a deleted one: listed to staff or not at all.
    let soon = f
        .vault
        .create_workflow(
            &f.admin,
            f.content("card-soon", PricingTier::Pro, Some(100)),
        )
        .await
        .unwrap();
    f.vault.announce_workflow(&f.admin, soon.id).await.unwrap();
    f.vault
        .create_workflow(&f.admin, f.content("card-draft", PricingTier::Free, None))
        .await
        .unwrap();
    f.vault.delete_workflow(&f.admin, made[4].id).await.unwrap();

    let viewer = Fixture::user("card-viewer");
    let viewer_id = viewer.user_id().unwrap().clone();
    let queries = [
        WorkflowQuery::default(),
        WorkflowQuery {
            statuses: WorkflowStatus::ALL.to_vec(),
            ..WorkflowQuery::default()
        },
        WorkflowQuery {
            tiers: vec![PricingTier::Pro],
            ..WorkflowQuery::default()
        },
        WorkflowQuery {
            price: Some(PriceRange::new(Currency::USD, None, Some(Decimal::new(20, 0))).unwrap()),
            ..WorkflowQuery::default()
        },
        WorkflowQuery {
            category: Some(f.categories[0].id),
            text: Some("card flow".into()),
            ..WorkflowQuery::default()
        },
        WorkflowQuery {
            text: Some("nothing-matches".into()),
            ..WorkflowQuery::default()
        },
    ];
    let mut pages = 0;
    for base in &queries {
        for sort in WorkflowSort::ALL {
            for limit in [1, 4, 100] {
                let mut q = WorkflowQuery {
                    sort,
                    limit,
                    prior: f.vault.config().rating_prior,
                    ..base.clone()
                };
                loop {
                    let whole = store.list_workflows(&q).await.unwrap();
                    let (cards, standing) = store.list_cards(&q, None).await.unwrap();
                    assert_eq!(cards, short(&whole), "{sort} limit {limit} {q:?}");
                    assert_eq!(standing, None, "no viewer, no standing");
                    let (viewed, viewed_standing) =
                        store.list_workflows_viewed(&q, &viewer_id).await.unwrap();
                    let (cards, standing) = store.list_cards(&q, Some(&viewer_id)).await.unwrap();
                    assert_eq!(cards, short(&viewed), "viewed: {sort} limit {limit}");
                    assert_eq!(standing, viewed_standing, "viewed: {sort} limit {limit}");
                    pages += 1;
                    match whole.next {
                        Some(next) => q.cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
    }
    assert!(pages > queries.len() * 5 * 3, "the case paged: {pages}");

    // The catalog the case built is the one it meant: every card field
    // varies across the listing, and deleted or draft workflows are absent.
    let all = store
        .list_cards(
            &WorkflowQuery {
                statuses: WorkflowStatus::ALL.to_vec(),
                limit: 100,
                ..WorkflowQuery::default()
            },
            None,
        )
        .await
        .unwrap()
        .0
        .items;
    assert_eq!(
        all.len(),
        10,
        "eight published (one deleted), one coming soon, one draft"
    );
    assert!(all.iter().all(|c| c.id != made[4].id));
    assert!(all.iter().any(|c| c.thumbnail_url.is_some()));
    assert!(all.iter().any(|c| c.thumbnail_url.is_none()));
    assert!(all.iter().any(|c| c.price.is_some()));
    assert!(all.iter().any(|c| c.rating.count > 1));
    assert!(all.iter().any(|c| c.download_count > 1));
    assert!(all.iter().any(|c| c.status == WorkflowStatus::ComingSoon));

    // Through the service: the same page as cards, for everyone, and a
    // refused viewer refused either way.
    let banned = f.banned("card-banned").await;
    for actor in [&Actor::Anonymous, &viewer, &f.admin] {
        for sort in WorkflowSort::ALL {
            let q = WorkflowQuery {
                sort,
                limit: 4,
                ..WorkflowQuery::default()
            };
            let whole = f.vault.list_workflows(actor, q.clone()).await.unwrap();
            let cards = f.vault.list_cards(actor, q).await.unwrap();
            assert_eq!(cards, short(&whole), "{sort} as {}", actor.kind());
        }
    }
    let staff_only = WorkflowQuery {
        statuses: vec![WorkflowStatus::Draft],
        ..WorkflowQuery::default()
    };
    assert_eq!(
        f.vault.list_cards(&viewer, staff_only).await.unwrap(),
        Page::default(),
        "drafts are no one's but staff's"
    );
    assert!(matches!(
        f.vault.list_cards(&banned, WorkflowQuery::default()).await,
        Err(Error::Refused { .. })
    ));
}

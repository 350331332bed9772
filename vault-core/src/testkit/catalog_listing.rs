//! The catalog's listing through the service: who sees what, filters,
//! sorts and pages.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{no_request, review_input, workflow_of};
use crate::catalog::query::{PriceRange, WorkflowQuery, WorkflowSort, run_query};
use crate::catalog::workflow::{WorkflowStatus, parse_tags};
use crate::commerce::license::LicenseType;
use crate::commerce::purchase::ProviderRefs;
use crate::community::review::ModerationStatus;
use crate::delivery::access::DenyReason;
use crate::store::{CatalogStore, Store};
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::ids::WorkflowId;
use crate::value::money::Currency;
use crate::value::tier::PricingTier;
use crate::vault::{CheckoutItem, StartPurchase};

pub async fn drafts_are_invisible_to_non_staff(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let draft = f
        .vault
        .create_workflow(&f.admin, f.content("secret", PricingTier::Pro, Some(100)))
        .await
        .unwrap();
    let user = Fixture::user("u1");
    for actor in [&user, &Actor::Anonymous] {
        assert!(matches!(
            f.vault.workflow(actor, draft.id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.vault.workflow_by_slug(actor, &draft.content.slug).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.vault.check_access(actor, draft.id, None).await,
            Err(Error::NotFound { .. })
        ));
        let buyer = UserId::parse("u1").unwrap();
        let checkout = f
            .vault
            .start_purchase(
                actor,
                StartPurchase {
                    user_id: buyer.clone(),
                    item: CheckoutItem::Workflow(draft.id),
                    license_type: LicenseType::Personal,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                },
            )
            .await;
        if actor == &user {
            assert!(
                matches!(checkout, Err(Error::NotFound { .. })),
                "a checkout must not reveal a draft: {checkout:?}"
            );
        }
        let q = WorkflowQuery {
            statuses: vec![WorkflowStatus::Draft],
            ..WorkflowQuery::default()
        };
        assert!(
            f.vault
                .list_workflows(actor, q)
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
    let q = WorkflowQuery {
        statuses: vec![WorkflowStatus::Draft],
        ..WorkflowQuery::default()
    };
    assert_eq!(
        f.vault
            .list_workflows(&f.admin, q)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Coming soon is listed but not downloadable.
    f.vault.announce_workflow(&f.admin, draft.id).await.unwrap();
    let d = f.vault.check_access(&user, draft.id, None).await.unwrap();
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::NotReleased { .. }]
    ));
}

pub async fn list_filters(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut a = f.content("slack-alerts", PricingTier::Basic, Some(1900));
    a.tags = parse_tags(&["slack", "alerts"]).unwrap();
    a.description = "Posts invoice reminders to Slack".into();
    let (a, _) = f.publish(a).await;
    let mut b = f.content("notion-crm", PricingTier::Pro, Some(4900));
    b.tags = parse_tags(&["notion", "crm"]).unwrap();
    b.category_id = f.categories[1].id;
    let (b, _) = f.publish(b).await;
    let (c, _) = f.workflow("free-starter", PricingTier::Free, None).await;
    let (d, _) = f.workflow("members-only", PricingTier::Premium, None).await;
    let ids = |p: crate::catalog::query::Page<crate::catalog::workflow::Workflow>| {
        let mut v: Vec<WorkflowId> = p.items.iter().map(|w| w.id).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<WorkflowId>| {
        v.sort();
        v
    };
    let anon = Actor::Anonymous;
    let q = |edit: &dyn Fn(&mut WorkflowQuery)| {
        let mut q = WorkflowQuery::default();
        edit(&mut q);
        q
    };
    let all = f.vault.list_workflows(&anon, q(&|_| {})).await.unwrap();
    assert_eq!(ids(all), sorted(vec![a.id, b.id, c.id, d.id]));
    let cat = f
        .vault
        .list_workflows(&anon, q(&|q| q.category = Some(f.categories[1].id)))
        .await
        .unwrap();
    assert_eq!(ids(cat), vec![b.id]);
    // Moved to another category, it is listed there in every order and no
    // longer in the old one (a store that keeps a copy of the category for
    // one order's index must keep it in step).
    let mut moved = b.content.clone();
    moved.category_id = f.categories[2].id;
    let b = f.vault.edit_workflow(&f.admin, b.id, moved).await.unwrap();
    for sort in WorkflowSort::ALL {
        for (category, expected) in [(1, vec![]), (2, vec![b.id])] {
            let listed = f
                .vault
                .list_workflows(
                    &anon,
                    q(&|q| {
                        q.category = Some(f.categories[category].id);
                        q.sort = sort;
                    }),
                )
                .await
                .unwrap();
            assert_eq!(ids(listed), expected, "{sort:?}, category {category}");
        }
    }
    let tiers = f
        .vault
        .list_workflows(
            &anon,
            q(&|q| q.tiers = vec![PricingTier::Free, PricingTier::Basic]),
        )
        .await
        .unwrap();
    assert_eq!(ids(tiers), sorted(vec![a.id, c.id]));
    let price = f
        .vault
        .list_workflows(
            &anon,
            q(&|q| {
                q.price = Some(
                    PriceRange::new(Currency::USD, Some(Decimal::ZERO), Some(Decimal::from(20)))
                        .unwrap(),
                )
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(price),
        sorted(vec![a.id, c.id]),
        "free counts as zero; members-only never matches a price range"
    );
    let tags = f
        .vault
        .list_workflows(&anon, q(&|q| q.tags = parse_tags(&["crm"]).unwrap()))
        .await
        .unwrap();
    assert_eq!(ids(tags), vec![b.id]);
    let text = f
        .vault
        .list_workflows(&anon, q(&|q| q.text = Some("INVOICE remind".into())))
        .await
        .unwrap();
    assert_eq!(
        ids(text),
        vec![a.id],
        "words match by prefix, ignoring case"
    );
    let tag_text = f
        .vault
        .list_workflows(&anon, q(&|q| q.text = Some("notio".into())))
        .await
        .unwrap();
    assert_eq!(ids(tag_text), vec![b.id], "tags are searchable");
    let none = f
        .vault
        .list_workflows(&anon, q(&|q| q.text = Some("invoice notion".into())))
        .await
        .unwrap();
    assert!(none.items.is_empty(), "every word must match");
    let bad = f.vault.list_workflows(&anon, q(&|q| q.limit = 0)).await;
    assert!(matches!(bad, Err(Error::Invalid(e)) if e.field() == "limit"));
}

pub async fn list_sorts_and_paginates(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut made = Vec::new();
    for i in 0..7u32 {
        let mut c = f.content(&format!("wf-{i}"), PricingTier::Free, None);
        c.wedge.score =
            crate::catalog::wedge::Score::new("wedge_score", Decimal::from(i % 3)).unwrap();
        f.advance(Duration::minutes(1));
        let (w, _) = f.publish(c).await;
        for _ in 0..(i % 4) {
            f.vault
                .download(&Actor::Anonymous, w.id, None, &no_request())
                .await
                .unwrap();
        }
        made.push(w.id);
    }
    // Ratings: approve one review per user with varying stars.
    for (n, wid) in made.iter().enumerate().take(5) {
        for k in 0..=(n % 3) {
            let user = Fixture::user(&format!("r{n}-{k}"));
            let r = f
                .vault
                .submit_review(&user, *wid, review_input(((n + k) % 5 + 1) as u8))
                .await
                .unwrap();
            f.vault
                .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
                .await
                .unwrap();
        }
    }
    let all: Vec<crate::catalog::workflow::Workflow> = {
        let mut v = Vec::new();
        for id in &made {
            v.push(workflow_of(&f, *id).await);
        }
        v
    };
    for sort in [
        WorkflowSort::WedgeScore,
        WorkflowSort::Rating,
        WorkflowSort::BayesianRating,
        WorkflowSort::Downloads,
        WorkflowSort::Newest,
    ] {
        let base = WorkflowQuery {
            sort,
            limit: 3,
            prior: f.vault.config().rating_prior,
            ..WorkflowQuery::default()
        };
        let expected: Vec<WorkflowId> = crate::catalog::query::run_query(
            &WorkflowQuery {
                limit: 100,
                ..base.clone()
            },
            &all,
        )
        .items
        .iter()
        .map(|w| w.id)
        .collect();
        let mut seen = Vec::new();
        let mut q = base.clone();
        loop {
            let page = f
                .vault
                .list_workflows(&Actor::Anonymous, q.clone())
                .await
                .unwrap();
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|w| w.id));
            match page.next {
                Some(c) => {
                    // Cursors survive a round trip through their token.
                    q.cursor = Some(crate::catalog::query::Cursor::decode(&c.encode()).unwrap());
                }
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "sort {sort}: pages must follow the reference order exactly once"
        );
    }
}

/// The published catalog as the store lists it (up to a hundred, newest
/// first): the reference a search test runs the core's query over.
pub async fn published_catalog(
    store: &(impl CatalogStore + ?Sized),
) -> Vec<crate::catalog::workflow::Workflow> {
    store
        .list_workflows(&WorkflowQuery {
            limit: 100,
            ..WorkflowQuery::default()
        })
        .await
        .unwrap()
        .items
}

/// Search pages for a store whose search reads a small window of the
/// listing before its word index (three rows, as both SQL stores are set up
/// for it; `PgOptions::search_window`, `SqliteOptions::search_window`):
/// common texts are answered from the window, rare ones from the index, and
/// every page of every order, paged through by cursor, is exactly the
/// core's answer ([`run_query`]) either way. Returns the catalog, for a
/// store's own further checks.
pub async fn search_pages_match_the_core_through_any_window(
    store: Arc<dyn Store>,
) -> Vec<crate::catalog::workflow::Workflow> {
    let f = Fixture::new(Arc::clone(&store)).await;
    for i in 0..24 {
        let mut c = f.content(&format!("item-{i}"), PricingTier::Free, None);
        let mut words = vec!["common".to_owned(), format!("item{i}")];
        if i % 2 == 0 {
            words.push("half".into());
        }
        if i % 3 == 0 {
            words.push("third".into());
        }
        if i == 17 {
            words.push("rare".into());
        }
        c.title = words.join(" ");
        f.publish(c).await;
    }
    let all = published_catalog(&*store).await;
    assert_eq!(all.len(), 24);
    let sorts = [
        WorkflowSort::WedgeScore,
        WorkflowSort::Downloads,
        WorkflowSort::Newest,
        WorkflowSort::Rating,
        WorkflowSort::BayesianRating,
    ];
    let texts = [
        "common",
        "half",
        "third",
        "common third",
        "rare",
        "item1",
        "none",
    ];
    for sort in sorts {
        for text in texts {
            for limit in [1, 2, 4] {
                let mut q = WorkflowQuery {
                    text: Some(text.into()),
                    sort,
                    limit,
                    ..WorkflowQuery::default()
                };
                let mut pages = 0;
                loop {
                    let want = run_query(&q, &all);
                    let got = store.list_workflows(&q).await.unwrap();
                    let ids = |p: &crate::catalog::query::Page<_>| {
                        p.items
                            .iter()
                            .map(|w: &crate::catalog::workflow::Workflow| w.id)
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(ids(&got), ids(&want), "{sort:?} {text:?} limit {limit}");
                    assert_eq!(got.next, want.next, "{sort:?} {text:?} limit {limit}");
                    // Cards take the same path with fewer columns.
                    let (cards, _) = store.list_cards(&q, None).await.unwrap();
                    let card_ids: Vec<_> = cards.items.iter().map(|c| c.id).collect();
                    assert_eq!(
                        card_ids,
                        ids(&want),
                        "cards: {sort:?} {text:?} limit {limit}"
                    );
                    assert_eq!(
                        cards.next, want.next,
                        "cards: {sort:?} {text:?} limit {limit}"
                    );
                    pages += 1;
                    match got.next {
                        Some(next) => q.cursor = Some(next),
                        None => break,
                    }
                }
                assert!(pages >= 1);
            }
        }
    }
    all
}

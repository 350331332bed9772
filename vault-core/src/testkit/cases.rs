//! The cases. Each takes a fresh, empty store.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use crate::catalog::bundle::NewBundle;
use crate::catalog::file::FileAccess;
use crate::catalog::query::{PriceRange, WorkflowQuery, WorkflowSort};
use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use crate::catalog::workflow::{WorkflowStatus, parse_tags};
use crate::commerce::license::LicenseType;
use crate::commerce::membership::{MembershipEvent, MembershipStatus, Period};
use crate::commerce::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use crate::commerce::refund::PaymentEvent;
use crate::community::rating::{DimensionRatings, Rating, RatingAggregate};
use crate::community::review::{ModerationStatus, ReviewInput, Vote};
use crate::delivery::access::{AccessKind, DenyReason, Remedy};
use crate::delivery::download::{DownloadKind, RequestInfo};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::error::{Entity, StoreError};
use crate::value::ids::{PurchaseId, WorkflowId};
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::{CheckoutItem, StartPurchase};

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn denied(r: Result<impl std::fmt::Debug, Error>) -> crate::delivery::access::AccessDecision {
    match r {
        Err(Error::Denied(d)) => *d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn no_request() -> RequestInfo {
    RequestInfo::default()
}

async fn workflow_of(f: &Fixture, id: WorkflowId) -> crate::catalog::workflow::Workflow {
    f.store.workflow(id).await.unwrap().unwrap()
}

// ---------------------------------------------------------------- catalog

pub async fn categories_seed_idempotently(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    assert_eq!(f.categories.len(), 9);
    let again = f.vault.seed_core_categories(&f.admin).await.unwrap();
    assert_eq!(again.len(), 9, "seeding twice must not duplicate");
    let slugs: Vec<&str> = again.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(slugs[0], "client-acquisition");
    assert_eq!(slugs[8], "growth-scaling");
    let dup = f.store.insert_category(&again[0]).await;
    assert!(matches!(
        dup,
        Err(StoreError::AlreadyExists {
            entity: Entity::Category,
            ..
        })
    ));
    let by_slug = f
        .store
        .category_by_slug(&again[3].slug)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_slug, again[3]);
}

pub async fn workflow_create_and_read(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut content = f.content("lead-capture", PricingTier::Pro, Some(4900));
    content.description = "Captures leads from forms into the CRM".into();
    content.features = vec!["Typeform".into(), "HubSpot".into()];
    content.media.thumbnail_url = Some("https://cdn.example.com/t.png".into());
    // A clock with nanoseconds, as real clocks have: what is stored must
    // read back exactly on every backend.
    f.advance(Duration::nanoseconds(123_456_789));
    let draft = f
        .vault
        .create_workflow(&f.admin, content.clone())
        .await
        .unwrap();
    assert_eq!(draft.status, WorkflowStatus::Draft);
    let read = f.vault.workflow(&f.admin, draft.id).await.unwrap();
    assert_eq!(read, draft, "a workflow reads back exactly as written");
    let by_slug = f
        .vault
        .workflow_by_slug(&f.admin, &content.slug)
        .await
        .unwrap();
    assert_eq!(by_slug.id, draft.id);
    let published = f.vault.publish_workflow(&f.admin, draft.id).await.unwrap();
    assert_eq!(
        published.published_at,
        Some(super::epoch() + Duration::microseconds(123_456))
    );
    assert_eq!(
        f.vault.workflow(&Actor::Anonymous, draft.id).await.unwrap(),
        published
    );
}

pub async fn workflow_slug_is_unique(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    f.workflow("crm-sync", PricingTier::Free, None).await;
    let again = f
        .vault
        .create_workflow(&f.admin, f.content("crm-sync", PricingTier::Free, None))
        .await;
    assert!(
        matches!(
            again,
            Err(Error::AlreadyExists {
                entity: Entity::Workflow,
                ..
            })
        ),
        "{again:?}"
    );
    // Renaming onto a taken slug is refused too.
    let (other, _) = f.workflow("other", PricingTier::Free, None).await;
    let clash = f
        .vault
        .edit_workflow(
            &f.admin,
            other.id,
            f.content("crm-sync", PricingTier::Free, None),
        )
        .await;
    assert!(
        matches!(clash, Err(Error::AlreadyExists { .. })),
        "{clash:?}"
    );
    assert_eq!(
        workflow_of(&f, other.id).await.content.slug.as_str(),
        "other"
    );
}

pub async fn workflow_needs_its_category(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut content = f.content("orphan", PricingTier::Free, None);
    content.category_id = crate::value::ids::CategoryId::from_uuid(uuid::Uuid::from_u128(42));
    let r = f.vault.create_workflow(&f.admin, content.clone()).await;
    assert!(
        matches!(
            r,
            Err(Error::NotFound {
                entity: Entity::Category,
                ..
            })
        ),
        "{r:?}"
    );
    // The store enforces it too.
    let w = crate::catalog::workflow::Workflow::new_draft(
        WorkflowId::from_uuid(uuid::Uuid::from_u128(7)),
        content,
        super::epoch(),
    )
    .unwrap();
    let r = f.store.insert_workflow(&w).await;
    assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
    assert!(f.store.workflow(w.id).await.unwrap().is_none());
}

pub async fn edit_keeps_counters_and_guards_revision(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("counted", PricingTier::Free, None).await;
    f.vault
        .download(&Actor::Anonymous, w.id, None, &no_request())
        .await
        .unwrap();
    let before = workflow_of(&f, w.id).await;
    assert_eq!(before.stats.download_count, 1);
    let mut content = before.content.clone();
    content.title = "Counted, renamed".into();
    f.advance(Duration::minutes(5));
    let edited = f
        .vault
        .edit_workflow(&f.admin, w.id, content)
        .await
        .unwrap();
    let after = workflow_of(&f, w.id).await;
    assert_eq!(after.content.title, "Counted, renamed");
    assert_eq!(after.stats.download_count, 1, "edits never reset counters");
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(after.updated_at, super::epoch() + Duration::minutes(5));
    // A writer holding the old revision loses.
    let mut stale = before.clone();
    stale.content.title = "stale".into();
    stale.revision = before.revision + 1;
    let r = f.store.update_workflow(&stale, before.revision).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(workflow_of(&f, w.id).await, edited);
}

/// Once published, a workflow's price stays in one currency, also across a
/// spell without a price (sold through memberships only), so its revenue
/// never mixes currencies. Drafts may change it freely.
pub async fn published_price_currency_is_fixed(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("priced", PricingTier::Pro, Some(4900)).await;
    f.buy(&Fixture::user("early-buyer"), CheckoutItem::Workflow(w.id))
        .await;
    let priced = |cents: Option<i64>, currency: Currency| {
        let mut c = w.content.clone();
        c.price = cents.map(|c| Money::from_minor(c, currency));
        c
    };
    let eur = f
        .vault
        .edit_workflow(&f.admin, w.id, priced(Some(4500), Currency::EUR))
        .await;
    assert!(
        matches!(eur, Err(Error::Invalid(ref e)) if e.field() == "price"),
        "{eur:?}"
    );
    f.vault
        .edit_workflow(&f.admin, w.id, priced(None, Currency::USD))
        .await
        .unwrap();
    let eur = f
        .vault
        .edit_workflow(&f.admin, w.id, priced(Some(4500), Currency::EUR))
        .await;
    assert!(
        matches!(eur, Err(Error::Invalid(ref e)) if e.field() == "price"),
        "dropping the price must not unlock the currency: {eur:?}"
    );
    let usd_again = f
        .vault
        .edit_workflow(&f.admin, w.id, priced(Some(5900), Currency::USD))
        .await
        .unwrap();
    assert_eq!(usd_again.content.price, Some(usd(5900)));
    let draft = f
        .vault
        .create_workflow(
            &f.admin,
            f.content("unreleased", PricingTier::Pro, Some(100)),
        )
        .await
        .unwrap();
    let mut c = draft.content.clone();
    c.price = Some(Money::from_minor(100, Currency::EUR));
    f.vault.edit_workflow(&f.admin, draft.id, c).await.unwrap();
}

/// Released workflows cannot be announced again: their buyers would lose
/// access.
pub async fn released_workflows_cannot_be_announced(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("released", PricingTier::Pro, Some(4900)).await;
    let buyer = Fixture::user("early-buyer");
    f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let r = f.vault.announce_workflow(&f.admin, w.id).await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidTransition {
                state: "published",
                event: "announce",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(
        workflow_of(&f, w.id).await.status,
        WorkflowStatus::Published
    );
    assert!(
        f.vault
            .check_access(&buyer, w.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    f.vault.archive_workflow(&f.admin, w.id).await.unwrap();
    assert!(matches!(
        f.vault.announce_workflow(&f.admin, w.id).await,
        Err(Error::InvalidTransition {
            state: "archived",
            ..
        })
    ));
}

pub async fn category_counts_published_workflows(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let count = |f: &Fixture, i: usize| {
        let id = f.categories[i].id;
        let store = Arc::clone(&f.store);
        async move { store.category(id).await.unwrap().unwrap().workflow_count }
    };
    let draft = f
        .vault
        .create_workflow(&f.admin, f.content("a", PricingTier::Free, None))
        .await
        .unwrap();
    assert_eq!(count(&f, 0).await, 0, "drafts do not count");
    f.vault.publish_workflow(&f.admin, draft.id).await.unwrap();
    f.workflow("b", PricingTier::Free, None).await;
    assert_eq!(count(&f, 0).await, 2);
    f.vault.archive_workflow(&f.admin, draft.id).await.unwrap();
    assert_eq!(count(&f, 0).await, 1);
    let (c, _) = f.workflow("c", PricingTier::Free, None).await;
    let mut moved = c.content.clone();
    moved.category_id = f.categories[1].id;
    f.vault.edit_workflow(&f.admin, c.id, moved).await.unwrap();
    assert_eq!(count(&f, 0).await, 1);
    assert_eq!(count(&f, 1).await, 1);
}

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

fn review_input(stars: u8) -> ReviewInput {
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions: DimensionRatings::default(),
        title: format!("{stars} stars"),
        body: String::new(),
    }
}

/// Anyone who may see a workflow sees its files' metadata; only staff see
/// where the bytes are stored, and a download hands out the key of the one
/// file it granted.
pub async fn storage_keys_only_for_staff(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, file) = f.workflow("keys", PricingTier::Pro, Some(900)).await;
    let anyone = Fixture::user("browser");
    let listed = f.vault.files(&anyone, w.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, file.id);
    assert_eq!(listed[0].checksum, file.checksum);
    let json = serde_json::to_value(&listed).unwrap();
    assert!(
        !json.to_string().contains(&file.storage_key),
        "a listing must not carry the storage key: {json}"
    );
    for actor in [&anyone, &Actor::Anonymous] {
        assert!(matches!(
            f.vault.stored_files(actor, w.id).await,
            Err(Error::Forbidden { .. })
        ));
    }
    let stored = f.vault.stored_files(&f.admin, w.id).await.unwrap();
    assert_eq!(stored, vec![file.clone()]);
    // The paid file is denied to the browser: no key either way.
    assert!(
        f.vault
            .download(&anyone, w.id, None, &no_request())
            .await
            .is_err()
    );
}

pub async fn primary_file_is_unique(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, first) = f.workflow("files", PricingTier::Free, None).await;
    let second = f
        .add_file(w.id, Version::new(1, 1, 0), FileAccess::Standard, true)
        .await;
    let files = f.vault.files(&Actor::Anonymous, w.id).await.unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].id, second.id, "the primary file comes first");
    assert!(
        files[0].is_primary && !files[1].is_primary,
        "one primary file per workflow"
    );
    assert_eq!(files[1].id, first.id);
    let t = f
        .vault
        .download(&Actor::Anonymous, w.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(
        t.file.id, second.id,
        "downloads without a file serve the primary one"
    );
    assert_eq!(
        f.store
            .file(second.id)
            .await
            .unwrap()
            .unwrap()
            .download_count,
        1
    );
}

/// The staff-only catalog maintenance calls: categories, file edits and the
/// bundle listing, with their refusals.
pub async fn catalog_maintenance(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let user = Fixture::user("visitor");
    let new_category = |slug: &str| crate::catalog::category::NewCategory {
        slug: Slug::parse(slug).unwrap(),
        name: "Finance system".into(),
        description: String::new(),
        icon: String::new(),
        color: String::new(),
        order_index: 10,
    };
    assert!(matches!(
        f.vault
            .create_category(&user, new_category("finance"))
            .await,
        Err(Error::Forbidden { .. })
    ));
    let finance = f
        .vault
        .create_category(&f.admin, new_category("finance"))
        .await
        .unwrap();
    assert!(matches!(
        f.vault
            .create_category(&f.admin, new_category("finance"))
            .await,
        Err(Error::AlreadyExists {
            entity: Entity::Category,
            ..
        })
    ));
    let mut bad = new_category("blank");
    bad.name = " ".into();
    assert!(
        matches!(f.vault.create_category(&f.admin, bad).await, Err(Error::Invalid(e)) if e.field() == "name")
    );
    let mut hidden = f.categories[0].clone();
    hidden.id = crate::value::ids::CategoryId::from_uuid(uuid::Uuid::from_u128(77));
    hidden.slug = Slug::parse("retired-system").unwrap();
    hidden.is_active = false;
    f.store.insert_category(&hidden).await.unwrap();
    let public = f.vault.categories(&user).await.unwrap();
    assert_eq!(public.len(), 10);
    assert_eq!(public.last().map(|c| c.id), Some(finance.id));
    assert!(public.iter().all(|c| c.id != hidden.id));
    assert_eq!(f.vault.categories(&f.admin).await.unwrap().len(), 11);

    // Editing a file keeps its download count; it cannot move workflows.
    let (w, file) = f.workflow("edited", PricingTier::Free, None).await;
    let (other, _) = f.workflow("elsewhere", PricingTier::Free, None).await;
    f.vault
        .download(&Actor::Anonymous, w.id, None, &no_request())
        .await
        .unwrap();
    let edit = |workflow_id: WorkflowId| crate::catalog::file::NewFile {
        workflow_id,
        kind: file.kind,
        file_name: "renamed.json".into(),
        storage_key: file.storage_key.clone(),
        mime_type: file.mime_type.clone(),
        version: file.version,
        is_primary: true,
        access: FileAccess::Public,
        size_bytes: file.size_bytes,
        checksum: file.checksum.clone(),
    };
    assert!(matches!(
        f.vault.edit_file(&user, file.id, edit(w.id)).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(
        matches!(f.vault.edit_file(&f.admin, file.id, edit(other.id)).await, Err(Error::Invalid(e)) if e.field() == "workflow_id")
    );
    let ghost = crate::value::ids::FileId::from_uuid(uuid::Uuid::from_u128(404));
    assert!(matches!(
        f.vault.edit_file(&f.admin, ghost, edit(w.id)).await,
        Err(Error::NotFound {
            entity: Entity::File,
            ..
        })
    ));
    let edited = f
        .vault
        .edit_file(&f.admin, file.id, edit(w.id))
        .await
        .unwrap();
    assert_eq!(edited.download_count, 1);
    assert_eq!(edited.created_at, file.created_at);
    let stored = f.store.file(file.id).await.unwrap().unwrap();
    assert_eq!(stored, edited);
    assert_eq!(stored.file_name, "renamed.json");

    // Bundles: inactive ones are listed to staff only.
    let (bundle, _) = bundle_of_three(&f).await;
    assert_eq!(
        f.vault.bundles(&Actor::Anonymous).await.unwrap(),
        vec![bundle.clone()]
    );
    assert!(matches!(
        f.vault.set_bundle_active(&user, bundle.id, false).await,
        Err(Error::Forbidden { .. })
    ));
    f.advance(Duration::minutes(1));
    let off = f
        .vault
        .set_bundle_active(&f.admin, bundle.id, false)
        .await
        .unwrap();
    assert!(!off.is_active);
    assert!(off.updated_at > bundle.updated_at);
    assert_eq!(f.store.bundle(bundle.id).await.unwrap().unwrap(), off);
    assert!(f.vault.bundles(&Actor::Anonymous).await.unwrap().is_empty());
    assert!(matches!(
        f.vault.bundle(&user, bundle.id).await,
        Err(Error::NotFound {
            entity: Entity::Bundle,
            ..
        })
    ));
    assert_eq!(f.vault.bundles(&f.admin).await.unwrap(), vec![off.clone()]);

    // Editing re-prices against the members' current prices and keeps what
    // the store maintains.
    let mut edit = NewBundle {
        slug: Slug::parse("starter-pack-2").unwrap(),
        name: "Starter pack, second edition".into(),
        description: "Two of the three".into(),
        workflow_ids: off.workflow_ids[..2].to_vec(),
        price: usd(7000),
        valid_from: None,
        valid_until: None,
        seo: Default::default(),
    };
    assert!(matches!(
        f.vault.edit_bundle(&user, bundle.id, edit.clone()).await,
        Err(Error::Forbidden { .. })
    ));
    edit.price = usd(9001);
    assert!(
        matches!(
            f.vault.edit_bundle(&f.admin, bundle.id, edit.clone()).await,
            Err(Error::Invalid(_))
        ),
        "a bundle may not cost more than its members (90.00)"
    );
    edit.price = usd(7000);
    let edited = f
        .vault
        .edit_bundle(&f.admin, bundle.id, edit)
        .await
        .unwrap();
    assert_eq!(edited.original_price, usd(9000));
    assert_eq!(edited.workflow_ids, off.workflow_ids[..2].to_vec());
    assert_eq!(
        (edited.is_active, edited.created_at, edited.purchase_count),
        (false, bundle.created_at, bundle.purchase_count)
    );
    assert_eq!(f.store.bundle(bundle.id).await.unwrap().unwrap(), edited);
    let on = f
        .vault
        .set_bundle_active(&f.admin, bundle.id, true)
        .await
        .unwrap();
    assert_eq!(f.vault.bundles(&Actor::Anonymous).await.unwrap(), vec![on]);
}

pub async fn update_versions_strictly_increase(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("versioned", PricingTier::Free, None).await;
    let update = |v: Version| NewUpdate {
        workflow_id: w.id,
        version: v,
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Added,
            text: "more".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: String::new(),
    };
    let read_before = workflow_of(&f, w.id).await;
    let u1 = f
        .vault
        .publish_update(&f.admin, update(Version::new(1, 1, 0)))
        .await
        .unwrap();
    // An edit built from a read taken before the update never rolls the
    // version back: insert_update owns current_version.
    let mut edit = read_before.clone();
    edit.content.title = "edited".into();
    edit.revision = read_before.revision + 1;
    f.store
        .update_workflow(&edit, read_before.revision)
        .await
        .unwrap();
    assert_eq!(
        workflow_of(&f, w.id).await.current_version,
        Some(Version::new(1, 1, 0))
    );
    assert!(!u1.is_major || u1.version.major() == 1);
    let u2 = f
        .vault
        .publish_update(&f.admin, update(Version::new(2, 0, 0)))
        .await
        .unwrap();
    assert!(u2.is_major);
    assert_eq!(
        workflow_of(&f, w.id).await.current_version,
        Some(Version::new(2, 0, 0))
    );
    let r = f
        .vault
        .publish_update(&f.admin, update(Version::new(1, 5, 0)))
        .await;
    assert!(
        matches!(r, Err(Error::Invalid(ref e)) if e.field() == "version"),
        "{r:?}"
    );
    // The store guards it on its own, against a stale reader.
    let stale = update(Version::new(1, 9, 0))
        .build(
            crate::value::ids::UpdateId::from_uuid(uuid::Uuid::from_u128(9)),
            None,
            super::epoch(),
        )
        .unwrap();
    assert!(matches!(
        f.store.insert_update(&stale).await,
        Err(StoreError::Conflict { .. })
    ));
    let versions: Vec<Version> = f
        .vault
        .updates(&Actor::Anonymous, w.id)
        .await
        .unwrap()
        .iter()
        .map(|u| u.version)
        .collect();
    assert_eq!(versions, vec![Version::new(1, 1, 0), Version::new(2, 0, 0)]);
}

async fn bundle_of_three(f: &Fixture) -> (crate::catalog::bundle::Bundle, Vec<WorkflowId>) {
    let (a, _) = f.workflow("b-one", PricingTier::Pro, Some(6000)).await;
    let (b, _) = f.workflow("b-two", PricingTier::Pro, Some(3000)).await;
    let (c, _) = f.workflow("b-three", PricingTier::Pro, Some(1000)).await;
    let members = vec![a.id, b.id, c.id];
    let bundle = f
        .vault
        .create_bundle(
            &f.admin,
            NewBundle {
                slug: Slug::parse("starter-pack").unwrap(),
                name: "Starter pack".into(),
                description: String::new(),
                workflow_ids: members.clone(),
                price: usd(8000),
                valid_from: None,
                valid_until: None,
                seo: Default::default(),
            },
        )
        .await
        .unwrap();
    (bundle, members)
}

pub async fn bundles_price_and_quote(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (bundle, members) = bundle_of_three(&f).await;
    assert_eq!(bundle.original_price, usd(10000));
    let view = f.vault.bundle(&Actor::Anonymous, bundle.id).await.unwrap();
    assert_eq!(view.pricing.savings, usd(2000));
    assert_eq!(view.pricing.savings_percent, Decimal::from(20));
    let buyer = Fixture::user("collector");
    f.buy(&buyer, CheckoutItem::Workflow(members[0])).await;
    let quote = f
        .vault
        .quote_bundle(&buyer, bundle.id, LicenseType::Personal)
        .await
        .unwrap();
    assert_eq!(quote.owned, vec![members[0]]);
    assert_eq!(
        quote.price,
        usd(3200),
        "credit is the owned member's 60% share of 80.00"
    );
    // A personal license is no credit toward a commercial bundle: the quote
    // says what that checkout would charge.
    let commercial = f
        .vault
        .quote_bundle(&buyer, bundle.id, LicenseType::Commercial)
        .await
        .unwrap();
    assert!(commercial.owned.is_empty());
    assert_eq!(commercial.price, usd(8000));
    let checkout = f
        .checkout(
            &buyer,
            CheckoutItem::Bundle(bundle.id),
            LicenseType::Commercial,
        )
        .await
        .unwrap();
    assert_eq!(checkout.amount, commercial.price);
    let p = f.buy(&buyer, CheckoutItem::Bundle(bundle.id)).await;
    assert_eq!(p.total, usd(3200));
    assert_eq!(
        f.store
            .bundle(bundle.id)
            .await
            .unwrap()
            .unwrap()
            .purchase_count,
        1
    );
    let again = f
        .checkout(
            &buyer,
            CheckoutItem::Bundle(bundle.id),
            LicenseType::Personal,
        )
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "{again:?}"
    );
    // The bundle's rating combines its members' approved reviews.
    let r = f
        .vault
        .submit_review(&buyer, members[1], review_input(4))
        .await
        .unwrap();
    f.vault
        .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let view = f.vault.bundle(&Actor::Anonymous, bundle.id).await.unwrap();
    assert_eq!((view.rating.count(), view.rating.sum()), (1, 4));
    let slug_clash = f.store.insert_bundle(&bundle).await;
    assert!(matches!(slug_clash, Err(StoreError::AlreadyExists { .. })));
    // A member taken off sale takes the bundle off sale with it: buying it
    // alone would fail the same way.
    f.vault
        .archive_workflow(&f.admin, members[2])
        .await
        .unwrap();
    let latecomer = Fixture::user("latecomer");
    let late = f
        .checkout(
            &latecomer,
            CheckoutItem::Bundle(bundle.id),
            LicenseType::Personal,
        )
        .await;
    assert!(
        matches!(
            late,
            Err(Error::InvalidTransition {
                entity: Entity::Workflow,
                state: "archived",
                event: "purchase"
            })
        ),
        "{late:?}"
    );
}

// ------------------------------------------------------- access, downloads

pub async fn free_download_counts_everywhere(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, file) = f.workflow("free-one", PricingTier::Free, None).await;
    let req = RequestInfo {
        ip: Some("198.51.100.4".parse().unwrap()),
        user_agent: Some("Mozilla/5.0".into()),
        referrer: Some("https://news.example.org/x".into()),
        country: Some(crate::value::country::CountryCode::parse("DE").unwrap()),
    };
    let t = f
        .vault
        .download(&Actor::Anonymous, w.id, None, &req)
        .await
        .unwrap();
    assert_eq!(t.download.kind, DownloadKind::Free);
    assert_eq!(t.decision.kind(), Some(AccessKind::Free));
    assert_eq!(t.download.user_id, None);
    let hash = t.download.request.ip_hash.clone().unwrap();
    assert_ne!(hash.as_str(), "198.51.100.4");
    assert!(
        !format!("{t:?}").contains("198.51.100.4"),
        "the raw IP is never kept"
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 1);
    assert_eq!(
        f.store.file(file.id).await.unwrap().unwrap().download_count,
        1
    );
    assert_eq!(
        f.store
            .category(f.categories[0].id)
            .await
            .unwrap()
            .unwrap()
            .total_downloads,
        1
    );
    let day = super::epoch().date_naive();
    let rows = f.store.analytics(w.id, day, day).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].downloads, 1);
    let recorded = f.store.downloads_for_workflow(w.id, 10).await.unwrap();
    assert_eq!(recorded, vec![t.download]);
}

pub async fn paid_download_denied_with_remedy(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("paid", PricingTier::Pro, Some(4900)).await;
    let anon = denied(
        f.vault
            .download(&Actor::Anonymous, w.id, None, &no_request())
            .await,
    );
    assert_eq!(anon.reasons, vec![DenyReason::SignInRequired]);
    assert_eq!(anon.remedies, vec![Remedy::SignIn]);
    let user = Fixture::user("window-shopper");
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert_eq!(d.reasons, vec![DenyReason::NoEntitlement]);
    assert!(d.remedies.contains(&Remedy::Buy { price: usd(4900) }));
    assert!(d.remedies.contains(&Remedy::Join {
        tier: PricingTier::Pro
    }));
    assert_eq!(
        workflow_of(&f, w.id).await.stats.download_count,
        0,
        "a denial writes nothing"
    );
    let basic = f.join(&user, PricingTier::Basic, None, false).await;
    let d = f.vault.check_access(&user, w.id, None).await.unwrap();
    assert!(
        d.summary()
            .contains("needs tier pro or higher; you have basic"),
        "{}",
        d.summary()
    );
    assert!(d.remedies.contains(&Remedy::Upgrade {
        membership_id: basic.id,
        to: PricingTier::Pro
    }));
}

pub async fn purchase_grants_and_limit_holds(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("limited", PricingTier::Pro, Some(2900));
    c.download_limit = Some(5);
    let (w, _) = f.publish(c).await;
    let user = Fixture::user("buyer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    assert_eq!(p.status, PaymentStatus::Completed);
    for i in 1..=5 {
        let t = f
            .vault
            .download(&user, w.id, None, &no_request())
            .await
            .unwrap();
        assert_eq!(t.download.kind, DownloadKind::Purchased);
        assert_eq!(t.quota_after.unwrap().used, i);
    }
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert!(
        d.summary().contains("5 of 5 downloads used"),
        "{}",
        d.summary()
    );
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_user(user.user_id().unwrap(), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    // The guard itself: a charge over the limit is refused by the store.
    let dl = f
        .store
        .downloads_for_user(user.user_id().unwrap(), 1)
        .await
        .unwrap()
        .remove(0);
    let mut extra = dl.clone();
    extra.id = crate::value::ids::DownloadId::from_uuid(uuid::Uuid::from_u128(77));
    let charge = crate::store::Charge::Purchase {
        id: p.id,
        expected_status: PaymentStatus::Completed,
        limit: Some(5),
    };
    let r = f
        .store
        .record_download(&extra, &charge, &AnalyticsDelta::none(w.id, super::epoch()))
        .await;
    assert!(
        matches!(r, Err(StoreError::LimitReached { limit: 5, .. })),
        "{r:?}"
    );
    let wrong_state = crate::store::Charge::Purchase {
        id: p.id,
        expected_status: PaymentStatus::Refunded,
        limit: None,
    };
    let r = f
        .store
        .record_download(
            &extra,
            &wrong_state,
            &AnalyticsDelta::none(w.id, super::epoch()),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(
        workflow_of(&f, w.id).await.stats.download_count,
        5,
        "refused charges write nothing"
    );
    // The denial offers buying again, and buying again works: a license
    // with no downloads left does not count as owning the workflow.
    assert!(d.remedies.contains(&Remedy::Buy { price: usd(2900) }));
    let again = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    assert_ne!(again.id, p.id);
    let t = f
        .vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(
        t.download.source,
        crate::delivery::download::DownloadSource::Purchase(again.id)
    );
    // So does an expired license.
    let (w2, _) = f.workflow("expiring", PricingTier::Pro, Some(1500)).await;
    let first = f
        .vault
        .start_purchase(
            &user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w2.id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: Some(super::epoch() + Duration::days(1)),
                provider: ProviderRefs::default(),
            },
        )
        .await
        .unwrap();
    f.vault
        .complete_purchase(
            &Actor::Service,
            first.id,
            PaymentRef::parse("pi_expiring").unwrap(),
        )
        .await
        .unwrap();
    f.advance(Duration::days(2));
    let d = denied(f.vault.download(&user, w2.id, None, &no_request()).await);
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::LicenseExpired { .. }]
    ));
    f.buy(&user, CheckoutItem::Workflow(w2.id)).await;
    f.vault
        .download(&user, w2.id, None, &no_request())
        .await
        .unwrap();
}

pub async fn membership_tier_quota_and_renewal(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (pro, _) = f.workflow("pro-flow", PricingTier::Pro, Some(4900)).await;
    let (premium, _) = f
        .workflow("premium-flow", PricingTier::Premium, Some(9900))
        .await;
    let user = Fixture::user("member");
    let m = f.join(&user, PricingTier::Pro, Some(2), false).await;
    let t = f
        .vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(t.download.kind, DownloadKind::Membership);
    let d = denied(
        f.vault
            .download(&user, premium.id, None, &no_request())
            .await,
    );
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::TierTooLow { .. }]
    ));
    f.vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    let d = denied(f.vault.download(&user, pro.id, None, &no_request()).await);
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::PeriodQuotaUsed { .. }]),
        "{:?}",
        d.reasons
    );
    assert!(
        d.remedies
            .iter()
            .any(|r| matches!(r, Remedy::WaitUntil { .. }))
    );
    // The period ends: without renewal, no access; a renewal resets the quota.
    f.advance(Duration::days(30));
    let d = denied(f.vault.download(&user, pro.id, None, &no_request()).await);
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::MembershipLapsed { .. }]),
        "{:?}",
        d.reasons
    );
    let now = super::epoch() + Duration::days(30);
    let renewed = f
        .vault
        .renew_membership(
            &Actor::Service,
            m.id,
            Period::new(now, now + Duration::days(30)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(renewed.quota.used, 0);
    assert_eq!(renewed.enrolled_at, m.enrolled_at);
    f.vault
        .download(&user, pro.id, None, &no_request())
        .await
        .unwrap();
    assert_eq!(
        f.store.membership(m.id).await.unwrap().unwrap().quota.used,
        1
    );
    // A renewal that only extends the current period keeps its count, and
    // what the service returns is what was stored.
    let extended = f
        .vault
        .renew_membership(
            &Actor::Service,
            m.id,
            Period::new(now, now + Duration::days(60)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(extended.quota.used, 1);
    assert_eq!(f.store.membership(m.id).await.unwrap().unwrap(), extended);
    // Upgrading covers premium and keeps the enrollment date.
    let up = f
        .vault
        .change_membership_tier(&Actor::Service, m.id, PricingTier::Premium, Some(2))
        .await
        .unwrap();
    assert_eq!(up.enrolled_at, m.enrolled_at);
    f.vault
        .download(&user, premium.id, None, &no_request())
        .await
        .unwrap();
}

pub async fn refund_cascade_revokes_bundle_access(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (bundle, members) = bundle_of_three(&f).await;
    let user = Fixture::user("refunder");
    let p = f.buy(&user, CheckoutItem::Bundle(bundle.id)).await;
    for m in &members {
        assert!(
            f.vault
                .check_access(&user, *m, None)
                .await
                .unwrap()
                .is_granted()
        );
    }
    let (partial, fx) = f
        .vault
        .refund_purchase(
            &Actor::Service,
            p.id,
            Some(usd(1000)),
            Some("goodwill".into()),
        )
        .await
        .unwrap();
    assert_eq!(partial.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(fx.access, crate::commerce::refund::AccessEffect::Keep);
    assert!(
        f.vault
            .check_access(&user, members[1], None)
            .await
            .unwrap()
            .is_granted(),
        "a partial refund keeps access"
    );
    f.advance(Duration::days(2));
    let (full, _) = f
        .vault
        .refund_purchase(&Actor::Service, p.id, None, None)
        .await
        .unwrap();
    assert_eq!(full.status, PaymentStatus::Refunded);
    for m in &members {
        let d = f.vault.check_access(&user, *m, None).await.unwrap();
        assert!(!d.is_granted());
        assert!(
            d.summary().contains("purchase refunded on 2025-02-15"),
            "{}",
            d.summary()
        );
    }
    // Repeating the refund changes nothing.
    let (same, fx) = f
        .vault
        .apply_payment_event(
            &Actor::Service,
            p.id,
            PaymentEvent::Refunded {
                refunded_total: usd(8000),
                reason: None,
            },
        )
        .await
        .unwrap();
    assert!(!fx.changed);
    assert_eq!(same, full);
}

/// Two refunds that read the same partially refunded purchase: the second
/// writer's guard (status and refunded total) fails, so neither overwrites
/// the other and refund analytics are counted once.
pub async fn stale_refund_writes_conflict(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f
        .workflow("refund-race", PricingTier::Pro, Some(4900))
        .await;
    let p = f
        .buy(&Fixture::user("racer"), CheckoutItem::Workflow(w.id))
        .await;
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(1000)), None)
        .await
        .unwrap();
    let read = f.store.purchase(p.id).await.unwrap().unwrap();
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(500)), None)
        .await
        .unwrap();
    let stale = crate::commerce::refund::cascade(
        &read,
        &PaymentEvent::Refunded {
            refunded_total: usd(1700),
            reason: None,
        },
        &[],
        super::epoch(),
    )
    .unwrap();
    let mut next = read.clone();
    stale.apply_to(&mut next, super::epoch());
    let r = f
        .store
        .settle_purchase(&crate::store::PurchaseWrite {
            purchase: next,
            expected_status: read.status,
            expected_refunded: read.refund.as_ref().map(|r| r.refunded),
            expected_dispute: read.dispute_outcome,
            count_purchase: false,
            analytics: vec![],
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    let stored = f.store.purchase(p.id).await.unwrap().unwrap();
    assert_eq!(stored.refund.map(|r| r.refunded), Some(usd(1500)));
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].refunds,
        Decimal::from(15)
    );
}

pub async fn dispute_suspends_then_restores(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("disputed", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("chargeback");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .apply_payment_event(&Actor::Service, p.id, PaymentEvent::DisputeOpened)
        .await
        .unwrap();
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::PurchaseDisputed { .. }]
    ));
    let (p2, _) = f
        .vault
        .apply_payment_event(
            &Actor::Service,
            p.id,
            PaymentEvent::DisputeClosed { won: true },
        )
        .await
        .unwrap();
    assert_eq!(p2.status, PaymentStatus::Completed);
    f.vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
}

pub async fn archived_only_for_prior_access(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("retired", PricingTier::Pro, Some(4900)).await;
    let early = Fixture::user("early");
    f.buy(&early, CheckoutItem::Workflow(w.id)).await;
    let member = Fixture::user("member");
    f.join(&member, PricingTier::Enterprise, None, false).await;
    let late_member = Fixture::user("late-member");
    f.join(&late_member, PricingTier::Enterprise, None, false)
        .await;
    f.vault
        .download(&member, w.id, None, &no_request())
        .await
        .unwrap();
    f.advance(Duration::days(1));
    f.vault.archive_workflow(&f.admin, w.id).await.unwrap();
    assert!(
        f.vault
            .check_access(&early, w.id, None)
            .await
            .unwrap()
            .is_granted(),
        "earlier buyers keep access"
    );
    assert!(
        f.vault
            .check_access(&member, w.id, None)
            .await
            .unwrap()
            .is_granted(),
        "members who downloaded before keep access"
    );
    let d = f
        .vault
        .check_access(&late_member, w.id, None)
        .await
        .unwrap();
    assert!(!d.is_granted());
    let buy_now = f
        .vault
        .start_purchase(
            &Fixture::user("late"),
            StartPurchase {
                user_id: UserId::parse("late").unwrap(),
                item: CheckoutItem::Workflow(w.id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(
        matches!(buy_now, Err(Error::InvalidTransition { .. })),
        "archived workflows are not sold"
    );
    let listed = f
        .vault
        .list_workflows(&Actor::Anonymous, WorkflowQuery::default())
        .await
        .unwrap();
    assert!(
        listed.items.iter().all(|x| x.id != w.id),
        "archived workflows leave the catalog"
    );
}

pub async fn version_scoped_purchase(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("evolving", PricingTier::Pro, Some(4900));
    c.update_months = Some(12);
    let (w, v1) = f.publish(c).await;
    let user = Fixture::user("subscriber-of-updates");
    f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let update = |v: Version| NewUpdate {
        workflow_id: w.id,
        version: v,
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Changed,
            text: "new".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: String::new(),
    };
    f.advance(Duration::days(100));
    f.vault
        .publish_update(&f.admin, update(Version::new(1, 1, 0)))
        .await
        .unwrap();
    let v11 = f
        .add_file(w.id, Version::new(1, 1, 0), FileAccess::Standard, false)
        .await;
    f.advance(Duration::days(300));
    f.vault
        .publish_update(&f.admin, update(Version::new(2, 0, 0)))
        .await
        .unwrap();
    let v2 = f
        .add_file(w.id, Version::new(2, 0, 0), FileAccess::Standard, true)
        .await;
    assert!(
        f.vault
            .check_access(&user, w.id, Some(v11.id))
            .await
            .unwrap()
            .is_granted(),
        "inside the window"
    );
    assert!(
        f.vault
            .check_access(&user, w.id, Some(v1.id))
            .await
            .unwrap()
            .is_granted(),
        "earlier versions forever"
    );
    let d = f
        .vault
        .check_access(&user, w.id, Some(v2.id))
        .await
        .unwrap();
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::VersionNotCovered { .. }]),
        "{:?}",
        d.reasons
    );
}

async fn race_downloads(f: &Fixture, user: &Actor, w: WorkflowId, tasks: usize) -> (usize, usize) {
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let vault = f.vault.clone();
        let user = user.clone();
        handles.push(super::tokio::spawn(async move {
            vault
                .download(&user, w, None, &RequestInfo::default())
                .await
        }));
    }
    let (mut ok, mut denied) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Denied(_)) => denied += 1,
            Err(e) => panic!("unexpected error under concurrency: {e:?}"),
        }
    }
    (ok, denied)
}

pub async fn concurrent_downloads_respect_purchase_limit(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("hot", PricingTier::Pro, Some(1000));
    c.download_limit = Some(5);
    let (w, _) = f.publish(c).await;
    let user = Fixture::user("racer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let (ok, denied) = race_downloads(&f, &user, w.id, 32).await;
    assert_eq!((ok, denied), (5, 27));
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_user(user.user_id().unwrap(), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 5);
}

/// The store's guard on its own: 32 writers that all decided before any of
/// them wrote (a barrier lines them up) still get exactly 5 successes.
pub async fn guarded_charge_under_contention(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("contended", PricingTier::Pro, Some(1000));
    c.download_limit = Some(5);
    let (w, file) = f.publish(c).await;
    let user = Fixture::user("contender");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let barrier = Arc::new(super::tokio::sync::Barrier::new(32));
    let mut handles = Vec::new();
    for i in 0..32u128 {
        let store = Arc::clone(&f.store);
        let barrier = Arc::clone(&barrier);
        let download = crate::delivery::download::Download {
            id: crate::value::ids::DownloadId::from_uuid(uuid::Uuid::from_u128(1000 + i)),
            user_id: user.user_id().cloned(),
            workflow_id: w.id,
            file_id: file.id,
            file_version: file.version,
            kind: DownloadKind::Purchased,
            source: crate::delivery::download::DownloadSource::Purchase(p.id),
            request: Default::default(),
            downloaded_at: super::epoch(),
        };
        handles.push(super::tokio::spawn(async move {
            let charge = crate::store::Charge::Purchase {
                id: p.id,
                expected_status: PaymentStatus::Completed,
                limit: Some(5),
            };
            let mut delta = AnalyticsDelta::none(download.workflow_id, super::epoch());
            delta.downloads = 1;
            barrier.wait().await;
            store.record_download(&download, &charge, &delta).await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached { limit: 5, .. }) => full += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, full), (5, 27));
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 5);
    assert_eq!(
        f.store
            .downloads_for_workflow(w.id, 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 5);
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].downloads,
        5
    );
}

pub async fn concurrent_downloads_respect_membership_limit(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f
        .workflow("hot-member", PricingTier::Basic, Some(1000))
        .await;
    let user = Fixture::user("member-racer");
    let m = f.join(&user, PricingTier::Pro, Some(3), false).await;
    let (ok, denied) = race_downloads(&f, &user, w.id, 16).await;
    assert_eq!((ok, denied), (3, 13));
    assert_eq!(
        f.store.membership(m.id).await.unwrap().unwrap().quota.used,
        3
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 3);
}

// ------------------------------------------------------------ purchases

async fn pending(f: &Fixture, user: &Actor, w: WorkflowId) -> crate::commerce::purchase::Purchase {
    f.vault
        .start_purchase(
            user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w),
                license_type: LicenseType::Commercial,
                tax: Some(usd(490)),
                license_expires_at: None,
                provider: ProviderRefs {
                    checkout_session_id: Some("cs_test_1".into()),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap()
}

pub async fn completion_idempotent_per_payment(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("once", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("payer");
    let p = pending(&f, &user, w.id).await;
    assert_eq!(p.total, usd(5390));
    assert_eq!(
        f.vault.purchase(&user, p.id).await.unwrap(),
        p,
        "purchases read back exactly"
    );
    let pay = PaymentRef::parse("pi_once").unwrap();
    let done = f
        .vault
        .complete_purchase(&Actor::Service, p.id, pay.clone())
        .await
        .unwrap();
    let again = f
        .vault
        .complete_purchase(&Actor::Service, p.id, pay.clone())
        .await
        .unwrap();
    assert_eq!(done, again);
    assert_eq!(workflow_of(&f, w.id).await.stats.purchase_count, 1);
    let other = f
        .vault
        .complete_purchase(
            &Actor::Service,
            p.id,
            PaymentRef::parse("pi_other").unwrap(),
        )
        .await;
    assert!(matches!(other, Err(Error::Conflict { .. })), "{other:?}");
    assert_eq!(
        f.store
            .purchase_by_payment_ref(&pay)
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    // A payment reference settles one purchase only.
    let q = pending(&f, &Fixture::user("second"), w.id).await;
    let r = f.vault.complete_purchase(&Actor::Service, q.id, pay).await;
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    assert_eq!(
        f.store.purchase(q.id).await.unwrap().unwrap().status,
        PaymentStatus::Pending
    );
}

/// What the payment webhooks look up: a purchase by its payment and a
/// membership by its subscription, for staff only.
pub async fn webhook_lookups(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("hooked", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("subscriber");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let pay = p.payment_ref.clone().unwrap();
    assert!(matches!(
        f.vault.purchase_by_payment(&user, &pay).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        f.vault
            .purchase_by_payment(&Actor::Service, &pay)
            .await
            .unwrap(),
        Some(p)
    );
    assert_eq!(
        f.vault
            .purchase_by_payment(&f.admin, &PaymentRef::parse("pi_unknown").unwrap())
            .await
            .unwrap(),
        None
    );
    let now = super::epoch();
    let m = f
        .vault
        .start_membership(
            &Actor::Service,
            crate::commerce::membership::NewMembership {
                user_id: user.user_id().unwrap().clone(),
                tier: PricingTier::Pro,
                period: Period::new(now, now + Duration::days(30)).unwrap(),
                trial: false,
                period_download_limit: None,
                features: Default::default(),
                provider: ProviderRefs {
                    subscription_id: Some("sub_123".into()),
                    ..ProviderRefs::default()
                },
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        f.vault.membership_by_subscription(&user, "sub_123").await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        f.vault
            .membership_by_subscription(&Actor::Service, "sub_123")
            .await
            .unwrap(),
        Some(m)
    );
    assert_eq!(
        f.vault
            .membership_by_subscription(&Actor::Service, "sub_other")
            .await
            .unwrap(),
        None
    );
}

pub async fn concurrent_completion_counts_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("raced", PricingTier::Pro, Some(4900)).await;
    let p = pending(&f, &Fixture::user("racer"), w.id).await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let vault = f.vault.clone();
        handles.push(super::tokio::spawn(async move {
            vault
                .complete_purchase(&Actor::Service, p.id, PaymentRef::parse("pi_dup").unwrap())
                .await
        }));
    }
    for h in handles {
        let done = h.await.unwrap().unwrap();
        assert_eq!(done.status, PaymentStatus::Completed);
    }
    assert_eq!(
        workflow_of(&f, w.id).await.stats.purchase_count,
        1,
        "duplicate deliveries apply once"
    );
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].purchases,
        1
    );
}

pub async fn purchase_failures_and_refusals(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("failing", PricingTier::Pro, Some(4900)).await;
    let (free, _) = f.workflow("gratis", PricingTier::Free, None).await;
    let (members, _) = f.workflow("club-only", PricingTier::Pro, None).await;
    let user = Fixture::user("unlucky");
    let p = pending(&f, &user, w.id).await;
    let failed = f.vault.fail_purchase(&Actor::Service, p.id).await.unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed);
    let r = f
        .vault
        .refund_purchase(&Actor::Service, p.id, None, None)
        .await;
    assert!(matches!(r, Err(Error::InvalidTransition { .. })), "{r:?}");
    // A failed attempt is not terminal: a later payment completes it, once.
    let paid = f
        .vault
        .complete_purchase(&Actor::Service, p.id, PaymentRef::parse("pi_late").unwrap())
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Completed);
    assert_eq!(workflow_of(&f, w.id).await.stats.purchase_count, 1);
    let r = f.vault.fail_purchase(&Actor::Service, p.id).await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidTransition {
                state: "completed",
                ..
            })
        ),
        "a paid purchase does not fail: {r:?}"
    );
    for (id, what) in [(free.id, "free"), (members.id, "members-only")] {
        let r = f
            .checkout(&user, CheckoutItem::Workflow(id), LicenseType::Personal)
            .await;
        assert!(
            matches!(r, Err(Error::Invalid(ref e)) if e.field() == "item"),
            "{what}: {r:?}"
        );
    }
    let eur_tax = f
        .vault
        .start_purchase(
            &user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w.id),
                license_type: LicenseType::Personal,
                tax: Some(Money::from_minor(100, Currency::EUR)),
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(
        matches!(eur_tax, Err(Error::CurrencyMismatch { .. })),
        "{eur_tax:?}"
    );
    assert!(matches!(
        f.vault
            .complete_purchase(
                &Actor::Service,
                PurchaseId::from_uuid(uuid::Uuid::from_u128(1)),
                PaymentRef::parse("pi_x").unwrap()
            )
            .await,
        Err(Error::NotFound {
            entity: Entity::Purchase,
            ..
        })
    ));
    assert_eq!(
        f.vault
            .purchases_for_user(&user, user.user_id().unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn revenue_and_refund_analytics(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (bundle, members) = bundle_of_three(&f).await;
    let user = Fixture::user("analyst");
    let p = f.buy(&user, CheckoutItem::Bundle(bundle.id)).await;
    let day = super::epoch().date_naive();
    let mut revenue = Decimal::ZERO;
    let mut parts = Vec::new();
    for m in &members {
        let row = f.store.analytics(*m, day, day).await.unwrap().remove(0);
        assert_eq!(row.purchases, 1);
        assert_eq!(row.currency, Some(Currency::USD));
        revenue += row.revenue;
        parts.push(row.revenue);
    }
    assert_eq!(
        revenue,
        Decimal::from(80),
        "allocated revenue sums exactly to the charge"
    );
    assert_eq!(
        parts,
        vec![Decimal::from(48), Decimal::from(24), Decimal::from(8)]
    );
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(1000)), None)
        .await
        .unwrap();
    let mut refunds = Decimal::ZERO;
    for m in &members {
        refunds += f.store.analytics(*m, day, day).await.unwrap()[0].refunds;
    }
    assert_eq!(refunds, Decimal::from(10));
}

// ---------------------------------------------------------- memberships

pub async fn membership_lifecycle(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let user = Fixture::user("joiner");
    let m = f.join(&user, PricingTier::Pro, None, true).await;
    assert_eq!(m.status, MembershipStatus::Trialing);
    let second = f
        .vault
        .start_membership(
            &Actor::Service,
            crate::commerce::membership::NewMembership {
                user_id: user.user_id().unwrap().clone(),
                tier: PricingTier::Basic,
                period: m.period,
                trial: false,
                period_download_limit: None,
                features: Default::default(),
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(matches!(
        second,
        Err(Error::AlreadyExists {
            entity: Entity::Membership,
            ..
        })
    ));
    let r = f
        .vault
        .apply_membership_event(
            &user,
            m.id,
            MembershipEvent::ChangeTier {
                tier: PricingTier::Enterprise,
                period_download_limit: None,
            },
        )
        .await;
    assert!(
        matches!(r, Err(Error::Forbidden { .. })),
        "members cannot change their own tier without paying"
    );
    let failed = f
        .vault
        .mark_membership_past_due(&Actor::Service, m.id)
        .await
        .unwrap();
    assert_eq!(failed.status, MembershipStatus::PastDue);
    let scheduled = f.vault.cancel_membership(&user, m.id, true).await.unwrap();
    assert!(scheduled.cancel_at_period_end);
    assert_eq!(scheduled.status, MembershipStatus::PastDue);
    let canceled = f.vault.cancel_membership(&user, m.id, false).await.unwrap();
    assert_eq!(canceled.status, MembershipStatus::Canceled);
    let r = f
        .vault
        .apply_membership_event(
            &Actor::Service,
            m.id,
            MembershipEvent::Renew { period: m.period },
        )
        .await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidTransition {
                entity: Entity::Membership,
                state: "canceled",
                ..
            })
        ),
        "{r:?}"
    );
    let stored = f.store.membership(m.id).await.unwrap().unwrap();
    assert_eq!(stored, canceled, "a refused transition writes nothing");
    // A stale writer loses.
    let mut stale = m.clone();
    stale.revision = m.revision + 1;
    assert!(matches!(
        f.store.update_membership(&stale, m.revision).await,
        Err(StoreError::Conflict { .. })
    ));
    // After it ended, a new membership may start.
    f.join(&user, PricingTier::Basic, None, false).await;
    assert_eq!(
        f.vault
            .memberships_for_user(&user, user.user_id().unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn active_memberships_view(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let a = f
        .join(&Fixture::user("a"), PricingTier::Pro, Some(10), false)
        .await;
    let b = f
        .join(&Fixture::user("b"), PricingTier::Basic, None, true)
        .await;
    let c = f
        .join(&Fixture::user("c"), PricingTier::Basic, None, false)
        .await;
    f.vault
        .apply_membership_event(&Actor::Service, c.id, MembershipEvent::Cancel)
        .await
        .unwrap();
    f.advance(Duration::days(10));
    let rows = f.vault.active_memberships(&f.admin).await.unwrap();
    let ids: Vec<_> = rows.iter().map(|r| r.membership_id).collect();
    assert!(ids.contains(&a.id) && ids.contains(&b.id) && !ids.contains(&c.id));
    let row_a = rows.iter().find(|r| r.membership_id == a.id).unwrap();
    assert_eq!(row_a.days_remaining, 20);
    assert_eq!(row_a.downloads_remaining, Some(10));
    assert!(matches!(
        f.vault.active_memberships(&Fixture::user("a")).await,
        Err(Error::Forbidden { .. })
    ));
    f.advance(Duration::days(25));
    assert!(
        f.vault
            .active_memberships(&f.admin)
            .await
            .unwrap()
            .is_empty(),
        "lapsed memberships leave the view"
    );
}

// ------------------------------------------------------------- community

pub async fn reviews_moderation_and_aggregate(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("reviewed", PricingTier::Pro, Some(4900)).await;
    let buyer = Fixture::user("verified");
    f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let mut input = review_input(4);
    input.dimensions.set(
        crate::community::rating::Dimension::Efficiency,
        Some(Rating::new(5).unwrap()),
    );
    let r = f.vault.submit_review(&buyer, w.id, input).await.unwrap();
    assert!(r.verified_purchase);
    assert_eq!(r.status, ModerationStatus::Pending);
    assert_eq!(
        workflow_of(&f, w.id).await.stats.rating.count(),
        0,
        "pending reviews do not count"
    );
    let dup = f.vault.submit_review(&buyer, w.id, review_input(1)).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Review,
                ..
            })
        ),
        "{dup:?}"
    );
    assert!(matches!(
        f.vault
            .moderate_review(&buyer, r.id, ModerationStatus::Approved, None)
            .await,
        Err(Error::Forbidden { .. })
    ));
    // A pending review is shown to its author and staff only, and only
    // they may delete it; nobody can vote on it yet.
    let stranger = Fixture::user("stranger");
    for (who, seen) in [
        (&Actor::Anonymous, 0),
        (&stranger, 0),
        (&buyer, 1),
        (&f.admin, 1),
    ] {
        assert_eq!(f.vault.reviews(who, w.id).await.unwrap().len(), seen);
    }
    assert!(matches!(
        f.vault.delete_review(&stranger, r.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault
            .vote_review(&stranger, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(f.store.review(r.id).await.unwrap().is_some());
    f.vault
        .moderate_review(
            &f.admin,
            r.id,
            ModerationStatus::Approved,
            Some("ok".into()),
        )
        .await
        .unwrap();
    let other = Fixture::user("unverified");
    let r2 = f
        .vault
        .submit_review(&other, w.id, review_input(2))
        .await
        .unwrap();
    assert!(!r2.verified_purchase);
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let summary = f
        .vault
        .rating_summary(&Actor::Anonymous, w.id)
        .await
        .unwrap();
    assert_eq!(summary.count, 2);
    assert_eq!(summary.average, Some(Decimal::from(3)));
    assert_eq!(summary.distribution, [0, 1, 0, 1, 0]);
    assert_eq!(
        summary.dimensions.get("efficiency"),
        Some(&Decimal::from(5))
    );
    // Editing sends it back to moderation: it stops counting.
    f.vault
        .edit_review(&other, r2.id, review_input(5))
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.rating.count(), 1);
    assert!(matches!(
        f.vault.edit_review(&buyer, r2.id, review_input(1)).await,
        Err(Error::Forbidden { .. })
    ));
    // Rejecting and deleting take reviews out.
    f.vault
        .moderate_review(&f.admin, r.id, ModerationStatus::Rejected, None)
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.rating.count(), 0);
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    f.vault.delete_review(&other, r2.id).await.unwrap();
    assert_eq!(
        workflow_of(&f, w.id).await.stats.rating,
        RatingAggregate::default()
    );
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].reviews,
        3,
        "each first approval counts once"
    );
}

pub async fn review_votes_one_per_user(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("voted", PricingTier::Free, None).await;
    let author = Fixture::user("author");
    let r = f
        .vault
        .submit_review(&author, w.id, review_input(5))
        .await
        .unwrap();
    f.vault
        .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let v = Fixture::user("voter");
    f.vault
        .vote_review(&v, r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    let after = f
        .vault
        .vote_review(&v, r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    assert_eq!(
        (after.helpful_count, after.not_helpful_count),
        (1, 0),
        "one vote per user"
    );
    let after = f
        .vault
        .vote_review(&v, r.id, Some(Vote::NotHelpful))
        .await
        .unwrap();
    assert_eq!(
        (after.helpful_count, after.not_helpful_count),
        (0, 1),
        "changing a vote moves it"
    );
    f.vault
        .vote_review(&Fixture::user("v2"), r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    let after = f.vault.vote_review(&v, r.id, None).await.unwrap();
    assert_eq!((after.helpful_count, after.not_helpful_count), (1, 0));
    assert!(matches!(
        f.vault
            .vote_review(&author, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault
            .vote_review(&Actor::Anonymous, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::Forbidden { .. })
    ));
    // Most helpful first.
    let r2 = f
        .vault
        .submit_review(&Fixture::user("author2"), w.id, review_input(3))
        .await
        .unwrap();
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    for i in 0..5 {
        f.vault
            .vote_review(
                &Fixture::user(&format!("fan{i}")),
                r2.id,
                Some(Vote::Helpful),
            )
            .await
            .unwrap();
    }
    let order: Vec<_> = f
        .vault
        .reviews(&Actor::Anonymous, w.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, vec![r2.id, r.id]);
}

pub async fn rating_matches_recompute(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("churned", PricingTier::Free, None).await;
    // A fixed pseudo-random walk of submits, edits, moderations and deletes.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..60 {
        let user = Fixture::user(&format!("rater{}", next(8)));
        let existing = f
            .store
            .review_by_user(w.id, user.user_id().unwrap())
            .await
            .unwrap();
        match (existing, next(4)) {
            (None, _) => {
                let r = f
                    .vault
                    .submit_review(&user, w.id, review_input((next(5) + 1) as u8))
                    .await
                    .unwrap();
                if next(2) == 0 {
                    f.vault
                        .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
                        .await
                        .unwrap();
                }
            }
            (Some(r), 0) => {
                f.vault
                    .edit_review(&user, r.id, review_input((next(5) + 1) as u8))
                    .await
                    .unwrap();
            }
            (Some(r), 1) => f.vault.delete_review(&user, r.id).await.unwrap(),
            (Some(r), _) => {
                let s = [
                    ModerationStatus::Approved,
                    ModerationStatus::Rejected,
                    ModerationStatus::Flagged,
                ][next(3) as usize];
                f.vault
                    .moderate_review(&f.admin, r.id, s, None)
                    .await
                    .unwrap();
            }
        }
        let approved = f
            .store
            .reviews_for_workflow(w.id, &[ModerationStatus::Approved])
            .await
            .unwrap();
        let contributions: Vec<_> = approved.iter().filter_map(|r| r.contribution()).collect();
        let fresh = RatingAggregate::recompute(&contributions);
        assert_eq!(
            workflow_of(&f, w.id).await.stats.rating,
            fresh,
            "step {step}"
        );
    }
}

pub async fn favorites_unique_and_counted(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("liked", PricingTier::Free, None).await;
    let user = Fixture::user("fan");
    let fav = f
        .vault
        .add_favorite(
            &user,
            w.id,
            Some("try on Monday".into()),
            parse_tags(&["later"]).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 1);
    let dup = f.vault.add_favorite(&user, w.id, None, vec![]).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Favorite,
                ..
            })
        ),
        "{dup:?}"
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 1);
    assert_eq!(
        f.vault
            .favorites(&user, user.user_id().unwrap())
            .await
            .unwrap(),
        vec![fav]
    );
    assert!(f.vault.remove_favorite(&user, w.id).await.unwrap());
    assert!(!f.vault.remove_favorite(&user, w.id).await.unwrap());
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 0);
    assert!(matches!(
        f.vault
            .add_favorite(&Actor::Anonymous, w.id, None, vec![])
            .await,
        Err(Error::Forbidden { .. })
    ));
}

// ------------------------------------------------------------- analytics

pub async fn views_and_unique_visitors(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("viewed", PricingTier::Free, None).await;
    let from = |ip: &str, referrer: Option<&str>, country: &str| RequestInfo {
        ip: Some(ip.parse().unwrap()),
        user_agent: None,
        referrer: referrer.map(str::to_owned),
        country: Some(crate::value::country::CountryCode::parse(country).unwrap()),
    };
    f.vault
        .record_view(
            &Actor::Anonymous,
            w.id,
            &from("203.0.113.1", Some("https://www.google.com/"), "US"),
        )
        .await
        .unwrap();
    f.vault
        .record_view(&Actor::Anonymous, w.id, &from("203.0.113.1", None, "US"))
        .await
        .unwrap();
    f.vault
        .record_view(
            &Actor::Anonymous,
            w.id,
            &from("203.0.113.2", Some("https://google.com/x"), "DE"),
        )
        .await
        .unwrap();
    f.vault
        .record_view(
            &Fixture::user("viewer"),
            w.id,
            &from("203.0.113.1", None, "US"),
        )
        .await
        .unwrap();
    f.vault
        .record_interaction(&Actor::Anonymous, w.id, crate::vault::Interaction::Share)
        .await
        .unwrap();
    let day = super::epoch().date_naive();
    let row = f
        .vault
        .analytics(&f.admin, w.id, day, day)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(row.views, 4);
    assert_eq!(row.unique_visitors, 3, "two IPs and one user");
    assert_eq!(row.shares, 1);
    assert_eq!(row.traffic_sources.get("google.com"), Some(&2));
    assert_eq!(row.traffic_sources.get("direct"), Some(&2));
    assert_eq!(
        row.countries
            .get(&crate::value::country::CountryCode::parse("US").unwrap()),
        Some(&3)
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.view_count, 4);
    f.advance(Duration::days(1));
    f.vault
        .record_view(&Actor::Anonymous, w.id, &from("203.0.113.1", None, "US"))
        .await
        .unwrap();
    let rows = f
        .vault
        .analytics(&f.admin, w.id, day, day + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].unique_visitors, 1, "unique visitors are per day");
    assert!(matches!(
        f.vault.analytics(&Fixture::user("x"), w.id, day, day).await,
        Err(Error::Forbidden { .. })
    ));
    let bad = f
        .vault
        .analytics(&f.admin, w.id, day, day - Duration::days(1))
        .await;
    assert!(matches!(bad, Err(Error::Invalid(_))));
}

pub async fn workflow_stats_view(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("stats", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("stat-buyer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
    f.vault
        .add_favorite(&user, w.id, None, vec![])
        .await
        .unwrap();
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(900)), None)
        .await
        .unwrap();
    let rows = f.vault.workflow_stats(&f.admin, Some(w.id)).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.category_name, f.categories[0].name);
    assert_eq!(row.total_purchases, 1);
    assert_eq!(row.total_revenue, Decimal::from(40), "net of refunds");
    assert_eq!(row.download_count, 1);
    assert_eq!(row.favorite_count, 1);
    assert_eq!(
        f.vault.workflow_stats(&f.admin, None).await.unwrap().len(),
        1
    );
}

// ---------------------------------------------------------- authorization

pub async fn users_see_only_their_own(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("private", PricingTier::Pro, Some(4900)).await;
    let alice = Fixture::user("alice");
    let bob = Fixture::user("bob");
    let p = f.buy(&alice, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .download(&alice, w.id, None, &no_request())
        .await
        .unwrap();
    f.vault
        .add_favorite(&alice, w.id, None, vec![])
        .await
        .unwrap();
    let m = f.join(&alice, PricingTier::Basic, None, false).await;
    let alice_id = alice.user_id().unwrap();
    assert!(matches!(
        f.vault.purchases_for_user(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.downloads_for_user(&bob, alice_id, 10).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.favorites(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.memberships_for_user(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(
        matches!(
            f.vault.purchase(&bob, p.id).await,
            Err(Error::NotFound { .. })
        ),
        "others' purchases read as not found"
    );
    assert!(matches!(
        f.vault.membership(&bob, m.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.vault
            .apply_membership_event(&bob, m.id, MembershipEvent::Cancel)
            .await,
        Err(Error::NotFound { .. })
    ));
    // Bob holds nothing of Alice's: her purchase does not grant him access.
    assert!(
        !f.vault
            .check_access(&bob, w.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    assert_eq!(
        f.vault
            .purchases_for_user(&alice, alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        f.vault
            .purchases_for_user(&f.admin, alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn refused_calls_write_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("guarded", PricingTier::Pro, Some(4900)).await;
    let mallory = Fixture::user("mallory");
    let p = pending(&f, &mallory, w.id).await;
    let forbidden = |r: Result<_, Error>| matches!(r, Err(Error::Forbidden { .. }));
    assert!(forbidden(
        f.vault
            .create_workflow(&mallory, f.content("nope", PricingTier::Free, None))
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault.publish_workflow(&mallory, w.id).await.map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .archive_workflow(&Actor::Anonymous, w.id)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .complete_purchase(&mallory, p.id, PaymentRef::parse("pi_fake").unwrap())
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .refund_purchase(&mallory, p.id, None, None)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .start_purchase(
                &mallory,
                StartPurchase {
                    user_id: UserId::parse("victim").unwrap(),
                    item: CheckoutItem::Workflow(w.id),
                    license_type: LicenseType::Personal,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                }
            )
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault.seed_core_categories(&mallory).await.map(|_| ())
    ));
    // Memberships start from billing: a member naming their own tier,
    // period and quota would grant themselves anything.
    let now = super::epoch();
    assert!(forbidden(
        f.vault
            .start_membership(
                &mallory,
                crate::commerce::membership::NewMembership {
                    user_id: mallory.user_id().unwrap().clone(),
                    tier: PricingTier::Enterprise,
                    period: Period::new(now, now + Duration::days(36_500)).unwrap(),
                    trial: false,
                    period_download_limit: None,
                    features: Default::default(),
                    provider: ProviderRefs::default(),
                },
            )
            .await
            .map(|_| ())
    ));
    assert!(
        f.store
            .memberships_for_user(mallory.user_id().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store.purchase(p.id).await.unwrap().unwrap().status,
        PaymentStatus::Pending
    );
    assert_eq!(
        workflow_of(&f, w.id).await.status,
        WorkflowStatus::Published
    );
    assert!(
        f.store
            .workflow_by_slug(&Slug::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .purchases_for_user(&UserId::parse("victim").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // Bad input writes nothing either.
    let mut bad = f.content("bad-input", PricingTier::Free, None);
    bad.title = String::new();
    assert!(
        matches!(f.vault.create_workflow(&f.admin, bad).await, Err(Error::Invalid(e)) if e.field() == "title")
    );
    assert!(
        f.store
            .workflow_by_slug(&Slug::parse("bad-input").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn not_found_variants(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("exists", PricingTier::Free, None).await;
    let (other, other_file) = f.workflow("other-one", PricingTier::Free, None).await;
    let ghost = WorkflowId::from_uuid(uuid::Uuid::from_u128(404));
    assert!(matches!(
        f.vault
            .download(&Actor::Anonymous, ghost, None, &no_request())
            .await,
        Err(Error::NotFound {
            entity: Entity::Workflow,
            ..
        })
    ));
    let cross = f
        .vault
        .download(&Actor::Anonymous, w.id, Some(other_file.id), &no_request())
        .await;
    assert!(
        matches!(
            cross,
            Err(Error::NotFound {
                entity: Entity::File,
                ..
            })
        ),
        "a file of another workflow is not found: {cross:?}"
    );
    let bare = f
        .vault
        .create_workflow(&f.admin, f.content("no-files", PricingTier::Free, None))
        .await
        .unwrap();
    f.vault.publish_workflow(&f.admin, bare.id).await.unwrap();
    assert!(matches!(
        f.vault
            .download(&Actor::Anonymous, bare.id, None, &no_request())
            .await,
        Err(Error::NotFound {
            entity: Entity::File,
            ..
        })
    ));
    assert!(matches!(
        f.store.update_file(&other_file.clone()).await,
        Ok(())
    ));
    let mut missing = other_file.clone();
    missing.id = crate::value::ids::FileId::from_uuid(uuid::Uuid::from_u128(405));
    assert!(matches!(
        f.store.update_file(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        f.store
            .record_analytics(&AnalyticsDelta::none(ghost, super::epoch()))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(f.store.workflow(other.id).await.unwrap().is_some());
}

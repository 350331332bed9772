//! The catalog through the service: categories, workflows and their
//! lifecycle, files, updates and bundles.

use super::records::audit;
use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{bundle_of_three, no_request, review_input, usd, workflow_of};
use crate::catalog::bundle::NewBundle;
use crate::catalog::file::FileAccess;
use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use crate::catalog::workflow::WorkflowStatus;
use crate::commerce::license::LicenseType;
use crate::community::review::ModerationStatus;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::error::{Entity, StoreError};
use crate::value::ids::WorkflowId;
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::CheckoutItem;

pub async fn categories_seed_idempotently(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    assert_eq!(f.categories.len(), 9);
    let again = f.vault.seed_core_categories(&f.admin).await.unwrap();
    assert_eq!(again.len(), 9, "seeding twice must not duplicate");
    let slugs: Vec<&str> = again.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(slugs[0], "client-acquisition");
    assert_eq!(slugs[8], "growth-scaling");
    let dup = f.store.insert_category(&again[0], &audit()).await;
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
    let r = f.store.insert_workflow(&w, &audit()).await;
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
    let r = f
        .store
        .update_workflow(&stale, before.revision, &audit())
        .await;
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
    f.store.insert_category(&hidden, &audit()).await.unwrap();
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
        .update_workflow(&edit, read_before.revision, &audit())
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
        f.store.insert_update(&stale, &audit()).await,
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
    let slug_clash = f.store.insert_bundle(&bundle, &audit()).await;
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

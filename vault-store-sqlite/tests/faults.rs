//! Atomicity under injected faults.
//!
//! For every fault-injection step in the store's writes: arm it, run the
//! operation that passes through it (through the `Vault` where it can),
//! check that the operation fails with the injected fault, that the whole
//! database (every table, FTS shadow tables included) is exactly as before,
//! and that the same operation then succeeds on the same store.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};
use vault_core::catalog::bundle::NewBundle;
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::catalog::workflow::parse_tags;
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::ProviderRefs;
use vault_core::community::rating::{DimensionRatings, Rating, RatingDelta};
use vault_core::community::review::{ModerationStatus, Review, ReviewInput, Vote};
use vault_core::delivery::download::RequestInfo;
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::ids::WorkflowId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::vault::{CheckoutItem, StartPurchase};
use vault_store_sqlite::SqliteStore;

use crate::common::{Snapshot, assert_same, snapshot};

fn assert_injected<T: Debug>(r: &vault_core::Result<T>, step: &str) {
    match r {
        Err(vault_core::Error::Store(StoreError::Backend { backend, source })) => {
            assert_eq!(*backend, "sqlite");
            let msg = source.to_string();
            assert!(
                msg.contains("injected fault") && msg.contains(step),
                "expected the injected fault at {step}, got {msg}"
            );
        }
        other => panic!("expected the injected fault at {step}, got {other:?}"),
    }
}

// ------------------------------------------------------------------ setup

struct Env {
    fx: Fixture,
    store: SqliteStore,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::new(Arc::new(store.clone()) as Arc<dyn Store>).await;
        Self {
            fx,
            store,
            path,
            _dir: dir,
        }
    }

    fn snapshot(&self) -> Snapshot {
        snapshot(&self.path)
    }

    /// Arms `step`, runs `op` and checks it fails there writing nothing;
    /// then runs `op` again, unarmed, and returns its result. Also checks
    /// the retry did write (so the snapshot would have seen a partial write).
    async fn fault<T: Debug>(
        &self,
        step: &'static str,
        op: impl AsyncFn() -> vault_core::Result<T>,
    ) -> T {
        let before = self.snapshot();
        self.store.fail_at(step);
        let failed = op().await;
        assert_injected(&failed, step);
        assert_same(
            &before,
            &self.snapshot(),
            &format!("a write failed at {step} but it"),
        );
        let out = op()
            .await
            .unwrap_or_else(|e| panic!("retry after the fault at {step} failed: {e:?}"));
        assert_ne!(
            before,
            self.snapshot(),
            "the operation through {step} wrote nothing even when it succeeded"
        );
        out
    }

    fn admin(&self) -> &Actor {
        &self.fx.admin
    }

    /// One value from the database, through a separate connection.
    fn scalar(&self, sql: &str, id: impl ToString) -> i64 {
        let conn =
            Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        conn.query_row(sql, [id.to_string()], |r| r.get(0)).unwrap()
    }

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    fn new_file(workflow: WorkflowId, version: Version, primary: bool) -> NewFile {
        NewFile {
            workflow_id: workflow,
            kind: FileKind::Make,
            file_name: format!("blueprint-{version}.json"),
            storage_key: format!("files/{workflow}/{version}.json"),
            mime_type: "application/json".into(),
            version,
            is_primary: primary,
            access: FileAccess::Standard,
            size_bytes: 2048,
            checksum: Checksum::of(version.to_string().as_bytes()),
        }
    }

    fn start(user: &Actor, item: CheckoutItem) -> StartPurchase {
        StartPurchase {
            user_id: user.user_id().unwrap().clone(),
            item,
            license_type: LicenseType::Personal,
            tax: None,
            license_expires_at: None,
            provider: ProviderRefs::default(),
        }
    }

    fn new_bundle(slug: &str, members: Vec<WorkflowId>, cents: i64) -> NewBundle {
        NewBundle {
            slug: Slug::parse(slug).unwrap(),
            name: slug.replace('-', " "),
            description: String::new(),
            workflow_ids: members,
            price: Self::usd(cents),
            valid_from: None,
            valid_until: None,
            seo: Default::default(),
        }
    }

    /// Three paid workflows.
    async fn three(&self) -> Vec<WorkflowId> {
        let mut out = Vec::new();
        for (slug, cents) in [("b-one", 6000), ("b-two", 3000), ("b-three", 1000)] {
            out.push(
                self.fx
                    .workflow(slug, PricingTier::Pro, Some(cents))
                    .await
                    .0
                    .id,
            );
        }
        out
    }

    /// An approved review by `author`, with every dimension rated.
    async fn approved_review(&self, workflow: WorkflowId, author: &Actor, stars: u8) -> Review {
        let r = self
            .fx
            .vault
            .submit_review(author, workflow, review_input(stars))
            .await
            .unwrap();
        self.fx
            .vault
            .moderate_review(self.admin(), r.id, ModerationStatus::Approved, None)
            .await
            .unwrap()
    }
}

fn review_input(stars: u8) -> ReviewInput {
    let mut dimensions = DimensionRatings::default();
    for d in vault_core::community::rating::Dimension::ALL {
        dimensions.set(d, Some(Rating::new(stars).unwrap()));
    }
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions,
        title: format!("{stars} stars"),
        body: "worth it".into(),
    }
}

fn request(ip: &str) -> RequestInfo {
    RequestInfo {
        ip: Some(ip.parse().unwrap()),
        user_agent: Some("test-agent".into()),
        referrer: Some("https://www.google.com/".into()),
        country: Some(vault_core::value::country::CountryCode::parse("DE").unwrap()),
    }
}

// ------------------------------------------------------------------ catalog

#[tokio::test(flavor = "multi_thread")]
async fn create_workflow_is_atomic() {
    let env = Env::new().await;
    for (slug, step) in [
        ("flow-one", "insert_workflow:after_row"),
        ("flow-two", "insert_workflow:after_search"),
    ] {
        let c = env.fx.content(slug, PricingTier::Free, None);
        let w = env
            .fault(step, async || {
                env.fx.vault.create_workflow(env.admin(), c.clone()).await
            })
            .await;
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_tags WHERE workflow_id = ?1",
                w.id
            ),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn edit_and_publish_workflow_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("editable", PricingTier::Free, None).await;
    let (from, to) = (env.fx.categories[0].id, env.fx.categories[1].id);
    // An edit that moves category and retags: row, tags, FTS and both
    // categories' counts change together or not at all.
    let mut content = w.content.clone();
    content.title = "Edited title".into();
    content.category_id = to;
    content.tags = parse_tags(&["edited", "moved"]).unwrap();
    let edited = env
        .fault("update_workflow:after_row", async || {
            env.fx
                .vault
                .edit_workflow(env.admin(), w.id, content.clone())
                .await
        })
        .await;
    assert_eq!(edited.revision, w.revision + 1);
    let count = "SELECT workflow_count FROM workflow_categories WHERE id = ?1";
    assert_eq!((env.scalar(count, from), env.scalar(count, to)), (0, 1));

    let mut content = edited.content.clone();
    content.category_id = from;
    content.description = "searchable words".into();
    env.fault("update_workflow:after_search", async || {
        env.fx
            .vault
            .edit_workflow(env.admin(), w.id, content.clone())
            .await
    })
    .await;
    assert_eq!((env.scalar(count, from), env.scalar(count, to)), (1, 0));

    // Publishing a draft goes through the same write.
    let draft = env
        .fx
        .vault
        .create_workflow(
            env.admin(),
            env.fx.content("draft", PricingTier::Free, None),
        )
        .await
        .unwrap();
    env.fault("update_workflow:after_search", async || {
        env.fx.vault.publish_workflow(env.admin(), draft.id).await
    })
    .await;
    assert_eq!(env.scalar(count, from), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn files_keep_one_primary_atomically() {
    let env = Env::new().await;
    let (w, first) = env.fx.workflow("files", PricingTier::Free, None).await;
    let primaries = "SELECT COUNT(*) FROM workflow_files WHERE workflow_id = ?1 AND is_primary = 1";
    let second = env
        .fault("insert_file:after_clear_primaries", async || {
            env.fx
                .vault
                .add_file(
                    env.admin(),
                    Env::new_file(w.id, Version::new(1, 1, 0), true),
                )
                .await
        })
        .await;
    assert_eq!(env.scalar(primaries, w.id), 1);
    assert!(second.is_primary);
    // Making the first file primary again clears the second.
    let again = env
        .fault("update_file:after_clear_primaries", async || {
            env.fx
                .vault
                .edit_file(
                    env.admin(),
                    first.id,
                    Env::new_file(w.id, Version::new(1, 0, 1), true),
                )
                .await
        })
        .await;
    assert!(again.is_primary);
    assert_eq!(env.scalar(primaries, w.id), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_update_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("versioned", PricingTier::Free, None).await;
    let update = NewUpdate {
        workflow_id: w.id,
        version: Version::new(1, 1, 0),
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Added,
            text: "more".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: "notes".into(),
    };
    env.fault("insert_update:after_row", async || {
        env.fx
            .vault
            .publish_update(env.admin(), update.clone())
            .await
    })
    .await;
    let w = env.fx.store.workflow(w.id).await.unwrap().unwrap();
    assert_eq!(w.current_version, Some(Version::new(1, 1, 0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_bundle_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    for (i, step) in [
        "insert_bundle:after_row",
        "bundle_items:after_clear",
        "bundle_items:after_item",
    ]
    .into_iter()
    .enumerate()
    {
        let new = Env::new_bundle(&format!("pack-{i}"), members.clone(), 8000);
        let b = env
            .fault(step, async || {
                env.fx.vault.create_bundle(env.admin(), new.clone()).await
            })
            .await;
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_bundle_items WHERE bundle_id = ?1",
                b.id
            ),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_bundle_is_atomic() {
    // Not exposed by the Vault: through the store.
    let env = Env::new().await;
    let members = env.three().await;
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    let items = "SELECT group_concat(workflow_id, ',') FROM \
                 (SELECT workflow_id FROM workflow_bundle_items WHERE bundle_id = ?1 ORDER BY position)";
    let [a, b2, c] = [members[0], members[1], members[2]];
    for (i, (step, ids)) in [
        ("update_bundle:after_row", vec![c, a]),
        ("bundle_items:after_clear", vec![b2, c, a]),
        ("bundle_items:after_item", vec![a, b2]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut next = env.fx.store.bundle(b.id).await.unwrap().unwrap();
        next.name = format!("renamed {i}");
        next.workflow_ids = ids;
        env.fault(step, async || Ok(env.fx.store.update_bundle(&next).await?))
            .await;
        let conn = Connection::open(&env.path).unwrap();
        let stored: String = conn
            .query_row(items, [b.id.to_string()], |r| r.get(0))
            .unwrap();
        let want: Vec<String> = next.workflow_ids.iter().map(|w| w.to_string()).collect();
        assert_eq!(stored, want.join(","));
    }
}

// ----------------------------------------------------------------- commerce

#[tokio::test(flavor = "multi_thread")]
async fn start_purchase_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    let buyer = Fixture::user("buyer");
    let p = env
        .fault("insert_purchase:after_row", async || {
            env.fx
                .vault
                .start_purchase(
                    &buyer,
                    Env::start(&buyer, CheckoutItem::Workflow(members[0])),
                )
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_purchase_items WHERE purchase_id = ?1",
            p.id
        ),
        1
    );
    // A bundle purchase grants several workflows: fail after the first.
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    let other = Fixture::user("collector");
    let p = env
        .fault("insert_purchase:after_item", async || {
            env.fx
                .vault
                .start_purchase(&other, Env::start(&other, CheckoutItem::Bundle(b.id)))
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_purchase_items WHERE purchase_id = ?1",
            p.id
        ),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_purchase_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    let purchases = "SELECT purchase_count FROM workflows WHERE id = ?1";
    for (i, step) in [
        "settle_purchase:after_row",
        "settle_purchase:after_counters",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let buyer = Fixture::user(&format!("buyer-{i}"));
        let p = env
            .fx
            .vault
            .start_purchase(
                &buyer,
                Env::start(&buyer, CheckoutItem::Workflow(members[0])),
            )
            .await
            .unwrap();
        let pay =
            vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
        let done = env
            .fault(step, async || {
                env.fx
                    .vault
                    .complete_purchase(&Actor::Service, p.id, pay.clone())
                    .await
            })
            .await;
        assert!(done.status.is_paid());
        assert_eq!(env.scalar(purchases, members[0]), i as i64 + 1);
    }
    // A bundle settles three workflows' counters and analytics in one write.
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    for (i, step) in [
        "settle_purchase:after_row",
        "settle_purchase:after_counters",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let buyer = Fixture::user(&format!("bundler-{i}"));
        let p = env
            .fx
            .vault
            .start_purchase(&buyer, Env::start(&buyer, CheckoutItem::Bundle(b.id)))
            .await
            .unwrap();
        let pay =
            vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
        env.fault(step, async || {
            env.fx
                .vault
                .complete_purchase(&Actor::Service, p.id, pay.clone())
                .await
        })
        .await;
        assert_eq!(
            env.scalar(
                "SELECT purchase_count FROM workflow_bundles WHERE id = ?1",
                b.id
            ),
            i as i64 + 1
        );
    }
    assert_eq!(env.scalar(purchases, members[2]), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn refund_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env
        .fx
        .workflow("refundable", PricingTier::Pro, Some(4900))
        .await;
    let buyer = Fixture::user("buyer");
    let p = env.fx.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let refunds = "SELECT SUM(refunds_minor) FROM workflow_analytics WHERE workflow_id = ?1";
    env.fault("settle_purchase:after_row", async || {
        env.fx
            .vault
            .refund_purchase(&Actor::Service, p.id, Some(Env::usd(900)), None)
            .await
    })
    .await;
    assert_eq!(env.scalar(refunds, w.id), 900);
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .refund_purchase(&Actor::Service, p.id, None, Some("changed my mind".into()))
            .await
    })
    .await;
    assert_eq!(env.scalar(refunds, w.id), 4900);
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_are_atomic() {
    let env = Env::new().await;
    let (paid, _) = env.fx.workflow("paid", PricingTier::Pro, Some(4900)).await;
    let (free, _) = env.fx.workflow("free", PricingTier::Free, None).await;
    let buyer = Fixture::user("buyer");
    let p = env.fx.buy(&buyer, CheckoutItem::Workflow(paid.id)).await;
    let member = Fixture::user("member");
    let m = env
        .fx
        .join(&member, PricingTier::Pro, Some(10), false)
        .await;
    let used_p = "SELECT downloads_used FROM workflow_purchases WHERE id = ?1";
    let used_m = "SELECT period_downloads_used FROM memberships WHERE id = ?1";
    let downloads = "SELECT download_count FROM workflows WHERE id = ?1";
    let steps = [
        "record_download:after_charge",
        "record_download:after_insert",
        "record_download:after_counters",
        "apply_delta:after_row",
    ];
    for (i, step) in steps.into_iter().enumerate() {
        let n = i as i64 + 1;
        // Charged to a purchase.
        let t = env
            .fault(step, async || {
                env.fx
                    .vault
                    .download(&buyer, paid.id, None, &request("198.51.100.7"))
                    .await
            })
            .await;
        assert_eq!(
            t.download.source,
            vault_core::delivery::download::DownloadSource::Purchase(p.id)
        );
        assert_eq!(env.scalar(used_p, p.id), n, "charged exactly once");
        // Charged to a membership.
        let t = env
            .fault(step, async || {
                env.fx
                    .vault
                    .download(&member, paid.id, None, &RequestInfo::default())
                    .await
            })
            .await;
        assert_eq!(
            t.download.source,
            vault_core::delivery::download::DownloadSource::Membership(m.id)
        );
        assert_eq!(env.scalar(used_m, m.id), n, "charged exactly once");
        assert_eq!(env.scalar(downloads, paid.id), 2 * n);
        // Free, anonymous.
        env.fault(step, async || {
            env.fx
                .vault
                .download(&Actor::Anonymous, free.id, None, &request("203.0.113.9"))
                .await
        })
        .await;
        assert_eq!(env.scalar(downloads, free.id), n);
    }
    assert_eq!(
        env.scalar(
            "SELECT SUM(downloads) FROM workflow_analytics WHERE workflow_id = ?1",
            paid.id
        ),
        8
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn membership_changes_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env
        .fx
        .workflow("pro-flow", PricingTier::Pro, Some(4900))
        .await;
    let member = Fixture::user("member");
    let m = env.fx.join(&member, PricingTier::Pro, Some(5), false).await;
    env.fx
        .vault
        .download(&member, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    let tier = env
        .fault("update_membership:after_row", async || {
            env.fx
                .vault
                .change_membership_tier(env.admin(), m.id, PricingTier::Premium, Some(20))
                .await
        })
        .await;
    assert_eq!(tier.tier, PricingTier::Premium);
    // A renewal resets the period quota in the same row write.
    env.fx.advance(chrono::Duration::days(30));
    let start = vault_core::Clock::now(&*env.fx.clock);
    let period =
        vault_core::commerce::membership::Period::new(start, start + chrono::Duration::days(30))
            .unwrap();
    let renewed = env
        .fault("update_membership:after_row", async || {
            env.fx
                .vault
                .renew_membership(env.admin(), m.id, period)
                .await
        })
        .await;
    assert_eq!(renewed.quota.used, 0);
    assert_eq!(
        env.scalar(
            "SELECT period_downloads_used FROM memberships WHERE id = ?1",
            m.id
        ),
        0
    );
    env.fault("update_membership:after_row", async || {
        env.fx.vault.cancel_membership(&member, m.id, true).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_membership_expires_lapsed_ones_in_the_same_write() {
    let env = Env::new().await;
    let member = Fixture::user("returning");
    let old = env.fx.join(&member, PricingTier::Pro, Some(5), false).await;
    // The period (30 days) ran out without a renewal.
    env.fx.advance(chrono::Duration::days(31));
    let start = vault_core::Clock::now(&*env.fx.clock);
    let new = vault_core::commerce::membership::NewMembership {
        user_id: member.user_id().unwrap().clone(),
        tier: PricingTier::Pro,
        period: vault_core::commerce::membership::Period::new(
            start,
            start + chrono::Duration::days(30),
        )
        .unwrap(),
        trial: false,
        period_download_limit: Some(5),
        features: Default::default(),
        provider: Default::default(),
    };
    let started = env
        .fault("insert_membership:after_row", async || {
            env.fx
                .vault
                .start_membership(env.admin(), new.clone())
                .await
        })
        .await;
    assert_eq!(
        env.scalar(
            "SELECT status = 'expired' AND revision = 1 FROM memberships WHERE id = ?1",
            old.id
        ),
        1
    );
    assert_eq!(
        env.scalar(
            "SELECT status = 'active' FROM memberships WHERE id = ?1",
            started.id
        ),
        1
    );
}

// ---------------------------------------------------------------- community

#[tokio::test(flavor = "multi_thread")]
async fn submitting_and_moderating_reviews_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    let stars = "SELECT stars_4 FROM workflows WHERE id = ?1";
    let mut reviews = Vec::new();
    for (i, step) in ["insert_review:after_row", "insert_review:after_rating"]
        .into_iter()
        .enumerate()
    {
        let author = Fixture::user(&format!("author-{i}"));
        reviews.push(
            env.fault(step, async || {
                env.fx
                    .vault
                    .submit_review(&author, w.id, review_input(4))
                    .await
            })
            .await,
        );
    }
    // Approving moves the aggregate and the analytics in the same write.
    for (r, step) in reviews
        .iter()
        .zip(["update_review:after_row", "update_review:after_rating"])
    {
        env.fault(step, async || {
            env.fx
                .vault
                .moderate_review(env.admin(), r.id, ModerationStatus::Approved, None)
                .await
        })
        .await;
    }
    let approve_analytics = reviews.len() as i64;
    assert_eq!(env.scalar(stars, w.id), 2);
    // An edit takes it out of the rating again.
    env.fault("update_review:after_rating", async || {
        env.fx
            .vault
            .edit_review(&Fixture::user("author-0"), reviews[0].id, review_input(2))
            .await
    })
    .await;
    assert_eq!(env.scalar(stars, w.id), 1);
    // Re-approving: the analytics row's write fails last.
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .moderate_review(env.admin(), reviews[0].id, ModerationStatus::Approved, None)
            .await
    })
    .await;
    assert_eq!(
        env.scalar(
            "SELECT SUM(reviews) FROM workflow_analytics WHERE workflow_id = ?1",
            w.id
        ),
        approve_analytics + 1
    );
    assert_eq!(
        env.scalar(
            "SELECT stars_2 + stars_4 FROM workflows WHERE id = ?1",
            w.id
        ),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn store_insert_of_an_approved_review_is_atomic() {
    // The Vault always inserts pending reviews (a zero delta); the store
    // contract also takes an approved one with its delta and analytics.
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("imported", PricingTier::Free, None).await;
    let pending = env
        .fx
        .vault
        .submit_review(&Fixture::user("someone"), w.id, review_input(5))
        .await
        .unwrap();
    let mut r = pending.clone();
    r.id = vault_core::value::ids::ReviewId::from_uuid(uuid::Uuid::new_v4());
    r.user_id = vault_core::value::actor::UserId::parse("importer").unwrap();
    r.status = ModerationStatus::Approved;
    let delta = RatingDelta::between(None, r.contribution().as_ref());
    assert!(!delta.is_zero());
    let mut analytics = AnalyticsDelta::none(w.id, r.created_at);
    analytics.reviews = 1;
    for step in [
        "insert_review:after_row",
        "insert_review:after_rating",
        "apply_delta:after_row",
    ] {
        let before = env.snapshot();
        env.store.fail_at(step);
        let failed = env
            .fx
            .store
            .insert_review(&r, &delta, Some(&analytics))
            .await
            .map_err(vault_core::Error::from);
        assert_injected(&failed, step);
        assert_same(
            &before,
            &env.snapshot(),
            &format!("a write failed at {step} but it"),
        );
    }
    env.fx
        .store
        .insert_review(&r, &delta, Some(&analytics))
        .await
        .unwrap();
    assert_eq!(
        env.scalar("SELECT stars_5 FROM workflows WHERE id = ?1", w.id),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_review_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    for (i, step) in ["delete_review:after_votes", "delete_review:after_row"]
        .into_iter()
        .enumerate()
    {
        let author = Fixture::user(&format!("author-{i}"));
        let r = env.approved_review(w.id, &author, 3).await;
        for voter in ["v1", "v2"] {
            env.fx
                .vault
                .vote_review(&Fixture::user(voter), r.id, Some(Vote::Helpful))
                .await
                .unwrap();
        }
        assert_eq!(
            env.scalar("SELECT stars_3 FROM workflows WHERE id = ?1", w.id),
            1
        );
        env.fault(step, async || {
            env.fx.vault.delete_review(&author, r.id).await
        })
        .await;
        assert_eq!(
            env.scalar("SELECT stars_3 FROM workflows WHERE id = ?1", w.id),
            0
        );
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_review_votes WHERE review_id = ?1",
                r.id
            ),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    let r = env.approved_review(w.id, &Fixture::user("author"), 5).await;
    let voter = Fixture::user("voter");
    let counts = |env: &Env| {
        (
            env.scalar(
                "SELECT helpful_count FROM workflow_reviews WHERE id = ?1",
                r.id,
            ),
            env.scalar(
                "SELECT not_helpful_count FROM workflow_reviews WHERE id = ?1",
                r.id,
            ),
        )
    };
    // A first vote: the vote row, then the counter.
    env.fault("set_vote:after_row", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::Helpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (1, 0));
    // A changed vote: the old counter down, the row, the new counter up.
    env.fault("set_vote:after_withdraw", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::NotHelpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (0, 1));
    env.fault("set_vote:after_row", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::Helpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (1, 0));
    // A withdrawn vote: the counter down, then the row goes.
    env.fault("set_vote:after_row", async || {
        env.fx.vault.vote_review(&voter, r.id, None).await
    })
    .await;
    assert_eq!(counts(&env), (0, 0));
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_review_votes WHERE review_id = ?1",
            r.id
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn favorites_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("liked", PricingTier::Free, None).await;
    let favorites = "SELECT favorite_count FROM workflows WHERE id = ?1";
    for (i, step) in [
        "insert_favorite:after_row",
        "insert_favorite:after_counter",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let fan = Fixture::user(&format!("fan-{i}"));
        env.fault(step, async || {
            env.fx
                .vault
                .add_favorite(
                    &fan,
                    w.id,
                    Some("note".into()),
                    parse_tags(&["later"]).unwrap(),
                )
                .await
        })
        .await;
        assert_eq!(env.scalar(favorites, w.id), i as i64 + 1);
    }
    let removed = env
        .fault("delete_favorite:after_row", async || {
            env.fx
                .vault
                .remove_favorite(&Fixture::user("fan-0"), w.id)
                .await
        })
        .await;
    assert!(removed);
    assert_eq!(env.scalar(favorites, w.id), 2);
}

// ---------------------------------------------------------------- analytics

#[tokio::test(flavor = "multi_thread")]
async fn views_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("viewed", PricingTier::Free, None).await;
    let visitors = "SELECT COUNT(*) FROM workflow_analytics_visitors WHERE workflow_id = ?1";
    env.fault("apply_delta:after_visitor", async || {
        env.fx
            .vault
            .record_view(&Actor::Anonymous, w.id, &request("203.0.113.1"))
            .await
    })
    .await;
    assert_eq!(env.scalar(visitors, w.id), 1);
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .record_view(&Fixture::user("reader"), w.id, &request("203.0.113.2"))
            .await
    })
    .await;
    assert_eq!(env.scalar(visitors, w.id), 2);
    assert_eq!(
        env.scalar("SELECT view_count FROM workflows WHERE id = ?1", w.id),
        2
    );
    assert_eq!(
        env.scalar(
            "SELECT unique_visitors FROM workflow_analytics WHERE workflow_id = ?1",
            w.id
        ),
        2
    );
}

// ------------------------------------------------------------- bookkeeping

/// Every `tx.step("...")` in the store's source, so a new step without a
/// test here fails this check.
fn steps_in_source() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for piece in text.split("tx.step(\"").skip(1) {
            out.insert(piece.split('"').next().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn every_step_has_a_fault_test() {
    let steps = steps_in_source();
    assert!(steps.len() >= 12, "found only {steps:?}");
    let this = include_str!("faults.rs");
    let missing: Vec<&String> = steps
        .iter()
        .filter(|s| this.matches(&format!("\"{s}\"")).count() < 1)
        .collect();
    assert!(
        missing.is_empty(),
        "steps without a fault test: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unarmed_step_changes_nothing_and_a_fault_fires_once() {
    let env = Env::new().await;
    // Armed on a step the next write does not reach: that write succeeds
    // and the fault stays armed for the write that does.
    env.store.fail_at("insert_update:after_row");
    let (w, _) = env.fx.workflow("plain", PricingTier::Free, None).await;
    let r = env
        .fx
        .vault
        .publish_update(
            env.admin(),
            NewUpdate {
                workflow_id: w.id,
                version: Version::new(1, 1, 0),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Fixed,
                    text: "a fix".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: String::new(),
            },
        )
        .await;
    assert_injected(&r, "insert_update:after_row");
}

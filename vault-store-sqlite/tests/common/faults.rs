//! The setup of the fault-injection tests (`faults_*.rs`, one file per area
//! of the store's writes).
//!
//! For every fault-injection step in the store's writes: arm it, run the
//! operation that passes through it (through the `Vault` where it can),
//! check that the operation fails with the injected fault, that the whole
//! database (every table, FTS shadow tables included) is exactly as before,
//! and that the same operation then succeeds on the same store
//! ([`Env::fault`]).

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};
use vault_core::catalog::bundle::NewBundle;
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::ProviderRefs;
use vault_core::community::rating::{DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, Review, ReviewInput};
use vault_core::delivery::download::RequestInfo;
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

use super::{Snapshot, assert_same, snapshot};

pub(crate) fn assert_injected<T: Debug>(r: &vault_core::Result<T>, step: &str) {
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

pub(crate) struct Env {
    pub(crate) fx: Fixture,
    pub(crate) store: SqliteStore,
    pub(crate) path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    pub(crate) async fn new() -> Self {
        Self::with_config(|c| c).await
    }

    /// An env whose vault's configuration `config` adjusts.
    pub(crate) async fn with_config(
        config: impl FnOnce(vault_core::vault::VaultConfig) -> vault_core::vault::VaultConfig,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let fx = Fixture::with_config(Arc::new(store.clone()) as Arc<dyn Store>, config).await;
        Self {
            fx,
            store,
            path,
            _dir: dir,
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        snapshot(&self.path)
    }

    /// Arms `step`, runs `op` and checks it fails there writing nothing;
    /// then runs `op` again, unarmed, and returns its result. Also checks
    /// the retry did write (so the snapshot would have seen a partial write).
    pub(crate) async fn fault<T: Debug>(
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

    pub(crate) fn admin(&self) -> &Actor {
        &self.fx.admin
    }

    /// One value from the database, through a separate connection.
    pub(crate) fn scalar(&self, sql: &str, id: impl ToString) -> i64 {
        let conn =
            Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        conn.query_row(sql, [id.to_string()], |r| r.get(0)).unwrap()
    }

    pub(crate) fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    pub(crate) fn new_file(workflow: WorkflowId, version: Version, primary: bool) -> NewFile {
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

    pub(crate) fn start(user: &Actor, item: CheckoutItem) -> StartPurchase {
        StartPurchase {
            user_id: user.user_id().unwrap().clone(),
            item,
            license_type: LicenseType::Personal,
            tax: None,
            license_expires_at: None,
            provider: ProviderRefs::default(),
        }
    }

    pub(crate) fn new_bundle(slug: &str, members: Vec<WorkflowId>, cents: i64) -> NewBundle {
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
    pub(crate) async fn three(&self) -> Vec<WorkflowId> {
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
    pub(crate) async fn approved_review(
        &self,
        workflow: WorkflowId,
        author: &Actor,
        stars: u8,
    ) -> Review {
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

pub(crate) fn review_input(stars: u8) -> ReviewInput {
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

pub(crate) fn request(ip: &str) -> RequestInfo {
    RequestInfo {
        ip: Some(ip.parse().unwrap()),
        user_agent: Some("test-agent".into()),
        referrer: Some("https://www.google.com/".into()),
        country: Some(vault_core::value::country::CountryCode::parse("DE").unwrap()),
    }
}

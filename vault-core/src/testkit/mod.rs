//! The backend conformance suite (feature `testkit`).
//!
//! One public async function per behaviour, each taking a fresh store, and
//! [`conformance_tests!`](crate::conformance_tests) to expand them into one
//! `#[test]` each inside the backend's test crate:
//!
//! ```ignore
//! mod memory {
//!     vault_core::conformance_tests!(|| async {
//!         Some(std::sync::Arc::new(vault_core::MemoryStore::new())
//!             as std::sync::Arc<dyn vault_core::store::Store>)
//!     });
//! }
//! ```
//!
//! The setup returns `None` to skip (a server that is not there); the test
//! then prints that it skipped. Cases drive the [`Vault`] service, so they
//! check the contract the way an app uses it: counters, guarded writes,
//! authorization and concurrency included.
//!
//! Not semver-stable: cases follow the storage contract as it grows.
#![allow(clippy::unwrap_used, missing_docs)]

mod authz;
mod catalog;
mod catalog_listing;
mod commerce;
mod commerce_ordering;
mod community;
mod delivery;
mod helpers;
mod hostile;
mod insight;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

pub use self::authz::*;
pub use self::catalog::*;
pub use self::catalog_listing::*;
pub use self::commerce::*;
pub use self::commerce_ordering::*;
pub use self::community::*;
pub use self::delivery::*;
pub use self::hostile::*;
pub use self::insight::*;
pub use self::webhooks::*;
use crate::catalog::category::Category;
use crate::catalog::file::{Checksum, FileAccess, FileKind, NewFile, WorkflowFile};
use crate::catalog::wedge::{Score, Wedge};
use crate::catalog::workflow::{Media, Seo, Workflow, WorkflowContent, parse_tags};
use crate::commerce::license::LicenseType;
use crate::commerce::membership::{NewMembership, Period};
use crate::commerce::purchase::{PaymentRef, ProviderRefs, Purchase};
use crate::delivery::download::IpSalt;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::clock::{ManualClock, SeededEntropy};
use crate::value::ids::WorkflowId;
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::{CheckoutItem, StartPurchase, Vault, VaultConfig};

#[doc(hidden)]
pub use tokio;

/// Runs a case on a multi-threaded runtime (the concurrency cases need real
/// parallelism), so backend crates need no tokio of their own to use the
/// macro.
pub fn run<F: std::future::Future<Output = ()>>(fut: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(fut);
}

/// The instant every fixture's clock starts at.
pub fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-02-13T09:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

/// A vault over the store under test, with a manual clock, seeded entropy,
/// the nine core categories, and helpers to build a catalog.
#[derive(Debug)]
pub struct Fixture {
    pub vault: Vault<dyn Store>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub admin: Actor,
    pub categories: Vec<Category>,
}

impl Fixture {
    pub async fn new(store: Arc<dyn Store>) -> Self {
        let clock = Arc::new(ManualClock::new(epoch()));
        let vault = Vault::new(
            Arc::clone(&store),
            clock.clone(),
            Arc::new(SeededEntropy::new(0x5eed)),
            VaultConfig::new(IpSalt::new(b"conformance-salt-0123".to_vec()).unwrap()),
        );
        let admin = Actor::admin("admin").unwrap();
        let categories = vault.seed_core_categories(&admin).await.unwrap();
        Self {
            vault,
            store,
            clock,
            admin,
            categories,
        }
    }

    pub fn user(name: &str) -> Actor {
        Actor::user(name).unwrap()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Content for a workflow in the first category.
    pub fn content(
        &self,
        slug: &str,
        tier: PricingTier,
        price_cents: Option<i64>,
    ) -> WorkflowContent {
        WorkflowContent {
            slug: Slug::parse(slug).unwrap(),
            title: slug.replace('-', " "),
            short_description: format!("Automates {slug}"),
            description: String::new(),
            category_id: self.categories[0].id,
            wedge: Wedge {
                score: Score::new("wedge_score", Decimal::new(75, 1)).unwrap(),
                ..Wedge::default()
            },
            pricing_tier: tier,
            price: price_cents.map(|c| Money::from_minor(c, Currency::USD)),
            media: Media::default(),
            features: vec![],
            requirements: vec![],
            includes: vec![],
            tags: parse_tags(&["automation"]).unwrap(),
            seo: Seo::default(),
            update_months: None,
            download_limit: None,
        }
    }

    /// Creates and publishes a workflow with one primary file.
    pub async fn publish(&self, content: WorkflowContent) -> (Workflow, WorkflowFile) {
        let w = self
            .vault
            .create_workflow(&self.admin, content)
            .await
            .unwrap();
        let f = self
            .add_file(w.id, Version::new(1, 0, 0), FileAccess::Standard, true)
            .await;
        let w = self
            .vault
            .publish_workflow(&self.admin, w.id)
            .await
            .unwrap();
        (w, f)
    }

    /// A published workflow by slug, tier and price.
    pub async fn workflow(
        &self,
        slug: &str,
        tier: PricingTier,
        price_cents: Option<i64>,
    ) -> (Workflow, WorkflowFile) {
        self.publish(self.content(slug, tier, price_cents)).await
    }

    pub async fn add_file(
        &self,
        workflow: WorkflowId,
        version: Version,
        access: FileAccess,
        primary: bool,
    ) -> WorkflowFile {
        self.vault
            .add_file(
                &self.admin,
                NewFile {
                    workflow_id: workflow,
                    kind: FileKind::Make,
                    file_name: format!("blueprint-{version}.json"),
                    storage_key: format!("files/{workflow}/{version}.json"),
                    mime_type: "application/json".into(),
                    version,
                    is_primary: primary,
                    access,
                    size_bytes: 2048,
                    checksum: Checksum::of(version.to_string().as_bytes()),
                },
            )
            .await
            .unwrap()
    }

    /// Buys a workflow for `user` and completes the payment.
    pub async fn buy(&self, user: &Actor, item: CheckoutItem) -> Purchase {
        let p = self
            .checkout(user, item, LicenseType::Personal)
            .await
            .unwrap();
        self.vault
            .complete_purchase(
                &Actor::Service,
                p.id,
                PaymentRef::parse(&format!("pi_{}", p.id)).unwrap(),
            )
            .await
            .unwrap()
    }

    /// Opens a pending purchase of `item` by `user` for themselves: no tax,
    /// no expiry, no provider ids.
    pub async fn checkout(
        &self,
        user: &Actor,
        item: CheckoutItem,
        license_type: LicenseType,
    ) -> crate::value::error::Result<Purchase> {
        self.vault
            .start_purchase(
                user,
                StartPurchase {
                    user_id: user.user_id().unwrap().clone(),
                    item,
                    license_type,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                },
            )
            .await
    }

    /// Starts a paid membership for `user` (as billing does, with the
    /// service actor).
    pub async fn join(
        &self,
        user: &Actor,
        tier: PricingTier,
        limit: Option<u32>,
        trial: bool,
    ) -> crate::commerce::membership::Membership {
        let now = self.clock.now_utc();
        self.vault
            .start_membership(
                &Actor::Service,
                NewMembership {
                    user_id: user.user_id().unwrap().clone(),
                    tier,
                    period: Period::new(now, now + Duration::days(30)).unwrap(),
                    trial,
                    period_download_limit: limit,
                    features: Default::default(),
                    provider: ProviderRefs::default(),
                },
            )
            .await
            .unwrap()
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        crate::value::clock::Clock::now(self)
    }
}

/// Expands every conformance case into a `#[test]` for a backend. The
/// argument is a closure returning a future of `Option<Arc<dyn Store>>`: a
/// fresh, empty store per case, or `None` to skip.
#[macro_export]
macro_rules! conformance_tests {
    ($setup:expr) => {
        $crate::__conformance_cases!($setup;
            categories_seed_idempotently,
            workflow_create_and_read,
            workflow_slug_is_unique,
            workflow_needs_its_category,
            edit_keeps_counters_and_guards_revision,
            published_price_currency_is_fixed,
            category_counts_published_workflows,
            released_workflows_cannot_be_announced,
            drafts_are_invisible_to_non_staff,
            list_filters,
            list_sorts_and_paginates,
            primary_file_is_unique,
            storage_keys_only_for_staff,
            catalog_maintenance,
            update_versions_strictly_increase,
            bundles_price_and_quote,
            free_download_counts_everywhere,
            paid_download_denied_with_remedy,
            purchase_grants_and_limit_holds,
            membership_tier_quota_and_renewal,
            refund_cascade_revokes_bundle_access,
            stale_refund_writes_conflict,
            dispute_suspends_then_restores,
            archived_only_for_prior_access,
            access_read_matches_separate_reads,
            version_scoped_purchase,
            concurrent_downloads_respect_purchase_limit,
            guarded_charge_under_contention,
            concurrent_downloads_respect_membership_limit,
            completion_idempotent_per_payment,
            webhook_lookups,
            concurrent_completion_counts_once,
            purchase_failures_and_refusals,
            revenue_and_refund_analytics,
            membership_lifecycle,
            active_memberships_view,
            reviews_moderation_and_aggregate,
            review_votes_one_per_user,
            rating_matches_recompute,
            favorites_unique_and_counted,
            views_and_unique_visitors,
            workflow_stats_view,
            users_see_only_their_own,
            refused_calls_write_nothing,
            not_found_variants,
            one_membership_per_user_under_contention,
            lapsed_memberships_expire_when_another_starts,
            memberships_follow_the_newest_event,
            concurrent_events_of_one_subscription_converge,
            dispute_outcome_is_kept_and_guarded,
            hostile_extreme_numbers,
            hostile_extreme_dates,
            hostile_nul_bytes,
            hostile_malformed_cursors,
            hostile_listing_proptest,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($setup:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testkit::run(async {
                    match ($setup)().await {
                        Some(store) => $crate::testkit::$case(store).await,
                        None => println!("skipped {}: no backend available", stringify!($case)),
                    }
                });
            }
        )*
    };
}

/// Expands the [`WebhookStore`](crate::store::WebhookStore) cases, for
/// backends that implement it. The setup returns
/// `Option<Arc<dyn WebhookStore>>`.
#[macro_export]
macro_rules! webhook_conformance_tests {
    ($setup:expr) => {
        $crate::__conformance_cases!($setup;
            webhook_claim_lifecycle,
            webhook_racing_claims_get_one,
            webhook_parked_events_wait_and_expire,
        );
    };
}

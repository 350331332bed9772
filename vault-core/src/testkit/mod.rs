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
//! then prints that it skipped.
//!
//! The cases live in one file per area, named as everywhere else
//! (`catalog`, `commerce`, `community`, `delivery`, `insight`), on two
//! levels:
//! * `<area>.rs` (and `catalog_listing.rs`, `catalog_page.rs`,
//!   `commerce_ordering.rs`, `community_listing.rs`) drive
//!   the [`Vault`] service, so they check the contract the way an app uses
//!   it: counters, guarded writes, authorization and concurrency included.
//!   `authz.rs` holds who may do what across areas, `hostile.rs` input at
//!   and past the edges.
//! * `<area>_store.rs` call the area's storage trait directly, with records
//!   built by hand (`records.rs`), the way the service calls a backend once
//!   it has decided: every refusal the trait documents (and that nothing was
//!   written), every guard, every listing's order. Their names start with
//!   `store_`.
//!
//! Not semver-stable: cases follow the storage contract as it grows.
#![allow(clippy::unwrap_used, missing_docs)]

mod account;
mod audit;
mod authz;
mod catalog;
mod catalog_cards;
mod catalog_listing;
mod catalog_page;
mod catalog_store;
mod comment;
mod comment_store;
mod commerce;
mod commerce_ordering;
mod commerce_store;
mod community;
mod community_listing;
mod community_store;
mod delivery;
mod delivery_store;
mod helpers;
mod hostile;
mod insight;
mod insight_store;
mod jobs;
mod jobs_crash;
mod jobs_maintenance;
mod jobs_outbox;
mod records;
mod rules;
mod settings;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

pub use self::account::*;
pub use self::audit::*;
pub use self::authz::*;
pub use self::catalog::*;
pub use self::catalog_cards::*;
pub use self::catalog_listing::*;
pub use self::catalog_page::*;
pub use self::catalog_store::*;
pub use self::comment::*;
pub use self::comment_store::*;
pub use self::commerce::*;
pub use self::commerce_ordering::*;
pub use self::commerce_store::*;
pub use self::community::*;
pub use self::community_listing::*;
pub use self::community_store::*;
pub use self::delivery::*;
pub use self::delivery_store::*;
pub use self::hostile::*;
pub use self::insight::*;
pub use self::insight_store::*;
pub use self::jobs::*;
pub use self::jobs_crash::*;
pub use self::jobs_maintenance::*;
pub use self::jobs_outbox::*;
pub use self::records::audit;
pub use self::rules::*;
pub use self::settings::*;
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
        Self::with_config(store, |c| c).await
    }

    /// A fixture whose vault's configuration `config` adjusts.
    pub async fn with_config(
        store: Arc<dyn Store>,
        config: impl FnOnce(VaultConfig) -> VaultConfig,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(epoch()));
        let vault = Vault::new(
            Arc::clone(&store),
            clock.clone(),
            Arc::new(SeededEntropy::new(0x5eed)),
            config(VaultConfig::new(
                IpSalt::new(b"conformance-salt-0123".to_vec()).unwrap(),
            )),
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

    /// A user with an account that staff banned.
    pub async fn banned(&self, name: &str) -> Actor {
        let actor = Self::user(name);
        let id = actor.user_id().unwrap().clone();
        self.vault
            .open_account(
                &actor,
                &id,
                account::email(&format!("{name}@example.com")),
                account::profile("B"),
            )
            .await
            .unwrap();
        self.vault
            .ban_account(&self.admin, &id, None)
            .await
            .unwrap();
        actor
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
            // account.rs
            refused_accounts_write_nothing_and_keep_their_purchases,
            email_is_unique_case_insensitively_under_contention,
            accounts_list_search_and_page,
            store_account_writes_are_guarded,

            // audit.rs
            audit_one_entry_per_staff_write,
            audit_entry_rolls_back_with_its_write,
            audit_log_filters_and_pages,

            // settings.rs
            settings_are_typed_and_secrets_never_show,
            membership_plans_read_from_their_setting,

            // catalog.rs
            categories_seed_idempotently,
            workflow_create_and_read,
            workflow_slug_is_unique,
            workflow_needs_its_category,
            edit_keeps_counters_and_guards_revision,
            published_price_currency_is_fixed,
            released_workflows_cannot_be_announced,
            category_counts_published_workflows,
            storage_keys_only_for_staff,
            primary_file_is_unique,
            catalog_maintenance,
            update_versions_strictly_increase,
            bundles_price_and_quote,

            // catalog_listing.rs
            drafts_are_invisible_to_non_staff,
            list_filters,
            list_sorts_and_paginates,

            // catalog_page.rs
            page_items_keep_an_exact_order,
            page_items_stop_at_their_limit,
            page_writes_and_deletes_audit_one_entry_each,
            deleted_workflows_are_hidden_but_keep_their_records,
            page_and_delete_are_staff_only,

            // catalog_store.rs
            store_categories_are_unique_and_ordered,
            store_insert_workflow_checks_uniqueness_and_category_and_counts_published,
            store_update_workflow_is_guarded_and_keeps_counters,
            store_update_workflow_maintains_both_category_counts,
            store_list_workflows_follows_query_semantics,
            store_a_viewed_listing_is_the_listing_with_its_standing,

            // catalog_cards.rs
            store_cards_are_the_listing_in_short,
            store_files_keep_one_primary_and_their_download_count,
            store_updates_only_move_forward_and_set_the_current_version,
            store_bundles_check_members_and_keep_purchase_count,
            store_concurrent_edits_of_one_revision_let_exactly_one_through,

            // commerce.rs
            refund_cascade_revokes_bundle_access,
            stale_refund_writes_conflict,
            dispute_suspends_then_restores,
            completion_idempotent_per_payment,
            webhook_lookups,
            concurrent_completion_counts_once,
            purchase_failures_and_refusals,
            license_keys_are_shown_from_their_digest,
            membership_lifecycle,
            active_memberships_view,
            active_memberships_view_agrees_with_the_rule,

            // commerce_ordering.rs
            one_membership_per_user_under_contention,
            lapsed_memberships_expire_when_another_starts,
            memberships_follow_the_newest_event,
            concurrent_events_of_one_subscription_converge,
            dispute_outcome_is_kept_and_guarded,

            // commerce_store.rs
            store_purchases_are_unique_and_name_existing_items,
            store_settle_purchase_is_guarded_and_counts_once,
            store_settle_purchase_refuses_an_overflowing_day_whole,
            store_settlement_outbox_commits_with_it,
            store_memberships_are_guarded_and_listed,

            // community.rs
            reviews_moderation_and_aggregate,
            review_votes_one_per_user,
            rating_matches_recompute,
            favorites_unique_and_counted,
            favorites_are_edited_and_listed_by_tag,

            // community_listing.rs
            reviews_list_across_workflows_by_user_and_status,
            the_pending_queue_is_worked_page_by_page,
            comment_feed_lists_across_workflows,
            review_and_comment_listings_are_own_or_staff,
            listing_cursors_and_limits_are_checked,

            // community_store.rs
            store_insert_review_is_unique_per_user_and_moves_the_rating,
            store_update_review_is_guarded_and_keeps_votes,
            store_delete_review_removes_it_with_its_votes,
            store_one_vote_per_user_and_review,
            store_favorites_are_unique_and_counted,

            // comment.rs
            comments_thread_three_deep,
            comments_are_edited_by_their_author_only,
            deleted_comments_keep_their_replies,
            hidden_comments_are_for_staff,
            comment_likes_count_each_user_once,
            comment_pages_follow_both_orders,

            // comment_store.rs
            store_insert_comment_checks_workflow_parent_and_depth,
            store_update_comment_is_guarded_and_keeps_place_and_likes,
            store_comment_likes_are_one_per_user_and_counted,
            store_comment_like_count_matches_like_rows,
            store_concurrent_comment_likes_count_each_user_once,
            store_comment_listings_page_without_gaps_or_repeats,

            // delivery.rs
            free_download_counts_everywhere,
            paid_download_denied_with_remedy,
            purchase_grants_and_limit_holds,
            membership_tier_quota_and_renewal,
            archived_only_for_prior_access,
            version_scoped_purchase,
            concurrent_downloads_respect_purchase_limit,
            guarded_charge_under_contention,
            concurrent_downloads_respect_membership_limit,
            access_read_matches_separate_reads,

            // delivery_store.rs
            store_record_download_checks_everything_before_writing,
            store_record_download_refuses_analytics_of_another_workflow,
            store_downloads_are_listed_newest_first,
            store_concurrent_downloads_never_exceed_the_limit,

            // insight.rs
            revenue_and_refund_analytics,
            views_and_unique_visitors,
            workflow_stats_view,

            // insight_store.rs
            store_record_analytics_fills_daily_rows_and_view_counts,
            store_a_visitor_is_unique_once_per_workflow_and_day,
            store_a_download_records_its_whole_delta,
            store_analytics_ranges_are_inclusive_and_oldest_first,
            store_workflow_stats_sum_net_revenue_per_workflow,

            // authz.rs
            users_see_only_their_own,
            refused_calls_write_nothing,
            not_found_variants,

            // hostile.rs
            hostile_extreme_numbers,
            hostile_extreme_dates,
            hostile_nul_bytes,
            hostile_malformed_cursors,
            hostile_listing_proptest,

            // jobs.rs
            jobs_are_claimed_by_priority_then_due_time,
            a_lapsed_lease_is_claimed_again_and_the_first_worker_fenced,
            failures_back_off_go_dead_and_admins_retry_or_cancel,
            a_unique_key_enqueues_one_job_under_contention,
            many_claimers_complete_every_job_exactly_once,
            finished_jobs_are_purged_dead_ones_kept,
            workers_run_every_job_and_retry_failures,
            the_service_checks_enqueues_and_audits_staff_commands,

            // jobs_crash.rs
            a_worker_dropped_mid_job_loses_it_after_the_lease,

            // jobs_outbox.rs
            completed_purchases_enqueue_their_jobs_once,
            opened_accounts_enqueue_their_jobs_once,

            // jobs_maintenance.rs
            recurring_maintenance_on_four_workers_applies_once,
            analytics_rollup_is_checked_against_the_rows,

            // rules.rs
            charge_misses_name_their_cause,
            analytics_keep_one_currency_per_day,
            bundles_sell_their_members_most_generous_terms,
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
            webhook_processed_events_are_purged,
        );
    };
}

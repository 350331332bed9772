//! # vault-core
//!
//! The domain of **Workflow Vault**: a marketplace of automation templates
//! (Make.com, n8n, Zapier…) sold free, one-time, in bundles or through
//! memberships. This crate decides who may download what and why, enforces
//! license limits, aggregates ratings, prices bundles and keeps the counters
//! and analytics a storefront shows — as plain functions over plain data,
//! behind storage traits that several backends implement.
//!
//! ## Why it exists
//! Selling downloads looks simple until the rules meet each other: a refund
//! of a bundle must revoke every member, a past-due membership keeps access
//! for a grace period, a license covers updates for twelve months but the
//! versions before that forever, and 32 concurrent downloads against a limit
//! of 5 must give exactly 5. Here each rule is one documented, property-tested
//! function, and each decision explains itself.
//!
//! ## Highlights
//! * [`delivery::access::decide`] — the access rule with its precedence,
//!   returning an [`AccessDecision`] that
//!   lists every rule consulted, the one that decided, and for a denial what
//!   would grant access.
//! * [`value::money::Money`] — exact decimal amounts in one currency, one
//!   rounding rule, largest-remainder allocation that sums to the minor unit.
//! * [`community::rating`] — integer aggregates maintained incrementally that
//!   equal a recomputation exactly; Bayesian ranking; Wilson lower bound.
//! * [`catalog::bundle`] — savings, validity windows, complete-the-bundle
//!   pricing.
//! * [`commerce::membership`] and [`commerce::refund`] — state machines whose
//!   illegal moves are typed errors and whose effects are data; one
//!   membership in good standing per user
//!   ([`commerce::membership::claim_slot`]), kept inside the store's write.
//! * [`commerce::subscription`] and [`commerce::refund`] — payment-provider
//!   events merged so that the final state never depends on the order they
//!   arrive in: the newest event decides a subscription's status, refunds
//!   and disputes only move forward, ended and refunded are final.
//! * [`account`] and [`audit`] — accounts keyed by the app's user id
//!   (email unique case-insensitively, ban, soft delete, erasure, roles),
//!   and an append-only trail every staff write appends to in its own
//!   transaction; a banned or deleted account is refused every call.
//! * [`store`] — the storage contract (atomic, guarded writes) and
//!   [`Vault`], the service every backend plugs into.
//!
//! ## Layout
//! One folder per area — [`audit`], [`account`], [`settings`],
//! [`catalog`], [`commerce`], [`community`], [`delivery`], [`insight`] —
//! each with its types, its rules and its part of the storage contract,
//! standing on [`value`] (checked values and the errors) and depending only
//! on the areas before it; the service
//! ([`vault`]), the memory store and the test kit sit on top, organised by
//! the same area names. `ARCHITECTURE.md` draws it.
//!
//! ## Pure by design
//! vault-core performs no IO and reads neither the clock nor a random source:
//! the app passes a [`Clock`] and an [`Entropy`]. Tests fix both
//! ([`ManualClock`], [`SeededEntropy`]) and get reproducible results.
//!
//! ## Example
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use vault_core::{Actor, Currency, FileKind, IpSalt, ManualClock, MemoryStore, Money, NewFile, PricingTier, SeededEntropy, Slug, Vault, VaultConfig, Version, WorkflowContent};
//!
//! let vault = Vault::new(
//!     std::sync::Arc::new(MemoryStore::new()),
//!     std::sync::Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)), // SystemClock in production
//!     std::sync::Arc::new(SeededEntropy::new(1)),                          // OsEntropy in production
//!     VaultConfig::new(IpSalt::new(b"a secret of 16+ bytes".to_vec()).unwrap()),
//! );
//! let admin = Actor::admin("staff").unwrap();
//! let categories = vault.seed_core_categories(&admin).await.unwrap();
//!
//! let content = WorkflowContent::new(
//!     Slug::parse("invoice-chaser").unwrap(),
//!     "Invoice chaser",
//!     categories[4].id,
//!     PricingTier::Pro,
//! )
//! .price(Money::from_minor(4900, Currency::USD))
//! .download_limit(5)
//! .update_months(12);
//! let w = vault.create_workflow(&admin, content).await.unwrap();
//! let blueprint = br#"{"name": "Invoice chaser"}"#;
//! let file = NewFile::of_bytes(w.id, FileKind::Make, "invoice-chaser.json", "blueprints/invoice-chaser.json", Version::new(1, 0, 0), blueprint);
//! vault.add_file(&admin, file).await.unwrap();
//! vault.publish_workflow(&admin, w.id).await.unwrap();
//!
//! let alice = Actor::user("alice").unwrap();
//! let decision = vault.check_access(&alice, w.id, None).await.unwrap();
//! assert!(!decision.is_granted());
//! assert!(decision.summary().contains("buy it for 49.00 USD"));
//! # });
//! ```
//!
//! ## Features
//! * `std-sources` — `SystemClock` and `OsEntropy`, the clock and the
//!   randomness an app passes in production.
//! * `memory` — [`MemoryStore`], a complete in-memory backend for tests and
//!   small deployments.
//! * `testkit` — the backend conformance suite ([`conformance_tests!`]).
#![deny(missing_docs)]

pub mod account;
pub mod audit;
pub mod catalog;
pub mod commerce;
pub mod community;
pub mod delivery;
pub mod insight;
pub mod jobs;
#[cfg(feature = "memory")]
pub mod memory;
pub mod settings;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod value;
pub mod vault;

// The front door: what every caller needs, one `use` away.
pub use crate::account::email::Email;
pub use crate::account::profile::{Account, Profile, Role};
pub use crate::catalog::file::{FileAccess, FileKind, NewFile};
pub use crate::catalog::workflow::WorkflowContent;
pub use crate::commerce::license::{LicenseKey, LicenseKeyHash, LicenseSecret};
pub use crate::delivery::access::AccessDecision;
pub use crate::delivery::download::{IpSalt, RequestInfo};
#[cfg(feature = "memory")]
pub use crate::memory::MemoryStore;
pub use crate::value::actor::{Actor, Refusal, UserId};
pub use crate::value::clock::{Clock, Entropy, ManualClock, SeededEntropy};
#[cfg(feature = "std-sources")]
pub use crate::value::clock::{OsEntropy, SystemClock};
pub use crate::value::error::{Error, Result, StoreError};
pub use crate::value::ids::{
    BundleId, CategoryId, DownloadId, FileId, MembershipId, PurchaseId, ReviewId, UpdateId,
    WorkflowId,
};
pub use crate::value::money::{Currency, Money};
pub use crate::value::slug::Slug;
pub use crate::value::tier::PricingTier;
pub use crate::value::validation::ValidationError;
pub use crate::value::version::Version;
pub use crate::vault::{Vault, VaultConfig};

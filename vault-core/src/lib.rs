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
//!   returning an [`AccessDecision`](value::decision::AccessDecision) that
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
//! * [`store`] — the storage contract (atomic, guarded writes) and
//!   [`Vault`], the service every backend plugs into.
//!
//! ## Layout
//! One folder per area — [`community`], [`catalog`], [`commerce`],
//! [`delivery`], [`insight`] — each with its types, its rules and its part of
//! the storage contract, standing on [`value`] (checked values and the
//! errors) and depending only on the areas before it; the service
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
//! use std::sync::Arc;
//! use vault_core::value::actor::Actor;
//! use vault_core::delivery::download::{IpSalt, RequestInfo};
//! use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
//! use vault_core::value::slug::Slug;
//! use vault_core::value::tier::PricingTier;
//! use vault_core::value::version::Version;
//! use vault_core::catalog::workflow::WorkflowContent;
//! use vault_core::{ManualClock, MemoryStore, SeededEntropy, Vault, VaultConfig};
//!
//! let vault = Vault::new(
//!     Arc::new(MemoryStore::new()),
//!     Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)),
//!     Arc::new(SeededEntropy::new(1)), // tests only: use OS randomness in production
//!     VaultConfig::new(IpSalt::new(b"a secret of 16+ bytes".to_vec()).unwrap()),
//! );
//! let admin = Actor::admin("staff").unwrap();
//! let categories = vault.seed_core_categories(&admin).await.unwrap();
//!
//! let content = WorkflowContent {
//!     slug: Slug::parse("invoice-chaser").unwrap(),
//!     title: "Invoice chaser".into(),
//!     short_description: String::new(),
//!     description: String::new(),
//!     category_id: categories[4].id,
//!     wedge: Default::default(),
//!     pricing_tier: PricingTier::Pro,
//!     price: Some(vault_core::value::money::Money::from_minor(4900, vault_core::value::money::Currency::USD)),
//!     media: Default::default(),
//!     features: vec![],
//!     requirements: vec![],
//!     includes: vec![],
//!     tags: vec![],
//!     seo: Default::default(),
//!     update_months: Some(12),
//!     download_limit: Some(5),
//! };
//! let w = vault.create_workflow(&admin, content).await.unwrap();
//! vault.add_file(&admin, NewFile {
//!     workflow_id: w.id,
//!     kind: FileKind::Make,
//!     file_name: "invoice-chaser.json".into(),
//!     storage_key: "blueprints/invoice-chaser.json".into(),
//!     mime_type: "application/json".into(),
//!     version: Version::new(1, 0, 0),
//!     is_primary: true,
//!     access: FileAccess::Standard,
//!     size_bytes: 1024,
//!     checksum: Checksum::of(b"{}"),
//! }).await.unwrap();
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
//! * `memory` — [`MemoryStore`], a complete in-memory backend for tests and
//!   small deployments.
//! * `testkit` — the backend conformance suite ([`conformance_tests!`]).
#![deny(missing_docs)]

pub mod catalog;
pub mod commerce;
pub mod community;
pub mod delivery;
pub mod insight;
#[cfg(feature = "memory")]
pub mod memory;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod value;
pub mod vault;

#[cfg(feature = "memory")]
pub use crate::memory::MemoryStore;
pub use crate::value::clock::{Clock, Entropy, ManualClock, SeededEntropy};
pub use crate::value::error::{Error, Result};
pub use crate::value::validation::ValidationError;
pub use crate::vault::{Vault, VaultConfig};

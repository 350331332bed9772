//! # vault-stripe
//!
//! Stripe for Workflow Vault: webhooks in, API calls out.
//!
//! ## Webhooks in
//! [`webhook::WebhookHandler`] takes the raw request body and the
//! `Stripe-Signature` header and
//! * verifies the signature exactly as Stripe specifies
//!   ([`signature::Verifier`]: `t=` and one or more `v1=` HMAC-SHA256
//!   signatures, constant-time comparison, five-minute tolerance against the
//!   injected clock; `v0` and unknown schemes ignored; each refusal named
//!   as Stripe's official libraries name it: a missing header, an empty
//!   secret, a malformed header, a mismatch, a stale timestamp);
//! * parses the events that matter into typed structs ([`event::Event`]);
//! * applies each event at most once, through the store
//!   ([`vault_core::store::WebhookStore`]: a `stripe_webhook_events` record
//!   with status, attempts and last error), with retries and backoff;
//! * is order-safe by construction: whatever order a set of related events
//!   arrives in, and however often each arrives, the vault ends in the state
//!   the set defines. An event about something not known yet (a refund
//!   before its payment completed) is parked and applied when that appears;
//!   see [`webhook`] for the rules.
//!
//! Call [`webhook::WebhookHandler::sweep`] every minute or so: it applies
//! parked events whose object appeared without an event, and expires those
//! that waited too long (listed by [`webhook::WebhookHandler::events`]).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # async fn demo(store: Arc<vault_store_sqlite::SqliteStore>, vault: vault_core::Vault<dyn vault_core::store::Store>, clock: Arc<dyn vault_core::Clock>, body: &[u8], header: &str) {
//! use vault_stripe::signature::{Verifier, WebhookSecret};
//! use vault_stripe::webhook::{WebhookConfig, WebhookHandler};
//!
//! let hooks = WebhookHandler::new(
//!     vault,
//!     store, // the same SQLite or Postgres store records the events
//!     clock,
//!     Verifier::new(WebhookSecret::new(std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_default())),
//!     WebhookConfig::default(),
//! );
//! let status = match hooks.handle(body, header).await {
//!     Ok(handled) => handled.status_code(), // 200, or 409 while another delivery applies it
//!     Err(e) => e.status_code(),            // 400 for bad signatures, 500 to be redelivered
//! };
//! # let _ = status; }
//! ```
//!
//! ## API out
//! [`client`] is a small typed client for what the vault needs: Checkout
//! Sessions for a workflow, a bundle or a membership tier; customers;
//! canceling subscriptions; refunds.
//!
//! Secrets (the API key, the webhook secret) never appear in `Debug` output
//! or logs.
#![deny(missing_docs)]

pub mod client;
pub mod event;
pub mod signature;
pub mod webhook;

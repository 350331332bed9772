//! Selling: licenses, purchases and their payment lifecycle, refunds and
//! disputes, memberships, following a payment provider's subscriptions, and
//! the provider's webhook events.

pub mod license;
pub mod membership;
pub mod plan;
pub mod provider;
pub mod purchase;
pub mod refund;
pub mod store;
pub mod subscription;
pub mod webhook;

//! Refunds of a PaymentIntent, whole or in part.

use std::collections::BTreeMap;

use serde::Deserialize;
use vault_core::value::money::Money;

use super::checkout::non_blank;
use super::error::StripeError;
use super::form::Form;
use super::resources::{expandable_id, null_default};

/// Why a refund was made, as Stripe records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundReason {
    /// Charged twice.
    Duplicate,
    /// Fraud (also feeds Stripe Radar).
    Fraudulent,
    /// The customer asked.
    RequestedByCustomer,
}

impl RefundReason {
    /// The name Stripe uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::RequestedByCustomer => "requested_by_customer",
        }
    }
}

/// The parameters of `POST /v1/refunds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundParams {
    payment_intent: String,
    amount: Option<Money>,
    reason: Option<RefundReason>,
    metadata: BTreeMap<String, String>,
}

impl RefundParams {
    /// Refunds what is left of a PaymentIntent (`pi_…`) in full.
    pub fn new(payment_intent: impl Into<String>) -> Self {
        Self {
            payment_intent: payment_intent.into(),
            amount: None,
            reason: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Refunds only this much (sent in minor units; it must be positive and
    /// in the payment's currency, which Stripe checks against the charge).
    pub fn amount(mut self, amount: Money) -> Self {
        self.amount = Some(amount);
        self
    }

    /// Records why.
    pub fn reason(mut self, reason: RefundReason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Adds (or replaces) one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The form body sent to Stripe, after checking the amount.
    pub fn to_form(&self) -> Result<Form, StripeError> {
        non_blank("payment_intent", &self.payment_intent)?;
        let mut f = Form::new();
        f.push("payment_intent", self.payment_intent.as_str());
        if let Some(amount) = &self.amount {
            let minor = amount.to_minor().filter(|m| *m > 0).ok_or_else(|| {
                StripeError::InvalidParams(format!(
                    "refund amount must be positive, got {}",
                    amount.amount()
                ))
            })?;
            f.push("amount", minor.to_string());
        }
        f.push_opt("reason", self.reason.map(|r| r.as_str()));
        for (k, v) in &self.metadata {
            if k.is_empty() {
                return Err(StripeError::InvalidParams("empty metadata key".to_owned()));
            }
            f.push(format!("metadata[{k}]"), v.as_str());
        }
        Ok(f)
    }
}

/// `status` of a Refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefundStatus {
    /// On its way.
    Pending,
    /// Needs the customer to act.
    RequiresAction,
    /// Done.
    Succeeded,
    /// Failed.
    Failed,
    /// Cancelled.
    Canceled,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// A Refund, as far as the vault needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// Refunded amount in minor units.
    pub amount: i64,
    /// Lowercase currency code.
    pub currency: String,
    /// Its status.
    #[serde(default)]
    pub status: Option<RefundStatus>,
    /// The refunded PaymentIntent (`pi_…`).
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    /// The reason given, as Stripe names it.
    #[serde(default)]
    pub reason: Option<String>,
    /// The refund's metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// When it was created (Unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
}

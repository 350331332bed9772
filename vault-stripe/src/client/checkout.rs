//! Checkout Sessions: one for a workflow or a bundle (a one-time payment),
//! or for a membership tier (a subscription).

use std::collections::BTreeMap;

use serde::Deserialize;
use vault_core::actor::UserId;
use vault_core::ids::PurchaseId;
use vault_core::money::Money;
use vault_core::tier::PricingTier;

use super::error::StripeError;
use super::form::Form;
use super::resources::{expandable_id, null_default};

/// The metadata key holding the vault purchase id (on the session and on
/// its PaymentIntent).
pub const METADATA_PURCHASE_ID: &str = "vault_purchase_id";
/// The metadata key holding the vault user id (on the subscription).
pub const METADATA_USER_ID: &str = "vault_user_id";
/// The metadata key holding the membership tier (on the subscription).
pub const METADATA_TIER: &str = "vault_tier";

/// Where Checkout sends the buyer afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrls {
    /// After paying. Stripe replaces `{CHECKOUT_SESSION_ID}` in it.
    pub success_url: String,
    /// When the buyer goes back without paying.
    pub cancel_url: String,
}

impl ReturnUrls {
    /// Both URLs.
    pub fn new(success_url: impl Into<String>, cancel_url: impl Into<String>) -> Self {
        Self {
            success_url: success_url.into(),
            cancel_url: cancel_url.into(),
        }
    }
}

/// What the session sells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutItem {
    /// One workflow, paid once.
    Workflow {
        /// The vault purchase this payment settles.
        purchase_id: PurchaseId,
        /// The name shown on the Checkout page.
        name: String,
        /// The price (sent in minor units with the lowercase currency code).
        price: Money,
    },
    /// A bundle of workflows, paid once.
    Bundle {
        /// The vault purchase this payment settles.
        purchase_id: PurchaseId,
        /// The name shown on the Checkout page.
        name: String,
        /// The price (sent in minor units with the lowercase currency code).
        price: Money,
    },
    /// A membership tier, as a subscription to a Stripe Price.
    Membership {
        /// Whose membership.
        user_id: UserId,
        /// The tier it grants (not `Free`).
        tier: PricingTier,
        /// The recurring Stripe Price (`price_…`) of the tier.
        price_id: String,
        /// Free trial days before the first charge, if any.
        trial_period_days: Option<u32>,
    },
}

/// Who pays: an existing Stripe customer, or an email Checkout pre-fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutCustomer {
    /// An existing customer (`cus_…`).
    Id(String),
    /// Pre-fills the email; Stripe creates or matches the customer.
    Email(String),
}

/// The parameters of `POST /v1/checkout/sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSessionParams {
    item: CheckoutItem,
    urls: ReturnUrls,
    customer: Option<CheckoutCustomer>,
}

impl CheckoutSessionParams {
    /// A session for `item`.
    pub fn new(item: CheckoutItem, urls: ReturnUrls) -> Self {
        Self {
            item,
            urls,
            customer: None,
        }
    }

    /// A one-time payment for a workflow.
    pub fn workflow(
        purchase_id: PurchaseId,
        name: impl Into<String>,
        price: Money,
        urls: ReturnUrls,
    ) -> Self {
        Self::new(
            CheckoutItem::Workflow {
                purchase_id,
                name: name.into(),
                price,
            },
            urls,
        )
    }

    /// A one-time payment for a bundle.
    pub fn bundle(
        purchase_id: PurchaseId,
        name: impl Into<String>,
        price: Money,
        urls: ReturnUrls,
    ) -> Self {
        Self::new(
            CheckoutItem::Bundle {
                purchase_id,
                name: name.into(),
                price,
            },
            urls,
        )
    }

    /// A subscription to a membership tier, without a trial (build the
    /// [`CheckoutItem::Membership`] yourself for one).
    pub fn membership(
        user_id: UserId,
        tier: PricingTier,
        price_id: impl Into<String>,
        urls: ReturnUrls,
    ) -> Self {
        Self::new(
            CheckoutItem::Membership {
                user_id,
                tier,
                price_id: price_id.into(),
                trial_period_days: None,
            },
            urls,
        )
    }

    /// Charges an existing customer (replaces any customer email).
    pub fn customer(mut self, customer_id: impl Into<String>) -> Self {
        self.customer = Some(CheckoutCustomer::Id(customer_id.into()));
        self
    }

    /// Pre-fills the buyer's email (replaces any customer id).
    pub fn customer_email(mut self, email: impl Into<String>) -> Self {
        self.customer = Some(CheckoutCustomer::Email(email.into()));
        self
    }

    /// What the session sells.
    pub fn item(&self) -> &CheckoutItem {
        &self.item
    }

    /// The form body sent to Stripe, after checking the parameters.
    pub fn to_form(&self) -> Result<Form, StripeError> {
        let mut f = Form::new();
        match &self.item {
            CheckoutItem::Workflow {
                purchase_id,
                name,
                price,
            }
            | CheckoutItem::Bundle {
                purchase_id,
                name,
                price,
            } => {
                non_blank("name", name)?;
                if price.is_negative() {
                    return Err(StripeError::InvalidParams(format!(
                        "price must not be negative, got {}",
                        price.amount()
                    )));
                }
                let minor = price.to_minor().ok_or_else(|| {
                    StripeError::InvalidParams("price does not fit in minor units".to_owned())
                })?;
                let purchase = purchase_id.to_string();
                f.push("mode", "payment")
                    .push(
                        "line_items[0][price_data][currency]",
                        price.currency().code().to_ascii_lowercase(),
                    )
                    .push("line_items[0][price_data][unit_amount]", minor.to_string())
                    .push(
                        "line_items[0][price_data][product_data][name]",
                        name.as_str(),
                    )
                    .push("line_items[0][quantity]", "1")
                    .push("client_reference_id", purchase.as_str())
                    .push(
                        format!("metadata[{METADATA_PURCHASE_ID}]"),
                        purchase.as_str(),
                    )
                    .push(
                        format!("payment_intent_data[metadata][{METADATA_PURCHASE_ID}]"),
                        purchase,
                    );
            }
            CheckoutItem::Membership {
                user_id,
                tier,
                price_id,
                trial_period_days,
            } => {
                non_blank("price_id", price_id)?;
                if *tier == PricingTier::Free {
                    return Err(StripeError::InvalidParams(
                        "the free tier has no subscription".to_owned(),
                    ));
                }
                if *trial_period_days == Some(0) {
                    return Err(StripeError::InvalidParams(
                        "trial_period_days must be at least 1".to_owned(),
                    ));
                }
                f.push("mode", "subscription")
                    .push("line_items[0][price]", price_id.as_str())
                    .push("line_items[0][quantity]", "1")
                    .push(
                        format!("subscription_data[metadata][{METADATA_USER_ID}]"),
                        user_id.as_str(),
                    )
                    .push(
                        format!("subscription_data[metadata][{METADATA_TIER}]"),
                        tier.as_str(),
                    )
                    .push_opt(
                        "subscription_data[trial_period_days]",
                        trial_period_days.map(|d| d.to_string()),
                    );
            }
        }
        non_blank("success_url", &self.urls.success_url)?;
        non_blank("cancel_url", &self.urls.cancel_url)?;
        f.push("success_url", self.urls.success_url.as_str())
            .push("cancel_url", self.urls.cancel_url.as_str());
        match &self.customer {
            Some(CheckoutCustomer::Id(id)) => {
                non_blank("customer", id)?;
                f.push("customer", id.as_str());
            }
            Some(CheckoutCustomer::Email(email)) => {
                non_blank("customer_email", email)?;
                f.push("customer_email", email.as_str());
            }
            None => {}
        }
        Ok(f)
    }
}

pub(crate) fn non_blank(field: &str, value: &str) -> Result<(), StripeError> {
    if value.trim().is_empty() {
        return Err(StripeError::InvalidParams(format!("{field} is blank")));
    }
    Ok(())
}

/// `mode` of a Checkout Session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckoutMode {
    /// A one-time payment.
    Payment,
    /// Saves a payment method.
    Setup,
    /// Starts a subscription.
    Subscription,
    /// A mode this client does not know.
    #[serde(other)]
    Unknown,
}

/// `status` of a Checkout Session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckoutSessionStatus {
    /// Waiting for the buyer.
    Open,
    /// Paid (or the subscription started).
    Complete,
    /// Timed out or expired by the API.
    Expired,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// `payment_status` of a Checkout Session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckoutPaymentStatus {
    /// Funds are available.
    Paid,
    /// Not paid (yet).
    Unpaid,
    /// Nothing to pay now (a trial, a 100% discount).
    NoPaymentRequired,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// A Checkout Session, as far as the vault needs it. Unknown fields are
/// ignored; expandable references are read as their ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// The page to send the buyer to (while open).
    #[serde(default)]
    pub url: Option<String>,
    /// Open, complete or expired.
    #[serde(default)]
    pub status: Option<CheckoutSessionStatus>,
    /// Payment or subscription.
    pub mode: CheckoutMode,
    /// Paid, unpaid or nothing to pay.
    #[serde(default)]
    pub payment_status: Option<CheckoutPaymentStatus>,
    /// The vault purchase id, for one-time payments.
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// The customer (`cus_…`), once known.
    #[serde(default, deserialize_with = "expandable_id")]
    pub customer: Option<String>,
    /// The email given or pre-filled.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// The PaymentIntent (`pi_…`), for payments.
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    /// The subscription (`sub_…`), once created.
    #[serde(default, deserialize_with = "expandable_id")]
    pub subscription: Option<String>,
    /// Total in minor units.
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lowercase currency code.
    #[serde(default)]
    pub currency: Option<String>,
    /// The session's metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// When it expires (Unix seconds).
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When it was created (Unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
    /// Live or test mode.
    #[serde(default)]
    pub livemode: bool,
}

impl CheckoutSession {
    /// The vault purchase id, from the metadata or else the client
    /// reference id; `None` when neither parses.
    pub fn purchase_id(&self) -> Option<PurchaseId> {
        self.metadata
            .get(METADATA_PURCHASE_ID)
            .or(self.client_reference_id.as_ref())
            .and_then(|s| PurchaseId::parse(s).ok())
    }
}

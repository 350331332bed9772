//! Checkout Sessions: one for a workflow or a bundle (a one-time payment),
//! or for a membership tier (a subscription).

use std::collections::BTreeMap;

use serde::Deserialize;
use vault_core::value::actor::UserId;
use vault_core::value::ids::PurchaseId;
use vault_core::value::money::Money;
use vault_core::value::tier::PricingTier;

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

/// The metadata keys the vault writes itself and reads back from Stripe's
/// objects. An app may not set them in a session's metadata
/// ([`CheckoutSessionParams::metadata`]).
pub const RESERVED_METADATA_KEYS: [&str; 3] =
    [METADATA_PURCHASE_ID, METADATA_USER_ID, METADATA_TIER];

/// Stripe's limits on metadata: keys per object, characters per key and
/// per value.
const METADATA_MAX_KEYS: usize = 50;
const METADATA_MAX_KEY_CHARS: usize = 40;
const METADATA_MAX_VALUE_CHARS: usize = 500;

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
///
/// Besides what the vault needs, the app may set the session's
/// [`client_reference_id`](Self::client_reference_id) and add its own
/// [`metadata`](Self::metadata) entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSessionParams {
    item: CheckoutItem,
    urls: ReturnUrls,
    customer: Option<CheckoutCustomer>,
    client_reference_id: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl CheckoutSessionParams {
    /// A session for `item`.
    pub fn new(item: CheckoutItem, urls: ReturnUrls) -> Self {
        Self {
            item,
            urls,
            customer: None,
            client_reference_id: None,
            metadata: BTreeMap::new(),
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

    /// Sets the session's `client_reference_id`, the app's own reference
    /// (a cart or order id) to reconcile the session with.
    ///
    /// Without it, a workflow or bundle session sends the purchase id there
    /// and a membership session sends none. With it, the purchase id still
    /// goes in `metadata[vault_purchase_id]` of the session and of its
    /// PaymentIntent, which the app cannot change (see
    /// [`metadata`](Self::metadata)): a webhook handler must find the
    /// purchase by that metadata first, not by `client_reference_id`.
    pub fn client_reference_id(mut self, reference: impl Into<String>) -> Self {
        self.client_reference_id = Some(reference.into());
        self
    }

    /// Adds (or replaces) one entry of the session's metadata, sent next to
    /// the vault's own entries. It goes on the Checkout Session only, not
    /// on its PaymentIntent or subscription.
    ///
    /// The keys the vault writes itself ([`RESERVED_METADATA_KEYS`]:
    /// `vault_purchase_id`, `vault_user_id`, `vault_tier`) cannot be set
    /// here: creating the session then fails with
    /// [`StripeError::ReservedMetadataKey`] and sends nothing. The vault's
    /// value is not silently kept either, so an app that meant something
    /// else by the key finds out at once. Stripe's limits are checked
    /// before sending too ([`StripeError::InvalidParams`]): at most 50
    /// keys in all (the vault's included), a key of 1 to 40 characters
    /// without `[` or `]`, a value of at most 500 characters.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
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
                let reference = self.client_reference_id.as_deref().unwrap_or(&purchase);
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
                    .push("client_reference_id", reference)
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
                    )
                    .push_opt("client_reference_id", self.client_reference_id.as_deref());
            }
        }
        if let Some(reference) = &self.client_reference_id {
            non_blank("client_reference_id", reference)?;
        }
        self.push_app_metadata(&mut f)?;
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

impl CheckoutSessionParams {
    /// The app's metadata as `metadata[key]` pairs, after the checks
    /// [`metadata`](Self::metadata) documents.
    fn push_app_metadata(&self, f: &mut Form) -> Result<(), StripeError> {
        let vault_keys = match self.item {
            CheckoutItem::Workflow { .. } | CheckoutItem::Bundle { .. } => 1,
            CheckoutItem::Membership { .. } => 0,
        };
        if vault_keys + self.metadata.len() > METADATA_MAX_KEYS {
            return Err(StripeError::InvalidParams(format!(
                "metadata has {} keys, {vault_keys} of them the vault's; Stripe takes at most {METADATA_MAX_KEYS}",
                vault_keys + self.metadata.len()
            )));
        }
        for (key, value) in &self.metadata {
            if RESERVED_METADATA_KEYS.contains(&key.as_str()) {
                return Err(StripeError::ReservedMetadataKey { key: key.clone() });
            }
            // Brackets would nest the key (`metadata[a][b]`), which Stripe
            // refuses.
            if key.is_empty()
                || key.chars().count() > METADATA_MAX_KEY_CHARS
                || key.contains(['[', ']'])
            {
                return Err(StripeError::InvalidParams(format!(
                    "metadata key {key:?} must be 1 to {METADATA_MAX_KEY_CHARS} characters without [ or ]"
                )));
            }
            if value.chars().count() > METADATA_MAX_VALUE_CHARS {
                return Err(StripeError::InvalidParams(format!(
                    "metadata value of {key:?} is longer than {METADATA_MAX_VALUE_CHARS} characters"
                )));
            }
            f.push(format!("metadata[{key}]"), value.as_str());
        }
        Ok(())
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
    /// reference id; `None` when neither parses. The metadata comes first:
    /// the app may have put its own reference in `client_reference_id`.
    pub fn purchase_id(&self) -> Option<PurchaseId> {
        self.metadata
            .get(METADATA_PURCHASE_ID)
            .or(self.client_reference_id.as_ref())
            .and_then(|s| PurchaseId::parse(s).ok())
    }
}

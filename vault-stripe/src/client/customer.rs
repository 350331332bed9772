//! Customers: create one for a vault user, retrieve one.

use std::collections::BTreeMap;

use serde::Deserialize;
use vault_core::value::actor::UserId;

use super::checkout::METADATA_USER_ID;
use super::error::StripeError;
use super::form::Form;
use super::resources::null_default;

/// The parameters of `POST /v1/customers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerParams {
    email: Option<String>,
    name: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl CustomerParams {
    /// No parameters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A customer for a vault user: `metadata[vault_user_id]` set.
    pub fn for_user(user_id: &UserId) -> Self {
        Self::new().metadata(METADATA_USER_ID, user_id.as_str())
    }

    /// The customer's email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The customer's full name or business name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds (or replaces) one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The form body sent to Stripe.
    pub fn to_form(&self) -> Result<Form, StripeError> {
        let mut f = Form::new();
        f.push_opt("email", self.email.as_deref())
            .push_opt("name", self.name.as_deref());
        for (k, v) in &self.metadata {
            if k.is_empty() {
                return Err(StripeError::InvalidParams("empty metadata key".to_owned()));
            }
            f.push(format!("metadata[{k}]"), v.as_str());
        }
        Ok(f)
    }
}

/// A Customer, as far as the vault needs it. A deleted customer comes back
/// as `{id, deleted: true}` with everything else empty.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    /// `cus_…`.
    pub id: String,
    /// The email on file.
    #[serde(default)]
    pub email: Option<String>,
    /// The name on file.
    #[serde(default)]
    pub name: Option<String>,
    /// The customer's metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// True for a deleted customer.
    #[serde(default)]
    pub deleted: bool,
    /// When it was created (Unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
    /// Live or test mode.
    #[serde(default)]
    pub livemode: bool,
}

impl Customer {
    /// The vault user id from the metadata, when it parses.
    pub fn user_id(&self) -> Option<UserId> {
        self.metadata
            .get(METADATA_USER_ID)
            .and_then(|s| UserId::parse(s).ok())
    }
}

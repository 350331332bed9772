//! The registry of known system settings and their typed values. A key the
//! registry does not know is refused, and a value of the wrong type for its
//! key is refused, so a typo never becomes a silent new setting. A secret
//! (a provider key) is stored but never shown: its `Debug` is redacted and
//! listings show that it is set, not what it is.

use std::fmt;

use rust_decimal::Decimal;

use crate::value::money::{Currency, Money};
use crate::value::validation::{Reason, ValidationError, check_text};

/// The type a setting's values have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingKind {
    /// Free text, up to 2000 characters.
    Text,
    /// A decimal number (a tax rate in percent, say).
    Number,
    /// On or off.
    Flag,
    /// An amount with its currency.
    Amount,
    /// A currency.
    Currency,
    /// A JSON document, up to 16 KiB.
    Json,
    /// Text that is never shown (a provider key).
    Secret,
}

/// A known setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SettingKey {
    name: &'static str,
    kind: SettingKind,
}

impl SettingKey {
    /// The key's name (`seller.name`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The type of its values.
    pub fn kind(&self) -> SettingKind {
        self.kind
    }

    /// The registered key called `name`; `Unknown` otherwise.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        REGISTRY
            .iter()
            .copied()
            .find(|k| k.name == name)
            .ok_or_else(|| {
                ValidationError::new(
                    "setting",
                    Reason::Unknown {
                        allowed: "a key of the settings registry",
                    },
                )
            })
    }
}

const fn key(name: &'static str, kind: SettingKind) -> SettingKey {
    SettingKey { name, kind }
}

/// Every setting the vault knows, with its type.
pub const REGISTRY: &[SettingKey] = &[
    key("seller.name", SettingKind::Text),
    key("seller.address", SettingKind::Text),
    key("seller.tax_id", SettingKind::Text),
    key("invoice.series_prefix", SettingKind::Text),
    key("tax.default_rate_percent", SettingKind::Number),
    key("catalog.default_currency", SettingKind::Currency),
    key("catalog.minimum_price", SettingKind::Amount),
    key("reviews.require_purchase", SettingKind::Flag),
    key("storefront.announcement", SettingKind::Json),
    // The plans a shop sells (crate::commerce::plan), read by anyone.
    key("membership.plans", SettingKind::Json),
    key("stripe.secret_key", SettingKind::Secret),
    key("stripe.webhook_secret", SettingKind::Secret),
];

/// A setting's value.
#[derive(Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// Text.
    Text(String),
    /// A number.
    Number(Decimal),
    /// A flag.
    Flag(bool),
    /// An amount.
    Amount(Money),
    /// A currency.
    Currency(Currency),
    /// A JSON document.
    Json(serde_json::Value),
    /// A secret; shown nowhere.
    Secret(String),
}

impl SettingValue {
    fn kind(&self) -> SettingKind {
        match self {
            Self::Text(_) => SettingKind::Text,
            Self::Number(_) => SettingKind::Number,
            Self::Flag(_) => SettingKind::Flag,
            Self::Amount(_) => SettingKind::Amount,
            Self::Currency(_) => SettingKind::Currency,
            Self::Json(_) => SettingKind::Json,
            Self::Secret(_) => SettingKind::Secret,
        }
    }

    /// What a listing shows: the value, or for a secret only that it is set.
    pub fn shown(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Number(n) => n.to_string(),
            Self::Flag(b) => b.to_string(),
            Self::Amount(m) => m.to_string(),
            Self::Currency(c) => c.to_string(),
            Self::Json(j) => j.to_string(),
            Self::Secret(_) => "(set)".into(),
        }
    }
}

impl fmt::Debug for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(<redacted>)"),
            other => write!(f, "{:?}({})", other.kind(), other.shown()),
        }
    }
}

/// A setting: a registered key and a value of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    key: SettingKey,
    value: SettingValue,
}

impl Setting {
    /// Checks `value` against `key`'s type and limits.
    pub fn new(key: SettingKey, value: SettingValue) -> Result<Self, ValidationError> {
        if value.kind() != key.kind {
            return Err(ValidationError::new(
                "value",
                Reason::Inconsistent {
                    detail: format!("{} takes a {:?} value", key.name, key.kind),
                },
            ));
        }
        match &value {
            SettingValue::Text(t) => check_text("value", t, false, 2000)?,
            SettingValue::Secret(s) => check_text("value", s, true, 2000)?,
            SettingValue::Json(j) if j.to_string().len() > 16 * 1024 => {
                return Err(ValidationError::new(
                    "value",
                    Reason::TooLong { max: 16 * 1024 },
                ));
            }
            _ => {}
        }
        Ok(Self { key, value })
    }

    /// The key.
    pub fn key(&self) -> SettingKey {
        self.key
    }

    /// The value.
    pub fn value(&self) -> &SettingValue {
        &self.value
    }

    /// The value as the stores keep it: text in the key's type's format
    /// (a secret is stored as given; the app encrypts the database or its
    /// disk if it must be encrypted at rest).
    pub fn stored(&self) -> String {
        match &self.value {
            SettingValue::Text(t) | SettingValue::Secret(t) => t.clone(),
            SettingValue::Number(n) => n.to_string(),
            SettingValue::Flag(b) => b.to_string(),
            SettingValue::Amount(m) => serde_json::to_string(m).unwrap_or_default(),
            SettingValue::Currency(c) => c.to_string(),
            SettingValue::Json(j) => j.to_string(),
        }
    }

    /// Reads back what [`Setting::stored`] wrote under `name`, checked as
    /// [`Setting::new`] checks.
    pub fn from_stored(name: &str, text: &str) -> Result<Self, ValidationError> {
        let key = SettingKey::parse(name)?;
        let bad = || {
            ValidationError::new(
                "value",
                Reason::Format {
                    expected: "a value of the setting's type",
                },
            )
        };
        let value = match key.kind {
            SettingKind::Text => SettingValue::Text(text.to_owned()),
            SettingKind::Secret => SettingValue::Secret(text.to_owned()),
            SettingKind::Number => {
                SettingValue::Number(text.parse::<Decimal>().map_err(|_| bad())?)
            }
            SettingKind::Flag => SettingValue::Flag(text.parse::<bool>().map_err(|_| bad())?),
            SettingKind::Amount => {
                SettingValue::Amount(serde_json::from_str(text).map_err(|_| bad())?)
            }
            SettingKind::Currency => SettingValue::Currency(Currency::parse(text)?),
            SettingKind::Json => SettingValue::Json(serde_json::from_str(text).map_err(|_| bad())?),
        };
        Setting::new(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_names_each_key_once() {
        for (i, k) in REGISTRY.iter().enumerate() {
            assert!(
                REGISTRY[i + 1..].iter().all(|o| o.name != k.name),
                "{}",
                k.name
            );
            assert_eq!(SettingKey::parse(k.name).expect("registered"), *k);
        }
        assert_eq!(
            SettingKey::parse("seller.nmae").expect_err("typo").field(),
            "setting"
        );
    }

    #[test]
    fn a_value_must_have_its_keys_type() {
        let rate = SettingKey::parse("tax.default_rate_percent").expect("key");
        assert!(Setting::new(rate, SettingValue::Number(Decimal::new(19, 0))).is_ok());
        let err = Setting::new(rate, SettingValue::Text("19".into())).expect_err("text");
        assert_eq!(err.field(), "value");
        let name = SettingKey::parse("seller.name").expect("key");
        assert!(Setting::new(name, SettingValue::Text("x".repeat(2001))).is_err());
        let json = SettingKey::parse("storefront.announcement").expect("key");
        let big = serde_json::json!({ "text": "x".repeat(17 * 1024) });
        assert!(Setting::new(json, SettingValue::Json(big)).is_err());
    }

    #[test]
    fn every_kind_reads_back_as_stored() {
        let values = [
            ("seller.name", SettingValue::Text("Vault GmbH".into())),
            (
                "tax.default_rate_percent",
                SettingValue::Number(Decimal::new(1950, 2)),
            ),
            ("reviews.require_purchase", SettingValue::Flag(true)),
            (
                "catalog.minimum_price",
                SettingValue::Amount(Money::from_minor(499, Currency::EUR)),
            ),
            (
                "catalog.default_currency",
                SettingValue::Currency(Currency::EUR),
            ),
            (
                "storefront.announcement",
                SettingValue::Json(serde_json::json!({"text": "hi", "n": 1})),
            ),
            (
                "stripe.secret_key",
                SettingValue::Secret("sk_test_1".into()),
            ),
        ];
        for (name, value) in values {
            let s = Setting::new(SettingKey::parse(name).expect("key"), value).expect("valid");
            assert_eq!(Setting::from_stored(name, &s.stored()).expect(name), s);
        }
        assert_eq!(
            Setting::from_stored("reviews.require_purchase", "yes")
                .expect_err("not a flag")
                .field(),
            "value"
        );
        assert_eq!(
            Setting::from_stored("nope", "1")
                .expect_err("unknown")
                .field(),
            "setting"
        );
    }

    #[test]
    fn a_secret_is_stored_but_never_shown() {
        let key = SettingKey::parse("stripe.secret_key").expect("key");
        let s = Setting::new(key, SettingValue::Secret("sk_live_abc123".into())).expect("set");
        let shown = format!("{s:?} {}", s.value().shown());
        assert!(!shown.contains("sk_live"), "{shown}");
        assert!(matches!(s.value(), SettingValue::Secret(v) if v == "sk_live_abc123"));
        assert_eq!(
            Setting::new(key, SettingValue::Secret(String::new()))
                .expect_err("empty")
                .field(),
            "value"
        );
    }
}

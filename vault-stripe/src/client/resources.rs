//! Shared pieces of the response types.

use serde::{Deserialize, Deserializer};

/// Reads an expandable reference as its id: Stripe sends `"cus_123"`, or the
/// whole object (`{"id": "cus_123", …}`) when expanded, or `null`.
pub(crate) fn expandable_id<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ref {
        Id(String),
        Object { id: String },
    }
    Ok(Option::<Ref>::deserialize(d)?.map(|r| match r {
        Ref::Id(id) | Ref::Object { id } => id,
    }))
}

/// Reads `null` as the type's default (Stripe sends `null` for some empty
/// fields that are objects elsewhere).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

//! What the payment provider calls things: its ids for customers, sessions,
//! payments, subscriptions and prices, and where its events stand in time.
//! Purchases and memberships carry these; the rules that follow the
//! provider's events ([`crate::commerce::refund`],
//! [`crate::commerce::subscription`]) order events by them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError, check_text};

/// The stamps a membership keeps of the events it follows (see the module
/// docs). Empty for a membership no provider event has touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSync {
    /// The event the status came from.
    pub status: Option<EventStamp>,
    /// The snapshot the terms came from.
    pub terms: Option<EventStamp>,
}

impl ProviderSync {
    /// True when no event has been followed yet.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.terms.is_none()
    }
}

/// Where an event stands among the events about one subscription. Ordered
/// by `created`, then `rank`, then `event_id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "StampRepr")]
pub struct EventStamp {
    created: DateTime<Utc>,
    rank: u8,
    event_id: String,
}

#[derive(Deserialize)]
struct StampRepr {
    created: DateTime<Utc>,
    rank: u8,
    event_id: String,
}

impl TryFrom<StampRepr> for EventStamp {
    type Error = ValidationError;
    fn try_from(r: StampRepr) -> Result<Self, Self::Error> {
        EventStamp::new(r.created, r.rank, &r.event_id)
    }
}

impl EventStamp {
    /// A stamp: the provider's creation instant, the rank of the event's kind
    /// among events created in the same second (higher ranks happened
    /// later), and the provider's event id (1-255 printable characters).
    pub fn new(created: DateTime<Utc>, rank: u8, event_id: &str) -> Result<Self, ValidationError> {
        check_text("event_id", event_id, true, 255)?;
        Ok(Self {
            created,
            rank,
            event_id: event_id.to_owned(),
        })
    }

    /// When the provider created the event.
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }

    /// The provider's event id.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }
}

/// Ids at the payment provider (Stripe), all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRefs {
    /// Customer (`cus_…`).
    pub customer_id: Option<String>,
    /// Checkout Session (`cs_…`).
    pub checkout_session_id: Option<String>,
    /// PaymentIntent (`pi_…`).
    pub payment_intent_id: Option<String>,
    /// Subscription (`sub_…`), for memberships.
    pub subscription_id: Option<String>,
    /// Price (`price_…`), for memberships.
    pub price_id: Option<String>,
}

impl ProviderRefs {
    /// Each id present is 1-255 printable characters without whitespace,
    /// as the provider's ids are; the error names the field
    /// (`provider.customer_id`, ...).
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, id) in [
            ("provider.customer_id", &self.customer_id),
            ("provider.checkout_session_id", &self.checkout_session_id),
            ("provider.payment_intent_id", &self.payment_intent_id),
            ("provider.subscription_id", &self.subscription_id),
            ("provider.price_id", &self.price_id),
        ] {
            if let Some(id) = id {
                Self::check_id(field, id)?;
            }
        }
        Ok(())
    }

    /// Checks one provider id as [`ProviderRefs::validate`] does: 1-255
    /// characters, no control characters (NUL included), no whitespace. A
    /// lookup by an id it refuses can match nothing stored.
    pub fn check_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
        check_text(field, id, true, 255)?;
        if id.chars().any(char::is_whitespace) {
            return Err(ValidationError::new(
                field,
                Reason::Format {
                    expected: "an id without whitespace",
                },
            ));
        }
        Ok(())
    }
}

//! Stripe events, parsed into the typed shapes the vault acts on.
//!
//! Parsing reads only the fields the vault needs and tolerates everything
//! else, including the moves between API versions (a subscription's period
//! lives on the subscription before 2025-03-31 and on its items after; an
//! invoice names its subscription directly or under
//! `parent.subscription_details`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Why a payload is not a usable event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable event payload: {0}")]
pub struct ParseError(pub String);

fn err(what: impl Into<String>) -> ParseError {
    ParseError(what.into())
}

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        // Expanded objects carry their id.
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn i(v: &Value, key: &str) -> Option<i64> {
    v.get(key)?.as_i64()
}

fn ts(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i(v, key)?, 0)
}

fn metadata(v: &Value) -> BTreeMap<String, String> {
    v.get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// `payment` or `subscription`.
    pub mode: String,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    /// What the session was created for (the vault purchase id).
    pub client_reference_id: Option<String>,
    /// The customer.
    pub customer: Option<String>,
    /// The PaymentIntent, in payment mode.
    pub payment_intent: Option<String>,
    /// The subscription, in subscription mode.
    pub subscription: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// Metadata (the vault purchase id).
    pub metadata: BTreeMap<String, String>,
}

/// A Charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Its PaymentIntent.
    pub payment_intent: Option<String>,
    /// Refunded so far, in minor units (cumulative).
    pub amount_refunded: i64,
    /// Lowercase currency code.
    pub currency: String,
}

/// A Dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// `dp_…`.
    pub id: String,
    /// The disputed charge.
    pub charge: Option<String>,
    /// Its PaymentIntent.
    pub payment_intent: Option<String>,
    /// `won`, `lost`, `warning_closed`, `needs_response`….
    pub status: String,
}

/// A Subscription's status, as Stripe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// In a trial.
    Trialing,
    /// Paid and current.
    Active,
    /// A renewal payment failed; Stripe is retrying.
    PastDue,
    /// Retries exhausted; invoices stay open.
    Unpaid,
    /// Ended.
    Canceled,
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded.
    IncompleteExpired,
    /// Paused (a trial ended without a payment method).
    Paused,
}

impl SubscriptionStatus {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "unpaid" => Self::Unpaid,
            "canceled" => Self::Canceled,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "paused" => Self::Paused,
            _ => return None,
        })
    }
}

/// A Subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// The customer.
    pub customer: Option<String>,
    /// Status.
    pub status: SubscriptionStatus,
    /// Current period, when known.
    pub current_period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Ends at period end.
    pub cancel_at_period_end: bool,
    /// When the trial ends (or ended), if there is one.
    pub trial_end: Option<DateTime<Utc>>,
    /// The first item's price id.
    pub price_id: Option<String>,
    /// Metadata (`vault_user_id`, `vault_tier`).
    pub metadata: BTreeMap<String, String>,
}

/// An Invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// `in_…`.
    pub id: String,
    /// The subscription it bills, if any.
    pub subscription: Option<String>,
    /// The service period of its first line.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// What was paid, in minor units (`None` when the payload omits it).
    pub amount_paid: Option<i64>,
}

/// What an event is about, for the events the vault acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `checkout.session.completed`.
    CheckoutCompleted(CheckoutSession),
    /// `checkout.session.expired`.
    CheckoutExpired(CheckoutSession),
    /// `checkout.session.async_payment_succeeded`.
    CheckoutAsyncSucceeded(CheckoutSession),
    /// `checkout.session.async_payment_failed`.
    CheckoutAsyncFailed(CheckoutSession),
    /// `payment_intent.succeeded`.
    PaymentSucceeded(PaymentIntent),
    /// `payment_intent.payment_failed`.
    PaymentFailed(PaymentIntent),
    /// `charge.refunded`.
    ChargeRefunded(Charge),
    /// `charge.dispute.created`.
    DisputeCreated(Dispute),
    /// `charge.dispute.closed`.
    DisputeClosed(Dispute),
    /// `customer.subscription.created`.
    SubscriptionCreated(Subscription),
    /// `customer.subscription.updated`.
    SubscriptionUpdated(Subscription),
    /// `customer.subscription.deleted`.
    SubscriptionDeleted(Subscription),
    /// `customer.subscription.trial_will_end`.
    TrialWillEnd(Subscription),
    /// `invoice.paid`.
    InvoicePaid(Invoice),
    /// `invoice.payment_failed`.
    InvoicePaymentFailed(Invoice),
    /// Anything else: recorded and acknowledged.
    Other,
}

/// A parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// The type string.
    pub event_type: String,
    /// When Stripe created it.
    pub created: DateTime<Utc>,
    /// Live or test mode.
    pub livemode: bool,
    /// The typed payload.
    pub kind: EventKind,
}

impl Event {
    /// Parses a webhook body (after its signature was verified).
    pub fn parse(payload: &[u8]) -> Result<Self, ParseError> {
        let v: Value =
            serde_json::from_slice(payload).map_err(|e| err(format!("not JSON: {e}")))?;
        let id = s(&v, "id").ok_or_else(|| err("no id"))?;
        let event_type = s(&v, "type").ok_or_else(|| err("no type"))?;
        let created = ts(&v, "created").ok_or_else(|| err("no created"))?;
        let livemode = v.get("livemode").and_then(Value::as_bool).unwrap_or(false);
        let object = v
            .get("data")
            .and_then(|d| d.get("object"))
            .ok_or_else(|| err("no data.object"))?;
        let kind = match event_type.as_str() {
            "checkout.session.completed" => EventKind::CheckoutCompleted(session(object)?),
            "checkout.session.expired" => EventKind::CheckoutExpired(session(object)?),
            "checkout.session.async_payment_succeeded" => {
                EventKind::CheckoutAsyncSucceeded(session(object)?)
            }
            "checkout.session.async_payment_failed" => {
                EventKind::CheckoutAsyncFailed(session(object)?)
            }
            "payment_intent.succeeded" => EventKind::PaymentSucceeded(intent(object)?),
            "payment_intent.payment_failed" => EventKind::PaymentFailed(intent(object)?),
            "charge.refunded" => EventKind::ChargeRefunded(charge(object)?),
            "charge.dispute.created" => EventKind::DisputeCreated(dispute(object)?),
            "charge.dispute.closed" => EventKind::DisputeClosed(dispute(object)?),
            "customer.subscription.created" => {
                EventKind::SubscriptionCreated(subscription(object)?)
            }
            "customer.subscription.updated" => {
                EventKind::SubscriptionUpdated(subscription(object)?)
            }
            "customer.subscription.deleted" => {
                EventKind::SubscriptionDeleted(subscription(object)?)
            }
            "customer.subscription.trial_will_end" => {
                EventKind::TrialWillEnd(subscription(object)?)
            }
            "invoice.paid" => EventKind::InvoicePaid(invoice(object)?),
            "invoice.payment_failed" => EventKind::InvoicePaymentFailed(invoice(object)?),
            _ => EventKind::Other,
        };
        Ok(Self {
            id,
            event_type,
            created,
            livemode,
            kind,
        })
    }

    /// Where the event's kind stands among the events Stripe creates in one
    /// second about one subscription (its `created` has one-second
    /// resolution): the subscription's creation first, then its invoices,
    /// then its updates (which report what the invoices did), its deletion
    /// last. Other kinds rank 0.
    pub fn rank(&self) -> u8 {
        match &self.kind {
            EventKind::SubscriptionCreated(_) => 0,
            EventKind::InvoicePaid(_) | EventKind::InvoicePaymentFailed(_) => 1,
            EventKind::SubscriptionUpdated(_) | EventKind::TrialWillEnd(_) => 2,
            EventKind::SubscriptionDeleted(_) => 3,
            _ => 0,
        }
    }

    /// The object the event carries, for operators: the
    /// subscription for subscription and invoice events, the dispute, the
    /// charge, the session or the PaymentIntent otherwise.
    pub fn object_id(&self) -> Option<String> {
        match &self.kind {
            EventKind::CheckoutCompleted(c)
            | EventKind::CheckoutExpired(c)
            | EventKind::CheckoutAsyncSucceeded(c)
            | EventKind::CheckoutAsyncFailed(c) => Some(c.id.clone()),
            EventKind::PaymentSucceeded(p) | EventKind::PaymentFailed(p) => Some(p.id.clone()),
            EventKind::ChargeRefunded(c) => Some(c.id.clone()),
            EventKind::DisputeCreated(d) | EventKind::DisputeClosed(d) => Some(d.id.clone()),
            EventKind::SubscriptionCreated(s)
            | EventKind::SubscriptionUpdated(s)
            | EventKind::SubscriptionDeleted(s)
            | EventKind::TrialWillEnd(s) => Some(s.id.clone()),
            EventKind::InvoicePaid(i) | EventKind::InvoicePaymentFailed(i) => {
                i.subscription.clone().or_else(|| Some(i.id.clone()))
            }
            EventKind::Other => None,
        }
    }
}

fn session(o: &Value) -> Result<CheckoutSession, ParseError> {
    Ok(CheckoutSession {
        id: s(o, "id").ok_or_else(|| err("session without id"))?,
        mode: s(o, "mode").unwrap_or_default(),
        payment_status: s(o, "payment_status").unwrap_or_default(),
        client_reference_id: s(o, "client_reference_id"),
        customer: s(o, "customer"),
        payment_intent: s(o, "payment_intent"),
        subscription: s(o, "subscription"),
        metadata: metadata(o),
    })
}

fn intent(o: &Value) -> Result<PaymentIntent, ParseError> {
    Ok(PaymentIntent {
        id: s(o, "id").ok_or_else(|| err("payment intent without id"))?,
        metadata: metadata(o),
    })
}

fn charge(o: &Value) -> Result<Charge, ParseError> {
    Ok(Charge {
        id: s(o, "id").ok_or_else(|| err("charge without id"))?,
        payment_intent: s(o, "payment_intent"),
        amount_refunded: i(o, "amount_refunded")
            .ok_or_else(|| err("charge without amount_refunded"))?,
        currency: s(o, "currency").ok_or_else(|| err("charge without currency"))?,
    })
}

fn dispute(o: &Value) -> Result<Dispute, ParseError> {
    Ok(Dispute {
        id: s(o, "id").ok_or_else(|| err("dispute without id"))?,
        charge: s(o, "charge"),
        payment_intent: s(o, "payment_intent"),
        status: s(o, "status").unwrap_or_default(),
    })
}

fn period(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some((start?, end?))
}

fn subscription(o: &Value) -> Result<Subscription, ParseError> {
    let first_item = o
        .get("items")
        .and_then(|i| i.get("data"))
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let current_period = period(ts(o, "current_period_start"), ts(o, "current_period_end"))
        .or_else(|| {
            first_item
                .and_then(|it| period(ts(it, "current_period_start"), ts(it, "current_period_end")))
        });
    let status = s(o, "status").ok_or_else(|| err("subscription without status"))?;
    Ok(Subscription {
        id: s(o, "id").ok_or_else(|| err("subscription without id"))?,
        customer: s(o, "customer"),
        status: SubscriptionStatus::parse(&status)
            .ok_or_else(|| err(format!("unknown subscription status {status}")))?,
        current_period,
        cancel_at_period_end: o
            .get("cancel_at_period_end")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        trial_end: ts(o, "trial_end"),
        price_id: first_item
            .and_then(|it| it.get("price"))
            .and_then(|p| s(p, "id")),
        metadata: metadata(o),
    })
}

fn invoice(o: &Value) -> Result<Invoice, ParseError> {
    let subscription = s(o, "subscription").or_else(|| {
        o.get("parent")
            .and_then(|p| p.get("subscription_details"))
            .and_then(|d| s(d, "subscription"))
    });
    let line_period = o
        .get("lines")
        .and_then(|l| l.get("data"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|line| line.get("period"))
        .and_then(|p| period(ts(p, "start"), ts(p, "end")));
    Ok(Invoice {
        id: s(o, "id").ok_or_else(|| err("invoice without id"))?,
        subscription,
        period: line_period,
        amount_paid: i(o, "amount_paid"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subscription_with_period_on_items() {
        let body = br#"{"id":"evt_1","type":"customer.subscription.updated","created":1700000000,"livemode":false,
          "data":{"object":{"id":"sub_1","object":"subscription","status":"past_due","customer":"cus_1",
          "cancel_at_period_end":true,"metadata":{"vault_user_id":"u1","vault_tier":"pro"},
          "items":{"data":[{"price":{"id":"price_pro"},"current_period_start":1700000000,"current_period_end":1702592000}]}}}}"#;
        let e = Event::parse(body).expect("parses");
        let EventKind::SubscriptionUpdated(s) = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(s.status, SubscriptionStatus::PastDue);
        assert!(s.cancel_at_period_end);
        assert_eq!(s.price_id.as_deref(), Some("price_pro"));
        assert_eq!(
            s.metadata.get("vault_tier").map(String::as_str),
            Some("pro")
        );
        assert!(s.current_period.is_some());
        assert_eq!(e.object_id().as_deref(), Some("sub_1"));
    }

    #[test]
    fn parses_invoice_subscription_in_both_shapes() {
        for body in [
            br#"{"id":"evt_2","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","subscription":"sub_9","lines":{"data":[{"period":{"start":10,"end":20}}]}}}}"#.as_slice(),
            br#"{"id":"evt_2","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","parent":{"subscription_details":{"subscription":"sub_9"}},"lines":{"data":[{"period":{"start":10,"end":20}}]}}}}"#.as_slice(),
        ] {
            let e = Event::parse(body).expect("parses");
            let EventKind::InvoicePaid(i) = &e.kind else { panic!() };
            assert_eq!(i.subscription.as_deref(), Some("sub_9"));
            assert_eq!(e.object_id().as_deref(), Some("sub_9"));
        }
    }

    #[test]
    fn unknown_events_are_other_and_bad_payloads_are_errors() {
        let e = Event::parse(
            br#"{"id":"evt_3","type":"product.created","created":1,"data":{"object":{}}}"#,
        )
        .expect("ok");
        assert_eq!(e.kind, EventKind::Other);
        assert!(Event::parse(b"not json").is_err());
        assert!(Event::parse(br#"{"type":"x","created":1,"data":{"object":{}}}"#).is_err());
        assert!(
            Event::parse(
                br#"{"id":"e","type":"charge.refunded","created":1,"data":{"object":{"id":"ch"}}}"#
            )
            .is_err()
        );
    }
}

//! The JSON Stripe sends, in the shapes vault-stripe reads (`event.rs`):
//! events around Checkout Sessions, PaymentIntents, Charges,
//! Subscriptions (period on the items, as API versions since 2025-03-31
//! put it) and Invoices (subscription under `parent.subscription_details`).

use serde_json::{Value, json};
use vault_stripe::client::STRIPE_API_VERSION;

use super::{Mode, Payment, Session, Status, Sub, fake_id};

/// An event of `kind` about `object`, created at `now`.
pub(super) fn event(kind: &str, object: Value, now: i64) -> Value {
    json!({
        "id": fake_id("evt_"),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": now,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
        "data": {"object": object},
    })
}

/// A Checkout Session.
pub(super) fn session(s: &Session, public_url: &str) -> Value {
    let (mode, payment_status) = match (s.mode, s.status) {
        (Mode::Payment, Status::Complete) => ("payment", "paid"),
        (Mode::Payment, _) => ("payment", "unpaid"),
        (Mode::Subscription, Status::Complete) if s.trial_days.is_some() => {
            ("subscription", "no_payment_required")
        }
        (Mode::Subscription, Status::Complete) => ("subscription", "paid"),
        (Mode::Subscription, _) => ("subscription", "unpaid"),
    };
    let status = match s.status {
        Status::Open => "open",
        Status::Complete => "complete",
        Status::Expired => "expired",
    };
    json!({
        "id": s.id,
        "object": "checkout.session",
        "url": (s.status == Status::Open).then(|| format!("{public_url}/fake-stripe/checkout/{}", s.id)),
        "status": status,
        "mode": mode,
        "payment_status": payment_status,
        "client_reference_id": s.client_reference_id,
        "customer": s.customer,
        "customer_email": s.customer_email,
        "payment_intent": s.payment_intent,
        "subscription": s.subscription,
        "amount_total": s.amount,
        "amount_subtotal": s.amount,
        "currency": s.currency,
        "metadata": s.metadata,
        "success_url": s.success_url,
        "cancel_url": s.cancel_url,
        "created": s.created,
        "expires_at": s.created + 24 * 3600,
        "livemode": false,
    })
}

/// A PaymentIntent (`succeeded` or `requires_payment_method` after a
/// decline).
pub(super) fn payment_intent(p: &Payment, succeeded: bool, now: i64) -> Value {
    json!({
        "id": p.intent,
        "object": "payment_intent",
        "amount": p.amount,
        "amount_received": if succeeded { p.amount } else { 0 },
        "currency": p.currency,
        "status": if succeeded { "succeeded" } else { "requires_payment_method" },
        "latest_charge": p.charge,
        "metadata": p.metadata,
        "last_payment_error": if succeeded { Value::Null } else {
            json!({"code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."})
        },
        "created": now,
        "livemode": false,
    })
}

/// A Charge, with what has been refunded of it so far.
pub(super) fn charge(p: &Payment, now: i64) -> Value {
    json!({
        "id": p.charge,
        "object": "charge",
        "amount": p.amount,
        "amount_captured": p.amount,
        "amount_refunded": p.refunded,
        "currency": p.currency,
        "payment_intent": p.intent,
        "paid": true,
        "captured": true,
        "refunded": p.refunded >= p.amount,
        "status": "succeeded",
        "metadata": p.metadata,
        "created": now,
        "livemode": false,
    })
}

/// A Refund.
pub(super) fn refund(id: &str, p: &Payment, amount: i64, reason: Option<&str>, now: i64) -> Value {
    json!({
        "id": id,
        "object": "refund",
        "amount": amount,
        "currency": p.currency,
        "charge": p.charge,
        "payment_intent": p.intent,
        "reason": reason,
        "status": "succeeded",
        "metadata": {},
        "created": now,
    })
}

/// A Subscription.
pub(super) fn subscription(s: &Sub) -> Value {
    json!({
        "id": s.id,
        "object": "subscription",
        "customer": s.customer,
        "status": s.status,
        "cancel_at_period_end": s.cancel_at_period_end,
        "cancel_at": s.cancel_at_period_end.then_some(s.period.1),
        "canceled_at": s.canceled_at,
        "ended_at": s.ended_at,
        "trial_start": s.trial.map(|t| t.0),
        "trial_end": s.trial.map(|t| t.1),
        "created": s.created,
        "start_date": s.created,
        "metadata": s.metadata,
        "items": {
            "object": "list",
            "data": [{
                "id": s.item,
                "object": "subscription_item",
                "quantity": 1,
                "price": {
                    "id": s.price_id,
                    "object": "price",
                    "unit_amount": s.amount,
                    "currency": s.currency,
                    "recurring": {"interval": s.interval, "interval_count": 1},
                },
                "current_period_start": s.period.0,
                "current_period_end": s.period.1,
            }],
        },
        "livemode": false,
    })
}

/// The paid Invoice that opens a subscription (nothing to pay in a trial).
pub(super) fn first_invoice(s: &Sub, now: i64) -> Value {
    let paid = if s.trial.is_some() { 0 } else { s.amount };
    invoice(s, "subscription_create", paid, true, now)
}

/// An Invoice of `s` for its current period: `paid`, or left open after
/// the card was declined.
pub(super) fn invoice(s: &Sub, reason: &str, amount: i64, paid: bool, now: i64) -> Value {
    json!({
        "id": fake_id("in_"),
        "object": "invoice",
        "customer": s.customer,
        "status": if paid { "paid" } else { "open" },
        "billing_reason": reason,
        "amount_due": amount,
        "amount_paid": if paid { amount } else { 0 },
        "currency": s.currency,
        "attempt_count": 1,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": s.id, "metadata": s.metadata},
        },
        "lines": {
            "object": "list",
            "data": [{
                "id": fake_id("il_"),
                "object": "line_item",
                "amount": amount,
                "currency": s.currency,
                "period": {"start": s.period.0, "end": s.period.1},
            }],
        },
        "created": now,
        "livemode": false,
    })
}

//! The fake's API: what vault-stripe's client calls, answered as Stripe
//! answers (the objects, or `{"error": {...}}` with Stripe's statuses).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vault_core::Actor;
use vault_stripe::client::form::Form;

use super::super::AppState;
use super::{FakeStripe, Mode, Payment, Session, Status, fake_id, objects};

/// A refused API call, answered with Stripe's error body.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    param: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "type": "invalid_request_error",
            "message": self.message,
            "param": self.param,
        }});
        (self.status, Json(body)).into_response()
    }
}

/// An [`ApiError`].
pub(super) fn stripe_error(status: StatusCode, message: &str, param: Option<&str>) -> ApiError {
    ApiError {
        status,
        message: message.to_owned(),
        param: param.map(str::to_owned),
    }
}

/// The fake in use, or 404 as for any other unknown path.
pub(super) fn fake(app: &AppState) -> Result<&FakeStripe, ApiError> {
    app.shop
        .fake
        .as_ref()
        .ok_or_else(|| stripe_error(StatusCode::NOT_FOUND, "Unrecognized request URL", None))
}

/// The bearer key must be the fake's, compared in constant time.
fn authorize(fake: &FakeStripe, headers: &HeaderMap) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq;
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(fake.api_key.as_bytes())) {
        Ok(())
    } else {
        Err(stripe_error(
            StatusCode::UNAUTHORIZED,
            "Invalid API Key provided",
            None,
        ))
    }
}

/// Runs `call` once per `Idempotency-Key`: a repeated key gets the first
/// answer back, as Stripe does for 24 hours.
async fn once<F>(
    fake: &FakeStripe,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
    call: F,
) -> Response
where
    F: Future<Output = Result<(Value, Vec<Value>), ApiError>>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(k) = &key
        && let Some((status, body)) = fake.state().idempotent.get(k).cloned()
    {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        return (status, [("idempotent-replayed", "true")], Json(body)).into_response();
    }
    match call.await {
        Ok((body, events)) => {
            if let Some(k) = key {
                let mut st = fake.state();
                // Stripe forgets keys after a day; the fake, past a bound.
                if st.idempotent.len() >= super::KEYS {
                    st.idempotent.clear();
                }
                st.idempotent.insert(k, (200, body.clone()));
            }
            // Stripe sends the events on their own; the fake sends them
            // before answering, so the caller sees their effect at once.
            fake.deliver(events, now).await;
            Json(body).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn decode(body: &Bytes) -> Result<Form, ApiError> {
    std::str::from_utf8(body)
        .map(Form::decode)
        .map_err(|_| stripe_error(StatusCode::BAD_REQUEST, "Invalid request body", None))
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, ApiError> {
    form.get(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            stripe_error(
                StatusCode::BAD_REQUEST,
                &format!("Missing required param: {key}."),
                Some(key),
            )
        })
}

/// The `prefix[key]` entries of a form.
fn nested(form: &Form, prefix: &str) -> BTreeMap<String, String> {
    form.pairs()
        .iter()
        .filter_map(|(k, v)| {
            let key = k
                .strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')?;
            (!key.contains(['[', ']'])).then(|| (key.to_owned(), v.clone()))
        })
        .collect()
}

/// `POST /fake-stripe/v1/checkout/sessions`.
pub(super) async fn create_session(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fake = match fake(&app) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = authorize(fake, &headers) {
        return r.into_response();
    }
    once(fake, &headers, app.clock.now(), async {
        let form = decode(&body)?;
        let mode = match required(&form, "mode")? {
            "payment" => Mode::Payment,
            "subscription" => Mode::Subscription,
            other => {
                return Err(stripe_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid mode: {other}"),
                    Some("mode"),
                ));
            }
        };
        let mut s = Session {
            id: fake_id("cs_test_"),
            mode,
            status: Status::Open,
            name: String::new(),
            amount: 0,
            currency: String::new(),
            interval: None,
            client_reference_id: form.get("client_reference_id").map(str::to_owned),
            customer_email: form.get("customer_email").map(str::to_owned),
            customer: form.get("customer").map(str::to_owned),
            metadata: nested(&form, "metadata"),
            intent_metadata: nested(&form, "payment_intent_data[metadata]"),
            subscription_metadata: nested(&form, "subscription_data[metadata]"),
            price_id: None,
            trial_days: None,
            success_url: required(&form, "success_url")?.to_owned(),
            cancel_url: required(&form, "cancel_url")?.to_owned(),
            created: app.clock.now().timestamp(),
            payment_intent: None,
            subscription: None,
            declined: false,
        };
        match mode {
            Mode::Payment => {
                s.currency = required(&form, "line_items[0][price_data][currency]")?.to_owned();
                s.name =
                    required(&form, "line_items[0][price_data][product_data][name]")?.to_owned();
                let key = "line_items[0][price_data][unit_amount]";
                s.amount = required(&form, key)?
                    .parse()
                    .ok()
                    .filter(|a: &i64| *a >= 0)
                    .ok_or_else(|| {
                        stripe_error(StatusCode::BAD_REQUEST, "Invalid integer", Some(key))
                    })?;
            }
            Mode::Subscription => {
                // The fake's Prices are the storefront's plans.
                let price = required(&form, "line_items[0][price]")?;
                let plans = app
                    .vault
                    .membership_plans(&Actor::Service)
                    .await
                    .unwrap_or_default();
                let plan = plans.iter().find(|p| p.price_id == price).ok_or_else(|| {
                    stripe_error(
                        StatusCode::BAD_REQUEST,
                        &format!("No such price: '{price}'"),
                        Some("line_items[0][price]"),
                    )
                })?;
                s.price_id = Some(price.to_owned());
                s.name = plan.name.clone();
                s.amount = plan.price.to_minor().unwrap_or(0);
                s.currency = plan.price.currency().code().to_ascii_lowercase();
                s.interval = Some((plan.interval.as_str().to_owned(), plan.interval.months()));
                let key = "subscription_data[trial_period_days]";
                s.trial_days = match form.get(key) {
                    None => None,
                    Some(d) => Some(d.parse().ok().filter(|d| *d >= 1).ok_or_else(|| {
                        stripe_error(StatusCode::BAD_REQUEST, "Invalid integer", Some(key))
                    })?),
                };
            }
        }
        let json = objects::session(&s, &fake.public_url);
        fake.state().sessions.insert(s.id.clone(), s);
        Ok((json, vec![]))
    })
    .await
}

/// `POST /fake-stripe/v1/refunds`: refunds a paid PaymentIntent (all that
/// is left, or `amount`), then sends `charge.refunded` with the new total.
pub(super) async fn create_refund(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fake = match fake(&app) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = authorize(fake, &headers) {
        return r.into_response();
    }
    let now = app.clock.now().timestamp();
    once(fake, &headers, app.clock.now(), async {
        let form = decode(&body)?;
        let intent = required(&form, "payment_intent")?;
        let mut st = fake.state();
        let Some(p) = st.payments.get_mut(intent) else {
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                &format!("No such payment_intent: '{intent}'"),
                Some("payment_intent"),
            ));
        };
        let left = p.amount - p.refunded;
        let amount = match form.get("amount") {
            None => left,
            Some(a) => a.parse().ok().filter(|a| *a > 0).ok_or_else(|| {
                stripe_error(StatusCode::BAD_REQUEST, "Invalid integer", Some("amount"))
            })?,
        };
        if left == 0 {
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                &format!("Charge {} has already been refunded.", p.charge),
                None,
            ));
        }
        if amount > left {
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                "Refund amount is greater than the unrefunded amount on the charge",
                Some("amount"),
            ));
        }
        p.refunded += amount;
        let refund = objects::refund(&fake_id("re_"), p, amount, form.get("reason"), now);
        let events = vec![objects::event(
            "charge.refunded",
            objects::charge(p, now),
            now,
        )];
        Ok((refund, events))
    })
    .await
}

fn subscription_change(
    fake: &FakeStripe,
    id: &str,
    now: i64,
    change: impl FnOnce(&mut super::Sub) -> Option<(&'static str, Value)>,
) -> Result<(Value, Vec<Value>), ApiError> {
    let mut st = fake.state();
    let Some(sub) = st.subscriptions.get_mut(id) else {
        return Err(stripe_error(
            StatusCode::NOT_FOUND,
            &format!("No such subscription: '{id}'"),
            Some("id"),
        ));
    };
    let event = change(sub);
    let now = if event.is_some() { sub.tick(now) } else { now };
    let mut object = objects::subscription(sub);
    let events = match event {
        Some((kind, previous)) => {
            let mut e = objects::event(kind, object.clone(), now);
            if !previous.is_null() {
                e["data"]["previous_attributes"] = previous;
            }
            vec![e]
        }
        None => vec![],
    };
    // The answer is the subscription as it is now.
    object["object"] = json!("subscription");
    Ok((object, events))
}

/// `POST /fake-stripe/v1/subscriptions/{id}`: the client's cancel at period
/// end (`cancel_at_period_end=true`) or its undoing.
pub(super) async fn update_subscription(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fake = match fake(&app) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = authorize(fake, &headers) {
        return r.into_response();
    }
    let now = app.clock.now().timestamp();
    once(fake, &headers, app.clock.now(), async {
        let form = decode(&body)?;
        let flag = match form.get("cancel_at_period_end") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(stripe_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid boolean",
                    Some("cancel_at_period_end"),
                ));
            }
        };
        subscription_change(fake, &id, now, |sub| {
            let flag = flag?;
            if sub.ended_at.is_some() || sub.cancel_at_period_end == flag {
                return None;
            }
            let before = sub.cancel_at_period_end;
            sub.cancel_at_period_end = flag;
            sub.canceled_at = flag.then_some(now);
            Some((
                "customer.subscription.updated",
                json!({"cancel_at_period_end": before}),
            ))
        })
    })
    .await
}

/// `DELETE /fake-stripe/v1/subscriptions/{id}`: ends it now.
pub(super) async fn delete_subscription(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fake = match fake(&app) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = authorize(fake, &headers) {
        return r.into_response();
    }
    let now = app.clock.now().timestamp();
    once(fake, &headers, app.clock.now(), async {
        subscription_change(fake, &id, now, |sub| {
            if sub.ended_at.is_some() {
                return None;
            }
            sub.status = "canceled";
            sub.canceled_at = Some(now);
            sub.ended_at = Some(now);
            Some(("customer.subscription.deleted", Value::Null))
        })
    })
    .await
}

/// Records a paid PaymentIntent for `s` (its id kept from a declined try).
pub(super) fn paid(s: &mut Session) -> Payment {
    let intent = s
        .payment_intent
        .get_or_insert_with(|| fake_id("pi_test_"))
        .clone();
    Payment {
        intent,
        charge: fake_id("ch_"),
        amount: s.amount,
        currency: s.currency.clone(),
        refunded: 0,
        metadata: s.intent_metadata.clone(),
    }
}

//! The fake's hosted checkout page and its three buttons, and its event
//! log. Each button is a plain form (JavaScript off is fine), checked for
//! the CSRF token like every form of the site.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Months;
use serde::Deserialize;
use vault_core::{Currency, Money};

use super::super::session::{CsrfForm, Visitor};
use super::super::{AppState, Nav, PageError, render};
use super::{FakeStripe, Mode, Session, Status, Sub, fake_id, objects};

pub(super) fn fake(app: &AppState) -> Result<&FakeStripe, PageError> {
    app.shop
        .fake
        .as_ref()
        .ok_or_else(|| PageError::not_found("the fake Stripe is not in use"))
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct NoFields {}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageParams {
    declined: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "fake_stripe_checkout.html")]
struct CheckoutPage {
    nav: Nav,
    id: String,
    name: String,
    amount: String,
    every: Option<String>,
    trial: Option<u32>,
    email: Option<String>,
    open: bool,
    state: &'static str,
    declined: bool,
}

fn shown(s: &Session) -> String {
    Currency::parse(&s.currency.to_ascii_uppercase())
        .map(|c| Money::from_minor(s.amount, c).to_string())
        .unwrap_or_else(|_| format!("{} {}", s.amount, s.currency))
}

fn session(fake: &FakeStripe, id: &str) -> Result<Session, PageError> {
    fake.state()
        .sessions
        .get(id)
        .cloned()
        .ok_or_else(|| PageError::not_found("no such checkout session"))
}

/// `GET /fake-stripe/checkout/{id}`: what is bought, for how much, and the
/// three buttons.
pub(super) async fn checkout(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Html<String>, PageError> {
    let s = session(fake(&app)?, &id)?;
    render(&CheckoutPage {
        nav: Nav::of(&v),
        amount: shown(&s),
        every: s.interval.as_ref().map(|(i, _)| i.clone()),
        trial: s.trial_days,
        email: s.customer_email.clone(),
        open: s.status == Status::Open,
        state: match s.status {
            Status::Open => "open",
            Status::Complete => "paid already",
            Status::Expired => "expired",
        },
        declined: q.declined.is_some() || s.declined,
        name: s.name,
        id: s.id,
    })
}

fn closed() -> PageError {
    PageError {
        status: axum::http::StatusCode::CONFLICT,
        code: "conflict",
        field: None,
        message: "This checkout session is no longer open.".into(),
        retry_after: None,
    }
}

/// `POST /fake-stripe/checkout/{id}/pay`: the payment succeeds. One-time
/// payments send `checkout.session.completed` and
/// `payment_intent.succeeded`; subscriptions send
/// `checkout.session.completed`, `customer.subscription.created`
/// (`trialing` with a trial) and `invoice.paid`. Then the browser goes to
/// the success URL.
pub(super) async fn pay(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let fake = fake(&app)?;
    let now = app.clock.now();
    let t = now.timestamp();
    let (events, success) = {
        let mut st = fake.state();
        let s = st
            .sessions
            .get_mut(&id)
            .ok_or_else(|| PageError::not_found("no such checkout session"))?;
        if s.status != Status::Open {
            return Err(closed());
        }
        s.status = Status::Complete;
        let customer = s.customer.get_or_insert_with(|| fake_id("cus_")).clone();
        let mut events = Vec::new();
        let mut payment = None;
        let mut sub = None;
        match s.mode {
            Mode::Payment => {
                let p = super::api::paid(s);
                events.push(objects::event(
                    "checkout.session.completed",
                    objects::session(s, &fake.public_url),
                    t,
                ));
                events.push(objects::event(
                    "payment_intent.succeeded",
                    objects::payment_intent(&p, true, t),
                    t,
                ));
                payment = Some(p);
            }
            Mode::Subscription => {
                let (interval, months) = s.interval.clone().unwrap_or(("month".into(), 1));
                let trial_end = s.trial_days.map(|d| t + i64::from(d) * 86_400);
                let end = trial_end.unwrap_or_else(|| {
                    now.checked_add_months(Months::new(months))
                        .map_or(t + 30 * 86_400, |e| e.timestamp())
                });
                let new = Sub {
                    id: fake_id("sub_"),
                    customer,
                    status: if trial_end.is_some() {
                        "trialing"
                    } else {
                        "active"
                    },
                    price_id: s.price_id.clone().unwrap_or_default(),
                    amount: s.amount,
                    currency: s.currency.clone(),
                    interval,
                    metadata: s.subscription_metadata.clone(),
                    item: fake_id("si_"),
                    created: t,
                    period: (t, end),
                    trial: trial_end.map(|e| (t, e)),
                    cancel_at_period_end: false,
                    canceled_at: None,
                    ended_at: None,
                    last_event: t,
                };
                s.subscription = Some(new.id.clone());
                events.push(objects::event(
                    "checkout.session.completed",
                    objects::session(s, &fake.public_url),
                    t,
                ));
                events.push(objects::event(
                    "customer.subscription.created",
                    objects::subscription(&new),
                    t,
                ));
                events.push(objects::event(
                    "invoice.paid",
                    objects::first_invoice(&new, t),
                    t,
                ));
                sub = Some(new);
            }
        }
        let success = s.success_url.replace("{CHECKOUT_SESSION_ID}", &s.id);
        if let Some(p) = payment {
            st.payments.insert(p.intent.clone(), p);
        }
        if let Some(sub) = sub {
            st.subscriptions.insert(sub.id.clone(), sub);
        }
        (events, success)
    };
    fake.deliver(events, now).await;
    Ok(Redirect::to(&success).into_response())
}

/// `POST /fake-stripe/checkout/{id}/fail`: the card is declined. A
/// one-time payment sends `payment_intent.payment_failed` (the session
/// stays open, as Stripe's does, and paying later still works); the buyer
/// is shown the decline on the same page.
pub(super) async fn fail(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let fake = fake(&app)?;
    let now = app.clock.now();
    let t = now.timestamp();
    let events = {
        let mut st = fake.state();
        let s = st
            .sessions
            .get_mut(&id)
            .ok_or_else(|| PageError::not_found("no such checkout session"))?;
        if s.status != Status::Open {
            return Err(closed());
        }
        s.declined = true;
        match s.mode {
            Mode::Payment => {
                let p = super::api::paid(s);
                vec![objects::event(
                    "payment_intent.payment_failed",
                    objects::payment_intent(&p, false, t),
                    t,
                )]
            }
            // No subscription exists before the first payment succeeds.
            Mode::Subscription => vec![],
        }
    };
    fake.deliver(events, now).await;
    Ok(Redirect::to(&format!("/fake-stripe/checkout/{id}?declined=1")).into_response())
}

/// `POST /fake-stripe/checkout/{id}/cancel`: the buyer goes back. The
/// session expires (`checkout.session.expired`) and the browser goes to
/// the cancel URL.
pub(super) async fn cancel(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let fake = fake(&app)?;
    let now = app.clock.now();
    let (events, back) = {
        let mut st = fake.state();
        let s = st
            .sessions
            .get_mut(&id)
            .ok_or_else(|| PageError::not_found("no such checkout session"))?;
        if s.status != Status::Open {
            return Err(closed());
        }
        s.status = Status::Expired;
        let e = objects::event(
            "checkout.session.expired",
            objects::session(s, &fake.public_url),
            now.timestamp(),
        );
        (vec![e], s.cancel_url.clone())
    };
    fake.deliver(events, now).await;
    Ok(Redirect::to(&back).into_response())
}

/// `GET /fake-stripe/events` (staff): the events the fake delivered, newest
/// last, with the storefront's answer, the exact body and its signature
/// header, as Stripe's dashboard shows them.
pub(super) async fn events(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Response, PageError> {
    v.staff()?;
    let log = fake(&app)?.state().delivered.clone();
    Ok(Json(log).into_response())
}

//! The fake's subscription console (staff): what Stripe's test clocks and
//! `stripe trigger` do for a real account. Each subscription can be
//! renewed (`invoice.paid` and `customer.subscription.updated`), have its
//! renewal declined (`invoice.payment_failed` and the move to
//! `past_due`), or be ended at once (`customer.subscription.deleted`), so
//! every subscription event the storefront handles can be sent offline.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Months};
use serde_json::{Value, json};

use super::super::session::{CsrfForm, Visitor};
use super::super::{AppState, Nav, PageError, render};
use super::page::NoFields;
use super::{Sub, objects};

struct Row {
    id: String,
    customer: String,
    status: &'static str,
    amount: String,
    period_end: String,
    ended: bool,
}

#[derive(askama::Template)]
#[template(path = "fake_stripe_console.html")]
struct ConsolePage {
    nav: Nav,
    rows: Vec<Row>,
}

fn day(t: i64) -> String {
    DateTime::from_timestamp(t, 0).map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

/// `GET /fake-stripe/subscriptions` (staff): every subscription the fake
/// holds, with its three actions.
pub(super) async fn console(
    State(app): State<Arc<AppState>>,
    v: Visitor,
) -> Result<Html<String>, PageError> {
    v.staff()?;
    let fake = super::page::fake(&app)?;
    let mut rows: Vec<Row> = fake
        .state()
        .subscriptions
        .values()
        .map(|s| Row {
            id: s.id.clone(),
            customer: s.customer.clone(),
            status: s.status,
            amount: format!("{} {} / {}", s.amount, s.currency, s.interval),
            period_end: day(s.period.1),
            ended: s.ended_at.is_some(),
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    render(&ConsolePage {
        nav: Nav::of(&v),
        rows,
    })
}

/// What happens to a subscription on one of the console's buttons.
#[derive(Clone, Copy)]
enum Action {
    Renew,
    FailRenewal,
    End,
}

/// The next period of `s`, from the end of the current one.
fn next_period(s: &Sub) -> (i64, i64) {
    let months = if s.interval == "year" { 12 } else { 1 };
    let start = s.period.1;
    let end = DateTime::from_timestamp(start, 0)
        .and_then(|d| d.checked_add_months(Months::new(months)))
        .map_or(start + 30 * 86_400, |d| d.timestamp());
    (start, end)
}

fn apply(s: &mut Sub, action: Action, now: i64) -> Vec<Value> {
    if s.ended_at.is_some() {
        return vec![];
    }
    let now = s.tick(now);
    let updated = |s: &Sub, previous: Value| {
        let mut e = objects::event(
            "customer.subscription.updated",
            objects::subscription(s),
            now,
        );
        e["data"]["previous_attributes"] = previous;
        e
    };
    match action {
        Action::Renew => {
            let before = json!({"status": s.status, "current_period_end": s.period.1});
            s.period = next_period(s);
            s.trial = None;
            s.status = "active";
            vec![
                objects::event(
                    "invoice.paid",
                    objects::invoice(s, "subscription_cycle", s.amount, true, now),
                    now,
                ),
                updated(s, before),
            ]
        }
        Action::FailRenewal => {
            let before = json!({"status": s.status});
            s.period = next_period(s);
            s.trial = None;
            s.status = "past_due";
            vec![
                objects::event(
                    "invoice.payment_failed",
                    objects::invoice(s, "subscription_cycle", s.amount, false, now),
                    now,
                ),
                updated(s, before),
            ]
        }
        Action::End => {
            s.status = "canceled";
            s.canceled_at = Some(now);
            s.ended_at = Some(now);
            vec![objects::event(
                "customer.subscription.deleted",
                objects::subscription(s),
                now,
            )]
        }
    }
}

async fn act(app: &AppState, v: &Visitor, id: &str, action: Action) -> Result<Response, PageError> {
    v.staff()?;
    let fake = super::page::fake(app)?;
    let now = app.clock.now();
    let events = {
        let mut st = fake.state();
        let s = st
            .subscriptions
            .get_mut(id)
            .ok_or_else(|| PageError::not_found("no such subscription"))?;
        apply(s, action, now.timestamp())
    };
    fake.deliver(events, now).await;
    Ok(Redirect::to("/fake-stripe/subscriptions").into_response())
}

/// `POST /fake-stripe/subscriptions/{id}/renew`: the next period is paid.
pub(super) async fn renew(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    act(&app, &v, &id, Action::Renew).await
}

/// `POST /fake-stripe/subscriptions/{id}/fail-renewal`: the card is
/// declined for the next period.
pub(super) async fn fail_renewal(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    act(&app, &v, &id, Action::FailRenewal).await
}

/// `POST /fake-stripe/subscriptions/{id}/end`: ended now.
pub(super) async fn end(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    act(&app, &v, &id, Action::End).await
}

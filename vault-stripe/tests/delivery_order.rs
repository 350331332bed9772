//! The order property: a set of related Stripe events, delivered in random
//! orders with duplicates, always ends in the state Stripe's semantics
//! define for the set, on every store.
//!
//! Each set is one plausible history: a purchase (failed attempts, a
//! success by session, async payment or PaymentIntent, cumulative refunds,
//! a dispute opened and maybe won or lost) and a member's subscription
//! (created incomplete, trialing or active; renewals with their invoices,
//! failed payments, cancel-at-period-end toggles, plan changes; maybe
//! deleted, and then maybe a second subscription of the same user), with
//! events in the same second included. The reference state is computed
//! from the set alone, written apart from the library:
//! * purchase: paid when any success event is in the set; a lost dispute is
//!   a full refund, an open one suspends, else the largest cumulative
//!   refund decides; never paid: failed if a failure was reported;
//! * membership: status and terms of the newest event (by `created`, then
//!   kind within a second, then id: the stated tie-break), the latest
//!   period, canceled for good once deleted;
//! * access, the quota a download then uses, and the analytics totals
//!   follow from those.
//!
//! Orders per set: 500 on memory and 200 on SQLite (4 sets each), 50 on
//! PostgreSQL (2 sets; CI requires the server). `VAULT_ORDER_SETS` asks for
//! more sets; `VAULT_ORDER_SEED` replays a run: the seed is printed with
//! any failure.
#![allow(clippy::unwrap_used)]

mod webhook_support;

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use vault_core::commerce::membership::MembershipStatus;
use vault_core::commerce::purchase::{PaymentStatus, Purchase};
use vault_core::delivery::download::RequestInfo;
use vault_core::store::WebhookStatus;
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;

use webhook_support::{World, charge_refunded, dispute, intent, invoice, session, subscription};

const PRICE: i64 = 4900;
const DAY: i64 = 86_400;

/// One event of a story, before it is rendered for one order's entities.
#[derive(Debug, Clone)]
enum Ev {
    Session {
        kind: &'static str,
        paid: bool,
    },
    Intent {
        succeeded: bool,
    },
    Refunded {
        total: i64,
    },
    DisputeOpened,
    DisputeClosed {
        won: bool,
    },
    Sub {
        kind: &'static str,
        sub: u8,
        status: &'static str,
        period: (i64, i64),
        cancel: bool,
        tier: &'static str,
    },
    Invoice {
        paid: bool,
        sub: u8,
        period: (i64, i64),
    },
}

#[derive(Debug, Clone)]
struct Stamped {
    /// Seconds after the story's start.
    at: i64,
    ev: Ev,
}

fn rank(ev: &Ev) -> u8 {
    match ev {
        Ev::Sub {
            kind: "customer.subscription.created",
            ..
        } => 0,
        Ev::Invoice { .. } => 1,
        Ev::Sub {
            kind: "customer.subscription.updated",
            ..
        } => 2,
        Ev::Sub {
            kind: "customer.subscription.deleted",
            ..
        } => 3,
        _ => 0,
    }
}

/// Event ids that say nothing about time, as Stripe's.
fn event_id(order: usize, i: usize) -> String {
    format!("evt_{order}_{:04x}", (i * 7919) % 65_536)
}

// ------------------------------------------------------------------ stories

fn purchase_story(rng: &mut fastrand::Rng, out: &mut Vec<Stamped>) {
    let mut at = 0;
    let mut step = |rng: &mut fastrand::Rng| {
        at += rng.i64(0..=2);
        at
    };
    match rng.u8(0..4) {
        1 => out.push(Stamped {
            at: step(rng),
            ev: Ev::Intent { succeeded: false },
        }),
        2 => {
            out.push(Stamped {
                at: step(rng),
                ev: Ev::Session {
                    kind: "checkout.session.completed",
                    paid: false,
                },
            });
            out.push(Stamped {
                at: step(rng),
                ev: Ev::Session {
                    kind: "checkout.session.async_payment_failed",
                    paid: false,
                },
            });
        }
        3 => out.push(Stamped {
            at: step(rng),
            ev: Ev::Session {
                kind: "checkout.session.expired",
                paid: false,
            },
        }),
        _ => {}
    }
    if rng.u8(0..8) == 0 {
        return; // never paid
    }
    match rng.u8(0..3) {
        0 => out.push(Stamped {
            at: step(rng),
            ev: Ev::Session {
                kind: "checkout.session.completed",
                paid: true,
            },
        }),
        1 => {
            out.push(Stamped {
                at: step(rng),
                ev: Ev::Session {
                    kind: "checkout.session.completed",
                    paid: false,
                },
            });
            out.push(Stamped {
                at: step(rng),
                ev: Ev::Session {
                    kind: "checkout.session.async_payment_succeeded",
                    paid: true,
                },
            });
        }
        _ => {}
    }
    // A PaymentIntent success goes with the session's, or stands alone.
    let by_session = out
        .iter()
        .any(|s| matches!(s.ev, Ev::Session { paid: true, .. }));
    if rng.bool() || !by_session {
        out.push(Stamped {
            at: step(rng),
            ev: Ev::Intent { succeeded: true },
        });
    }
    let mut refunded = 0;
    for _ in 0..rng.usize(0..3) {
        refunded = (refunded + rng.i64(1..=PRICE)).min(PRICE);
        out.push(Stamped {
            at: step(rng),
            ev: Ev::Refunded { total: refunded },
        });
    }
    if refunded < PRICE && rng.bool() {
        out.push(Stamped {
            at: step(rng),
            ev: Ev::DisputeOpened,
        });
        match rng.u8(0..3) {
            0 => {}
            1 => {
                out.push(Stamped {
                    at: step(rng),
                    ev: Ev::DisputeClosed { won: true },
                });
                if rng.bool() {
                    let more = (refunded + rng.i64(1..=PRICE)).min(PRICE);
                    out.push(Stamped {
                        at: step(rng),
                        ev: Ev::Refunded { total: more },
                    });
                }
            }
            _ => out.push(Stamped {
                at: step(rng),
                ev: Ev::DisputeClosed { won: false },
            }),
        }
    }
}

fn subscription_story(
    rng: &mut fastrand::Rng,
    sub: u8,
    start_at: i64,
    out: &mut Vec<Stamped>,
) -> i64 {
    let mut at = start_at;
    let mut period = (0, 30 * DAY);
    let (mut cancel, mut tier) = (false, "pro");
    let first = ["incomplete", "trialing", "active"][rng.usize(0..3)];
    let mut status = first;
    let snapshot = |kind, status, period, cancel, tier| Ev::Sub {
        kind,
        sub,
        status,
        period,
        cancel,
        tier,
    };
    out.push(Stamped {
        at,
        ev: snapshot(
            "customer.subscription.created",
            status,
            period,
            cancel,
            tier,
        ),
    });
    if first == "incomplete" {
        status = "active";
        out.push(Stamped {
            at,
            ev: Ev::Invoice {
                paid: true,
                sub,
                period,
            },
        });
        out.push(Stamped {
            at,
            ev: snapshot(
                "customer.subscription.updated",
                status,
                period,
                cancel,
                tier,
            ),
        });
    }
    for _ in 0..rng.usize(0..5) {
        at += rng.i64(0..=2);
        match rng.u8(0..4) {
            0 => {
                period = (period.1, period.1 + 30 * DAY);
                status = "active";
                out.push(Stamped {
                    at,
                    ev: Ev::Invoice {
                        paid: true,
                        sub,
                        period,
                    },
                });
                out.push(Stamped {
                    at,
                    ev: snapshot(
                        "customer.subscription.updated",
                        status,
                        period,
                        cancel,
                        tier,
                    ),
                });
            }
            1 => {
                status = "past_due";
                out.push(Stamped {
                    at,
                    ev: Ev::Invoice {
                        paid: false,
                        sub,
                        period,
                    },
                });
                out.push(Stamped {
                    at,
                    ev: snapshot(
                        "customer.subscription.updated",
                        status,
                        period,
                        cancel,
                        tier,
                    ),
                });
            }
            2 => {
                cancel = !cancel;
                out.push(Stamped {
                    at,
                    ev: snapshot(
                        "customer.subscription.updated",
                        status,
                        period,
                        cancel,
                        tier,
                    ),
                });
            }
            _ => {
                tier = if tier == "pro" { "premium" } else { "pro" };
                out.push(Stamped {
                    at,
                    ev: snapshot(
                        "customer.subscription.updated",
                        status,
                        period,
                        cancel,
                        tier,
                    ),
                });
            }
        }
    }
    at
}

fn story(rng: &mut fastrand::Rng) -> Vec<Stamped> {
    let mut out = Vec::new();
    purchase_story(rng, &mut out);
    let end = subscription_story(rng, 1, 0, &mut out);
    if rng.bool() {
        let at = end + rng.i64(1..=3);
        let (period, cancel, tier) = out
            .iter()
            .rev()
            .find_map(|s| match &s.ev {
                Ev::Sub {
                    sub: 1,
                    period,
                    cancel,
                    tier,
                    ..
                } => Some((*period, *cancel, *tier)),
                _ => None,
            })
            .unwrap();
        out.push(Stamped {
            at,
            ev: Ev::Sub {
                kind: "customer.subscription.deleted",
                sub: 1,
                status: "canceled",
                period,
                cancel,
                tier,
            },
        });
        // A second subscription of the same user, created around the
        // first one's end (before or after it, in Stripe's time).
        if rng.bool() {
            let second = at + rng.i64(-2..=2);
            subscription_story(rng, 2, second, &mut out);
        }
    }
    out
}

// ---------------------------------------------------------------- reference

#[derive(Debug, Clone, PartialEq, Eq)]
struct MemberRef {
    status: MembershipStatus,
    period: (i64, i64),
    cancel: bool,
    tier: PricingTier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    status: PaymentStatus,
    refunded: i64,
    purchases: u64,
    revenue: i64,
    memberships: [Option<MemberRef>; 2],
}

fn reference(story: &[Stamped], order: usize) -> Reference {
    let has = |f: &dyn Fn(&Ev) -> bool| story.iter().any(|s| f(&s.ev));
    let paid = has(&|e| {
        matches!(
            e,
            Ev::Session { paid: true, .. } | Ev::Intent { succeeded: true }
        )
    });
    let failed = has(&|e| {
        matches!(e, Ev::Session { paid: false, kind } if *kind != "checkout.session.completed")
            || matches!(e, Ev::Intent { succeeded: false })
    });
    let largest = story
        .iter()
        .filter_map(|s| match s.ev {
            Ev::Refunded { total } => Some(total),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let opened = has(&|e| matches!(e, Ev::DisputeOpened));
    let closed = story.iter().find_map(|s| match s.ev {
        Ev::DisputeClosed { won } => Some(won),
        _ => None,
    });
    let (status, refunded) = if !paid {
        (
            if failed {
                PaymentStatus::Failed
            } else {
                PaymentStatus::Pending
            },
            0,
        )
    } else if closed == Some(false) {
        (PaymentStatus::Refunded, PRICE)
    } else if opened && closed.is_none() {
        (
            if largest == PRICE {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::Disputed
            },
            largest,
        )
    } else if largest == PRICE {
        (PaymentStatus::Refunded, largest)
    } else if largest > 0 {
        (PaymentStatus::PartiallyRefunded, largest)
    } else {
        (PaymentStatus::Completed, 0)
    };
    let member = |which: u8| -> Option<MemberRef> {
        let events: Vec<(usize, &Stamped)> = story
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.ev, Ev::Sub { sub, .. } | Ev::Invoice { sub, .. } if sub == which))
            .collect();
        let key = |(i, s): &&(usize, &Stamped)| (s.at, rank(&s.ev), event_id(order, *i));
        let newest = events.iter().max_by_key(key)?;
        let newest_snapshot = events
            .iter()
            .filter(|(_, s)| matches!(s.ev, Ev::Sub { .. }))
            .max_by_key(key)?;
        let Ev::Sub { cancel, tier, .. } = newest_snapshot.1.ev else {
            unreachable!()
        };
        let deleted = events.iter().any(|(_, s)| {
            matches!(
                s.ev,
                Ev::Sub {
                    status: "canceled",
                    ..
                }
            )
        });
        let status = match newest.1.ev {
            _ if deleted => MembershipStatus::Canceled,
            Ev::Invoice { paid: true, .. }
            | Ev::Sub {
                status: "active", ..
            } => MembershipStatus::Active,
            Ev::Invoice { paid: false, .. }
            | Ev::Sub {
                status: "past_due", ..
            } => MembershipStatus::PastDue,
            Ev::Sub {
                status: "trialing", ..
            } => MembershipStatus::Trialing,
            ref other => panic!("no membership status for {other:?}"),
        };
        let period = events
            .iter()
            .filter_map(|(_, s)| match s.ev {
                Ev::Sub { period, .. }
                | Ev::Invoice {
                    paid: true, period, ..
                } => Some(period),
                _ => None,
            })
            .max()?;
        Some(MemberRef {
            status,
            period,
            cancel,
            tier: if tier == "pro" {
                PricingTier::Pro
            } else {
                PricingTier::Premium
            },
        })
    };
    Reference {
        status,
        refunded,
        purchases: u64::from(paid),
        revenue: if paid { PRICE } else { 0 },
        memberships: [member(1), member(2)],
    }
}

// ----------------------------------------------------------------- delivery

struct Order<'a> {
    n: usize,
    buyer: Actor,
    member: String,
    purchase: &'a Purchase,
    base: i64,
}

impl Order<'_> {
    fn pi(&self) -> String {
        format!("pi_{}", self.n)
    }

    fn sub(&self, which: u8) -> String {
        format!("sub_{}_{which}", self.n)
    }

    fn render(&self, i: usize, s: &Stamped) -> Value {
        let id = event_id(self.n, i);
        let at = self.base + s.at;
        let pi = self.pi();
        match &s.ev {
            Ev::Session { kind, paid } => session(
                &id,
                kind,
                at,
                self.purchase,
                &pi,
                if *paid { "paid" } else { "unpaid" },
            ),
            Ev::Intent { succeeded } => intent(
                &id,
                if *succeeded {
                    "payment_intent.succeeded"
                } else {
                    "payment_intent.payment_failed"
                },
                at,
                self.purchase,
                &pi,
            ),
            Ev::Refunded { total } => charge_refunded(&id, at, &pi, PRICE, *total),
            Ev::DisputeOpened => dispute(&id, "charge.dispute.created", at, &pi, "needs_response"),
            Ev::DisputeClosed { won } => dispute(
                &id,
                "charge.dispute.closed",
                at,
                &pi,
                if *won { "won" } else { "lost" },
            ),
            Ev::Sub {
                kind,
                sub,
                status,
                period,
                cancel,
                tier,
            } => subscription(
                &id,
                kind,
                at,
                &self.sub(*sub),
                &self.member,
                status,
                (self.base + period.0, self.base + period.1),
                json!({"cancel_at_period_end": cancel, "vault_tier": tier}),
            ),
            Ev::Invoice { paid, sub, period } => invoice(
                &id,
                if *paid {
                    "invoice.paid"
                } else {
                    "invoice.payment_failed"
                },
                at,
                &self.sub(*sub),
                (self.base + period.0, self.base + period.1),
            ),
        }
    }
}

/// Every event once, some again, in a random order.
fn delivery(rng: &mut fastrand::Rng, len: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..len).collect();
    for i in 0..len {
        for _ in 0..rng.usize(0..3).saturating_sub(1) {
            out.push(i);
        }
    }
    rng.shuffle(&mut out);
    out
}

fn cents(d: Decimal) -> i64 {
    (d * Decimal::ONE_HUNDRED).try_into().unwrap()
}

/// Delivers one order and returns what differs from the reference.
async fn run_order(
    w: &World,
    story: &[Stamped],
    want: &Reference,
    n: usize,
    rng: &mut fastrand::Rng,
) -> Option<String> {
    let (wf, _) =
        w.f.workflow(&format!("flow-{n}"), PricingTier::Pro, Some(PRICE))
            .await;
    let buyer = Fixture::user(&format!("buyer-{n}"));
    let member = format!("member-{n}");
    let purchase = w.pending(&buyer, wf.id).await;
    let order = Order {
        n,
        buyer,
        member: member.clone(),
        purchase: &purchase,
        base: w.now() - 10_000,
    };
    let sequence = delivery(rng, story.len());
    for &i in &sequence {
        let event = order.render(i, &story[i]);
        if let Err(e) = w.deliver(&event).await {
            return Some(format!("delivering {} failed: {e}", event["id"]));
        }
    }
    let mut diff = String::new();
    let p =
        w.f.vault
            .purchase(&Actor::Service, purchase.id)
            .await
            .unwrap();
    let refunded = p
        .refund
        .as_ref()
        .map_or(0, |r| r.refunded.to_minor().unwrap());
    if (p.status, refunded) != (want.status, want.refunded) {
        let _ = writeln!(
            diff,
            "purchase: {:?} refunded {refunded}, want {:?} refunded {}",
            p.status, want.status, want.refunded
        );
    }
    let day = vault_core::Clock::now(w.f.clock.as_ref()).date_naive();
    let rows = w.f.store.analytics(wf.id, day, day).await.unwrap();
    let (purchases, revenue, refunds) = rows.first().map_or((0, 0, 0), |r| {
        (r.purchases, cents(r.revenue), cents(r.refunds))
    });
    if (purchases, revenue, refunds) != (want.purchases, want.revenue, want.refunded) {
        let _ = writeln!(
            diff,
            "analytics: {purchases} purchases, {revenue} revenue, {refunds} refunds; want {}, {}, {}",
            want.purchases, want.revenue, want.refunded
        );
    }
    let granted = matches!(
        want.status,
        PaymentStatus::Completed | PaymentStatus::PartiallyRefunded
    );
    let decision =
        w.f.vault
            .check_access(&order.buyer, wf.id, None)
            .await
            .unwrap();
    if decision.is_granted() != granted {
        let _ = writeln!(diff, "buyer access {}, want {granted}", decision.summary());
    }
    if granted {
        w.f.vault
            .download(&order.buyer, wf.id, None, &RequestInfo::default())
            .await
            .unwrap();
        let used =
            w.f.vault
                .purchase(&Actor::Service, purchase.id)
                .await
                .unwrap()
                .quota
                .used;
        if used != 1 {
            let _ = writeln!(diff, "purchase quota used {used} after one download");
        }
    }
    for (which, want_m) in [1u8, 2].into_iter().zip(&want.memberships) {
        let got =
            w.f.vault
                .membership_by_subscription(&Actor::Service, &order.sub(which))
                .await
                .unwrap();
        let got_ref = got.as_ref().map(|m| MemberRef {
            status: m.status,
            period: (
                m.period.start.timestamp() - order.base,
                m.period.end.timestamp() - order.base,
            ),
            cancel: m.cancel_at_period_end,
            tier: m.tier,
        });
        if &got_ref != want_m {
            let _ = writeln!(diff, "membership {which}: {got_ref:?}, want {want_m:?}");
        }
    }
    let member_actor = Fixture::user(&member);
    let live = want.memberships.iter().flatten().any(|m| {
        !matches!(
            m.status,
            MembershipStatus::Canceled | MembershipStatus::Expired
        )
    });
    let decision =
        w.f.vault
            .check_access(&member_actor, wf.id, None)
            .await
            .unwrap();
    if decision.is_granted() != live {
        let _ = writeln!(diff, "member access {}, want {live}", decision.summary());
    } else if live {
        w.f.vault
            .download(&member_actor, wf.id, None, &RequestInfo::default())
            .await
            .unwrap();
        let used: Vec<u32> =
            w.f.vault
                .memberships_for_user(&Actor::Service, member_actor.user_id().unwrap())
                .await
                .unwrap()
                .iter()
                .filter(|m| !m.status.is_ended())
                .map(|m| m.quota.used)
                .collect();
        if used != [1] {
            let _ = writeln!(diff, "membership quota used {used:?} after one download");
        }
    }
    let prefix = format!("evt_{n}_");
    let parked: Vec<String> = w
        .hooks
        .events(WebhookStatus::Parked, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.id.starts_with(&prefix))
        .map(|e| e.id)
        .collect();
    if !parked.is_empty() {
        let _ = writeln!(diff, "still parked: {parked:?}");
    }
    if diff.is_empty() {
        return None;
    }
    let seq: Vec<String> = sequence
        .iter()
        .map(|&i| {
            format!(
                "{i}:{}",
                order.render(i, &story[i])["type"].as_str().unwrap()
            )
        })
        .collect();
    Some(format!("{diff}delivered: {}", seq.join(", ")))
}

fn seed() -> u64 {
    std::env::var("VAULT_ORDER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        })
}

fn sets(default: u64) -> u64 {
    std::env::var("VAULT_ORDER_SETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

async fn property(name: &str, sets: u64, orders: usize, world: impl AsyncFn() -> Option<World>) {
    let seed = seed();
    for set in 0..sets {
        let Some(w) = world().await else { return };
        let mut rng = fastrand::Rng::with_seed(seed ^ set.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let story = story(&mut rng);
        for n in 0..orders {
            let want = reference(&story, n);
            if let Some(diff) = run_order(&w, &story, &want, n, &mut rng).await {
                panic!(
                    "{name}: VAULT_ORDER_SEED={seed} set {set} order {n}\nstory: {story:#?}\n{diff}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_500_orders_per_set() {
    property("memory", sets(4), 500, async || Some(World::memory().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_200_orders_per_set() {
    // In memory: the same SQL and transactions, without waiting on the disk
    // (the e2e tests run on files).
    property("sqlite", sets(4), 200, async || {
        Some(World::sqlite_in_memory().await)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_50_orders_per_set() {
    // Each delivery is a dozen round trips: two sets keep CI's run short.
    property("postgres", sets(2), 50, World::postgres).await;
}

//! Webhook events from the payment provider, recorded through the store so
//! each is applied at most once (seed 003), and kept (parked) while it
//! refers to something the vault does not know yet.
//!
//! ```text
//!  (new) ─claim─▶ received ─▶ processed
//!                  │  ▲  ╲──▶ failed ──claim (attempts left)──▶ received
//!             park │  │claim          ╲─(none left)─▶ gave up
//!                  ▼  │
//!                 parked ──(unmatched too long)──▶ expired
//! ```
//! A parked event keeps its payload, so it can be applied when what it
//! waits for appears, without the provider delivering it again; parking
//! does not count as an attempt.
//!
//! A separate trait from [`Store`](crate::store::Store): it is what a payment
//! integration needs, not every app.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::value::error::StoreResult;
use crate::value::tier::named_enum;

named_enum!(
    /// Where an event is in its processing.
    WebhookStatus, "webhook_status", "received, processed, failed, parked, expired" {
        /// Claimed by a worker and being applied.
        Received = "received",
        /// Applied (or deliberately skipped: nothing to do, or older than
        /// what the vault already holds).
        Processed = "processed",
        /// The last application failed; a redelivery may try again.
        Failed = "failed",
        /// Refers to something the store does not know yet; kept with its
        /// payload until that appears.
        Parked = "parked",
        /// Parked for longer than allowed: left for an operator.
        Expired = "expired",
    }
);

/// An event to claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhookEvent {
    /// The provider's event id (`evt_…`), unique.
    pub id: String,
    /// Its type (`checkout.session.completed`).
    pub event_type: String,
    /// The object whose state it carries (subscription, charge, dispute…),
    /// for ordering.
    pub object_id: Option<String>,
    /// When the provider created the event.
    pub created: DateTime<Utc>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The provider's event id.
    pub id: String,
    /// Its type.
    pub event_type: String,
    /// The object it is about.
    pub object_id: Option<String>,
    /// When the provider created it.
    pub created: DateTime<Utc>,
    /// Processing status.
    pub status: WebhookStatus,
    /// Application attempts so far (parking does not count).
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// Whether applying it changed state (false for stale or ignored ones).
    pub applied: bool,
    /// First received.
    pub received_at: DateTime<Utc>,
    /// When the current (or last) attempt claimed it; the lease runs from here.
    pub claimed_at: DateTime<Utc>,
    /// When it reached `processed`, `failed` or `expired`.
    pub finished_at: Option<DateTime<Utc>>,
    /// What a parked event waits for (a key the integration chose, such as
    /// `payment:pi_123`); kept afterwards for the record.
    pub waiting_for: Option<String>,
    /// When it was first parked; expiry counts from here.
    pub parked_at: Option<DateTime<Utc>>,
    /// The verified event body, while it may still have to be applied
    /// (parked, expired or failed); dropped once processed.
    pub payload: Option<String>,
}

impl WebhookEvent {
    /// Whether a purge before `before` drops its payload: a failed or
    /// expired event finished then keeps its row for operators, not the
    /// customer data in its body.
    pub fn payload_expired(&self, before: DateTime<Utc>) -> bool {
        matches!(self.status, WebhookStatus::Failed | WebhookStatus::Expired)
            && self.payload.is_some()
            && self.finished_at.is_some_and(|t| t < before)
    }

    /// Whether a purge of events finished before `before` deletes it: only
    /// processed ones (the seed keeps 90 days of them); what failed, waits
    /// or expired stays for operators.
    pub fn purgeable(&self, before: DateTime<Utc>) -> bool {
        self.status == WebhookStatus::Processed && self.finished_at.is_some_and(|t| t < before)
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller must apply the event now; `attempt` counts from 1.
    Claimed {
        /// Which attempt this is.
        attempt: u32,
    },
    /// It was processed before: acknowledge and do nothing.
    AlreadyProcessed,
    /// Another worker holds a fresh claim on it: try again later.
    InProgress,
    /// It failed `attempts` times, the most allowed: acknowledge and stop.
    GaveUp {
        /// Attempts made.
        attempts: u32,
    },
    /// It was parked for longer than allowed: acknowledge and stop.
    Expired,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// Done; `applied` says whether it changed state.
    Processed {
        /// It changed state (false: stale or nothing to do).
        applied: bool,
    },
    /// It failed with this error.
    Failed {
        /// What went wrong, for operators.
        error: String,
        /// The verified body, kept so the event can be applied again
        /// without the provider (`None` keeps what the record holds).
        payload: Option<String>,
    },
    /// It refers to something the store does not know yet: keep it, with
    /// its payload, until `waiting_for` appears. The attempt does not count.
    Parked {
        /// What it waits for.
        waiting_for: String,
        /// The verified body, to apply it later.
        payload: String,
    },
}

/// Recording and claiming webhook events.
#[async_trait]
pub trait WebhookStore: Send + Sync + std::fmt::Debug {
    /// Claims `event` for processing, atomically, so racing deliveries of one
    /// event get exactly one `Claimed`:
    /// * unknown id → recorded as `received`, attempt 1, `Claimed`;
    /// * `processed` → `AlreadyProcessed`;
    /// * `received` and claimed less than `lease` ago → `InProgress`; older
    ///   (its worker died) → re-claimed, attempts + 1;
    /// * `failed` with fewer than `max_attempts` attempts → re-claimed,
    ///   attempts + 1; otherwise `GaveUp`;
    /// * `parked` → re-claimed (parking never used up an attempt);
    /// * `expired` → `Expired`.
    ///
    /// The rule is [`claim_decision`]; the record written, [`claimed_record`].
    async fn claim_webhook_event(
        &self,
        event: &NewWebhookEvent,
        now: DateTime<Utc>,
        lease: Duration,
        max_attempts: u32,
    ) -> StoreResult<Claim>;

    /// Records how the current attempt ended ([`finished_record`]).
    /// `NotFound` for an unknown id.
    async fn finish_webhook_event(
        &self,
        id: &str,
        finish: &Finish,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// One recorded event.
    async fn webhook_event(&self, id: &str) -> StoreResult<Option<WebhookEvent>>;

    /// Events in `status` (and waiting for `waiting_for`, when given),
    /// oldest received first, at most `limit`: parked events to retry,
    /// expired or failed ones for operators.
    async fn webhook_events(
        &self,
        status: WebhookStatus,
        waiting_for: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>>;

    /// Deletes processed events that finished before `before`
    /// ([`WebhookEvent::purgeable`]) and returns how many; drops the
    /// payload of failed and expired ones that finished before it
    /// ([`WebhookEvent::payload_expired`]: a provider's body holds
    /// customers' names and addresses). Their rows stay, for operators;
    /// parked ones keep everything (they may still be applied).
    async fn purge_webhook_events(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Moves events parked before `parked_before` to `expired`
    /// (`finished_at = now`); returns how many. A parked event being
    /// retried right now (claimed) is left alone.
    async fn expire_parked_webhook_events(
        &self,
        parked_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// The claim rule every backend applies inside its transaction: given the
/// stored record (if any), what a new claim gets. See
/// [`WebhookStore::claim_webhook_event`].
pub fn claim_decision(
    existing: Option<&WebhookEvent>,
    now: DateTime<Utc>,
    lease: Duration,
    max_attempts: u32,
) -> Claim {
    let Some(e) = existing else {
        return Claim::Claimed { attempt: 1 };
    };
    match e.status {
        WebhookStatus::Processed => Claim::AlreadyProcessed,
        WebhookStatus::Expired => Claim::Expired,
        WebhookStatus::Parked => Claim::Claimed {
            attempt: e.attempts + 1,
        },
        WebhookStatus::Received if now < e.claimed_at + lease => Claim::InProgress,
        WebhookStatus::Received | WebhookStatus::Failed if e.attempts >= max_attempts => {
            Claim::GaveUp {
                attempts: e.attempts,
            }
        }
        WebhookStatus::Received | WebhookStatus::Failed => Claim::Claimed {
            attempt: e.attempts + 1,
        },
    }
}

/// The record after `claim` was granted on `existing` at `now`.
pub fn claimed_record(
    event: &NewWebhookEvent,
    existing: Option<&WebhookEvent>,
    attempt: u32,
    now: DateTime<Utc>,
) -> WebhookEvent {
    WebhookEvent {
        id: event.id.clone(),
        event_type: event.event_type.clone(),
        object_id: event.object_id.clone(),
        created: event.created,
        status: WebhookStatus::Received,
        attempts: attempt,
        last_error: existing.and_then(|e| e.last_error.clone()),
        applied: false,
        received_at: existing.map_or(now, |e| e.received_at),
        claimed_at: now,
        finished_at: None,
        waiting_for: existing.and_then(|e| e.waiting_for.clone()),
        parked_at: existing.and_then(|e| e.parked_at),
        payload: existing.and_then(|e| e.payload.clone()),
    }
}

/// The record after an attempt finished.
pub fn finished_record(mut e: WebhookEvent, finish: &Finish, now: DateTime<Utc>) -> WebhookEvent {
    match finish {
        Finish::Processed { applied } => {
            e.status = WebhookStatus::Processed;
            e.applied = *applied;
            e.payload = None;
            e.finished_at = Some(now);
        }
        Finish::Failed { error, payload } => {
            if let Some(p) = payload {
                e.payload = Some(p.clone());
            }
            e.status = WebhookStatus::Failed;
            e.last_error = Some(error.chars().take(2000).collect());
            e.finished_at = Some(now);
        }
        Finish::Parked {
            waiting_for,
            payload,
        } => {
            e.status = WebhookStatus::Parked;
            e.attempts = e.attempts.saturating_sub(1);
            e.waiting_for = Some(waiting_for.clone());
            e.parked_at.get_or_insert(now);
            e.payload = Some(payload.clone());
        }
    }
    e
}

/// The record of a parked event that waited too long.
pub fn expired_record(mut e: WebhookEvent, now: DateTime<Utc>) -> WebhookEvent {
    e.status = WebhookStatus::Expired;
    e.finished_at = Some(now);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(s)
    }

    #[test]
    fn claims() {
        let new = NewWebhookEvent {
            id: "evt_1".into(),
            event_type: "x".into(),
            object_id: None,
            created: t(0),
        };
        let lease = Duration::seconds(60);
        assert_eq!(
            claim_decision(None, t(0), lease, 3),
            Claim::Claimed { attempt: 1 }
        );
        let rec = claimed_record(&new, None, 1, t(0));
        assert_eq!(
            claim_decision(Some(&rec), t(10), lease, 3),
            Claim::InProgress
        );
        assert_eq!(
            claim_decision(Some(&rec), t(61), lease, 3),
            Claim::Claimed { attempt: 2 }
        );
        let failed = finished_record(
            rec.clone(),
            &Finish::Failed {
                error: "boom".into(),
                payload: None,
            },
            t(1),
        );
        assert_eq!(
            claim_decision(Some(&failed), t(2), lease, 3),
            Claim::Claimed { attempt: 2 }
        );
        assert_eq!(
            claim_decision(Some(&failed), t(2), lease, 1),
            Claim::GaveUp { attempts: 1 }
        );
        let done = finished_record(rec, &Finish::Processed { applied: true }, t(1));
        assert_eq!(
            claim_decision(Some(&done), t(2), lease, 3),
            Claim::AlreadyProcessed
        );
        assert_eq!(done.received_at, t(0));
    }

    #[test]
    fn parking_keeps_the_payload_and_costs_no_attempt() {
        let new = NewWebhookEvent {
            id: "evt_1".into(),
            event_type: "charge.refunded".into(),
            object_id: Some("ch_1".into()),
            created: t(0),
        };
        let lease = Duration::seconds(60);
        let rec = claimed_record(&new, None, 1, t(0));
        let parked = finished_record(
            rec,
            &Finish::Parked {
                waiting_for: "payment:pi_1".into(),
                payload: "{}".into(),
            },
            t(1),
        );
        assert_eq!(
            (parked.status, parked.attempts, parked.parked_at),
            (WebhookStatus::Parked, 0, Some(t(1)))
        );
        // Parked again and again: never gives up, keeps its first parking time.
        let mut e = parked;
        for i in 0..10 {
            let claim = claim_decision(Some(&e), t(2 + i), lease, 1);
            assert_eq!(claim, Claim::Claimed { attempt: 1 });
            let again = claimed_record(&new, Some(&e), 1, t(2 + i));
            assert_eq!(again.payload.as_deref(), Some("{}"));
            e = finished_record(
                again,
                &Finish::Parked {
                    waiting_for: "payment:pi_1".into(),
                    payload: "{}".into(),
                },
                t(3 + i),
            );
        }
        assert_eq!((e.attempts, e.parked_at), (0, Some(t(1))));
        let done = finished_record(
            claimed_record(&new, Some(&e), 1, t(20)),
            &Finish::Processed { applied: true },
            t(21),
        );
        assert_eq!(done.payload, None, "a processed event keeps no body");
        assert_eq!(done.waiting_for.as_deref(), Some("payment:pi_1"));
        let expired = expired_record(e, t(30));
        assert_eq!(
            claim_decision(Some(&expired), t(31), lease, 3),
            Claim::Expired
        );
    }
}

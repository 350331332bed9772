//! A job: what must happen later, with its state, attempts and lease.
//!
//! ```text
//!  enqueue ─▶ queued ──claim──▶ running ──succeeded──▶ succeeded
//!               ▲  ▲              │  │
//!   retry now   │  └─failed,      │  └─failed, none left─▶ dead ──retry now─┐
//!   (dead,      │    attempts     │                                         │
//!   cancelled)  │    left (after  ├─released (shutdown)─▶ queued            │
//!               │    backoff)     └─lease ran out─▶ claimable again         │
//!               └───────────────────────────────────────────────────────────┘
//!  queued or running ──cancel──▶ cancelled
//! ```
//! Every claim takes the next **fence**; a heartbeat or a completion names
//! the fence of its claim and is refused once the job was claimed again
//! (or cancelled), so a worker that lost its lease cannot overwrite the
//! work of the one that took over.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::clock::{Entropy, time_ordered_uuid};
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError};

pub use crate::value::ids::JobId;

named_enum!(
    /// Where a job is.
    JobState, "state", "queued, running, succeeded, dead, cancelled" {
        /// Waiting for its `run_at` (a first run or a retry after backoff).
        Queued = "queued",
        /// Claimed by a worker whose lease runs until `lease_until`.
        Running = "running",
        /// Its handler succeeded: final.
        Succeeded = "succeeded",
        /// Failed on its last allowed attempt: kept with its history until an
        /// admin retries it.
        Dead = "dead",
        /// Cancelled by an admin.
        Cancelled = "cancelled",
    }
);

impl JobState {
    /// Whether the job still waits to run or runs (a worker may claim it).
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

/// What a job does: a lowercase name the app's handler dispatches on
/// (`mail.send`, `memberships.expire`): 1 to 64 of `a-z`, `0-9`, `.`, `_`,
/// `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobKind(String);

impl JobKind {
    /// Checks a kind. The error names `kind`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if s.is_empty() {
            return Err(ValidationError::new("kind", Reason::Empty));
        }
        if s.len() > 64 {
            return Err(ValidationError::new("kind", Reason::TooLong { max: 64 }));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) || !s.chars().all(ok_char) {
            return Err(ValidationError::new(
                "kind",
                Reason::Format {
                    expected: "a lowercase name of a-z, 0-9, '.', '_', '-'",
                },
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobKind({})", self.0)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JobKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for JobKind {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<JobKind> for String {
    fn from(k: JobKind) -> Self {
        k.0
    }
}

/// The most bytes a payload may take, serialized.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// The most attempts a job may be given.
pub const MAX_ATTEMPTS: u32 = 25;

/// Object keys a payload may not carry, compared case-insensitively after
/// dropping `_` and `-`: a job's payload is stored in clear and shown to
/// admins, so a handler looks secrets up by id instead.
const SECRET_KEYS: [&str; 9] = [
    "password",
    "secret",
    "token",
    "credential",
    "apikey",
    "licensekey",
    "privatekey",
    "cardnumber",
    "authorization",
];

fn secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

fn find_secret(v: &serde_json::Value) -> Option<&str> {
    match v {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if secret_key(k) {
                Some(k.as_str())
            } else {
                find_secret(v)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(find_secret),
        _ => None,
    }
}

/// A job to enqueue, checked: build it with [`NewJob::new`] and the
/// builder methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// What it does.
    pub kind: JobKind,
    /// Its input (ids, not secrets; at most [`MAX_PAYLOAD_BYTES`]).
    pub payload: serde_json::Value,
    /// Higher runs first among due jobs (-100 to 100; 0 by default).
    pub priority: i16,
    /// Not before this instant (`None`: as soon as enqueued).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before it goes dead (1 to [`MAX_ATTEMPTS`]; 5 by default).
    pub max_attempts: u32,
    /// One job per key, ever: a second enqueue with the key returns the
    /// first job (`expire-memberships:2026-12-04T10` enqueues once an hour
    /// however many processes ask).
    pub unique_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload`. The payload is refused (field
    /// `payload`) when it is larger than [`MAX_PAYLOAD_BYTES`] or carries
    /// a key that names a secret (`password`, `token`, `license_key`, …).
    pub fn new(kind: JobKind, payload: serde_json::Value) -> Result<Self, ValidationError> {
        let job = Self {
            kind,
            payload,
            priority: 0,
            run_at: None,
            max_attempts: 5,
            unique_key: None,
        };
        job.check()?;
        Ok(job)
    }

    /// Runs it before lower priorities.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    /// Not before `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// At most `n` attempts.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Enqueued once per `key`.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Every check, naming the field at fault: what the service runs
    /// before it writes (the builder methods cannot fail, so a job built
    /// with out-of-range values is refused here).
    pub fn check(&self) -> Result<(), ValidationError> {
        let size = serde_json::to_vec(&self.payload).map_or(usize::MAX, |b| b.len());
        if size > MAX_PAYLOAD_BYTES {
            return Err(ValidationError::new(
                "payload",
                Reason::TooLong {
                    max: MAX_PAYLOAD_BYTES,
                },
            ));
        }
        if let Some(key) = find_secret(&self.payload) {
            return Err(ValidationError::new(
                "payload",
                Reason::Inconsistent {
                    detail: format!(
                        "a job's payload is stored in clear: `{key}` looks like a secret; pass an id the handler looks it up by"
                    ),
                },
            ));
        }
        if !(-100..=100).contains(&self.priority) {
            return Err(ValidationError::new(
                "priority",
                Reason::OutOfRange {
                    min: "-100".into(),
                    max: "100".into(),
                },
            ));
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            return Err(ValidationError::new(
                "max_attempts",
                Reason::OutOfRange {
                    min: "1".into(),
                    max: MAX_ATTEMPTS.to_string(),
                },
            ));
        }
        if let Some(at) = self.run_at {
            crate::value::clock::check_time("run_at", at)?;
        }
        if let Some(key) = &self.unique_key {
            if key.trim().is_empty() {
                return Err(ValidationError::new("unique_key", Reason::Empty));
            }
            if key.len() > 200 || key.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "unique_key",
                    Reason::Format {
                        expected: "at most 200 characters, none a control character",
                    },
                ));
            }
        }
        Ok(())
    }

    /// The stored job, enqueued at `now` with a fresh id from `entropy`.
    /// Job ids are time-ordered (UUID version 7): a busy queue inserts at
    /// the end of its primary key's index instead of all over it.
    pub fn mint(self, entropy: &dyn Entropy, now: DateTime<Utc>) -> Job {
        self.into_job(JobId::from_uuid(time_ordered_uuid(entropy, now)), now)
    }

    /// The stored job, enqueued at `now` with `id`.
    pub fn into_job(self, id: JobId, now: DateTime<Utc>) -> Job {
        Job {
            id,
            kind: self.kind,
            payload: self.payload,
            priority: self.priority,
            state: JobState::Queued,
            attempts: 0,
            max_attempts: self.max_attempts,
            run_at: self.run_at.unwrap_or(now).max(now),
            lease: None,
            fence: 0,
            unique_key: self.unique_key,
            last_error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }
}

/// Who holds a running job, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLease {
    /// The worker's name (for operators).
    pub worker: String,
    /// When the lease runs out: after it, another worker may claim the job.
    pub until: DateTime<Utc>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id (the handler's idempotency key).
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Its input.
    pub payload: serde_json::Value,
    /// Higher runs first.
    pub priority: i16,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far (claims; a release gives one back).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Not before this instant (queued); when it was claimed (running).
    pub run_at: DateTime<Utc>,
    /// The current lease, while running.
    pub lease: Option<JobLease>,
    /// The fence of the latest claim (0: never claimed); a heartbeat or
    /// completion must name it.
    pub fence: u64,
    /// Its unique key, if enqueued with one.
    pub unique_key: Option<String>,
    /// The last failure, for operators.
    pub last_error: Option<String>,
    /// Enqueued.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it succeeded, went dead or was cancelled.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// When a worker may claim it: `run_at` while queued, the end of the
    /// lease while running, never once finished. Stores index this
    /// instant, so a claim reads only due jobs.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match self.state {
            JobState::Queued => Some(self.run_at),
            JobState::Running => Some(self.lease.as_ref().map_or(self.run_at, |l| l.until)),
            JobState::Succeeded | JobState::Dead | JobState::Cancelled => None,
        }
    }

    /// Whether purging jobs finished before `before` deletes it: succeeded
    /// or cancelled, and finished then. Dead jobs stay until an admin acts.
    /// (SQL: `state IN ('succeeded', 'cancelled') AND finished_at < $before`.)
    pub fn purgeable(&self, before: DateTime<Utc>) -> bool {
        matches!(self.state, JobState::Succeeded | JobState::Cancelled)
            && self.finished_at.is_some_and(|t| t < before)
    }

    /// Whether a worker may claim it at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at().is_some_and(|at| at <= now)
    }
}

named_enum!(
    /// The end of one attempt.
    AttemptOutcome, "outcome", "succeeded, failed, released, lost, cancelled" {
        /// The handler succeeded.
        Succeeded = "succeeded",
        /// The handler failed.
        Failed = "failed",
        /// The worker gave the job back unfinished (shutting down).
        Released = "released",
        /// The lease ran out and another worker claimed the job.
        Lost = "lost",
        /// An admin cancelled the job while it ran.
        Cancelled = "cancelled",
    }
);

/// One attempt of a job (seed 003's `job_log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAttempt {
    /// The job.
    pub job_id: JobId,
    /// The claim's fence: one row per claim.
    pub fence: u64,
    /// Which attempt it was (1 for the first).
    pub attempt: u32,
    /// The worker that claimed it.
    pub worker: String,
    /// When it was claimed.
    pub started_at: DateTime<Utc>,
    /// When it ended (`None` while it runs).
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<AttemptOutcome>,
    /// The failure, when it failed.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind() -> JobKind {
        JobKind::parse("mail.send").expect("kind")
    }

    #[test]
    fn minted_jobs_are_stamped_and_keyed_in_time_order() {
        let entropy = crate::value::clock::SeededEntropy::new(3);
        let t = DateTime::from_timestamp_micros(1_765_000_000_000_001).expect("in range");
        let new = || NewJob::new(kind(), json!({})).expect("job");
        let first = new().mint(&entropy, t);
        let next = new().mint(&entropy, t + chrono::Duration::microseconds(1));
        let same = new().mint(&entropy, t);
        assert_eq!((first.created_at, first.run_at), (t, t));
        assert_eq!(
            first.id.as_uuid().get_version(),
            Some(uuid::Version::SortRand)
        );
        assert!(first.id < next.id && same.id < next.id);
        assert_ne!(first.id, same.id);
    }

    #[test]
    fn kinds_are_lowercase_names() {
        for ok in ["mail.send", "a", "memberships.expire-2", "x_y"] {
            assert!(JobKind::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Mail", "1abc", "a b", "é", &"a".repeat(65)] {
            assert_eq!(JobKind::parse(bad).expect_err(bad).field(), "kind");
        }
    }

    #[test]
    fn payloads_carry_no_secret_and_stay_small() {
        assert!(NewJob::new(kind(), json!({"user_id": "u1", "template": "welcome"})).is_ok());
        for bad in [
            json!({"password": "x"}),
            json!({"nested": {"reset-Token": "x"}}),
            json!({"items": [{"license_key": "k"}]}),
            json!({"StripeSecret": "sk"}),
            json!({"blob": "x".repeat(MAX_PAYLOAD_BYTES)}),
        ] {
            assert_eq!(
                NewJob::new(kind(), bad.clone())
                    .expect_err("refused")
                    .field(),
                "payload",
                "{bad}"
            );
        }
    }

    #[test]
    fn limits_name_their_field() {
        let j = NewJob::new(kind(), json!({})).expect("job");
        assert_eq!(
            j.clone().priority(101).check().expect_err("p").field(),
            "priority"
        );
        assert_eq!(
            j.clone().max_attempts(0).check().expect_err("m").field(),
            "max_attempts"
        );
        assert_eq!(
            j.clone().unique_key(" ").check().expect_err("u").field(),
            "unique_key"
        );
        assert!(
            j.max_attempts(MAX_ATTEMPTS)
                .unique_key("k:1")
                .check()
                .is_ok()
        );
    }
}

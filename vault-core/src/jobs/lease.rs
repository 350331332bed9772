//! The job state machine with leases and fencing: what a claim, a
//! heartbeat, a completion or an admin's command does to a stored job.
//! Each store reads the job inside its transaction, calls one of these and
//! writes what it returns, so every store moves jobs the same way.

use chrono::{DateTime, Duration, Utc};

use crate::jobs::backoff::Backoff;
use crate::jobs::job::{AttemptOutcome, Job, JobAttempt, JobLease, JobState};

/// Why a worker's heartbeat or completion was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// The job was claimed again (its lease had run out) or cancelled since
    /// this fence: the worker lost it, and its result is not recorded.
    Fenced {
        /// The fence the job carries now.
        current: u64,
    },
    /// The job is not running (it finished, or was released).
    NotRunning,
}

impl Stale {
    /// In words, for a store's `Conflict`.
    pub fn reason(self) -> &'static str {
        match self {
            Stale::Fenced { .. } => "the job was claimed again or cancelled since this claim",
            Stale::NotRunning => "the job is not running",
        }
    }

    /// The `Conflict` every store answers for job `id`.
    pub fn conflict(self, id: crate::jobs::job::JobId) -> crate::value::error::StoreError {
        crate::value::error::StoreError::Conflict {
            entity: crate::value::error::Entity::Job,
            key: id.to_string(),
            reason: self.reason(),
        }
    }
}

/// What a claim does to a due job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The worker runs it: running under a fresh lease with the next fence,
    /// one more attempt, and the attempt's log row.
    Run(Job, JobAttempt),
    /// Its lease ran out on its last allowed attempt: it goes dead instead
    /// of running once more than allowed.
    Bury(Job),
}

/// A worker's claim of a due job (see [`Claimed`]). The attempt that held
/// the previous fence, when its lease ran out unfinished, is closed as
/// [`AttemptOutcome::Lost`] by [`lost_attempt`].
pub fn claim(job: &Job, worker: &str, now: DateTime<Utc>, lease: Duration) -> Claimed {
    let mut next = job.clone();
    next.updated_at = now;
    if job.state == JobState::Running && job.attempts >= job.max_attempts {
        next.state = JobState::Dead;
        next.lease = None;
        next.finished_at = Some(now);
        next.last_error = Some("the worker's lease ran out on the last attempt".into());
        return Claimed::Bury(next);
    }
    next.state = JobState::Running;
    next.attempts = job.attempts.saturating_add(1);
    next.fence = job.fence.saturating_add(1);
    next.run_at = now;
    next.lease = Some(JobLease {
        worker: worker.to_owned(),
        until: now + lease,
    });
    let attempt = JobAttempt {
        job_id: job.id,
        fence: next.fence,
        attempt: next.attempts,
        worker: worker.to_owned(),
        started_at: now,
        finished_at: None,
        outcome: None,
        error: None,
    };
    Claimed::Run(next, attempt)
}

/// The log row of the attempt a claim takes over from, closed as lost:
/// `Some` only when `job` was running (its lease ran out).
pub fn lost_attempt(job: &Job, now: DateTime<Utc>) -> Option<(u64, AttemptOutcome, DateTime<Utc>)> {
    (job.state == JobState::Running).then_some((job.fence, AttemptOutcome::Lost, now))
}

/// Extends the lease of the claim holding `fence`.
pub fn heartbeat(job: &Job, fence: u64, now: DateTime<Utc>, lease: Duration) -> Result<Job, Stale> {
    check_fence(job, fence)?;
    let mut next = job.clone();
    if let Some(l) = &mut next.lease {
        l.until = now + lease;
    }
    next.updated_at = now;
    Ok(next)
}

/// How an attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler did its work.
    Succeeded,
    /// The handler failed; `retry: false` for a failure that no retry can
    /// fix (bad payload), which goes dead at once.
    Failed {
        /// What went wrong, for operators (no secret).
        error: String,
        /// Whether another attempt may succeed.
        retry: bool,
    },
    /// The worker is stopping and gives the job back unstarted or
    /// unfinished: queued again at once, and the attempt does not count.
    Released,
}

/// What a completion needs besides the outcome: the clock, the schedule and
/// a jitter drawn from the caller's entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// Now.
    pub now: DateTime<Utc>,
    /// The retry schedule.
    pub backoff: Backoff,
    /// Any value; picks the retry instant within the backoff window.
    pub jitter: u64,
}

/// Records how the attempt holding `fence` ended: the job's next state and
/// the attempt's outcome for its log row. A failure with attempts left
/// is queued again after [`Backoff::delay`]; without, the job goes dead.
pub fn finish(
    job: &Job,
    fence: u64,
    outcome: &Outcome,
    c: &Completion,
) -> Result<(Job, AttemptOutcome), Stale> {
    check_fence(job, fence)?;
    let mut next = job.clone();
    next.lease = None;
    next.updated_at = c.now;
    let logged = match outcome {
        Outcome::Succeeded => {
            next.state = JobState::Succeeded;
            next.finished_at = Some(c.now);
            AttemptOutcome::Succeeded
        }
        Outcome::Failed { error, retry } => {
            next.last_error = Some(clip(error));
            if *retry && job.attempts < job.max_attempts {
                next.state = JobState::Queued;
                next.run_at = c.now + c.backoff.delay(job.attempts, c.jitter);
            } else {
                next.state = JobState::Dead;
                next.finished_at = Some(c.now);
            }
            AttemptOutcome::Failed
        }
        Outcome::Released => {
            next.state = JobState::Queued;
            next.run_at = c.now;
            next.attempts = job.attempts.saturating_sub(1);
            AttemptOutcome::Released
        }
    };
    Ok((next, logged))
}

/// An admin's command on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop it: a queued job never runs; a running one's completion is
    /// refused (its fence moves on).
    Cancel,
    /// Run it now: a queued, dead or cancelled job is queued for now with
    /// its attempts reset (its log keeps the history).
    RetryNow,
}

/// Why an admin's command does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotApplicable(pub &'static str);

impl NotApplicable {
    /// The `Conflict` every store answers for job `id`.
    pub fn conflict(self, id: crate::jobs::job::JobId) -> crate::value::error::StoreError {
        crate::value::error::StoreError::Conflict {
            entity: crate::value::error::Entity::Job,
            key: id.to_string(),
            reason: self.0,
        }
    }
}

/// Applies an admin's command at `now`: the job's next state, and for a
/// cancel of a running job, the attempt it ends.
pub fn command(
    job: &Job,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<(Job, Option<(u64, AttemptOutcome)>), NotApplicable> {
    let mut next = job.clone();
    next.updated_at = now;
    match cmd {
        Command::Cancel => {
            let ended = match job.state {
                JobState::Queued => None,
                JobState::Running => Some((job.fence, AttemptOutcome::Cancelled)),
                _ => {
                    return Err(NotApplicable(
                        "only a queued or running job can be cancelled",
                    ));
                }
            };
            next.state = JobState::Cancelled;
            next.lease = None;
            // A running worker's completion names the old fence: refused.
            next.fence = job.fence.saturating_add(u64::from(ended.is_some()));
            next.finished_at = Some(now);
            Ok((next, ended))
        }
        Command::RetryNow => {
            if job.state == JobState::Running || job.state == JobState::Succeeded {
                return Err(NotApplicable(
                    "a running or succeeded job cannot be retried",
                ));
            }
            next.state = JobState::Queued;
            next.run_at = now;
            next.attempts = 0;
            next.finished_at = None;
            Ok((next, None))
        }
    }
}

fn check_fence(job: &Job, fence: u64) -> Result<(), Stale> {
    if job.fence != fence {
        return Err(Stale::Fenced { current: job.fence });
    }
    if job.state != JobState::Running {
        return Err(Stale::NotRunning);
    }
    Ok(())
}

/// Errors are kept for operators, not as logs: the first 2000 characters.
fn clip(error: &str) -> String {
    error.chars().take(2000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::job::{JobId, JobKind, NewJob};
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).expect("time")
    }

    fn job(max: u32) -> Job {
        NewJob::new(JobKind::parse("k").expect("kind"), serde_json::json!({}))
            .expect("job")
            .max_attempts(max)
            .into_job(JobId::from_uuid(uuid::Uuid::nil()), t(0))
    }

    fn run(j: &Job, now: DateTime<Utc>) -> (Job, JobAttempt) {
        match claim(j, "w", now, Duration::seconds(10)) {
            Claimed::Run(j, a) => (j, a),
            Claimed::Bury(j) => panic!("buried {j:?}"),
        }
    }

    fn done(now: DateTime<Utc>) -> Completion {
        Completion {
            now,
            backoff: Backoff::default(),
            jitter: 0,
        }
    }

    #[test]
    fn a_job_is_due_when_queued_past_run_at_or_running_past_its_lease() {
        let j = job(3);
        assert!(j.is_due(t(0)));
        let (running, log) = run(&j, t(1));
        assert_eq!((running.fence, running.attempts, log.attempt), (1, 1, 1));
        assert!(!running.is_due(t(10)));
        assert!(running.is_due(t(11)));
        let (ok, outcome) = finish(&running, 1, &Outcome::Succeeded, &done(t(2))).expect("fresh");
        assert_eq!(
            (ok.state, outcome),
            (JobState::Succeeded, AttemptOutcome::Succeeded)
        );
        assert!(!ok.is_due(t(1_000_000)));
    }

    #[test]
    fn a_claim_after_the_lease_fences_off_the_first_worker() {
        let (first, _) = run(&job(3), t(0));
        assert_eq!(
            lost_attempt(&first, t(11)),
            Some((1, AttemptOutcome::Lost, t(11)))
        );
        let (second, _) = run(&first, t(11));
        assert_eq!(
            heartbeat(&second, 1, t(12), Duration::seconds(10)),
            Err(Stale::Fenced { current: 2 })
        );
        assert_eq!(
            finish(&second, 1, &Outcome::Succeeded, &done(t(12))),
            Err(Stale::Fenced { current: 2 })
        );
        assert!(finish(&second, 2, &Outcome::Succeeded, &done(t(12))).is_ok());
    }

    #[test]
    fn failures_back_off_then_go_dead_and_admins_bring_them_back() {
        let failed = Outcome::Failed {
            error: "smtp down".into(),
            retry: true,
        };
        let (r1, _) = run(&job(2), t(0));
        let (q1, o) = finish(&r1, 1, &failed, &done(t(1))).expect("fresh");
        assert_eq!((q1.state, o), (JobState::Queued, AttemptOutcome::Failed));
        assert_eq!(q1.run_at, t(1) + Duration::seconds(5));
        let (r2, _) = run(&q1, t(7));
        let (dead, _) = finish(&r2, 2, &failed, &done(t(8))).expect("fresh");
        assert_eq!(dead.state, JobState::Dead);
        assert_eq!(dead.last_error.as_deref(), Some("smtp down"));
        let (again, _) = command(&dead, Command::RetryNow, t(9)).expect("dead can retry");
        assert_eq!(
            (again.state, again.attempts, again.run_at),
            (JobState::Queued, 0, t(9))
        );
        let fatal = Outcome::Failed {
            error: "bad payload".into(),
            retry: false,
        };
        let (r, _) = run(&job(5), t(0));
        assert_eq!(
            finish(&r, 1, &fatal, &done(t(1))).expect("fresh").0.state,
            JobState::Dead
        );
    }

    #[test]
    fn a_release_gives_the_attempt_back_and_a_cancel_fences() {
        let (r, _) = run(&job(1), t(0));
        let (back, o) = finish(&r, 1, &Outcome::Released, &done(t(1))).expect("fresh");
        assert_eq!(
            (back.state, back.attempts, o),
            (JobState::Queued, 0, AttemptOutcome::Released)
        );
        let (r, _) = run(&back, t(2));
        let (cancelled, ended) = command(&r, Command::Cancel, t(3)).expect("running");
        assert_eq!(ended, Some((2, AttemptOutcome::Cancelled)));
        assert_eq!(
            finish(&cancelled, 2, &Outcome::Succeeded, &done(t(4))),
            Err(Stale::Fenced { current: 3 })
        );
        assert!(command(&cancelled, Command::Cancel, t(5)).is_err());
        assert!(command(&r, Command::RetryNow, t(5)).is_err());
    }

    #[test]
    fn a_lease_lost_on_the_last_attempt_buries_the_job() {
        let (r, _) = run(&job(1), t(0));
        match claim(&r, "w2", t(11), Duration::seconds(10)) {
            Claimed::Bury(dead) => {
                assert_eq!(
                    (dead.state, dead.attempts, dead.fence),
                    (JobState::Dead, 1, 1)
                );
                assert!(dead.lease.is_none());
            }
            Claimed::Run(..) => panic!("ran a second time with max_attempts 1"),
        }
    }

    proptest! {
        // Whatever sequence of claims (at any time), completions with any
        // fence and commands a job goes through: the fence never goes
        // back, only the latest claim's fence is accepted, attempts never
        // exceed the allowance while queued or running, and a finished job
        // is never due.
        #[test]
        fn fences_only_grow_and_only_the_latest_claim_completes(
            steps in proptest::collection::vec((0u8..6, 0i64..100, 0u64..4, any::<u64>()), 1..60),
            max in 1u32..5,
        ) {
            let mut j = job(max);
            let mut clock = 0i64;
            for (op, dt, fence_back, jitter) in steps {
                clock += dt;
                let now = t(clock);
                let before = j.clone();
                match op {
                    0 | 1 if j.is_due(now) => match claim(&j, "w", now, Duration::seconds(30)) {
                        Claimed::Run(next, log) => {
                            prop_assert_eq!(next.fence, before.fence + 1);
                            prop_assert_eq!(log.attempt, next.attempts);
                            j = next;
                        }
                        Claimed::Bury(next) => {
                            prop_assert_eq!(before.state, JobState::Running);
                            prop_assert_eq!(before.attempts, before.max_attempts);
                            j = next;
                        }
                    },
                    2 | 3 => {
                        let fence = j.fence.saturating_sub(fence_back);
                        let outcome = if op == 2 { Outcome::Succeeded } else {
                            Outcome::Failed { error: "e".into(), retry: true }
                        };
                        let c = Completion { now, backoff: Backoff::default(), jitter };
                        match finish(&j, fence, &outcome, &c) {
                            Ok((next, _)) => {
                                prop_assert_eq!(fence, before.fence);
                                prop_assert_eq!(before.state, JobState::Running);
                                j = next;
                            }
                            Err(_) => prop_assert!(fence != before.fence || before.state != JobState::Running),
                        }
                    }
                    4 => { if let Ok((next, _)) = command(&j, Command::Cancel, now) { j = next; } }
                    5 => { if let Ok((next, _)) = command(&j, Command::RetryNow, now) { j = next; } }
                    _ => {}
                }
                prop_assert!(j.fence >= before.fence);
                match j.state {
                    JobState::Queued => prop_assert!(j.attempts < j.max_attempts),
                    JobState::Running => prop_assert!((1..=j.max_attempts).contains(&j.attempts)),
                    _ => {}
                }
                if !j.state.is_active() {
                    prop_assert!(!j.is_due(t(clock + 1_000_000)));
                    prop_assert!(j.lease.is_none());
                }
            }
        }
    }
}

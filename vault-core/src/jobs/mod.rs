//! Durable jobs: what must happen later happens, once, even when workers
//! die (seed 003's `job_queue` and `job_log`).
//!
//! * [`job`] — a job, its state, kind, payload rules and attempt log;
//! * [`backoff`] — when a failed job runs again;
//! * [`lease`] — the state machine with leases and fencing tokens;
//! * [`schedule`] — recurring jobs, enqueued once per period by unique key;
//! * [`store`] — the queue's part of the storage contract;
//! * [`worker`] — the worker loop, runtime-free: the app passes its handler
//!   and its sleep.
//!
//! # Delivery semantics
//! A job's **completion is recorded once**: only the latest claim's fence
//! may finish it. Its **handler runs at least once**: a worker that dies
//! (or loses its lease) mid-job leaves the job to be claimed again after
//! the lease, so the handler may run twice for one job. It receives the
//! job id as an idempotency key, with which it makes its effects happen
//! once (a unique key on what it writes, an idempotency key on the
//! provider's API).
pub mod backoff;
pub mod job;
pub mod lease;
pub mod schedule;
pub mod store;
pub mod worker;

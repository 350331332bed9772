//! The [`Vault`] service: the operations a storefront calls, over a store, a
//! clock and an entropy source.
//!
//! Each operation takes the [`Actor`] performing it,
//! checks authorization and input first (a refusal writes nothing), computes
//! the outcome with the pure rules, and hands the store one atomic, guarded
//! write. Where a guarded write loses a race (`Conflict`), operations whose
//! outcome depends on fresh state (downloads, purchase completion) re-read and
//! decide again, up to [`VaultConfig::conflict_retries`] times.

mod account;
pub mod authz;
mod catalog;
mod comment;
mod commerce;
mod community;
mod delivery;
mod insight;
mod jobs;
pub mod maintenance;
mod page;
mod subscription;
mod traced;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::Instrument;

pub use self::catalog::{BundleQuote, BundleView};
pub use self::commerce::{CheckoutItem, StartPurchase};
pub use self::community::RatingSummary;
pub use self::delivery::DownloadTicket;
pub use self::insight::Interaction;
pub use self::subscription::{Enrollment, Followed};
pub use self::traced::TracedWrites;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::commerce::license::LicenseSecret;
use crate::community::rating::BayesianPrior;
use crate::delivery::access::AccessPolicy;
use crate::delivery::download::IpSalt;
use crate::jobs::job::JobKind;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::clock::{Clock, Entropy, new_uuid};
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::AuditId;

/// Settings of a vault: [`VaultConfig::new`] with the one secret it needs,
/// then `with_*` for what differs from the defaults. Non-exhaustive, so a
/// knob added later breaks nobody.
#[derive(Clone)]
#[non_exhaustive]
pub struct VaultConfig {
    /// The access rule's knobs (past_due grace).
    pub access: AccessPolicy,
    /// Prior of the Bayesian rating used for ranking.
    pub rating_prior: BayesianPrior,
    /// Secret salt for IP hashes.
    pub ip_salt: IpSalt,
    /// The secret license keys are derived from (see [`crate::commerce::license::LicenseKey::derive`]).
    pub license_secret: LicenseSecret,
    /// How often a download or completion re-decides after losing a race.
    pub conflict_retries: u32,
    /// Kinds of job enqueued in the transaction that completes a purchase
    /// (the outbox): each gets `{"purchase_id": ...}` and the unique key
    /// `{kind}:{purchase_id}`, so a receipt mail or a fulfilment runs if
    /// and only if the purchase completed, once.
    pub purchase_jobs: Vec<JobKind>,
    /// Kinds of job enqueued in the write that opens an account (a welcome
    /// mail): each gets `{"user_id": ...}` and the unique key
    /// `{kind}:{user_id}`.
    pub account_jobs: Vec<JobKind>,
}

impl VaultConfig {
    /// Defaults with the app's IP salt (a secret of at least 16 bytes).
    /// License keys are derived under a secret drawn from the salt, unless
    /// [`VaultConfig::with_license_secret`] sets one of their own.
    pub fn new(ip_salt: IpSalt) -> Self {
        Self {
            access: AccessPolicy::default(),
            rating_prior: BayesianPrior::default(),
            license_secret: LicenseSecret::derived_from(
                ip_salt.bytes(),
                "workflow-vault license keys v1",
            ),
            ip_salt,
            conflict_retries: 8,
            purchase_jobs: Vec::new(),
            account_jobs: Vec::new(),
        }
    }

    /// The access rule's knobs (the past-due grace period).
    pub fn with_access_policy(mut self, access: AccessPolicy) -> Self {
        self.access = access;
        self
    }

    /// The secret license keys are derived from. Changing it changes every
    /// key the vault shows: keys issued under the old one still hash to
    /// their purchases, but [`Vault::license_key`] no longer gives them.
    pub fn with_license_secret(mut self, secret: LicenseSecret) -> Self {
        self.license_secret = secret;
        self
    }

    /// The prior of the Bayesian rating listings rank by.
    pub fn with_rating_prior(mut self, prior: BayesianPrior) -> Self {
        self.rating_prior = prior;
        self
    }

    /// Jobs to enqueue with every completed purchase (see
    /// [`VaultConfig::purchase_jobs`]).
    pub fn with_purchase_jobs(mut self, kinds: impl IntoIterator<Item = JobKind>) -> Self {
        self.purchase_jobs = kinds.into_iter().collect();
        self
    }

    /// Jobs to enqueue with every account opened (see
    /// [`VaultConfig::account_jobs`]).
    pub fn with_account_jobs(mut self, kinds: impl IntoIterator<Item = JobKind>) -> Self {
        self.account_jobs = kinds.into_iter().collect();
        self
    }

    /// How often a download or a settlement decides again after losing a
    /// race (at least once).
    pub fn with_conflict_retries(mut self, retries: u32) -> Self {
        self.conflict_retries = retries;
        self
    }
}

// The salt and the license secret show redacted (their own Debug).
impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("access", &self.access)
            .field("rating_prior", &self.rating_prior)
            .field("ip_salt", &self.ip_salt)
            .field("license_secret", &self.license_secret)
            .field("conflict_retries", &self.conflict_retries)
            .field("purchase_jobs", &self.purchase_jobs)
            .field("account_jobs", &self.account_jobs)
            .finish()
    }
}

/// The marketplace service. Cheap to clone (everything is behind `Arc`).
pub struct Vault<S: ?Sized = dyn Store> {
    store: Arc<S>,
    // Every write goes through here, each in its span.
    writes: TracedWrites<S>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: VaultConfig,
}

impl<S: ?Sized> Clone for Vault<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            writes: self.writes.clone(),
            clock: Arc::clone(&self.clock),
            entropy: Arc::clone(&self.entropy),
            config: self.config.clone(),
        }
    }
}

impl<S: ?Sized + fmt::Debug> fmt::Debug for Vault<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store + ?Sized> Vault<S> {
    /// A vault over `store`, reading time from `clock` and minting ids from
    /// `entropy` (license keys are derived from the ids: see
    /// [`VaultConfig::license_secret`]).
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: VaultConfig,
    ) -> Self {
        Self {
            writes: TracedWrites::new(Arc::clone(&store)),
            store,
            clock,
            entropy,
            config,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    // Every instant the vault stores is truncated to the microsecond: the
    // finest precision every backend keeps (PostgreSQL's TIMESTAMPTZ), so a
    // record reads back exactly as written on all of them.
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    fn uuid(&self) -> uuid::Uuid {
        new_uuid(self.entropy.as_ref())
    }

    // Refuses a caller whose account may not act. A user id without an
    // account acts as before (an app need not keep accounts).
    async fn gate(&self, actor: &Actor) -> Result<()> {
        if let Some(user) = actor.user_id()
            && let Some(refusal) = self.store.account_refusal(user).await?
        {
            return Err(Error::Refused { refusal });
        }
        Ok(())
    }

    // Every call but the access reads (which get the standing from their
    // one read): the caller's standing first, then the call, in its span.
    async fn acting<T>(
        &self,
        actor: &Actor,
        span: tracing::Span,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        traced(span, async move {
            self.gate(actor).await?;
            call.await
        })
        .await
    }

    // The entry recording `actor` doing `action` to `target` keyed `id`,
    // stamped now; the write that carries it stores it.
    fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Entity,
        id: impl fmt::Display,
    ) -> Result<AuditEntry> {
        Ok(AuditEntry::new(
            AuditId::from_uuid(self.uuid()),
            actor,
            action,
            target,
            id.to_string(),
            self.now(),
        )?)
    }
}

/// Runs one service call inside its span (`vault.<method>`, with the actor's
/// kind and the ids it names; the subscriber times it) and records how it
/// ended as the span's `outcome`: `ok` or the error's kind. Nothing else of
/// the call's values reaches the span: no secret, key, IP or email.
async fn traced<T>(span: tracing::Span, call: impl Future<Output = Result<T>>) -> Result<T> {
    let out = call.instrument(span.clone()).await;
    span.record(
        "outcome",
        match &out {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        },
    );
    out
}

/// Runs `attempt` until it does not fail with a conflict, at most `tries`
/// times; the last error is returned.
async fn retry_conflicts<T, F, Fut>(tries: u32, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut left = tries.max(1);
    loop {
        match attempt().await {
            Err(crate::value::error::Error::Conflict { .. }) if left > 1 => left -= 1,
            other => return other,
        }
    }
}

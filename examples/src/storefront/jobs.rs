//! The storefront's background work, on the vault's job queue: the
//! vault's maintenance and vault-stripe's webhook jobs (scheduled by the
//! worker, once per period across processes), and its mails. The welcome
//! and the receipt are enqueued by the vault in the very write that opens
//! the account or completes the purchase (its outbox, see
//! [`vault_core::vault::VaultConfig::account_jobs`] and `purchase_jobs`);
//! a password reset by the request. A worker sends them through the app's
//! [`Mailer`](super::mail::Mailer), retried with backoff when the sender
//! fails. The payload names the account or the purchase, never an address
//! or a token: the reset link is minted when the mail is sent, so no secret
//! waits in the queue.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use vault_core::jobs::job::{JobKind, NewJob};
use vault_core::jobs::lease::Outcome;
use vault_core::jobs::worker::{JobContext, JobHandler, Stop, WorkerConfig, WorkerReport};
use vault_core::value::ids::PurchaseId;
use vault_core::vault::maintenance::{self, Maintenance};
use vault_core::{Actor, UserId};
use vault_stripe::webhook::jobs as webhook_jobs;

use super::mail::Mail;
use super::{AppState, PageError};

/// The welcome mail of a new account.
pub const WELCOME: &str = "mail.welcome";
/// A password-reset mail with a fresh link.
pub const PASSWORD_RESET: &str = "mail.password_reset";
/// The receipt of a completed purchase (enqueued by the vault's outbox).
pub const RECEIPT: &str = "mail.receipt";

/// Enqueues the mail `kind` for `user` (three attempts): a password reset,
/// which no other write carries.
pub(super) async fn enqueue_mail(
    app: &AppState,
    kind: &str,
    user: &UserId,
) -> Result<(), PageError> {
    let job = NewJob::new(JobKind::parse(kind)?, json!({ "user_id": user.as_str() }))?
        .max_attempts(3)
        .priority(10);
    app.vault.enqueue(&Actor::Service, job).await?;
    Ok(())
}

/// Runs the storefront's jobs until stopped.
#[derive(Clone)]
pub struct Worker {
    app: Arc<AppState>,
    stop: Arc<Stop>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl Worker {
    pub(super) fn new(app: Arc<AppState>) -> Self {
        Self {
            app,
            stop: Arc::new(Stop::new()),
        }
    }

    /// Asks the loop to stop: the job in hand finishes, the rest of its
    /// batch is released for another worker.
    pub fn stop(&self) {
        self.stop.request();
    }

    /// Runs until [`Worker::stop`], on tokio.
    pub async fn run(self) -> WorkerReport {
        let mut config = WorkerConfig::new(format!("storefront-{}", std::process::id()));
        config.idle = std::time::Duration::from_millis(200);
        // The vault's maintenance and vault-stripe's webhook upkeep, each
        // enqueued once per period however many processes run this.
        config.recurring = maintenance::recurring();
        config.recurring.extend(webhook_jobs::recurring());
        let handler = Jobs {
            mails: Mails {
                app: Arc::clone(&self.app),
            },
            maintenance: Maintenance::new(self.app.vault.clone()),
            app: Arc::clone(&self.app),
        };
        self.app
            .vault
            .run_jobs(&config, &handler, tokio::time::sleep, &self.stop)
            .await
    }
}

/// Every job the storefront runs, by kind: its mails, the vault's
/// maintenance, and vault-stripe's webhook jobs.
struct Jobs {
    mails: Mails,
    maintenance: Maintenance,
    app: Arc<AppState>,
}

#[async_trait]
impl JobHandler for Jobs {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        if Maintenance::handles(&ctx.job.kind) {
            return self.maintenance.handle(ctx).await;
        }
        if webhook_jobs::handles(&ctx.job.kind) {
            // Built per job, as per delivery: staff may change the plans.
            return match self.app.shop.hooks().await {
                Ok(hooks) => hooks.run_job(ctx).await,
                Err(e) => retry(e.message),
            };
        }
        self.mails.handle(ctx).await
    }
}

struct Mails {
    app: Arc<AppState>,
}

fn retry(error: impl std::fmt::Display) -> Outcome {
    Outcome::Failed {
        error: error.to_string(),
        retry: true,
    }
}

fn fatal(error: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: error.into(),
        retry: false,
    }
}

#[async_trait]
impl JobHandler for Mails {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        let app = &self.app;
        if ![WELCOME, PASSWORD_RESET, RECEIPT].contains(&ctx.job.kind.as_str()) {
            return fatal(format!("not a storefront job: {}", ctx.job.kind));
        }
        let purchase = match ctx.job.payload["purchase_id"].as_str() {
            None => None,
            Some(id) => {
                let Ok(id) = id.parse::<PurchaseId>() else {
                    return fatal("the payload's purchase_id is not an id");
                };
                match app.vault.purchase(&Actor::Service, id).await {
                    Ok(p) => Some(p),
                    Err(vault_core::Error::NotFound { .. }) => {
                        return fatal("the purchase is gone");
                    }
                    Err(e) => return retry(e),
                }
            }
        };
        let user = match &purchase {
            Some(p) => p.user_id.clone(),
            None => match ctx.job.payload["user_id"]
                .as_str()
                .and_then(|u| UserId::parse(u).ok())
            {
                Some(u) => u,
                None => return fatal("the payload names no user_id"),
            },
        };
        let account = match app.vault.account(&Actor::Service, &user).await {
            Ok(a) => a,
            Err(vault_core::Error::NotFound { .. }) => return fatal("the account is gone"),
            Err(e) => return retry(e),
        };
        let Some(to) = account.email.as_ref().map(|e| e.as_str().to_owned()) else {
            return fatal("the account has no email");
        };
        let now = app.clock.now();
        let mail = match ctx.job.kind.as_str() {
            WELCOME => Mail {
                to,
                subject: "Welcome to Workflow Vault".into(),
                body: format!(
                    "Your account is ready. Browse the catalog at {}/ and find what you bought on {}/dashboard.",
                    app.public_url, app.public_url
                ),
                sent_at: now,
            },
            PASSWORD_RESET => {
                if account.refusal().is_some() {
                    return fatal("the account may not sign in");
                }
                let token = app.auth.issue_reset(user, now);
                Mail {
                    to,
                    subject: "Reset your Workflow Vault password".into(),
                    body: format!(
                        "Someone asked to reset the password of this account. If it was you, open {}/reset/{token} within 30 minutes. If not, ignore this mail.",
                        app.public_url
                    ),
                    sent_at: now,
                }
            }
            RECEIPT => {
                let Some(p) = purchase else {
                    return fatal("a receipt names its purchase_id");
                };
                Mail {
                    to,
                    subject: "Your Workflow Vault receipt".into(),
                    body: format!(
                        "Thank you for your purchase (total {}). Your receipt and downloads: {}/dashboard/purchases/{}",
                        p.total, app.public_url, p.id
                    ),
                    sent_at: now,
                }
            }
            other => return fatal(format!("not a storefront job: {other}")),
        };
        match app.mailer.send(mail).await {
            Ok(()) => Outcome::Succeeded,
            Err(e) => Outcome::Failed {
                error: format!("the mailer: {e}"),
                retry: true,
            },
        }
    }
}

//! Mail the storefront sends (welcome, password reset), through a sender the
//! app provides. The demo's sender keeps them for the `/dev/mailbox` page.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// One mail.
#[derive(Clone)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When it was handed to the sender.
    pub sent_at: DateTime<Utc>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A body may hold a reset link: a bearer secret.
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A sender failed; the storefront logs it and tells the person to retry.
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// What sends the storefront's mail: SMTP, an email API, or the dev mailbox.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends one mail.
    fn send(&self, mail: Mail) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + '_>>;

    /// The mails kept for `/dev/mailbox`, newest first; `None` for a real
    /// sender (the page then does not exist).
    fn mailbox(&self) -> Option<Vec<Mail>> {
        None
    }
}

/// Keeps every mail in memory (the last 200) for `/dev/mailbox`: for demos
/// and tests, never for a real site.
#[derive(Debug, Default)]
pub struct DevMailbox {
    mails: Mutex<Vec<Mail>>,
}

impl Mailer for DevMailbox {
    fn send(&self, mail: Mail) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + '_>> {
        Box::pin(async move {
            let mut mails = self
                .mails
                .lock()
                .map_err(|_| MailError("mailbox poisoned".into()))?;
            if mails.len() >= 200 {
                mails.remove(0);
            }
            mails.push(mail);
            Ok(())
        })
    }

    fn mailbox(&self) -> Option<Vec<Mail>> {
        let mails = self.mails.lock().ok()?;
        Some(mails.iter().rev().cloned().collect())
    }
}

//! What an access decision says: how access was granted, or every reason it
//! was refused and what would grant it, with the trace of the rules
//! consulted. How a decision is reached is the access rule's
//! ([`crate::delivery::access::decide`]); what it says sits here, beside the
//! crate's [`Error`](crate::value::error::Error), whose `Denied` variant
//! carries it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::ids::{MembershipId, PurchaseId};
use crate::value::money::Money;
use crate::value::quota::Quota;
use crate::value::status::{
    DownloadKind, DownloadSource, MembershipStatus, PaymentStatus, WorkflowStatus,
};
use crate::value::tier::PricingTier;
use crate::value::version::Version;

/// How access was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// Free content.
    Free,
    /// Through a purchase.
    Purchased,
    /// Through a paid membership.
    Member,
    /// Through a trial membership.
    Trial,
    /// Staff (admin or service).
    Staff,
}

impl AccessKind {
    /// The download type recorded for it.
    pub fn download_kind(&self) -> DownloadKind {
        match self {
            AccessKind::Free | AccessKind::Staff => DownloadKind::Free,
            AccessKind::Purchased => DownloadKind::Purchased,
            AccessKind::Member => DownloadKind::Membership,
            AccessKind::Trial => DownloadKind::Trial,
        }
    }
}

/// A granted access: how, through which entitlement, and the quota that a
/// download would be charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// How.
    pub kind: AccessKind,
    /// The entitlement a download is charged to.
    pub source: DownloadSource,
    /// Its quota before the download, when it has one.
    pub quota: Option<Quota>,
    /// For a purchase grant, the status it was granted in. The download's
    /// guarded write requires it unchanged at commit time.
    pub purchase_status: Option<PaymentStatus>,
    /// For a membership grant, the period it was granted in.
    pub period_start: Option<DateTime<Utc>>,
}

/// Why a rule refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DenyReason {
    /// Draft or coming soon.
    NotReleased {
        /// Its status.
        status: WorkflowStatus,
    },
    /// Needs a signed-in user.
    SignInRequired,
    /// The actor holds nothing that covers it.
    NoEntitlement,
    /// A purchase is not paid.
    PurchaseNotPaid {
        /// Purchase.
        purchase_id: PurchaseId,
        /// Its status.
        status: PaymentStatus,
    },
    /// A purchase was refunded.
    PurchaseRefunded {
        /// Purchase.
        purchase_id: PurchaseId,
        /// When.
        at: Option<DateTime<Utc>>,
    },
    /// A purchase is under dispute.
    PurchaseDisputed {
        /// Purchase.
        purchase_id: PurchaseId,
        /// Since when.
        since: Option<DateTime<Utc>>,
    },
    /// The license expired.
    LicenseExpired {
        /// Purchase.
        purchase_id: PurchaseId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The purchase's download quota is used up.
    PurchaseQuotaUsed {
        /// Purchase.
        purchase_id: PurchaseId,
        /// Quota.
        quota: Quota,
    },
    /// The file's version came out after the purchase's update window.
    VersionNotCovered {
        /// Purchase.
        purchase_id: PurchaseId,
        /// The file's version.
        version: Version,
        /// Its release.
        released_at: DateTime<Utc>,
        /// The end of the window.
        updates_until: DateTime<Utc>,
    },
    /// Bought after the workflow was archived.
    ArchivedBeforePurchase {
        /// Purchase.
        purchase_id: PurchaseId,
        /// When it was archived.
        archived_at: DateTime<Utc>,
    },
    /// The membership's tier is too low.
    TierTooLow {
        /// Membership.
        membership_id: MembershipId,
        /// Tier needed.
        needed: PricingTier,
        /// Tier held.
        have: PricingTier,
    },
    /// The membership is canceled or expired.
    MembershipEnded {
        /// Membership.
        membership_id: MembershipId,
        /// Its status.
        status: MembershipStatus,
        /// When it ended.
        at: DateTime<Utc>,
    },
    /// The trial, period or grace ran out without a renewal.
    MembershipLapsed {
        /// Membership.
        membership_id: MembershipId,
        /// Its status.
        status: MembershipStatus,
        /// Since when.
        since: DateTime<Utc>,
    },
    /// The membership's period quota is used up.
    PeriodQuotaUsed {
        /// Membership.
        membership_id: MembershipId,
        /// Quota.
        quota: Quota,
        /// The end of the quota's period: it resets then if the membership
        /// renews (for a past_due membership this may already be past).
        resets_at: DateTime<Utc>,
    },
    /// The file is for buyers only; memberships do not cover it.
    OwnersOnly {
        /// Membership.
        membership_id: MembershipId,
    },
    /// Archived, and the member never downloaded it before.
    ArchivedNoPriorAccess,
}

fn day(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NotReleased { status } => match status {
                WorkflowStatus::Draft => {
                    f.write_str("workflow is a draft; only staff can download it")
                }
                WorkflowStatus::ComingSoon => {
                    f.write_str("workflow is coming soon; only staff can download it")
                }
                _ => write!(f, "workflow is {status}; only staff can download it"),
            },
            DenyReason::SignInRequired => f.write_str("sign in to download paid content"),
            DenyReason::NoEntitlement => f.write_str("no purchase or membership covers it"),
            DenyReason::PurchaseNotPaid { status, .. } => match status {
                PaymentStatus::Pending => f.write_str("purchase is awaiting payment"),
                PaymentStatus::Failed => f.write_str("purchase payment failed"),
                _ => write!(f, "purchase is {status}"),
            },
            DenyReason::PurchaseRefunded { at, .. } => match at {
                Some(at) => write!(f, "purchase refunded on {}", day(at)),
                None => f.write_str("purchase refunded"),
            },
            DenyReason::PurchaseDisputed { since, .. } => match since {
                Some(at) => write!(f, "purchase under dispute since {}", day(at)),
                None => f.write_str("purchase under dispute"),
            },
            DenyReason::LicenseExpired { at, .. } => {
                write!(f, "license expired on {}", day(at))
            }
            DenyReason::PurchaseQuotaUsed { quota, .. } => write!(f, "{quota}"),
            DenyReason::VersionNotCovered {
                version,
                released_at,
                updates_until,
                ..
            } => write!(
                f,
                "version {version} was released on {}, after your updates ended on {}",
                day(released_at),
                day(updates_until)
            ),
            DenyReason::ArchivedBeforePurchase { archived_at, .. } => {
                write!(
                    f,
                    "bought after the workflow was archived on {}",
                    day(archived_at)
                )
            }
            DenyReason::TierTooLow { needed, have, .. } => {
                write!(f, "needs tier {needed} or higher; you have {have}")
            }
            DenyReason::MembershipEnded { status, at, .. } => {
                write!(f, "membership {status} on {}", day(at))
            }
            DenyReason::MembershipLapsed { status, since, .. } => match status {
                MembershipStatus::Trialing => write!(f, "trial ended on {}", day(since)),
                MembershipStatus::PastDue => {
                    write!(f, "payment overdue; grace period ended on {}", day(since))
                }
                _ => write!(f, "membership period ended on {}", day(since)),
            },
            DenyReason::PeriodQuotaUsed {
                quota, resets_at, ..
            } => write!(f, "{quota} in the period ending {}", day(resets_at)),
            DenyReason::OwnersOnly { .. } => {
                f.write_str("this file is for buyers only; memberships do not include it")
            }
            DenyReason::ArchivedNoPriorAccess => {
                f.write_str("workflow is archived; only earlier buyers and downloaders keep access")
            }
        }
    }
}

/// What would grant access after a denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "remedy", rename_all = "snake_case")]
pub enum Remedy {
    /// Sign in.
    SignIn,
    /// Buy the workflow.
    Buy {
        /// Its price.
        price: Money,
    },
    /// Join at this tier or higher.
    Join {
        /// Minimum tier.
        tier: PricingTier,
    },
    /// Upgrade the membership.
    Upgrade {
        /// Membership.
        membership_id: MembershipId,
        /// To this tier or higher.
        to: PricingTier,
    },
    /// Pay the overdue renewal or renew the membership.
    Renew {
        /// Membership.
        membership_id: MembershipId,
    },
    /// Wait for the period quota to reset.
    WaitUntil {
        /// When it resets.
        at: DateTime<Utc>,
    },
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::SignIn => f.write_str("sign in"),
            Remedy::Buy { price } => write!(f, "buy it for {price}"),
            Remedy::Join { tier } => write!(f, "join at tier {tier} or higher"),
            Remedy::Upgrade { to, .. } => write!(f, "upgrade your membership to {to}"),
            Remedy::Renew { .. } => f.write_str("renew your membership"),
            Remedy::WaitUntil { at } => write!(f, "wait until {}", day(at)),
        }
    }
}

/// A rule of the precedence list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", content = "id", rename_all = "snake_case")]
pub enum Rule {
    /// 1: draft and coming soon.
    Release,
    /// 2: admins and the service.
    Staff,
    /// 3: public files.
    PublicFile,
    /// 4: free workflows.
    FreeWorkflow,
    /// 5: signed in.
    SignIn,
    /// 6: one purchase.
    Purchase(PurchaseId),
    /// 6: one membership.
    Membership(MembershipId),
    /// 7/8: choosing among entitlements, or denying.
    Entitlements,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Release => f.write_str("release status"),
            Rule::Staff => f.write_str("staff"),
            Rule::PublicFile => f.write_str("public file"),
            Rule::FreeWorkflow => f.write_str("free workflow"),
            Rule::SignIn => f.write_str("signed in"),
            Rule::Purchase(id) => write!(f, "purchase {id}"),
            Rule::Membership(id) => write!(f, "membership {id}"),
            Rule::Entitlements => f.write_str("entitlements"),
        }
    }
}

/// One rule's verdict in a decision's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The rule would grant this way.
    Grants {
        /// How.
        kind: AccessKind,
    },
    /// The rule refuses, for this reason.
    Refuses(DenyReason),
    /// The rule does not apply here; the next one is consulted.
    Passes {
        /// Why not.
        note: Cow<'static, str>,
    },
}

/// One entry of a decision's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The rule.
    pub rule: Rule,
    /// What it said.
    pub verdict: Verdict,
}

/// The outcome and its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDecision {
    /// `Some` when granted.
    pub grant: Option<Grant>,
    /// Every rule consulted, in order.
    pub trace: Vec<Step>,
    /// The rule that decided.
    pub decided_by: Rule,
    /// For a denial, every reason found (empty when granted).
    pub reasons: Vec<DenyReason>,
    /// For a denial, what would grant access (empty when granted).
    pub remedies: Vec<Remedy>,
}

impl AccessDecision {
    /// True when granted.
    pub fn is_granted(&self) -> bool {
        self.grant.is_some()
    }

    /// How access was granted, if it was.
    pub fn kind(&self) -> Option<AccessKind> {
        self.grant.map(|g| g.kind)
    }

    /// One line for humans: "granted: purchased" or "denied: 5 of 5 downloads
    /// used; to get access: buy it for 49.00 USD".
    pub fn summary(&self) -> String {
        match &self.grant {
            Some(g) => format!("granted: {} (by {})", kind_name(g.kind), self.decided_by),
            None => {
                let reasons: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
                let mut s = format!("denied: {}", reasons.join("; "));
                if !self.remedies.is_empty() {
                    let r: Vec<String> = self.remedies.iter().map(ToString::to_string).collect();
                    s.push_str("; to get access: ");
                    s.push_str(&r.join(" or "));
                }
                s
            }
        }
    }
}

fn kind_name(k: AccessKind) -> &'static str {
    match k {
        AccessKind::Free => "free",
        AccessKind::Purchased => "purchased",
        AccessKind::Member => "member",
        AccessKind::Trial => "trial",
        AccessKind::Staff => "staff",
    }
}

impl fmt::Display for AccessDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for (i, s) in self.trace.iter().enumerate() {
            let v = match &s.verdict {
                Verdict::Grants { kind } => format!("grants ({})", kind_name(*kind)),
                Verdict::Refuses(r) => format!("refuses: {r}"),
                Verdict::Passes { note } => format!("passes: {note}"),
            };
            writeln!(f, "  {}. {}: {v}", i + 1, s.rule)?;
        }
        Ok(())
    }
}

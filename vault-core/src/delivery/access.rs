//! Access: who may download a workflow (or one of its files), why, and what
//! would change a "no".
//!
//! [`decide`] is a pure function of the actor, the target, the actor's
//! entitlements, the time and the policy. It returns an [`AccessDecision`]
//! that carries its own explanation: every rule consulted in order, the one
//! that decided, and for a denial the reasons and the remedies.
//!
//! # Precedence
//! Rules are consulted in this order; the first that decides wins.
//!
//! 1. **Release.** `draft` and `coming_soon` workflows are downloadable by
//!    staff (admins and the service) only.
//! 2. **Staff.** Admins and the service may download anything, uncharged.
//! 3. **Public file.** A file marked [`FileAccess::Public`] (a preview) of a
//!    published workflow is free for everyone, anonymous visitors included.
//! 4. **Free workflow.** A published free-tier workflow is free for everyone,
//!    unless the file is stricter ([`FileAccess::MinimumTier`] or
//!    [`FileAccess::OwnersOnly`]), in which case entitlements decide.
//! 5. **Sign-in.** Beyond this point an anonymous visitor is denied.
//! 6. **Entitlements.** Each purchase covering the workflow (directly or
//!    through a bundle) and each membership is checked on its own:
//!    * a purchase must be paid (`completed` or `partially_refunded`; a
//!      refunded, disputed, pending or failed one never grants), its license
//!      unexpired, its download quota not used up, and the file's version
//!      released no later than the purchase's update window
//!      (`updates_until`): later versions are not covered, earlier ones are
//!      forever;
//!    * a membership must be trialing within its trial, active within its
//!      period, or past_due within the grace period of the policy; its tier
//!      must cover the workflow's tier and a file's minimum tier; the file
//!      must not be owners-only; and its period quota must have room;
//!    * for an **archived** workflow only access held before archiving
//!      counts: purchases completed before it was archived, and for members
//!      and free workflows a download made before.
//! 7. **Cheapest entitlement.** When several pass, the one that costs the
//!    user least is used, in this order: a purchase without a download limit;
//!    a membership without a period limit; a membership with room in its
//!    period quota (it renews), most remaining first; a purchase with a
//!    download limit (permanent units), soonest license expiry first, then
//!    most remaining. Paid memberships come before trials, and ties are
//!    broken by id, so the decision never depends on input order.
//! 8. Otherwise the decision is a denial listing every reason found and what
//!    would grant access (buy, upgrade, wait for the next period, sign in).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::file::{FileAccess, WorkflowFile};
use crate::catalog::workflow::{Workflow, WorkflowStatus};
use crate::commerce::license::Quota;
use crate::commerce::membership::{Membership, MembershipStatus, Standing};
use crate::commerce::purchase::{PaymentStatus, Purchase};
use crate::delivery::download::{DownloadKind, DownloadSource};
use crate::value::actor::Actor;
use crate::value::ids::{FileId, MembershipId, PurchaseId, WorkflowId};
use crate::value::money::Money;
use crate::value::tier::PricingTier;
use crate::value::version::Version;

/// Knobs of the access rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// How long a past_due membership keeps access after the failed payment.
    pub past_due_grace: Duration,
}

impl Default for AccessPolicy {
    /// Three days of grace, as card retries usually succeed within that.
    fn default() -> Self {
        Self {
            past_due_grace: Duration::days(3),
        }
    }
}

/// The file being asked for, with the release time of its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTarget {
    /// File.
    pub file_id: FileId,
    /// Its access level.
    pub access: FileAccess,
    /// Its version.
    pub version: Version,
    /// When that version was released (the update's release time, or the
    /// file's creation when no update names it).
    pub released_at: DateTime<Utc>,
}

impl FileTarget {
    /// From a stored file and its version's release time.
    pub fn new(file: &WorkflowFile, released_at: DateTime<Utc>) -> Self {
        Self {
            file_id: file.id,
            access: file.access,
            version: file.version,
            released_at,
        }
    }
}

/// What is being accessed: the facts of the workflow the rule needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Workflow.
    pub workflow_id: WorkflowId,
    /// Its status.
    pub status: WorkflowStatus,
    /// Its tier.
    pub tier: PricingTier,
    /// Its one-time price, if sold individually.
    pub price: Option<Money>,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// The file, when a specific one is asked for.
    pub file: Option<FileTarget>,
}

/// The part of a workflow the access rule reads: what a store's access read
/// fetches instead of the whole row (descriptions, media, SEO and counters
/// play no part in a decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateFacts {
    /// Workflow.
    pub id: WorkflowId,
    /// Its status.
    pub status: WorkflowStatus,
    /// Its tier.
    pub tier: PricingTier,
    /// Its one-time price, if sold individually.
    pub price: Option<Money>,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<&Workflow> for GateFacts {
    fn from(w: &Workflow) -> Self {
        Self {
            id: w.id,
            status: w.status,
            tier: w.content.pricing_tier,
            price: w.content.price,
            archived_at: w.archived_at,
        }
    }
}

impl Target {
    /// The target for `workflow` (and optionally one of its files).
    pub fn new(workflow: &Workflow, file: Option<FileTarget>) -> Self {
        Self::of(&GateFacts::from(workflow), file)
    }

    /// The target for a workflow's [`GateFacts`] (and optionally a file).
    pub fn of(workflow: &GateFacts, file: Option<FileTarget>) -> Self {
        Self {
            workflow_id: workflow.id,
            status: workflow.status,
            tier: workflow.tier,
            price: workflow.price,
            archived_at: workflow.archived_at,
            file,
        }
    }

    fn required_member_tier(&self) -> PricingTier {
        match self.file.as_ref().map(|f| f.access) {
            Some(FileAccess::MinimumTier(t)) => t.max(self.tier),
            _ => self.tier,
        }
    }

    /// True when the file asks more than the workflow's tier: owners-only,
    /// or a minimum tier above the workflow's own (a minimum at or below it
    /// changes nothing, see [`FileAccess::MinimumTier`]).
    fn file_is_stricter(&self) -> bool {
        match self.file.as_ref().map(|f| f.access) {
            Some(FileAccess::OwnersOnly) => true,
            Some(FileAccess::MinimumTier(t)) => t > self.tier,
            Some(FileAccess::Public | FileAccess::Standard) | None => false,
        }
    }
}

/// What the actor holds that might grant access. The service loads the
/// actor's purchases covering the workflow and their memberships; anything
/// irrelevant is ignored, so passing more never hurts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlements {
    /// Purchases (any status).
    pub purchases: Vec<Purchase>,
    /// Memberships (any status).
    pub memberships: Vec<Membership>,
    /// The actor downloaded this workflow before (for archived workflows).
    pub downloaded_before: bool,
}

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

struct Trace {
    steps: Vec<Step>,
}

impl Trace {
    fn push(&mut self, rule: Rule, verdict: Verdict) {
        self.steps.push(Step { rule, verdict });
    }

    fn grant(mut self, rule: Rule, grant: Grant) -> AccessDecision {
        self.push(rule, Verdict::Grants { kind: grant.kind });
        AccessDecision {
            grant: Some(grant),
            trace: self.steps,
            decided_by: rule,
            reasons: vec![],
            remedies: vec![],
        }
    }

    fn deny(
        mut self,
        rule: Rule,
        reasons: Vec<DenyReason>,
        remedies: Vec<Remedy>,
    ) -> AccessDecision {
        if let [only] = reasons.as_slice() {
            self.push(rule, Verdict::Refuses(only.clone()));
        } else if !matches!(rule, Rule::Entitlements) || reasons.is_empty() {
            self.push(rule, Verdict::Refuses(DenyReason::NoEntitlement));
        } else {
            self.push(
                rule,
                Verdict::Passes {
                    note: Cow::Borrowed("no entitlement passed"),
                },
            );
        }
        AccessDecision {
            grant: None,
            trace: self.steps,
            decided_by: rule,
            reasons,
            remedies,
        }
    }
}

fn free_grant() -> Grant {
    Grant {
        kind: AccessKind::Free,
        source: DownloadSource::Free,
        quota: None,
        purchase_status: None,
        period_start: None,
    }
}

/// Decides whether `actor` may download `target` at `now`. Pure and
/// deterministic: the same inputs, in any order of entitlements, give the
/// same decision. See the module docs for the precedence.
pub fn decide(
    actor: &Actor,
    target: &Target,
    entitlements: &Entitlements,
    now: DateTime<Utc>,
    policy: &AccessPolicy,
) -> AccessDecision {
    let mut trace = Trace { steps: Vec::new() };

    // 1. Release.
    let released = !matches!(
        target.status,
        WorkflowStatus::Draft | WorkflowStatus::ComingSoon
    );
    if !released && !actor.is_privileged() {
        return trace.deny(
            Rule::Release,
            vec![DenyReason::NotReleased {
                status: target.status,
            }],
            vec![],
        );
    }
    trace.push(
        Rule::Release,
        Verdict::Passes {
            note: Cow::Borrowed(if released {
                "released"
            } else {
                "unreleased, staff"
            }),
        },
    );

    // 2. Staff.
    if actor.is_privileged() {
        return trace.grant(
            Rule::Staff,
            Grant {
                kind: AccessKind::Staff,
                source: DownloadSource::Staff,
                quota: None,
                purchase_status: None,
                period_start: None,
            },
        );
    }
    trace.push(
        Rule::Staff,
        Verdict::Passes {
            note: Cow::Borrowed("not staff"),
        },
    );

    let published = target.status == WorkflowStatus::Published;
    let archived = target.status == WorkflowStatus::Archived;

    // 3. Public file.
    match target.file.as_ref().map(|f| f.access) {
        Some(FileAccess::Public) if published => {
            return trace.grant(Rule::PublicFile, free_grant());
        }
        Some(FileAccess::Public) => trace.push(
            Rule::PublicFile,
            Verdict::Passes {
                note: Cow::Borrowed("public file of an archived workflow"),
            },
        ),
        _ => trace.push(
            Rule::PublicFile,
            Verdict::Passes {
                note: Cow::Borrowed("no public file asked for"),
            },
        ),
    }

    // 4. Free workflow.
    if target.tier == PricingTier::Free {
        if target.file_is_stricter() {
            trace.push(
                Rule::FreeWorkflow,
                Verdict::Passes {
                    note: Cow::Borrowed("free workflow, but the file is stricter"),
                },
            );
        } else if published
            || (archived && entitlements.downloaded_before && actor.user_id().is_some())
        {
            return trace.grant(Rule::FreeWorkflow, free_grant());
        } else {
            trace.push(
                Rule::FreeWorkflow,
                Verdict::Refuses(DenyReason::ArchivedNoPriorAccess),
            );
        }
    } else {
        trace.push(
            Rule::FreeWorkflow,
            Verdict::Passes {
                note: Cow::Borrowed("paid tier"),
            },
        );
    }

    // 5. Sign-in.
    if actor.user_id().is_none() {
        return trace.deny(
            Rule::SignIn,
            vec![DenyReason::SignInRequired],
            vec![Remedy::SignIn],
        );
    }
    trace.push(
        Rule::SignIn,
        Verdict::Passes {
            note: Cow::Borrowed("signed in"),
        },
    );

    // 6. Entitlements, each on its own, in a deterministic order.
    let mut purchases: Vec<&Purchase> = entitlements
        .purchases
        .iter()
        .filter(|p| p.item.covers(target.workflow_id) && Some(&p.user_id) == actor.user_id())
        .collect();
    purchases.sort_by_key(|p| p.id);
    let mut memberships: Vec<&Membership> = entitlements
        .memberships
        .iter()
        .filter(|m| Some(&m.user_id) == actor.user_id())
        .collect();
    memberships.sort_by_key(|m| m.id);

    let mut passing: Vec<Candidate> = Vec::new();
    let mut reasons: Vec<DenyReason> = Vec::new();
    for p in purchases {
        match check_purchase(p, target, now) {
            Ok(c) => {
                trace.push(Rule::Purchase(p.id), Verdict::Grants { kind: c.grant.kind });
                passing.push(c);
            }
            Err(r) => {
                trace.push(Rule::Purchase(p.id), Verdict::Refuses(r.clone()));
                reasons.push(r);
            }
        }
    }
    for m in memberships {
        match check_membership(m, target, entitlements.downloaded_before, now, policy) {
            Ok(c) => {
                trace.push(
                    Rule::Membership(m.id),
                    Verdict::Grants { kind: c.grant.kind },
                );
                passing.push(c);
            }
            Err(r) => {
                trace.push(Rule::Membership(m.id), Verdict::Refuses(r.clone()));
                reasons.push(r);
            }
        }
    }

    // 7. The cheapest passing entitlement.
    if let Some(best) = passing.into_iter().min_by(Candidate::cheaper) {
        return trace.grant(best.rule, best.grant);
    }

    // 8. Denied: every reason, and what would help.
    if reasons.is_empty() {
        reasons.push(if archived {
            DenyReason::ArchivedNoPriorAccess
        } else {
            DenyReason::NoEntitlement
        });
    }
    let remedies = remedies_for(target, &reasons, archived, now);
    trace.deny(Rule::Entitlements, reasons, remedies)
}

fn remedies_for(
    target: &Target,
    reasons: &[DenyReason],
    archived: bool,
    now: DateTime<Utc>,
) -> Vec<Remedy> {
    let mut out: Vec<Remedy> = Vec::new();
    let mut add = |r: Remedy| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    if archived {
        return out;
    }
    let needed = target.required_member_tier();
    for r in reasons {
        match r {
            DenyReason::TierTooLow {
                membership_id,
                needed,
                ..
            } => add(Remedy::Upgrade {
                membership_id: *membership_id,
                to: *needed,
            }),
            DenyReason::MembershipLapsed { membership_id, .. } => add(Remedy::Renew {
                membership_id: *membership_id,
            }),
            // A period still running resets at its end. One already over (a
            // past_due membership in its grace) resets only with the renewal
            // payment: waiting for a date already past would not help.
            DenyReason::PeriodQuotaUsed {
                membership_id,
                resets_at,
                ..
            } => add(if *resets_at > now {
                Remedy::WaitUntil { at: *resets_at }
            } else {
                Remedy::Renew {
                    membership_id: *membership_id,
                }
            }),
            _ => {}
        }
    }
    if let Some(price) = target.price {
        add(Remedy::Buy { price });
    }
    let owners_only = matches!(
        target.file.as_ref().map(|f| f.access),
        Some(FileAccess::OwnersOnly)
    );
    let has_membership_reason = reasons.iter().any(|r| {
        matches!(
            r,
            DenyReason::TierTooLow { .. }
                | DenyReason::MembershipLapsed { .. }
                | DenyReason::PeriodQuotaUsed { .. }
        )
    });
    if !owners_only && !has_membership_reason && needed != PricingTier::Free {
        add(Remedy::Join { tier: needed });
    }
    out
}

struct Candidate {
    rule: Rule,
    grant: Grant,
    // Ordering keys; see `cheaper`.
    class: u8,
    expires: Option<DateTime<Utc>>,
    remaining: u32,
    trial: bool,
    id: uuid::Uuid,
}

impl Candidate {
    // Rule 7: lower class first; within a class, as documented.
    fn cheaper(a: &Candidate, b: &Candidate) -> Ordering {
        a.class
            .cmp(&b.class)
            .then_with(|| match (a.expires, b.expires) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| b.remaining.cmp(&a.remaining))
            .then_with(|| a.trial.cmp(&b.trial))
            .then_with(|| a.id.cmp(&b.id))
    }
}

fn check_purchase(
    p: &Purchase,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<Candidate, DenyReason> {
    match p.status {
        PaymentStatus::Completed | PaymentStatus::PartiallyRefunded => {}
        PaymentStatus::Refunded => {
            return Err(DenyReason::PurchaseRefunded {
                purchase_id: p.id,
                at: p.refund.as_ref().map(|r| r.refunded_at),
            });
        }
        PaymentStatus::Disputed => {
            return Err(DenyReason::PurchaseDisputed {
                purchase_id: p.id,
                since: p.disputed_at,
            });
        }
        status @ (PaymentStatus::Pending | PaymentStatus::Failed) => {
            return Err(DenyReason::PurchaseNotPaid {
                purchase_id: p.id,
                status,
            });
        }
    }
    if let Some(archived_at) = target.archived_at
        && target.status == WorkflowStatus::Archived
        && p.completed_at.is_none_or(|c| c >= archived_at)
    {
        return Err(DenyReason::ArchivedBeforePurchase {
            purchase_id: p.id,
            archived_at,
        });
    }
    if let Some(at) = p.license_expires_at
        && now >= at
    {
        return Err(DenyReason::LicenseExpired {
            purchase_id: p.id,
            at,
        });
    }
    if let (Some(file), Some(until)) = (&target.file, p.updates_until)
        && file.released_at > until
    {
        return Err(DenyReason::VersionNotCovered {
            purchase_id: p.id,
            version: file.version,
            released_at: file.released_at,
            updates_until: until,
        });
    }
    if !p.quota.has_room() {
        return Err(DenyReason::PurchaseQuotaUsed {
            purchase_id: p.id,
            quota: p.quota,
        });
    }
    let limited = p.quota.limit.is_some();
    Ok(Candidate {
        rule: Rule::Purchase(p.id),
        grant: Grant {
            kind: AccessKind::Purchased,
            source: DownloadSource::Purchase(p.id),
            quota: Some(p.quota),
            purchase_status: Some(p.status),
            period_start: None,
        },
        class: if limited { 3 } else { 0 },
        expires: if limited { p.license_expires_at } else { None },
        remaining: p.quota.remaining().unwrap_or(u32::MAX),
        trial: false,
        id: p.id.as_uuid(),
    })
}

fn check_membership(
    m: &Membership,
    target: &Target,
    downloaded_before: bool,
    now: DateTime<Utc>,
    policy: &AccessPolicy,
) -> Result<Candidate, DenyReason> {
    match m.standing(now, policy.past_due_grace) {
        Standing::Good | Standing::Grace { .. } => {}
        Standing::Lapsed { since } => {
            return Err(DenyReason::MembershipLapsed {
                membership_id: m.id,
                status: m.status,
                since,
            });
        }
        Standing::Ended { at } => {
            return Err(DenyReason::MembershipEnded {
                membership_id: m.id,
                status: m.status,
                at,
            });
        }
    }
    if matches!(
        target.file.as_ref().map(|f| f.access),
        Some(FileAccess::OwnersOnly)
    ) {
        return Err(DenyReason::OwnersOnly {
            membership_id: m.id,
        });
    }
    let needed = target.required_member_tier();
    if !m.tier.covers(needed) {
        return Err(DenyReason::TierTooLow {
            membership_id: m.id,
            needed,
            have: m.tier,
        });
    }
    if target.status == WorkflowStatus::Archived && !downloaded_before {
        return Err(DenyReason::ArchivedNoPriorAccess);
    }
    if !m.quota.has_room() {
        return Err(DenyReason::PeriodQuotaUsed {
            membership_id: m.id,
            quota: m.quota,
            resets_at: m.period.end,
        });
    }
    let trial = m.status == MembershipStatus::Trialing;
    let limited = m.quota.limit.is_some();
    Ok(Candidate {
        rule: Rule::Membership(m.id),
        grant: Grant {
            kind: if trial {
                AccessKind::Trial
            } else {
                AccessKind::Member
            },
            source: DownloadSource::Membership(m.id),
            quota: Some(m.quota),
            purchase_status: None,
            period_start: Some(m.period.start),
        },
        class: if limited { 2 } else { 1 },
        expires: None,
        remaining: m.quota.remaining().unwrap_or(u32::MAX),
        trial,
        id: m.id.as_uuid(),
    })
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;

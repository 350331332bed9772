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

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::file::{FileAccess, WorkflowFile};
use crate::catalog::workflow::{Workflow, WorkflowStatus};
use crate::commerce::membership::{Membership, MembershipStatus, Standing};
use crate::commerce::purchase::{PaymentStatus, PurchaseTerms};
use crate::delivery::download::DownloadSource;
use crate::value::actor::Actor;
use crate::value::ids::{FileId, WorkflowId};
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
    /// Deleted by staff ([`Workflow::is_deleted`]): the service reads it as
    /// not found for everyone but staff, before the rule is consulted.
    pub deleted: bool,
}

impl From<&Workflow> for GateFacts {
    fn from(w: &Workflow) -> Self {
        Self {
            id: w.id,
            status: w.status,
            tier: w.content.pricing_tier,
            price: w.content.price,
            archived_at: w.archived_at,
            deleted: w.is_deleted(),
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
    /// Purchases (any status), as the rule weighs them
    /// ([`crate::commerce::purchase::Purchase::terms`]).
    pub purchases: Vec<PurchaseTerms>,
    /// Memberships (any status).
    pub memberships: Vec<Membership>,
    /// The actor downloaded this workflow before (for archived workflows).
    pub downloaded_before: bool,
}

pub use crate::value::decision::{
    AccessDecision, AccessKind, DenyReason, Grant, Remedy, Rule, Step, Verdict,
};

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
    let mut purchases: Vec<&PurchaseTerms> = entitlements
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
    p: &PurchaseTerms,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<Candidate, DenyReason> {
    match p.status {
        PaymentStatus::Completed | PaymentStatus::PartiallyRefunded => {}
        PaymentStatus::Refunded => {
            return Err(DenyReason::PurchaseRefunded {
                purchase_id: p.id,
                at: p.refunded_at,
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
mod tests;

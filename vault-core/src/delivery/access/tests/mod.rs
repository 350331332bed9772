//! Tests of the access rule: one file per rule of `decide`'s precedence,
//! each test one reason or remedy, then the properties. The fixtures every
//! file shares are here.
//!
//! In precedence order: `release` (1), `staff` (2), `public_file` (3),
//! `free_workflow` (4), `sign_in` (5); rule 6 in `purchases`,
//! `update_window` (version-scoped purchases), `archived` (archived
//! workflows and purchases) and `memberships`; `cheapest` (7), `denial` (8);
//! `props`.

use super::*;

use std::collections::BTreeMap;

use chrono::TimeZone;
use uuid::Uuid;

use crate::catalog::file::{Checksum, FileKind, NewFile};
use crate::commerce::membership::{NewMembership, Period};
use crate::commerce::purchase::{PaymentRef, ProviderRefs, Purchase, PurchaseItem, RefundState};
use crate::value::actor::UserId;
use crate::value::ids::{BundleId, MembershipId, PurchaseId};
use crate::value::money::Currency;
use crate::value::quota::Quota;
use crate::value::status::DownloadKind;

mod archived;
mod cheapest;
mod denial;
mod free_workflow;
mod memberships;
mod props;
mod public_file;
mod purchases;
mod release;
mod sign_in;
mod staff;
mod update_window;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// The user every fixture entitlement belongs to (`purchase::tests::pending`
/// buys as "buyer").
const USER: &str = "buyer";

/// Day `n` after 2025-01-01, midnight UTC.
fn t(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(days)
}

/// "Now" in the fixtures: 2025-04-11, inside the membership period
/// [2025-04-01, 2025-05-01).
fn now() -> DateTime<Utc> {
    t(100)
}

fn user() -> Actor {
    Actor::user(USER).expect("valid")
}

fn stranger() -> Actor {
    Actor::user("someone-else").expect("valid")
}

fn wf_id() -> WorkflowId {
    WorkflowId::from_uuid(Uuid::from_u128(1))
}

fn other_wf() -> WorkflowId {
    WorkflowId::from_uuid(Uuid::from_u128(2))
}

fn pid(n: u128) -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(n))
}

fn mid(n: u128) -> MembershipId {
    MembershipId::from_uuid(Uuid::from_u128(n))
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// A workflow (id 1) of `tier`, priced `price` cents, in `status`; archived
/// ones were archived on 2025-02-20 (day 50).
fn workflow(status: WorkflowStatus, tier: PricingTier, price: Option<i64>) -> Workflow {
    let content = crate::catalog::workflow::tests::content("lead-capture", tier, price);
    let mut w = Workflow::new_draft(wf_id(), content, t(0)).expect("valid");
    w.status = status;
    if status == WorkflowStatus::Archived {
        w.archived_at = Some(t(50));
    }
    w
}

fn target(status: WorkflowStatus, tier: PricingTier, price: Option<i64>) -> Target {
    Target::new(&workflow(status, tier, price), None)
}

/// A published pro workflow sold for 49.00 USD.
fn pro() -> Target {
    target(WorkflowStatus::Published, PricingTier::Pro, Some(4900))
}

/// A published pro workflow not sold individually (membership only).
fn pro_members_only() -> Target {
    target(WorkflowStatus::Published, PricingTier::Pro, None)
}

fn free() -> Target {
    target(WorkflowStatus::Published, PricingTier::Free, None)
}

fn archived_pro() -> Target {
    target(WorkflowStatus::Archived, PricingTier::Pro, Some(4900))
}

/// A file of version `version` released on `released`.
fn file_at(access: FileAccess, version: Version, released: DateTime<Utc>) -> FileTarget {
    let f = NewFile {
        workflow_id: wf_id(),
        kind: FileKind::Make,
        file_name: "blueprint.json".into(),
        storage_key: "wf/1/blueprint.json".into(),
        mime_type: "application/json".into(),
        version,
        is_primary: true,
        access,
        size_bytes: 1024,
        checksum: Checksum::of(b"blueprint"),
    }
    .build(FileId::from_uuid(Uuid::from_u128(0xF11E)), t(0))
    .expect("valid");
    FileTarget::new(&f, released)
}

fn file(access: FileAccess) -> FileTarget {
    file_at(access, Version::new(1, 0, 0), t(0))
}

fn with_file(mut target: Target, file: FileTarget) -> Target {
    target.file = Some(file);
    target
}

/// A purchase `n` of `item` by USER, completed on 2025-01-11 (day 10):
/// 5 downloads, none used, no expiry, updates until 2026-01-11.
fn purchase_of(n: u128, item: PurchaseItem) -> Purchase {
    let mut p = crate::commerce::purchase::tests::pending(item, 4900);
    p.id = pid(n);
    p.complete(PaymentRef::parse(&format!("pi_{n}")).expect("valid"), t(10))
        .expect("completes");
    p
}

/// A completed purchase `n` of the workflow under test.
fn bought(n: u128) -> Purchase {
    purchase_of(
        n,
        PurchaseItem::Workflow {
            workflow_id: wf_id(),
        },
    )
}

fn unlimited(mut p: Purchase) -> Purchase {
    p.quota.limit = None;
    p
}

/// A membership `n` of USER at `tier`, in the period [2025-04-01,
/// 2025-05-01), trialing or active, with `limit` downloads per period.
fn member(n: u128, tier: PricingTier, trial: bool, limit: Option<u32>) -> Membership {
    NewMembership {
        user_id: UserId::parse(USER).expect("valid"),
        tier,
        period: Period::new(t(90), t(120)).expect("valid"),
        trial,
        period_download_limit: limit,
        features: BTreeMap::new(),
        provider: ProviderRefs::default(),
    }
    .build(mid(n), t(90))
    .expect("valid")
}

fn active(n: u128, tier: PricingTier) -> Membership {
    member(n, tier, false, None)
}

fn ents(purchases: Vec<Purchase>, memberships: Vec<Membership>) -> Entitlements {
    Entitlements {
        purchases: purchases.iter().map(Purchase::terms).collect(),
        memberships,
        downloaded_before: false,
    }
}

fn none() -> Entitlements {
    Entitlements::default()
}

fn run(actor: &Actor, target: &Target, ents: &Entitlements) -> AccessDecision {
    decide(actor, target, ents, now(), &AccessPolicy::default())
}

fn run_at(
    actor: &Actor,
    target: &Target,
    ents: &Entitlements,
    at: DateTime<Utc>,
) -> AccessDecision {
    decide(actor, target, ents, at, &AccessPolicy::default())
}

fn rules(d: &AccessDecision) -> Vec<Rule> {
    d.trace.iter().map(|s| s.rule).collect()
}

/// The rules 1-5 a signed-in, non-staff actor passes on the way to rule 6.
const PREFIX: [Rule; 5] = [
    Rule::Release,
    Rule::Staff,
    Rule::PublicFile,
    Rule::FreeWorkflow,
    Rule::SignIn,
];

#[track_caller]
fn assert_granted(d: &AccessDecision, by: Rule, kind: AccessKind, source: DownloadSource) -> Grant {
    let g = d
        .grant
        .unwrap_or_else(|| panic!("expected a grant, got\n{d}"));
    assert_eq!(d.decided_by, by, "{d}");
    assert_eq!(g.kind, kind, "{d}");
    assert_eq!(g.source, source, "{d}");
    assert!(d.reasons.is_empty(), "{d}");
    assert!(d.remedies.is_empty(), "{d}");
    let last = d.trace.last().expect("trace");
    assert_eq!(last.rule, by, "{d}");
    assert_eq!(last.verdict, Verdict::Grants { kind }, "{d}");
    g
}

#[track_caller]
fn assert_denied(d: &AccessDecision, by: Rule, reasons: &[DenyReason], remedies: &[Remedy]) {
    assert_eq!(d.grant, None, "expected a denial, got\n{d}");
    assert_eq!(d.decided_by, by, "{d}");
    assert_eq!(d.reasons, reasons, "{d}");
    assert_eq!(d.remedies, remedies, "{d}");
    assert_eq!(d.trace.last().map(|s| s.rule), Some(by), "{d}");
}

fn buy() -> Remedy {
    Remedy::Buy { price: usd(4900) }
}

fn join(tier: PricingTier) -> Remedy {
    Remedy::Join { tier }
}

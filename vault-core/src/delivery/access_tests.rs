//! Tests of the access rule: one per reason and remedy, and properties.

use super::*;

use std::collections::BTreeMap;

use chrono::TimeZone;
use uuid::Uuid;

use crate::catalog::file::{Checksum, FileKind, NewFile};
use crate::commerce::membership::{MembershipEvent, NewMembership, Period};
use crate::commerce::purchase::{PaymentRef, ProviderRefs, PurchaseItem, RefundState};
use crate::value::actor::UserId;
use crate::value::ids::{BundleId, MembershipId, PurchaseId};
use crate::value::money::Currency;
use crate::value::quota::Quota;
use crate::value::status::DownloadKind;

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
        purchases,
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

// ---------------------------------------------------------------------------
// Rule 1: release
// ---------------------------------------------------------------------------

#[test]
fn unreleased_workflows_are_refused_to_everyone_but_staff() {
    let rich = ents(
        vec![unlimited(bought(1))],
        vec![active(2, PricingTier::Enterprise)],
    );
    for status in [WorkflowStatus::Draft, WorkflowStatus::ComingSoon] {
        for tier in [PricingTier::Free, PricingTier::Pro] {
            let target = with_file(target(status, tier, None), file(FileAccess::Public));
            for (actor, e) in [(Actor::Anonymous, none()), (user(), rich.clone())] {
                let d = run(&actor, &target, &e);
                assert_denied(
                    &d,
                    Rule::Release,
                    &[DenyReason::NotReleased { status }],
                    &[],
                );
                assert_eq!(
                    d.trace,
                    vec![Step {
                        rule: Rule::Release,
                        verdict: Verdict::Refuses(DenyReason::NotReleased { status }),
                    }]
                );
            }
        }
    }
}

#[test]
fn not_released_messages() {
    // The stored names ("coming_soon") are not shown to people.
    let cases = [
        (
            WorkflowStatus::Draft,
            "denied: workflow is a draft; only staff can download it",
        ),
        (
            WorkflowStatus::ComingSoon,
            "denied: workflow is coming soon; only staff can download it",
        ),
    ];
    for (status, text) in cases {
        let d = run(
            &user(),
            &target(status, PricingTier::Pro, Some(4900)),
            &none(),
        );
        assert_eq!(d.summary(), text);
    }
}

#[test]
fn staff_download_unreleased_workflows() {
    for status in [WorkflowStatus::Draft, WorkflowStatus::ComingSoon] {
        for actor in [Actor::admin("ops").expect("valid"), Actor::Service] {
            let d = run(
                &actor,
                &target(status, PricingTier::Pro, Some(4900)),
                &none(),
            );
            assert_granted(&d, Rule::Staff, AccessKind::Staff, DownloadSource::Staff);
            assert_eq!(
                d.trace[0].verdict,
                Verdict::Passes {
                    note: Cow::Borrowed("unreleased, staff")
                }
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Rule 2: staff
// ---------------------------------------------------------------------------

#[test]
fn staff_download_anything_uncharged() {
    // Even holding a purchase, an admin is not charged to it.
    let e = ents(vec![bought(1)], vec![]);
    for t in [
        pro(),
        archived_pro(),
        with_file(pro(), file(FileAccess::OwnersOnly)),
        with_file(pro(), file(FileAccess::Public)),
        free(),
    ] {
        for actor in [Actor::admin(USER).expect("valid"), Actor::Service] {
            let d = run(&actor, &t, &e);
            let g = assert_granted(&d, Rule::Staff, AccessKind::Staff, DownloadSource::Staff);
            assert_eq!(g.quota, None);
            assert_eq!(g.purchase_status, None);
            assert_eq!(g.period_start, None);
            assert_eq!(rules(&d), vec![Rule::Release, Rule::Staff]);
            assert_eq!(d.summary(), "granted: staff (by staff)");
            assert_eq!(g.kind.download_kind(), DownloadKind::Free);
        }
    }
}

// ---------------------------------------------------------------------------
// Rule 3: public file
// ---------------------------------------------------------------------------

#[test]
fn public_preview_of_a_published_paid_workflow_is_free_for_everyone() {
    let t = with_file(pro(), file(FileAccess::Public));
    for actor in [Actor::Anonymous, user(), stranger()] {
        let d = run(&actor, &t, &none());
        let g = assert_granted(&d, Rule::PublicFile, AccessKind::Free, DownloadSource::Free);
        assert_eq!(g.quota, None, "a preview is charged to nothing");
        assert_eq!(
            rules(&d),
            vec![Rule::Release, Rule::Staff, Rule::PublicFile]
        );
        assert_eq!(d.summary(), "granted: free (by public file)");
    }
    // A purchase does not get charged for a preview either.
    let d = run(&user(), &t, &ents(vec![bought(1)], vec![]));
    assert_granted(&d, Rule::PublicFile, AccessKind::Free, DownloadSource::Free);
}

#[test]
fn public_file_of_an_archived_workflow_is_not_free() {
    let t = with_file(archived_pro(), file(FileAccess::Public));
    let d = run(&Actor::Anonymous, &t, &none());
    assert_denied(
        &d,
        Rule::SignIn,
        &[DenyReason::SignInRequired],
        &[Remedy::SignIn],
    );
    assert_eq!(
        d.trace[2].verdict,
        Verdict::Passes {
            note: Cow::Borrowed("public file of an archived workflow")
        }
    );
    let d = run(&user(), &t, &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::ArchivedNoPriorAccess],
        &[],
    );
    // Earlier buyers still get it, through their purchase.
    let d = run(&user(), &t, &ents(vec![bought(1)], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );
}

// ---------------------------------------------------------------------------
// Rule 4: free workflow
// ---------------------------------------------------------------------------

#[test]
fn published_free_workflow_is_free_for_everyone() {
    for t in [
        free(),
        with_file(free(), file(FileAccess::Standard)),
        with_file(free(), file(FileAccess::Public)),
    ] {
        for actor in [Actor::Anonymous, user()] {
            let d = run(&actor, &t, &none());
            let expected_rule = if t.file.as_ref().map(|f| f.access) == Some(FileAccess::Public) {
                Rule::PublicFile
            } else {
                Rule::FreeWorkflow
            };
            let g = assert_granted(&d, expected_rule, AccessKind::Free, DownloadSource::Free);
            assert_eq!(g.quota, None);
            assert_eq!(g.kind.download_kind(), DownloadKind::Free);
        }
    }
    let d = run(&Actor::Anonymous, &free(), &none());
    assert_eq!(
        rules(&d),
        vec![
            Rule::Release,
            Rule::Staff,
            Rule::PublicFile,
            Rule::FreeWorkflow
        ]
    );
    assert_eq!(d.summary(), "granted: free (by free workflow)");
}

#[test]
fn free_workflow_is_free_even_with_memberships_and_purchases() {
    // Free content is never charged to an entitlement's quota.
    let e = ents(
        vec![purchase_of(
            1,
            PurchaseItem::Workflow {
                workflow_id: wf_id(),
            },
        )],
        vec![member(2, PricingTier::Pro, false, Some(1))],
    );
    let d = run(&user(), &free(), &e);
    assert_granted(
        &d,
        Rule::FreeWorkflow,
        AccessKind::Free,
        DownloadSource::Free,
    );
}

#[test]
fn stricter_file_of_a_free_workflow_is_left_to_entitlements() {
    let t = with_file(free(), file(FileAccess::MinimumTier(PricingTier::Pro)));
    let d = run(&Actor::Anonymous, &t, &none());
    assert_denied(
        &d,
        Rule::SignIn,
        &[DenyReason::SignInRequired],
        &[Remedy::SignIn],
    );
    assert_eq!(
        d.trace[3].verdict,
        Verdict::Passes {
            note: Cow::Borrowed("free workflow, but the file is stricter")
        }
    );
    let d = run(&user(), &t, &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[join(PricingTier::Pro)],
    );
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Basic)]),
    );
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::TierTooLow {
            membership_id: mid(1),
            needed: PricingTier::Pro,
            have: PricingTier::Basic,
        }],
        &[Remedy::Upgrade {
            membership_id: mid(1),
            to: PricingTier::Pro,
        }],
    );
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Pro)]),
    );
    assert_granted(
        &d,
        Rule::Membership(mid(1)),
        AccessKind::Member,
        DownloadSource::Membership(mid(1)),
    );

    // Owners-only file of a free workflow: memberships do not cover it.
    let t = with_file(free(), file(FileAccess::OwnersOnly));
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Pro)]),
    );
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::OwnersOnly {
            membership_id: mid(1),
        }],
        &[],
    );
    let d = run(&user(), &t, &ents(vec![bought(2)], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(2)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(2)),
    );
}

#[test]
fn minimum_free_tier_file_of_a_free_workflow_is_free() {
    // `MinimumTier(free)` is not stricter than a free workflow: rule 4 still
    // gives it to everyone, anonymous visitors included.
    let t = with_file(free(), file(FileAccess::MinimumTier(PricingTier::Free)));
    for actor in [Actor::Anonymous, user()] {
        let d = run(&actor, &t, &none());
        assert_granted(
            &d,
            Rule::FreeWorkflow,
            AccessKind::Free,
            DownloadSource::Free,
        );
    }
}

#[test]
fn archived_free_workflow_only_for_earlier_downloaders() {
    let t = target(WorkflowStatus::Archived, PricingTier::Free, None);
    let before = Entitlements {
        downloaded_before: true,
        ..Entitlements::default()
    };
    let d = run(&user(), &t, &before);
    assert_granted(
        &d,
        Rule::FreeWorkflow,
        AccessKind::Free,
        DownloadSource::Free,
    );

    let d = run(&user(), &t, &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::ArchivedNoPriorAccess],
        &[],
    );
    assert_eq!(
        d.trace[3].verdict,
        Verdict::Refuses(DenyReason::ArchivedNoPriorAccess)
    );
    assert_eq!(
        d.summary(),
        "denied: workflow is archived; only earlier buyers and downloaders keep access"
    );

    // Anonymous visitors cannot prove an earlier download: sign in first.
    let d = run(&Actor::Anonymous, &t, &before);
    assert_denied(
        &d,
        Rule::SignIn,
        &[DenyReason::SignInRequired],
        &[Remedy::SignIn],
    );
}

// ---------------------------------------------------------------------------
// Rule 5: sign-in
// ---------------------------------------------------------------------------

#[test]
fn anonymous_visitors_must_sign_in_for_paid_content() {
    for t in [pro(), pro_members_only(), archived_pro()] {
        let d = run(&Actor::Anonymous, &t, &none());
        assert_denied(
            &d,
            Rule::SignIn,
            &[DenyReason::SignInRequired],
            &[Remedy::SignIn],
        );
        assert_eq!(rules(&d), PREFIX.to_vec());
        assert_eq!(
            d.summary(),
            "denied: sign in to download paid content; to get access: sign in"
        );
    }
}

// ---------------------------------------------------------------------------
// Rule 6: purchases
// ---------------------------------------------------------------------------

#[test]
fn completed_purchase_grants() {
    let d = run(&user(), &pro(), &ents(vec![bought(1)], vec![]));
    let g = assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );
    assert_eq!(
        g.quota,
        Some(Quota {
            used: 0,
            limit: Some(5)
        })
    );
    assert_eq!(g.purchase_status, Some(PaymentStatus::Completed));
    assert_eq!(g.period_start, None);
    assert_eq!(g.kind.download_kind(), DownloadKind::Purchased);
    // Rule 6 checks the purchase, then rule 7 picks it: two steps.
    let mut expected = PREFIX.to_vec();
    expected.extend([Rule::Purchase(pid(1)), Rule::Purchase(pid(1))]);
    assert_eq!(rules(&d), expected);
    assert_eq!(
        d.summary(),
        "granted: purchased (by purchase 00000000-0000-0000-0000-000000000001)"
    );
}

#[test]
fn partially_refunded_purchase_keeps_access() {
    let mut p = bought(1);
    p.status = PaymentStatus::PartiallyRefunded;
    p.refund = Some(RefundState {
        refunded: usd(1000),
        reason: Some("missing module".into()),
        refunded_at: t(30),
    });
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    let g = assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );
    assert_eq!(g.purchase_status, Some(PaymentStatus::PartiallyRefunded));
}

#[test]
fn unpaid_purchases_never_grant() {
    let pending = {
        let mut p = crate::commerce::purchase::tests::pending(
            PurchaseItem::Workflow {
                workflow_id: wf_id(),
            },
            4900,
        );
        p.id = pid(1);
        p
    };
    let failed = {
        let mut p = pending.clone();
        p.fail(t(1)).expect("fails");
        p
    };
    for (p, status) in [
        (pending, PaymentStatus::Pending),
        (failed, PaymentStatus::Failed),
    ] {
        let d = run(&user(), &pro(), &ents(vec![p], vec![]));
        let reason = DenyReason::PurchaseNotPaid {
            purchase_id: pid(1),
            status,
        };
        assert_denied(
            &d,
            Rule::Entitlements,
            std::slice::from_ref(&reason),
            &[buy(), join(PricingTier::Pro)],
        );
        // The purchase's own step refuses, and so does the final one.
        assert_eq!(d.trace[5].rule, Rule::Purchase(pid(1)));
        assert_eq!(d.trace[5].verdict, Verdict::Refuses(reason.clone()));
        assert_eq!(d.trace[6].verdict, Verdict::Refuses(reason));
    }
}

#[test]
fn unpaid_purchase_messages() {
    let mut p = bought(1);
    p.status = PaymentStatus::Pending;
    let d = run(&user(), &pro(), &ents(vec![p.clone()], vec![]));
    assert_eq!(
        d.summary(),
        "denied: purchase is awaiting payment; to get access: buy it for 49.00 USD or join at tier pro or higher"
    );
    p.status = PaymentStatus::Failed;
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_eq!(d.reasons[0].to_string(), "purchase payment failed");
}

#[test]
fn refunded_purchase_never_grants() {
    let mut p = bought(1);
    p.status = PaymentStatus::Refunded;
    p.refund = Some(RefundState {
        refunded: usd(4900),
        reason: Some("not as described".into()),
        refunded_at: t(30),
    });
    let d = run(&user(), &pro(), &ents(vec![p.clone()], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PurchaseRefunded {
            purchase_id: pid(1),
            at: Some(t(30)),
        }],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(
        d.summary(),
        "denied: purchase refunded on 2025-01-31; to get access: buy it for 49.00 USD or join at tier pro or higher"
    );

    // A refund without bookkeeping (e.g. imported) still refuses.
    p.refund = None;
    let d = run(&user(), &pro_members_only(), &ents(vec![p], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PurchaseRefunded {
            purchase_id: pid(1),
            at: None,
        }],
        &[join(PricingTier::Pro)],
    );
    assert_eq!(
        d.summary(),
        "denied: purchase refunded; to get access: join at tier pro or higher"
    );
}

#[test]
fn disputed_purchase_never_grants() {
    let mut p = bought(1);
    p.status = PaymentStatus::Disputed;
    p.disputed_at = Some(t(40));
    let d = run(&user(), &pro(), &ents(vec![p.clone()], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PurchaseDisputed {
            purchase_id: pid(1),
            since: Some(t(40)),
        }],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(
        d.reasons[0].to_string(),
        "purchase under dispute since 2025-02-10"
    );
    p.disputed_at = None;
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_eq!(d.reasons[0].to_string(), "purchase under dispute");
}

#[test]
fn expired_license_never_grants() {
    let mut p = bought(1);
    p.license_expires_at = Some(t(99));
    let d = run(&user(), &pro(), &ents(vec![p.clone()], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::LicenseExpired {
            purchase_id: pid(1),
            at: t(99),
        }],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(
        d.summary(),
        "denied: license expired on 2025-04-10; to get access: buy it for 49.00 USD or join at tier pro or higher"
    );
    // The expiry instant itself is already expired; just before is not.
    p.license_expires_at = Some(now());
    assert!(!run(&user(), &pro(), &ents(vec![p.clone()], vec![])).is_granted());
    p.license_expires_at = Some(now() + Duration::seconds(1));
    assert!(run(&user(), &pro(), &ents(vec![p], vec![])).is_granted());
}

#[test]
fn used_up_purchase_quota_never_grants() {
    let mut p = bought(1);
    p.quota.used = 5;
    let quota = Quota {
        used: 5,
        limit: Some(5),
    };
    // The example of `summary`'s docs: an owners-only file, so no "join".
    let owners = with_file(pro(), file(FileAccess::OwnersOnly));
    let d = run(&user(), &owners, &ents(vec![p.clone()], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PurchaseQuotaUsed {
            purchase_id: pid(1),
            quota,
        }],
        &[buy()],
    );
    assert_eq!(
        d.summary(),
        "denied: 5 of 5 downloads used; to get access: buy it for 49.00 USD"
    );
    // One left is enough; the grant reports the quota before the download.
    p.quota.used = 4;
    let d = run(&user(), &owners, &ents(vec![p], vec![]));
    let g = assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );
    assert_eq!(
        g.quota,
        Some(Quota {
            used: 4,
            limit: Some(5)
        })
    );
}

#[test]
fn bundle_purchases_grant_their_members() {
    let bundle = |members: Vec<WorkflowId>| PurchaseItem::Bundle {
        bundle_id: BundleId::from_uuid(Uuid::from_u128(77)),
        members,
    };
    let p = purchase_of(1, bundle(vec![other_wf(), wf_id()]));
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );

    // A bundle bought before this workflow was added does not cover it, and
    // is not even consulted.
    let p = purchase_of(1, bundle(vec![other_wf()]));
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(rules(&d).len(), PREFIX.len() + 1);

    // A workflow kept through a membership is a purchase too.
    let p = purchase_of(
        1,
        PurchaseItem::MembershipIncluded {
            workflow_id: wf_id(),
            membership_id: mid(9),
        },
    );
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );
}

#[test]
fn purchases_of_other_workflows_are_ignored() {
    let p = purchase_of(
        1,
        PurchaseItem::Workflow {
            workflow_id: other_wf(),
        },
    );
    let d = run(&user(), &pro(), &ents(vec![p], vec![]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[buy(), join(PricingTier::Pro)],
    );
    assert!(!rules(&d).contains(&Rule::Purchase(pid(1))));
}

#[test]
fn entitlements_of_another_user_are_ignored() {
    let e = ents(
        vec![unlimited(bought(1))],
        vec![active(2, PricingTier::Enterprise)],
    );
    let d = run(&stranger(), &pro(), &e);
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[buy(), join(PricingTier::Pro)],
    );
    let mut expected = PREFIX.to_vec();
    expected.push(Rule::Entitlements);
    assert_eq!(rules(&d), expected, "nothing of USER is consulted");
    assert_eq!(
        d.summary(),
        "denied: no purchase or membership covers it; to get access: buy it for 49.00 USD or join at tier pro or higher"
    );
    // The same entitlements do grant their owner.
    assert!(run(&user(), &pro(), &e).is_granted());
}

// ---------------------------------------------------------------------------
// Rule 6: version-scoped purchases
// ---------------------------------------------------------------------------

#[test]
fn versions_released_after_the_update_window_are_not_covered() {
    let p = bought(1);
    let until = p.updates_until.expect("12 months of updates");
    assert_eq!(until, t(10) + Duration::days(365), "2026-01-11");
    let late = with_file(
        pro(),
        file_at(FileAccess::Standard, Version::new(2, 0, 0), t(400)),
    );
    let at = t(401);
    let d = run_at(&user(), &late, &ents(vec![p.clone()], vec![]), at);
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::VersionNotCovered {
            purchase_id: pid(1),
            version: Version::new(2, 0, 0),
            released_at: t(400),
            updates_until: until,
        }],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(
        d.reasons[0].to_string(),
        "version 2.0.0 was released on 2026-02-05, after your updates ended on 2026-01-11"
    );

    // Earlier versions stay covered forever, even years later.
    let early = with_file(
        pro(),
        file_at(FileAccess::Standard, Version::new(1, 4, 0), t(200)),
    );
    let d = run_at(&user(), &early, &ents(vec![p.clone()], vec![]), t(3000));
    assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );

    // Released at the very end of the window: still covered.
    let edge = with_file(
        pro(),
        file_at(FileAccess::Standard, Version::new(1, 9, 0), until),
    );
    assert!(run_at(&user(), &edge, &ents(vec![p.clone()], vec![]), at).is_granted());

    // Without an update window every version is covered.
    let mut forever = p;
    forever.update_months = None;
    forever.updates_until = None;
    assert!(run_at(&user(), &late, &ents(vec![forever], vec![]), at).is_granted());
}

#[test]
fn update_window_does_not_limit_memberships() {
    let late = with_file(
        pro(),
        file_at(FileAccess::Standard, Version::new(2, 0, 0), t(95)),
    );
    let mut p = bought(1);
    p.updates_until = Some(t(20));
    let d = run(
        &user(),
        &late,
        &ents(vec![p], vec![active(2, PricingTier::Pro)]),
    );
    assert_granted(
        &d,
        Rule::Membership(mid(2)),
        AccessKind::Member,
        DownloadSource::Membership(mid(2)),
    );
}

// ---------------------------------------------------------------------------
// Rule 6: archived workflows and purchases
// ---------------------------------------------------------------------------

#[test]
fn archived_workflow_only_for_purchases_completed_before() {
    // Completed on day 10, archived on day 50.
    let d = run(&user(), &archived_pro(), &ents(vec![bought(1)], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(1)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(1)),
    );

    for completed in [t(50), t(60)] {
        let mut p = bought(1);
        p.completed_at = Some(completed);
        let d = run(&user(), &archived_pro(), &ents(vec![p], vec![]));
        assert_denied(
            &d,
            Rule::Entitlements,
            &[DenyReason::ArchivedBeforePurchase {
                purchase_id: pid(1),
                archived_at: t(50),
            }],
            &[],
        );
        assert_eq!(
            d.summary(),
            "denied: bought after the workflow was archived on 2025-02-20"
        );
    }
}

#[test]
fn archived_workflow_offers_no_remedies() {
    // It cannot be bought or joined for any more.
    let d = run(&user(), &archived_pro(), &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::ArchivedNoPriorAccess],
        &[],
    );
}

// ---------------------------------------------------------------------------
// Rule 6: memberships
// ---------------------------------------------------------------------------

#[test]
fn active_membership_covering_the_tier_grants() {
    for tier in [
        PricingTier::Pro,
        PricingTier::Premium,
        PricingTier::Enterprise,
    ] {
        let d = run(&user(), &pro(), &ents(vec![], vec![active(1, tier)]));
        let g = assert_granted(
            &d,
            Rule::Membership(mid(1)),
            AccessKind::Member,
            DownloadSource::Membership(mid(1)),
        );
        assert_eq!(g.quota, Some(Quota::UNLIMITED));
        assert_eq!(g.purchase_status, None);
        assert_eq!(g.period_start, Some(t(90)));
        assert_eq!(g.kind.download_kind(), DownloadKind::Membership);
        assert_eq!(
            d.summary(),
            "granted: member (by membership 00000000-0000-0000-0000-000000000001)"
        );
    }
}

#[test]
fn trialing_membership_grants_as_trial() {
    let d = run(
        &user(),
        &pro(),
        &ents(vec![], vec![member(1, PricingTier::Pro, true, Some(3))]),
    );
    let g = assert_granted(
        &d,
        Rule::Membership(mid(1)),
        AccessKind::Trial,
        DownloadSource::Membership(mid(1)),
    );
    assert_eq!(
        g.quota,
        Some(Quota {
            used: 0,
            limit: Some(3)
        })
    );
    assert_eq!(g.kind.download_kind(), DownloadKind::Trial);
    assert_eq!(
        d.summary(),
        "granted: trial (by membership 00000000-0000-0000-0000-000000000001)"
    );
}

#[test]
fn lapsed_trial_is_refused_with_renew() {
    let mut m = member(1, PricingTier::Pro, true, None);
    m.trial_ends_at = Some(t(95));
    let d = run(&user(), &pro(), &ents(vec![], vec![m.clone()]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::MembershipLapsed {
            membership_id: mid(1),
            status: MembershipStatus::Trialing,
            since: t(95),
        }],
        &[
            Remedy::Renew {
                membership_id: mid(1),
            },
            buy(),
        ],
    );
    assert_eq!(
        d.summary(),
        "denied: trial ended on 2025-04-06; to get access: renew your membership or buy it for 49.00 USD"
    );
    // The end of the trial is exclusive.
    assert!(!run_at(&user(), &pro(), &ents(vec![], vec![m.clone()]), t(95)).is_granted());
    assert!(
        run_at(
            &user(),
            &pro(),
            &ents(vec![], vec![m]),
            t(95) - Duration::seconds(1)
        )
        .is_granted()
    );
}

#[test]
fn active_membership_after_its_period_is_refused() {
    let m = active(1, PricingTier::Pro);
    let e = ents(vec![], vec![m]);
    assert!(run_at(&user(), &pro(), &e, t(120) - Duration::seconds(1)).is_granted());
    let d = run_at(&user(), &pro(), &e, t(120));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::MembershipLapsed {
            membership_id: mid(1),
            status: MembershipStatus::Active,
            since: t(120),
        }],
        &[
            Remedy::Renew {
                membership_id: mid(1),
            },
            buy(),
        ],
    );
    assert_eq!(
        d.reasons[0].to_string(),
        "membership period ended on 2025-05-01"
    );
}

#[test]
fn past_due_membership_keeps_access_for_the_grace_period_only() {
    let mut m = active(1, PricingTier::Pro);
    m.apply(&MembershipEvent::PaymentFailed, t(98))
        .expect("payment fails");
    let e = ents(vec![], vec![m]);
    // Default grace: three days from the failed payment.
    let d = run(&user(), &pro(), &e);
    assert_granted(
        &d,
        Rule::Membership(mid(1)),
        AccessKind::Member,
        DownloadSource::Membership(mid(1)),
    );
    assert!(run_at(&user(), &pro(), &e, t(101) - Duration::seconds(1)).is_granted());
    let d = run_at(&user(), &pro(), &e, t(101));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::MembershipLapsed {
            membership_id: mid(1),
            status: MembershipStatus::PastDue,
            since: t(101),
        }],
        &[
            Remedy::Renew {
                membership_id: mid(1),
            },
            buy(),
        ],
    );
    assert_eq!(
        d.summary(),
        "denied: payment overdue; grace period ended on 2025-04-12; to get access: renew your membership or buy it for 49.00 USD"
    );
    // The grace comes from the policy.
    let week = AccessPolicy {
        past_due_grace: Duration::days(7),
    };
    assert!(decide(&user(), &pro(), &e, t(104), &week).is_granted());
    assert!(!decide(&user(), &pro(), &e, t(105), &week).is_granted());
    let none_at_all = AccessPolicy {
        past_due_grace: Duration::zero(),
    };
    assert!(!decide(&user(), &pro(), &e, t(98), &none_at_all).is_granted());
}

#[test]
fn ended_memberships_never_grant() {
    let mut canceled = active(1, PricingTier::Enterprise);
    canceled
        .apply(&MembershipEvent::Cancel, t(95))
        .expect("cancels");
    let d = run(&user(), &pro(), &ents(vec![], vec![canceled.clone()]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::MembershipEnded {
            membership_id: mid(1),
            status: MembershipStatus::Canceled,
            at: t(95),
        }],
        // Ended memberships cannot be renewed: join again.
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(
        d.summary(),
        "denied: membership canceled on 2025-04-06; to get access: buy it for 49.00 USD or join at tier pro or higher"
    );

    let mut expired = canceled;
    expired
        .apply(&MembershipEvent::Expire, t(96))
        .expect("expires");
    let d = run(&user(), &pro(), &ents(vec![], vec![expired]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::MembershipEnded {
            membership_id: mid(1),
            status: MembershipStatus::Expired,
            at: t(95),
        }],
        &[buy(), join(PricingTier::Pro)],
    );
    assert_eq!(d.reasons[0].to_string(), "membership expired on 2025-04-06");

    // A trial that ran out and was expired.
    let mut trial = member(2, PricingTier::Pro, true, None);
    trial
        .apply(&MembershipEvent::Expire, t(99))
        .expect("expires");
    let d = run(&user(), &pro_members_only(), &ents(vec![], vec![trial]));
    assert_eq!(
        d.summary(),
        "denied: membership expired on 2025-04-10; to get access: join at tier pro or higher"
    );
}

#[test]
fn membership_tier_too_low_suggests_an_upgrade() {
    let d = run(
        &user(),
        &pro(),
        &ents(vec![], vec![active(1, PricingTier::Basic)]),
    );
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::TierTooLow {
            membership_id: mid(1),
            needed: PricingTier::Pro,
            have: PricingTier::Basic,
        }],
        &[
            Remedy::Upgrade {
                membership_id: mid(1),
                to: PricingTier::Pro,
            },
            buy(),
        ],
    );
    assert_eq!(
        d.summary(),
        "denied: needs tier pro or higher; you have basic; to get access: upgrade your membership to pro or buy it for 49.00 USD"
    );
}

#[test]
fn minimum_tier_file_is_stricter_for_members_only() {
    // A basic workflow whose file needs premium.
    let t = with_file(
        target(WorkflowStatus::Published, PricingTier::Basic, Some(1900)),
        file(FileAccess::MinimumTier(PricingTier::Premium)),
    );
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Pro)]),
    );
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::TierTooLow {
            membership_id: mid(1),
            needed: PricingTier::Premium,
            have: PricingTier::Pro,
        }],
        &[
            Remedy::Upgrade {
                membership_id: mid(1),
                to: PricingTier::Premium,
            },
            Remedy::Buy { price: usd(1900) },
        ],
    );
    // Without any membership, join at the file's tier.
    let d = run(&user(), &t, &none());
    assert_eq!(
        d.remedies,
        vec![Remedy::Buy { price: usd(1900) }, join(PricingTier::Premium)]
    );
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Premium)]),
    );
    assert!(d.is_granted());
    // Purchasers are unaffected by the minimum tier.
    let d = run(&user(), &t, &ents(vec![bought(2)], vec![]));
    assert_granted(
        &d,
        Rule::Purchase(pid(2)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(2)),
    );

    // A minimum below the workflow's tier does not lower it.
    let t = with_file(pro(), file(FileAccess::MinimumTier(PricingTier::Basic)));
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Basic)]),
    );
    assert_eq!(
        d.reasons,
        vec![DenyReason::TierTooLow {
            membership_id: mid(1),
            needed: PricingTier::Pro,
            have: PricingTier::Basic,
        }]
    );
}

#[test]
fn owners_only_files_are_not_covered_by_memberships() {
    let t = with_file(pro(), file(FileAccess::OwnersOnly));
    let d = run(
        &user(),
        &t,
        &ents(vec![], vec![active(1, PricingTier::Enterprise)]),
    );
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::OwnersOnly {
            membership_id: mid(1),
        }],
        // Buying is the only way; joining would not help.
        &[buy()],
    );
    assert_eq!(
        d.summary(),
        "denied: this file is for buyers only; memberships do not include it; to get access: buy it for 49.00 USD"
    );
    let d = run(&user(), &t, &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[buy()],
    );
    let d = run(
        &user(),
        &t,
        &ents(vec![bought(2)], vec![active(1, PricingTier::Enterprise)]),
    );
    assert_granted(
        &d,
        Rule::Purchase(pid(2)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(2)),
    );
}

#[test]
fn used_up_period_quota_suggests_waiting_for_the_next_period() {
    let mut m = member(1, PricingTier::Pro, false, Some(10));
    m.quota.used = 10;
    let quota = Quota {
        used: 10,
        limit: Some(10),
    };
    let d = run(&user(), &pro(), &ents(vec![], vec![m.clone()]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PeriodQuotaUsed {
            membership_id: mid(1),
            quota,
            resets_at: t(120),
        }],
        &[Remedy::WaitUntil { at: t(120) }, buy()],
    );
    assert_eq!(
        d.summary(),
        "denied: 10 of 10 downloads used in the period ending 2025-05-01; to get access: wait until 2025-05-01 or buy it for 49.00 USD"
    );
    m.quota.used = 9;
    let d = run(&user(), &pro(), &ents(vec![], vec![m]));
    let g = assert_granted(
        &d,
        Rule::Membership(mid(1)),
        AccessKind::Member,
        DownloadSource::Membership(mid(1)),
    );
    assert_eq!(
        g.quota,
        Some(Quota {
            used: 9,
            limit: Some(10)
        })
    );
}

#[test]
fn used_up_quota_in_the_grace_period_suggests_renewing_not_waiting() {
    // The renewal failed at the end of the period: the quota of the ended
    // period only resets with a paid renewal, not at a date already past.
    let mut m = member(1, PricingTier::Pro, false, Some(10));
    m.quota.used = 10;
    m.apply(&MembershipEvent::PaymentFailed, t(120))
        .expect("payment fails");
    let d = run_at(&user(), &pro(), &ents(vec![], vec![m]), t(121));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::PeriodQuotaUsed {
            membership_id: mid(1),
            quota: Quota {
                used: 10,
                limit: Some(10),
            },
            resets_at: t(120),
        }],
        &[
            Remedy::Renew {
                membership_id: mid(1),
            },
            buy(),
        ],
    );
    assert_eq!(
        d.summary(),
        "denied: 10 of 10 downloads used in the period ending 2025-05-01; to get access: renew your membership or buy it for 49.00 USD"
    );
}

#[test]
fn archived_workflow_for_members_only_with_an_earlier_download() {
    let m = active(1, PricingTier::Pro);
    let mut e = ents(vec![], vec![m]);
    let d = run(&user(), &archived_pro(), &e);
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::ArchivedNoPriorAccess],
        &[],
    );
    e.downloaded_before = true;
    let d = run(&user(), &archived_pro(), &e);
    assert_granted(
        &d,
        Rule::Membership(mid(1)),
        AccessKind::Member,
        DownloadSource::Membership(mid(1)),
    );
}

#[test]
fn memberships_of_another_user_are_ignored() {
    let mut m = active(1, PricingTier::Enterprise);
    m.user_id = UserId::parse("someone-else").expect("valid");
    let d = run(&user(), &pro(), &ents(vec![], vec![m]));
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[buy(), join(PricingTier::Pro)],
    );
}

// ---------------------------------------------------------------------------
// Rule 7: the cheapest entitlement
// ---------------------------------------------------------------------------

/// Decides with the entitlements in the given order and reversed, checks
/// both agree, and returns the source charged.
fn chosen(purchases: Vec<Purchase>, memberships: Vec<Membership>) -> DownloadSource {
    let e = ents(purchases.clone(), memberships.clone());
    let d = run(&user(), &pro(), &e);
    let mut r = ents(purchases, memberships);
    r.purchases.reverse();
    r.memberships.reverse();
    assert_eq!(run(&user(), &pro(), &r), d, "input order must not matter");
    d.grant.expect("granted").source
}

fn limited(n: u128, used: u32, limit: u32, expires: Option<i64>) -> Purchase {
    let mut p = bought(n);
    p.quota = Quota {
        used,
        limit: Some(limit),
    };
    p.license_expires_at = expires.map(t);
    p
}

fn member_quota(n: u128, trial: bool, used: u32, limit: Option<u32>) -> Membership {
    let mut m = member(n, PricingTier::Pro, trial, limit);
    m.quota.used = used;
    m
}

#[test]
fn unlimited_purchase_is_cheapest() {
    let all_memberships = vec![
        member_quota(1, false, 0, None),
        member_quota(2, false, 0, Some(10)),
        member_quota(3, true, 0, None),
    ];
    let src = chosen(
        vec![limited(4, 0, 5, None), unlimited(bought(9))],
        all_memberships,
    );
    assert_eq!(src, DownloadSource::Purchase(pid(9)));
}

#[test]
fn unlimited_membership_before_limited_ones_and_limited_purchases() {
    let src = chosen(
        vec![limited(1, 0, 5, None)],
        vec![
            member_quota(2, false, 0, Some(100)),
            member_quota(9, false, 0, None),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(9)));
}

#[test]
fn limited_membership_before_limited_purchase_most_remaining_first() {
    // A purchase's units are permanent, a period's renew: spend the period.
    let src = chosen(
        vec![limited(1, 0, 100, None)],
        vec![
            member_quota(2, false, 8, Some(10)),
            member_quota(3, false, 5, Some(10)),
            member_quota(4, false, 9, Some(10)),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(3)));
}

#[test]
fn limited_purchases_soonest_expiry_first_then_most_remaining() {
    let src = chosen(
        vec![
            limited(1, 0, 5, None),
            limited(2, 0, 5, Some(300)),
            limited(3, 4, 5, Some(200)),
        ],
        vec![],
    );
    assert_eq!(
        src,
        DownloadSource::Purchase(pid(3)),
        "use up what expires first, even if little is left"
    );
    let src = chosen(
        vec![
            limited(1, 0, 5, None),
            limited(2, 3, 5, Some(200)),
            limited(3, 1, 5, Some(200)),
        ],
        vec![],
    );
    assert_eq!(src, DownloadSource::Purchase(pid(3)));
    // Without expiry: most remaining.
    let src = chosen(vec![limited(1, 3, 5, None), limited(2, 1, 5, None)], vec![]);
    assert_eq!(src, DownloadSource::Purchase(pid(2)));
}

#[test]
fn paid_memberships_before_trials() {
    // Both unlimited.
    let src = chosen(
        vec![],
        vec![
            member_quota(1, true, 0, None),
            member_quota(2, false, 0, None),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(2)));
    // Both limited with the same room.
    let src = chosen(
        vec![],
        vec![
            member_quota(1, true, 2, Some(10)),
            member_quota(2, false, 2, Some(10)),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(2)));
}

#[test]
fn membership_class_and_room_come_before_paid_versus_trial() {
    // How the implementation reads rule 7: the limit class and the room
    // left are compared first, paid-before-trial breaks what remains.
    let src = chosen(
        vec![],
        vec![
            member_quota(1, true, 0, None),
            member_quota(2, false, 0, Some(10)),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(1)));
    let src = chosen(
        vec![],
        vec![
            member_quota(1, true, 0, Some(10)),
            member_quota(2, false, 5, Some(10)),
        ],
    );
    assert_eq!(src, DownloadSource::Membership(mid(1)));
}

#[test]
fn ties_are_broken_by_id() {
    let src = chosen(vec![unlimited(bought(7)), unlimited(bought(3))], vec![]);
    assert_eq!(src, DownloadSource::Purchase(pid(3)));
    let src = chosen(
        vec![],
        vec![active(8, PricingTier::Pro), active(5, PricingTier::Premium)],
    );
    assert_eq!(src, DownloadSource::Membership(mid(5)));
    let src = chosen(
        vec![limited(6, 0, 5, Some(200)), limited(2, 0, 5, Some(200))],
        vec![],
    );
    assert_eq!(src, DownloadSource::Purchase(pid(2)));
}

#[test]
fn failing_entitlements_do_not_block_a_passing_one() {
    let mut refunded = unlimited(bought(1));
    refunded.status = PaymentStatus::Refunded;
    let e = ents(
        vec![refunded, limited(2, 0, 5, None)],
        vec![active(3, PricingTier::Basic)],
    );
    let d = run(&user(), &pro(), &e);
    assert_granted(
        &d,
        Rule::Purchase(pid(2)),
        AccessKind::Purchased,
        DownloadSource::Purchase(pid(2)),
    );
    // Every entitlement got its own step, in id order, purchases first.
    let mut expected = PREFIX.to_vec();
    expected.extend([
        Rule::Purchase(pid(1)),
        Rule::Purchase(pid(2)),
        Rule::Membership(mid(3)),
        Rule::Purchase(pid(2)),
    ]);
    assert_eq!(rules(&d), expected);
    assert!(matches!(
        d.trace[5].verdict,
        Verdict::Refuses(DenyReason::PurchaseRefunded { .. })
    ));
    assert!(matches!(
        d.trace[7].verdict,
        Verdict::Refuses(DenyReason::TierTooLow { .. })
    ));
}

// ---------------------------------------------------------------------------
// Rule 8: denial with every reason and remedy
// ---------------------------------------------------------------------------

#[test]
fn denial_lists_every_reason_and_deduplicated_remedies() {
    let mut refunded = bought(1);
    refunded.status = PaymentStatus::Refunded;
    refunded.refund = Some(RefundState {
        refunded: usd(4900),
        reason: None,
        refunded_at: t(30),
    });
    let mut full_a = member(3, PricingTier::Pro, false, Some(2));
    full_a.quota.used = 2;
    let mut full_b = member(4, PricingTier::Premium, false, Some(2));
    full_b.quota.used = 2;
    let low = active(2, PricingTier::Basic);
    let e = ents(vec![refunded], vec![full_b, low, full_a]);
    let d = run(&user(), &pro(), &e);
    let q = Quota {
        used: 2,
        limit: Some(2),
    };
    assert_denied(
        &d,
        Rule::Entitlements,
        &[
            DenyReason::PurchaseRefunded {
                purchase_id: pid(1),
                at: Some(t(30)),
            },
            DenyReason::TierTooLow {
                membership_id: mid(2),
                needed: PricingTier::Pro,
                have: PricingTier::Basic,
            },
            DenyReason::PeriodQuotaUsed {
                membership_id: mid(3),
                quota: q,
                resets_at: t(120),
            },
            DenyReason::PeriodQuotaUsed {
                membership_id: mid(4),
                quota: q,
                resets_at: t(120),
            },
        ],
        // One "wait" for the two full memberships; no "join" when the user
        // already has memberships that an upgrade or a wait would fix.
        &[
            Remedy::Upgrade {
                membership_id: mid(2),
                to: PricingTier::Pro,
            },
            Remedy::WaitUntil { at: t(120) },
            buy(),
        ],
    );
    assert_eq!(
        d.summary(),
        "denied: purchase refunded on 2025-01-31; needs tier pro or higher; you have basic; \
         2 of 2 downloads used in the period ending 2025-05-01; \
         2 of 2 downloads used in the period ending 2025-05-01; \
         to get access: upgrade your membership to pro or wait until 2025-05-01 or buy it for 49.00 USD"
    );
}

#[test]
fn membership_only_workflow_offers_joining_only() {
    let d = run(&user(), &pro_members_only(), &none());
    assert_denied(
        &d,
        Rule::Entitlements,
        &[DenyReason::NoEntitlement],
        &[join(PricingTier::Pro)],
    );
    assert_eq!(
        d.summary(),
        "denied: no purchase or membership covers it; to get access: join at tier pro or higher"
    );
}

#[test]
fn remedy_texts() {
    let cases = [
        (Remedy::SignIn, "sign in"),
        (buy(), "buy it for 49.00 USD"),
        (join(PricingTier::Premium), "join at tier premium or higher"),
        (
            Remedy::Upgrade {
                membership_id: mid(1),
                to: PricingTier::Enterprise,
            },
            "upgrade your membership to enterprise",
        ),
        (
            Remedy::Renew {
                membership_id: mid(1),
            },
            "renew your membership",
        ),
        (Remedy::WaitUntil { at: t(120) }, "wait until 2025-05-01"),
    ];
    for (r, text) in cases {
        assert_eq!(r.to_string(), text);
    }
}

#[test]
fn display_shows_the_summary_and_the_trace() {
    let d = run(
        &user(),
        &pro(),
        &ents(vec![], vec![active(1, PricingTier::Basic)]),
    );
    assert_eq!(
        d.to_string(),
        "denied: needs tier pro or higher; you have basic; to get access: upgrade your membership to pro or buy it for 49.00 USD\n\
         \x20 1. release status: passes: released\n\
         \x20 2. staff: passes: not staff\n\
         \x20 3. public file: passes: no public file asked for\n\
         \x20 4. free workflow: passes: paid tier\n\
         \x20 5. signed in: passes: signed in\n\
         \x20 6. membership 00000000-0000-0000-0000-000000000001: refuses: needs tier pro or higher; you have basic\n\
         \x20 7. entitlements: refuses: needs tier pro or higher; you have basic\n"
    );
}

#[test]
fn access_kinds_map_to_download_kinds() {
    assert_eq!(AccessKind::Free.download_kind(), DownloadKind::Free);
    assert_eq!(AccessKind::Staff.download_kind(), DownloadKind::Free);
    assert_eq!(
        AccessKind::Purchased.download_kind(),
        DownloadKind::Purchased
    );
    assert_eq!(AccessKind::Member.download_kind(), DownloadKind::Membership);
    assert_eq!(AccessKind::Trial.download_kind(), DownloadKind::Trial);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

mod props {
    use super::*;

    use std::cmp::Reverse;

    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// Whole days and, sometimes, hours: equal instants are common, so the
    /// boundaries (`now == expiry`, `released == updates_until`) get hit.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..90, prop_oneof![3 => Just(0i64), 1 => 0i64..24])
            .prop_map(|(d, h)| t(d) + Duration::hours(h))
    }

    fn tier() -> impl Strategy<Value = PricingTier> {
        select(PricingTier::ALL.to_vec())
    }

    fn owner() -> impl Strategy<Value = UserId> {
        prop_oneof![4 => Just(USER), 1 => Just("someone-else")]
            .prop_map(|u| UserId::parse(u).expect("valid"))
    }

    fn quota() -> impl Strategy<Value = Quota> {
        (0u32..6, option::of(1u32..5)).prop_map(|(used, limit)| Quota { used, limit })
    }

    fn item() -> impl Strategy<Value = PurchaseItem> {
        let bundle = |members: Vec<WorkflowId>| PurchaseItem::Bundle {
            bundle_id: BundleId::from_uuid(Uuid::from_u128(77)),
            members,
        };
        prop_oneof![
            4 => Just(PurchaseItem::Workflow {
                workflow_id: wf_id()
            }),
            2 => Just(bundle(vec![other_wf(), wf_id()])),
            1 => Just(bundle(vec![other_wf()])),
            1 => Just(PurchaseItem::Workflow {
                workflow_id: other_wf()
            }),
            1 => Just(PurchaseItem::MembershipIncluded {
                workflow_id: wf_id(),
                membership_id: mid(9),
            }),
        ]
    }

    /// Any purchase: any status, quota, expiry, update window and item. The
    /// id is set by [`scenario`].
    fn purchase() -> impl Strategy<Value = Purchase> {
        (
            owner(),
            item(),
            select(PaymentStatus::ALL.to_vec()),
            quota(),
            option::of(instant()),
            option::of(instant()),
            option::weighted(0.9, instant()),
            option::of(instant()),
            option::of(instant()),
        )
            .prop_map(
                |(owner, item, status, quota, expires, until, completed, disputed, refunded)| {
                    let mut p = crate::commerce::purchase::tests::pending(item, 4900);
                    p.user_id = owner;
                    p.status = status;
                    p.quota = quota;
                    p.license_expires_at = expires;
                    p.updates_until = until;
                    p.completed_at = completed;
                    p.disputed_at = disputed;
                    p.refund = refunded.map(|at| RefundState {
                        refunded: usd(100),
                        reason: None,
                        refunded_at: at,
                    });
                    p
                },
            )
    }

    /// Any membership: any status, tier, period, quota and past_due_since.
    fn membership() -> impl Strategy<Value = Membership> {
        (
            owner(),
            tier(),
            select(MembershipStatus::ALL.to_vec()),
            instant(),
            1i64..60,
            option::of(instant()),
            quota(),
            option::of(instant()),
            option::of(instant()),
            option::of(instant()),
        )
            .prop_map(
                |(owner, tier, status, start, len, trial_end, quota, past_due, canceled, ended)| {
                    let mut m = member(0, PricingTier::Pro, false, None);
                    m.user_id = owner;
                    m.tier = tier;
                    m.status = status;
                    m.period = Period::new(start, start + Duration::days(len)).expect("valid");
                    m.trial_ends_at = trial_end;
                    m.quota = quota;
                    m.past_due_since = past_due;
                    m.canceled_at = canceled;
                    m.ended_at = ended;
                    m
                },
            )
    }

    fn file_access() -> impl Strategy<Value = FileAccess> {
        prop_oneof![
            Just(FileAccess::Public),
            Just(FileAccess::Standard),
            tier().prop_map(FileAccess::MinimumTier),
            Just(FileAccess::OwnersOnly),
        ]
    }

    fn file_target() -> impl Strategy<Value = FileTarget> {
        (file_access(), 0u32..4, instant()).prop_map(|(access, major, released)| {
            file_at(access, Version::new(major, 0, 0), released)
        })
    }

    /// Any workflow status, tier and price, archived on some day when
    /// archived, and optionally a file.
    fn target() -> impl Strategy<Value = Target> {
        (
            prop_oneof![
                6 => Just(WorkflowStatus::Published),
                2 => Just(WorkflowStatus::Archived),
                1 => Just(WorkflowStatus::Draft),
                1 => Just(WorkflowStatus::ComingSoon),
            ],
            tier(),
            option::of(1i64..10_000),
            instant(),
            option::of(file_target()),
        )
            .prop_map(|(status, tier, price, archived, file)| Target {
                workflow_id: wf_id(),
                status,
                tier,
                price: price.map(usd),
                archived_at: (status == WorkflowStatus::Archived).then_some(archived),
                file,
            })
    }

    fn actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            1 => Just(Actor::Anonymous),
            8 => Just(user()),
            1 => Just(stranger()),
            1 => Just(Actor::admin(USER).expect("valid")),
            1 => Just(Actor::Service),
        ]
    }

    #[derive(Debug, Clone)]
    struct Scenario {
        actor: Actor,
        target: Target,
        ents: Entitlements,
        now: DateTime<Utc>,
        policy: AccessPolicy,
    }

    impl Scenario {
        fn decide(&self) -> AccessDecision {
            decide(
                &self.actor,
                &self.target,
                &self.ents,
                self.now,
                &self.policy,
            )
        }

        fn with(&self, ents: Entitlements) -> AccessDecision {
            decide(&self.actor, &self.target, &ents, self.now, &self.policy)
        }
    }

    /// Unique ids in random order: a random high half, the index below.
    fn purchase_id(r: u64, i: usize) -> PurchaseId {
        PurchaseId::from_uuid(Uuid::from_u128((u128::from(r) << 64) | i as u128))
    }

    fn membership_id(r: u64, i: usize) -> MembershipId {
        MembershipId::from_uuid(Uuid::from_u128((u128::from(r) << 64) | i as u128))
    }

    fn scenario() -> impl Strategy<Value = Scenario> {
        (
            actor(),
            target(),
            vec((any::<u64>(), purchase()), 0..5),
            vec((any::<u64>(), membership()), 0..5),
            any::<bool>(),
            instant(),
            0i64..10,
        )
            .prop_map(|(actor, target, ps, ms, before, now, grace)| Scenario {
                actor,
                target,
                ents: Entitlements {
                    purchases: ps
                        .into_iter()
                        .enumerate()
                        .map(|(i, (r, mut p))| {
                            p.id = purchase_id(r, i);
                            p
                        })
                        .collect(),
                    memberships: ms
                        .into_iter()
                        .enumerate()
                        .map(|(i, (r, mut m))| {
                            m.id = membership_id(r, i);
                            m
                        })
                        .collect(),
                    downloaded_before: before,
                },
                now,
                policy: AccessPolicy {
                    past_due_grace: Duration::days(grace),
                },
            })
    }

    fn file_access_of(target: &Target) -> Option<FileAccess> {
        target.file.as_ref().map(|f| f.access)
    }

    /// The tier a membership needs, straight from the module docs.
    fn needed_tier(target: &Target) -> PricingTier {
        match file_access_of(target) {
            Some(FileAccess::MinimumTier(t)) if t > target.tier => t,
            _ => target.tier,
        }
    }

    /// Rule 6's conditions for a membership's standing, restated.
    fn in_good_standing(m: &Membership, now: DateTime<Utc>, grace: Duration) -> bool {
        match m.status {
            MembershipStatus::Trialing => now < m.trial_ends_at.unwrap_or(m.period.end),
            MembershipStatus::Active => now < m.period.end,
            MembershipStatus::PastDue => now < m.past_due_since.unwrap_or(m.period.end) + grace,
            MembershipStatus::Canceled | MembershipStatus::Expired => false,
        }
    }

    /// Class (0 unlimited purchase, 1 unlimited membership, 2 limited
    /// membership, 3 limited purchase), expiry (soonest first, none last),
    /// room (most first), trial (paid first), id.
    type CostKey = (u8, (bool, Option<DateTime<Utc>>), Reverse<u32>, bool, Uuid);

    /// Rule 7's order, restated from the module docs, as a sort key.
    fn cost_key(source: DownloadSource, ents: &Entitlements) -> CostKey {
        match source {
            DownloadSource::Purchase(id) => {
                let p = ents.purchases.iter().find(|p| p.id == id).expect("exists");
                match p.quota.remaining() {
                    None => (0, (false, None), Reverse(u32::MAX), false, id.as_uuid()),
                    Some(left) => (
                        3,
                        (p.license_expires_at.is_none(), p.license_expires_at),
                        Reverse(left),
                        false,
                        id.as_uuid(),
                    ),
                }
            }
            DownloadSource::Membership(id) => {
                let m = ents
                    .memberships
                    .iter()
                    .find(|m| m.id == id)
                    .expect("exists");
                let trial = m.status == MembershipStatus::Trialing;
                match m.quota.remaining() {
                    None => (1, (false, None), Reverse(u32::MAX), trial, id.as_uuid()),
                    Some(left) => (2, (false, None), Reverse(left), trial, id.as_uuid()),
                }
            }
            other => panic!("not an entitlement: {other:?}"),
        }
    }

    fn rank(rule: Rule) -> u8 {
        match rule {
            Rule::Release => 1,
            Rule::Staff => 2,
            Rule::PublicFile => 3,
            Rule::FreeWorkflow => 4,
            Rule::SignIn => 5,
            Rule::Purchase(_) | Rule::Membership(_) | Rule::Entitlements => 6,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A purchase grants only when paid (completed or partially
        /// refunded), its own, covering the workflow, unexpired, with quota
        /// room, covering the file's version, and bought before archiving.
        #[test]
        fn purchase_grants_only_when_paid_current_and_with_room(s in scenario()) {
            let d = s.decide();
            if let Some(Grant { source: DownloadSource::Purchase(id), kind, purchase_status, quota, .. }) = d.grant {
                let p = s.ents.purchases.iter().find(|p| p.id == id).expect("granted by a given purchase");
                prop_assert!(!s.actor.is_privileged());
                prop_assert_eq!(Some(&p.user_id), s.actor.user_id());
                prop_assert!(p.item.covers(s.target.workflow_id));
                prop_assert!(matches!(p.status, PaymentStatus::Completed | PaymentStatus::PartiallyRefunded), "{:?}", p.status);
                prop_assert_eq!(purchase_status, Some(p.status));
                prop_assert_eq!(quota, Some(p.quota));
                prop_assert_eq!(kind, AccessKind::Purchased);
                prop_assert!(p.license_expires_at.is_none_or(|at| s.now < at));
                prop_assert!(p.quota.has_room());
                if let (Some(f), Some(until)) = (&s.target.file, p.updates_until) {
                    prop_assert!(f.released_at <= until);
                }
                if s.target.status == WorkflowStatus::Archived {
                    let archived = s.target.archived_at.expect("archived");
                    prop_assert!(p.completed_at.is_some_and(|c| c < archived));
                }
            }
        }

        /// A membership grants only in good standing (never canceled or
        /// expired), when its tier covers the required tier, the file is
        /// not owners-only and the period quota has room.
        #[test]
        fn membership_grants_only_in_standing_and_tier(s in scenario()) {
            let d = s.decide();
            if let Some(Grant { source: DownloadSource::Membership(id), kind, quota, period_start, purchase_status }) = d.grant {
                let m = s.ents.memberships.iter().find(|m| m.id == id).expect("granted by a given membership");
                prop_assert!(!s.actor.is_privileged());
                prop_assert_eq!(Some(&m.user_id), s.actor.user_id());
                prop_assert!(!matches!(m.status, MembershipStatus::Canceled | MembershipStatus::Expired));
                prop_assert!(in_good_standing(m, s.now, s.policy.past_due_grace));
                prop_assert!(m.tier.covers(needed_tier(&s.target)), "{} does not cover {}", m.tier, needed_tier(&s.target));
                prop_assert!(m.tier.covers(s.target.tier));
                prop_assert_ne!(file_access_of(&s.target), Some(FileAccess::OwnersOnly));
                prop_assert!(m.quota.has_room());
                prop_assert_eq!(quota, Some(m.quota));
                prop_assert_eq!(period_start, Some(m.period.start));
                prop_assert_eq!(purchase_status, None);
                let expected = if m.status == MembershipStatus::Trialing { AccessKind::Trial } else { AccessKind::Member };
                prop_assert_eq!(kind, expected);
                if s.target.status == WorkflowStatus::Archived {
                    prop_assert!(s.ents.downloaded_before);
                }
            }
        }

        /// More entitlements never turn a grant into a denial.
        #[test]
        fn extra_entitlements_never_revoke(s in scenario(), p in purchase(), m in membership(), r in any::<u64>()) {
            let d = s.decide();
            let mut more = s.ents.clone();
            let mut p = p;
            p.id = purchase_id(r, 99);
            more.purchases.push(p);
            let with_purchase = s.with(more.clone());
            let mut m = m;
            m.id = membership_id(r, 99);
            more.memberships.push(m);
            let with_both = s.with(more);
            if d.is_granted() {
                prop_assert!(with_purchase.is_granted(), "{}\n{}", d, with_purchase);
                prop_assert!(with_both.is_granted(), "{}\n{}", d, with_both);
            }
        }

        /// Entitlements of another user, or purchases of another workflow,
        /// change nothing at all.
        #[test]
        fn unrelated_entitlements_change_nothing(s in scenario(), p in purchase(), m in membership(), r in any::<u64>(), which in 0u8..3) {
            let d = s.decide();
            let mut more = s.ents.clone();
            let mut p = p;
            p.id = purchase_id(r, 99);
            let mut m = m;
            m.id = membership_id(r, 99);
            let someone_else = UserId::parse("a-third-user").expect("valid");
            match which {
                0 => {
                    p.user_id = someone_else;
                    more.purchases.push(p);
                }
                1 => {
                    p.item = PurchaseItem::Workflow { workflow_id: other_wf() };
                    more.purchases.push(p);
                }
                _ => {
                    m.user_id = someone_else;
                    more.memberships.push(m);
                }
            }
            prop_assert_eq!(s.with(more), d);
        }

        /// The order of the entitlement vectors does not matter, not even
        /// for the trace.
        #[test]
        fn decisions_do_not_depend_on_input_order(
            (s, ps, ms) in scenario().prop_flat_map(|s| {
                let ps = Just(s.ents.purchases.clone()).prop_shuffle();
                let ms = Just(s.ents.memberships.clone()).prop_shuffle();
                (Just(s), ps, ms)
            })
        ) {
            let shuffled = Entitlements {
                purchases: ps,
                memberships: ms,
                downloaded_before: s.ents.downloaded_before,
            };
            prop_assert_eq!(s.with(shuffled), s.decide());
        }

        /// Draft and coming_soon workflows: staff only, decided by rule 1.
        #[test]
        fn unreleased_is_for_staff_only(s in scenario()) {
            let d = s.decide();
            let unreleased = matches!(s.target.status, WorkflowStatus::Draft | WorkflowStatus::ComingSoon);
            if s.actor.is_privileged() {
                prop_assert_eq!(d.kind(), Some(AccessKind::Staff));
                prop_assert_eq!(d.decided_by, Rule::Staff);
            } else if unreleased {
                prop_assert!(!d.is_granted());
                prop_assert_eq!(d.decided_by, Rule::Release);
                prop_assert_eq!(d.reasons, vec![DenyReason::NotReleased { status: s.target.status }]);
            }
        }

        /// A denial gives at least one reason; a grant gives none, and no
        /// remedies.
        #[test]
        fn denials_have_reasons_and_grants_none(s in scenario()) {
            let d = s.decide();
            if d.is_granted() {
                prop_assert!(d.reasons.is_empty());
                prop_assert!(d.remedies.is_empty());
                prop_assert!(d.summary().starts_with("granted: "));
            } else {
                prop_assert!(!d.reasons.is_empty(), "{}", d);
                prop_assert!(d.summary().starts_with("denied: "));
            }
        }

        /// The trace runs through the rules in precedence order and ends
        /// with the deciding rule.
        #[test]
        fn trace_ends_with_the_deciding_rule(s in scenario()) {
            let d = s.decide();
            let last = d.trace.last().expect("never empty");
            prop_assert_eq!(last.rule, d.decided_by);
            if let Some(g) = d.grant {
                prop_assert_eq!(&last.verdict, &Verdict::Grants { kind: g.kind });
            }
            prop_assert_eq!(d.trace[0].rule, Rule::Release);
            let ranks: Vec<u8> = d.trace.iter().map(|s| rank(s.rule)).collect();
            prop_assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{:?}", ranks);
        }

        /// Rule 3 and 4: public previews and free workflows, when published,
        /// are free for everyone (staff excepted, who are staff).
        #[test]
        fn published_free_content_is_free_for_everyone(s in scenario()) {
            let d = s.decide();
            let published = s.target.status == WorkflowStatus::Published;
            let access = file_access_of(&s.target);
            let public = access == Some(FileAccess::Public);
            let stricter = matches!(access, Some(FileAccess::OwnersOnly))
                || matches!(access, Some(FileAccess::MinimumTier(t)) if t > s.target.tier);
            let free_workflow = s.target.tier == PricingTier::Free && !stricter;
            if published && !s.actor.is_privileged() && (public || free_workflow) {
                prop_assert_eq!(d.grant.map(|g| (g.kind, g.source)), Some((AccessKind::Free, DownloadSource::Free)), "{}", d);
            }
        }

        /// Rule 6/7: entitlements are judged each on its own; access is
        /// granted through them exactly when one of them alone would grant,
        /// and the one used is the cheapest of those (module docs' order).
        #[test]
        fn the_cheapest_passing_entitlement_is_used(s in scenario()) {
            let d = s.decide();
            if !matches!(d.decided_by, Rule::Purchase(_) | Rule::Membership(_) | Rule::Entitlements) {
                return Ok(());
            }
            let alone = |purchases: Vec<Purchase>, memberships: Vec<Membership>| {
                s.with(Entitlements { purchases, memberships, downloaded_before: s.ents.downloaded_before })
            };
            let mut passing: Vec<DownloadSource> = Vec::new();
            for p in &s.ents.purchases {
                if let Some(g) = alone(vec![p.clone()], vec![]).grant {
                    prop_assert_eq!(g.source, DownloadSource::Purchase(p.id));
                    passing.push(g.source);
                }
            }
            for m in &s.ents.memberships {
                if let Some(g) = alone(vec![], vec![m.clone()]).grant {
                    prop_assert_eq!(g.source, DownloadSource::Membership(m.id));
                    passing.push(g.source);
                }
            }
            match d.grant {
                None => prop_assert!(passing.is_empty()),
                Some(g) => {
                    let best = passing.iter().copied().min_by_key(|src| cost_key(*src, &s.ents));
                    prop_assert_eq!(Some(g.source), best, "{}", d);
                }
            }
        }

        /// A denial at rule 8 lists one reason per entitlement consulted (or
        /// a single general one), and only sensible remedies.
        #[test]
        fn denials_list_every_reason_and_sensible_remedies(s in scenario()) {
            let d = s.decide();
            if d.is_granted() || d.decided_by != Rule::Entitlements {
                return Ok(());
            }
            let mine = |u: &UserId| Some(u) == s.actor.user_id();
            let consulted = s.ents.purchases.iter().filter(|p| mine(&p.user_id) && p.item.covers(s.target.workflow_id)).count()
                + s.ents.memberships.iter().filter(|m| mine(&m.user_id)).count();
            prop_assert_eq!(d.reasons.len(), consulted.max(1), "{}", d);
            let archived = s.target.status == WorkflowStatus::Archived;
            for r in &d.remedies {
                match r {
                    Remedy::SignIn => prop_assert!(false, "signed in already"),
                    Remedy::Buy { price } => prop_assert_eq!(Some(*price), s.target.price),
                    Remedy::Join { tier } => {
                        prop_assert_eq!(*tier, needed_tier(&s.target));
                        prop_assert_ne!(file_access_of(&s.target), Some(FileAccess::OwnersOnly));
                    }
                    Remedy::Upgrade { to, .. } => prop_assert_eq!(*to, needed_tier(&s.target)),
                    Remedy::WaitUntil { at } => prop_assert!(*at > s.now, "waiting until the past: {}", d),
                    Remedy::Renew { .. } => {}
                }
                prop_assert!(!archived, "archived workflows cannot be bought or joined: {}", d);
            }
        }
    }
}

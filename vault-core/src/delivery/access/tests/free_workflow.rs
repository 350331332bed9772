//! Rule 4, free workflow: free for everyone unless the file is stricter;
//! archived, only for earlier downloaders.

use super::*;

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

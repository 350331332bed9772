//! Rule 6, purchases: paid, unexpired, with quota room, covering the
//! workflow (directly or through a bundle), and the actor's own.

use super::*;

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

#[test]
fn several_refusing_entitlements_end_the_trace_with_none_passed() {
    let pending = {
        let mut p = bought(1);
        p.status = PaymentStatus::Pending;
        p
    };
    let failed = {
        let mut p = bought(2);
        p.status = PaymentStatus::Failed;
        p
    };
    let d = run(&user(), &pro(), &ents(vec![pending, failed], vec![]));
    assert_eq!(d.reasons.len(), 2, "{d}");
    let last = d.trace.last().expect("trace");
    assert_eq!(last.rule, Rule::Entitlements);
    // Each purchase's own step says why; the last one sums up.
    assert_eq!(
        last.verdict,
        Verdict::Passes {
            note: "no entitlement passed".into()
        },
        "{d}"
    );
}

//! Rule 6, memberships: standing (trial, period, grace), tier, owners-only
//! files, the period quota, archived workflows.

use super::*;

use crate::commerce::membership::MembershipEvent;

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

#[test]
fn at_the_instant_the_period_ends_a_used_up_quota_asks_for_renewal() {
    // resets_at == now: the reset is not still ahead, so waiting is no remedy.
    let mut m = member(1, PricingTier::Pro, false, Some(10));
    m.quota.used = 10;
    m.apply(&MembershipEvent::PaymentFailed, t(119))
        .expect("payment fails");
    let d = run_at(&user(), &pro(), &ents(vec![], vec![m]), t(120));
    assert_eq!(
        d.remedies.first(),
        Some(&Remedy::Renew {
            membership_id: mid(1)
        }),
        "{d}"
    );
    // A moment before the end, the reset is ahead: wait for it.
    let mut m = member(1, PricingTier::Pro, false, Some(10));
    m.quota.used = 10;
    let before = t(120) - Duration::seconds(1);
    let d = run_at(&user(), &pro(), &ents(vec![], vec![m]), before);
    assert_eq!(
        d.remedies.first(),
        Some(&Remedy::WaitUntil { at: t(120) }),
        "{d}"
    );
}

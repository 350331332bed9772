//! Rule 8, denial: every reason and the deduplicated remedies; how a
//! decision reads (remedy texts, display) and the download kind of a grant.

use super::*;

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

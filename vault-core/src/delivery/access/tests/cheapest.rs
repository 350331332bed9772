//! Rule 7, the cheapest entitlement: which of several passing entitlements a
//! download is charged to, independent of input order.

use super::*;

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

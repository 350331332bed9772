//! Rule 6, version-scoped purchases: a purchase covers the versions released
//! within its update window (`updates_until`), and memberships have none.

use super::*;

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

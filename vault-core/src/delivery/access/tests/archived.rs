//! Rule 6, archived workflows and purchases: only purchases completed before
//! archiving count, and nothing more can be bought or joined.

use super::*;

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

//! Rule 2, staff: admins and the service download anything, uncharged.

use super::*;

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

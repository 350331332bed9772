//! Rule 3, public file: a preview of a published workflow is free for everyone.

use super::*;

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

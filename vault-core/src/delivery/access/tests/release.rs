//! Rule 1, release: `draft` and `coming_soon` workflows are for staff only.

use super::*;

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

//! Rule 5, sign-in: beyond free content an anonymous visitor is denied.

use super::*;

#[test]
fn anonymous_visitors_must_sign_in_for_paid_content() {
    for t in [pro(), pro_members_only(), archived_pro()] {
        let d = run(&Actor::Anonymous, &t, &none());
        assert_denied(
            &d,
            Rule::SignIn,
            &[DenyReason::SignInRequired],
            &[Remedy::SignIn],
        );
        assert_eq!(rules(&d), PREFIX.to_vec());
        assert_eq!(
            d.summary(),
            "denied: sign in to download paid content; to get access: sign in"
        );
    }
}

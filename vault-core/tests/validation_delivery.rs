//! Validation of delivery (`delivery/download.rs`): the request headers a
//! download records.
//!
//! What is required of every value, and the harness: `common/mod.rs`.

mod common;

use proptest::prelude::*;

use vault_core::delivery::download::check_header;

use common::{R, long, refused, text};

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

#[test]
fn check_header_text() {
    refused(
        "2049 chars",
        check_header("referrer", &long(2049)),
        "referrer",
        R::TooLong(2048),
    );
    refused(
        "control",
        check_header("user_agent", "curl\u{1b}[0m"),
        "user_agent",
        R::Format,
    );
    assert!(check_header("referrer", "").is_ok(), "headers are optional");
    assert!(check_header("referrer", &long(2048)).is_ok());
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #[test]
    fn headers_never_panic(s in text("[ -~]{2040,2060}")) {
        let ok = check_header("referrer", &s).is_ok();
        prop_assert_eq!(ok, s.chars().count() <= 2048
            && !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')));
    }
}

//! Email addresses and opaque credentials: personal or secret values that
//! never reach `Debug`, logs or spans whole.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError, check_text};

/// An account's email address, as the user typed it (trimmed). Two
/// addresses are the same account when their [`Email::key`]s match:
/// uniqueness is case-insensitive, as mail providers treat it in practice.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email {
    text: String,
    key: String,
}

/// The longest address SMTP carries (RFC 5321: a 256-octet path less the
/// angle brackets).
pub const MAX_EMAIL: usize = 254;

impl Email {
    /// Checks an address: one `@`, a local part of 1-64 characters and a
    /// domain of dot-separated labels (1-63 letters, digits or hyphens, not
    /// at either end), 254 characters at most, no spaces or control
    /// characters. Deliverability is the app's to check (it sends the mail).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "email",
                Reason::Format {
                    expected: "an address like name@example.com",
                },
            )
        };
        let text = s.trim();
        check_text("email", text, true, MAX_EMAIL)?;
        let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !local_ok || !domain.split('.').all(label_ok) {
            return Err(bad());
        }
        Ok(Self {
            key: text.to_lowercase(),
            text: text.to_owned(),
        })
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What uniqueness compares: the address in lower case.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.text.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Email {}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

// Personal data: the domain says enough to debug a delivery problem.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email(…@{})", self.domain())
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.text
    }
}

/// An opaque credential the app stores with the account and reads back,
/// e.g. a PHC password-hash string (`$argon2id$v=19$...`). The vault never
/// interprets it and never shows it: `Debug` is redacted, there is no
/// `Display`, and it is not `Serialize` (a record holding it cannot be
/// dumped by accident); [`Credential::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    /// Checks a credential: 1-1024 characters, no control characters.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_text("credential", &s, true, 1024)?;
        if s.contains(['\n', '\r', '\t']) {
            return Err(ValidationError::new(
                "credential",
                Reason::Format {
                    expected: "one line without control characters",
                },
            ));
        }
        Ok(Self(s))
    }

    /// The credential, for the app's own check (and the store's write).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_compare_without_case_and_keep_their_spelling() {
        let a = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        let b = Email::parse("ada.lovelace@example.com").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(a.key(), "ada.lovelace@example.com");
        assert_eq!(a.domain(), "Example.COM");
        assert_eq!(format!("{a:?}"), "Email(…@Example.COM)");
    }

    #[test]
    fn malformed_addresses_are_refused_naming_the_field() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "ada@",
            "ada@example..com",
            "ada@-example.com",
            "ada@example-.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@exam_ple.com",
            "ada\u{0}@example.com",
            long_local.as_str(),
            long.as_str(),
        ] {
            assert_eq!(
                Email::parse(bad).expect_err(bad).field(),
                "email",
                "{bad:?}"
            );
        }
        assert!(Email::parse("o'brien+vault@mail.example.co.uk").is_ok());
        assert!(Email::parse("用户@例子.广告").is_ok(), "internationalised");
    }

    #[test]
    fn a_credential_never_shows_itself() {
        let c = Credential::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").expect("valid");
        assert_eq!(format!("{c:?}"), "Credential(<redacted>)");
        assert!(c.expose().starts_with("$argon2id$"));
        for bad in ["", "two\nlines", "nul\u{0}"] {
            assert_eq!(Credential::new(bad).expect_err(bad).field(), "credential");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_accepted_keys_are_lowercase(s in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.key(), e.as_str().to_lowercase());
                prop_assert_eq!(Email::parse(e.as_str()).expect("round trip"), e.clone());
                prop_assert_eq!(format!("{e:?}"), format!("Email(…@{})", e.domain()));
            }
        }
    }
}

//! Licenses: keys, license types, and the download quotas that limit them.
//!
//! A one-time purchase carries a license with an optional download limit and
//! an optional expiry; a membership carries a per-period quota that resets
//! when a new period starts. Which entitlement pays for a download when
//! several apply is decided in [`crate::delivery::access`], using [`Quota`] from here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::clock::Entropy;
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError};

named_enum!(
    /// What a purchase licenses the buyer to do.
    LicenseType, "license_type", "personal, team, commercial, enterprise" {
        /// One person's own use.
        Personal = "personal",
        /// Use within one team.
        Team = "team",
        /// Use in client work and products.
        Commercial = "commercial",
        /// Organisation-wide.
        Enterprise = "enterprise",
    }
);

// Crockford's base32: no I, L, O, U, so keys survive being read aloud.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Membership in [`ALPHABET`] by byte: stored purchases parse their key on
/// every read, and a scan of the alphabet per character was ~2k
/// instructions a key.
const IN_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = true;
        i += 1;
    }
    table
};

/// A license key: `WV-` and five groups of five Crockford base32 characters
/// (125 random bits), e.g. `WV-8M2QK-4T7ZC-0N9XH-RB3WD-6FJYP`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LicenseKey(String);

impl LicenseKey {
    /// Mints a key from the caller's entropy.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let bytes = entropy.bytes16();
        let mut bits = u128::from_le_bytes(bytes);
        let mut out = String::with_capacity(32);
        out.push_str("WV");
        for i in 0..25 {
            if i % 5 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        Self(out)
    }

    /// Parses a key as a customer types it: case-insensitive, and the letters
    /// O, I and L read as 0, 1 and 1.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "license_key",
                Reason::Format {
                    expected: "WV- followed by five groups of five characters",
                },
            )
        };
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("WV-").ok_or_else(bad)?;
        let groups: Vec<&str> = body.split('-').collect();
        if groups.len() != 5 || groups.iter().any(|g| g.len() != 5) {
            return Err(bad());
        }
        let mut out = String::from("WV");
        for g in groups {
            out.push('-');
            for c in g.chars() {
                let c = match c {
                    'O' => '0',
                    'I' | 'L' => '1',
                    c => c,
                };
                if !c.is_ascii() || !IN_ALPHABET[usize::from(c as u8)] {
                    return Err(bad());
                }
                out.push(c);
            }
        }
        Ok(Self(out))
    }

    /// The canonical key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// A key grants downloads; keep it out of logs. Show only the last group.
impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = self.0.rsplit('-').next().unwrap_or("");
        write!(f, "LicenseKey(WV-…-{tail})")
    }
}

impl TryFrom<String> for LicenseKey {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LicenseKey> for String {
    fn from(k: LicenseKey) -> Self {
        k.0
    }
}
pub use crate::value::quota::Quota;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::clock::SeededEntropy;
    use proptest::prelude::*;

    #[test]
    fn keys_are_generated_in_canonical_form() {
        let e = SeededEntropy::new(1);
        let k = LicenseKey::generate(&e);
        assert_eq!(k.as_str().len(), 32);
        assert_eq!(LicenseKey::parse(k.as_str()).expect("roundtrip"), k);
        assert_ne!(LicenseKey::generate(&e), k);
        assert!(!format!("{k:?}").contains(&k.as_str()[3..8]));
    }

    #[test]
    fn parse_is_forgiving_about_case_and_lookalikes() {
        let k = LicenseKey::parse("wv-oooo1-iiiii-lllll-abcde-fghjk").expect("valid");
        assert_eq!(k.as_str(), "WV-00001-11111-11111-ABCDE-FGHJK");
        for bad in [
            "",
            "WV-",
            "XX-00000-00000-00000-00000-00000",
            "WV-0000-00000-00000-00000-00000",
            "WV-0000U-00000-00000-00000-00000",
        ] {
            assert_eq!(
                LicenseKey::parse(bad).expect_err(bad).field(),
                "license_key"
            );
        }
    }

    #[test]
    fn quota() {
        let q = Quota {
            used: 5,
            limit: Some(5),
        };
        assert!(!q.has_room());
        assert_eq!(q.to_string(), "5 of 5 downloads used");
        assert!(Quota::UNLIMITED.has_room());
    }

    proptest! {
        #[test]
        fn generated_keys_always_parse(seed in any::<u64>()) {
            let k = LicenseKey::generate(&SeededEntropy::new(seed));
            prop_assert_eq!(LicenseKey::parse(k.as_str()).expect("parses"), k);
        }
    }

    #[derive(Debug)]
    struct Fixed([u8; 16]);
    impl crate::value::clock::Entropy for Fixed {
        fn bytes16(&self) -> [u8; 16] {
            self.0
        }
    }

    #[test]
    fn a_key_spells_all_125_bits_of_its_entropy_five_at_a_time() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        let k = LicenseKey::generate(&Fixed(bytes));
        // Little-endian, lowest five bits first (the key format of record).
        assert_eq!(k.as_str(), "WV-0804G-1G05G-1E044-1AR2R-G6R1F");
        let all = LicenseKey::generate(&Fixed([0xFF; 16]));
        assert_eq!(all.as_str(), "WV-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ");
    }

    #[test]
    fn debug_shows_only_the_last_group_and_string_gives_the_key() {
        let k = LicenseKey::parse("WV-0804G-1G05G-1E044-1AR2R-G6R1F").expect("valid");
        assert_eq!(format!("{k:?}"), "LicenseKey(WV-…-G6R1F)");
        assert_eq!(String::from(k.clone()), k.as_str());
    }
}

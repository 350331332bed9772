//! Licenses: keys, license types, and the download quotas that limit them.
//!
//! A one-time purchase carries a license with an optional download limit and
//! an optional expiry; a membership carries a per-period quota that resets
//! when a new period starts. Which entitlement pays for a download when
//! several apply is decided in [`crate::delivery::access`], using [`Quota`] from here.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::value::clock::Entropy;
use crate::value::ids::PurchaseId;
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError, check_digest};

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
        Self::from_bits(u128::from_le_bytes(entropy.bytes16()))
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

    /// The key of a purchase: an HMAC of its id under the app's secret,
    /// so the key can be shown again whenever its buyer asks, while the
    /// store keeps only its [`LicenseKeyHash`]. 125 of the MAC's bits, in
    /// the same form as a generated key.
    pub fn derive(secret: &LicenseSecret, purchase: PurchaseId) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"workflow-vault license key v1\0");
        mac.update(purchase.as_uuid().as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&tag[..16]);
        Self::from_bits(u128::from_le_bytes(bytes))
    }

    fn from_bits(mut bits: u128) -> Self {
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

    /// What a store keeps instead of the key: its SHA-256. A key carries
    /// 125 random bits, so no salt or slow hash is needed to keep the
    /// digest from giving it back.
    pub fn hash(&self) -> LicenseKeyHash {
        LicenseKeyHash(const_hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    /// The canonical key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The app's secret that purchases' license keys are derived from (at
/// least 32 bytes). Whoever holds it can compute every key, so it is kept
/// like a signing key; `Debug` never shows it.
#[derive(Clone)]
pub struct LicenseSecret(Vec<u8>);

impl LicenseSecret {
    /// Wraps a secret of at least 32 bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, ValidationError> {
        let s = secret.into();
        if s.len() < 32 {
            return Err(ValidationError::new(
                "license_secret",
                Reason::OutOfRange {
                    min: "32 bytes".into(),
                    max: "any length".into(),
                },
            ));
        }
        Ok(Self(s))
    }

    /// A secret drawn from another one, for a purpose named by `label`: two
    /// labels give unrelated secrets, and neither gives back the root.
    pub fn derived_from(root: &[u8], label: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(root)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(label.as_bytes());
        Self(mac.finalize().into_bytes().to_vec())
    }
}

impl fmt::Debug for LicenseSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LicenseSecret(<redacted>)")
    }
}

/// The SHA-256 of a license key, hex: what is stored instead of the key.
/// It finds a purchase by the key a buyer presents
/// ([`crate::vault::Vault::purchase_by_license_key`]) and tells whether a
/// derived key is the one a purchase was issued.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LicenseKeyHash(String);

impl LicenseKeyHash {
    /// Checks a stored digest (64 lowercase hex characters).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        check_digest("license_key_hash", s)?;
        Ok(Self(s.to_owned()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LicenseKeyHash {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LicenseKeyHash> for String {
    fn from(h: LicenseKeyHash) -> Self {
        h.0
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

    fn secret(b: u8) -> LicenseSecret {
        LicenseSecret::new(vec![b; 32]).expect("32 bytes")
    }

    #[test]
    fn a_derived_key_is_the_purchase_s_alone_and_parses_back() {
        let id = PurchaseId::from_uuid(uuid::Uuid::from_u128(7));
        let other = PurchaseId::from_uuid(uuid::Uuid::from_u128(8));
        let k = LicenseKey::derive(&secret(1), id);
        assert_eq!(k, LicenseKey::derive(&secret(1), id));
        assert_ne!(k, LicenseKey::derive(&secret(1), other));
        assert_ne!(k, LicenseKey::derive(&secret(2), id));
        assert_eq!(LicenseKey::parse(k.as_str()).expect("canonical"), k);
        // Pinned (and checked against Python's hmac): a change of
        // derivation would change every buyer's key.
        assert_eq!(k.as_str(), "WV-DKVPW-YPSF0-QTSKG-0X7MS-N2H09");
        assert_eq!(k.as_str().len(), 32);
    }

    #[test]
    fn the_stored_digest_is_not_the_key_and_checks_its_form() {
        let k = LicenseKey::generate(&SeededEntropy::new(4));
        let h = k.hash();
        assert_eq!(h.as_str().len(), 64);
        assert!(!h.as_str().contains(&k.as_str()[3..8].to_ascii_lowercase()));
        assert_eq!(LicenseKeyHash::parse(h.as_str()).expect("roundtrip"), h);
        // A key typed loosely hashes as its canonical form.
        let typed = LicenseKey::parse(&k.as_str().to_ascii_lowercase()).expect("forgiving");
        assert_eq!(typed.hash(), h);
        for bad in [
            "",
            "ABCDEF",
            &h.as_str().to_ascii_uppercase(),
            &h.as_str()[1..],
        ] {
            assert_eq!(
                LicenseKeyHash::parse(bad).expect_err(bad).field(),
                "license_key_hash"
            );
        }
    }

    #[test]
    fn a_license_secret_is_long_and_never_shown() {
        assert_eq!(
            LicenseSecret::new(vec![0; 31]).expect_err("short").field(),
            "license_secret"
        );
        let s = LicenseSecret::derived_from(b"a root secret of some length", "license keys");
        assert_eq!(format!("{s:?}"), "LicenseSecret(<redacted>)");
        let t = LicenseSecret::derived_from(b"a root secret of some length", "other");
        let id = PurchaseId::from_uuid(uuid::Uuid::from_u128(1));
        assert_ne!(LicenseKey::derive(&s, id), LicenseKey::derive(&t, id));
    }

    proptest! {
        #[test]
        fn every_derived_key_is_a_valid_key(seed: u128, b: u8) {
            let k = LicenseKey::derive(&secret(b), PurchaseId::from_uuid(uuid::Uuid::from_u128(seed)));
            prop_assert_eq!(LicenseKey::parse(k.as_str()).ok(), Some(k.clone()));
            prop_assert!(LicenseKeyHash::parse(k.hash().as_str()).is_ok());
        }
    }

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

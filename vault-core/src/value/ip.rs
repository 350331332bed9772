//! Salted IP hashes: what is kept of an IP address instead of the address
//! (downloads, unique visitors). The salt is secret and never appears in
//! `Debug` output.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::value::validation::{Reason, ValidationError, check_digest};

/// The secret salt for IP hashes. At least 16 bytes; redacted in `Debug`.
#[derive(Clone)]
pub struct IpSalt(Vec<u8>);

impl IpSalt {
    /// Wraps a secret of at least 16 bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, ValidationError> {
        let s = secret.into();
        if s.len() < 16 {
            return Err(ValidationError::new(
                "ip_salt",
                Reason::OutOfRange {
                    min: "16 bytes".into(),
                    max: "any length".into(),
                },
            ));
        }
        Ok(Self(s))
    }

    /// The secret's bytes, for deriving other secrets from it (the license
    /// keys' default, [`crate::vault::VaultConfig::new`]).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for IpSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IpSalt(<redacted>)")
    }
}

/// A salted SHA-256 of an IP address, hex. What is stored instead of the IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpHash(String);

impl IpHash {
    /// Hashes `ip` with `salt`. IPv4-mapped IPv6 addresses hash like their
    /// IPv4 form, so one visitor is one hash whichever stack they came in on.
    pub fn new(salt: &IpSalt, ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        let mut h = Sha256::new();
        h.update(&salt.0);
        h.update(ip.to_string().as_bytes());
        Self(const_hex::encode(h.finalize()))
    }

    /// Checks a stored hash (64 lowercase hex characters).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        check_digest("ip_hash", s)?;
        Ok(Self(s.to_owned()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IpHash {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IpHash> for String {
    fn from(h: IpHash) -> Self {
        h.0
    }
}

//! Semantic versions of workflow releases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// A release version `MAJOR.MINOR.PATCH` (no pre-release or build parts:
/// a marketplace release is either out or not). Ordered numerically.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version {
    major: u32,
    minor: u32,
    patch: u32,
}

impl Version {
    /// A version from its three parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `MAJOR.MINOR.PATCH`, each a decimal number without leading zeros.
    /// A leading `v` is accepted (`v1.2.0`).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "version",
                Reason::Format {
                    expected: "MAJOR.MINOR.PATCH, e.g. 1.4.0",
                },
            )
        };
        // semver (the parser cargo uses) does the grammar: three numbers,
        // no leading zeros, no sign or space; what it also takes, a
        // pre-release or build part or a part past u32, is not a release.
        let body = s.strip_prefix('v').unwrap_or(s);
        let v = semver::Version::parse(body).map_err(|_| bad())?;
        if !v.pre.is_empty() || !v.build.is_empty() {
            return Err(bad());
        }
        let part = |n: u64| u32::try_from(n).map_err(|_| bad());
        Ok(Self::new(part(v.major)?, part(v.minor)?, part(v.patch)?))
    }

    /// The major part.
    pub const fn major(&self) -> u32 {
        self.major
    }

    /// The minor part.
    pub const fn minor(&self) -> u32 {
        self.minor
    }

    /// The patch part.
    pub const fn patch(&self) -> u32 {
        self.patch
    }

    /// True when going from `previous` to `self` raises the major part: the
    /// seed's "major update" flag is derived, never entered by hand.
    pub fn is_major_bump_from(&self, previous: Option<Version>) -> bool {
        match previous {
            None => true,
            Some(p) => self.major > p.major,
        }
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::new(1, 0, 0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Version {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Version> for String {
    fn from(v: Version) -> Self {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_orders_numerically() {
        let a = Version::parse("1.9.0").expect("valid");
        let b = Version::parse("v1.10.0").expect("valid");
        assert!(a < b);
        assert_eq!(b.to_string(), "1.10.0");
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.-2.3",
            "a.b.c",
            "1.2.3-beta",
            "1.2.3+build",
            "99999999999.0.0",
            "4294967296.0.0",
            " 1.2.3",
            "+1.2.3",
            "vv1.2.3",
            "V1.2.3",
        ] {
            let err = Version::parse(bad).expect_err(bad);
            assert_eq!(err.field(), "version");
        }
    }

    #[test]
    fn major_bump() {
        let v2 = Version::new(2, 0, 0);
        assert!(v2.is_major_bump_from(Some(Version::new(1, 9, 9))));
        assert!(!Version::new(1, 10, 0).is_major_bump_from(Some(Version::new(1, 9, 9))));
        assert!(v2.is_major_bump_from(None));
    }

    proptest! {
        #[test]
        fn display_roundtrips(a in 0u32..10_000, b in 0u32..10_000, c in 0u32..10_000) {
            let v = Version::new(a, b, c);
            prop_assert_eq!(Version::parse(&v.to_string()).expect("roundtrip"), v);
        }
    }
}

//! ISO 3166-1 alpha-2 country codes for geo analytics.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

// Officially assigned ISO 3166-1 alpha-2 codes, sorted for binary search.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A two-letter ISO 3166-1 country code, stored uppercase.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses a code in either case (`us`, `US`); refuses unassigned codes.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bytes = s.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(ValidationError::new(
                "country_code",
                Reason::Format {
                    expected: "a two-letter ISO 3166-1 code",
                },
            ));
        }
        let code = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
        let assigned = ASSIGNED.split(' ').any(|c| c.as_bytes() == code.as_slice());
        if !assigned {
            return Err(ValidationError::new(
                "country_code",
                Reason::Unknown {
                    allowed: "an assigned ISO 3166-1 alpha-2 code",
                },
            ));
        }
        Ok(Self(code))
    }

    /// The code, uppercase.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters ever get in, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> Self {
        c.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_assigned_codes_in_any_case() {
        assert_eq!(CountryCode::parse("de").expect("valid").as_str(), "DE");
        assert_eq!(CountryCode::parse("US").expect("valid").to_string(), "US");
    }

    #[test]
    fn refuses_bad_and_unassigned_codes() {
        for bad in ["", "U", "USA", "1A", "É1"] {
            assert!(matches!(
                CountryCode::parse(bad).expect_err(bad).reason(),
                Reason::Format { .. }
            ));
        }
        assert!(matches!(
            CountryCode::parse("XX").expect_err("unassigned").reason(),
            Reason::Unknown { .. }
        ));
    }
}

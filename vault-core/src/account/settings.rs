//! A user's settings (the marketplace seed's `user_settings`): what mail
//! they want, and the locale and time zone pages are shown in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError};

/// A BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`), kept in its
/// canonical spelling so two spellings of one locale compare equal.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    /// Parses a tag with ICU4X's BCP 47 parser; refuses what it refuses.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.len() > 64 {
            return Err(ValidationError::new("locale", Reason::TooLong { max: 64 }));
        }
        let tag: icu_locale_core::Locale = s.trim().parse().map_err(|_| {
            ValidationError::new(
                "locale",
                Reason::Format {
                    expected: "a BCP 47 language tag, e.g. en or pt-BR",
                },
            )
        })?;
        Ok(Self(tag.to_string()))
    }

    /// The canonical tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Self("en".into())
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({})", self.0)
    }
}

impl TryFrom<String> for Locale {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Locale> for String {
    fn from(l: Locale) -> Self {
        l.0
    }
}

/// An IANA time zone (`Europe/Berlin`, `UTC`), checked against the tz
/// database chrono-tz ships.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Parses a zone name, exactly as the database spells it.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        s.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            ValidationError::new(
                "timezone",
                Reason::Unknown {
                    allowed: "an IANA time zone name, e.g. Europe/Berlin",
                },
            )
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The zone, for converting the instants the vault stores in UTC.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name())
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> Self {
        t.name().to_owned()
    }
}

/// A user's settings. The defaults: service mail and workflow updates on,
/// marketing off (it needs the user's opt-in), English, UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    /// Mail about their purchases and account.
    pub email_notifications: bool,
    /// Mail when a workflow they own gets an update.
    pub workflow_updates: bool,
    /// Marketing mail (opt-in).
    pub marketing_emails: bool,
    /// The language pages are shown in.
    pub locale: Locale,
    /// The zone times are shown in.
    pub timezone: TimeZone,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            email_notifications: true,
            workflow_updates: true,
            marketing_emails: false,
            locale: Locale::default(),
            timezone: TimeZone::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn locales_are_checked_and_canonical() {
        assert_eq!(Locale::parse("pt-br").expect("valid").as_str(), "pt-BR");
        assert_eq!(
            Locale::parse("zh-hant-tw").expect("valid").as_str(),
            "zh-Hant-TW"
        );
        // POSIX spelling is not BCP 47: the app converts `en_US` itself.
        for bad in ["", "english!", "x", "en-", "en_US", "a".repeat(65).as_str()] {
            assert_eq!(
                Locale::parse(bad).expect_err(bad).field(),
                "locale",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").expect("valid").name(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZone::default().name(), "UTC");
        for bad in ["", "Mars/Olympus", "GMT+25", "europe berlin"] {
            assert_eq!(
                TimeZone::parse(bad).expect_err(bad).field(),
                "timezone",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn settings_read_back_through_serde_and_refuse_bad_values() {
        let s = UserSettings {
            locale: Locale::parse("de-AT").expect("valid"),
            timezone: TimeZone::parse("America/Sao_Paulo").expect("valid"),
            ..UserSettings::default()
        };
        let json = serde_json::to_string(&s).expect("serializes");
        assert_eq!(
            serde_json::from_str::<UserSettings>(&json).expect("reads back"),
            s
        );
        let bad = json.replace("America/Sao_Paulo", "Nowhere/Land");
        assert!(serde_json::from_str::<UserSettings>(&bad).is_err());
        assert!(
            !UserSettings::default().marketing_emails,
            "marketing is opt-in"
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_a_parsed_locale_parses_to_itself(s in "\\PC{0,40}") {
            if let Ok(l) = Locale::parse(&s) {
                prop_assert_eq!(Locale::parse(l.as_str()).expect("canonical"), l);
            }
            let _ = TimeZone::parse(&s);
        }
    }
}

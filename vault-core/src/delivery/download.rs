//! Downloads: the record of each file served, and the privacy rules for the
//! request data kept with it.
//!
//! The raw IP address is never stored: it is hashed with a secret salt
//! ([`IpSalt`]) so repeat visitors can be counted without keeping who they
//! are. The salt never appears in `Debug` output.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::actor::UserId;
use crate::value::country::CountryCode;
use crate::value::delta::AnalyticsDelta;
use crate::value::ids::{DownloadId, FileId, WorkflowId};
use crate::value::validation::{Reason, ValidationError, check_text};
use crate::value::version::Version;

pub use crate::value::status::DownloadKind;

pub use crate::value::ip::{IpHash, IpSalt};

/// What the app knows about the HTTP request behind a download or a view.
/// The IP is hashed immediately; only the hash leaves this struct.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The client's address; hashed, never stored.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, truncated to 512 characters.
    pub user_agent: Option<String>,
    /// `Referer`, truncated to 2048 characters.
    pub referrer: Option<String>,
    /// Country from the app's geo lookup.
    pub country: Option<CountryCode>,
}

// The IP is personal data: never print it.
impl fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestInfo")
            .field("ip", &self.ip.map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent)
            .field("referrer", &self.referrer)
            .field("country", &self.country)
            .finish()
    }
}

/// Request data as stored: the IP reduced to its salted hash, long headers
/// truncated (not refused: they come from browsers, not from our users).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMeta {
    /// Salted IP hash.
    pub ip_hash: Option<IpHash>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Referrer.
    pub referrer: Option<String>,
    /// Country.
    pub country: Option<CountryCode>,
}

fn truncate_clean(s: &str, max: usize) -> Option<String> {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

impl RequestInfo {
    /// Reduces the request to what may be stored.
    pub fn to_meta(&self, salt: &IpSalt) -> RequestMeta {
        RequestMeta {
            ip_hash: self.ip.map(|ip| IpHash::new(salt, ip)),
            user_agent: self
                .user_agent
                .as_deref()
                .and_then(|s| truncate_clean(s, 512)),
            referrer: self
                .referrer
                .as_deref()
                .and_then(|s| truncate_clean(s, 2048)),
            country: self.country,
        }
    }
}

pub use crate::value::status::DownloadSource;

/// A recorded download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// Id.
    pub id: DownloadId,
    /// The user, or `None` for anonymous downloads of free content.
    pub user_id: Option<UserId>,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The file.
    pub file_id: FileId,
    /// The file's version when downloaded.
    pub file_version: Version,
    /// Kind.
    pub kind: DownloadKind,
    /// The entitlement charged.
    pub source: DownloadSource,
    /// Request data.
    pub request: RequestMeta,
    /// When.
    pub downloaded_at: DateTime<Utc>,
}

impl Download {
    /// Checks that `analytics`, the counters written with this download, are
    /// this download's: the same workflow, on the UTC day it happened.
    ///
    /// The write names the workflow twice, in the row and in the counters'
    /// delta; a store that wrote both unchecked would let one workflow's
    /// download count for another, or on another day. Every store calls this
    /// before it writes anything, so the refusal is the same everywhere: a
    /// [`ValidationError`] on `analytics.workflow_id` or `analytics.date`.
    pub fn check_analytics(&self, analytics: &AnalyticsDelta) -> Result<(), ValidationError> {
        if analytics.workflow_id != self.workflow_id {
            return Err(ValidationError::new(
                "analytics.workflow_id",
                Reason::Inconsistent {
                    detail: format!(
                        "counts workflow {}, the download is of workflow {}",
                        analytics.workflow_id, self.workflow_id
                    ),
                },
            ));
        }
        let day = self.downloaded_at.date_naive();
        if analytics.date != day {
            return Err(ValidationError::new(
                "analytics.date",
                Reason::Inconsistent {
                    detail: format!("counts {}, the download happened on {day}", analytics.date),
                },
            ));
        }
        // A download is counted, never paid for, here: its purchase's
        // completion counts the money. So its delta only adds counts, which
        // is what lets a store add it in place.
        if !analytics.counts_only() {
            let field = if analytics.currency.is_some()
                && analytics.revenue.is_zero()
                && analytics.refunds.is_zero()
            {
                "analytics.currency"
            } else if analytics.revenue.is_zero() {
                "analytics.refunds"
            } else {
                "analytics.revenue"
            };
            return Err(ValidationError::new(
                field,
                Reason::Inconsistent {
                    detail: "a download's counters move no money".into(),
                },
            ));
        }
        Ok(())
    }
}

/// Checks a referrer or user agent the app wants to pass through as-is.
pub fn check_header(field: &'static str, value: &str) -> Result<(), ValidationError> {
    check_text(field, value, false, 2048)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::money::Currency;
    use rust_decimal::Decimal;

    fn salt() -> IpSalt {
        IpSalt::new(b"0123456789abcdef".to_vec()).expect("long enough")
    }

    #[test]
    fn ip_is_hashed_and_never_printed() {
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        let info = RequestInfo {
            ip: Some(ip),
            user_agent: Some("curl/8".into()),
            referrer: None,
            country: None,
        };
        let meta = info.to_meta(&salt());
        let hash = meta.ip_hash.clone().expect("hashed");
        assert_eq!(hash.as_str().len(), 64);
        assert!(!format!("{meta:?}{info:?}").contains("203.0.113.7"));
        assert!(!format!("{:?}", salt()).contains("0123"));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().expect("ip");
        assert_eq!(IpHash::new(&salt(), mapped), hash);
        let other = IpSalt::new(b"fedcba9876543210".to_vec()).expect("ok");
        assert_ne!(IpHash::new(&other, ip), hash);
    }

    #[test]
    fn short_salt_refused() {
        assert_eq!(
            IpSalt::new(b"short".to_vec()).expect_err("short").field(),
            "ip_salt"
        );
        assert_eq!(IpHash::parse("xyz").expect_err("bad").field(), "ip_hash");
    }

    #[test]
    fn headers_are_truncated_and_cleaned() {
        let info = RequestInfo {
            ip: None,
            user_agent: Some(format!("a\u{0}b{}", "x".repeat(600))),
            referrer: Some(String::new()),
            country: None,
        };
        let meta = info.to_meta(&salt());
        let ua = meta.user_agent.expect("kept");
        assert_eq!(ua.chars().count(), 512);
        assert!(ua.starts_with("ab"));
        assert_eq!(meta.referrer, None);
    }

    #[test]
    fn analytics_must_be_the_downloads_own() {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::hours(36);
        let d = Download {
            id: DownloadId::from_uuid(uuid::Uuid::from_u128(1)),
            user_id: None,
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::from_u128(10)),
            file_id: FileId::from_uuid(uuid::Uuid::from_u128(1)),
            file_version: Version::new(1, 0, 0),
            kind: DownloadKind::Free,
            source: DownloadSource::Free,
            request: RequestMeta::default(),
            downloaded_at: at,
        };
        assert_eq!(
            d.check_analytics(&AnalyticsDelta::none(d.workflow_id, at)),
            Ok(())
        );
        let other = WorkflowId::from_uuid(uuid::Uuid::from_u128(11));
        let e = d
            .check_analytics(&AnalyticsDelta::none(other, at))
            .expect_err("another workflow");
        assert_eq!(e.field(), "analytics.workflow_id");
        let next_day = at + chrono::Duration::hours(12);
        let e = d
            .check_analytics(&AnalyticsDelta::none(d.workflow_id, next_day))
            .expect_err("another day");
        assert_eq!(e.field(), "analytics.date");
        for (field, set) in [
            (
                "analytics.revenue",
                (Decimal::ONE, Decimal::ZERO, Some(Currency::USD)),
            ),
            (
                "analytics.refunds",
                (Decimal::ZERO, Decimal::ONE, Some(Currency::USD)),
            ),
            (
                "analytics.currency",
                (Decimal::ZERO, Decimal::ZERO, Some(Currency::USD)),
            ),
        ] {
            let mut paid = AnalyticsDelta::none(d.workflow_id, at);
            (paid.revenue, paid.refunds, paid.currency) = set;
            let e = d.check_analytics(&paid).expect_err(field);
            assert_eq!(e.field(), field);
        }
    }
}

//! An increment of one workflow's counters for one day: what every write
//! that moves an analytics counter (a download, a purchase, a refund, a
//! view, a review) hands the store, to apply in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::value::actor::UserId;
use crate::value::country::CountryCode;
use crate::value::ids::WorkflowId;
use crate::value::ip::IpHash;
use crate::value::money::Currency;

/// Increments to one workflow's counters for one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsDelta {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The UTC day.
    pub date: NaiveDate,
    /// Views to add.
    pub views: u64,
    /// Unique visitors to add. For views, the store adds one only if the
    /// `visitor` was not yet seen that day (see [`AnalyticsDelta::visitor`]).
    pub unique_visitors: u64,
    /// Clicks.
    pub clicks: u64,
    /// Downloads.
    pub downloads: u64,
    /// Purchases.
    pub purchases: u64,
    /// Revenue.
    pub revenue: Decimal,
    /// Refunds.
    pub refunds: Decimal,
    /// Currency of the amounts.
    pub currency: Option<Currency>,
    /// Favorites.
    pub favorites: u64,
    /// Shares.
    pub shares: u64,
    /// Reviews.
    pub reviews: u64,
    /// One view from this source.
    pub traffic_source: Option<String>,
    /// One view from this country.
    pub country: Option<CountryCode>,
    /// The visitor behind a view; the store counts a unique visitor only the
    /// first time it sees this key for the workflow and day.
    pub visitor: Option<VisitorKey>,
}

/// Identifies a visitor for unique counts without storing who they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum VisitorKey {
    /// A signed-in user.
    User(UserId),
    /// An anonymous visitor by salted IP hash.
    Ip(IpHash),
}

impl VisitorKey {
    /// A stable text form for storage.
    pub fn storage_key(&self) -> String {
        match self {
            VisitorKey::User(u) => format!("u:{u}"),
            VisitorKey::Ip(h) => format!("ip:{}", h.as_str()),
        }
    }
}

impl AnalyticsDelta {
    /// A delta that changes nothing, for `workflow_id` on the day of `at`.
    pub fn none(workflow_id: WorkflowId, at: DateTime<Utc>) -> Self {
        Self {
            workflow_id,
            date: at.date_naive(),
            views: 0,
            unique_visitors: 0,
            clicks: 0,
            downloads: 0,
            purchases: 0,
            revenue: Decimal::ZERO,
            refunds: Decimal::ZERO,
            currency: None,
            favorites: 0,
            shares: 0,
            reviews: 0,
            traffic_source: None,
            country: None,
            visitor: None,
        }
    }

    /// Whether this delta moves no money and names no currency: adding it
    /// to a day's row ([`crate::insight::analytics::DailyAnalytics::apply`])
    /// cannot be refused and only adds counts: each counter plus the
    /// delta's (unique visitors: one if the `visitor` is new that day, else
    /// the delta's own when it names none), the traffic source's and the
    /// country's entries plus one. So a store may add it in place, in the
    /// statement that writes the event, without reading the row first; a
    /// download's delta is always one ([`crate::delivery::download::Download::check_analytics`]).
    pub fn counts_only(&self) -> bool {
        self.revenue.is_zero() && self.refunds.is_zero() && self.currency.is_none()
    }
}

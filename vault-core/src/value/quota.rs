//! Download quotas: a count of downloads used against an optional limit,
//! the unit every license and membership period is charged in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Downloads used against an optional limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// Downloads used.
    pub used: u32,
    /// The limit; `None` is unlimited.
    pub limit: Option<u32>,
}

impl Quota {
    /// An unlimited quota.
    pub const UNLIMITED: Quota = Quota {
        used: 0,
        limit: None,
    };

    /// Downloads left; `None` when unlimited.
    pub fn remaining(&self) -> Option<u32> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }

    /// True when another download is allowed.
    pub fn has_room(&self) -> bool {
        self.remaining().is_none_or(|r| r > 0)
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Some(l) => write!(f, "{} of {} downloads used", self.used, l),
            None => write!(f, "{} downloads used, no limit", self.used),
        }
    }
}

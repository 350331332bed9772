//! System settings' part of the storage contract (see [`crate::store`]).

use std::fmt::Debug;

use async_trait::async_trait;

use crate::audit::entry::AuditEntry;
use crate::settings::system::{Setting, SettingKey};
use crate::value::error::StoreResult;

/// The marketplace's typed settings.
#[async_trait]
pub trait SettingsStore: Send + Sync + Debug {
    /// Every setting that is set, by key name.
    async fn settings(&self) -> StoreResult<Vec<Setting>>;
    /// Sets (inserts or replaces) a setting and writes `audit`, in one
    /// transaction.
    async fn put_setting(&self, setting: &Setting, audit: &AuditEntry) -> StoreResult<()>;
    /// Unsets a setting and writes `audit`, in one transaction; false (and
    /// no entry) when it was not set.
    async fn remove_setting(&self, key: SettingKey, audit: &AuditEntry) -> StoreResult<bool>;
}

//! System settings (the marketplace seed's `system_settings`): the
//! marketplace's own typed configuration, changed by staff.
//!
//! In progress (issue "Accounts, settings, an audit trail..."): the registry
//! and the checked values are here; the storage contract and the service
//! methods (each change audited) come next.

pub mod system;

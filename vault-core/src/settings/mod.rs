//! System settings (the marketplace seed's `system_settings`): the
//! marketplace's own typed configuration, changed by staff, each change
//! audited.

pub mod store;
pub mod system;

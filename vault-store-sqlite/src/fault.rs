//! Fault injection for tests: fail a write at a named step.

use std::sync::Mutex;

use vault_core::store::{StoreError, StoreResult};

#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Mutex<Option<&'static str>>,
}

/// The error an injected fault raises.
#[derive(Debug)]
pub(crate) struct InjectedFault(&'static str);

impl std::fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected fault at {}", self.0)
    }
}

impl std::error::Error for InjectedFault {}

impl Faults {
    pub(crate) fn arm(&self, step: &'static str) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
    }

    pub(crate) fn check(&self, step: &'static str) -> StoreResult<()> {
        let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
        if *armed == Some(step) {
            *armed = None;
            return Err(StoreError::backend("sqlite", InjectedFault(step)));
        }
        Ok(())
    }
}

//! The conformance suite against the in-memory store.

use std::sync::Arc;

use vault_core::MemoryStore;
use vault_core::store::Store;

mod memory {
    use super::*;

    vault_core::conformance_tests!(|| async {
        Some(Arc::new(MemoryStore::new()) as Arc<dyn Store>)
    });
}

mod memory_webhooks {
    use super::*;
    use vault_core::store::WebhookStore;

    vault_core::webhook_conformance_tests!(|| async {
        Some(Arc::new(MemoryStore::new()) as Arc<dyn WebhookStore>)
    });
}

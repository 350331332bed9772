//! The conformance suite against a real PostgreSQL, each case in its own
//! fresh database (see `common`).

mod common;

mod postgres {
    use std::sync::Arc;

    use vault_core::store::Store;

    vault_core::conformance_tests!(|| async {
        super::common::fresh_store()
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    });
}

mod postgres_webhooks {
    use std::sync::Arc;

    use vault_core::store::WebhookStore;

    vault_core::webhook_conformance_tests!(|| async {
        super::common::fresh_store()
            .await
            .map(|s| Arc::new(s) as Arc<dyn WebhookStore>)
    });
}

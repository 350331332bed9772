//! The conformance suite, on an in-memory database and on a file database.

use std::sync::Arc;

use vault_core::store::Store;
use vault_store_sqlite::SqliteStore;

mod in_memory {
    use super::*;

    vault_core::conformance_tests!(|| async {
        Some(Arc::new(SqliteStore::open_in_memory().await.expect("open")) as Arc<dyn Store>)
    });
}

mod file {
    use super::*;

    vault_core::conformance_tests!(|| async {
        // Each case gets its own file under cargo's per-target scratch
        // directory (removed by `cargo clean`).
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join(format!("{}.db", uuid::Uuid::new_v4()));
        Some(Arc::new(SqliteStore::open(&path).await.expect("open")) as Arc<dyn Store>)
    });
}

mod webhooks_file {
    use super::*;
    use vault_core::store::WebhookStore;

    vault_core::webhook_conformance_tests!(|| async {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join(format!("{}.db", uuid::Uuid::new_v4()));
        Some(Arc::new(SqliteStore::open(&path).await.expect("open")) as Arc<dyn WebhookStore>)
    });
}

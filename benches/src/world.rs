//! A vault over one backend, loaded at one [`Scale`], with what the benches
//! aim at.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use vault_core::catalog::query::{WorkflowQuery, WorkflowSort};
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::{ProviderRefs, Purchase};
use vault_core::delivery::download::RequestInfo;
use vault_core::store::{Store, WebhookStore};
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::ids::{CategoryId, FileId, PurchaseId, WorkflowId};
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::vault::{CheckoutItem, StartPurchase};
use vault_core::{Clock, MemoryStore};
use vault_store_postgres::PgStore;
use vault_store_sqlite::SqliteStore;
use vault_stripe::signature::{Verifier, WebhookSecret};
use vault_stripe::webhook::{WebhookConfig, WebhookHandler};

use crate::load::{self, Templates, ts};
use crate::pg;
use crate::raw::RawTarget;
use crate::raw_pg::PgTarget;
use crate::scale::Scale;
use crate::spec;

/// Which store the vault runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `vault_core::MemoryStore`.
    Memory,
    /// `vault_store_sqlite::SqliteStore` on a file (default options: WAL,
    /// `synchronous = FULL`, four readers).
    Sqlite,
    /// `vault_store_postgres::PgStore` (default options: a pool of 40
    /// connections) on a fresh database of the server in `DATABASE_URL`
    /// (see [`crate::pg`]).
    Postgres,
}

impl Backend {
    /// The label used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A user the benches download for: workflow `u` through purchase `10 u`.
#[derive(Debug, Clone)]
pub struct Target {
    /// The user.
    pub actor: Actor,
    /// The workflow.
    pub workflow: WorkflowId,
    /// Its primary file.
    pub file: FileId,
    /// The purchase that pays for the downloads (limit never reached).
    pub purchase: PurchaseId,
    /// The same, as the raw SQLite baseline's strings.
    pub raw: RawTarget,
    /// The same, as the raw PostgreSQL baseline's values.
    pub pg: PgTarget,
}

const WEBHOOK_SECRET: &str = "whsec_bench_secret";

/// A loaded vault and its targets.
#[derive(Debug)]
pub struct World {
    /// The backend.
    pub backend: Backend,
    /// The data-set size.
    pub scale: Scale,
    /// The vault, its store and clock.
    pub fx: Fixture,
    /// Stripe webhooks applied to the same vault.
    pub hooks: WebhookHandler<dyn Store>,
    /// The database file (SQLite only).
    pub path: Option<PathBuf>,
    /// The bench database's connect options (PostgreSQL only).
    pub pg: Option<PgConnectOptions>,
    /// Users with an unlimited-in-practice purchase ([`spec::TARGETS`]).
    pub targets: Vec<Target>,
    /// The category listed.
    pub category: CategoryId,
    /// The request every download comes with.
    pub request: RequestInfo,
    /// The rows the bulk load copied.
    pub templates: Templates,
    secret: WebhookSecret,
    fresh: AtomicUsize,
}

/// Removes a database file with its WAL and shared-memory files.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

impl World {
    /// Opens a fresh store (`dir` holds SQLite files), writes the templates
    /// through the vault and bulk-loads the data set.
    pub async fn build(backend: Backend, scale: Scale, dir: &Path) -> World {
        eprintln!("setting up {} at {}", backend.name(), scale.name);
        let (store, events, path, pg): (Arc<dyn Store>, Arc<dyn WebhookStore>, _, _) = match backend
        {
            Backend::Memory => {
                let m = Arc::new(MemoryStore::new());
                (m.clone(), m, None, None)
            }
            Backend::Sqlite => {
                std::fs::create_dir_all(dir).expect("bench dir");
                let path = dir.join(format!("bench-{}.db", scale.name));
                remove_db(&path);
                let s = Arc::new(SqliteStore::open(&path).await.expect("open sqlite"));
                (s.clone(), s, Some(path), None)
            }
            Backend::Postgres => {
                let server = pg::server_options().expect("DATABASE_URL (see pg::server)");
                let options = pg::fresh_database(&server, &scale)
                    .await
                    .expect("create the bench database");
                let s = Arc::new(
                    PgStore::connect_with_options(options.clone(), Default::default())
                        .await
                        .expect("connect postgres"),
                );
                (s.clone(), s, None, Some(options))
            }
        };
        let fx = Fixture::new(store.clone()).await;
        let request = RequestInfo {
            ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
            user_agent: Some("vault-bench/1.0".into()),
            referrer: None,
            country: None,
        };
        let templates = templates(&fx, &request).await;
        let epoch = vault_core::testkit::epoch();
        match backend {
            Backend::Sqlite => {
                let p = path.as_deref().expect("sqlite path");
                load::sqlite(p, &scale, &templates, &fx.categories, epoch)
                    .expect("bulk load sqlite")
            }
            Backend::Postgres => {
                let options = pg.as_ref().expect("postgres options");
                load::postgres(options, &scale, &templates, &fx.categories, epoch)
                    .await
                    .expect("bulk load postgres");
                load::verify_postgres(&store, &scale, &templates, &fx.categories, epoch).await;
            }
            Backend::Memory => load::memory(&store, &scale, &templates, &fx.categories, epoch)
                .await
                .expect("bulk load memory"),
        }
        let meta = request.to_meta(&fx.vault.config().ip_salt);
        let now = fx.clock.now();
        let targets = (0..spec::TARGETS)
            .map(|u| {
                let (workflow, file, purchase) = (
                    spec::workflow_id(u),
                    spec::file_id(u),
                    spec::purchase_id(u * crate::scale::PURCHASES_PER_USER),
                );
                Target {
                    actor: Fixture::user(&spec::user(u)),
                    workflow,
                    file,
                    purchase,
                    raw: RawTarget {
                        user: spec::user(u),
                        workflow: workflow.to_string(),
                        file: file.to_string(),
                        purchase: purchase.to_string(),
                        file_version: "1.0.0".into(),
                        ip_hash: meta.ip_hash.as_ref().map(|h| h.as_str().to_owned()),
                        user_agent: meta.user_agent.clone(),
                        now: ts(&now),
                        today: now.format("%Y-%m-%d").to_string(),
                    },
                    pg: PgTarget {
                        user: spec::user(u),
                        workflow: workflow.as_uuid(),
                        file: file.as_uuid(),
                        purchase: purchase.as_uuid(),
                        file_version: "1.0.0".into(),
                        ip_hash: meta.ip_hash.as_ref().map(|h| h.as_str().to_owned()),
                        user_agent: meta.user_agent.clone(),
                        now,
                        today: now.date_naive(),
                    },
                }
            })
            .collect();
        let hooks = WebhookHandler::new(
            fx.vault.clone(),
            events,
            fx.clock.clone(),
            Verifier::new(WebhookSecret::new(WEBHOOK_SECRET)),
            WebhookConfig {
                backoff: std::time::Duration::from_millis(1),
                ..WebhookConfig::default()
            },
        );
        let category = fx.categories[spec::category(1)].id;
        World {
            backend,
            scale,
            fx,
            hooks,
            path,
            pg,
            targets,
            category,
            request,
            templates,
            secret: WebhookSecret::new(WEBHOOK_SECRET),
            fresh: AtomicUsize::new(0),
        }
    }

    /// Deletes what the world stored: the SQLite files (gigabytes at 1M, and
    /// on tmpfs they are memory) or the PostgreSQL database.
    pub async fn remove_storage(&self) {
        if let Some(path) = &self.path {
            remove_db(path);
        }
        if let (Some(server), Some(_)) = (pg::server_options(), &self.pg)
            && let Err(e) = pg::drop_database(&server, &pg::database_name(&self.scale)).await
        {
            eprintln!("could not drop the bench database: {e}");
        }
    }

    /// The listing benchmarked: one category, the pro tier, most downloaded
    /// first, 20 per page.
    pub fn list_query(&self) -> WorkflowQuery {
        WorkflowQuery {
            category: Some(self.category),
            tiers: vec![PricingTier::Pro],
            sort: WorkflowSort::Downloads,
            ..WorkflowQuery::default()
        }
    }

    /// The search benchmarked: [`spec::SEARCH`], newest first, 20 per page.
    pub fn search_query(&self) -> WorkflowQuery {
        WorkflowQuery {
            text: Some(spec::SEARCH.into()),
            ..WorkflowQuery::default()
        }
    }

    /// The search for [`spec::SEARCH_RARE`].
    pub fn rare_search_query(&self) -> WorkflowQuery {
        WorkflowQuery {
            text: Some(spec::SEARCH_RARE.into()),
            ..WorkflowQuery::default()
        }
    }

    /// A number never returned before (fresh buyers, payment references).
    pub fn next(&self) -> usize {
        self.fresh.fetch_add(1, Ordering::Relaxed)
    }

    /// A pending purchase of the template workflow by a fresh buyer, opened
    /// through the vault (setup; not measured).
    pub async fn fresh_pending(&self) -> Purchase {
        let buyer = Fixture::user(&format!("buyer-{}", self.next()));
        self.fx
            .vault
            .start_purchase(
                &buyer,
                StartPurchase {
                    user_id: buyer.user_id().expect("user").clone(),
                    item: CheckoutItem::Workflow(self.templates.workflow.id),
                    license_type: LicenseType::Personal,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                },
            )
            .await
            .expect("start purchase")
    }

    /// A signed checkout.session.completed for `purchase`: (body, header).
    pub fn checkout_completed(&self, purchase: &Purchase, n: usize) -> (Vec<u8>, String) {
        let now = self.fx.clock.now().timestamp();
        let event = json!({
            "id": format!("evt_bench_{n}"), "object": "event", "type": "checkout.session.completed",
            "created": now, "livemode": false, "api_version": "2024-06-20",
            "data": {"object": {
                "id": format!("cs_bench_{n}"), "object": "checkout.session", "mode": "payment",
                "payment_status": "paid", "status": "complete",
                "client_reference_id": purchase.id.to_string(),
                "payment_intent": format!("pi_bench_hook_{n}"),
                "metadata": {"vault_purchase_id": purchase.id.to_string()}
            }}
        });
        let body = serde_json::to_vec(&event).expect("json");
        let header = self.secret.header(now, &body);
        (body, header)
    }
}

async fn templates(fx: &Fixture, request: &RequestInfo) -> Templates {
    let (workflow, file) = fx
        .workflow("template-flow", PricingTier::Pro, Some(4900))
        .await;
    let update = fx
        .vault
        .publish_update(
            &fx.admin,
            NewUpdate {
                workflow_id: workflow.id,
                version: Version::new(1, 0, 0),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Added,
                    text: "First release".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: "First release.".into(),
            },
        )
        .await
        .expect("update");
    let buyer = Fixture::user("template-buyer");
    let purchase = fx.buy(&buyer, CheckoutItem::Workflow(workflow.id)).await;
    let pending = fx
        .vault
        .start_purchase(
            &Fixture::user("template-pending"),
            StartPurchase {
                user_id: vault_core::value::actor::UserId::parse("template-pending").expect("user"),
                item: CheckoutItem::Workflow(workflow.id),
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await
        .expect("pending");
    let membership = fx
        .join(
            &Fixture::user("template-member"),
            PricingTier::Pro,
            Some(100),
            false,
        )
        .await;
    let download = fx
        .vault
        .download(&buyer, workflow.id, None, request)
        .await
        .expect("template download")
        .download;
    let workflow = fx
        .vault
        .workflow(&fx.admin, workflow.id)
        .await
        .expect("workflow");
    Templates {
        workflow,
        file,
        update,
        purchase,
        pending,
        membership,
        download,
    }
}

//! Shared pieces of the examples: the system clock and OS entropy an app
//! provides, opening a vault on a SQLite file, and an idempotent demo catalog.

use std::path::PathBuf;
use std::sync::Arc;

use vault_core::catalog::bundle::NewBundle;
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::wedge::{
    Complexity, DigitalMaturity, ExcellenceTier, GrowthPotential, Score, Wedge,
};
use vault_core::catalog::workflow::{Workflow, WorkflowContent, parse_tags};
use vault_core::commerce::plan::{BillingInterval, MembershipPlan};
use vault_core::delivery::download::IpSalt;
use vault_core::jobs::job::JobKind;
use vault_core::settings::system::{Setting, SettingKey, SettingValue};
use vault_core::store::Store;
use vault_core::value::actor::Actor;
use vault_core::value::error::Error;
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::{Vault, VaultConfig};
use vault_store_sqlite::SqliteStore;

pub mod demo;
pub mod storefront;

/// Boxed error for examples.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

pub use vault_core::{OsEntropy, SystemClock};

/// The README's code, compiled and run as doctests by `cargo test`.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The database file: `--db PATH`, else `$VAULT_DB`, else `default` in the
/// working directory.
pub fn db_path(default: &str) -> PathBuf {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--db"
            && let Some(p) = args.next()
        {
            return PathBuf::from(p);
        }
        if let Some(p) = a.strip_prefix("--db=") {
            return PathBuf::from(p);
        }
    }
    std::env::var_os("VAULT_DB").map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// Where the examples keep their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (its URL; never printed, it may hold a password).
    Postgres(String),
}

/// `--database-url URL` (or `$DATABASE_URL`) picks PostgreSQL; otherwise the
/// SQLite file from [`db_path`].
pub fn backend(default_file: &str) -> Backend {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--database-url" {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix("--database-url=").map(str::to_owned)
        }
    });
    match flag.or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty())) {
        Some(url) => Backend::Postgres(url),
        None => Backend::Sqlite(db_path(default_file)),
    }
}

/// Opens a vault on `backend`: the SQLite file is created and migrated if
/// needed; the PostgreSQL database is migrated (a fresh one gets the whole
/// schema and the nine categories).
pub async fn open_vault(backend: &Backend) -> Result<Vault<dyn Store>, AnyError> {
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        Backend::Postgres(url) => Arc::new(vault_store_postgres::PgStore::connect(url).await?),
    };
    vault_over(store)
}

/// The examples' vault over `store`: the system clock, OS entropy, the
/// example IP salt.
pub fn vault_over(store: Arc<dyn Store>) -> Result<Vault<dyn Store>, AnyError> {
    Ok(Vault::new(
        store,
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
        // A real app loads this secret from its configuration.
        VaultConfig::new(IpSalt::new(b"example-salt-change-me!".to_vec())?)
            // The storefront's worker mails a receipt for every completed
            // purchase and a welcome for every new account: each enqueued
            // in the write that completes or opens it.
            .with_purchase_jobs([JobKind::parse(storefront::jobs::RECEIPT)?])
            .with_account_jobs([JobKind::parse(storefront::jobs::WELCOME)?]),
    ))
}

/// Opens (creating and migrating if needed) a vault on the SQLite file.
pub async fn open_sqlite_vault(path: &std::path::Path) -> Result<Vault<dyn Store>, AnyError> {
    open_vault(&Backend::Sqlite(path.to_path_buf())).await
}

/// One demo workflow: slug, title, category index, tier, price in cents,
/// W.E.D.G.E. score, tags, blurb.
type Demo = (
    &'static str,
    &'static str,
    usize,
    PricingTier,
    Option<i64>,
    &'static str,
    &'static [&'static str],
    &'static str,
);

const DEMO: [Demo; 6] = [
    (
        "lead-magnet-delivery",
        "Lead magnet delivery",
        0,
        PricingTier::Free,
        None,
        "8.0",
        &["email", "make"],
        "Send the promised PDF the moment a form is submitted.",
    ),
    (
        "invoice-chaser",
        "Invoice chaser",
        4,
        PricingTier::Pro,
        Some(4900),
        "9.2",
        &["invoices", "stripe", "make"],
        "Polite, escalating reminders for unpaid invoices.",
    ),
    (
        "client-onboarding-kit",
        "Client onboarding kit",
        1,
        PricingTier::Basic,
        Some(1900),
        "7.5",
        &["onboarding", "n8n"],
        "Contract, intake form and kickoff call in one flow.",
    ),
    (
        "weekly-kpi-report",
        "Weekly KPI report",
        6,
        PricingTier::Pro,
        Some(2900),
        "8.4",
        &["reporting", "sheets"],
        "Collect metrics every Monday and email a one-page report.",
    ),
    (
        "content-repurposer",
        "Content repurposer",
        5,
        PricingTier::Premium,
        Some(7900),
        "8.9",
        &["content", "ai", "zapier"],
        "Turn one long post into threads, clips and a newsletter.",
    ),
    (
        "project-status-digest",
        "Project status digest",
        2,
        PricingTier::Basic,
        Some(1500),
        "7.1",
        &["projects", "slack"],
        "Daily digest of what moved, what is stuck, and who is waiting.",
    ),
];

/// Seeds the nine categories, the demo workflows (each with a primary
/// Make.com blueprint and a public preview), a starter bundle, the
/// membership plans and [`demo::SHOWCASE`] with every part of a page. Anything
/// that exists already (by slug) is left alone, so running it again adds
/// nothing. Returns the demo workflows in order.
pub async fn seed_catalog(
    vault: &Vault<dyn Store>,
    admin: &Actor,
) -> Result<Vec<Workflow>, AnyError> {
    let categories = vault.seed_core_categories(admin).await?;
    let mut out = Vec::new();
    for (slug, title, cat, tier, cents, score, tags, blurb) in DEMO {
        let slug = Slug::parse(slug)?;
        match vault.workflow_by_slug(admin, &slug).await {
            Ok(w) => {
                out.push(w);
                continue;
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let content = WorkflowContent {
            slug: slug.clone(),
            title: title.into(),
            short_description: blurb.into(),
            description: format!("{blurb} Works with the tools you already use."),
            category_id: categories[cat].id,
            wedge: Wedge {
                score: Score::new("wedge_score", score.parse()?)?,
                complexity: Complexity::Intermediate,
                efficiency: Score::new("efficiency_rating", score.parse()?)?,
                digital_maturity: DigitalMaturity::Developing,
                growth_potential: GrowthPotential::High,
                excellence_tier: ExcellenceTier::Professional,
            },
            pricing_tier: tier,
            price: cents.map(|c| Money::from_minor(c, Currency::USD)),
            media: Default::default(),
            features: vec![],
            requirements: vec![],
            includes: vec!["Make.com blueprint".into(), "Setup guide".into()],
            tags: parse_tags(tags)?,
            seo: Default::default(),
            update_months: Some(12),
            download_limit: Some(3),
        };
        let w = vault.create_workflow(admin, content).await?;
        for (name, access, primary) in [
            (format!("{slug}.json"), FileAccess::Standard, true),
            (format!("{slug}-preview.pdf"), FileAccess::Public, false),
        ] {
            let bytes = demo_file_bytes(&slug, &name);
            vault
                .add_file(
                    admin,
                    NewFile {
                        workflow_id: w.id,
                        kind: if primary {
                            FileKind::Make
                        } else {
                            FileKind::Pdf
                        },
                        storage_key: format!("files/{slug}/1.0.0/{name}"),
                        mime_type: if primary {
                            "application/json"
                        } else {
                            "application/pdf"
                        }
                        .into(),
                        file_name: name,
                        version: Version::new(1, 0, 0),
                        is_primary: primary,
                        access,
                        size_bytes: bytes.len() as u64,
                        checksum: Checksum::of(&bytes),
                    },
                )
                .await?;
        }
        out.push(vault.publish_workflow(admin, w.id).await?);
    }
    if vault.membership_plans(admin).await?.is_empty() {
        let plans = serde_json::to_value(demo_plans())?;
        let key = SettingKey::parse(MembershipPlan::SETTING)?;
        vault
            .set_setting(admin, Setting::new(key, SettingValue::Json(plans))?)
            .await?;
    }
    let bundle_slug = Slug::parse("agency-starter-pack")?;
    if vault.store().bundle_by_slug(&bundle_slug).await?.is_none() {
        vault
            .create_bundle(
                admin,
                NewBundle {
                    slug: bundle_slug,
                    name: "Agency starter pack".into(),
                    description: "Onboard, report and get paid.".into(),
                    workflow_ids: vec![out[1].id, out[2].id, out[3].id],
                    price: Money::from_minor(6900, Currency::USD),
                    valid_from: None,
                    valid_until: None,
                    seo: Default::default(),
                },
            )
            .await?;
    }
    if let Some(w) = out
        .iter()
        .find(|w| w.content.slug.as_str() == demo::SHOWCASE)
    {
        demo::seed_showcase(vault, admin, w).await?;
    }
    Ok(out)
}

/// The demo's membership plans: Pro monthly with a 14-day trial and 20
/// downloads a month, Premium yearly without a trial and without a limit.
/// The price ids are the fake Stripe's; a real account has its own.
pub fn demo_plans() -> Vec<MembershipPlan> {
    vec![
        MembershipPlan {
            tier: PricingTier::Pro,
            name: "Pro monthly".into(),
            price: Money::from_minor(1900, Currency::USD),
            interval: BillingInterval::Month,
            trial_days: Some(14),
            period_download_limit: Some(20),
            price_id: "price_demo_pro_monthly".into(),
        },
        MembershipPlan {
            tier: PricingTier::Premium,
            name: "Premium yearly".into(),
            price: Money::from_minor(19_000, Currency::USD),
            interval: BillingInterval::Year,
            trial_days: None,
            period_download_limit: None,
            price_id: "price_demo_premium_yearly".into(),
        },
    ]
}

/// The bytes of a demo file: a small Make.com-style blueprint for the
/// `.json` file, a line of text for the preview. Deterministic, so the
/// seeded checksum and size agree with what [`seed_files`] stores.
pub fn demo_file_bytes(slug: &Slug, file_name: &str) -> Vec<u8> {
    if file_name.ends_with(".json") {
        let blueprint = serde_json::json!({
            "name": slug.as_str(),
            "flow": [
                {"id": 1, "module": "webhook:CustomWebHook"},
                {"id": 2, "module": "util:SetVariables"},
                {"id": 3, "module": "email:ActionSendEmail"}
            ],
            "metadata": {"version": 1, "source": "workflow-vault-demo"}
        });
        let mut out = serde_json::to_vec_pretty(&blueprint).unwrap_or_default();
        out.push(b'\n');
        out
    } else {
        format!("Preview of {slug}: what it does, what it needs, how to set it up.\n").into_bytes()
    }
}

/// Writes every demo file's bytes into `files` under its storage key,
/// unless an object of that size is there already (so running it again
/// writes nothing). Returns how many objects it wrote.
pub async fn seed_files(
    vault: &Vault<dyn Store>,
    admin: &Actor,
    files: &dyn object_store::ObjectStore,
) -> Result<usize, AnyError> {
    use object_store::ObjectStoreExt;
    let mut written = 0;
    for (slug, ..) in DEMO {
        let slug = Slug::parse(slug)?;
        let w = vault.workflow_by_slug(admin, &slug).await?;
        for f in vault.stored_files(admin, w.id).await? {
            let bytes = demo_file_bytes(&slug, &f.file_name);
            let path = object_store::path::Path::parse(&f.storage_key)?;
            match files.head(&path).await {
                Ok(meta) if meta.size == bytes.len() as u64 => continue,
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            files.put(&path, bytes.into()).await?;
            written += 1;
        }
    }
    Ok(written)
}

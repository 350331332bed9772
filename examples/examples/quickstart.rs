//! The Workflow Vault quickstart, on a SQLite file.
//!
//! ```text
//! cargo run -p vault-examples --example quickstart             # ./vault-quickstart.db
//! cargo run -p vault-examples --example quickstart -- --db /tmp/v.db
//! cargo run -p vault-examples --example quickstart -- --database-url postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! With `--database-url` (or `DATABASE_URL`) the same session runs on
//! PostgreSQL, migrating the database first.
//!
//! The first run creates the database, the nine categories and a small
//! catalog; later runs find them and add nothing. Each run then plays one
//! customer: the catalog, an access decision with its explanation, a
//! purchase, downloads up to the license limit, a denied download with its
//! reason, and the rating aggregate.

use vault_core::catalog::query::{WorkflowQuery, WorkflowSort};
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::{PaymentRef, ProviderRefs};
use vault_core::community::rating::{DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, ReviewInput};
use vault_core::delivery::download::RequestInfo;
use vault_core::value::actor::Actor;
use vault_core::value::error::Error;
use vault_core::value::money::{Currency, Money};
use vault_core::vault::{CheckoutItem, StartPurchase};
use vault_examples::{AnyError, Backend, backend, open_vault, seed_catalog};

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let backend = backend("vault-quickstart.db");
    let vault = open_vault(&backend).await?;
    let admin = Actor::admin("staff-1")?;
    let catalog = seed_catalog(&vault, &admin).await?;
    match &backend {
        Backend::Sqlite(path) => println!("database: SQLite file {}", path.display()),
        Backend::Postgres(_) => println!("database: PostgreSQL (--database-url / DATABASE_URL)"),
    }

    println!("\n== Catalog (by W.E.D.G.E. score)");
    let page = vault
        .list_workflows(
            &Actor::Anonymous,
            WorkflowQuery {
                sort: WorkflowSort::WedgeScore,
                ..WorkflowQuery::default()
            },
        )
        .await?;
    for w in &page.items {
        let price = w
            .content
            .price
            .map_or_else(|| "free".to_owned(), |p| p.to_string());
        println!(
            "  {:<24} {:<9} {:>10}  score {:>4}  downloads {}",
            w.content.slug,
            w.content.pricing_tier,
            price,
            w.content.wedge.score.value(),
            w.stats.download_count
        );
    }

    // A new customer each run, so the story replays on the same database.
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let buyer = Actor::user(&format!("buyer-{tag}"))?;
    let invoice_chaser = &catalog[1];

    println!("\n== Access decision before buying");
    let decision = vault.check_access(&buyer, invoice_chaser.id, None).await?;
    print!("{decision}");

    println!("\n== Purchase");
    let pending = vault
        .start_purchase(
            &buyer,
            StartPurchase {
                user_id: buyer.user_id().cloned().ok_or("signed in")?,
                item: CheckoutItem::Workflow(invoice_chaser.id),
                license_type: LicenseType::Commercial,
                tax: Some(Money::from_minor(980, Currency::USD)),
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await?;
    // In production the payment webhook does this (see vault-stripe).
    let paid = vault
        .complete_purchase(
            &Actor::Service,
            pending.id,
            PaymentRef::parse(&format!("pi_{tag}"))?,
        )
        .await?;
    println!(
        "  {} bought {}: {} + {} tax = {} ({}), license {:?}",
        paid.user_id,
        invoice_chaser.content.slug,
        paid.amount,
        paid.tax,
        paid.total,
        paid.status,
        vault.license_key(&paid)
    );

    println!("\n== Downloads (license limit 3)");
    let request = RequestInfo {
        ip: Some("203.0.113.9".parse()?),
        user_agent: Some("quickstart/1.0".into()),
        referrer: None,
        country: None,
    };
    for _ in 0..3 {
        let ticket = vault
            .download(&buyer, invoice_chaser.id, None, &request)
            .await?;
        println!(
            "  serve {} as {}: {}",
            ticket.file.storage_key,
            ticket.file.file_name,
            ticket
                .quota_after
                .map_or("unlimited".into(), |q| q.to_string())
        );
    }
    match vault
        .download(&buyer, invoice_chaser.id, None, &request)
        .await
    {
        Err(Error::Denied(d)) => println!("  4th download {}", d.summary()),
        other => println!("  unexpected: {other:?}"),
    }

    println!("\n== Ratings");
    for (who, stars) in [
        (format!("buyer-{tag}"), 5),
        (format!("peer-a-{tag}"), 4),
        (format!("peer-b-{tag}"), 4),
    ] {
        let reviewer = Actor::user(&who)?;
        let r = vault
            .submit_review(
                &reviewer,
                invoice_chaser.id,
                ReviewInput {
                    rating: Rating::new(stars)?,
                    dimensions: DimensionRatings::default(),
                    title: "Saves hours every month".into(),
                    body: String::new(),
                },
            )
            .await?;
        vault
            .moderate_review(&admin, r.id, ModerationStatus::Approved, None)
            .await?;
    }
    let summary = vault
        .rating_summary(&Actor::Anonymous, invoice_chaser.id)
        .await?;
    println!(
        "  {} approved reviews, average {}, Bayesian {} (prior {} x {}), stars 1-5: {:?}",
        summary.count,
        summary.average.map_or("-".into(), |a| a.to_string()),
        summary.bayesian.map_or("-".into(), |a| a.to_string()),
        vault.config().rating_prior.weight(),
        vault.config().rating_prior.mean(),
        summary.distribution
    );
    Ok(())
}

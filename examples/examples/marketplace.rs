//! A marketplace session end to end, on a SQLite file: browse and search,
//! buy, download until the limit, review, buy a bundle at the
//! complete-the-bundle price, get refunded, and see access revoked.
//!
//! ```text
//! cargo run -p vault-examples --example marketplace -- --db /tmp/market.db
//! ```

use vault_core::Vault;
use vault_core::catalog::query::{WorkflowQuery, WorkflowSort};
use vault_core::catalog::workflow::parse_tags;
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::{PaymentRef, ProviderRefs, Purchase};
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, ReviewInput, Vote};
use vault_core::delivery::access::AccessKind;
use vault_core::delivery::download::RequestInfo;
use vault_core::store::Store;
use vault_core::value::actor::Actor;
use vault_core::value::error::Error;
use vault_core::vault::{CheckoutItem, StartPurchase};
use vault_examples::{AnyError, backend, open_vault, seed_catalog};

async fn buy(
    vault: &Vault<dyn Store>,
    who: &Actor,
    item: CheckoutItem,
    tag: &str,
) -> Result<Purchase, AnyError> {
    let pending = vault
        .start_purchase(
            who,
            StartPurchase {
                user_id: who.user_id().cloned().ok_or("signed in")?,
                item,
                license_type: LicenseType::Personal,
                tax: None,
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await?;
    Ok(vault
        .complete_purchase(
            &Actor::Service,
            pending.id,
            PaymentRef::parse(&format!("pi_{tag}_{}", pending.id.as_uuid().simple()))?,
        )
        .await?)
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let vault = open_vault(&backend("vault-marketplace.db")).await?;
    let admin = Actor::admin("staff-1")?;
    let catalog = seed_catalog(&vault, &admin).await?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let dana = Actor::user(&format!("dana-{tag}"))?;
    let request = RequestInfo::default();

    println!("== Browse: the reporting category, best rated first");
    let reporting = vault.categories(&dana).await?.remove(6);
    let page = vault
        .list_workflows(
            &dana,
            WorkflowQuery {
                category: Some(reporting.id),
                sort: WorkflowSort::BayesianRating,
                ..WorkflowQuery::default()
            },
        )
        .await?;
    println!(
        "  {}: {:?}",
        reporting.name,
        page.items
            .iter()
            .map(|w| w.content.slug.to_string())
            .collect::<Vec<_>>()
    );

    println!("\n== Search: \"invoice remind\", then tag \"make\"");
    let hits = vault
        .list_workflows(
            &dana,
            WorkflowQuery {
                text: Some("invoice remind".into()),
                ..WorkflowQuery::default()
            },
        )
        .await?;
    println!(
        "  text: {:?}",
        hits.items
            .iter()
            .map(|w| w.content.slug.to_string())
            .collect::<Vec<_>>()
    );
    let tagged = vault
        .list_workflows(
            &dana,
            WorkflowQuery {
                tags: parse_tags(&["make"])?,
                ..WorkflowQuery::default()
            },
        )
        .await?;
    println!(
        "  tag:  {:?}",
        tagged
            .items
            .iter()
            .map(|w| w.content.slug.to_string())
            .collect::<Vec<_>>()
    );

    println!("\n== A free preview, then the free workflow");
    let kit = &catalog[2];
    let files = vault.files(&dana, kit.id).await?;
    let preview = files
        .iter()
        .find(|f| f.access == vault_core::catalog::file::FileAccess::Public)
        .ok_or("preview file")?;
    let t = vault
        .download(&dana, kit.id, Some(preview.id), &request)
        .await?;
    println!("  preview {} ({:?})", t.file.file_name, t.decision.kind());
    let t = vault.download(&dana, catalog[0].id, None, &request).await?;
    println!("  {} ({:?})", t.file.file_name, t.decision.kind());

    println!("\n== Buy the onboarding kit and download until the limit");
    let kit_purchase = buy(&vault, &dana, CheckoutItem::Workflow(kit.id), &tag).await?;
    println!("  paid {} for {}", kit_purchase.total, kit.content.slug);
    loop {
        match vault.download(&dana, kit.id, None, &request).await {
            Ok(t) => println!(
                "  download: {}",
                t.quota_after.map_or("unlimited".into(), |q| q.to_string())
            ),
            Err(Error::Denied(d)) => {
                println!("  {}", d.summary());
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }

    println!("\n== Review it; another customer finds the review helpful");
    let mut dims = DimensionRatings::default();
    dims.set(Dimension::Efficiency, Some(Rating::new(5)?));
    let review = vault
        .submit_review(
            &dana,
            kit.id,
            ReviewInput {
                rating: Rating::new(4)?,
                dimensions: dims,
                title: "Onboarding in a day".into(),
                body: "Worked first time.".into(),
            },
        )
        .await?;
    println!(
        "  submitted ({}; verified purchase: {})",
        review.status, review.verified_purchase
    );
    vault
        .moderate_review(&admin, review.id, ModerationStatus::Approved, None)
        .await?;
    let peer = Actor::user(&format!("eli-{tag}"))?;
    let voted = vault
        .vote_review(&peer, review.id, Some(Vote::Helpful))
        .await?;
    let summary = vault.rating_summary(&dana, kit.id).await?;
    println!(
        "  approved; helpful votes {}; {} now averages {} over {} review(s)",
        voted.helpful_count,
        kit.content.slug,
        summary.average.map_or("-".into(), |a| a.to_string()),
        summary.count
    );

    println!("\n== The bundle, priced for someone who owns one member already");
    let bundle = vault
        .bundles(&dana)
        .await?
        .into_iter()
        .next()
        .ok_or("bundle")?;
    let quote = vault
        .quote_bundle(&dana, bundle.id, LicenseType::Personal)
        .await?;
    println!(
        "  {}: {} instead of {} (saves {}%); Dana owns {} member(s), so pays {}",
        bundle.name,
        quote.pricing.price,
        quote.pricing.original,
        quote.pricing.savings_percent,
        quote.owned.len(),
        quote.price
    );
    let bundle_purchase = buy(&vault, &dana, CheckoutItem::Bundle(bundle.id), &tag).await?;
    for m in &bundle.workflow_ids {
        let d = vault.check_access(&dana, *m, None).await?;
        println!(
            "  {} -> {:?}",
            vault.workflow(&dana, *m).await?.content.slug,
            d.kind()
        );
    }

    println!("\n== Refund the bundle: every member it granted is revoked");
    let (refunded, effects) = vault
        .refund_purchase(
            &Actor::Service,
            bundle_purchase.id,
            None,
            Some("changed my mind".into()),
        )
        .await?;
    let revoked = match &effects.access {
        vault_core::commerce::refund::AccessEffect::Revoke(ws) => ws.len(),
        _ => 0,
    };
    println!(
        "  purchase {}; access revoked for {revoked} workflow(s)",
        refunded.status
    );
    for m in &bundle.workflow_ids {
        let d = vault.check_access(&dana, *m, None).await?;
        let verdict = match d.kind() {
            Some(AccessKind::Purchased) => "still owned (bought separately)".to_owned(),
            Some(k) => format!("{k:?}"),
            None => d.summary(),
        };
        println!(
            "  {} -> {verdict}",
            vault.workflow(&dana, *m).await?.content.slug
        );
    }
    Ok(())
}

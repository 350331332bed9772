//! What the workflow page offers: download links for what the visitor may
//! download, and otherwise what the access decision says would grant it
//! (buy, join, sign in), as forms that work without JavaScript.

use vault_core::catalog::workflow::Workflow;
use vault_core::value::decision::Remedy;
use vault_core::{AccessDecision, FileAccess};

use super::super::session::Visitor;
use super::super::{AppState, PageError};

/// One file the visitor may download now.
#[derive(Debug, Clone)]
pub struct OfferFile {
    /// The link's words ("Get it free", "Download invoice-chaser.json").
    pub label: String,
    /// `/download/{slug}/{file_id}`.
    pub url: String,
}

/// What the workflow page offers the visitor: buy, download, or join
/// (rendered by `templates/offer.html` inside the workflow page).
#[derive(Debug, Default)]
pub struct Offer {
    /// The workflow's slug, for the forms' actions.
    pub slug: String,
    /// Files the visitor may download now.
    pub downloads: Vec<OfferFile>,
    /// The price to buy it for ("49.00 USD"), when buying would grant it.
    pub buy: Option<String>,
    /// The plan to join (its tier) when joining would grant it; `Some("")`
    /// when a membership would, but no plan on sale covers it (the link
    /// goes to the membership page).
    pub join: Option<String>,
    /// Where to sign in and come back, for a signed-out visitor.
    pub sign_in: Option<String>,
    /// Anything else the decision asks for (wait, renew, upgrade), in words.
    pub note: Option<String>,
}

/// The offer for `w` to `v`, given the vault's access decision.
pub(in super::super) async fn offer(
    app: &AppState,
    v: &Visitor,
    w: &Workflow,
    decision: &AccessDecision,
) -> Result<Offer, PageError> {
    let actor = v.actor();
    let slug = w.content.slug.to_string();
    let free = w.content.price.is_none_or(|p| p.is_zero())
        && w.content.pricing_tier == vault_core::PricingTier::Free;
    let mut offer = Offer {
        slug: slug.clone(),
        ..Offer::default()
    };
    for f in app.vault.files(&actor, w.id).await? {
        // A public file needs no entitlement; any other file is the
        // workflow's decision (asked per file only when it could differ).
        let granted = match f.access {
            FileAccess::Public => true,
            _ if decision.is_granted() => app
                .vault
                .check_access(&actor, w.id, Some(f.id))
                .await?
                .is_granted(),
            _ => false,
        };
        if granted {
            offer.downloads.push(OfferFile {
                label: if f.is_primary && free {
                    "Get it free".to_owned()
                } else {
                    format!("Download {}", f.file_name)
                },
                url: format!("/download/{slug}/{}", f.id),
            });
        }
    }
    if decision.is_granted() {
        return Ok(offer);
    }
    let mut notes = Vec::new();
    for remedy in &decision.remedies {
        match remedy {
            Remedy::SignIn => offer.sign_in = Some(format!("/sign-in?next=/workflows/{slug}")),
            Remedy::Buy { price } => offer.buy = Some(price.to_string()),
            Remedy::Join { tier } => {
                let plans = app.vault.membership_plans(&actor).await?;
                offer.join = Some(
                    plans
                        .iter()
                        .find(|p| p.tier >= *tier)
                        .map(|p| p.tier.to_string())
                        .unwrap_or_default(),
                );
            }
            other => notes.push(other.to_string()),
        }
    }
    if !notes.is_empty() {
        offer.note = Some(format!("To get access: {}.", notes.join(" or ")));
    }
    Ok(offer)
}

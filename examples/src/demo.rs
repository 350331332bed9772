//! The demo's showcase workflow: one workflow with everything a page can
//! show, so the storefront's first run has something to look at: a second
//! version with its changelog and file, a video and a checklist, a setup
//! guide, approved reviews with per-dimension stars and a helpful vote,
//! and a comment thread with a reply and a like, by two demo customers.
//! Seeded once: each part is skipped when the workflow already has it.

use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::page::{AssetKind, NewAsset, NewDoc};
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::catalog::workflow::Workflow;
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, ReviewInput, Vote};
use vault_core::store::Store;
use vault_core::{Actor, Email, Profile, UserId, Vault, Version};

use crate::{AnyError, demo_file_bytes};

/// The showcase's slug.
pub const SHOWCASE: &str = "client-onboarding-kit";

/// The two demo customers: user id, email, name.
const CUSTOMERS: [(&str, &str, &str); 2] = [
    ("demo-maya", "maya@example.com", "Maya (agency owner)"),
    ("demo-theo", "theo@example.com", "Theo (freelancer)"),
];

/// Seeds the showcase on `w` (see the module's doc).
pub async fn seed_showcase(
    vault: &Vault<dyn Store>,
    admin: &Actor,
    w: &Workflow,
) -> Result<(), AnyError> {
    if vault.updates(admin, w.id).await?.is_empty() {
        let name = format!("{}.json", w.content.slug);
        let bytes = demo_file_bytes(&w.content.slug, &name);
        vault
            .add_file(
                admin,
                NewFile {
                    workflow_id: w.id,
                    kind: FileKind::Make,
                    storage_key: format!("files/{}/1.1.0/{name}", w.content.slug),
                    mime_type: "application/json".into(),
                    file_name: name.clone(),
                    version: Version::new(1, 1, 0),
                    is_primary: true,
                    access: FileAccess::Standard,
                    size_bytes: bytes.len() as u64,
                    checksum: Checksum::of(&bytes),
                },
            )
            .await?;
        vault
            .publish_update(
                admin,
                NewUpdate {
                    workflow_id: w.id,
                    version: Version::new(1, 1, 0),
                    changelog: vec![
                        ChangelogEntry {
                            kind: ChangeKind::Added,
                            text: "A welcome email in the client's own language.".into(),
                        },
                        ChangelogEntry {
                            kind: ChangeKind::Fixed,
                            text: "Kick-off calls booked across time zones land at the right hour."
                                .into(),
                        },
                    ],
                    files_added: vec![],
                    files_modified: vec![name],
                    files_removed: vec![],
                    release_notes: "Update in place: the scenario keeps its connections.".into(),
                },
            )
            .await?;
    }
    if vault.assets(admin, w.id).await?.is_empty() {
        for (kind, url, alt) in [
            (
                AssetKind::File,
                "https://example.com/demo/onboarding-checklist.pdf",
                "The onboarding checklist it automates",
            ),
            (
                AssetKind::Video,
                "https://example.com/demo/onboarding-walkthrough.mp4",
                "A three-minute walkthrough",
            ),
        ] {
            vault
                .add_asset(
                    admin,
                    NewAsset {
                        workflow_id: w.id,
                        kind,
                        url: url.into(),
                        alt: alt.into(),
                    },
                )
                .await?;
        }
    }
    if vault.docs(admin, w.id).await?.is_empty() {
        vault
            .add_doc(
                admin,
                NewDoc {
                    workflow_id: w.id,
                    title: "Setting it up in ten minutes".into(),
                    body: "1. Import the blueprint into Make.com.\n2. Connect your CRM and your calendar.\n3. Send yourself a test client.".into(),
                },
            )
            .await?;
    }
    if vault.reviews(admin, w.id).await?.is_empty() {
        community(vault, admin, w).await?;
    }
    Ok(())
}

async fn customer(vault: &Vault<dyn Store>, i: usize) -> Result<Actor, AnyError> {
    let (id, email, name) = CUSTOMERS[i];
    let user = UserId::parse(id)?;
    if vault.store().account(&user).await?.is_none() {
        let profile = Profile {
            display_name: name.into(),
            ..Profile::default()
        };
        vault
            .open_account(&Actor::Service, &user, Email::parse(email)?, profile)
            .await?;
    }
    Ok(Actor::user(id)?)
}

async fn community(vault: &Vault<dyn Store>, admin: &Actor, w: &Workflow) -> Result<(), AnyError> {
    let maya = customer(vault, 0).await?;
    let theo = customer(vault, 1).await?;
    let stars = |n| Rating::new(n);
    let mut dims = DimensionRatings::default();
    dims.set(Dimension::Efficiency, Some(stars(5)?));
    dims.set(Dimension::Growth, Some(stars(4)?));
    let first = vault
        .submit_review(
            &maya,
            w.id,
            ReviewInput {
                rating: stars(5)?,
                dimensions: dims,
                title: "Onboarding went from a day to an hour".into(),
                body: "Every new client gets the same welcome, folder and kick-off call. We stopped forgetting steps.".into(),
            },
        )
        .await?;
    let second = vault
        .submit_review(
            &theo,
            w.id,
            ReviewInput {
                rating: stars(4)?,
                dimensions: DimensionRatings::default(),
                title: "Solid, needs a CRM".into(),
                body: "Works well once your CRM is connected; the setup guide covers it.".into(),
            },
        )
        .await?;
    for r in [&first, &second] {
        vault
            .moderate_review(admin, r.id, ModerationStatus::Approved, None)
            .await?;
    }
    vault
        .vote_review(&theo, first.id, Some(Vote::Helpful))
        .await?;
    let question = vault
        .post_comment(
            &theo,
            w.id,
            None,
            "Does it work with HubSpot's free plan?".into(),
        )
        .await?;
    vault
        .post_comment(
            &maya,
            w.id,
            Some(question.id),
            "Yes: we run it on the free plan; only the deal stage step needs a paid seat.".into(),
        )
        .await?;
    vault.like_comment(&maya, question.id).await?;
    Ok(())
}

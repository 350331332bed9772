//! Catalog operations: categories, workflows, files, updates, bundles.

use serde::{Deserialize, Serialize};

use super::{Vault, traced};
use crate::audit::entry::{AuditAction, AuditValue, revision_number};
use crate::catalog::bundle::{Availability, Bundle, BundlePricing, NewBundle, complete_the_bundle};
use crate::catalog::card::WorkflowCard;
use crate::catalog::category::{Category, NewCategory};
use crate::catalog::file::{FileInfo, NewFile, WorkflowFile};
use crate::catalog::query::{Page, WorkflowQuery};
use crate::catalog::update::{NewUpdate, WorkflowUpdate};
use crate::catalog::workflow::{Workflow, WorkflowContent, WorkflowStatus};
use crate::commerce::license::LicenseType;
use crate::commerce::purchase::owns;
use crate::community::rating::RatingAggregate;
use crate::store::Store;
use crate::value::actor::{Actor, Refusal};
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::{BundleId, CategoryId, FileId, UpdateId, WorkflowId};
use crate::value::money::Money;
use crate::value::slug::Slug;
use crate::value::validation::{Reason, ValidationError};
use crate::vault::authz::{can_see, hidden, require_staff};

/// A bundle with its current pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleView {
    /// The bundle.
    pub bundle: Bundle,
    /// Pricing against the members' current prices.
    pub pricing: BundlePricing,
    /// On sale now?
    pub availability: Availability,
    /// The members' approved reviews, combined.
    pub rating: RatingAggregate,
}

/// What the rest of a bundle costs a particular buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleQuote {
    /// The bundle's pricing.
    pub pricing: BundlePricing,
    /// Members the buyer already owns.
    pub owned: Vec<WorkflowId>,
    /// What the buyer pays (bundle price minus credit for what they own).
    pub price: Money,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Creates a category (staff).
    pub async fn create_category(&self, actor: &Actor, new: NewCategory) -> Result<Category> {
        let span = tracing::info_span!(
            "vault.create_category",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "create_category")?;
            let category = new.build(CategoryId::from_uuid(self.uuid()), self.now())?;
            let audit = self.audit(
                actor,
                AuditAction::CategoryCreated,
                Entity::Category,
                category.id,
            )?;
            self.writes.insert_category(&category, &audit).await?;
            Ok(category)
        })
        .await
    }

    /// Creates any of the seed's nine business systems that do not exist yet
    /// (by slug) and returns all categories. Running it again adds nothing.
    pub async fn seed_core_categories(&self, actor: &Actor) -> Result<Vec<Category>> {
        let span = tracing::info_span!(
            "vault.seed_core_categories",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "seed_core_categories")?;
            for new in crate::catalog::category::core_systems() {
                if self.store.category_by_slug(&new.slug).await?.is_none() {
                    match self.create_category(actor, new).await {
                        Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(self.store.categories().await?)
        })
        .await
    }

    /// Categories in display order; inactive ones only for staff.
    pub async fn categories(&self, actor: &Actor) -> Result<Vec<Category>> {
        let span = tracing::info_span!(
            "vault.categories",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            let all = self.store.categories().await?;
            Ok(all
                .into_iter()
                .filter(|c| c.is_active || actor.is_privileged())
                .collect())
        })
        .await
    }

    /// Creates a workflow as a draft (staff).
    pub async fn create_workflow(
        &self,
        actor: &Actor,
        content: WorkflowContent,
    ) -> Result<Workflow> {
        let span = tracing::info_span!(
            "vault.create_workflow",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "create_workflow")?;
            self.require_category(content.category_id).await?;
            let w = Workflow::new_draft(WorkflowId::from_uuid(self.uuid()), content, self.now())?;
            let audit = self.audit(actor, AuditAction::WorkflowCreated, Entity::Workflow, w.id)?;
            self.writes.insert_workflow(&w, &audit).await?;
            Ok(w)
        })
        .await
    }

    async fn require_category(&self, id: CategoryId) -> Result<Category> {
        self.store
            .category(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Category,
                key: id.to_string(),
            })
    }

    pub(super) async fn load_workflow(&self, id: WorkflowId) -> Result<Workflow> {
        self.store.workflow(id).await?.ok_or_else(|| hidden(id))
    }

    /// Replaces a workflow's content (staff). The price's currency is fixed
    /// once a workflow has been published, so revenue history never mixes
    /// currencies: a new price must be in the current price's currency or,
    /// when it has none now (sold through memberships only for a while), in
    /// the currency its revenue was recorded in.
    pub async fn edit_workflow(
        &self,
        actor: &Actor,
        id: WorkflowId,
        content: WorkflowContent,
    ) -> Result<Workflow> {
        let span = tracing::info_span!("vault.edit_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "edit_workflow")?;
            content.validate()?;
            let current = self.load_workflow(id).await?;
            if current.content.category_id != content.category_id {
                self.require_category(content.category_id).await?;
            }
            if current.published_at.is_some()
                && let Some(new) = &content.price
            {
                let fixed = match &current.content.price {
                    Some(old) => Some(old.currency()),
                    None => self
                        .store
                        .workflow_stats(Some(id))
                        .await?
                        .into_iter()
                        .find_map(|row| row.currency),
                };
                if let Some(fixed) = fixed
                    && fixed != new.currency()
                {
                    return Err(ValidationError::new(
                        "price",
                        Reason::Inconsistent {
                            detail: format!("the currency is fixed at {fixed} once published"),
                        },
                    )
                    .into());
                }
            }
            self.write_workflow(actor, AuditAction::WorkflowEdited, current, |w| {
                w.content = content
            })
            .await
        })
        .await
    }

    pub(super) async fn write_workflow(
        &self,
        actor: &Actor,
        action: AuditAction,
        current: Workflow,
        change: impl FnOnce(&mut Workflow),
    ) -> Result<Workflow> {
        let mut next = current.clone();
        change(&mut next);
        next.updated_at = self.now();
        next.revision = current.revision + 1;
        let audit = self
            .audit(actor, action, Entity::Workflow, next.id)?
            .with("status", AuditValue::Word(next.status.as_str()))?
            .with(
                "revision",
                AuditValue::Number(revision_number(next.revision)),
            )?;
        self.writes
            .update_workflow(&next, current.revision, &audit)
            .await?;
        Ok(next)
    }

    /// Publishes a workflow (staff): it enters the catalog and becomes
    /// downloadable. Republishing an archived workflow clears `archived_at`.
    pub async fn publish_workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.publish_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.set_status(actor, id, WorkflowStatus::Published, "publish_workflow")
                .await
        })
        .await
    }

    /// Announces a workflow as coming soon (staff): listed, not downloadable.
    pub async fn announce_workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.announce_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.set_status(actor, id, WorkflowStatus::ComingSoon, "announce_workflow")
                .await
        })
        .await
    }

    /// Archives a workflow (staff): it leaves the catalog; those who had
    /// access keep it.
    pub async fn archive_workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.archive_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.set_status(actor, id, WorkflowStatus::Archived, "archive_workflow")
                .await
        })
        .await
    }

    async fn set_status(
        &self,
        actor: &Actor,
        id: WorkflowId,
        status: WorkflowStatus,
        action: &'static str,
    ) -> Result<Workflow> {
        require_staff(actor, action)?;
        let current = self.load_workflow(id).await?;
        let mut next = current.clone();
        if !next.transition(status, self.now())? {
            return Ok(current);
        }
        let audited = match status {
            WorkflowStatus::Published => AuditAction::WorkflowPublished,
            WorkflowStatus::ComingSoon => AuditAction::WorkflowAnnounced,
            WorkflowStatus::Archived => AuditAction::WorkflowArchived,
            _ => AuditAction::WorkflowEdited,
        };
        self.write_workflow(actor, audited, current, |w| {
            w.status = next.status;
            w.published_at = next.published_at;
            w.archived_at = next.archived_at;
        })
        .await
    }

    /// A workflow, if the actor may see it (drafts read as not found).
    pub async fn workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let w = self.load_workflow(id).await?;
            if !can_see(actor, w.status, w.is_deleted()) {
                return Err(hidden(id));
            }
            Ok(w)
        })
        .await
    }

    /// A workflow by slug, if the actor may see it.
    pub async fn workflow_by_slug(&self, actor: &Actor, slug: &Slug) -> Result<Workflow> {
        let span = tracing::info_span!(
            "vault.workflow_by_slug",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            let w = self
                .store
                .workflow_by_slug(slug)
                .await?
                .ok_or_else(|| Error::NotFound {
                    entity: Entity::Workflow,
                    key: slug.to_string(),
                })?;
            if !can_see(actor, w.status, w.is_deleted()) {
                return Err(Error::NotFound {
                    entity: Entity::Workflow,
                    key: slug.to_string(),
                });
            }
            Ok(w)
        })
        .await
    }

    /// A page of the catalog. Non-staff see only published and coming-soon
    /// workflows whatever the query asks; the ranking prior is the vault's.
    /// A page of results needs only [`list_cards`](Self::list_cards).
    pub async fn list_workflows(
        &self,
        actor: &Actor,
        query: WorkflowQuery,
    ) -> Result<Page<Workflow>> {
        let span = tracing::info_span!(
            "vault.list_workflows",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        traced(span, async move {
            let Some(query) = self.listing_query(actor, query).await? else {
                return Ok(Page::default());
            };
            let Some(viewer) = actor.user_id() else {
                return Ok(self.store.list_workflows(&query).await?);
            };
            let (page, standing) = self.store.list_workflows_viewed(&query, viewer).await?;
            self.viewer_standing(actor, standing).await?;
            Ok(page)
        })
        .await
    }

    /// [`list_workflows`](Self::list_workflows) as cards: the same page,
    /// each workflow as a listing shows it, read without its long text and
    /// JSON columns.
    pub async fn list_cards(
        &self,
        actor: &Actor,
        query: WorkflowQuery,
    ) -> Result<Page<WorkflowCard>> {
        let span = tracing::info_span!(
            "vault.list_cards",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        traced(span, async move {
            let Some(query) = self.listing_query(actor, query).await? else {
                return Ok(Page::default());
            };
            let (page, standing) = self.store.list_cards(&query, actor.user_id()).await?;
            if actor.user_id().is_some() {
                self.viewer_standing(actor, standing).await?;
            }
            Ok(page)
        })
        .await
    }

    /// The query a listing runs for `actor`: checked, restricted to what a
    /// non-staff actor may see, with the vault's prior. `None` when it may
    /// see nothing the query asks for (its standing was checked).
    async fn listing_query(
        &self,
        actor: &Actor,
        mut query: WorkflowQuery,
    ) -> Result<Option<WorkflowQuery>> {
        query.validate()?;
        if !actor.is_privileged() {
            let listed = [WorkflowStatus::Published, WorkflowStatus::ComingSoon];
            query.statuses = if query.statuses.is_empty() {
                listed.to_vec()
            } else {
                query
                    .statuses
                    .into_iter()
                    .filter(|s| listed.contains(s))
                    .collect()
            };
            if query.statuses.is_empty() {
                self.gate(actor).await?;
                return Ok(None);
            }
        }
        query.prior = self.config.rating_prior;
        Ok(Some(query))
    }

    /// A signed-in viewer's standing as the listing's read answered it:
    /// refused, fine, or not read (then read on its own). Not `acting`:
    /// the standing may come with the page (one round trip on
    /// PostgreSQL), and a listing writes nothing.
    async fn viewer_standing(
        &self,
        actor: &Actor,
        standing: Option<Option<Refusal>>,
    ) -> Result<()> {
        match standing {
            Some(Some(refusal)) => Err(Error::Refused { refusal }),
            Some(None) => Ok(()),
            None => self.gate(actor).await,
        }
    }

    /// Attaches a file to a workflow (staff).
    pub async fn add_file(&self, actor: &Actor, new: NewFile) -> Result<WorkflowFile> {
        let span = tracing::info_span!(
            "vault.add_file",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "add_file")?;
            self.load_workflow(new.workflow_id).await?;
            let file = new.build(FileId::from_uuid(self.uuid()), self.now())?;
            let audit = self
                .audit(actor, AuditAction::FileChanged, Entity::File, file.id)?
                .with("workflow", AuditValue::Id(file.workflow_id.as_uuid()))?
                .with("added", AuditValue::Flag(true))?;
            self.writes.insert_file(&file, &audit).await?;
            Ok(file)
        })
        .await
    }

    /// Replaces a file's details (staff).
    pub async fn edit_file(&self, actor: &Actor, id: FileId, new: NewFile) -> Result<WorkflowFile> {
        let span = tracing::info_span!("vault.edit_file", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "edit_file")?;
            new.validate()?;
            let current = self.store.file(id).await?.ok_or_else(|| Error::NotFound {
                entity: Entity::File,
                key: id.to_string(),
            })?;
            if new.workflow_id != current.workflow_id {
                return Err(ValidationError::new(
                    "workflow_id",
                    Reason::Inconsistent {
                        detail: "a file cannot move to another workflow".into(),
                    },
                )
                .into());
            }
            let mut file = new.build(id, current.created_at)?;
            file.download_count = current.download_count;
            file.updated_at = self.now();
            file.revision = current.revision + 1;
            let audit = self
                .audit(actor, AuditAction::FileChanged, Entity::File, file.id)?
                .with("workflow", AuditValue::Id(file.workflow_id.as_uuid()))?
                .with(
                    "revision",
                    AuditValue::Number(revision_number(file.revision)),
                )?;
            self.writes
                .update_file(&file, current.revision, &audit)
                .await?;
            Ok(file)
        })
        .await
    }

    /// A workflow's files as a storefront lists them, primary first, for
    /// anyone who may see the workflow: no storage keys (see [`FileInfo`];
    /// [`Vault::download`] returns the key of the file it grants).
    pub async fn files(&self, actor: &Actor, workflow: WorkflowId) -> Result<Vec<FileInfo>> {
        let span = tracing::info_span!("vault.files", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            let files = self.store.files(workflow).await?;
            Ok(files.into_iter().map(FileInfo::from).collect())
        })
        .await
    }

    /// A workflow's files with their storage keys (staff), for managing the
    /// stored bytes.
    pub async fn stored_files(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
    ) -> Result<Vec<WorkflowFile>> {
        let span = tracing::info_span!("vault.stored_files", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "stored_files")?;
            self.load_workflow(workflow).await?;
            Ok(self.store.files(workflow).await?)
        })
        .await
    }

    /// Releases a new version (staff). It must be greater than the latest.
    pub async fn publish_update(&self, actor: &Actor, new: NewUpdate) -> Result<WorkflowUpdate> {
        let span = tracing::info_span!(
            "vault.publish_update",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "publish_update")?;
            let w = self.load_workflow(new.workflow_id).await?;
            let update = new.build(
                UpdateId::from_uuid(self.uuid()),
                w.current_version,
                self.now(),
            )?;
            let audit = self
                .audit(
                    actor,
                    AuditAction::UpdatePublished,
                    Entity::Update,
                    update.id,
                )?
                .with("workflow", AuditValue::Id(update.workflow_id.as_uuid()))?;
            self.writes.insert_update(&update, &audit).await?;
            Ok(update)
        })
        .await
    }

    /// A workflow's released updates, oldest first.
    pub async fn updates(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
    ) -> Result<Vec<WorkflowUpdate>> {
        let span = tracing::info_span!("vault.updates", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            Ok(self.store.updates(workflow).await?)
        })
        .await
    }

    /// Current one-time prices of `members`, in order. A member sold only
    /// through memberships has no price and cannot be bundled; a deleted one
    /// reads as not found unless `staff_view` (staff looking at a bundle to
    /// mend it still see its pricing).
    async fn member_prices(&self, members: &[WorkflowId], staff_view: bool) -> Result<Vec<Money>> {
        let mut prices = Vec::with_capacity(members.len());
        for id in members {
            let w = self.load_workflow(*id).await?;
            // A deleted workflow joins no bundle: it is sold to no one.
            if w.is_deleted() && !staff_view {
                return Err(hidden(*id));
            }
            let price = w.content.price.ok_or_else(|| {
                ValidationError::new(
                    "workflow_ids",
                    Reason::Inconsistent {
                        detail: format!("{} is not sold individually", w.content.slug),
                    },
                )
            })?;
            prices.push(price);
        }
        Ok(prices)
    }

    /// Creates a bundle (staff), priced against its members' current prices.
    pub async fn create_bundle(&self, actor: &Actor, new: NewBundle) -> Result<Bundle> {
        let span = tracing::info_span!(
            "vault.create_bundle",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "create_bundle")?;
            new.validate()?;
            let prices = self.member_prices(&new.workflow_ids, false).await?;
            let bundle = new.build(BundleId::from_uuid(self.uuid()), &prices, self.now())?;
            let audit = self.audit(actor, AuditAction::BundleCreated, Entity::Bundle, bundle.id)?;
            self.writes.insert_bundle(&bundle, &audit).await?;
            Ok(bundle)
        })
        .await
    }

    /// Replaces a bundle's name, description, members, price, sale window
    /// and SEO (staff), priced again against its members' current prices,
    /// as [`Vault::create_bundle`] prices a new one. Its id, slug history,
    /// active flag, purchase count and creation time stay. Purchases
    /// already made keep the members they were made with.
    pub async fn edit_bundle(
        &self,
        actor: &Actor,
        id: BundleId,
        edit: NewBundle,
    ) -> Result<Bundle> {
        let span = tracing::info_span!("vault.edit_bundle", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "edit_bundle")?;
            edit.validate()?;
            let old = self.load_bundle(id).await?;
            let prices = self.member_prices(&edit.workflow_ids, false).await?;
            let mut bundle = edit.build(id, &prices, old.created_at)?;
            bundle.is_active = old.is_active;
            bundle.purchase_count = old.purchase_count;
            bundle.updated_at = self.now();
            bundle.revision = old.revision + 1;
            let audit = self
                .audit(actor, AuditAction::BundleEdited, Entity::Bundle, bundle.id)?
                .with(
                    "revision",
                    AuditValue::Number(revision_number(bundle.revision)),
                )?;
            self.writes
                .update_bundle(&bundle, old.revision, &audit)
                .await?;
            Ok(bundle)
        })
        .await
    }

    /// Puts a bundle on sale or takes it off (staff). An inactive bundle
    /// cannot be bought and reads as not found for non-staff; its buyers
    /// keep their access.
    pub async fn set_bundle_active(
        &self,
        actor: &Actor,
        id: BundleId,
        active: bool,
    ) -> Result<Bundle> {
        let span = tracing::info_span!("vault.set_bundle_active", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "set_bundle_active")?;
            let mut bundle = self.load_bundle(id).await?;
            if bundle.is_active != active {
                let expected = bundle.revision;
                bundle.is_active = active;
                bundle.updated_at = self.now();
                bundle.revision += 1;
                let audit = self
                    .audit(actor, AuditAction::BundleEdited, Entity::Bundle, bundle.id)?
                    .with("is_active", AuditValue::Flag(active))?;
                self.writes.update_bundle(&bundle, expected, &audit).await?;
            }
            Ok(bundle)
        })
        .await
    }

    async fn load_bundle(&self, id: BundleId) -> Result<Bundle> {
        self.store.bundle(id).await?.ok_or_else(|| Error::NotFound {
            entity: Entity::Bundle,
            key: id.to_string(),
        })
    }

    /// A bundle with its pricing and availability now. Inactive bundles
    /// read as not found for non-staff.
    pub async fn bundle(&self, actor: &Actor, id: BundleId) -> Result<BundleView> {
        let span = tracing::info_span!("vault.bundle", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let bundle = self.load_bundle(id).await?;
            if !bundle.is_active && !actor.is_privileged() {
                return Err(Error::NotFound {
                    entity: Entity::Bundle,
                    key: id.to_string(),
                });
            }
            let prices = self
                .member_prices(&bundle.workflow_ids, actor.is_privileged())
                .await?;
            let pricing = BundlePricing::new(&prices, bundle.price)?;
            let availability = bundle.availability(self.now());
            let mut ratings = Vec::with_capacity(bundle.workflow_ids.len());
            for id in &bundle.workflow_ids {
                ratings.push(self.load_workflow(*id).await?.stats.rating);
            }
            Ok(BundleView {
                bundle,
                pricing,
                availability,
                rating: RatingAggregate::combine(&ratings),
            })
        })
        .await
    }

    /// All bundles the actor may see.
    pub async fn bundles(&self, actor: &Actor) -> Result<Vec<Bundle>> {
        let span = tracing::info_span!(
            "vault.bundles",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            Ok(self
                .store
                .bundles()
                .await?
                .into_iter()
                .filter(|b| b.is_active || actor.is_privileged())
                .collect())
        })
        .await
    }

    /// What the rest of a bundle costs the signed-in actor under
    /// `license_type`: the price a checkout of the bundle with that license
    /// type charges, crediting the members they already own under it (see
    /// [`Vault::start_purchase`]).
    pub async fn quote_bundle(
        &self,
        actor: &Actor,
        id: BundleId,
        license_type: LicenseType,
    ) -> Result<BundleQuote> {
        let span = tracing::info_span!("vault.quote_bundle", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = crate::vault::authz::require_user(actor, "quote_bundle")?;
            let view = self.bundle(actor, id).await?;
            let prices = self.member_prices(&view.bundle.workflow_ids, false).await?;
            let purchases = self.store.purchases_for_user(user).await?;
            let now = self.now();
            let owned: Vec<bool> = view
                .bundle
                .workflow_ids
                .iter()
                .map(|w| owns(&purchases, *w, license_type, now))
                .collect();
            let price = complete_the_bundle(view.bundle.price, &prices, &owned)?;
            Ok(BundleQuote {
                pricing: view.pricing,
                owned: view
                    .bundle
                    .workflow_ids
                    .iter()
                    .zip(&owned)
                    .filter(|(_, o)| **o)
                    .map(|(w, _)| *w)
                    .collect(),
                price,
            })
        })
        .await
    }
}

//! Workflows: the products of the marketplace.
//!
//! A [`Workflow`] is the stored product: the editable [`WorkflowContent`]
//! plus lifecycle timestamps and the counters the store maintains
//! ([`WorkflowStats`]). Edits replace the content and never touch counters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::wedge::Wedge;
use crate::community::rating::RatingAggregate;
use crate::value::error::{Entity, Error};
use crate::value::ids::{CategoryId, WorkflowId};
use crate::value::money::Money;
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError, check_limit, check_text};

pub use crate::value::status::WorkflowStatus;

pub use crate::value::tag::{Tag, parse_tags};

/// Media shown on a workflow's page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// Card thumbnail.
    pub thumbnail_url: Option<String>,
    /// Screenshot gallery.
    pub preview_images: Vec<String>,
    /// Walkthrough video.
    pub video_url: Option<String>,
    /// Live demo.
    pub demo_url: Option<String>,
}

/// Search-engine fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seo {
    /// `<title>`, up to 200 characters.
    pub meta_title: Option<String>,
    /// Meta description, up to 500 characters.
    pub meta_description: Option<String>,
    /// Keywords, up to 30.
    pub keywords: Vec<String>,
}

impl Seo {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if let Some(t) = &self.meta_title {
            check_text("meta_title", t, true, 200)?;
        }
        if let Some(d) = &self.meta_description {
            check_text("meta_description", d, true, 500)?;
        }
        check_list("seo_keywords", &self.keywords, 30, 100)
    }
}

pub(crate) fn check_url(field: &'static str, url: &str) -> Result<(), ValidationError> {
    check_text(field, url, true, 2048)?;
    let ok = (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
        && !url.chars().any(char::is_whitespace);
    if !ok {
        return Err(ValidationError::new(
            field,
            Reason::Format {
                expected: "an http(s) URL or an absolute path",
            },
        ));
    }
    Ok(())
}

pub(crate) fn check_list(
    field: &'static str,
    items: &[String],
    max_items: usize,
    max_len: usize,
) -> Result<(), ValidationError> {
    if items.len() > max_items {
        return Err(ValidationError::new(
            field,
            Reason::TooLong { max: max_items },
        ));
    }
    items
        .iter()
        .try_for_each(|i| check_text(field, i, true, max_len))
}

impl Media {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if let Some(u) = &self.thumbnail_url {
            check_url("thumbnail_url", u)?;
        }
        if self.preview_images.len() > 20 {
            return Err(ValidationError::new(
                "preview_images",
                Reason::TooLong { max: 20 },
            ));
        }
        for u in &self.preview_images {
            check_url("preview_images", u)?;
        }
        if let Some(u) = &self.video_url {
            check_url("video_url", u)?;
        }
        if let Some(u) = &self.demo_url {
            check_url("demo_url", u)?;
        }
        Ok(())
    }
}

/// Everything about a workflow that an editor sets. Counters and lifecycle
/// timestamps are not here: they are maintained, not edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowContent {
    /// URL slug, unique across workflows.
    pub slug: Slug,
    /// Title, 1-200 characters.
    pub title: String,
    /// Card text, up to 500 characters.
    pub short_description: String,
    /// Page text, up to 20 000 characters.
    pub description: String,
    /// The business system it belongs to.
    pub category_id: CategoryId,
    /// W.E.D.G.E. profile.
    pub wedge: Wedge,
    /// The tier a membership needs to cover it; `Free` means free for all.
    pub pricing_tier: PricingTier,
    /// One-time price. `None` for free workflows and for membership-only
    /// ones that are not sold individually.
    pub price: Option<Money>,
    /// Media.
    pub media: Media,
    /// Feature bullets (up to 50, 500 characters each).
    pub features: Vec<String>,
    /// What a buyer needs (accounts, plans, apps).
    pub requirements: Vec<String>,
    /// What the download includes.
    pub includes: Vec<String>,
    /// Tags (up to 20).
    pub tags: Vec<Tag>,
    /// Search-engine fields.
    pub seo: Seo,
    /// Months of updates a one-time purchase includes (`None`: all updates
    /// forever). Versions released later are not covered by that purchase;
    /// earlier ones stay covered forever.
    pub update_months: Option<u32>,
    /// Downloads a one-time purchase allows (`None`: unlimited).
    pub download_limit: Option<u32>,
}

impl WorkflowContent {
    /// The content of a workflow with what every workflow needs: the rest
    /// empty, free (a price comes with [`WorkflowContent::price`]), all
    /// updates and unlimited downloads. Checked when the vault stores it.
    pub fn new(
        slug: Slug,
        title: impl Into<String>,
        category: CategoryId,
        tier: PricingTier,
    ) -> Self {
        Self {
            slug,
            title: title.into(),
            short_description: String::new(),
            description: String::new(),
            category_id: category,
            wedge: Wedge::default(),
            pricing_tier: tier,
            price: None,
            media: Media::default(),
            features: Vec::new(),
            requirements: Vec::new(),
            includes: Vec::new(),
            tags: Vec::new(),
            seo: Seo::default(),
            update_months: None,
            download_limit: None,
        }
    }

    /// Sold individually at `price`.
    pub fn price(mut self, price: Money) -> Self {
        self.price = Some(price);
        self
    }

    /// The card text.
    pub fn short_description(mut self, text: impl Into<String>) -> Self {
        self.short_description = text.into();
        self
    }

    /// The page text.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// The tags.
    pub fn tags(mut self, tags: Vec<Tag>) -> Self {
        self.tags = tags;
        self
    }

    /// The W.E.D.G.E. profile.
    pub fn wedge(mut self, wedge: Wedge) -> Self {
        self.wedge = wedge;
        self
    }

    /// Downloads a one-time purchase allows.
    pub fn download_limit(mut self, limit: u32) -> Self {
        self.download_limit = Some(limit);
        self
    }

    /// Months of updates a one-time purchase includes.
    pub fn update_months(mut self, months: u32) -> Self {
        self.update_months = Some(months);
        self
    }

    /// Checks every field and the rules between them.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("title", &self.title, true, 200)?;
        check_text("short_description", &self.short_description, false, 500)?;
        check_text("description", &self.description, false, 20_000)?;
        self.media.validate()?;
        check_list("features", &self.features, 50, 500)?;
        check_list("requirements", &self.requirements, 50, 500)?;
        check_list("includes", &self.includes, 50, 500)?;
        if self.tags.len() > 20 {
            return Err(ValidationError::new("tags", Reason::TooLong { max: 20 }));
        }
        self.seo.validate()?;
        match (&self.pricing_tier, &self.price) {
            (PricingTier::Free, Some(p)) if !p.is_zero() => {
                return Err(ValidationError::new(
                    "price",
                    Reason::Inconsistent {
                        detail: "a free-tier workflow cannot have a price".into(),
                    },
                ));
            }
            (_, Some(p)) if p.is_negative() => {
                return Err(ValidationError::new("price", Reason::Negative));
            }
            (tier, Some(p)) if *tier != PricingTier::Free && p.is_zero() => {
                return Err(ValidationError::new(
                    "price",
                    Reason::Inconsistent {
                        detail: "a paid tier needs a positive price, or none if sold only through memberships".into(),
                    },
                ));
            }
            _ => {}
        }
        check_limit("update_months", self.update_months)?;
        check_limit("download_limit", self.download_limit)
    }

    /// Free for everyone: the free tier.
    pub fn is_free(&self) -> bool {
        self.pricing_tier == PricingTier::Free
    }
}

/// Counters the store maintains in the same write as the change that moves
/// them (the seed's triggers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStats {
    /// Recorded downloads.
    pub download_count: u64,
    /// Users who favorited it.
    pub favorite_count: u64,
    /// Recorded page views.
    pub view_count: u64,
    /// Completed purchases (direct and through bundles).
    pub purchase_count: u64,
    /// Approved reviews, aggregated.
    pub rating: RatingAggregate,
}

/// A stored workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// Id.
    pub id: WorkflowId,
    /// Editable content.
    pub content: WorkflowContent,
    /// Lifecycle status.
    pub status: WorkflowStatus,
    /// The latest released version, if any update was published.
    pub current_version: Option<crate::value::version::Version>,
    /// Maintained counters.
    pub stats: WorkflowStats,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change time (maintained).
    pub updated_at: DateTime<Utc>,
    /// First time it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// When it was archived (cleared when republished).
    pub archived_at: Option<DateTime<Utc>>,
    /// When staff deleted it (the seed's `workflows.is_deleted`), `None`
    /// while it is live. A soft delete: the row, its files, purchases and
    /// downloads stay (the financial trail), but the catalog hides it (see
    /// [`Workflow::is_deleted`]); restoring clears it. Written by
    /// [`crate::store::CatalogStore::update_workflow`] like any other field.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Bumped by every edit; writes that expect an older revision conflict.
    pub revision: u64,
}

impl Workflow {
    /// Moves the workflow to `status` at `now`: publishing stamps
    /// `published_at` once (republishing keeps the first date) and clears
    /// `archived_at`; archiving stamps `archived_at`. Announcing (coming
    /// soon) is for what has not been released: from published or archived
    /// it is an [`Error::InvalidTransition`] (it would lock buyers out).
    /// `Ok(false)` when it already is in `status`; on error nothing changes.
    /// `updated_at` and the revision are the writer's.
    pub fn transition(
        &mut self,
        status: WorkflowStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        if self.status == status {
            return Ok(false);
        }
        if status == WorkflowStatus::ComingSoon
            && matches!(
                self.status,
                WorkflowStatus::Published | WorkflowStatus::Archived
            )
        {
            return Err(Error::InvalidTransition {
                entity: Entity::Workflow,
                state: self.status.as_str(),
                event: "announce",
            });
        }
        self.status = status;
        match status {
            WorkflowStatus::Published => {
                self.published_at.get_or_insert(now);
                self.archived_at = None;
            }
            WorkflowStatus::Archived => self.archived_at = Some(now),
            WorkflowStatus::Draft | WorkflowStatus::ComingSoon => {}
        }
        Ok(true)
    }

    /// A new draft.
    pub fn new_draft(
        id: WorkflowId,
        content: WorkflowContent,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        content.validate()?;
        Ok(Self {
            id,
            content,
            status: WorkflowStatus::Draft,
            current_version: None,
            stats: WorkflowStats::default(),
            created_at: now,
            updated_at: now,
            published_at: None,
            archived_at: None,
            deleted_at: None,
            revision: 0,
        })
    }

    /// Deleted by staff: not listed nor searched, not counted in its
    /// category, not sold, not downloadable, and not found by anyone but
    /// staff. It keeps its slug, so a deleted workflow can be restored as
    /// it was.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The workflow's slug.
    pub fn slug(&self) -> &Slug {
        &self.content.slug
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::value::money::Currency;
    use rust_decimal::dec;

    pub(crate) fn content(slug: &str, tier: PricingTier, price: Option<i64>) -> WorkflowContent {
        WorkflowContent {
            slug: Slug::parse(slug).expect("slug"),
            title: "Lead capture".into(),
            short_description: "Capture leads".into(),
            description: String::new(),
            category_id: CategoryId::from_uuid(uuid::Uuid::nil()),
            wedge: Wedge::default(),
            pricing_tier: tier,
            price: price.map(|p| Money::from_minor(p, Currency::USD)),
            media: Media::default(),
            features: vec![],
            requirements: vec![],
            includes: vec![],
            tags: vec![],
            seo: Seo::default(),
            update_months: None,
            download_limit: None,
        }
    }

    #[test]
    fn pricing_consistency() {
        assert!(content("a", PricingTier::Free, None).validate().is_ok());
        assert!(
            content("a", PricingTier::Pro, Some(4900))
                .validate()
                .is_ok()
        );
        assert!(content("a", PricingTier::Pro, None).validate().is_ok());
        let e = content("a", PricingTier::Free, Some(100))
            .validate()
            .expect_err("free with price");
        assert_eq!(e.field(), "price");
        let e = content("a", PricingTier::Pro, Some(0))
            .validate()
            .expect_err("zero paid");
        assert_eq!(e.field(), "price");
        let e = content("a", PricingTier::Pro, Some(-5))
            .validate()
            .expect_err("negative");
        assert_eq!(e.reason(), &Reason::Negative);
        let _ = dec!(1);
        // A free workflow may spell its price as zero.
        assert!(content("a", PricingTier::Free, Some(0)).validate().is_ok());
    }

    #[test]
    fn only_the_free_tier_is_free() {
        assert!(content("a", PricingTier::Free, None).is_free());
        for tier in [PricingTier::Basic, PricingTier::Pro, PricingTier::Premium] {
            assert!(!content("a", tier, Some(100)).is_free(), "{tier:?}");
        }
    }

    #[test]
    fn previews_and_tags_may_fill_their_count_exactly() {
        let mut c = content("a", PricingTier::Free, None);
        c.media.preview_images = vec!["/p.png".to_owned(); 20];
        c.tags = (0..20)
            .map(|i| Tag::parse(&format!("t{i}")).expect("tag"))
            .collect();
        assert!(c.validate().is_ok());
        c.media.preview_images.push("/p.png".into());
        assert_eq!(
            c.validate().expect_err("21 previews").field(),
            "preview_images"
        );
        c.media.preview_images.pop();
        c.tags.push(Tag::parse("t20").expect("tag"));
        assert_eq!(c.validate().expect_err("21 tags").field(), "tags");
    }

    #[test]
    fn each_field_is_named_on_error() {
        let mut c = content("a", PricingTier::Free, None);
        c.title = String::new();
        assert_eq!(c.validate().expect_err("x").field(), "title");
        let mut c = content("a", PricingTier::Free, None);
        c.media.video_url = Some("javascript:alert(1)".into());
        assert_eq!(c.validate().expect_err("x").field(), "video_url");
        let mut c = content("a", PricingTier::Free, None);
        c.features = vec!["x".into(); 51];
        assert_eq!(c.validate().expect_err("x").field(), "features");
        let mut c = content("a", PricingTier::Free, None);
        c.download_limit = Some(0);
        assert_eq!(c.validate().expect_err("x").field(), "download_limit");
        let mut c = content("a", PricingTier::Free, None);
        c.update_months = Some(0);
        assert_eq!(c.validate().expect_err("x").field(), "update_months");
        let mut c = content("a", PricingTier::Free, None);
        c.seo.meta_title = Some("t".repeat(201));
        assert_eq!(c.validate().expect_err("x").field(), "meta_title");
    }

    #[test]
    fn urls_are_http_or_an_absolute_path_without_spaces() {
        for good in [
            "https://cdn.example/a.png",
            "http://example.org/v",
            "/media/a.png",
        ] {
            assert!(check_url("video_url", good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.org/a",
            "example.org/a",
            "javascript:alert(1)",
            "https://cdn.example/a b.png",
            "/media/a\tb.png",
            " /media/a.png",
        ] {
            assert_eq!(
                check_url("video_url", bad).expect_err(bad).field(),
                "video_url"
            );
        }
    }

    #[test]
    fn a_list_may_fill_its_count_exactly() {
        let of = |n: usize| vec!["x".to_owned(); n];
        assert!(check_list("features", &of(50), 50, 10).is_ok());
        assert_eq!(
            check_list("features", &of(51), 50, 10)
                .expect_err("51")
                .field(),
            "features"
        );
        assert!(check_list("features", &["x".repeat(10)], 50, 10).is_ok());
        assert!(check_list("features", &["x".repeat(11)], 50, 10).is_err());
    }

    #[test]
    fn tags_are_normalised() {
        let tags = parse_tags(&["CRM", "crm", " Lead Gen "]).expect("valid");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1].as_str(), "lead gen");
        assert_eq!(Tag::parse("a/b").expect_err("x").field(), "tags");
    }

    fn draft() -> Workflow {
        Workflow::new_draft(
            WorkflowId::from_uuid(uuid::Uuid::nil()),
            content("flow", PricingTier::Pro, Some(4900)),
            DateTime::<Utc>::UNIX_EPOCH,
        )
        .expect("valid")
    }

    proptest::proptest! {
        /// Whatever the order of moves: announcing a released workflow is
        /// refused and changes nothing; the first publication date never
        /// moves; a published workflow is not archived and an archived one
        /// says since when.
        #[test]
        fn lifecycle_invariants(moves in proptest::collection::vec(proptest::sample::select(WorkflowStatus::ALL.to_vec()), 0..16)) {
            let mut w = draft();
            let mut first_published = None;
            for (i, to) in moves.into_iter().enumerate() {
                let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(i as i64 + 1);
                let before = w.clone();
                match w.transition(to, now) {
                    Ok(changed) => {
                        proptest::prop_assert_eq!(changed, before.status != to);
                        proptest::prop_assert_eq!(w.status, to);
                    }
                    Err(_) => {
                        proptest::prop_assert!(to == WorkflowStatus::ComingSoon);
                        proptest::prop_assert!(matches!(before.status, WorkflowStatus::Published | WorkflowStatus::Archived));
                        proptest::prop_assert_eq!(&w, &before);
                    }
                }
                if first_published.is_none() {
                    first_published = w.published_at;
                }
                proptest::prop_assert_eq!(w.published_at, first_published);
                match w.status {
                    WorkflowStatus::Published => proptest::prop_assert!(w.published_at.is_some() && w.archived_at.is_none()),
                    WorkflowStatus::Archived => proptest::prop_assert!(w.archived_at.is_some()),
                    _ => {}
                }
            }
        }
    }
}

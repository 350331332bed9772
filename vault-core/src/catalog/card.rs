//! A catalog card: what a listing page shows of a workflow.
//!
//! A catalog page of twenty whole [`Workflow`]s reads and decodes every
//! long text and JSON column of each (description, media, features, SEO,
//! the rating's dimensions): most of a listing's time on SQLite went to
//! that. A card holds what a page of results shows (title, blurb, price,
//! thumbnail, rating, downloads) and the keys it is sorted and paged by,
//! so a store can read only those columns. [`WorkflowCard::of`] says what a
//! card is of a workflow; every store's cards must equal it (the contract
//! case `store_cards_are_the_listing_in_short`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::query::Listed;
use crate::catalog::wedge::Score;
use crate::catalog::workflow::{Workflow, WorkflowStatus};
use crate::community::rating::RatingSummary;
use crate::value::ids::{CategoryId, WorkflowId};
use crate::value::money::Money;
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;

/// One workflow as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowCard {
    /// Id.
    pub id: WorkflowId,
    /// URL slug (the product page's address).
    pub slug: Slug,
    /// Title.
    pub title: String,
    /// The short description.
    pub short_description: String,
    /// Category.
    pub category_id: CategoryId,
    /// Pricing tier.
    pub pricing_tier: PricingTier,
    /// One-time price (`None` for free and members-only workflows).
    pub price: Option<Money>,
    /// W.E.D.G.E. score.
    pub wedge_score: Score,
    /// The card's thumbnail (the media's `thumbnail_url`).
    pub thumbnail_url: Option<String>,
    /// Lifecycle status (a listing may hold coming-soon workflows).
    pub status: WorkflowStatus,
    /// Recorded downloads.
    pub download_count: u64,
    /// Users who favorited it.
    pub favorite_count: u64,
    /// Approved reviews: count and star sum.
    pub rating: RatingSummary,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// First time it was published.
    pub published_at: Option<DateTime<Utc>>,
}

impl WorkflowCard {
    /// The card of `w`.
    pub fn of(w: &Workflow) -> Self {
        Self {
            id: w.id,
            slug: w.content.slug.clone(),
            title: w.content.title.clone(),
            short_description: w.content.short_description.clone(),
            category_id: w.content.category_id,
            pricing_tier: w.content.pricing_tier,
            price: w.content.price,
            wedge_score: w.content.wedge.score,
            thumbnail_url: w.content.media.thumbnail_url.clone(),
            status: w.status,
            download_count: w.stats.download_count,
            favorite_count: w.stats.favorite_count,
            rating: w.stats.rating.summary(),
            created_at: w.created_at,
            published_at: w.published_at,
        }
    }
}

impl From<&Workflow> for WorkflowCard {
    fn from(w: &Workflow) -> Self {
        Self::of(w)
    }
}

impl Listed for WorkflowCard {
    fn listed_id(&self) -> WorkflowId {
        self.id
    }
    fn score(&self) -> Score {
        self.wedge_score
    }
    fn rating(&self) -> (u64, u64) {
        (self.rating.sum, self.rating.count)
    }
    fn downloads(&self) -> u64 {
        self.download_count
    }
    fn published_at(&self) -> Option<DateTime<Utc>> {
        self.published_at
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::catalog::query::{Cursor, SortKey, WorkflowSort};
    use crate::catalog::workflow::tests::content;
    use crate::community::rating::{DimensionTotals, RatingAggregate};

    proptest! {
        /// A card sorts and pages exactly as its workflow (a page of cards
        /// resumes where the page of workflows would) and shows its rating.
        #[test]
        fn a_card_has_its_workflows_keys(
            score in 0i64..=100,
            stars in proptest::array::uniform5(0u64..1000),
            downloads in any::<u64>(),
            created in 0i64..1_000_000,
            published in proptest::option::of(0i64..1_000_000),
        ) {
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            let mut w = Workflow::new_draft(
                WorkflowId::from_uuid(uuid::Uuid::from_u128(7)),
                content("flow", PricingTier::Pro, Some(4900)),
                epoch + Duration::seconds(created),
            )
            .expect("valid");
            w.content.wedge.score = Score::new("wedge_score", Decimal::new(score, 1)).expect("score");
            w.stats.rating = RatingAggregate::from_parts(stars, [DimensionTotals::default(); 5]).expect("stars");
            w.stats.download_count = downloads;
            w.published_at = published.map(|s| epoch + Duration::seconds(s));
            let card = WorkflowCard::of(&w);
            for sort in WorkflowSort::ALL {
                prop_assert_eq!(SortKey::of(&card, sort), SortKey::of(&w, sort));
                prop_assert_eq!(Cursor::after(&card, sort), Cursor::after(&w, sort));
            }
            prop_assert_eq!(card.rating.average_display(), w.stats.rating.average_display());
        }
    }
}

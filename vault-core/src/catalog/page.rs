//! What a workflow's page shows besides its content (the marketplace
//! seed's `workflow_assets` and `workflow_docs`): ordered media and setup
//! guides. Pure rules: which positions a reorder, an append and a removal
//! give. The storage contract is [`crate::catalog::page_store::PageStore`];
//! every store calls these rules inside its write, so positions are always
//! `0..n` with no gap and no double.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::workflow::check_url;
use crate::value::ids::{AssetId, DocId, WorkflowId};
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError, check_text};

named_enum!(
    /// What an asset is.
    AssetKind, "asset_kind", "image, thumbnail, video, file" {
        /// A picture.
        Image = "image",
        /// The picture shown on catalog cards.
        Thumbnail = "thumbnail",
        /// A video.
        Video = "video",
        /// A file to look at (not the workflow's own files).
        File = "file",
    }
);

/// The most assets, or guides, one workflow shows.
pub const MAX_PER_WORKFLOW: usize = 50;

/// An asset shown on a workflow's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowAsset {
    /// Id.
    pub id: AssetId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// What it is.
    pub kind: AssetKind,
    /// Where it is: an http(s) URL or an absolute path.
    pub url: String,
    /// Alternative text for readers who cannot see it, up to 300 characters.
    pub alt: String,
    /// Its place, 0 first. Owned by the store (appends, removals and
    /// reorders set it); an edit keeps the stored one.
    pub position: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last edit time.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every edit; an edit that expects an older one conflicts.
    pub revision: u64,
}

impl WorkflowAsset {
    /// Checks the URL and the text.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_url("url", &self.url)?;
        let picture = matches!(self.kind, AssetKind::Image | AssetKind::Thumbnail);
        check_text("alt", &self.alt, picture, 300)
    }
}

/// A setup guide on a workflow's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowDoc {
    /// Id.
    pub id: DocId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Title, up to 200 characters.
    pub title: String,
    /// Body (Markdown), up to 50 000 characters.
    pub body: String,
    /// Its place, 0 first. Owned by the store, as an asset's.
    pub position: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last edit time.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every edit; an edit that expects an older one conflicts.
    pub revision: u64,
}

impl WorkflowDoc {
    /// Checks the title and body.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("title", &self.title, true, 200)?;
        check_text("body", &self.body, false, 50_000)
    }
}

/// What staff provide to add an asset, or to replace one's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAsset {
    /// The workflow whose page shows it.
    pub workflow_id: WorkflowId,
    /// What it is.
    pub kind: AssetKind,
    /// Where it is.
    pub url: String,
    /// Alternative text.
    pub alt: String,
}

impl NewAsset {
    /// The asset `id` as first stored at `now` (its position is the
    /// store's: it appends).
    pub fn build(self, id: AssetId, now: DateTime<Utc>) -> Result<WorkflowAsset, ValidationError> {
        let asset = WorkflowAsset {
            id,
            workflow_id: self.workflow_id,
            kind: self.kind,
            url: self.url,
            alt: self.alt,
            position: 0,
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        asset.validate()?;
        Ok(asset)
    }
}

/// What staff provide to add a guide, or to replace one's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDoc {
    /// The workflow whose page shows it.
    pub workflow_id: WorkflowId,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: String,
}

impl NewDoc {
    /// The guide `id` as first stored at `now` (its position is the
    /// store's: it appends).
    pub fn build(self, id: DocId, now: DateTime<Utc>) -> Result<WorkflowDoc, ValidationError> {
        let doc = WorkflowDoc {
            id,
            workflow_id: self.workflow_id,
            title: self.title,
            body: self.body,
            position: 0,
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        doc.validate()?;
        Ok(doc)
    }
}

/// The positions of a new order: `order` must name every id of `current`
/// exactly once; the result gives each id its place, 0 first. Refused
/// otherwise, so a reorder from a stale page never drops or doubles an item.
pub fn reorder<Id: Copy + Eq + std::hash::Hash>(
    current: &[Id],
    order: &[Id],
) -> Result<Vec<(Id, u32)>, ValidationError> {
    let refuse = || {
        ValidationError::new(
            "order",
            Reason::Inconsistent {
                detail: "name every item exactly once".into(),
            },
        )
    };
    if order.len() != current.len() || order.len() > MAX_PER_WORKFLOW {
        return Err(refuse());
    }
    let mut seen = std::collections::HashSet::with_capacity(order.len());
    for id in order {
        if !current.contains(id) || !seen.insert(*id) {
            return Err(refuse());
        }
    }
    Ok(order
        .iter()
        .zip(0u32..)
        .map(|(id, position)| (*id, position))
        .collect())
}

/// The position an item appended after `count` others takes; `None` when
/// the workflow already shows [`MAX_PER_WORKFLOW`] (the store refuses with
/// `LimitReached`).
pub fn append_position(count: usize) -> Option<u32> {
    if count >= MAX_PER_WORKFLOW {
        return None;
    }
    u32::try_from(count).ok()
}

/// The positions of the items left when `removed` leaves `ordered` (the
/// workflow's items in their order): the rest keep their order and close
/// the gap, so positions stay `0..n`.
pub fn after_removal<Id: Copy + Eq>(ordered: &[Id], removed: Id) -> Vec<(Id, u32)> {
    ordered
        .iter()
        .filter(|id| **id != removed)
        .zip(0u32..)
        .map(|(id, position)| (*id, position))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn assets_and_docs_are_checked() {
        let mut a = WorkflowAsset {
            id: AssetId::from_uuid(uuid::Uuid::nil()),
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            kind: AssetKind::Image,
            url: "https://cdn.example/shot.png".into(),
            alt: "The scenario in Make.com".into(),
            position: 0,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            revision: 0,
        };
        assert!(a.validate().is_ok());
        a.alt.clear();
        assert_eq!(
            a.validate().expect_err("an image needs alt text").field(),
            "alt"
        );
        a.kind = AssetKind::Video;
        assert!(a.validate().is_ok());
        a.url = "javascript:alert(1)".into();
        assert_eq!(a.validate().expect_err("scheme").field(), "url");
        let d = WorkflowDoc {
            id: DocId::from_uuid(uuid::Uuid::nil()),
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
            title: String::new(),
            body: "Connect your CRM first.".into(),
            position: 0,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            revision: 0,
        };
        assert_eq!(d.validate().expect_err("title").field(), "title");
    }

    #[test]
    fn a_reorder_names_every_item_once() {
        assert_eq!(
            reorder(&[1, 2, 3], &[3, 1, 2]),
            Ok(vec![(3, 0), (1, 1), (2, 2)])
        );
        for bad in [&[1, 2][..], &[1, 2, 2], &[1, 2, 4], &[1, 2, 3, 4]] {
            assert_eq!(
                reorder(&[1, 2, 3], bad).expect_err("stale").field(),
                "order"
            );
        }
    }

    #[test]
    fn appends_stop_at_the_limit_and_removals_close_the_gap() {
        assert_eq!(append_position(0), Some(0));
        assert_eq!(append_position(MAX_PER_WORKFLOW - 1), Some(49));
        assert_eq!(append_position(MAX_PER_WORKFLOW), None);
        assert_eq!(after_removal(&[5, 6, 7], 6), vec![(5, 0), (7, 1)]);
        assert_eq!(after_removal(&[5, 6, 7], 5), vec![(6, 0), (7, 1)]);
        assert_eq!(after_removal(&[5], 5), vec![]);
        assert_eq!(after_removal(&[5, 6], 9), vec![(5, 0), (6, 1)]);
    }

    proptest! {
        #[test]
        fn a_permutation_is_always_accepted_with_positions_in_its_order(
            ids in proptest::collection::hash_set(0u32..1000, 0..30),
            seed in any::<u64>(),
        ) {
            let current: Vec<u32> = ids.into_iter().collect();
            let mut order = current.clone();
            let mut rng = fastrand_like(seed);
            for i in (1..order.len()).rev() {
                order.swap(i, (rng() % (i as u64 + 1)) as usize);
            }
            let placed = reorder(&current, &order).expect("a permutation");
            for (i, (id, pos)) in placed.iter().enumerate() {
                prop_assert_eq!(*id, order[i]);
                prop_assert_eq!(*pos as usize, i);
            }
        }
    }

    // SplitMix64: a shuffle that needs no extra dependency.
    fn fastrand_like(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }
}

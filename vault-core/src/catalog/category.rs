//! Categories: the nine core business systems that organise the catalog.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::ids::CategoryId;
use crate::value::slug::Slug;
use crate::value::status::WorkflowStatus;
use crate::value::validation::{ValidationError, check_text};

/// A category of workflows. `workflow_count` (published workflows) and
/// `total_downloads` are maintained by the store in the same write as the
/// change that moves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// URL slug, unique.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// What the system covers.
    pub description: String,
    /// An emoji or icon name.
    pub icon: String,
    /// A display color name or hex code.
    pub color: String,
    /// Position in listings, ascending.
    pub order_index: i32,
    /// Inactive categories are hidden from non-admins.
    pub is_active: bool,
    /// Published workflows in this category (maintained).
    pub workflow_count: u64,
    /// Downloads of this category's workflows (maintained).
    pub total_downloads: u64,
    /// App-defined extra data (the seed's `metadata`).
    pub metadata: serde_json::Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change time (maintained).
    pub updated_at: DateTime<Utc>,
}

/// What an admin provides to create a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCategory {
    /// URL slug.
    pub slug: Slug,
    /// Display name, 1-100 characters.
    pub name: String,
    /// Up to 2000 characters.
    pub description: String,
    /// Up to 32 characters.
    pub icon: String,
    /// Up to 32 characters.
    pub color: String,
    /// Position in listings.
    pub order_index: i32,
}

impl NewCategory {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("name", &self.name, true, 100)?;
        check_text("description", &self.description, false, 2000)?;
        check_text("icon", &self.icon, false, 32)?;
        check_text("color", &self.color, false, 32)?;
        Ok(())
    }

    /// Builds the stored category with zeroed counters.
    pub fn build(self, id: CategoryId, now: DateTime<Utc>) -> Result<Category, ValidationError> {
        self.validate()?;
        Ok(Category {
            id,
            slug: self.slug,
            name: self.name,
            description: self.description,
            icon: self.icon,
            color: self.color,
            order_index: self.order_index,
            is_active: true,
            workflow_count: 0,
            total_downloads: 0,
            metadata: serde_json::Value::Object(Default::default()),
            created_at: now,
            updated_at: now,
        })
    }
}

/// The seed's nine business systems, in order: (slug, name, icon, color, description).
pub const CORE_SYSTEMS: [(&str, &str, &str, &str, &str); 9] = [
    (
        "client-acquisition",
        "Client Acquisition System",
        "🎯",
        "blue",
        "Attract and capture leads, qualify them and book calls.",
    ),
    (
        "client-onboarding",
        "Client Onboarding System",
        "🚀",
        "green",
        "Welcome new clients: contracts, intake forms, kickoff.",
    ),
    (
        "project-delivery",
        "Project Delivery System",
        "⚡",
        "orange",
        "Plan, track and deliver client work on time.",
    ),
    (
        "client-communication",
        "Client Communication System",
        "💬",
        "purple",
        "Keep clients informed with updates, reminders and reports.",
    ),
    (
        "invoicing-payment",
        "Invoicing & Payment System",
        "💰",
        "cyan",
        "Invoice, collect, reconcile and chase payments.",
    ),
    (
        "content-marketing",
        "Content Marketing System",
        "📢",
        "pink",
        "Create, schedule and repurpose content across channels.",
    ),
    (
        "analytics-reporting",
        "Analytics & Reporting System",
        "📊",
        "teal",
        "Collect metrics and turn them into dashboards and reports.",
    ),
    (
        "operations-admin",
        "Operations & Admin System",
        "⚙️",
        "indigo",
        "Automate the back office: files, HR, tools and admin.",
    ),
    (
        "growth-scaling",
        "Growth & Scaling System",
        "📈",
        "red",
        "Systemise, delegate and scale the business.",
    ),
];

/// The nine seed categories as [`NewCategory`] values, ready to create.
pub fn core_systems() -> Vec<NewCategory> {
    CORE_SYSTEMS
        .iter()
        .enumerate()
        .filter_map(|(i, (slug, name, icon, color, description))| {
            Some(NewCategory {
                slug: Slug::parse(slug).ok()?,
                name: (*name).to_owned(),
                description: (*description).to_owned(),
                icon: (*icon).to_owned(),
                color: (*color).to_owned(),
                order_index: i32::try_from(i).ok()? + 1,
            })
        })
        .collect()
}

/// The category whose `workflow_count` includes a workflow in `status`
/// filed under `category`, `deleted` or not: a category counts its
/// published workflows that are not deleted (a deleted workflow is hidden
/// from the catalog, so a count of it would promise what a visitor cannot
/// find; restoring it counts it again).
pub fn counted_in(
    status: WorkflowStatus,
    deleted: bool,
    category: CategoryId,
) -> Option<CategoryId> {
    (status == WorkflowStatus::Published && !deleted).then_some(category)
}

/// How a workflow moving from being counted in `before` to being counted in
/// `after` ([`counted_in`] of its stored and its new state; `None` for an
/// insert or a workflow not counted) moves its categories' `workflow_count`:
/// -1 and +1, in category id order (so writers lock rows in one order), none
/// when nothing moves. Every store applies these in the write that moves the
/// workflow.
pub fn count_moves(
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> Vec<(CategoryId, i64)> {
    if before == after {
        return Vec::new();
    }
    let mut moves: Vec<(CategoryId, i64)> = before
        .map(|c| (c, -1))
        .into_iter()
        .chain(after.map(|c| (c, 1)))
        .collect();
    moves.sort_by_key(|(id, _)| *id);
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_core_systems_are_valid() {
        let systems = core_systems();
        assert_eq!(systems.len(), 9);
        for s in &systems {
            s.validate().expect("seed category is valid");
        }
        assert_eq!(systems[8].order_index, 9);
    }

    #[test]
    fn category_fields_are_checked() {
        let mut c = core_systems().remove(0);
        c.name = " ".into();
        assert_eq!(c.validate().expect_err("blank").field(), "name");
        let mut c = core_systems().remove(0);
        c.icon = "x".repeat(33);
        assert_eq!(c.validate().expect_err("long").field(), "icon");
    }

    proptest::proptest! {
        /// Applying the moves of any sequence of states to zeroed counts
        /// leaves exactly one count, in the category the last state counts
        /// in (none when it is not published), and never a negative one.
        #[test]
        fn moves_keep_counts_exact(
            states in proptest::collection::vec((proptest::sample::select(WorkflowStatus::ALL.to_vec()), proptest::bool::ANY, 0u128..3), 1..12)
        ) {
            let mut counts = std::collections::BTreeMap::<CategoryId, i64>::new();
            let mut before = None;
            for (status, deleted, cat) in states {
                let after = counted_in(status, deleted, CategoryId::from_uuid(uuid::Uuid::from_u128(cat)));
                let moves = count_moves(before, after);
                proptest::prop_assert!(moves.windows(2).all(|w| w[0].0 < w[1].0), "in id order");
                for (c, d) in moves {
                    *counts.entry(c).or_default() += d;
                }
                proptest::prop_assert!(counts.values().all(|v| *v >= 0));
                before = after;
            }
            let total: i64 = counts.values().sum();
            proptest::prop_assert_eq!(total, i64::from(before.is_some()));
            if let Some(c) = before {
                proptest::prop_assert_eq!(counts.get(&c).copied(), Some(1));
            }
        }
    }

    #[test]
    fn a_category_counts_only_its_published_workflows() {
        let c = CategoryId::from_uuid(uuid::Uuid::from_u128(7));
        assert_eq!(counted_in(WorkflowStatus::Published, false, c), Some(c));
        for status in [
            WorkflowStatus::Draft,
            WorkflowStatus::ComingSoon,
            WorkflowStatus::Archived,
        ] {
            assert_eq!(counted_in(status, false, c), None, "{status:?}");
        }
    }

    #[test]
    fn a_deleted_workflow_is_not_counted_and_a_restored_one_is_again() {
        let c = CategoryId::from_uuid(uuid::Uuid::from_u128(7));
        for status in WorkflowStatus::ALL.iter().copied() {
            assert_eq!(counted_in(status, true, c), None, "{status:?}");
        }
        let live = counted_in(WorkflowStatus::Published, false, c);
        let deleted = counted_in(WorkflowStatus::Published, true, c);
        assert_eq!(count_moves(live, deleted), vec![(c, -1)]);
        assert_eq!(count_moves(deleted, live), vec![(c, 1)]);
    }
}

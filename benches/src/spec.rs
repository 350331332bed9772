//! The data set, as plain deterministic functions of an index, so the memory
//! and SQLite loaders load the same rows.
//!
//! * Workflow `i`: slug `wf-{i}`, a title of three words from [`WORDS`]
//!   (so text search matches a few percent of the catalog), category
//!   `i % 9`, tier basic/pro/premium by `i % 3`, a price, a download count
//!   and a W.E.D.G.E. score spread over their ranges, published `i` minutes
//!   before the epoch; one primary file and one update (1.0.0).
//! * User `u` (`user-{u}`) owns [`PURCHASES_PER_USER`] completed purchases:
//!   purchase `n = u * 10 + k` buys workflow `(u + k * W / 10) % W`, with a
//!   limit of 5 downloads, except the bench targets (below).
//! * One user in ten (`u % 10 == 5`) has an active pro membership.
//! * Download `d` was made through purchase `4 * d`.
//! * **Targets:** users `0..TARGETS` download workflow `u` through purchase
//!   `10 * u`, whose limit is [`TARGET_LIMIT`] so no bench runs into it.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vault_core::value::ids::{DownloadId, FileId, MembershipId, PurchaseId, UpdateId, WorkflowId};
use vault_core::value::tier::PricingTier;

use crate::scale::{PURCHASES_PER_USER, Scale};

/// Words titles are made of; [`SEARCH`] uses two of them.
pub const WORDS: [&str; 16] = [
    "invoice",
    "crm",
    "lead",
    "email",
    "slack",
    "report",
    "sync",
    "onboarding",
    "payroll",
    "inventory",
    "ticket",
    "calendar",
    "social",
    "budget",
    "survey",
    "contract",
];

/// The text searched for: two common words (both in ~3% of the titles).
pub const SEARCH: &str = "invoice sync";

/// A rare text: the prefix of a title's number, so one workflow at 1k and
/// 111 at 100k (777, 7770-7779, 77700-77799), none of them new.
pub const SEARCH_RARE: &str = "777";

/// Users with a purchase the benches download through.
pub const TARGETS: usize = 16;

/// The download limit of the targets' purchases: never reached.
pub const TARGET_LIMIT: u32 = 1_000_000_000;

/// The limit of every other bulk purchase.
pub const BULK_LIMIT: u32 = 5;

// Ids: a fixed prefix, the kind, then the index, so no two collide and none
// collides with the random ids the vault mints.
fn uid(kind: u8, n: usize) -> Uuid {
    Uuid::from_u128((0xbe0c_u128 << 112) | (u128::from(kind) << 96) | n as u128)
}

/// Workflow `i`.
pub fn workflow_id(i: usize) -> WorkflowId {
    WorkflowId::from_uuid(uid(1, i))
}

/// The primary file of workflow `i`.
pub fn file_id(i: usize) -> FileId {
    FileId::from_uuid(uid(2, i))
}

/// The update of workflow `i`.
pub fn update_id(i: usize) -> UpdateId {
    UpdateId::from_uuid(uid(3, i))
}

/// Purchase `n`.
pub fn purchase_id(n: usize) -> PurchaseId {
    PurchaseId::from_uuid(uid(4, n))
}

/// Membership of user `u`.
pub fn membership_id(u: usize) -> MembershipId {
    MembershipId::from_uuid(uid(5, u))
}

/// Download `d`.
pub fn download_id(d: usize) -> DownloadId {
    DownloadId::from_uuid(uid(6, d))
}

/// User `u`'s id.
pub fn user(u: usize) -> String {
    format!("user-{u}")
}

/// The slug of workflow `i`.
pub fn slug(i: usize) -> String {
    format!("wf-{i}")
}

/// The word of workflow `i` used as its second tag.
pub fn word(i: usize) -> &'static str {
    WORDS[i % WORDS.len()]
}

/// The title of workflow `i`.
pub fn title(i: usize) -> String {
    format!(
        "{} {} {} automation {i}",
        WORDS[i % 16],
        WORDS[(i / 16) % 16],
        WORDS[(i / 256) % 16]
    )
}

/// The short description of workflow `i`.
pub fn short_description(i: usize) -> String {
    format!("Automates {} for small teams", WORDS[(i * 7) % 16])
}

/// The tags of workflow `i`.
pub fn tags(i: usize) -> [&'static str; 2] {
    ["automation", word(i)]
}

/// The category (index into the nine core categories) of workflow `i`.
pub fn category(i: usize) -> usize {
    i % 9
}

/// The tier of workflow `i`.
pub fn tier(i: usize) -> PricingTier {
    match i % 3 {
        0 => PricingTier::Basic,
        1 => PricingTier::Pro,
        _ => PricingTier::Premium,
    }
}

/// The price of workflow `i` in USD cents.
pub fn price_cents(i: usize) -> i64 {
    900 + (i % 40) as i64 * 100
}

/// The download count workflow `i` starts with.
pub fn downloads(i: usize) -> u64 {
    ((i * 7919) % 10_007) as u64
}

/// The W.E.D.G.E. score of workflow `i`, in tenths (1.0 to 9.9).
pub fn score_x10(i: usize) -> i64 {
    10 + ((i * 37) % 90) as i64
}

/// When workflow `i` was published.
pub fn published_at(epoch: DateTime<Utc>, i: usize) -> DateTime<Utc> {
    epoch - Duration::minutes(i as i64 + 1)
}

/// The workflow purchase `n` buys, for a catalog of `scale.workflows`.
pub fn purchased_workflow(scale: &Scale, n: usize) -> usize {
    let (u, k) = (n / PURCHASES_PER_USER, n % PURCHASES_PER_USER);
    (u + k * (scale.workflows / PURCHASES_PER_USER)) % scale.workflows
}

/// The buyer of purchase `n`.
pub fn buyer(n: usize) -> usize {
    n / PURCHASES_PER_USER
}

/// The download limit of purchase `n`.
pub fn purchase_limit(n: usize) -> u32 {
    if n.is_multiple_of(PURCHASES_PER_USER) && buyer(n) < TARGETS {
        TARGET_LIMIT
    } else {
        BULK_LIMIT
    }
}

/// When purchase `n` was made (and completed).
pub fn purchased_at(epoch: DateTime<Utc>, n: usize) -> DateTime<Utc> {
    epoch - Duration::seconds(n as i64 + 1)
}

/// The users with a membership.
pub fn members(scale: &Scale) -> impl Iterator<Item = usize> + use<> {
    (5..scale.users()).step_by(10)
}

/// The purchase download `d` went through.
pub fn downloaded_purchase(d: usize) -> usize {
    4 * d
}

//! Bulk loading of the [`spec`](crate::spec) data set, never through the
//! service.
//!
//! Both loaders start from [`Templates`]: one row of each kind written
//! through the vault (so every encoded column is exactly what the store
//! writes), then copied with the varying columns replaced.
//! * SQLite: raw `INSERT ... SELECT` from the template rows, prepared once,
//!   in one `BEGIN IMMEDIATE` transaction on a plain rusqlite connection.
//! * Memory: the store's own insert methods (there is no SQL), with one
//!   difference: bulk purchases carry no payment reference, because the
//!   memory store checks a reference's uniqueness by scanning every purchase
//!   (documented: it is not meant for millions of rows), which would make
//!   loading 1M purchases quadratic.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use vault_core::SeededEntropy;
use vault_core::actor::UserId;
use vault_core::analytics::AnalyticsDelta;
use vault_core::category::Category;
use vault_core::download::{Download, DownloadSource};
use vault_core::file::WorkflowFile;
use vault_core::license::{LicenseKey, Quota};
use vault_core::membership::Membership;
use vault_core::money::{Currency, Money};
use vault_core::purchase::{PaymentRef, Purchase, PurchaseItem};
use vault_core::slug::Slug;
use vault_core::store::{Charge, Store};
use vault_core::update::WorkflowUpdate;
use vault_core::wedge::Score;
use vault_core::workflow::{Workflow, parse_tags};

use crate::scale::Scale;
use crate::spec;

/// One record of each kind, written through the vault.
#[derive(Debug, Clone)]
pub struct Templates {
    /// A published pro workflow.
    pub workflow: Workflow,
    /// Its primary file.
    pub file: WorkflowFile,
    /// Its 1.0.0 update.
    pub update: WorkflowUpdate,
    /// A completed purchase of it.
    pub purchase: Purchase,
    /// A pending purchase of it.
    pub pending: Purchase,
    /// An active pro membership.
    pub membership: Membership,
    /// A download through `purchase`.
    pub download: Download,
}

/// The store's timestamp encoding (`vault-store-sqlite`'s codec).
pub fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The license key of bulk purchase `n` (deterministic, distinct).
fn license_keys() -> SeededEntropy {
    SeededEntropy::new(0xb0_1c)
}

/// Elapsed-time logging for the slow part of a bench's setup.
fn note(what: &str, started: std::time::Instant) {
    eprintln!("  loaded {what} in {:.1?}", started.elapsed());
}

/// Loads the data set into a SQLite database (already migrated, holding the
/// templates) with raw SQL in one transaction.
pub fn sqlite(
    path: &Path,
    scale: &Scale,
    t: &Templates,
    categories: &[Category],
    epoch: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut workflow = tx.prepare(
            "INSERT INTO workflows (id, slug, title, short_description, description, category_id, \
             wedge_score_x10, workflow_complexity, efficiency_x10, digital_maturity, growth_potential, \
             excellence_tier, pricing_tier, price_minor, currency, media, features, requirements, \
             includes, tags, seo, update_months, download_limit, status, current_version, \
             download_count, favorite_count, view_count, purchase_count, created_at, updated_at, \
             published_at, archived_at, revision) \
             SELECT ?1, ?2, ?3, ?4, description, ?5, ?6, workflow_complexity, efficiency_x10, \
             digital_maturity, growth_potential, excellence_tier, ?7, ?8, currency, media, features, \
             requirements, includes, ?9, seo, update_months, download_limit, status, current_version, \
             ?10, 0, 0, 0, ?11, ?11, ?11, NULL, revision FROM workflows WHERE id = ?12",
        )?;
        let mut tag = tx.prepare("INSERT INTO workflow_tags (workflow_id, tag) VALUES (?1, ?2)")?;
        let mut fts = tx.prepare(
            "INSERT INTO workflows_fts (rowid, title, short_description, description, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut file = tx.prepare(
            "INSERT INTO workflow_files (id, workflow_id, file_type, file_name, storage_key, \
             mime_type, version, version_major, version_minor, version_patch, is_primary, access, \
             size_bytes, checksum, download_count, created_at, updated_at) \
             SELECT ?1, ?2, file_type, file_name, ?3, mime_type, version, version_major, \
             version_minor, version_patch, is_primary, access, size_bytes, checksum, 0, created_at, \
             updated_at FROM workflow_files WHERE id = ?4",
        )?;
        let mut update = tx.prepare(
            "INSERT INTO workflow_updates (id, workflow_id, version, version_major, version_minor, \
             version_patch, changelog, files_added, files_modified, files_removed, release_notes, \
             is_major, released_at) \
             SELECT ?1, ?2, version, version_major, version_minor, version_patch, changelog, \
             files_added, files_modified, files_removed, release_notes, is_major, released_at \
             FROM workflow_updates WHERE id = ?3",
        )?;
        let (tw, tf, tu) = (
            t.workflow.id.to_string(),
            t.file.id.to_string(),
            t.update.id.to_string(),
        );
        for i in 0..scale.workflows {
            let id = spec::workflow_id(i).to_string();
            let tags = spec::tags(i);
            let (title, short) = (spec::title(i), spec::short_description(i));
            workflow.execute(params![
                id,
                spec::slug(i),
                title,
                short,
                categories[spec::category(i)].id.to_string(),
                spec::score_x10(i),
                spec::tier(i).as_str(),
                spec::price_cents(i),
                serde_json::to_string(&tags).expect("tags"),
                spec::downloads(i) as i64,
                ts(&spec::published_at(epoch, i)),
                tw,
            ])?;
            let rowid = tx.last_insert_rowid();
            for tg in tags {
                tag.execute(params![id, tg])?;
            }
            fts.execute(params![
                rowid,
                title,
                short,
                t.workflow.content.description,
                tags.join(" ")
            ])?;
            file.execute(params![
                spec::file_id(i).to_string(),
                id,
                format!("files/{id}/1.0.0.json"),
                tf
            ])?;
            update.execute(params![spec::update_id(i).to_string(), id, tu])?;
        }
        tx.execute(
            "UPDATE workflow_categories SET workflow_count = \
             (SELECT COUNT(*) FROM workflows w WHERE w.category_id = workflow_categories.id \
              AND w.status = 'published')",
            [],
        )?;
        note(&format!("{} workflows", scale.workflows), started);

        let mut purchase = tx.prepare(
            "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, bundle_id, \
             membership_id, item_workflows, license_type, license_key, download_limit, \
             downloads_used, license_expires_at, update_months, updates_until, payment_status, \
             currency, amount_minor, tax_minor, total_minor, refunded_minor, refund_reason, \
             refunded_at, payment_ref, stripe_customer_id, stripe_checkout_session_id, \
             stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, created_at, \
             completed_at, disputed_at, updated_at) \
             SELECT ?1, ?2, purchase_type, ?3, NULL, NULL, ?4, license_type, ?5, ?6, 0, \
             license_expires_at, update_months, updates_until, payment_status, currency, \
             amount_minor, tax_minor, total_minor, NULL, NULL, NULL, ?7, NULL, NULL, NULL, NULL, \
             NULL, ?8, ?8, NULL, ?8 FROM workflow_purchases WHERE id = ?9",
        )?;
        let mut item = tx.prepare(
            "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
             VALUES (?1, ?2, 0)",
        )?;
        let keys = license_keys();
        let tp = t.purchase.id.to_string();
        for n in 0..scale.purchases {
            let id = spec::purchase_id(n).to_string();
            let wf = spec::workflow_id(spec::purchased_workflow(scale, n)).to_string();
            let at = ts(&spec::purchased_at(epoch, n));
            purchase.execute(params![
                id,
                spec::user(spec::buyer(n)),
                wf,
                format!("[\"{wf}\"]"),
                LicenseKey::generate(&keys).as_str(),
                spec::purchase_limit(n),
                format!("pi_bulk_{n}"),
                at,
                tp,
            ])?;
            item.execute(params![id, wf])?;
        }
        note(&format!("{} purchases", scale.purchases), started);

        let mut membership = tx.prepare(
            "INSERT INTO memberships (id, user_id, tier, status, trial_ends_at, \
             current_period_start, current_period_end, period_download_limit, \
             period_downloads_used, cancel_at_period_end, past_due_since, canceled_at, ended_at, \
             features, enrolled_at, stripe_customer_id, stripe_subscription_id, stripe_price_id, \
             created_at, updated_at, revision) \
             SELECT ?1, ?2, tier, status, trial_ends_at, current_period_start, current_period_end, \
             period_download_limit, 0, cancel_at_period_end, past_due_since, canceled_at, ended_at, \
             features, enrolled_at, NULL, NULL, NULL, created_at, updated_at, revision \
             FROM memberships WHERE id = ?3",
        )?;
        let tm = t.membership.id.to_string();
        for u in spec::members(scale) {
            membership.execute(params![
                spec::membership_id(u).to_string(),
                spec::user(u),
                tm
            ])?;
        }

        let mut download = tx.prepare(
            "INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
             download_type, source, purchase_id, membership_id, ip_hash, user_agent, referrer, \
             country_code, downloaded_at) \
             SELECT ?1, ?2, ?3, ?4, file_version, download_type, source, ?5, NULL, ip_hash, \
             user_agent, referrer, country_code, ?6 FROM workflow_downloads WHERE id = ?7",
        )?;
        let td = t.download.id.to_string();
        for d in 0..scale.downloads() {
            let n = spec::downloaded_purchase(d);
            let w = spec::purchased_workflow(scale, n);
            download.execute(params![
                spec::download_id(d).to_string(),
                spec::user(spec::buyer(n)),
                spec::workflow_id(w).to_string(),
                spec::file_id(w).to_string(),
                spec::purchase_id(n).to_string(),
                ts(&spec::purchased_at(epoch, n)),
                td,
            ])?;
        }
    }
    tx.commit()?;
    note("everything (sqlite, one transaction)", started);
    // Checkpoint so the benches start from a compact database file rather
    // than a WAL holding the whole load.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Loads the data set into a memory store through its insert methods.
pub async fn memory(
    store: &Arc<dyn Store>,
    scale: &Scale,
    t: &Templates,
    categories: &[Category],
    epoch: DateTime<Utc>,
) -> vault_core::store::StoreResult<()> {
    let started = std::time::Instant::now();
    for i in 0..scale.workflows {
        let mut w = t.workflow.clone();
        let c = &mut w.content;
        w.id = spec::workflow_id(i);
        c.slug = Slug::parse(&spec::slug(i)).expect("slug");
        c.title = spec::title(i);
        c.short_description = spec::short_description(i);
        c.category_id = categories[spec::category(i)].id;
        c.wedge.score =
            Score::new("wedge_score", Decimal::new(spec::score_x10(i), 1)).expect("score");
        c.pricing_tier = spec::tier(i);
        c.price = Some(Money::from_minor(spec::price_cents(i), Currency::USD));
        c.tags = parse_tags(&spec::tags(i)).expect("tags");
        w.stats.download_count = spec::downloads(i);
        let at = spec::published_at(epoch, i);
        (w.created_at, w.updated_at, w.published_at) = (at, at, Some(at));
        store.insert_workflow(&w).await?;
        let mut f = t.file.clone();
        f.id = spec::file_id(i);
        f.workflow_id = w.id;
        f.storage_key = format!("files/{}/1.0.0.json", w.id);
        f.download_count = 0;
        store.insert_file(&f).await?;
        let mut u = t.update.clone();
        u.id = spec::update_id(i);
        u.workflow_id = w.id;
        store.insert_update(&u).await?;
    }
    note(&format!("{} workflows", scale.workflows), started);
    let keys = license_keys();
    for n in 0..scale.purchases {
        let mut p = t.purchase.clone();
        p.id = spec::purchase_id(n);
        p.user_id = UserId::parse(&spec::user(spec::buyer(n))).expect("user");
        p.item = PurchaseItem::Workflow {
            workflow_id: spec::workflow_id(spec::purchased_workflow(scale, n)),
        };
        p.license_key = LicenseKey::generate(&keys);
        p.quota = Quota {
            used: 0,
            limit: Some(spec::purchase_limit(n)),
        };
        // See the module docs: no reference, or loading is quadratic.
        p.payment_ref = None::<PaymentRef>;
        let at = spec::purchased_at(epoch, n);
        (p.created_at, p.completed_at, p.updated_at) = (at, Some(at), at);
        store.insert_purchase(&p).await?;
    }
    note(&format!("{} purchases", scale.purchases), started);
    for u in spec::members(scale) {
        let mut m = t.membership.clone();
        m.id = spec::membership_id(u);
        m.user_id = UserId::parse(&spec::user(u)).expect("user");
        m.provider = Default::default();
        store.insert_membership(&m).await?;
    }
    for d in 0..scale.downloads() {
        let n = spec::downloaded_purchase(d);
        let w = spec::purchased_workflow(scale, n);
        let mut dl = t.download.clone();
        dl.id = spec::download_id(d);
        dl.user_id = Some(UserId::parse(&spec::user(spec::buyer(n))).expect("user"));
        dl.workflow_id = spec::workflow_id(w);
        dl.file_id = spec::file_id(w);
        dl.source = DownloadSource::Purchase(spec::purchase_id(n));
        dl.downloaded_at = spec::purchased_at(epoch, n);
        // Recorded uncharged (the quota is the purchase's counter, loaded
        // at 0) and without analytics: only the row matters here.
        let mut none = AnalyticsDelta::none(dl.workflow_id, epoch);
        none.downloads = 0;
        store.record_download(&dl, &Charge::Nothing, &none).await?;
    }
    note("everything (memory)", started);
    Ok(())
}

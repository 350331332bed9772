//! Bulk loading of the [`crate::spec`] data set, never through the
//! service.
//!
//! Both loaders start from [`Templates`]: one row of each kind written
//! through the vault (so every encoded column is exactly what the store
//! writes), then copied with the varying columns replaced.
//! * SQLite: raw `INSERT ... SELECT` from the template rows, prepared once,
//!   in one `BEGIN IMMEDIATE` transaction on a plain rusqlite connection.
//! * PostgreSQL: raw `INSERT ... SELECT` from the template rows crossed with
//!   `generate_series` (one statement per table, the varying columns
//!   computed in SQL from the row index exactly as [`spec`] computes them),
//!   all in one transaction on a plain sqlx connection, then
//!   `VACUUM (ANALYZE)` and a `CHECKPOINT`; [`verify_postgres`] reads sample rows back through
//!   the store and compares them with what [`spec`] says.
//! * Memory: the store's own insert methods (there is no SQL). Bulk
//!   purchases carry the same payment references as SQLite's (`pi_bulk_<n>`):
//!   the store checks their uniqueness through an index, so loading stays
//!   linear.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use vault_core::SeededEntropy;
use vault_core::catalog::category::Category;
use vault_core::catalog::file::WorkflowFile;
use vault_core::catalog::query::search_terms;
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::wedge::Score;
use vault_core::catalog::workflow::{Workflow, parse_tags};
use vault_core::commerce::license::{LicenseKey, Quota};
use vault_core::commerce::membership::Membership;
use vault_core::commerce::purchase::{PaymentRef, Purchase, PurchaseItem};
use vault_core::delivery::download::{Download, DownloadSource};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{Charge, Store};
use vault_core::value::actor::UserId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;

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
             published_at, archived_at, revision, search_words) \
             SELECT ?1, ?2, ?3, ?4, description, ?5, ?6, workflow_complexity, efficiency_x10, \
             digital_maturity, growth_potential, excellence_tier, ?7, ?8, currency, media, features, \
             requirements, includes, ?9, seo, update_months, download_limit, status, current_version, \
             ?10, 0, 0, 0, ?11, ?11, ?11, NULL, revision, ?13 FROM workflows WHERE id = ?12",
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
            // The store's search words (its `catalog::search`): the core's
            // words of each field, in the full-text row and, each after a
            // space, in `search_words`.
            let description = &t.workflow.content.description;
            let words = |text: &str| search_terms(text).join(" ");
            let all_words: String = [title.as_str(), short.as_str(), description.as_str()]
                .into_iter()
                .chain(tags)
                .flat_map(search_terms)
                .map(|w| format!(" {w}"))
                .collect();
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
                all_words,
            ])?;
            let rowid = tx.last_insert_rowid();
            for tg in tags {
                tag.execute(params![id, tg])?;
            }
            fts.execute(params![
                rowid,
                words(&title),
                words(&short),
                words(description),
                tags.map(words).join(" ")
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
             membership_id, item_workflows, license_type, license_key_hash, download_limit, \
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
                LicenseKey::generate(&keys).hash().as_str(),
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
        // The store keeps each (workflow, user) pair's first download
        // apart (migration 0019): a copied row adds its pair, as a
        // download through the store would.
        let mut downloader = tx.prepare(
            "INSERT INTO workflow_downloaders (workflow_id, user_id) VALUES (?1, ?2) \
             ON CONFLICT (workflow_id, user_id) DO NOTHING",
        )?;
        let td = t.download.id.to_string();
        for d in 0..scale.downloads() {
            let n = spec::downloaded_purchase(d);
            let w = spec::purchased_workflow(scale, n);
            let (user, workflow) = (spec::user(spec::buyer(n)), spec::workflow_id(w).to_string());
            download.execute(params![
                spec::download_id(d).to_string(),
                user,
                workflow,
                spec::file_id(w).to_string(),
                spec::purchase_id(n).to_string(),
                ts(&spec::purchased_at(epoch, n)),
                td,
            ])?;
            downloader.execute(params![workflow, user])?;
        }
    }
    // Every buyer has an account, so the access read's standing check
    // finds a row, as in an app that keeps accounts.
    {
        let mut account = tx.prepare(
            "INSERT INTO accounts (user_id, email, email_key, display_name, role, created_at, \
             updated_at, revision) VALUES (?1, ?2, ?2, ?1, 'user', ?3, ?3, 0)",
        )?;
        let at = ts(&epoch);
        for u in 0..scale.users() {
            let name = spec::user(u);
            account.execute(params![name, format!("{name}@bench.example"), at])?;
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
        store
            .insert_workflow(&w, &vault_core::testkit::audit())
            .await?;
        let mut f = t.file.clone();
        f.id = spec::file_id(i);
        f.workflow_id = w.id;
        f.storage_key = format!("files/{}/1.0.0.json", w.id);
        f.download_count = 0;
        store.insert_file(&f, &vault_core::testkit::audit()).await?;
        let mut u = t.update.clone();
        u.id = spec::update_id(i);
        u.workflow_id = w.id;
        store
            .insert_update(&u, &vault_core::testkit::audit())
            .await?;
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
        p.license_key_hash = LicenseKey::generate(&keys).hash();
        p.quota = Quota {
            used: 0,
            limit: Some(spec::purchase_limit(n)),
        };
        p.payment_ref = Some(PaymentRef::parse(&format!("pi_bulk_{n}")).expect("ref"));
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
        // One member each: the one-membership rule never refuses these.
        store
            .insert_membership(&m, m.created_at, chrono::Duration::zero())
            .await?;
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
        let mut none = AnalyticsDelta::none(dl.workflow_id, dl.downloaded_at);
        none.downloads = 0;
        store.record_download(&dl, &Charge::Nothing, &none).await?;
    }
    // Every buyer has an account (see the SQLite loader).
    for u in 0..scale.users() {
        let name = spec::user(u);
        let account = vault_core::Account::new(
            UserId::parse(&name).expect("user"),
            vault_core::Email::parse(&format!("{name}@bench.example")).expect("email"),
            vault_core::Profile {
                display_name: name.clone(),
                ..vault_core::Profile::default()
            },
            epoch,
        )
        .expect("account");
        store.insert_account(&account, &[]).await?;
    }
    note("everything (memory)", started);
    Ok(())
}

/// SQL for `spec`'s id of kind `kind` (see `spec::uid`) and index `n` (a
/// bigint SQL expression).
fn uid_sql(kind: u8, n: &str) -> String {
    format!("('be0c000{kind:x}-0000-0000-0000-' || lpad(to_hex({n}), 12, '0'))::uuid")
}

/// SQL for [`spec::purchased_workflow`] of purchase `n` over `$w` workflows.
fn purchased_workflow_sql(n: &str, w: &str) -> String {
    format!(
        "((({n}) / {per} + (({n}) % {per}) * ({w} / {per})) % {w})",
        per = crate::scale::PURCHASES_PER_USER
    )
}

/// The license keys' digests of the bulk purchases, in order.
fn bulk_license_keys(purchases: usize) -> Vec<String> {
    let keys = license_keys();
    (0..purchases)
        .map(|_| String::from(LicenseKey::generate(&keys).hash()))
        .collect()
}

/// Loads the data set into a PostgreSQL database (already migrated,
/// holding the templates): one `INSERT ... SELECT` per table in one
/// transaction on a plain connection, then `VACUUM (ANALYZE)`.
pub async fn postgres(
    options: &sqlx::postgres::PgConnectOptions,
    scale: &Scale,
    t: &Templates,
    categories: &[Category],
    epoch: DateTime<Utc>,
) -> sqlx::Result<()> {
    use sqlx::{AssertSqlSafe, Connection};
    let started = std::time::Instant::now();
    let mut conn = sqlx::PgConnection::connect_with(options).await?;
    let mut tx = conn.begin().await?;
    let workflows = scale.workflows as i64;
    let cats: Vec<uuid::Uuid> = categories.iter().map(|c| c.id.as_uuid()).collect();
    let description_terms =
        vault_core::catalog::query::search_terms(&t.workflow.content.description);
    let (w_id, i_id) = (uid_sql(1, "i"), "i");
    let workflow_sql = format!(
        "INSERT INTO workflows (id, slug, title, short_description, description, category_id, \
         wedge_score, workflow_complexity, efficiency_rating, digital_maturity, growth_potential, \
         excellence_tier, pricing_tier, price, currency, media, features, requirements, includes, \
         tags, seo, search_vector, update_months, download_limit, status, current_version, \
         favorite_count, view_count, purchase_count, created_at, updated_at, \
         published_at, archived_at, revision) \
         SELECT {w_id}, 'wf-' || {i_id}, w1 || ' ' || w2 || ' ' || w3 || ' automation ' || i, \
         'Automates ' || w7 || ' for small teams', t.description, ($3::uuid[])[i % 9 + 1], \
         (10 + (i * 37) % 90)::numeric / 10, t.workflow_complexity, t.efficiency_rating, \
         t.digital_maturity, t.growth_potential, t.excellence_tier, \
         (ARRAY['basic', 'pro', 'premium'])[i % 3 + 1], (900 + (i % 40) * 100) * 0.01, \
         t.currency, t.media, t.features, t.requirements, t.includes, ARRAY['automation', w1], \
         t.seo, array_to_tsvector(ARRAY[w1, w2, w3, 'automation', i::text, 'automates', w7, \
         'for', 'small', 'teams', 'automation', w1] || $6::text[]), t.update_months, \
         t.download_limit, t.status, t.current_version, 0, 0, 0, \
         at, at, at, NULL, t.revision \
         FROM (SELECT i, ($2::text[])[i % 16 + 1] AS w1, ($2::text[])[(i / 16) % 16 + 1] AS w2, \
               ($2::text[])[(i / 256) % 16 + 1] AS w3, ($2::text[])[(i * 7) % 16 + 1] AS w7, \
               $4::timestamptz - make_interval(mins => (i + 1)::int) AS at \
               FROM generate_series(0::bigint, $1 - 1) AS g(i)) g, \
         (SELECT * FROM workflows WHERE id = $5) t"
    );
    sqlx::query(AssertSqlSafe(workflow_sql))
        .bind(workflows)
        .bind(spec::WORDS.to_vec())
        .bind(&cats)
        .bind(epoch)
        .bind(t.workflow.id.as_uuid())
        .bind(&description_terms)
        .execute(&mut *tx)
        .await?;
    // The insert's trigger gave each workflow its download-count row at 0;
    // `spec::downloads` sets the count.
    let counts_sql = format!(
        "UPDATE workflow_download_counts SET download_count = (i * 7919) % 10007 \
         FROM generate_series(0::bigint, $1 - 1) AS g(i) WHERE workflow_id = {w_id}"
    );
    sqlx::query(AssertSqlSafe(counts_sql))
        .bind(workflows)
        .execute(&mut *tx)
        .await?;
    let file_sql = format!(
        "INSERT INTO workflow_files (id, workflow_id, file_type, file_name, storage_key, \
         mime_type, version, version_major, version_minor, version_patch, is_primary, access, \
         size_bytes, checksum, created_at, updated_at) \
         SELECT {f_id}, {w_id}, f.file_type, f.file_name, 'files/' || {w_id} || '/1.0.0.json', \
         f.mime_type, f.version, f.version_major, f.version_minor, f.version_patch, f.is_primary, \
         f.access, f.size_bytes, f.checksum, f.created_at, f.updated_at \
         FROM generate_series(0::bigint, $1 - 1) AS g(i), \
         (SELECT * FROM workflow_files WHERE id = $2) f",
        f_id = uid_sql(2, "i"),
    );
    sqlx::query(AssertSqlSafe(file_sql))
        .bind(workflows)
        .bind(t.file.id.as_uuid())
        .execute(&mut *tx)
        .await?;
    let update_sql = format!(
        "INSERT INTO workflow_updates (id, workflow_id, version, version_major, version_minor, \
         version_patch, changelog, files_added, files_modified, files_removed, release_notes, \
         is_major, released_at) \
         SELECT {u_id}, {w_id}, u.version, u.version_major, u.version_minor, u.version_patch, \
         u.changelog, u.files_added, u.files_modified, u.files_removed, u.release_notes, \
         u.is_major, u.released_at \
         FROM generate_series(0::bigint, $1 - 1) AS g(i), \
         (SELECT * FROM workflow_updates WHERE id = $2) u",
        u_id = uid_sql(3, "i"),
    );
    sqlx::query(AssertSqlSafe(update_sql))
        .bind(workflows)
        .bind(t.update.id.as_uuid())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE workflow_categories c SET workflow_count = (SELECT count(*) FROM workflows w \
         WHERE w.category_id = c.id AND w.status = 'published')",
    )
    .execute(&mut *tx)
    .await?;
    note(&format!("{} workflows", scale.workflows), started);

    let keys = bulk_license_keys(scale.purchases);
    let purchase_sql = format!(
        "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, bundle_id, \
         membership_id, item_workflows, license_type, license_key_hash, download_limit, \
         license_expires_at, update_months, updates_until, payment_status, \
         currency, amount, tax, total, refunded_amount, refund_reason, refunded_at, payment_ref, \
         stripe_customer_id, stripe_checkout_session_id, stripe_payment_intent_id, \
         stripe_subscription_id, stripe_price_id, created_at, completed_at, disputed_at, \
         updated_at) \
         SELECT {p_id}, 'user-' || (n / {per}), p.purchase_type, g.wf, NULL, NULL, ARRAY[g.wf], \
         p.license_type, g.key, \
         CASE WHEN n % {per} = 0 AND n / {per} < {targets} THEN {target_limit} ELSE {bulk_limit} END, \
         p.license_expires_at, p.update_months, p.updates_until, p.payment_status, \
         p.currency, p.amount, p.tax, p.total, NULL, NULL, NULL, 'pi_bulk_' || n, \
         NULL, NULL, NULL, NULL, NULL, g.at, g.at, NULL, g.at \
         FROM (SELECT k.ord - 1 AS n, k.key, {wf} AS wf, \
               $3::timestamptz - make_interval(secs => k.ord::double precision) AS at \
               FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord)) g, \
         (SELECT * FROM workflow_purchases WHERE id = $4) p",
        p_id = uid_sql(4, "n"),
        per = crate::scale::PURCHASES_PER_USER,
        targets = spec::TARGETS,
        target_limit = spec::TARGET_LIMIT,
        bulk_limit = spec::BULK_LIMIT,
        wf = uid_sql(1, &purchased_workflow_sql("k.ord - 1", "$2::bigint")),
    );
    sqlx::query(AssertSqlSafe(purchase_sql))
        .bind(&keys)
        .bind(workflows)
        .bind(epoch)
        .bind(t.purchase.id.as_uuid())
        .execute(&mut *tx)
        .await?;
    drop(keys);
    sqlx::query(
        "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
         SELECT id, workflow_id, 0 FROM workflow_purchases WHERE starts_with(payment_ref, 'pi_bulk_')",
    )
    .execute(&mut *tx)
    .await?;
    note(&format!("{} purchases", scale.purchases), started);

    let membership_sql = format!(
        "INSERT INTO memberships (id, user_id, tier, status, trial_ends_at, current_period_start, \
         current_period_end, period_download_limit, period_downloads_used, cancel_at_period_end, \
         past_due_since, canceled_at, ended_at, features, enrolled_at, stripe_customer_id, \
         stripe_subscription_id, stripe_price_id, created_at, updated_at, revision) \
         SELECT {m_id}, 'user-' || u, m.tier, m.status, m.trial_ends_at, m.current_period_start, \
         m.current_period_end, m.period_download_limit, 0, m.cancel_at_period_end, \
         m.past_due_since, m.canceled_at, m.ended_at, m.features, m.enrolled_at, NULL, NULL, NULL, \
         m.created_at, m.updated_at, m.revision \
         FROM generate_series(5::bigint, $1 - 1, 10) AS g(u), \
         (SELECT * FROM memberships WHERE id = $2) m",
        m_id = uid_sql(5, "u"),
    );
    sqlx::query(AssertSqlSafe(membership_sql))
        .bind(scale.users() as i64)
        .bind(t.membership.id.as_uuid())
        .execute(&mut *tx)
        .await?;

    let download_sql = format!(
        "INSERT INTO workflow_downloads (id, user_id, workflow_id, file_id, file_version, \
         download_type, source, purchase_id, membership_id, ip_hash, user_agent, referrer, \
         country_code, downloaded_at) \
         SELECT {d_id}, 'user-' || (n / {per}), {w_of}, {f_of}, t.file_version, t.download_type, \
         t.source, {p_of}, NULL, t.ip_hash, t.user_agent, t.referrer, t.country_code, \
         $3::timestamptz - make_interval(secs => (n + 1)::double precision) \
         FROM (SELECT d, 4 * d AS n, {w} AS w FROM generate_series(0::bigint, $1 - 1) AS g(d)) g, \
         (SELECT * FROM workflow_downloads WHERE id = $4) t",
        d_id = uid_sql(6, "d"),
        per = crate::scale::PURCHASES_PER_USER,
        w_of = uid_sql(1, "w"),
        f_of = uid_sql(2, "w"),
        p_of = uid_sql(4, "n"),
        w = purchased_workflow_sql("4 * d", "$2::bigint"),
    );
    sqlx::query(AssertSqlSafe(download_sql))
        .bind(scale.downloads() as i64)
        .bind(workflows)
        .bind(epoch)
        .bind(t.download.id.as_uuid())
        .execute(&mut *tx)
        .await?;
    // Every buyer has an account (see the SQLite loader).
    sqlx::query(
        "INSERT INTO accounts (user_id, email, email_key, display_name, role, created_at, \
         updated_at, revision) \
         SELECT 'user-' || u, 'user-' || u || '@bench.example', 'user-' || u || '@bench.example', \
         'user-' || u, 'user', $2, $2, 0 FROM generate_series(0::bigint, $1 - 1) AS g(u)",
    )
    .bind(scale.users() as i64)
    .bind(epoch)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    note("everything (postgres, one transaction)", started);
    // Fresh statistics for the planner, and a visibility map and hint bits
    // so the first reads of the benches do not pay for the load's writes.
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
    note("vacuum (analyze)", started);
    // And the load's dirty pages on disk now: otherwise the next checkpoint
    // writes them during whichever benches run first (the vault's side of
    // the first pairs). Needs a superuser or pg_checkpoint; skipped if not.
    if let Err(e) = sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await {
        eprintln!("  no CHECKPOINT after the load ({e}): the first benches may pay for it");
    }
    note("checkpoint", started);
    conn.close().await
}

/// Reads sample rows of the PostgreSQL load back through `store` and
/// checks each equals what [`spec`] describes (panics otherwise): the
/// SQL computing them must agree with `spec`, and every column must decode.
pub async fn verify_postgres(
    store: &Arc<dyn Store>,
    scale: &Scale,
    t: &Templates,
    categories: &[Category],
    epoch: DateTime<Utc>,
) {
    let last = scale.workflows - 1;
    for i in [0, 1, 17, 300, last] {
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
        w.stats = Default::default();
        w.stats.download_count = spec::downloads(i);
        let at = spec::published_at(epoch, i);
        (w.created_at, w.updated_at, w.published_at) = (at, at, Some(at));
        let got = store.workflow(w.id).await.expect("read").expect("workflow");
        assert_eq!(got, w, "bulk workflow {i}");
        let mut f = t.file.clone();
        f.id = spec::file_id(i);
        f.workflow_id = w.id;
        f.storage_key = format!("files/{}/1.0.0.json", w.id);
        f.download_count = 0;
        let got = store.file(f.id).await.expect("read").expect("file");
        assert_eq!(got, f, "bulk file {i}");
        let mut u = t.update.clone();
        u.id = spec::update_id(i);
        u.workflow_id = w.id;
        assert_eq!(
            store.updates(w.id).await.expect("read"),
            vec![u],
            "bulk update {i}"
        );
    }
    let keys = license_keys();
    let mut key = LicenseKey::generate(&keys);
    for n in 0..scale.purchases {
        if n > 0 {
            key = LicenseKey::generate(&keys);
        }
        if ![0, 1, 11, scale.purchases - 1].contains(&n) {
            continue;
        }
        let mut p = t.purchase.clone();
        p.id = spec::purchase_id(n);
        p.user_id = UserId::parse(&spec::user(spec::buyer(n))).expect("user");
        p.item = PurchaseItem::Workflow {
            workflow_id: spec::workflow_id(spec::purchased_workflow(scale, n)),
        };
        p.license_key_hash = key.hash();
        p.quota = Quota {
            used: 0,
            limit: Some(spec::purchase_limit(n)),
        };
        p.payment_ref = Some(PaymentRef::parse(&format!("pi_bulk_{n}")).expect("ref"));
        p.provider = Default::default();
        let at = spec::purchased_at(epoch, n);
        (p.created_at, p.completed_at, p.updated_at) = (at, Some(at), at);
        let got = store.purchase(p.id).await.expect("read").expect("purchase");
        assert_eq!(got, p, "bulk purchase {n}");
    }
    let u = 5;
    let mut m = t.membership.clone();
    m.id = spec::membership_id(u);
    m.user_id = UserId::parse(&spec::user(u)).expect("user");
    m.provider = Default::default();
    m.quota.used = 0;
    let got = store
        .membership(m.id)
        .await
        .expect("read")
        .expect("membership");
    assert_eq!(got, m, "bulk membership of user {u}");
    let d = 3;
    let n = spec::downloaded_purchase(d);
    let w = spec::purchased_workflow(scale, n);
    let mut dl = t.download.clone();
    dl.id = spec::download_id(d);
    dl.user_id = Some(UserId::parse(&spec::user(spec::buyer(n))).expect("user"));
    dl.workflow_id = spec::workflow_id(w);
    dl.file_id = spec::file_id(w);
    dl.source = DownloadSource::Purchase(spec::purchase_id(n));
    dl.downloaded_at = spec::purchased_at(epoch, n);
    let got = store
        .downloads_for_user(dl.user_id.as_ref().expect("user"), 1000)
        .await
        .expect("read");
    assert!(got.contains(&dl), "bulk download {d}: {got:?}");
}

//! What must hold of a database file whatever happened to it, checked with
//! plain rusqlite: SQLite finds it sound, and every counter the store
//! maintains equals what the rows it counts say.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// Row counts after a check, to see that work was done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) downloads: i64,
    pub(crate) favorites: i64,
    pub(crate) reviews: i64,
    pub(crate) approved: i64,
    pub(crate) votes: i64,
    pub(crate) completed_purchases: i64,
    pub(crate) views: i64,
}

pub(crate) fn query_i64(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Runs `sql`, which yields `(key, stored, recomputed)` rows, and records
/// every row where the two disagree.
fn compare(conn: &Connection, what: &str, sql: &str, bad: &mut Vec<String>) {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (key, stored, counted) = row.unwrap();
        if stored != counted {
            bad.push(format!(
                "{what} [{key}]: stored {stored}, rows say {counted}"
            ));
        }
    }
}

/// Opens the file with plain rusqlite (no store code involved) and checks
/// that SQLite finds it sound and that every counter the store maintains
/// equals what the rows it counts say.
pub(crate) fn check_invariants(db: &Path) -> Totals {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();

    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        integrity,
        vec!["ok".to_owned()],
        "integrity_check of {db:?}"
    );
    let fk_violations: i64 = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count() as i64;
    assert_eq!(fk_violations, 0, "foreign_key_check of {db:?}");
    // FTS5's own consistency check (errors out when the index is corrupt).
    conn.execute(
        "INSERT INTO workflows_fts (workflows_fts) VALUES ('integrity-check')",
        [],
    )
    .unwrap();

    let mut bad = Vec::new();
    let b = &mut bad;
    compare(
        &conn,
        "workflow download_count",
        "SELECT w.slug, w.download_count, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.workflow_id = w.id) FROM workflows w",
        b,
    );
    compare(
        &conn,
        "file download_count",
        "SELECT f.file_name || ' of ' || f.workflow_id, f.download_count, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.file_id = f.id) FROM workflow_files f",
        b,
    );
    compare(
        &conn,
        "category total_downloads vs its workflows",
        "SELECT c.slug, c.total_downloads, \
           (SELECT COALESCE(SUM(w.download_count), 0) FROM workflows w WHERE w.category_id = c.id) \
         FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "category total_downloads vs download rows",
        "SELECT c.slug, c.total_downloads, \
           (SELECT COUNT(*) FROM workflow_downloads d JOIN workflows w ON w.id = d.workflow_id \
            WHERE w.category_id = c.id) FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "category workflow_count",
        "SELECT c.slug, c.workflow_count, \
           (SELECT COUNT(*) FROM workflows w WHERE w.category_id = c.id AND w.status = 'published') \
         FROM workflow_categories c",
        b,
    );
    compare(
        &conn,
        "favorite_count",
        "SELECT w.slug, w.favorite_count, \
           (SELECT COUNT(*) FROM workflow_favorites f WHERE f.workflow_id = w.id) FROM workflows w",
        b,
    );
    for star in 1..=5 {
        compare(
            &conn,
            &format!("stars_{star}"),
            &format!(
                "SELECT w.slug, w.stars_{star}, (SELECT COUNT(*) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved' AND r.rating = {star}) \
                 FROM workflows w"
            ),
            b,
        );
    }
    for (dim, col) in [
        ("complexity", "rating_complexity"),
        ("efficiency", "rating_efficiency"),
        ("maturity", "rating_maturity"),
        ("growth", "rating_growth"),
        ("excellence", "rating_excellence"),
    ] {
        compare(
            &conn,
            &format!("dim_{dim}_count"),
            &format!(
                "SELECT w.slug, w.dim_{dim}_count, (SELECT COUNT(r.{col}) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved') FROM workflows w"
            ),
            b,
        );
        compare(
            &conn,
            &format!("dim_{dim}_sum"),
            &format!(
                "SELECT w.slug, w.dim_{dim}_sum, (SELECT COALESCE(SUM(r.{col}), 0) FROM workflow_reviews r \
                   WHERE r.workflow_id = w.id AND r.status = 'approved') FROM workflows w"
            ),
            b,
        );
    }
    for (col, vote) in [
        ("helpful_count", "helpful"),
        ("not_helpful_count", "not_helpful"),
    ] {
        compare(
            &conn,
            col,
            &format!(
                "SELECT r.id, r.{col}, (SELECT COUNT(*) FROM workflow_review_votes v \
                   WHERE v.review_id = r.id AND v.vote = '{vote}') FROM workflow_reviews r"
            ),
            b,
        );
    }
    compare(
        &conn,
        "purchase downloads_used",
        "SELECT p.id, p.downloads_used, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.purchase_id = p.id) \
         FROM workflow_purchases p",
        b,
    );
    compare(
        &conn,
        "purchase downloads_used within its limit",
        "SELECT p.id, MIN(p.downloads_used, p.download_limit), p.downloads_used \
         FROM workflow_purchases p WHERE p.download_limit IS NOT NULL",
        b,
    );
    // No membership here is ever renewed, so its period holds every download.
    compare(
        &conn,
        "membership period_downloads_used",
        "SELECT m.id, m.period_downloads_used, \
           (SELECT COUNT(*) FROM workflow_downloads d WHERE d.membership_id = m.id) \
         FROM memberships m",
        b,
    );
    compare(
        &conn,
        "membership period_downloads_used within its limit",
        "SELECT m.id, MIN(m.period_downloads_used, m.period_download_limit), m.period_downloads_used \
         FROM memberships m WHERE m.period_download_limit IS NOT NULL",
        b,
    );
    compare(
        &conn,
        "download source matches its charge",
        "SELECT d.id, (d.source = 'purchase') + (d.source = 'membership'), \
           (d.purchase_id IS NOT NULL) + (d.membership_id IS NOT NULL) FROM workflow_downloads d",
        b,
    );
    // "Downloaded before" (migration 0019): a pair's row exactly when a
    // download row of that user and workflow exists.
    compare(
        &conn,
        "downloaders without a download",
        "SELECT p.workflow_id || ' ' || p.user_id, 1, \
           (SELECT COUNT(*) > 0 FROM workflow_downloads d \
            WHERE d.workflow_id = p.workflow_id AND d.user_id = p.user_id) \
         FROM workflow_downloaders p",
        b,
    );
    compare(
        &conn,
        "downloads without their downloader",
        "SELECT d.workflow_id || ' ' || d.user_id, 1, \
           (SELECT COUNT(*) FROM workflow_downloaders p \
            WHERE p.workflow_id = d.workflow_id AND p.user_id = d.user_id) \
         FROM workflow_downloads d WHERE d.user_id IS NOT NULL \
         GROUP BY d.workflow_id, d.user_id",
        b,
    );
    compare(
        &conn,
        "analytics downloads per day",
        "SELECT a.workflow_id || ' ' || a.date, a.downloads, \
           (SELECT COUNT(*) FROM workflow_downloads d \
            WHERE d.workflow_id = a.workflow_id AND substr(d.downloaded_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "download days without analytics",
        "SELECT d.workflow_id || ' ' || substr(d.downloaded_at, 1, 10), \
           COALESCE((SELECT a.downloads FROM workflow_analytics a \
             WHERE a.workflow_id = d.workflow_id AND a.date = substr(d.downloaded_at, 1, 10)), 0), \
           COUNT(*) \
         FROM workflow_downloads d GROUP BY d.workflow_id, substr(d.downloaded_at, 1, 10)",
        b,
    );
    compare(
        &conn,
        "view_count",
        "SELECT w.slug, w.view_count, \
           (SELECT COALESCE(SUM(a.views), 0) FROM workflow_analytics a WHERE a.workflow_id = w.id) \
         FROM workflows w",
        b,
    );
    compare(
        &conn,
        "analytics unique_visitors per day",
        "SELECT a.workflow_id || ' ' || a.date, a.unique_visitors, \
           (SELECT COUNT(*) FROM workflow_analytics_visitors v \
            WHERE v.workflow_id = a.workflow_id AND v.date = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "visitor days without analytics",
        "SELECT v.workflow_id || ' ' || v.date, \
           COALESCE((SELECT a.unique_visitors FROM workflow_analytics a \
             WHERE a.workflow_id = v.workflow_id AND a.date = v.date), 0), COUNT(*) \
         FROM workflow_analytics_visitors v GROUP BY v.workflow_id, v.date",
        b,
    );
    // No refunds or bundles here: every completed purchase is of one
    // workflow and counted once, on the day it completed.
    compare(
        &conn,
        "purchase_count",
        "SELECT w.slug, w.purchase_count, \
           (SELECT COUNT(*) FROM workflow_purchase_items i JOIN workflow_purchases p ON p.id = i.purchase_id \
            WHERE i.workflow_id = w.id AND p.payment_status = 'completed') FROM workflows w",
        b,
    );
    compare(
        &conn,
        "analytics purchases per day",
        "SELECT a.workflow_id || ' ' || a.date, a.purchases, \
           (SELECT COUNT(*) FROM workflow_purchases p WHERE p.workflow_id = a.workflow_id \
            AND p.payment_status = 'completed' AND substr(p.completed_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "analytics revenue per day",
        "SELECT a.workflow_id || ' ' || a.date, a.revenue_minor, \
           (SELECT COALESCE(SUM(p.amount_minor), 0) FROM workflow_purchases p \
            WHERE p.workflow_id = a.workflow_id AND p.payment_status = 'completed' \
            AND substr(p.completed_at, 1, 10) = a.date) \
         FROM workflow_analytics a",
        b,
    );
    compare(
        &conn,
        "purchase days without analytics",
        "SELECT p.workflow_id || ' ' || substr(p.completed_at, 1, 10), \
           COALESCE((SELECT a.purchases FROM workflow_analytics a \
             WHERE a.workflow_id = p.workflow_id AND a.date = substr(p.completed_at, 1, 10)), 0), \
           COUNT(*) \
         FROM workflow_purchases p WHERE p.payment_status = 'completed' \
         GROUP BY p.workflow_id, substr(p.completed_at, 1, 10)",
        b,
    );
    compare(
        &conn,
        "purchase items",
        "SELECT p.id, 1, (SELECT COUNT(*) FROM workflow_purchase_items i WHERE i.purchase_id = p.id) \
         FROM workflow_purchases p",
        b,
    );
    assert!(
        bad.is_empty(),
        "{} counter(s) disagree with their rows in {db:?}:\n{}",
        bad.len(),
        bad.join("\n")
    );

    Totals {
        downloads: query_i64(&conn, "SELECT COUNT(*) FROM workflow_downloads"),
        favorites: query_i64(&conn, "SELECT COUNT(*) FROM workflow_favorites"),
        reviews: query_i64(&conn, "SELECT COUNT(*) FROM workflow_reviews"),
        approved: query_i64(
            &conn,
            "SELECT COUNT(*) FROM workflow_reviews WHERE status = 'approved'",
        ),
        votes: query_i64(&conn, "SELECT COUNT(*) FROM workflow_review_votes"),
        completed_purchases: query_i64(
            &conn,
            "SELECT COUNT(*) FROM workflow_purchases WHERE payment_status = 'completed'",
        ),
        views: query_i64(&conn, "SELECT COALESCE(SUM(view_count), 0) FROM workflows"),
    }
}

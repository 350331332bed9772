//! Listing and search: one statement built from a `WorkflowQuery`, with
//! keyset pagination by vault-core's `Cursor`.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use rust_decimal::Decimal;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::query::{
    Cursor, Listed, MAX_KEY_REVIEWS, Page, SortKey, WorkflowQuery, WorkflowSort, search_terms,
};
use vault_core::catalog::workflow::Workflow;
use vault_core::store::StoreResult;
use vault_core::value::validation::Reason;

use super::workflow::{CARD_COLS, WORKFLOW_COLS, card_from_row, workflow_from_row};
use crate::codec::*;
use crate::sql::query_all;

// A rating cursor's side of the Bayesian comparison below is computed here
// in i64: `weight × mean × 100 + 100 × sum`. `Cursor::new` bounds the key's
// count (at most five stars each) and a prior is a u32 weight of at most
// 5.00 stars, so it cannot overflow; this fails the build if either bound
// grows past that.
const _: () = assert!(
    (u32::MAX as i128) * 500 + 100 * 5 * (MAX_KEY_REVIEWS as i128) <= i64::MAX as i128
        && (u32::MAX as i128) + (MAX_KEY_REVIEWS as i128) <= i64::MAX as i128
);

/// What a listing reads of each workflow: whole rows or cards.
pub(super) trait Projection: Listed + Sized {
    /// The columns, unqualified (the page's rows come from `workflows`).
    const COLS: &'static str;
    /// One row of them.
    fn from_row(row: &Row<'_>) -> StoreResult<Self>;
}

impl Projection for Workflow {
    const COLS: &'static str = WORKFLOW_COLS;
    fn from_row(row: &Row<'_>) -> StoreResult<Self> {
        workflow_from_row(row)
    }
}

impl Projection for WorkflowCard {
    const COLS: &'static str = CARD_COLS;
    fn from_row(row: &Row<'_>) -> StoreResult<Self> {
        card_from_row(row)
    }
}

/// A listing page of whole workflows or cards (`T`): one statement, the
/// same for both but for the columns it reads. A search in an order an
/// index walks (all but the Bayesian rating) reads a window of the listing
/// first: see [`crate::SqliteOptions::search_window`].
pub(super) fn list_workflows<T: Projection>(
    conn: &Connection,
    q: &WorkflowQuery,
    window: i64,
) -> StoreResult<Page<T>> {
    let cols = T::COLS;
    let mut wh: Vec<String> = Vec::new();
    let mut vals: Vec<Value> = Vec::new();
    let push = |vals: &mut Vec<Value>, v: Value| -> String {
        vals.push(v);
        format!("?{}", vals.len())
    };
    if !q.statuses.is_empty() {
        let marks: Vec<String> = q
            .statuses
            .iter()
            .map(|s| push(&mut vals, Value::Text(s.as_str().into())))
            .collect();
        wh.push(format!("status IN ({})", marks.join(", ")));
    }
    if let Some(c) = q.category {
        let m = push(&mut vals, Value::Text(c.to_string()));
        wh.push(format!("category_id = {m}"));
    }
    if !q.tiers.is_empty() {
        let marks: Vec<String> = q
            .tiers
            .iter()
            .map(|t| push(&mut vals, Value::Text(t.as_str().into())))
            .collect();
        wh.push(format!("pricing_tier IN ({})", marks.join(", ")));
    }
    if let Some(range) = &q.price {
        // Bounds are whole minor units (`PriceRange::new`), as prices are.
        let lo = range.min_minor().unwrap_or(i64::MIN);
        let hi = range.max_minor().unwrap_or(i64::MAX);
        let free_ok = range.admits_zero();
        let c = push(&mut vals, Value::Text(range.currency().code().into()));
        let lo = push(&mut vals, Value::Integer(lo));
        let hi = push(&mut vals, Value::Integer(hi));
        let free = push(&mut vals, Value::Integer(i64::from(free_ok)));
        wh.push(format!(
            "((price_minor IS NOT NULL AND currency = {c} AND price_minor >= {lo} AND price_minor <= {hi}) \
             OR (price_minor IS NULL AND pricing_tier = 'free' AND {free} = 1))"
        ));
    }
    for tag in &q.tags {
        let m = push(&mut vals, Value::Text(tag.as_str().into()));
        wh.push(format!(
            "EXISTS (SELECT 1 FROM workflow_tags t WHERE t.workflow_id = workflows.id AND t.tag = {m})"
        ));
    }
    let terms = q.text.as_deref().map(search_terms).unwrap_or_default();
    // Sort key expression, and the cursor condition "strictly after".
    let w = i64::from(q.prior.weight());
    let m100 = i64::try_from((q.prior.mean() * Decimal::ONE_HUNDRED).trunc()).unwrap_or(0);
    let key_expr = match q.sort {
        WorkflowSort::WedgeScore => "wedge_score_x10".to_string(),
        WorkflowSort::Downloads => "download_count".to_string(),
        WorkflowSort::Newest => "newest_at".to_string(),
        WorkflowSort::Rating => {
            "(CASE WHEN review_count = 0 THEN -1.0 ELSE CAST(rating_sum AS REAL) / review_count END)".to_string()
        }
        WorkflowSort::BayesianRating => format!(
            "(CASE WHEN ({w} + review_count) = 0 THEN -1.0 \
             ELSE CAST({w} * {m100} + 100 * rating_sum AS REAL) / ({w} + review_count) END)"
        ),
    };
    if let Some(cursor) = &q.cursor {
        let id = push(&mut vals, Value::Text(cursor.id().to_string()));
        let cond = match (q.sort, cursor.key()) {
            (WorkflowSort::WedgeScore, SortKey::Score(s)) => {
                let k = i64::try_from((s * Decimal::TEN).trunc()).unwrap_or(0);
                let k = push(&mut vals, Value::Integer(k));
                format!("(wedge_score_x10 < {k} OR (wedge_score_x10 = {k} AND id > {id}))")
            }
            (WorkflowSort::Downloads, SortKey::Downloads(d)) => {
                let k = push(&mut vals, Value::Integer(i64_of(d)?));
                format!("(download_count < {k} OR (download_count = {k} AND id > {id}))")
            }
            (WorkflowSort::Newest, SortKey::Time(t)) => {
                let k = push(&mut vals, Value::Text(ts(&t)));
                format!("(newest_at < {k} OR (newest_at = {k} AND id > {id}))")
            }
            (WorkflowSort::Rating, SortKey::Rating { sum, count }) => {
                // Exact: compare sum/count fractions by cross-multiplying.
                let (cs, cc) = (i64_of(sum)?, i64_of(count)?);
                let lt = if cc == 0 {
                    "0".to_string()
                } else {
                    format!("(review_count = 0 OR rating_sum * {cc} < {cs} * review_count)")
                };
                let eq = if cc == 0 {
                    "review_count = 0".to_string()
                } else {
                    format!("(review_count > 0 AND rating_sum * {cc} = {cs} * review_count)")
                };
                format!("({lt} OR ({eq} AND id > {id}))")
            }
            (WorkflowSort::BayesianRating, SortKey::Rating { sum, count }) => {
                let (cs, cc) = (i64_of(sum)?, i64_of(count)?);
                let (cn, cd) = (w * m100 + 100 * cs, w + cc);
                let num = format!("({w} * {m100} + 100 * rating_sum)");
                let den = format!("({w} + review_count)");
                let lt = if cd == 0 {
                    "0".to_string()
                } else {
                    format!("({den} = 0 OR {num} * {cd} < {cn} * {den})")
                };
                let eq = if cd == 0 {
                    format!("{den} = 0")
                } else {
                    format!("({den} > 0 AND {num} * {cd} = {cn} * {den})")
                };
                format!("({lt} OR ({eq} AND id > {id}))")
            }
            _ => {
                return Err(unfit(
                    "cursor",
                    Reason::Inconsistent {
                        detail: "does not match the sort".into(),
                    },
                ));
            }
        };
        wh.push(cond);
    }
    // Deleted workflows are in no listing and no search (core's
    // `WorkflowQuery::matches` says the same for the memory store). Tested
    // last: SQLite tests the terms in this order, `deleted_at` is near the
    // end of a ~50-column row, and reaching it decodes the whole record
    // header, so testing it first on every row the index walk visits cost
    // the listing by category ~45% (the category, early in the row,
    // rejects most of them first).
    wh.push("deleted_at IS NULL".to_owned());
    let limit = i64::from(q.limit);
    let n = limit + 1;
    let filter = format!("WHERE {}", wh.join(" AND "));
    let order = format!("ORDER BY {key_expr} DESC, id ASC");
    let sql = if terms.is_empty() {
        format!("SELECT {cols} FROM workflows {filter} {order} LIMIT {n}")
    } else {
        // Terms are letters and digits only, so quoting them is safe.
        let expr: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
        let fts = push(&mut vals, Value::Text(expr.join(" ")));
        if window > 0 && q.sort != WorkflowSort::BayesianRating {
            // The window: the listing's first `window` rows in order, each
            // matched on its own words (a term begins one of them), read
            // until a page is found. A co-routine yields the window in its
            // order and the outer LIMIT stops it, so no sort runs; the page
            // is ordered again at the end. (An `ORDER BY` on `near` would
            // make it promised, not only done, but would sort the whole
            // window first: 0.1 → 1 ms for a common term at 100k. SQLite
            // documents no order without one; vault-core's testkit case
            // `search_pages_match_the_core_through_any_window` pages every
            // order through a three-row window and fails if it changes.) Only when the window holds less
            // than a page does the full-text index run (the gate is the
            // outer loop of its join, so otherwise it never starts).
            let terms: Vec<String> = terms
                .iter()
                .map(|t| push(&mut vals, Value::Text(format!(" {t}"))))
                .collect();
            format!(
                "WITH near AS MATERIALIZED (SELECT rid FROM \
                 (SELECT rowid AS rid, search_words FROM workflows {filter} {order} LIMIT {window}) \
                 WHERE vault_has_words(search_words, {}) LIMIT {n}), \
                 hits AS MATERIALIZED (SELECT workflows_fts.rowid AS hid FROM \
                 (SELECT 1 WHERE (SELECT count(*) FROM near) < {n}) AS gate \
                 CROSS JOIN workflows_fts WHERE workflows_fts MATCH {fts}), \
                 page AS (SELECT rid AS pid FROM near WHERE (SELECT count(*) FROM near) = {n} \
                 UNION ALL SELECT pid FROM (SELECT workflows.rowid AS pid FROM hits \
                 CROSS JOIN workflows ON workflows.rowid = hits.hid {filter} {order} LIMIT {n})) \
                 SELECT {cols} FROM page CROSS JOIN workflows \
                 ON workflows.rowid = page.pid {order}",
                terms.join(", ")
            )
        } else {
            format!(
                "SELECT {cols} FROM workflows {filter} AND workflows.rowid IN \
                 (SELECT rowid FROM workflows_fts WHERE workflows_fts MATCH {fts}) {order} LIMIT {n}"
            )
        }
    };
    let mut items = query_all(conn, &sql, params_from_iter(vals), T::from_row)?;
    let more = items.len() as i64 > limit;
    items.truncate(q.limit as usize);
    let next = if more {
        items.last().map(|w| Cursor::after(w, q.sort))
    } else {
        None
    };
    Ok(Page { items, next })
}

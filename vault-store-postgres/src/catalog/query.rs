//! Listing and search: vault-core's search terms as a prefix tsquery, and
//! one statement built from a `WorkflowQuery` with keyset pagination by
//! vault-core's `Cursor`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::query::{Cursor, Listed, Page, SortKey, WorkflowQuery, WorkflowSort};
use vault_core::catalog::workflow::{Tag, Workflow};
use vault_core::store::StoreResult;
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::validation::Reason;

use super::search::tsquery;
use super::workflow::{
    CARD_COLS, card_from_row, workflow_cols, workflow_from_row, workflows_with_counts,
};
use crate::codec::*;

/// What a listing reads of each workflow: whole rows or cards.
pub(super) trait Projection: Listed + Sized {
    /// The columns, from `workflows_with_counts!`.
    const COLS: &'static str;
    /// One row of them.
    fn from_row(row: &PgRow) -> StoreResult<Self>;
}

impl Projection for Workflow {
    const COLS: &'static str = workflow_cols!();
    fn from_row(row: &PgRow) -> StoreResult<Self> {
        workflow_from_row(row)
    }
}

impl Projection for WorkflowCard {
    const COLS: &'static str = CARD_COLS;
    fn from_row(row: &PgRow) -> StoreResult<Self> {
        card_from_row(row)
    }
}

/// The exact sort key expression: exact fractions via NUMERIC with 40
/// decimals (see the migration's `rating_avg`); NULL (sorted last) for a
/// workflow without a key.
pub(super) fn key_expr(q: &WorkflowQuery, w: i64, m100: i64) -> String {
    match q.sort {
        WorkflowSort::WedgeScore => "wedge_score".into(),
        WorkflowSort::Downloads => "download_count".into(),
        WorkflowSort::Newest => "newest_at".into(),
        WorkflowSort::Rating => "rating_avg".into(),
        WorkflowSort::BayesianRating => format!(
            "(CASE WHEN {w} + review_count = 0 THEN NULL \
             ELSE ({w}::numeric * {m100} + 100 * rating_sum::numeric)::numeric(80, 40) \
             / ({w} + review_count) END)"
        ),
    }
}

/// "Strictly after the cursor" in listing order (key descending, id
/// ascending), compared exactly: fractions by cross-multiplication.
pub(super) fn push_cursor(
    qb: &mut QueryBuilder<Postgres>,
    q: &WorkflowQuery,
    cursor: &Cursor,
    w: i64,
    m100: i64,
) -> StoreResult<()> {
    let cid = cursor.id().as_uuid();
    match (q.sort, cursor.key()) {
        (WorkflowSort::WedgeScore, SortKey::Score(k)) => {
            qb.push(" AND (wedge_score < ")
                .push_bind(k)
                .push(" OR (wedge_score = ")
                .push_bind(k)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Downloads, SortKey::Downloads(d)) => {
            let d = i64_of(d)?;
            qb.push(" AND (download_count < ")
                .push_bind(d)
                .push(" OR (download_count = ")
                .push_bind(d)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Newest, SortKey::Time(t)) => {
            // Stored instants are whole microseconds, and binding a finer
            // key would truncate it. A key between two microseconds (from
            // a store that keeps nanoseconds, or made up) equals no row:
            // the rows after it are those at or before its microsecond.
            let micro = DateTime::<Utc>::from_timestamp_micros(t.timestamp_micros());
            if let Some(floor) = micro.filter(|m| *m != t) {
                qb.push(" AND newest_at <= ").push_bind(floor);
                return Ok(());
            }
            qb.push(" AND (newest_at < ")
                .push_bind(t)
                .push(" OR (newest_at = ")
                .push_bind(t)
                .push(" AND id > ")
                .push_bind(cid)
                .push("))");
        }
        (WorkflowSort::Rating, SortKey::Rating { sum, count }) => {
            if count == 0 {
                qb.push(" AND (review_count = 0 AND id > ")
                    .push_bind(cid)
                    .push(")");
            } else {
                let (cs, cc) = (Decimal::from(sum), Decimal::from(count));
                qb.push(" AND (review_count = 0 OR rating_sum::numeric * ")
                    .push_bind(cc)
                    .push(" < ")
                    .push_bind(cs)
                    .push(" * review_count OR (review_count > 0 AND rating_sum::numeric * ")
                    .push_bind(cc)
                    .push(" = ")
                    .push_bind(cs)
                    .push(" * review_count AND id > ")
                    .push_bind(cid)
                    .push("))");
            }
        }
        (WorkflowSort::BayesianRating, SortKey::Rating { sum, count }) => {
            let num = format!("({w}::numeric * {m100} + 100 * rating_sum::numeric)");
            let den = format!("({w} + review_count)");
            let cn =
                Decimal::from(w) * Decimal::from(m100) + Decimal::ONE_HUNDRED * Decimal::from(sum);
            let cd = Decimal::from(w) + Decimal::from(count);
            if cd.is_zero() {
                qb.push(format!(" AND ({den} = 0 AND id > "))
                    .push_bind(cid)
                    .push(")");
            } else {
                qb.push(format!(" AND ({den} = 0 OR {num} * "))
                    .push_bind(cd)
                    .push(" < ")
                    .push_bind(cn)
                    .push(format!(" * {den} OR ({den} > 0 AND {num} * "))
                    .push_bind(cd)
                    .push(" = ")
                    .push_bind(cn)
                    .push(format!(" * {den} AND id > "))
                    .push_bind(cid)
                    .push("))");
            }
        }
        _ => {
            return Err(unfit(
                "cursor",
                Reason::Inconsistent {
                    detail: "does not match the sort".into(),
                },
            ));
        }
    }
    Ok(())
}

/// `SELECT` the page's columns (with the viewer's standing when there is
/// one) `FROM` the workflows, joined to `rows` (a CTE whose `column` names
/// the workflows to read) when given, `WHERE` not deleted.
fn push_page_select(
    qb: &mut QueryBuilder<Postgres>,
    cols: &str,
    viewer: Option<&UserId>,
    rows: Option<(&str, &str)>,
) {
    qb.push("SELECT ").push(cols);
    if viewer.is_some() {
        qb.push(
            ", viewer.banned AS viewer_banned, viewer.deleted AS viewer_deleted, \
             viewer.erased AS viewer_erased",
        );
    }
    qb.push(" FROM ");
    if let Some(viewer) = viewer {
        qb.push(
            "(SELECT a.banned_at IS NOT NULL AS banned, \
             a.deleted_at IS NOT NULL AS deleted, a.erased_at IS NOT NULL AS erased \
             FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.user_id = ",
        )
        .push_bind(viewer.as_str().to_owned())
        .push(") AS viewer CROSS JOIN ");
    }
    push_from(qb, rows, true);
}

/// `FROM` the workflows, with their counts when `counts` (joined to `rows`
/// when given), `WHERE` not deleted.
fn push_from(qb: &mut QueryBuilder<Postgres>, rows: Option<(&str, &str)>, counts: bool) {
    if let Some((cte, _)) = rows {
        qb.push(cte).push(" JOIN ");
    }
    qb.push(if counts {
        workflows_with_counts!()
    } else {
        "workflows"
    });
    if let Some((cte, column)) = rows {
        qb.push(format!(" ON workflows.id = {cte}.{column}"));
    }
    // Deleted workflows are in no listing and no search (core's
    // `WorkflowQuery::matches` says the same for the memory store).
    qb.push(" WHERE deleted_at IS NULL");
}

/// The listing's filters (`AND ...`), the text's match when `text` is
/// given, and the cursor.
fn push_filters(
    qb: &mut QueryBuilder<Postgres>,
    q: &WorkflowQuery,
    text: Option<String>,
    w: i64,
    m100: i64,
) -> StoreResult<()> {
    // One status (the catalog's usual "published") as `=`: PostgreSQL 15
    // walks a (status, key, id) index in order only for an equality on
    // status, never for `= ANY(array)`; with ANY it sorted every match. By
    // downloads, that index is the download counts' (listing_status,
    // download_count, workflow_id), so the filter names its copy of the
    // status (the same value: a trigger keeps it).
    let status = match q.sort {
        WorkflowSort::Downloads => "listing_status",
        _ => "status",
    };
    match q.statuses.as_slice() {
        [] => {}
        [one] => {
            qb.push(format!(" AND {status} = ")).push_bind(one.as_str());
        }
        many => {
            let statuses: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            qb.push(format!(" AND {status} = ANY("))
                .push_bind(statuses)
                .push(")");
        }
    }
    if let Some(cat) = q.category {
        // By downloads, the count rows' copy too, for their (status,
        // category, count, id) index.
        let category = match q.sort {
            WorkflowSort::Downloads => "listing_category",
            _ => "category_id",
        };
        qb.push(format!(" AND {category} = "))
            .push_bind(cat.as_uuid());
    }
    if !q.tiers.is_empty() {
        let tiers: Vec<&str> = q.tiers.iter().map(|t| t.as_str()).collect();
        qb.push(" AND pricing_tier = ANY(")
            .push_bind(tiers)
            .push(")");
    }
    if let Some(range) = &q.price {
        // Free workflows count as zero; members-only ones (no price, not
        // free) never match.
        qb.push(" AND ((price IS NOT NULL AND currency = ")
            .push_bind(range.currency().code().to_owned());
        if let Some(min) = range.min() {
            qb.push(" AND price >= ").push_bind(min);
        }
        if let Some(max) = range.max() {
            qb.push(" AND price <= ").push_bind(max);
        }
        qb.push(") OR (price IS NULL AND pricing_tier = 'free' AND ")
            .push_bind(range.admits_zero())
            .push("))");
    }
    if !q.tags.is_empty() {
        let tags: Vec<&str> = q.tags.iter().map(Tag::as_str).collect();
        qb.push(" AND tags @> ").push_bind(tags).push("::text[]");
    }
    if let Some(text) = text {
        // An init-plan, as in the window: see `list_workflows`.
        qb.push(" AND search_vector @@ (SELECT to_tsquery('simple', ")
            .push_bind(text)
            .push("))");
    }
    if let Some(cursor) = &q.cursor {
        push_cursor(qb, q, cursor, w, m100)?;
    }
    Ok(())
}

/// A listing page, and with a `viewer` their account's standing in the
/// same statement: the one-row standing (`viewer_*` columns) is joined to
/// every row of the page, so an empty page carries none and its standing
/// is left unread (`None`).
///
/// A search in an order an index walks (all but the Bayesian rating) is
/// one statement of two steps: the first `window` rows of the listing
/// without the text, matched against it (`near`); only when they hold less
/// than a page, the word index's matches (`hits`) joined to the listing
/// (see [`crate::PgOptions::search_window`]). Each step is gated on the
/// first's count, so only one of them reads rows.
pub(super) async fn list_workflows<T: Projection>(
    c: &mut sqlx::PgConnection,
    q: &WorkflowQuery,
    viewer: Option<&UserId>,
    window: i64,
) -> StoreResult<(Page<T>, Option<Option<Refusal>>)> {
    let text = q.text.as_deref().and_then(tsquery);
    let w = i64::from(q.prior.weight());
    let m100 = i64::try_from((q.prior.mean() * Decimal::ONE_HUNDRED).trunc()).unwrap_or(0);
    let key = key_expr(q, w, m100);
    // Only the rating keys can be NULL (no reviews), and their index is
    // built NULLS LAST. The other keys are never NULL, where `DESC` alone
    // orders the same and matches their `DESC` indexes; spelling NULLS LAST
    // there too made the planner sort instead of walking the index.
    let nulls = match q.sort {
        WorkflowSort::Rating | WorkflowSort::BayesianRating => " NULLS LAST",
        WorkflowSort::WedgeScore | WorkflowSort::Downloads | WorkflowSort::Newest => "",
    };
    let order = format!(" ORDER BY {key} DESC{nulls}, id ASC LIMIT ");
    // The page size and the window are spelled, not bound: a generic plan
    // assumes a bound LIMIT keeps a tenth of the rows, and for a category
    // of ~11k workflows (100k in all) chose two parallel workers and a
    // merge for a page of 21 (12 ms against 0.15). Both are small integers
    // (`WorkflowQuery::validate`, the store's option), so a statement per
    // page size at most.
    let limit = i64::from(q.limit) + 1;
    let mut qb = QueryBuilder::<Postgres>::new("");
    match text {
        Some(text) if window > 0 && q.sort != WorkflowSort::BayesianRating => {
            // The window reads the listing's key and the match only: the
            // page's wide rows are read once, for the page. Its rows join
            // the download counts only when the order or its filters are
            // theirs. The tsquery is an init-plan in both steps. Called in
            // the window's select list, `to_tsquery` ran for every row
            // (half of a 1000-row window's time). And a tsquery the
            // planner can read is costed against the column's statistics,
            // every prefix against every common lexeme: at 100k workflows
            // that made each call's custom plan ~0.7 ms of planning, and
            // cheaper-looking than the cached generic plan, so PostgreSQL
            // planned every call again (psql: 30 `EXECUTE`s, 0 generic;
            // with the init-plan it keeps the generic plan after five,
            // 1 ms -> 0.25 ms a page).
            let counts = q.sort == WorkflowSort::Downloads;
            qb.push(format!(
                "WITH near AS MATERIALIZED (SELECT id, sort_key FROM \
                 (SELECT workflows.id, {key} AS sort_key, \
                 search_vector @@ (SELECT to_tsquery('simple', "
            ))
            .push_bind(text.clone())
            .push(")) AS hit FROM ");
            push_from(&mut qb, None, counts);
            push_filters(&mut qb, q, None, w, m100)?;
            qb.push(&order).push(window.to_string());
            qb.push(format!(
                ") AS win WHERE hit ORDER BY sort_key DESC{nulls}, id ASC LIMIT "
            ))
            .push(limit.to_string());
            qb.push(
                "), hits AS MATERIALIZED (SELECT id AS hit_id FROM workflows \
                 WHERE search_vector @@ (SELECT to_tsquery('simple', ",
            )
            .push_bind(text)
            .push(")) AND (SELECT count(*) FROM near) < ")
            .push(limit.to_string());
            qb.push(
                "), page AS (SELECT id AS page_id FROM near WHERE (SELECT count(*) FROM near) = ",
            )
            .push(limit.to_string());
            qb.push(" UNION ALL (SELECT workflows.id FROM ");
            push_from(&mut qb, Some(("hits", "hit_id")), counts);
            push_filters(&mut qb, q, None, w, m100)?;
            qb.push(&order).push(limit.to_string());
            qb.push(")) ");
            push_page_select(&mut qb, T::COLS, viewer, Some(("page", "page_id")));
            qb.push(format!(" ORDER BY {key} DESC{nulls}, id ASC"));
        }
        text => {
            push_page_select(&mut qb, T::COLS, viewer, None);
            push_filters(&mut qb, q, text, w, m100)?;
            qb.push(&order).push(limit.to_string());
        }
    }
    let rows = qb.build().fetch_all(c).await.map_err(db)?;
    let standing = match (viewer, rows.first()) {
        (Some(_), Some(row)) => Some(Refusal::of(
            get(row, "viewer_banned")?,
            get(row, "viewer_deleted")?,
            get(row, "viewer_erased")?,
        )),
        _ => None,
    };
    let mut items = rows
        .iter()
        .map(T::from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let more = items.len() > q.limit as usize;
    items.truncate(q.limit as usize);
    let next = if more {
        items.last().map(|w| Cursor::after(w, q.sort))
    } else {
        None
    };
    Ok((Page { items, next }, standing))
}

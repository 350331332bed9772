//! The search vocabulary both sides of a match share: a workflow's words
//! as vault-core's `search_terms` gives them, for its full-text row and
//! its `search_words` column, and a query's terms for either.

use rusqlite::{Connection, params};
use vault_core::catalog::query::search_terms;
use vault_core::store::StoreResult;

use crate::codec::db;

/// The words of one field, space-separated: the full-text row's column.
pub(crate) fn field_words(text: &str) -> String {
    search_terms(text).join(" ")
}

/// The workflow's `search_words`: every word of its fields and tags, each
/// after a space, so `instr(search_words, ' ' || term) > 0` says whether
/// `term` begins one of them (the core's prefix match).
pub(crate) fn search_words<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in fields.into_iter().flat_map(search_terms) {
        out.push(' ');
        out.push_str(&word);
    }
    out
}

/// The full-text row and `search_words` of the workflow at `rowid`.
pub(crate) fn write_words(
    tx: &Connection,
    rowid: i64,
    title: &str,
    short: &str,
    description: &str,
    tags: &[&str],
) -> StoreResult<()> {
    let tag_words: Vec<String> = tags.iter().map(|t| field_words(t)).collect();
    tx.prepare_cached(
        "INSERT INTO workflows_fts (rowid, title, short_description, description, tags) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![
        rowid,
        field_words(title),
        field_words(short),
        field_words(description),
        tag_words.join(" ")
    ])
    .map_err(db)?;
    let words = search_words(
        [title, short, description]
            .into_iter()
            .chain(tags.iter().copied()),
    );
    tx.prepare_cached("UPDATE workflows SET search_words = ?2 WHERE rowid = ?1")
        .map_err(db)?
        .execute(params![rowid, words])
        .map_err(db)?;
    Ok(())
}

/// Migrations 0013's and 0014's rows: every workflow's words, its
/// full-text row rewritten with them.
pub(crate) fn backfill(tx: &Connection) -> StoreResult<()> {
    let rows: Vec<(i64, String, String, String, String)> = {
        let mut st = tx
            .prepare("SELECT rowid, title, short_description, description, tags FROM workflows")
            .map_err(db)?;
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?
    };
    tx.execute("DELETE FROM workflows_fts", []).map_err(db)?;
    for (rowid, title, short, description, tags) in rows {
        // A tag list that is not a JSON list of strings is corrupt data the
        // listing reports when it reads the row; its words are left out.
        let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        write_words(tx, rowid, &title, &short, &description, &tags)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_cores_each_after_a_space() {
        assert_eq!(
            search_words(["Sync CRM-leads", "to Slack!"]),
            " sync crm leads to slack"
        );
        assert_eq!(field_words("Email foo@bar.com"), "email foo bar com");
        assert_eq!(search_words([""]), "");
    }
}

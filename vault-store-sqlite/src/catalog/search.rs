//! The search vocabulary both sides of a match share: a workflow's words
//! as vault-core's `search_terms` gives them, for its full-text row and
//! its `search_words` column, and a query's terms for either.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use vault_core::catalog::query::search_terms;
use vault_core::store::StoreResult;

use crate::codec::db;

/// The words of one field, space-separated: the full-text row's column.
pub(crate) fn field_words(text: &str) -> String {
    search_terms(text).join(" ")
}

/// The workflow's `search_words`: every word of its fields and tags, each
/// after a space, so finding `' ' || term` in it says whether
/// `term` begins one of them (the core's prefix match).
pub(crate) fn search_words<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in fields.into_iter().flat_map(search_terms) {
        out.push(' ');
        out.push_str(&word);
    }
    out
}

/// The SQL function a search's window matches rows with:
/// `vault_has_words(search_words, ' t1', ' t2', ...)` is whether every
/// term (after its space) begins a word of `search_words`, exactly what
/// `instr(search_words, ' t1') > 0 AND ...` says, with memchr's substring
/// search where SQLite's `instr` compares at every byte: 44% of a rare
/// search's instructions went to `instr` (callgrind, a 1000-row window).
/// NULL words match nothing, as `instr` would give NULL. Every connection
/// of the store registers it.
pub(crate) fn register_has_words(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "vault_has_words",
        -1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let words = match ctx.get_raw(0) {
                ValueRef::Text(b) | ValueRef::Blob(b) => b,
                _ => return Ok(false),
            };
            for i in 1..ctx.len() {
                let found = match ctx.get_raw(i) {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        memchr::memmem::find(words, t).is_some()
                    }
                    _ => false,
                };
                if !found {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )
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

    /// The function says what `instr` says, term by term, for words and
    /// terms with multi-byte characters, empty and NULL words.
    #[test]
    fn has_words_matches_as_instr_does() {
        let c = Connection::open_in_memory().unwrap();
        register_has_words(&c).unwrap();
        let words = [
            Some(" sync crm leads to slack"),
            Some(" café crème brûlée"),
            Some(""),
            None,
        ];
        let terms = [
            " sync", " crm", " lead", " slack", " ync", " café", " crè", " é", " ", "z",
        ];
        for w in words {
            for a in terms {
                for b in terms {
                    let (ours, theirs): (bool, Option<bool>) = c
                        .query_row(
                            "SELECT vault_has_words(?1, ?2, ?3), \
                             instr(?1, ?2) > 0 AND instr(?1, ?3) > 0",
                            params![w, a, b],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .unwrap();
                    assert_eq!(ours, theirs.unwrap_or(false), "{w:?} {a:?} {b:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Any words and terms, multi-byte characters and empty strings
        /// included: the function and `instr` agree.
        #[test]
        fn has_words_agrees_with_instr_on_any_text(
            words in "[ a-cé€]{0,24}",
            terms in proptest::collection::vec("[ a-cé€]{0,4}", 1..4),
        ) {
            let c = Connection::open_in_memory().unwrap();
            register_has_words(&c).unwrap();
            let marks: Vec<String> = (0..terms.len()).map(|i| format!("?{}", i + 2)).collect();
            let instrs: Vec<String> = marks.iter().map(|m| format!("instr(?1, {m}) > 0")).collect();
            let sql = format!(
                "SELECT vault_has_words(?1, {}), {}",
                marks.join(", "),
                instrs.join(" AND ")
            );
            let mut values = vec![words.clone()];
            values.extend(terms.iter().cloned());
            let (ours, theirs): (bool, bool) = c
                .query_row(&sql, rusqlite::params_from_iter(values), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

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

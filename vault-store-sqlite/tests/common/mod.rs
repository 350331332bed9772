//! Shared by the integration tests: a full, comparable snapshot of a
//! database file (here), the setup of the fault-injection tests
//! ([`faults`]), what every database file must keep ([`invariants`]) and
//! the harness of the tests that run several OS processes on one file
//! ([`processes`]).
#![allow(clippy::unwrap_used, dead_code)]

pub(crate) mod faults;
pub(crate) mod invariants;
pub(crate) mod processes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

/// Every row of every table as text, per table (rows sorted, so tables
/// without rowid compare by content), plus the schema itself and
/// `user_version`.
pub(crate) type Snapshot = BTreeMap<String, Vec<String>>;

fn render(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => format!("{r:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

fn rows(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            let cells: Vec<String> = (0..n)
                .map(|i| {
                    let v: Value = r.get(i)?;
                    Ok(format!("{}={}", names[i], render(&v)))
                })
                .collect::<rusqlite::Result<_>>()?;
            Ok(cells.join(", "))
        })?
        .collect::<Result<_, _>>()?;
    rows.sort();
    Ok(rows)
}

/// Reads through a separate read-only connection: it sees exactly what was
/// committed.
pub(crate) fn snapshot(path: &Path) -> Snapshot {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Snapshot::new();
    for t in tables {
        // With the rowid where the table has one (FTS rows are tied to it).
        let table = rows(
            &conn,
            &format!("SELECT rowid AS \"#rowid\", * FROM \"{t}\""),
        )
        .or_else(|_| rows(&conn, &format!("SELECT * FROM \"{t}\"")))
        .unwrap();
        out.insert(t, table);
    }
    out.insert(
        "#schema".into(),
        rows(
            &conn,
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema",
        )
        .unwrap(),
    );
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    out.insert("#user_version".into(), vec![version.to_string()]);
    out
}

/// Panics with the differing rows of every differing table.
pub(crate) fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    if before == after {
        return;
    }
    let mut report = String::new();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let (b, a) = (before.get(name), after.get(name));
        if b == a {
            continue;
        }
        let b: BTreeSet<&String> = b.into_iter().flatten().collect();
        let a: BTreeSet<&String> = a.into_iter().flatten().collect();
        report.push_str(&format!("table {name}:\n"));
        for gone in b.difference(&a) {
            report.push_str(&format!("  - {gone}\n"));
        }
        for new in a.difference(&b) {
            report.push_str(&format!("  + {new}\n"));
        }
    }
    panic!("{what} left changes behind:\n{report}");
}

/// Takes a file of this schema back to schema 18's download rows, for the
/// tests that open an older file: the table and its indexes as migrations
/// 0001 and 0003 made them (single foreign keys, the `IN` lists), and
/// neither the parents' pairs nor the downloaders' table of 0019. Every
/// row is kept. Foreign keys are left off on `conn`.
pub(crate) fn downloads_back_to_18(conn: &Connection) {
    let first = include_str!("../../migrations/0001_workflow_vault.sql");
    let start = first.find("CREATE TABLE workflow_downloads (").unwrap();
    let end = start + first[start..].find(");").unwrap() + 2;
    let table = first[start..end].replace(
        "CREATE TABLE workflow_downloads (",
        "CREATE TABLE workflow_downloads_18 (",
    );
    let indexes: Vec<&str> = first
        .lines()
        .filter(|l| l.starts_with("CREATE INDEX idx_workflow_downloads_"))
        .collect();
    assert_eq!(indexes.len(), 5, "0001's five indexes of the download rows");
    let cols = "id, user_id, workflow_id, file_id, file_version, download_type, source, \
                purchase_id, membership_id, ip_hash, user_agent, referrer, country_code, \
                downloaded_at";
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         DROP INDEX idx_workflow_files_workflow_id;
         DROP INDEX idx_workflow_purchases_user_id;
         DROP INDEX idx_memberships_user_id;
         DROP TABLE workflow_downloaders;
         {table}
         INSERT INTO workflow_downloads_18 ({cols}) SELECT {cols} FROM workflow_downloads;
         DROP TABLE workflow_downloads;
         ALTER TABLE workflow_downloads_18 RENAME TO workflow_downloads;
         {}
         CREATE INDEX idx_workflow_downloads_user_workflow ON workflow_downloads (user_id, workflow_id);",
        indexes.join("\n")
    ))
    .unwrap();
}

//! Workflow files: their rows and the one-primary-file rule's write.

use rusqlite::params;
use rusqlite::types::Value;
use vault_core::catalog::file::{FileAccess, WorkflowFile};
use vault_core::store::StoreResult;
use vault_core::value::version::Version;

use crate::Tx;
use crate::codec::*;
use crate::sql::Id;

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, \
    is_primary, access, size_bytes, checksum, download_count, created_at, updated_at, revision"
    };
}
pub(crate) use file_cols;

pub(crate) fn file_from_row(row: &Row<'_>) -> StoreResult<WorkflowFile> {
    file_at(row, 0)
}

/// A file of a statement that selects `file_cols!()` from position `base`
/// on (the access read selects the gate's columns before them).
pub(crate) fn file_at(row: &Row<'_>, base: usize) -> StoreResult<WorkflowFile> {
    macro_rules! c {
        ($name:literal) => {
            base + at!(file_cols!(), $name)
        };
    }
    decode("workflow_files", || {
        Ok(WorkflowFile {
            id: parse(row, c!("id"))?,
            workflow_id: parse(row, c!("workflow_id"))?,
            kind: parse(row, c!("file_type"))?,
            file_name: get(row, c!("file_name"))?,
            storage_key: get(row, c!("storage_key"))?,
            mime_type: get(row, c!("mime_type"))?,
            version: parse(row, c!("version"))?,
            is_primary: bool_col(row, c!("is_primary"))?,
            access: json_col::<FileAccess>(row, c!("access"))?,
            size_bytes: u64_col(row, c!("size_bytes"))?,
            checksum: parse_with(
                row,
                c!("checksum"),
                vault_core::catalog::file::Checksum::parse,
            )?,
            download_count: u64_col(row, c!("download_count"))?,
            created_at: time(row, c!("created_at"))?,
            updated_at: time(row, c!("updated_at"))?,
            revision: u64_col(row, c!("revision"))?,
        })
    })
}

pub(super) fn clear_other_primaries(tx: &Tx<'_>, f: &WorkflowFile) -> StoreResult<()> {
    if f.is_primary {
        tx.prepare_cached(
            "UPDATE workflow_files SET is_primary = 0 WHERE workflow_id = ?1 AND id <> ?2",
        )
        .map_err(db)?
        .execute(params![Id(&f.workflow_id), Id(&f.id)])
        .map_err(db)?;
    }
    Ok(())
}

pub(super) fn file_values(f: &WorkflowFile) -> StoreResult<Vec<Value>> {
    let v: &Version = &f.version;
    Ok(vec![
        Value::Text(f.id.to_string()),
        Value::Text(f.workflow_id.to_string()),
        Value::Text(f.kind.as_str().into()),
        Value::Text(f.file_name.clone()),
        Value::Text(f.storage_key.clone()),
        Value::Text(f.mime_type.clone()),
        Value::Text(v.to_string()),
        Value::Integer(i64::from(v.major())),
        Value::Integer(i64::from(v.minor())),
        Value::Integer(i64::from(v.patch())),
        Value::Integer(i64::from(f.is_primary)),
        Value::Text(json(&f.access)?),
        Value::Integer(i64_of(f.size_bytes)?),
        Value::Text(f.checksum.as_str().into()),
        Value::Text(ts(&f.created_at)),
        Value::Text(ts(&f.updated_at)),
    ])
}

//! Workflow updates: their rows.

use vault_core::catalog::update::WorkflowUpdate;
use vault_core::store::StoreResult;

use crate::codec::*;

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! update_cols {
    () => {
        "id, workflow_id, version, changelog, files_added, files_modified, \
    files_removed, release_notes, is_major, released_at"
    };
}
pub(crate) use update_cols;

pub(super) fn update_from_row(row: &Row<'_>) -> StoreResult<WorkflowUpdate> {
    decode("workflow_updates", || {
        Ok(WorkflowUpdate {
            id: parse(row, "id")?,
            workflow_id: parse(row, "workflow_id")?,
            version: parse(row, "version")?,
            changelog: json_col(row, "changelog")?,
            files_added: json_col(row, "files_added")?,
            files_modified: json_col(row, "files_modified")?,
            files_removed: json_col(row, "files_removed")?,
            release_notes: get(row, "release_notes")?,
            is_major: bool_col(row, "is_major")?,
            released_at: time(row, "released_at")?,
        })
    })
}

//! Workflows' pages in memory: assets and guides, each kind in its own map,
//! written by one generic set of functions (the two kinds differ only in
//! their editable fields).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{MemoryStore, REVISION_MOVED, State};
use crate::audit::entry::AuditEntry;
use crate::catalog::page::{
    MAX_PER_WORKFLOW, WorkflowAsset, WorkflowDoc, after_removal, append_position, reorder,
};
use crate::store::PageStore;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{AssetId, DocId, WorkflowId};

/// What the shared functions need of an asset or a guide.
trait Item: Clone {
    type Id: Copy + Ord + Eq + std::hash::Hash + std::fmt::Display;
    const ENTITY: Entity;
    fn id(&self) -> Self::Id;
    fn workflow(&self) -> WorkflowId;
    fn position(&self) -> u32;
    fn revision(&self) -> u64;
    fn set_position(&mut self, position: u32);
    /// The stored item with `edit`'s editable fields (and revision and
    /// `updated_at`), keeping what the store owns.
    fn edited(&self, edit: &Self) -> Self;
}

impl Item for WorkflowAsset {
    type Id = AssetId;
    const ENTITY: Entity = Entity::Asset;
    fn id(&self) -> AssetId {
        self.id
    }
    fn workflow(&self) -> WorkflowId {
        self.workflow_id
    }
    fn position(&self) -> u32 {
        self.position
    }
    fn revision(&self) -> u64 {
        self.revision
    }
    fn set_position(&mut self, position: u32) {
        self.position = position;
    }
    fn edited(&self, edit: &Self) -> Self {
        Self {
            kind: edit.kind,
            url: edit.url.clone(),
            alt: edit.alt.clone(),
            updated_at: edit.updated_at,
            revision: edit.revision,
            ..self.clone()
        }
    }
}

impl Item for WorkflowDoc {
    type Id = DocId;
    const ENTITY: Entity = Entity::Doc;
    fn id(&self) -> DocId {
        self.id
    }
    fn workflow(&self) -> WorkflowId {
        self.workflow_id
    }
    fn position(&self) -> u32 {
        self.position
    }
    fn revision(&self) -> u64 {
        self.revision
    }
    fn set_position(&mut self, position: u32) {
        self.position = position;
    }
    fn edited(&self, edit: &Self) -> Self {
        Self {
            title: edit.title.clone(),
            body: edit.body.clone(),
            updated_at: edit.updated_at,
            revision: edit.revision,
            ..self.clone()
        }
    }
}

/// A workflow's items by position, then id.
fn ordered<T: Item>(map: &BTreeMap<T::Id, T>, workflow: WorkflowId) -> Vec<T> {
    let mut items: Vec<T> = map
        .values()
        .filter(|i| i.workflow() == workflow)
        .cloned()
        .collect();
    items.sort_by(|a, b| {
        a.position()
            .cmp(&b.position())
            .then_with(|| a.id().cmp(&b.id()))
    });
    items
}

fn place<T: Item>(map: &mut BTreeMap<T::Id, T>, positions: Vec<(T::Id, u32)>) {
    for (id, position) in positions {
        if let Some(item) = map.get_mut(&id) {
            item.set_position(position);
        }
    }
}

fn insert<T: Item>(state: &State, map: &mut BTreeMap<T::Id, T>, item: &T) -> StoreResult<()> {
    if map.contains_key(&item.id()) {
        return Err(StoreError::exists(T::ENTITY, item.id()));
    }
    state.workflow(item.workflow())?;
    let count = map
        .values()
        .filter(|i| i.workflow() == item.workflow())
        .count();
    let position = append_position(count).ok_or_else(|| StoreError::LimitReached {
        entity: Entity::Workflow,
        key: item.workflow().to_string(),
        limit: MAX_PER_WORKFLOW as u32,
    })?;
    let mut stored = item.clone();
    stored.set_position(position);
    map.insert(item.id(), stored);
    Ok(())
}

fn update<T: Item>(
    map: &mut BTreeMap<T::Id, T>,
    item: &T,
    expected_revision: u64,
) -> StoreResult<()> {
    let stored = map
        .get(&item.id())
        .ok_or_else(|| StoreError::not_found(T::ENTITY, item.id()))?;
    if stored.revision() != expected_revision {
        return Err(StoreError::conflict(T::ENTITY, item.id(), REVISION_MOVED));
    }
    let next = stored.edited(item);
    map.insert(item.id(), next);
    Ok(())
}

fn remove<T: Item>(map: &mut BTreeMap<T::Id, T>, id: T::Id) -> StoreResult<()> {
    let workflow = map
        .get(&id)
        .map(Item::workflow)
        .ok_or_else(|| StoreError::not_found(T::ENTITY, id))?;
    let ids: Vec<T::Id> = ordered(map, workflow).iter().map(Item::id).collect();
    map.remove(&id);
    place(map, after_removal(&ids, id));
    Ok(())
}

fn reorder_items<T: Item>(
    state: &State,
    map: &mut BTreeMap<T::Id, T>,
    workflow: WorkflowId,
    order: &[T::Id],
) -> StoreResult<()> {
    state.workflow(workflow)?;
    let ids: Vec<T::Id> = ordered(map, workflow).iter().map(Item::id).collect();
    let positions = reorder(&ids, order)?;
    place(map, positions);
    Ok(())
}

// The page maps are taken out of the state while a write runs, so the
// shared functions can read the workflows beside them; they go back
// whatever the outcome (the functions check before they write).
impl State {
    fn with_assets<R>(
        &mut self,
        f: impl FnOnce(&State, &mut BTreeMap<AssetId, WorkflowAsset>) -> R,
    ) -> R {
        let mut map = std::mem::take(&mut self.assets);
        let out = f(self, &mut map);
        self.assets = map;
        out
    }

    fn with_docs<R>(
        &mut self,
        f: impl FnOnce(&State, &mut BTreeMap<DocId, WorkflowDoc>) -> R,
    ) -> R {
        let mut map = std::mem::take(&mut self.docs);
        let out = f(self, &mut map);
        self.docs = map;
        out
    }
}

#[async_trait]
impl PageStore for MemoryStore {
    async fn insert_asset(&self, asset: &WorkflowAsset, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.with_assets(|s, m| insert(s, m, asset)))
    }

    async fn update_asset(
        &self,
        asset: &WorkflowAsset,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.with_assets(|_, m| update(m, asset, expected_revision))
        })
    }

    async fn remove_asset(&self, id: AssetId, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.with_assets(|_, m| remove(m, id)))
    }

    async fn asset(&self, id: AssetId) -> StoreResult<Option<WorkflowAsset>> {
        Ok(self.lock().assets.get(&id).cloned())
    }

    async fn assets(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowAsset>> {
        Ok(ordered(&self.lock().assets, workflow))
    }

    async fn reorder_assets(
        &self,
        workflow: WorkflowId,
        order: &[AssetId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.with_assets(|s, m| reorder_items(s, m, workflow, order))
        })
    }

    async fn insert_doc(&self, doc: &WorkflowDoc, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.with_docs(|s, m| insert(s, m, doc)))
    }

    async fn update_doc(
        &self,
        doc: &WorkflowDoc,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.with_docs(|_, m| update(m, doc, expected_revision))
        })
    }

    async fn remove_doc(&self, id: DocId, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.with_docs(|_, m| remove(m, id)))
    }

    async fn doc(&self, id: DocId) -> StoreResult<Option<WorkflowDoc>> {
        Ok(self.lock().docs.get(&id).cloned())
    }

    async fn docs(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowDoc>> {
        Ok(ordered(&self.lock().docs, workflow))
    }

    async fn reorder_docs(
        &self,
        workflow: WorkflowId,
        order: &[DocId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.with_docs(|s, m| reorder_items(s, m, workflow, order))
        })
    }
}

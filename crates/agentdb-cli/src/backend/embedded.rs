//! The embedded backend: the engine on a local database directory, opened
//! per command (read-only for reads) and closed when the command ends.

use std::collections::BTreeMap;

use agentdb::{
    AgentDb, AgentState, ChunkHit, CollectionInfo, ConsolidationReport, DocFilter, DocumentInfo, FlushReport,
    ForgetPolicy, Fusion, GcReport, HistoryQuery, MaintenanceReport, Memory, MemoryFilter, Metric, NewDocument,
    NewMemory, RetrieveOptions, ScoredMemory, SearchOptions, Snapshot, StateRetention, StateType, StoreOutcome,
    VectorHit, VectorRecord,
};
use agentdb_server::routes::items::{
    GetItemsRequest, GetItemsResponse, ItemAddress, ItemDto, ListNamespacesRequest, PutItemRequest, SearchItemsRequest,
    SearchItemsResponse, WriteItemsRequest, WriteItemsResponse,
};
use serde_json::Value;

use super::{Backend, Result};

pub(crate) struct Embedded {
    pub(crate) db: AgentDb,
}

fn opts(filter: &MemoryFilter) -> RetrieveOptions {
    RetrieveOptions { filter: filter.clone(), ..Default::default() }
}

impl Backend for Embedded {
    fn save_state(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
        key: Option<&str>,
    ) -> Result<u64> {
        Ok(match key {
            Some(k) => self.db.save_state_keyed(agent_id, session_id, k, state_type, data, metadata)?,
            None => self.db.save_state_with_metadata(agent_id, session_id, state_type, data, metadata)?,
        })
    }
    fn load_state(&self, agent_id: u64, session_id: Option<u64>) -> Result<AgentState> {
        Ok(self.db.load_state(agent_id, session_id)?)
    }
    fn load_state_version(&self, agent_id: u64, session_id: u64, version: u64) -> Result<AgentState> {
        Ok(self.db.load_state_version(agent_id, session_id, version)?)
    }
    fn load_state_by_key(&self, agent_id: u64, session_id: u64, key: &str) -> Result<AgentState> {
        Ok(self.db.load_state_by_key(agent_id, session_id, key)?)
    }
    fn query_history(&self, query: &HistoryQuery) -> Result<Vec<AgentState>> {
        Ok(self.db.query_history(query)?)
    }
    fn state_history_page(
        &self,
        agent_id: u64,
        session_id: u64,
        before_version: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AgentState>> {
        Ok(self.db.state_history_page(agent_id, session_id, before_version, limit)?)
    }
    fn create_snapshot(&self, agent_id: u64, session_id: u64, name: &str) -> Result<Snapshot> {
        Ok(self.db.create_snapshot(agent_id, session_id, name)?)
    }
    fn list_snapshots(&self, agent_id: u64) -> Result<Vec<Snapshot>> {
        Ok(self.db.list_snapshots(agent_id)?)
    }
    fn restore_snapshot(&self, agent_id: u64, name: &str) -> Result<AgentState> {
        Ok(self.db.restore_snapshot(agent_id, name)?)
    }
    fn delete_agent(&self, agent_id: u64) -> Result<()> {
        Ok(self.db.delete_agent(agent_id)?)
    }

    fn store_memory_outcome(&self, memory: NewMemory) -> Result<StoreOutcome> {
        Ok(self.db.store_memory_outcome(memory)?)
    }
    fn retrieve(&self, agent_id: u64, query: &str, limit: usize, filter: &MemoryFilter) -> Result<Vec<ScoredMemory>> {
        Ok(self.db.retrieve(agent_id, query, limit, &opts(filter))?)
    }
    fn retrieve_similar(
        &self,
        agent_id: u64,
        vector: &[f32],
        limit: usize,
        filter: &MemoryFilter,
    ) -> Result<Vec<ScoredMemory>> {
        Ok(self.db.retrieve_similar(agent_id, vector, limit, &opts(filter))?)
    }
    fn get_memory(&self, memory_id: u64) -> Result<Memory> {
        Ok(self.db.get_memory(memory_id)?)
    }
    fn list_memories(&self, agent_id: u64) -> Result<Vec<Memory>> {
        Ok(self.db.list_memories(agent_id)?)
    }
    fn update_memory_importance(&self, memory_id: u64, importance: f32) -> Result<()> {
        Ok(self.db.update_memory_importance(memory_id, importance)?)
    }
    fn delete_memory(&self, memory_id: u64) -> Result<()> {
        Ok(self.db.delete_memory(memory_id)?)
    }
    fn pin_memory(&self, memory_id: u64) -> Result<()> {
        Ok(self.db.pin_memory(memory_id)?)
    }
    fn unpin_memory(&self, memory_id: u64) -> Result<()> {
        Ok(self.db.unpin_memory(memory_id)?)
    }
    fn consolidate(&self, agent_id: u64) -> Result<ConsolidationReport> {
        Ok(self.db.consolidate(agent_id)?)
    }
    fn forget(&self, agent_id: u64, policy: &ForgetPolicy) -> Result<usize> {
        Ok(self.db.forget(agent_id, policy)?)
    }

    fn index_document(&self, doc: NewDocument) -> Result<DocumentInfo> {
        Ok(self.db.index_document(doc)?)
    }
    fn semantic_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        Ok(self.db.semantic_search(query, limit, filter)?)
    }
    fn full_text_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        Ok(self.db.full_text_search(query, limit, filter)?)
    }
    fn hybrid_search(&self, query: &str, limit: usize, fusion: Fusion, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        Ok(self.db.hybrid_search(query, None, limit, fusion, filter)?)
    }
    fn get_document(&self, doc_id: &str) -> Result<DocumentInfo> {
        Ok(self.db.get_document(doc_id)?)
    }
    fn delete_document(&self, doc_id: &str) -> Result<()> {
        Ok(self.db.delete_document(doc_id)?)
    }

    fn create_collection(&self, name: &str, dimension: usize, metric: Metric) -> Result<CollectionInfo> {
        Ok(self.db.create_collection(name, dimension, metric)?)
    }
    fn insert_vector(
        &self,
        collection: &str,
        id: &str,
        vector: &[f32],
        metadata: BTreeMap<String, String>,
    ) -> Result<()> {
        Ok(self.db.insert_vector(collection, id, vector, metadata)?)
    }
    fn search_knn(&self, collection: &str, vector: &[f32], k: usize, opts: &SearchOptions) -> Result<Vec<VectorHit>> {
        Ok(self.db.search_knn(collection, vector, k, opts)?)
    }
    fn search_range(
        &self,
        collection: &str,
        vector: &[f32],
        radius: f32,
        max_results: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        Ok(self.db.search_range(collection, vector, radius, max_results, opts)?)
    }
    fn get_vector(&self, collection: &str, id: &str) -> Result<VectorRecord> {
        Ok(self.db.get_vector(collection, id)?)
    }
    fn delete_vector(&self, collection: &str, id: &str) -> Result<()> {
        Ok(self.db.delete_vector(collection, id)?)
    }
    fn list_collections(&self) -> Result<Vec<CollectionInfo>> {
        Ok(self.db.list_collections()?)
    }

    fn put_item(&self, put: PutItemRequest) -> Result<ItemDto> {
        Ok(self.db.put_item(put.into())?.into())
    }
    fn get_items(&self, request: GetItemsRequest) -> Result<GetItemsResponse> {
        let addresses: Vec<(Vec<String>, String)> =
            request.addresses.into_iter().map(|a| (a.namespace, a.key)).collect();
        let items = self.db.get_items(&addresses, request.refresh_ttl)?;
        Ok(GetItemsResponse { items: items.into_iter().map(|i| i.map(ItemDto::from)).collect() })
    }
    fn delete_item(&self, address: ItemAddress) -> Result<bool> {
        Ok(self.db.delete_item(&address.namespace, &address.key)?)
    }
    fn write_items(&self, request: WriteItemsRequest) -> Result<WriteItemsResponse> {
        let writes = request.writes.into_iter().map(agentdb::ItemWrite::from).collect();
        Ok(self.db.write_items(writes)?.into())
    }
    fn search_items(&self, request: SearchItemsRequest) -> Result<SearchItemsResponse> {
        Ok(self.db.search_items(&request.into())?.into())
    }
    fn list_item_namespaces(&self, request: ListNamespacesRequest) -> Result<Vec<Vec<String>>> {
        Ok(self.db.list_item_namespaces(&request.into())?)
    }
    fn sweep_expired_items(&self) -> Result<usize> {
        Ok(self.db.sweep_expired_items()?)
    }

    fn stats(&self) -> Result<Value> {
        Ok(serde_json::to_value(self.db.stats()?).map_err(std::io::Error::other)?)
    }
    fn flush(&self) -> Result<FlushReport> {
        Ok(self.db.flush()?)
    }
    fn compact(&self) -> Result<MaintenanceReport> {
        Ok(self.db.compact()?)
    }
    fn gc_with(&self, retention: &StateRetention) -> Result<GcReport> {
        Ok(self.db.gc_with(retention)?)
    }
}

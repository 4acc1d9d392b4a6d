//! The one interface every subcommand runs against, with two
//! implementations: `Embedded` opens a database directory with the engine,
//! `Remote` calls a running `agentdb serve` over HTTP (`--url`). The
//! methods mirror `AgentDb`'s and take and return the engine's types (items:
//! the server's request and response types, which are also the CLI's
//! `--request` JSON), so printing is written once and both modes print the
//! same. Neither implementation applies a default of its own: an argument
//! the user left out got the engine's default from clap, and a field the
//! remote side leaves out of a request gets the server's, which is the
//! engine's.

mod embedded;
mod remote;

use std::collections::BTreeMap;

use agentdb::{
    AgentState, ChunkHit, CollectionInfo, ConsolidationReport, DocFilter, DocumentInfo, FlushReport, ForgetPolicy,
    Fusion, GcReport, HistoryQuery, MaintenanceReport, Memory, MemoryFilter, Metric, NewDocument, NewMemory,
    ScoredMemory, SearchOptions, Snapshot, StateRetention, StateType, StoreOutcome, VectorHit, VectorRecord,
};
use agentdb_server::routes::items::{
    GetItemsRequest, GetItemsResponse, ItemAddress, ItemDto, ListNamespacesRequest, PutItemRequest, SearchItemsRequest,
    SearchItemsResponse, WriteItemsRequest, WriteItemsResponse,
};
use serde_json::Value;

pub(crate) use embedded::Embedded;
pub(crate) use remote::Remote;

/// A failure of a subcommand: the engine's error (embedded, or raised by the
/// CLI itself), an error response of the server, or no answer from it.
#[derive(Debug)]
pub(crate) enum CliError {
    Engine(agentdb::Error),
    /// The server's `{"code", "message"}`; `code` is the engine's
    /// `Error::code()` for engine errors, or one of the server's own
    /// (`unauthenticated`, `forbidden`, `not_ready`…).
    Server {
        code: String,
        message: String,
    },
    /// The server could not be reached, or did not answer over HTTP.
    Unreachable(String),
}

impl From<agentdb::Error> for CliError {
    fn from(e: agentdb::Error) -> Self {
        CliError::Engine(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Engine(e.into())
    }
}

impl CliError {
    pub(crate) fn code(&self) -> &str {
        match self {
            CliError::Engine(e) => e.code(),
            CliError::Server { code, .. } => code,
            CliError::Unreachable(_) => "unreachable",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            CliError::Engine(e) => e.to_string(),
            CliError::Server { message, .. } => message.clone(),
            CliError::Unreachable(m) => m.clone(),
        }
    }

    /// Distinct exit codes let scripts tell "not found" from real failures;
    /// decided by the error code, so a server's error exits as the engine's
    /// error of the same kind would have.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.code() {
            "not_found" => 3,
            "invalid_argument" | "payload_too_large" | "already_exists" | "dimension_mismatch" => 2,
            "locked" => 4,
            _ => 1,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, CliError>;

/// The operations the subcommands need, named as `AgentDb` names them.
pub(crate) trait Backend {
    // states
    fn save_state(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
        key: Option<&str>,
    ) -> Result<u64>;
    fn load_state(&self, agent_id: u64, session_id: Option<u64>) -> Result<AgentState>;
    fn load_state_version(&self, agent_id: u64, session_id: u64, version: u64) -> Result<AgentState>;
    fn load_state_by_key(&self, agent_id: u64, session_id: u64, key: &str) -> Result<AgentState>;
    fn query_history(&self, query: &HistoryQuery) -> Result<Vec<AgentState>>;
    fn state_history_page(
        &self,
        agent_id: u64,
        session_id: u64,
        before_version: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AgentState>>;
    fn create_snapshot(&self, agent_id: u64, session_id: u64, name: &str) -> Result<Snapshot>;
    fn list_snapshots(&self, agent_id: u64) -> Result<Vec<Snapshot>>;
    fn restore_snapshot(&self, agent_id: u64, name: &str) -> Result<AgentState>;
    fn delete_agent(&self, agent_id: u64) -> Result<()>;

    // memories
    fn store_memory_outcome(&self, memory: NewMemory) -> Result<StoreOutcome>;
    fn retrieve(&self, agent_id: u64, query: &str, limit: usize, filter: &MemoryFilter) -> Result<Vec<ScoredMemory>>;
    fn retrieve_similar(
        &self,
        agent_id: u64,
        vector: &[f32],
        limit: usize,
        filter: &MemoryFilter,
    ) -> Result<Vec<ScoredMemory>>;
    fn get_memory(&self, memory_id: u64) -> Result<Memory>;
    fn list_memories(&self, agent_id: u64) -> Result<Vec<Memory>>;
    fn update_memory_importance(&self, memory_id: u64, importance: f32) -> Result<()>;
    fn delete_memory(&self, memory_id: u64) -> Result<()>;
    fn pin_memory(&self, memory_id: u64) -> Result<()>;
    fn unpin_memory(&self, memory_id: u64) -> Result<()>;
    fn consolidate(&self, agent_id: u64) -> Result<ConsolidationReport>;
    fn forget(&self, agent_id: u64, policy: &ForgetPolicy) -> Result<usize>;

    // documents
    fn index_document(&self, doc: NewDocument) -> Result<DocumentInfo>;
    fn semantic_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>>;
    fn full_text_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>>;
    fn hybrid_search(&self, query: &str, limit: usize, fusion: Fusion, filter: &DocFilter) -> Result<Vec<ChunkHit>>;
    fn get_document(&self, doc_id: &str) -> Result<DocumentInfo>;
    fn delete_document(&self, doc_id: &str) -> Result<()>;

    // vector collections
    fn create_collection(&self, name: &str, dimension: usize, metric: Metric) -> Result<CollectionInfo>;
    fn insert_vector(
        &self,
        collection: &str,
        id: &str,
        vector: &[f32],
        metadata: BTreeMap<String, String>,
    ) -> Result<()>;
    fn search_knn(&self, collection: &str, vector: &[f32], k: usize, opts: &SearchOptions) -> Result<Vec<VectorHit>>;
    fn search_range(
        &self,
        collection: &str,
        vector: &[f32],
        radius: f32,
        max_results: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<VectorHit>>;
    fn get_vector(&self, collection: &str, id: &str) -> Result<VectorRecord>;
    fn delete_vector(&self, collection: &str, id: &str) -> Result<()>;
    fn list_collections(&self) -> Result<Vec<CollectionInfo>>;

    // items
    fn put_item(&self, put: PutItemRequest) -> Result<ItemDto>;
    fn get_items(&self, request: GetItemsRequest) -> Result<GetItemsResponse>;
    fn delete_item(&self, address: ItemAddress) -> Result<bool>;
    fn write_items(&self, request: WriteItemsRequest) -> Result<WriteItemsResponse>;
    fn search_items(&self, request: SearchItemsRequest) -> Result<SearchItemsResponse>;
    fn list_item_namespaces(&self, request: ListNamespacesRequest) -> Result<Vec<Vec<String>>>;
    fn sweep_expired_items(&self) -> Result<usize>;

    // database-wide
    /// `AgentDb::stats` as the engine serialises it (the server passes it through).
    fn stats(&self) -> Result<Value>;
    fn flush(&self) -> Result<FlushReport>;
    fn compact(&self) -> Result<MaintenanceReport>;
    fn gc_with(&self, retention: &StateRetention) -> Result<GcReport>;
}

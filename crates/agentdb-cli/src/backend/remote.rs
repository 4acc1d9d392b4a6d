//! The remote backend: `agentdb --url http://host:port` calls a running
//! `agentdb serve` (crates/agentdb-server) over its `/v1` REST API. Request
//! bodies carry only what the user gave (a field left out gets the server's
//! default, which is the engine's); responses are the server's types,
//! converted back to the engine's so the subcommands print them as in
//! embedded mode. Errors are the server's `{"code", "message"}`.
//!
//! reqwest is used async on a current-thread tokio runtime owned here, with
//! the workspace's feature set (the one LanceDB's object store links), so
//! the CLI adds no crate and rebuilds nothing of LanceDB's.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{
    AgentState, ChunkHit, CollectionInfo, ConsolidationReport, DocFilter, DocumentInfo, FlushReport, ForgetPolicy,
    Fusion, GcReport, HistoryQuery, MaintenanceReport, Memory, MemoryFilter, MergeGroup, Metric, NewDocument,
    NewMemory, ScoredMemory, SearchOptions, Snapshot, StateRetention, StateType, StoreKind, StoreOutcome, VectorHit,
    VectorRecord,
};
use agentdb_server::error::ErrorBody;
use agentdb_server::routes::collections::{CollectionDto, VectorHitDto};
use agentdb_server::routes::documents::ChunkHitDto;
use agentdb_server::routes::items::{
    DeleteItemResponse, GetItemsRequest, GetItemsResponse, ItemAddress, ItemDto, ListNamespacesRequest,
    ListNamespacesResponse, PutItemRequest, SearchItemsRequest, SearchItemsResponse, SweepItemsResponse,
    WriteItemsRequest, WriteItemsResponse,
};
use agentdb_server::routes::memories::{ConsolidationDto, ForgetResponse, StoreKindDto, StoreOutcomeDto};
use agentdb_server::routes::states::{SaveStateResponse, StateDto};
use base64::Engine as _;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Backend, CliError, Result};

/// How long to wait for a TCP connection before calling the server unreachable.
const CONNECT_TIMEOUT_MS: u64 = 5_000;

pub(crate) struct Remote {
    base: Url,
    api_key: Option<String>,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

/// A URL path as segments; `Remote::url` percent-encodes each (an id may hold '/', '?', '#').
fn path(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| s.to_string()).collect()
}

fn bad_response(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Unreachable(format!("the server's answer to {what} is not what this CLI expects: {e}"))
}

impl Remote {
    pub(crate) fn new(url: &str, api_key: Option<String>) -> Result<Remote> {
        let base =
            Url::parse(url).map_err(|e| agentdb::Error::InvalidArgument(format!("--url {url:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(agentdb::Error::InvalidArgument(format!("--url {url:?}: give http://host:port")).into());
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
            .build()
            .map_err(|e| CliError::Unreachable(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Remote { base, api_key, http, rt })
    }

    fn url(&self, segments: &[String]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty().extend(segments);
        }
        url
    }

    /// One request; the response body on a 2xx, the server's error otherwise.
    fn send(
        &self,
        method: Method,
        segments: &[String],
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Vec<u8>> {
        let url = self.url(segments);
        let what = format!("{method} {}", url.path());
        let mut rb = self.http.request(method, url.clone());
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(k) = &self.api_key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            let bytes = serde_json::to_vec(&b).map_err(|e| bad_response(&what, e))?;
            rb = rb.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes);
        }
        self.rt.block_on(async {
            let resp = rb.send().await.map_err(|e| {
                // reqwest's own text is generic ("error sending request"); the root cause says why.
                let mut cause: &dyn std::error::Error = &e;
                while let Some(s) = cause.source() {
                    cause = s;
                }
                CliError::Unreachable(format!("cannot reach the AgentDB server at {}: {cause}", self.base))
            })?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(|e| CliError::Unreachable(format!("{what}: {e}")))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => Err(CliError::Server { code: b.code, message: b.message }),
                Err(_) => Err(CliError::Server {
                    code: format!("http_{}", status.as_u16()),
                    message: format!("{what}: HTTP {status}: {}", String::from_utf8_lossy(&bytes)),
                }),
            }
        })
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[String],
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T> {
        let bytes = self.send(method, segments, query, body)?;
        serde_json::from_slice(&bytes).map_err(|e| bad_response(&segments.join("/"), e))
    }

    fn get<T: DeserializeOwned>(&self, segments: &[&str], query: &[(&str, String)]) -> Result<T> {
        self.call(Method::GET, &path(segments), query, None)
    }

    fn post<T: DeserializeOwned>(&self, segments: &[&str], body: Value) -> Result<T> {
        self.call(Method::POST, &path(segments), &[], Some(body))
    }

    /// A request answered with 204 and no body.
    fn no_content(&self, method: Method, segments: &[&str], body: Option<Value>) -> Result<()> {
        self.send(method, &path(segments), &[], body).map(|_| ())
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    Ok(serde_json::to_value(v).map_err(std::io::Error::other)?)
}

fn state(s: StateDto) -> Result<AgentState> {
    let data = match (s.data, s.data_base64) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| bad_response("a state", format!("data_base64: {e}")))?,
        (None, None) => Vec::new(),
    };
    Ok(AgentState {
        agent_id: s.agent_id,
        session_id: s.session_id,
        version: s.version,
        timestamp_ms: s.timestamp_ms,
        state_type: s.state_type.into(),
        data: data.into(),
        metadata: s.metadata,
        checksum: s.checksum,
        key: s.key,
    })
}

fn states(list: Vec<StateDto>) -> Result<Vec<AgentState>> {
    list.into_iter().map(state).collect()
}

fn hit(h: ChunkHitDto) -> ChunkHit {
    ChunkHit {
        chunk_id: h.chunk_id,
        doc_id: h.doc_id,
        position: h.position,
        start_char: h.start_char,
        end_char: h.end_char,
        content: h.content,
        score: h.score,
    }
}

fn vector_hit(h: VectorHitDto) -> VectorHit {
    VectorHit { id: h.id, distance: h.distance, metadata: h.metadata, vector: h.vector.unwrap_or_default() }
}

fn collection(c: CollectionDto) -> CollectionInfo {
    CollectionInfo { name: c.name, dimension: c.dimension, metric: c.metric.into() }
}

/// A scored memory as the server sends it; `Memory` has the server's shape.
#[derive(Deserialize)]
struct Scored {
    memory: Memory,
    score: f32,
    relevance: f32,
    recency: f32,
}

fn memory_filter(f: &MemoryFilter) -> Value {
    json!({
        "memory_types": f.memory_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "created_after_ms": f.created_after_ms,
        "created_before_ms": f.created_before_ms,
        "metadata": f.metadata,
    })
}

fn doc_filter(f: &DocFilter) -> Value {
    json!({"doc_ids": f.doc_ids, "metadata": f.metadata})
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Remote {
    fn retrieve_body(
        &self,
        agent_id: u64,
        mut body: Value,
        limit: usize,
        filter: &MemoryFilter,
    ) -> Result<Vec<ScoredMemory>> {
        body["limit"] = json!(limit);
        body["filter"] = memory_filter(filter);
        let rows: Vec<Scored> = self.post(&["v1", "agents", &agent_id.to_string(), "memories", "retrieve"], body)?;
        Ok(rows
            .into_iter()
            .map(|s| ScoredMemory { memory: s.memory, score: s.score, relevance: s.relevance, recency: s.recency })
            .collect())
    }

    fn search_docs(&self, mut body: Value, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        body["limit"] = json!(limit);
        body["filter"] = doc_filter(filter);
        let rows: Vec<ChunkHitDto> = self.post(&["v1", "documents", "search"], body)?;
        Ok(rows.into_iter().map(hit).collect())
    }

    fn search_vectors(&self, collection: &str, mut body: Value, opts: &SearchOptions) -> Result<Vec<VectorHit>> {
        body["metadata"] = json!(opts.metadata);
        if let Some(n) = opts.nprobes {
            body["nprobes"] = json!(n);
        }
        if let Some(n) = opts.refine_factor {
            body["refine_factor"] = json!(n);
        }
        let rows: Vec<VectorHitDto> = self.post(&["v1", "collections", collection, "search"], body)?;
        Ok(rows.into_iter().map(vector_hit).collect())
    }
}

impl Backend for Remote {
    fn save_state(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
        key: Option<&str>,
    ) -> Result<u64> {
        let mut body = json!({"state_type": state_type.as_str(), "metadata": metadata, "key": key});
        match std::str::from_utf8(data) {
            Ok(text) => body["data"] = json!(text),
            Err(_) => body["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(data)),
        }
        let r: SaveStateResponse =
            self.post(&["v1", "agents", &agent_id.to_string(), "sessions", &session_id.to_string(), "states"], body)?;
        Ok(r.version)
    }
    fn load_state(&self, agent_id: u64, session_id: Option<u64>) -> Result<AgentState> {
        let query: Vec<(&str, String)> = session_id.map(|s| ("session_id", s.to_string())).into_iter().collect();
        state(self.get(&["v1", "agents", &agent_id.to_string(), "state"], &query)?)
    }
    fn load_state_version(&self, agent_id: u64, session_id: u64, version: u64) -> Result<AgentState> {
        let (a, s, v) = (agent_id.to_string(), session_id.to_string(), version.to_string());
        state(self.get(&["v1", "agents", &a, "sessions", &s, "states", &v], &[])?)
    }
    fn load_state_by_key(&self, agent_id: u64, session_id: u64, key: &str) -> Result<AgentState> {
        let (a, s) = (agent_id.to_string(), session_id.to_string());
        state(self.get(&["v1", "agents", &a, "sessions", &s, "states", "by-key"], &[("key", key.to_string())])?)
    }
    fn query_history(&self, q: &HistoryQuery) -> Result<Vec<AgentState>> {
        let mut query = vec![("limit", q.limit.to_string())];
        if let Some(s) = q.session_id {
            query.push(("session_id", s.to_string()));
        }
        if let Some(t) = q.from_ms {
            query.push(("from_ms", t.to_string()));
        }
        if let Some(t) = q.to_ms {
            query.push(("to_ms", t.to_string()));
        }
        states(self.get(&["v1", "agents", &q.agent_id.to_string(), "history"], &query)?)
    }
    fn state_history_page(
        &self,
        agent_id: u64,
        session_id: u64,
        before_version: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AgentState>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(v) = before_version {
            query.push(("before_version", v.to_string()));
        }
        let (a, s) = (agent_id.to_string(), session_id.to_string());
        states(self.get(&["v1", "agents", &a, "sessions", &s, "states"], &query)?)
    }
    fn create_snapshot(&self, agent_id: u64, session_id: u64, name: &str) -> Result<Snapshot> {
        let (a, s) = (agent_id.to_string(), session_id.to_string());
        self.post(&["v1", "agents", &a, "sessions", &s, "snapshots"], json!({"name": name}))
    }
    fn list_snapshots(&self, agent_id: u64) -> Result<Vec<Snapshot>> {
        self.get(&["v1", "agents", &agent_id.to_string(), "snapshots"], &[])
    }
    fn restore_snapshot(&self, agent_id: u64, name: &str) -> Result<AgentState> {
        let a = agent_id.to_string();
        state(self.call(Method::POST, &path(&["v1", "agents", &a, "snapshots", name, "restore"]), &[], None)?)
    }
    fn delete_agent(&self, agent_id: u64) -> Result<()> {
        self.no_content(Method::DELETE, &["v1", "agents", &agent_id.to_string()], None)
    }

    fn store_memory_outcome(&self, m: NewMemory) -> Result<StoreOutcome> {
        let body = json!({
            "agent_id": m.agent_id,
            "memory_type": m.memory_type.as_str(),
            "content": m.content,
            "embedding": m.embedding,
            "importance": m.importance,
            "ttl_ms": m.ttl.map(millis),
            "metadata": m.metadata,
        });
        let o: StoreOutcomeDto = self.post(&["v1", "memories"], body)?;
        let kind = match o.kind {
            StoreKindDto::Stored => StoreKind::Stored,
            StoreKindDto::Duplicate => StoreKind::Duplicate,
            StoreKindDto::Merged => StoreKind::Merged { absorbed: o.absorbed },
        };
        Ok(StoreOutcome { memory_id: o.memory_id, kind, evicted: o.evicted })
    }
    fn retrieve(&self, agent_id: u64, query: &str, limit: usize, filter: &MemoryFilter) -> Result<Vec<ScoredMemory>> {
        self.retrieve_body(agent_id, json!({"query": query}), limit, filter)
    }
    fn retrieve_similar(
        &self,
        agent_id: u64,
        vector: &[f32],
        limit: usize,
        filter: &MemoryFilter,
    ) -> Result<Vec<ScoredMemory>> {
        self.retrieve_body(agent_id, json!({"vector": vector}), limit, filter)
    }
    fn get_memory(&self, memory_id: u64) -> Result<Memory> {
        self.get(&["v1", "memories", &memory_id.to_string()], &[])
    }
    fn list_memories(&self, agent_id: u64) -> Result<Vec<Memory>> {
        self.get(&["v1", "agents", &agent_id.to_string(), "memories"], &[])
    }
    fn update_memory_importance(&self, memory_id: u64, importance: f32) -> Result<()> {
        let body = json!({"importance": importance});
        self.no_content(Method::PATCH, &["v1", "memories", &memory_id.to_string()], Some(body))
    }
    fn delete_memory(&self, memory_id: u64) -> Result<()> {
        self.no_content(Method::DELETE, &["v1", "memories", &memory_id.to_string()], None)
    }
    fn pin_memory(&self, memory_id: u64) -> Result<()> {
        self.no_content(Method::PUT, &["v1", "memories", &memory_id.to_string(), "pin"], None)
    }
    fn unpin_memory(&self, memory_id: u64) -> Result<()> {
        self.no_content(Method::DELETE, &["v1", "memories", &memory_id.to_string(), "pin"], None)
    }
    fn consolidate(&self, agent_id: u64) -> Result<ConsolidationReport> {
        let r: ConsolidationDto = self.call(
            Method::POST,
            &path(&["v1", "agents", &agent_id.to_string(), "memories", "consolidate"]),
            &[],
            None,
        )?;
        Ok(ConsolidationReport {
            agent_id: r.agent_id,
            examined: r.examined,
            groups: r
                .groups
                .into_iter()
                .map(|g| MergeGroup { memory_type: g.memory_type.into(), kept: g.kept, absorbed: g.absorbed })
                .collect(),
            remaining: r.remaining,
        })
    }
    fn forget(&self, agent_id: u64, policy: &ForgetPolicy) -> Result<usize> {
        let body = json!({
            "older_than_ms": millis(policy.older_than),
            "min_importance": policy.min_importance,
            "decay_half_life_ms": millis(policy.decay_half_life),
        });
        let r: ForgetResponse = self.post(&["v1", "agents", &agent_id.to_string(), "memories", "forget"], body)?;
        Ok(r.forgotten)
    }

    fn index_document(&self, doc: NewDocument) -> Result<DocumentInfo> {
        let body = json!({
            "doc_id": doc.doc_id, "title": doc.title, "text": doc.text, "metadata": doc.metadata,
            "chunk_vectors": doc.chunk_vectors,
        });
        self.post(&["v1", "documents"], body)
    }
    fn semantic_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        self.search_docs(json!({"mode": "semantic", "query": query}), limit, filter)
    }
    fn full_text_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        self.search_docs(json!({"mode": "full_text", "query": query}), limit, filter)
    }
    fn hybrid_search(&self, query: &str, limit: usize, fusion: Fusion, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        let fusion = match fusion {
            Fusion::ReciprocalRank => json!({"kind": "reciprocal_rank"}),
            Fusion::Weighted { alpha } => json!({"kind": "weighted", "alpha": alpha}),
        };
        self.search_docs(json!({"mode": "hybrid", "query": query, "fusion": fusion}), limit, filter)
    }
    fn get_document(&self, doc_id: &str) -> Result<DocumentInfo> {
        self.get(&["v1", "documents", doc_id], &[])
    }
    fn delete_document(&self, doc_id: &str) -> Result<()> {
        self.no_content(Method::DELETE, &["v1", "documents", doc_id], None)
    }

    fn create_collection(&self, name: &str, dimension: usize, metric: Metric) -> Result<CollectionInfo> {
        let body = json!({"name": name, "dimension": dimension, "metric": metric.as_str()});
        Ok(collection(self.post(&["v1", "collections"], body)?))
    }
    fn insert_vector(
        &self,
        collection: &str,
        id: &str,
        vector: &[f32],
        metadata: BTreeMap<String, String>,
    ) -> Result<()> {
        let body = json!({"vectors": [{"id": id, "vector": vector, "metadata": metadata}]});
        self.post::<Value>(&["v1", "collections", collection, "vectors"], body).map(|_| ())
    }
    fn search_knn(&self, collection: &str, vector: &[f32], k: usize, opts: &SearchOptions) -> Result<Vec<VectorHit>> {
        self.search_vectors(collection, json!({"vector": vector, "k": k}), opts)
    }
    fn search_range(
        &self,
        collection: &str,
        vector: &[f32],
        radius: f32,
        max_results: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        self.search_vectors(collection, json!({"vector": vector, "radius": radius, "max_results": max_results}), opts)
    }
    fn get_vector(&self, collection: &str, id: &str) -> Result<VectorRecord> {
        self.get(&["v1", "collections", collection, "vectors", id], &[])
    }
    fn delete_vector(&self, collection: &str, id: &str) -> Result<()> {
        self.no_content(Method::DELETE, &["v1", "collections", collection, "vectors", id], None)
    }
    fn list_collections(&self) -> Result<Vec<CollectionInfo>> {
        let list: Vec<CollectionDto> = self.get(&["v1", "collections"], &[])?;
        Ok(list.into_iter().map(collection).collect())
    }

    fn put_item(&self, put: PutItemRequest) -> Result<ItemDto> {
        self.post(&["v1", "items", "put"], to_json(&put)?)
    }
    fn get_items(&self, request: GetItemsRequest) -> Result<GetItemsResponse> {
        self.post(&["v1", "items", "get"], to_json(&request)?)
    }
    fn delete_item(&self, address: ItemAddress) -> Result<bool> {
        let r: DeleteItemResponse = self.post(&["v1", "items", "delete"], to_json(&address)?)?;
        Ok(r.deleted)
    }
    fn write_items(&self, request: WriteItemsRequest) -> Result<WriteItemsResponse> {
        self.post(&["v1", "items", "write"], to_json(&request)?)
    }
    fn search_items(&self, request: SearchItemsRequest) -> Result<SearchItemsResponse> {
        self.post(&["v1", "items", "search"], to_json(&request)?)
    }
    fn list_item_namespaces(&self, request: ListNamespacesRequest) -> Result<Vec<Vec<String>>> {
        let r: ListNamespacesResponse = self.post(&["v1", "items", "namespaces"], to_json(&request)?)?;
        Ok(r.namespaces)
    }
    fn sweep_expired_items(&self) -> Result<usize> {
        let r: SweepItemsResponse = self.call(Method::POST, &path(&["v1", "items", "sweep"]), &[], None)?;
        Ok(r.deleted)
    }

    fn stats(&self) -> Result<Value> {
        self.get(&["v1", "admin", "stats"], &[])
    }
    fn flush(&self) -> Result<FlushReport> {
        self.call(Method::POST, &path(&["v1", "admin", "flush"]), &[], None)
    }
    fn compact(&self) -> Result<MaintenanceReport> {
        self.call(Method::POST, &path(&["v1", "admin", "compact"]), &[], None)
    }
    fn gc_with(&self, retention: &StateRetention) -> Result<GcReport> {
        let body =
            json!({"keep_last": retention.keep_last, "keep_newer_than_ms": retention.keep_newer_than.map(millis)});
        let r: Value = self.post(&["v1", "admin", "gc"], body)?;
        #[derive(Deserialize)]
        struct Gc {
            state_versions_removed: u64,
            maintenance: MaintenanceReport,
        }
        let gc: Gc = serde_json::from_value(r).map_err(|e| bad_response("gc", e))?;
        Ok(GcReport { state_versions_removed: gc.state_versions_removed, maintenance: gc.maintenance })
    }
}

impl Remote {
    /// The server's `agentdb::defaults` (GET /v1/defaults).
    pub(crate) fn defaults(&self) -> Result<Value> {
        self.get(&["v1", "defaults"], &[])
    }
}

//! `agentdb`: the command-line surface. Argument parsing and printing only;
//! every rule lives in the engine. Each subcommand runs against one
//! `backend::Backend`: the engine on a local directory (`--path`, the
//! default), or a running `agentdb serve` (`--url`, remote mode), so both
//! modes take the same arguments and print the same output.

#![deny(clippy::unwrap_used)]

mod backend;
mod quickstart;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

mod import;
mod items;

use agentdb::{
    AgentDb, AgentState, ChunkHit, DocFilter, Error, ForgetPolicy, FsyncPolicy, Fusion, HistoryQuery, Memory,
    MemoryFilter, MemoryType, Metric, NewDocument, NewMemory, Options, SearchOptions, StateType,
};
use backend::{Backend, CliError};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

const DEFAULT_PATH: &str = "agentdb-data";
const MS_PER_DAY: f64 = 86_400_000.0;

/// `agentdb --version`: the engine's version and the commit this binary was built from (build.rs).
fn version_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| format!("{} (commit {})", agentdb::VERSION, env!("AGENTDB_BUILD_COMMIT")))
}

#[derive(Parser)]
#[command(name = "agentdb", version = version_line(), about = "AgentDB: an embedded state database for AI agents")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Global {
    /// Database directory (created on first use).
    #[arg(long, global = true, env = "AGENTDB_PATH", conflicts_with = "url")]
    path: Option<PathBuf>,
    /// Remote mode: run the subcommand against a running `agentdb serve` at
    /// this URL (http://host:port) instead of a database directory. Not for
    /// quickstart and serve; the open options (--path, --fsync, --max-payload-bytes,
    /// --memory-dimension, --chunk-chars, --chunk-overlap) are the server's config then.
    #[arg(long, global = true, env = "AGENTDB_URL", value_name = "URL")]
    url: Option<String>,
    /// The API key for --url, sent as `Authorization: Bearer KEY`.
    #[arg(long, global = true, env = "AGENTDB_API_KEY", value_name = "KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// WAL fsync policy: always, batch, batch:MS or never.
    #[arg(long, global = true, default_value = agentdb::defaults::defaults().options.fsync, conflicts_with = "url")]
    fsync: String,
    /// Largest accepted state payload, in bytes (default: the engine's; see `agentdb defaults`).
    #[arg(long, global = true, conflicts_with = "url")]
    max_payload_bytes: Option<usize>,
    /// Dimension of memory embeddings and document chunks (default: the
    /// engine's, the built-in model's); a database keeps the one it was created with.
    #[arg(long, global = true, conflicts_with = "url")]
    memory_dimension: Option<usize>,
    /// Document chunk size in characters (default: the engine's; see `agentdb defaults`).
    #[arg(long, global = true, conflicts_with = "url")]
    chunk_chars: Option<usize>,
    /// Characters shared by consecutive chunks (default: the engine's; see `agentdb defaults`).
    #[arg(long, global = true, conflicts_with = "url")]
    chunk_overlap: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Walk through AgentDB end to end on an embedded database, with timings (local only: refuses --url).
    Quickstart,
    /// Save, load and manage agent state.
    #[command(subcommand)]
    State(StateCmd),
    /// Store, retrieve and manage an agent's memories.
    #[command(subcommand)]
    Memory(MemoryCmd),
    /// Index and search documents (RAG).
    #[command(subcommand)]
    Doc(DocCmd),
    /// Vector collections: create, insert, search.
    #[command(subcommand)]
    Vector(VectorCmd),
    /// Items: JSON values by namespace (labels) and key, with TTL, filters and namespace listing.
    #[command(subcommand)]
    Item(items::ItemCmd),
    /// Import JSONL: one object per line with "kind": "state" | "memory" | "document" | "vector".
    Import {
        /// The JSONL file ("-" for stdin).
        file: PathBuf,
    },
    /// Rows, fragments, versions and disk use of every table; WAL and memtable.
    Stats,
    /// Flush, compact, index and prune old versions now.
    Compact,
    /// Write pending records to Lance now (closing the database does too).
    Flush,
    /// Every default the engine applies to an argument left out, and the open options' defaults.
    Defaults,
    /// Run the HTTP server (REST /v1, OpenAPI at /openapi.json, /metrics); see
    /// crates/agentdb-server/agentdb.example.toml. Ignores --path and --fsync:
    /// the config file and AGENTDB_<SECTION>__<KEY> variables set everything.
    /// Local only: refuses --url.
    Serve {
        /// TOML config file (default: built-in defaults, 127.0.0.1:7878, ./agentdb-data).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the effective config (key hashes redacted) and exit.
        #[arg(long)]
        print_config: bool,
        /// Read an API key on stdin and print its sha256 for the config, then exit.
        #[arg(long)]
        hash_key: bool,
    },
    /// Delete old state versions (keeping every latest version and snapshot), then compact and prune.
    Gc {
        /// Keep the newest N versions of each agent/session.
        #[arg(long)]
        keep_last: Option<u64>,
        /// Keep versions saved within this many hours.
        #[arg(long)]
        keep_newer_than_hours: Option<f64>,
    },
}

#[derive(Subcommand)]
enum StateCmd {
    /// Save a new version; data from --data, --file, or stdin.
    Save {
        #[arg(long)]
        agent: u64,
        #[arg(long, default_value_t = agentdb::defaults::SESSION_ID)]
        session: u64,
        #[arg(long = "type", default_value = agentdb::defaults::STATE_TYPE.as_str())]
        state_type: String,
        #[arg(long, conflicts_with = "file")]
        data: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Metadata entries, KEY=VALUE (repeatable).
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
        /// A key for this version (a checkpoint id, a step name; 1–1,024 bytes of
        /// any text): `state load --key` finds the newest version carrying it.
        #[arg(long)]
        key: Option<String>,
    },
    /// Load the latest state (or --version, or the newest version with --key).
    Load {
        #[arg(long)]
        agent: u64,
        #[arg(long)]
        session: Option<u64>,
        #[arg(long, requires = "session", conflicts_with = "key")]
        version: Option<u64>,
        /// The newest version of --session saved with exactly this key.
        #[arg(long, requires = "session")]
        key: Option<String>,
        /// Write only the raw payload bytes to stdout.
        #[arg(long)]
        raw: bool,
    },
    /// Versions newest first, optionally within a time range (ms since epoch).
    History {
        #[arg(long)]
        agent: u64,
        #[arg(long)]
        session: Option<u64>,
        #[arg(long)]
        from: Option<i64>,
        #[arg(long)]
        to: Option<i64>,
        #[arg(long, default_value_t = agentdb::defaults::history_limit())]
        limit: usize,
    },
    /// One page of a session's versions, newest first by version: those below
    /// --before-version (all when absent). Pass the last version printed as the
    /// next page's --before-version.
    HistoryPage {
        #[arg(long)]
        agent: u64,
        #[arg(long)]
        session: u64,
        #[arg(long)]
        before_version: Option<u64>,
        #[arg(long, default_value_t = agentdb::defaults::history_limit())]
        limit: usize,
    },
    /// Name the current latest version of (agent, session).
    Snapshot {
        #[arg(long)]
        agent: u64,
        #[arg(long, default_value_t = agentdb::defaults::SESSION_ID)]
        session: u64,
        #[arg(long)]
        name: String,
    },
    /// List an agent's snapshots.
    Snapshots {
        #[arg(long)]
        agent: u64,
    },
    /// Roll back: the snapshot's state becomes the new latest version.
    Restore {
        #[arg(long)]
        agent: u64,
        #[arg(long)]
        name: String,
    },
    /// Delete every state and snapshot of an agent.
    DeleteAgent {
        #[arg(long)]
        agent: u64,
    },
}

#[derive(Subcommand)]
enum MemoryCmd {
    /// Store a memory (embedded with the built-in model unless --embedding is given).
    Store {
        #[arg(long)]
        agent: u64,
        #[arg(long = "type", default_value = agentdb::defaults::MEMORY_TYPE.as_str())]
        memory_type: String,
        #[arg(long)]
        content: String,
        #[arg(long, default_value_t = agentdb::defaults::importance())]
        importance: f32,
        /// The memory's vector instead of the model's: --embedding 0.1,0.2,…
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        embedding: Option<Vec<f32>>,
        /// Time to live in seconds.
        #[arg(long)]
        ttl_secs: Option<u64>,
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
    },
    /// Retrieve the best memories for a text query (or a vector).
    Retrieve {
        #[arg(long)]
        agent: u64,
        #[arg(long, required_unless_present = "vector")]
        query: Option<String>,
        /// Retrieve by this vector instead of a text: --vector 0.1,0.2,…
        #[arg(long, conflicts_with = "query", value_delimiter = ',', allow_hyphen_values = true)]
        vector: Option<Vec<f32>>,
        #[arg(long, default_value_t = agentdb::defaults::RETRIEVE_LIMIT)]
        limit: usize,
        /// Only these types (repeatable).
        #[arg(long = "type")]
        types: Vec<String>,
    },
    Get {
        #[arg(long)]
        id: u64,
    },
    /// All live memories of an agent.
    List {
        #[arg(long)]
        agent: u64,
    },
    SetImportance {
        #[arg(long)]
        id: u64,
        #[arg(long)]
        importance: f32,
    },
    Delete {
        #[arg(long)]
        id: u64,
    },
    /// Pin a memory: never forgotten, expired, evicted or merged away.
    Pin {
        #[arg(long)]
        id: u64,
    },
    Unpin {
        #[arg(long)]
        id: u64,
    },
    /// Merge an agent's near-duplicate memories now and report what merged.
    Consolidate {
        #[arg(long)]
        agent: u64,
    },
    /// Forget memories older than DAYS whose decayed importance is below MIN.
    Forget {
        #[arg(long)]
        agent: u64,
        #[arg(long, default_value_t = agentdb::defaults::defaults().forget.older_than_ms as f64 / MS_PER_DAY)]
        older_than_days: f64,
        #[arg(long, default_value_t = agentdb::defaults::defaults().forget.min_importance as f32)]
        min_importance: f32,
    },
}

#[derive(Subcommand)]
enum DocCmd {
    /// Chunk, embed and index a document (text from --text or --file).
    Add {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
    },
    /// Search: semantic, full text (Chinese and English) or hybrid.
    Search {
        query: String,
        #[arg(long, default_value = "hybrid", value_parser = ["semantic", "text", "hybrid"])]
        mode: String,
        #[arg(long, default_value_t = agentdb::defaults::SEARCH_LIMIT)]
        limit: usize,
        /// Hybrid fusion: weighted (by --alpha) or rrf (reciprocal rank).
        #[arg(long, default_value = agentdb::defaults::defaults().hybrid_fusion, value_parser = ["weighted", "rrf"])]
        fusion: String,
        /// Weighted fusion's weight of the semantic side (0..=1).
        #[arg(long, default_value_t = agentdb::defaults::HYBRID_ALPHA)]
        alpha: f32,
        /// Only chunks of these documents (repeatable).
        #[arg(long = "doc")]
        doc_ids: Vec<String>,
        /// Only documents whose metadata has KEY=VALUE (repeatable).
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
    },
    Get {
        #[arg(long)]
        id: String,
    },
    Delete {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum VectorCmd {
    /// Create a collection.
    Create {
        name: String,
        #[arg(long)]
        dim: usize,
        #[arg(long, default_value = agentdb::defaults::METRIC.as_str())]
        metric: String,
    },
    /// Insert or replace a vector: --values 0.1,0.2,…
    Insert {
        collection: String,
        #[arg(long)]
        id: String,
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        values: Vec<f32>,
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
    },
    /// k nearest neighbours of --values.
    Search {
        collection: String,
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        values: Vec<f32>,
        #[arg(long, default_value_t = agentdb::defaults::KNN_K)]
        k: usize,
        /// Range search instead: every vector within this distance...
        #[arg(long)]
        radius: Option<f32>,
        /// ...at most this many.
        #[arg(long, default_value_t = agentdb::defaults::RANGE_MAX_RESULTS)]
        max_results: usize,
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
    },
    Get {
        collection: String,
        #[arg(long)]
        id: String,
    },
    Delete {
        collection: String,
        #[arg(long)]
        id: String,
    },
    /// List collections.
    List,
}

fn hit_json(h: &ChunkHit) -> Value {
    json!({"chunk_id": h.chunk_id, "doc_id": h.doc_id, "position": h.position, "start_char": h.start_char,
           "end_char": h.end_char, "score": h.score, "content": h.content})
}

fn run_doc(g: &Global, cmd: DocCmd) -> Result<(), CliError> {
    match cmd {
        DocCmd::Add { id, title, text, file, meta } => {
            let text = match (text, file) {
                (Some(t), _) => t,
                (None, Some(f)) => std::fs::read_to_string(f)?,
                (None, None) => {
                    let mut buf = String::new();
                    std::io::stdin().read_to_string(&mut buf)?;
                    buf
                }
            };
            let mut doc = NewDocument::new(id, text).title(title);
            doc.metadata = meta.into_iter().collect();
            let info = connect(g, false)?.index_document(doc)?;
            if g.json {
                println!("{}", serde_json::to_string(&info).expect("serialisable"));
            } else {
                println!("indexed {:?}: {} chunks, {} characters", info.doc_id, info.chunk_count, info.char_count);
            }
        }
        DocCmd::Search { query, mode, limit, fusion, alpha, doc_ids, meta } => {
            let db = connect(g, false)?;
            let filter = DocFilter { doc_ids, metadata: meta.into_iter().collect() };
            let hits = match mode.as_str() {
                "semantic" => db.semantic_search(&query, limit, &filter)?,
                "text" => db.full_text_search(&query, limit, &filter)?,
                _ => {
                    let fusion = if fusion == "rrf" { Fusion::ReciprocalRank } else { Fusion::Weighted { alpha } };
                    db.hybrid_search(&query, limit, fusion, &filter)?
                }
            };
            if g.json {
                println!("{}", Value::Array(hits.iter().map(hit_json).collect()));
            } else {
                for h in &hits {
                    let preview: String = h.content.chars().take(90).collect();
                    println!("{:>8.4}  {:<16} {}", h.score, h.chunk_id, preview.replace('\n', " "));
                }
            }
        }
        DocCmd::Get { id } => {
            let info = connect(g, true)?.get_document(&id)?;
            println!("{}", serde_json::to_string(&info).expect("serialisable"));
        }
        DocCmd::Delete { id } => {
            connect(g, false)?.delete_document(&id)?;
            if g.json {
                println!("{}", json!({"deleted": id}));
            } else {
                println!("deleted document {id:?}");
            }
        }
    }
    Ok(())
}

fn run_vector(g: &Global, cmd: VectorCmd) -> Result<(), CliError> {
    match cmd {
        VectorCmd::Create { name, dim, metric } => {
            let info = connect(g, false)?.create_collection(&name, dim, metric.parse::<Metric>()?)?;
            if g.json {
                println!("{}", json!({"name": info.name, "dimension": info.dimension, "metric": info.metric.as_str()}));
            } else {
                println!("created collection {:?} ({} dims, {})", info.name, info.dimension, info.metric.as_str());
            }
        }
        VectorCmd::Insert { collection, id, values, meta } => {
            connect(g, false)?.insert_vector(&collection, &id, &values, meta.into_iter().collect())?;
            if g.json {
                println!("{}", json!({"inserted": id}));
            } else {
                println!("inserted {id:?} into {collection:?}");
            }
        }
        VectorCmd::Search { collection, values, k, radius, max_results, meta } => {
            let db = connect(g, true)?;
            let opts = SearchOptions { metadata: meta.into_iter().collect(), ..Default::default() };
            let hits = match radius {
                Some(r) => db.search_range(&collection, &values, r, max_results, &opts)?,
                None => db.search_knn(&collection, &values, k, &opts)?,
            };
            if g.json {
                let rows: Vec<Value> =
                    hits.iter().map(|h| json!({"id": h.id, "distance": h.distance, "metadata": h.metadata})).collect();
                println!("{}", Value::Array(rows));
            } else {
                for h in &hits {
                    println!("{:>10.5}  {}", h.distance, h.id);
                }
            }
        }
        VectorCmd::Get { collection, id } => {
            let r = connect(g, true)?.get_vector(&collection, &id)?;
            println!("{}", serde_json::to_string(&r).expect("serialisable"));
        }
        VectorCmd::Delete { collection, id } => {
            connect(g, false)?.delete_vector(&collection, &id)?;
            if g.json {
                println!("{}", json!({"deleted": id}));
            } else {
                println!("deleted {id:?}");
            }
        }
        VectorCmd::List => {
            let list = connect(g, true)?.list_collections()?;
            let rows: Vec<Value> = list
                .iter()
                .map(|c| json!({"name": c.name, "dimension": c.dimension, "metric": c.metric.as_str()}))
                .collect();
            if g.json {
                println!("{}", Value::Array(rows));
            } else {
                for c in &list {
                    println!("{:<24} {:>6} dims  {}", c.name, c.dimension, c.metric.as_str());
                }
            }
        }
    }
    Ok(())
}

fn memory_json(m: &Memory) -> Value {
    json!({
        "memory_id": m.memory_id, "agent_id": m.agent_id, "memory_type": m.memory_type.as_str(),
        "content": m.content, "importance": m.importance, "access_count": m.access_count,
        "last_access_ms": m.last_access_ms, "created_at_ms": m.created_at_ms, "expires_at_ms": m.expires_at_ms,
        "metadata": m.metadata, "pinned": m.pinned,
    })
}

fn days(d: f64) -> Result<std::time::Duration, Error> {
    std::time::Duration::try_from_secs_f64(d * 86_400.0)
        .map_err(|_| Error::InvalidArgument(format!("bad number of days: {d}")))
}

fn run_memory(g: &Global, cmd: MemoryCmd) -> Result<(), CliError> {
    let print = |v: Value, text: String| if g.json { println!("{v}") } else { println!("{text}") };
    match cmd {
        MemoryCmd::Store { agent, memory_type, content, importance, embedding, ttl_secs, meta } => {
            let mut new = NewMemory::new(agent, memory_type.parse()?, content).importance(importance);
            new.embedding = embedding;
            new.ttl = ttl_secs.map(std::time::Duration::from_secs);
            new.metadata = meta.into_iter().collect();
            let db = connect(g, false)?;
            let o = db.store_memory_outcome(new)?;
            let (kind, absorbed) = match &o.kind {
                agentdb::StoreKind::Stored => ("stored", Vec::new()),
                agentdb::StoreKind::Duplicate => ("duplicate", Vec::new()),
                agentdb::StoreKind::Merged { absorbed } => ("merged", absorbed.clone()),
            };
            let text = match kind {
                "stored" => format!("stored memory {}", o.memory_id),
                "duplicate" => format!("duplicate of memory {} (refreshed, not stored again)", o.memory_id),
                _ => format!("merged into memory {} (absorbed {absorbed:?})", o.memory_id),
            };
            print(json!({"memory_id": o.memory_id, "kind": kind, "absorbed": absorbed, "evicted": o.evicted}), text);
        }
        MemoryCmd::Retrieve { agent, query, vector, limit, types } => {
            let types = types.iter().map(|t| t.parse()).collect::<Result<Vec<MemoryType>, Error>>()?;
            let filter = MemoryFilter::default().types(&types);
            let db = connect(g, false)?;
            let hits = match (vector, query) {
                (Some(v), _) => db.retrieve_similar(agent, &v, limit, &filter)?,
                (None, Some(q)) => db.retrieve(agent, &q, limit, &filter)?,
                (None, None) => return Err(Error::InvalidArgument("give --query or --vector".into()).into()),
            };
            if g.json {
                let rows: Vec<Value> = hits
                    .iter()
                    .map(|h| json!({"score": h.score, "relevance": h.relevance, "recency": h.recency, "memory": memory_json(&h.memory)}))
                    .collect();
                println!("{}", Value::Array(rows));
            } else {
                for h in &hits {
                    println!(
                        "{:>6.3}  rel {:.2} imp {:.2} rec {:.2}  #{} [{}] {}",
                        h.score,
                        h.relevance,
                        h.memory.importance,
                        h.recency,
                        h.memory.memory_id,
                        h.memory.memory_type,
                        h.memory.content
                    );
                }
            }
        }
        MemoryCmd::Get { id } => {
            let m = connect(g, true)?.get_memory(id)?;
            print(
                memory_json(&m),
                format!(
                    "#{} [{}] importance {} accessed {}×: {}",
                    m.memory_id, m.memory_type, m.importance, m.access_count, m.content
                ),
            );
        }
        MemoryCmd::List { agent } => {
            let list = connect(g, true)?.list_memories(agent)?;
            if g.json {
                println!("{}", Value::Array(list.iter().map(memory_json).collect()));
            } else {
                for m in &list {
                    println!("#{} [{}] importance {:.2}: {}", m.memory_id, m.memory_type, m.importance, m.content);
                }
                println!("{} memories", list.len());
            }
        }
        MemoryCmd::SetImportance { id, importance } => {
            connect(g, false)?.update_memory_importance(id, importance)?;
            print(json!({"memory_id": id, "importance": importance}), format!("memory {id} importance {importance}"));
        }
        MemoryCmd::Delete { id } => {
            connect(g, false)?.delete_memory(id)?;
            print(json!({"deleted": id}), format!("deleted memory {id}"));
        }
        MemoryCmd::Pin { id } => {
            connect(g, false)?.pin_memory(id)?;
            print(json!({"pinned": id}), format!("pinned memory {id}"));
        }
        MemoryCmd::Unpin { id } => {
            connect(g, false)?.unpin_memory(id)?;
            print(json!({"unpinned": id}), format!("unpinned memory {id}"));
        }
        MemoryCmd::Consolidate { agent } => {
            let report = connect(g, false)?.consolidate(agent)?;
            let text = format!(
                "agent {}: {} memories examined, {} merge group(s), {} remain",
                report.agent_id,
                report.examined,
                report.groups.len(),
                report.remaining
            );
            print(serde_json::to_value(&report).expect("serialisable"), text);
        }
        MemoryCmd::Forget { agent, older_than_days, min_importance } => {
            let policy = ForgetPolicy { older_than: days(older_than_days)?, min_importance, ..Default::default() };
            let n = connect(g, false)?.forget(agent, &policy)?;
            print(json!({"forgotten": n}), format!("forgot {n} memories"));
        }
    }
    Ok(())
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

pub(crate) fn state_json(s: &AgentState) -> Value {
    json!({
        "agent_id": s.agent_id,
        "session_id": s.session_id,
        "version": s.version,
        "timestamp_ms": s.timestamp_ms,
        "state_type": s.state_type.as_str(),
        "data": String::from_utf8_lossy(&s.data),
        "data_bytes": s.data.len(),
        "metadata": s.metadata,
        "checksum": format!("{:08x}", s.checksum),
        "key": s.key,
    })
}

fn print_state_line(s: &AgentState) {
    let preview: String = String::from_utf8_lossy(&s.data).chars().take(60).collect();
    let key = s.key.as_ref().map(|k| format!(" key {k:?}")).unwrap_or_default();
    println!(
        "agent {} session {} v{}{} [{}] {} bytes crc32c={:08x} at {}ms: {}",
        s.agent_id,
        s.session_id,
        s.version,
        key,
        s.state_type,
        s.data.len(),
        s.checksum,
        s.timestamp_ms,
        preview
    );
}

/// The backend a subcommand runs against: the server at `--url`, or the
/// database directory (opened read-only when `read_only`).
fn connect(g: &Global, read_only: bool) -> Result<Box<dyn Backend>, CliError> {
    if let Some(url) = &g.url {
        return Ok(Box::new(backend::Remote::new(url, g.api_key.clone())?));
    }
    Ok(Box::new(backend::Embedded { db: open(g, read_only)? }))
}

fn open(g: &Global, read_only: bool) -> Result<AgentDb, Error> {
    let path = g.path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let fsync: FsyncPolicy = g.fsync.parse()?;
    let mut options = Options { read_only, fsync, ..Options::default() };
    if let Some(n) = g.max_payload_bytes {
        options.max_payload_bytes = n;
    }
    if let Some(n) = g.memory_dimension {
        options.memory_dimension = n;
    }
    if let Some(n) = g.chunk_chars {
        options.chunk_chars = n;
    }
    if let Some(n) = g.chunk_overlap {
        options.chunk_overlap = n;
    }
    AgentDb::open(path, options)
}

fn run(cli: Cli) -> Result<(), CliError> {
    let g = &cli.global;
    match cli.command {
        Command::Quickstart => {
            refuse_remote(g, "quickstart")?;
            Ok(quickstart::run(g.path.clone(), g.json, g.fsync.parse()?)?)
        }
        Command::Stats => {
            let stats = connect(g, false)?.stats()?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&stats).expect("serialisable"));
            } else {
                print_stats(&stats);
            }
            Ok(())
        }
        Command::Flush => {
            let report = connect(g, false)?.flush()?;
            if g.json {
                println!("{}", serde_json::to_string(&report).expect("serialisable"));
            } else {
                println!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
            }
            Ok(())
        }
        Command::Defaults => {
            if let Some(url) = &g.url {
                // The server's defaults are the ones its engine applies.
                let d = backend::Remote::new(url, g.api_key.clone())?.defaults()?;
                if g.json {
                    println!("{d}");
                } else {
                    println!("{}", serde_json::to_string_pretty(&d).expect("serialisable"));
                }
                return Ok(());
            }
            let d = agentdb::defaults::defaults();
            if g.json {
                println!("{}", agentdb::defaults::defaults_json());
            } else {
                println!("{}", serde_json::to_string_pretty(&d).expect("serialisable"));
            }
            Ok(())
        }
        Command::Compact => {
            let db = connect(g, false)?;
            let bar = quickstart::spinner("compacting");
            let report = db.compact()?;
            bar.finish_and_clear();
            if g.json {
                println!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
            } else {
                println!("flushed {} state(s); maintenance took {:.1} ms", report.flush.states, report.duration_ms);
                for t in &report.tables {
                    println!(
                        "  {:<10} fragments -{} +{}, pruned {} old version(s) / {} bytes{}",
                        t.table,
                        t.fragments_removed,
                        t.fragments_added,
                        t.old_versions_pruned,
                        t.bytes_removed,
                        if t.index_created { ", created agent_id index" } else { "" }
                    );
                }
            }
            Ok(())
        }
        Command::Gc { keep_last, keep_newer_than_hours } => {
            let keep_newer_than = match keep_newer_than_hours {
                Some(h) if h.is_finite() && h >= 0.0 => Some(std::time::Duration::from_secs_f64(h * 3600.0)),
                Some(h) => {
                    return Err(Error::InvalidArgument(format!("--keep-newer-than-hours must be >= 0, got {h}")).into())
                }
                None => None,
            };
            let retention = agentdb::StateRetention { keep_last, keep_newer_than };
            if !retention.is_bounded() {
                return Err(Error::InvalidArgument(
                    "say what to keep: --keep-last N and/or --keep-newer-than-hours H".into(),
                )
                .into());
            }
            let db = connect(g, false)?;
            let bar = quickstart::spinner("collecting garbage");
            let report = db.gc_with(&retention)?;
            bar.finish_and_clear();
            if g.json {
                println!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
            } else {
                println!(
                    "removed {} old state version(s); maintenance took {:.1} ms",
                    report.state_versions_removed, report.maintenance.duration_ms
                );
                for t in &report.maintenance.tables {
                    println!(
                        "  {:<10} fragments -{} +{}, pruned {} old Lance version(s) / {} bytes",
                        t.table, t.fragments_removed, t.fragments_added, t.old_versions_pruned, t.bytes_removed
                    );
                }
            }
            Ok(())
        }
        Command::Serve { .. } => Err(Error::InvalidArgument("serve runs from main()".into()).into()),
        Command::State(cmd) => run_state(g, cmd),
        Command::Memory(cmd) => run_memory(g, cmd),
        Command::Doc(cmd) => run_doc(g, cmd),
        Command::Vector(cmd) => run_vector(g, cmd),
        Command::Item(cmd) => items::run(g, cmd),
        Command::Import { file } => {
            let db = connect(g, false)?;
            let report = import::run(db.as_ref(), &file)?;
            if g.json {
                println!("{}", serde_json::to_string(&report).expect("serialisable"));
            } else {
                println!(
                    "imported {} line(s): {} states, {} memories, {} documents, {} vectors",
                    report.lines, report.states, report.memories, report.documents, report.vectors
                );
            }
            Ok(())
        }
    }
}

fn run_state(g: &Global, cmd: StateCmd) -> Result<(), CliError> {
    match cmd {
        StateCmd::Save { agent, session, state_type, data, file, meta, key } => {
            let state_type: StateType = state_type.parse()?;
            let bytes = match (data, file) {
                (Some(d), _) => d.into_bytes(),
                (None, Some(f)) => std::fs::read(f)?,
                (None, None) => {
                    let mut buf = Vec::new();
                    std::io::stdin().read_to_end(&mut buf)?;
                    buf
                }
            };
            let db = connect(g, false)?;
            let meta = meta.into_iter().collect();
            let version = db.save_state(agent, session, state_type, &bytes, meta, key.as_deref())?;
            if g.json {
                println!("{}", json!({"agent_id": agent, "session_id": session, "version": version, "key": key}));
            } else {
                println!("saved agent {agent} session {session} version {version}");
            }
        }
        StateCmd::Load { agent, session, version, key, raw } => {
            let db = connect(g, true)?;
            let s = match (session, version, key) {
                (Some(sess), _, Some(k)) => db.load_state_by_key(agent, sess, &k)?,
                (Some(sess), Some(v), None) => db.load_state_version(agent, sess, v)?,
                _ => db.load_state(agent, session)?,
            };
            if raw {
                use std::io::Write;
                std::io::stdout().write_all(&s.data)?;
            } else if g.json {
                println!("{}", state_json(&s));
            } else {
                print_state_line(&s);
            }
        }
        StateCmd::History { agent, session, from, to, limit } => {
            let db = connect(g, true)?;
            let mut q = HistoryQuery::new(agent).between(from, to).limit(limit);
            q.session_id = session;
            let rows = db.query_history(&q)?;
            if g.json {
                println!("{}", Value::Array(rows.iter().map(state_json).collect()));
            } else {
                rows.iter().for_each(print_state_line);
                println!("{} version(s)", rows.len());
            }
        }
        StateCmd::HistoryPage { agent, session, before_version, limit } => {
            let db = connect(g, true)?;
            let rows = db.state_history_page(agent, session, before_version, limit)?;
            if g.json {
                println!("{}", Value::Array(rows.iter().map(state_json).collect()));
            } else {
                rows.iter().for_each(print_state_line);
                println!("{} version(s)", rows.len());
            }
        }
        StateCmd::Snapshot { agent, session, name } => {
            let db = connect(g, false)?;
            let s = db.create_snapshot(agent, session, &name)?;
            if g.json {
                println!("{}", serde_json::to_string(&s).expect("serialisable"));
            } else {
                println!("snapshot {:?} → agent {} session {} version {}", s.name, s.agent_id, s.session_id, s.version);
            }
        }
        StateCmd::Snapshots { agent } => {
            let db = connect(g, true)?;
            let list = db.list_snapshots(agent)?;
            if g.json {
                println!("{}", serde_json::to_string(&list).expect("serialisable"));
            } else {
                for s in &list {
                    println!(
                        "{:<24} session {} version {} created {}ms",
                        s.name, s.session_id, s.version, s.created_at_ms
                    );
                }
                println!("{} snapshot(s)", list.len());
            }
        }
        StateCmd::Restore { agent, name } => {
            let db = connect(g, false)?;
            let s = db.restore_snapshot(agent, &name)?;
            if g.json {
                println!("{}", state_json(&s));
            } else {
                print!("restored {name:?} as new latest: ");
                print_state_line(&s);
            }
        }
        StateCmd::DeleteAgent { agent } => {
            let db = connect(g, false)?;
            db.delete_agent(agent)?;
            if g.json {
                println!("{}", json!({"deleted_agent": agent}));
            } else {
                println!("deleted agent {agent}");
            }
        }
    }
    Ok(())
}

/// Subcommands that need a local directory or process refuse `--url`.
fn refuse_remote(g: &Global, command: &str) -> Result<(), CliError> {
    match &g.url {
        Some(url) => Err(Error::InvalidArgument(format!(
            "`agentdb {command}` runs locally only and does not take --url (given {url:?}; unset AGENTDB_URL)"
        ))
        .into()),
        None => Ok(()),
    }
}

fn print_stats(stats: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!("database {}", stats["path"].as_str().unwrap_or_default());
    println!(
        "  lsn {} (flushed {}), memtable {} records / {} bytes, {} WAL segment(s), opened in {:.1} ms",
        stats["last_lsn"],
        stats["flushed_lsn"],
        stats["memtable_records"],
        stats["memtable_bytes"],
        stats["wal_segments"],
        f(&stats["open_ms"])
    );
    for t in stats["tables"].as_array().into_iter().flatten() {
        println!(
            "  table {:<10} rows {:>9}  fragments {:>4}  versions {:>4}  indices {}  disk {:>10} bytes",
            t["name"].as_str().unwrap_or_default(),
            t["rows"].to_string(),
            t["fragments"].to_string(),
            t["versions"].to_string(),
            t["indices"],
            t["disk_bytes"].to_string()
        );
    }
    match &stats["last_maintenance"] {
        Value::Null => println!("  last maintenance: never"),
        m => {
            println!(
                "  last maintenance: took {:.1} ms, finished at {} (ms since epoch)",
                f(&m["duration_ms"]),
                m["finished_at_ms"]
            );
            for t in m["tables"].as_array().into_iter().flatten() {
                println!(
                    "    {:<10} fragments -{} +{}, pruned {} old version(s) / {} bytes, rows purged {}{}",
                    t["table"].as_str().unwrap_or_default(),
                    t["fragments_removed"],
                    t["fragments_added"],
                    t["old_versions_pruned"],
                    t["bytes_removed"],
                    t["rows_purged"],
                    if t["index_created"].as_bool().unwrap_or(false) { ", index created" } else { "" }
                );
            }
        }
    }
}

/// `agentdb stats | head` ends quietly, as Unix tools do, instead of
/// panicking in `println!` with "Broken pipe": Rust ignores SIGPIPE, so a
/// closed stdout becomes an error in every print. Not for `serve`, whose
/// socket writes must see EPIPE as an error, never a signal. Every write the
/// CLI acknowledges is in the WAL before it prints, so being stopped by the
/// signal mid-print loses nothing.
fn restore_default_sigpipe() {
    // SAFETY: `signal` with `SIG_DFL` only resets a disposition; it runs
    // before the CLI starts any thread that could be writing to a pipe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve { config, print_config, hash_key } = cli.command {
        if let Err(e) = refuse_remote(&cli.global, "serve") {
            eprintln!("error: {}", e.message());
            return ExitCode::from(e.exit_code());
        }
        // The server sets up its own logging (format and level from its config).
        return agentdb_server::main(config, print_config, hash_key);
    }
    restore_default_sigpipe();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("AGENTDB_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let json = cli.global.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                eprintln!("{}", json!({"error": e.code(), "message": e.message()}));
            } else {
                eprintln!("error: {}", e.message());
            }
            ExitCode::from(e.exit_code())
        }
    }
}

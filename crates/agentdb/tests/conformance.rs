//! Runs the language-neutral cases in tests/conformance/*.json against the
//! Rust engine. Every other surface runs the same files. An argument a case
//! leaves out takes the engine's default (`agentdb::defaults`), as every
//! surface's own default does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentdb::defaults;
use agentdb::{
    AgentDb, AgentState, ChunkHit, DocFilter, DocumentInfo, ForgetPolicy, Fusion, HistoryQuery, MemoryFilter,
    MemoryType, Metric, NewDocument, NewMemory, Options, RetrieveOptions, SearchOptions, Snapshot, StateType,
};
use serde_json::{json, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

fn state_value(s: &AgentState) -> Value {
    json!({
        "agent_id": s.agent_id, "session_id": s.session_id, "version": s.version,
        "state_type": s.state_type.as_str(), "data": String::from_utf8_lossy(&s.data), "metadata": s.metadata,
        "key": s.key,
    })
}

fn snapshot_value(s: &Snapshot) -> Value {
    json!({"agent_id": s.agent_id, "session_id": s.session_id, "name": s.name, "version": s.version})
}

fn u(args: &Value, k: &str) -> u64 {
    args[k].as_u64().unwrap_or_else(|| panic!("arg {k} missing"))
}

fn s<'a>(args: &'a Value, k: &str) -> &'a str {
    args[k].as_str().unwrap_or_default()
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn document_value(d: &DocumentInfo) -> Value {
    json!({"doc_id": d.doc_id, "title": d.title, "metadata": d.metadata, "chunk_count": d.chunk_count, "char_count": d.char_count})
}

/// A search's hits as the conformance format compares them: ids and
/// positions in order, never scores.
fn hits_value(hits: &[ChunkHit]) -> Value {
    let mut docs: Vec<&str> = hits.iter().map(|h| h.doc_id.as_str()).collect();
    docs.sort_unstable();
    docs.dedup();
    json!({
        "count": hits.len(),
        "doc_ids": hits.iter().map(|h| h.doc_id.clone()).collect::<Vec<_>>(),
        "docs": docs,
        "chunk_ids": hits.iter().map(|h| h.chunk_id.clone()).collect::<Vec<_>>(),
        "positions": hits.iter().map(|h| h.position).collect::<Vec<_>>(),
        "starts": hits.iter().map(|h| h.start_char).collect::<Vec<_>>(),
        "ends": hits.iter().map(|h| h.end_char).collect::<Vec<_>>(),
        "contents": hits.iter().map(|h| h.content.clone()).collect::<Vec<_>>(),
    })
}

fn doc_filter(args: &Value) -> DocFilter {
    DocFilter {
        doc_ids: serde_json::from_value(args["doc_ids"].clone()).unwrap_or_default(),
        metadata: string_map(&args["metadata"]),
    }
}

/// A case's `fusion` ("weighted" | "rrf") and `alpha`, each the engine's default when absent.
fn fusion(args: &Value) -> Fusion {
    let alpha = args["alpha"].as_f64().map_or(defaults::HYBRID_ALPHA, |a| a as f32);
    match args["fusion"].as_str() {
        Some("rrf") => Fusion::ReciprocalRank,
        Some("weighted") => Fusion::Weighted { alpha },
        Some(other) => panic!("unknown fusion {other:?}"),
        None => match defaults::FUSION {
            Fusion::Weighted { .. } => Fusion::Weighted { alpha },
            rrf => rrf,
        },
    }
}

fn limit(args: &Value, k: &str, default: usize) -> usize {
    args[k].as_u64().map_or(default, |n| n as usize)
}

/// A memory id named by an earlier step's `"as"`, or given directly.
fn memory_id(args: &Value, names: &BTreeMap<String, u64>) -> u64 {
    match args["memory"].as_str() {
        Some(name) => *names.get(name).unwrap_or_else(|| panic!("no memory named {name:?}")),
        None => u(args, "memory_id"),
    }
}

fn memory_value(m: &agentdb::Memory) -> Value {
    json!({
        "memory_id": m.memory_id, "content": m.content, "memory_type": m.memory_type.as_str(),
        "importance": (f64::from(m.importance) * 1000.0).round() / 1000.0, "access_count": m.access_count,
        "pinned": m.pinned, "metadata": m.metadata,
    })
}

fn labels(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn item_value(i: &agentdb::Item) -> Value {
    json!({
        "found": true, "namespace": i.namespace, "key": i.key, "value": i.value, "metadata": i.metadata,
        "ttl_ms": i.ttl_ms,
    })
}

fn item_put(args: &Value) -> agentdb::ItemPut {
    agentdb::ItemPut {
        namespace: labels(&args["namespace"]),
        key: s(args, "key").to_string(),
        value: args["value"].clone(),
        metadata: string_map(&args["metadata"]),
        ttl_ms: args["ttl_ms"].as_u64(),
    }
}

/// The item ops of items.json.
const ITEM_OPS: [&str; 7] = [
    "put_item",
    "write_items",
    "get_item",
    "delete_item",
    "search_items",
    "list_item_namespaces",
    "sweep_expired_items",
];

fn run_item_op(db: &AgentDb, op: &str, args: &Value) -> agentdb::Result<Value> {
    Ok(match op {
        "put_item" => item_value(&db.put_item(item_put(args))?),
        "write_items" => {
            let writes = args["writes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| match (&w["put"], &w["delete"]) {
                    (Value::Object(_), _) => agentdb::ItemWrite::Put(item_put(&w["put"])),
                    (_, d) => {
                        agentdb::ItemWrite::Delete { namespace: labels(&d["namespace"]), key: s(d, "key").into() }
                    }
                })
                .collect();
            let r = db.write_items(writes)?;
            json!({"put": r.put, "deleted": r.deleted})
        }
        "get_item" => match db.get_item(&labels(&args["namespace"]), s(args, "key"))? {
            Some(i) => item_value(&i),
            None => json!({"found": false}),
        },
        "delete_item" => json!({"deleted": db.delete_item(&labels(&args["namespace"]), s(args, "key"))?}),
        "search_items" => {
            let q = agentdb::ItemQuery {
                prefix: labels(&args["prefix"]),
                filter: (!args["filter"].is_null()).then(|| args["filter"].clone()),
                metadata: string_map(&args["metadata"]),
                limit: limit(args, "limit", defaults::ITEM_SEARCH_LIMIT),
                offset: limit(args, "offset", 0),
                refresh_ttl: false,
            };
            let page = db.search_items(&q)?;
            json!({
                "namespaces": page.items.iter().map(|i| i.namespace.clone()).collect::<Vec<_>>(),
                "keys": page.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>(),
                "values": page.items.iter().map(|i| i.value.clone()).collect::<Vec<_>>(),
                "total": page.total,
                "count": page.items.len(),
            })
        }
        "list_item_namespaces" => {
            let q = agentdb::NamespaceQuery {
                prefix: labels(&args["prefix"]),
                suffix: labels(&args["suffix"]),
                max_depth: args["max_depth"].as_u64().map(|d| d as usize),
                limit: limit(args, "limit", defaults::NAMESPACE_LIST_LIMIT),
                offset: limit(args, "offset", 0),
            };
            json!({"namespaces": db.list_item_namespaces(&q)?})
        }
        "sweep_expired_items" => json!({"deleted": db.sweep_expired_items()?}),
        other => unreachable!("{other} is not an item op"),
    })
}

fn run_op(db: &AgentDb, op: &str, args: &Value, names: &BTreeMap<String, u64>) -> agentdb::Result<Value> {
    if ITEM_OPS.contains(&op) {
        return run_item_op(db, op, args);
    }
    Ok(match op {
        "save_state" => {
            let t: StateType = args["state_type"].as_str().map_or(Ok(defaults::STATE_TYPE), str::parse)?;
            let meta: BTreeMap<String, String> = serde_json::from_value(args["metadata"].clone()).unwrap_or_default();
            let data = args["data"].as_str().unwrap_or_default().as_bytes();
            let (agent, session) = (u(args, "agent_id"), u(args, "session_id"));
            let version = match args["key"].as_str() {
                Some(key) => db.save_state_keyed(agent, session, key, t, data, meta)?,
                None => db.save_state_with_metadata(agent, session, t, data, meta)?,
            };
            json!({ "version": version })
        }
        "load_state_by_key" => state_value(&db.load_state_by_key(
            u(args, "agent_id"),
            u(args, "session_id"),
            args["key"].as_str().unwrap_or_default(),
        )?),
        "state_history_page" => {
            let rows = db.state_history_page(
                u(args, "agent_id"),
                u(args, "session_id"),
                args["before_version"].as_u64(),
                limit(args, "limit", defaults::history_limit()),
            )?;
            json!({
                "versions": rows.iter().map(|s| s.version).collect::<Vec<_>>(),
                "data": rows.iter().map(|s| String::from_utf8_lossy(&s.data).to_string()).collect::<Vec<_>>(),
                "keys": rows.iter().map(|s| s.key.clone()).collect::<Vec<_>>(),
            })
        }
        "load_state" => state_value(&db.load_state(u(args, "agent_id"), args["session_id"].as_u64())?),
        "load_state_version" => {
            state_value(&db.load_state_version(u(args, "agent_id"), u(args, "session_id"), u(args, "version"))?)
        }
        "query_history" => {
            let mut q = HistoryQuery::new(u(args, "agent_id"))
                .between(args["from_ms"].as_i64(), args["to_ms"].as_i64())
                .limit(limit(args, "limit", defaults::history_limit()));
            q.session_id = args["session_id"].as_u64();
            let rows = db.query_history(&q)?;
            json!({
                "versions": rows.iter().map(|s| s.version).collect::<Vec<_>>(),
                "data": rows.iter().map(|s| String::from_utf8_lossy(&s.data).to_string()).collect::<Vec<_>>(),
            })
        }
        "create_snapshot" => snapshot_value(&db.create_snapshot(
            u(args, "agent_id"),
            u(args, "session_id"),
            args["name"].as_str().unwrap_or_default(),
        )?),
        "list_snapshots" => {
            let list = db.list_snapshots(u(args, "agent_id"))?;
            json!({"names": list.iter().map(|s| s.name.clone()).collect::<Vec<_>>()})
        }
        "restore_snapshot" => {
            state_value(&db.restore_snapshot(u(args, "agent_id"), args["name"].as_str().unwrap_or_default())?)
        }
        "delete_agent" => {
            db.delete_agent(u(args, "agent_id"))?;
            json!({})
        }
        "flush" => {
            db.flush()?;
            json!({})
        }
        "compact" => {
            db.compact()?;
            json!({})
        }
        "store_memory" => {
            let t: MemoryType = args["memory_type"].as_str().map_or(Ok(defaults::MEMORY_TYPE), str::parse)?;
            let mut m = NewMemory::new(u(args, "agent_id"), t, args["content"].as_str().unwrap_or_default());
            if let Some(i) = args["importance"].as_f64() {
                m.importance = i as f32;
            }
            m.embedding = floats(&args["embedding"]);
            let o = db.store_memory_outcome(m)?;
            let (kind, absorbed) = match &o.kind {
                agentdb::StoreKind::Stored => ("stored", 0),
                agentdb::StoreKind::Duplicate => ("duplicate", 0),
                agentdb::StoreKind::Merged { absorbed } => ("merged", absorbed.len()),
            };
            json!({"stored": true, "memory_id": o.memory_id, "kind": kind, "absorbed_count": absorbed, "evicted_count": o.evicted.len()})
        }
        "get_memory" => memory_value(&db.get_memory(memory_id(args, names))?),
        "pin_memory" => {
            db.pin_memory(memory_id(args, names))?;
            json!({})
        }
        "unpin_memory" => {
            db.unpin_memory(memory_id(args, names))?;
            json!({})
        }
        "forget" => {
            let d = ForgetPolicy::default();
            let policy = ForgetPolicy {
                older_than: args["older_than_ms"].as_u64().map_or(d.older_than, Duration::from_millis),
                min_importance: args["min_importance"].as_f64().map_or(d.min_importance, |x| x as f32),
                decay_half_life: args["decay_half_life_ms"].as_u64().map_or(d.decay_half_life, Duration::from_millis),
            };
            json!({"forgotten": db.forget(u(args, "agent_id"), &policy)?})
        }
        "gc" => {
            let retention = agentdb::StateRetention {
                keep_last: args["keep_last"].as_u64(),
                keep_newer_than: args["keep_newer_than_ms"].as_u64().map(Duration::from_millis),
            };
            json!({"removed": db.gc_with(&retention)?.state_versions_removed})
        }
        "retrieve_similar" => {
            let types: Vec<MemoryType> = args["memory_types"]
                .as_array()
                .map(|a| a.iter().map(|t| t.as_str().unwrap_or_default().parse()).collect::<agentdb::Result<_>>())
                .transpose()?
                .unwrap_or_default();
            let opts = RetrieveOptions { filter: MemoryFilter::default().types(&types), ..Default::default() };
            let n = limit(args, "limit", defaults::RETRIEVE_LIMIT);
            let hits =
                db.retrieve_similar(u(args, "agent_id"), &floats(&args["vector"]).unwrap_or_default(), n, &opts)?;
            json!({"contents": hits.iter().map(|h| h.memory.content.clone()).collect::<Vec<_>>(), "count": hits.len()})
        }
        "create_collection" => {
            let metric: Metric = args["metric"].as_str().map_or(Ok(defaults::METRIC), str::parse)?;
            db.create_collection(args["name"].as_str().unwrap_or_default(), u(args, "dimension") as usize, metric)?;
            json!({})
        }
        "insert_vector" => {
            let meta: BTreeMap<String, String> = serde_json::from_value(args["metadata"].clone()).unwrap_or_default();
            db.insert_vector(
                args["collection"].as_str().unwrap_or_default(),
                args["id"].as_str().unwrap_or_default(),
                &floats(&args["vector"]).unwrap_or_default(),
                meta,
            )?;
            json!({})
        }
        "delete_vector" => {
            db.delete_vector(args["collection"].as_str().unwrap_or_default(), args["id"].as_str().unwrap_or_default())?;
            json!({})
        }
        "search_knn" | "search_range" => {
            let opts = SearchOptions {
                metadata: serde_json::from_value(args["metadata"].clone()).unwrap_or_default(),
                ..SearchOptions::default()
            };
            let c = args["collection"].as_str().unwrap_or_default();
            let q = floats(&args["vector"]).unwrap_or_default();
            let hits = if op == "search_knn" {
                db.search_knn(c, &q, limit(args, "k", defaults::KNN_K), &opts)?
            } else {
                let radius = args["radius"].as_f64().unwrap_or(0.0) as f32;
                db.search_range(c, &q, radius, limit(args, "max_results", defaults::RANGE_MAX_RESULTS), &opts)?
            };
            json!({
                "count": hits.len(),
                "ids": hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
                "distances": hits.iter().map(|h| (f64::from(h.distance) * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
            })
        }
        "defaults" => serde_json::to_value(defaults::defaults()).expect("serialisable"),
        "index_document" => {
            let mut doc = NewDocument::new(s(args, "doc_id"), s(args, "text")).title(s(args, "title"));
            doc.metadata = string_map(&args["metadata"]);
            document_value(&db.index_document(doc)?)
        }
        "get_document" => document_value(&db.get_document(s(args, "doc_id"))?),
        "delete_document" => {
            db.delete_document(s(args, "doc_id"))?;
            json!({})
        }
        "semantic_search" => hits_value(&db.semantic_search(
            s(args, "query"),
            limit(args, "limit", defaults::SEARCH_LIMIT),
            &doc_filter(args),
        )?),
        "full_text_search" => hits_value(&db.full_text_search(
            s(args, "query"),
            limit(args, "limit", defaults::SEARCH_LIMIT),
            &doc_filter(args),
        )?),
        "hybrid_search" => hits_value(&db.hybrid_search(
            s(args, "query"),
            None,
            limit(args, "limit", defaults::SEARCH_LIMIT),
            fusion(args),
            &doc_filter(args),
        )?),
        other => panic!("unknown conformance op {other:?}"),
    })
}

fn floats(v: &Value) -> Option<Vec<f32>> {
    v.as_array().map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN) as f32).collect())
}

fn options_from(v: &Value) -> Options {
    let mut o = Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() };
    if let Some(n) = v["max_payload_bytes"].as_u64() {
        o.max_payload_bytes = n as usize;
    }
    if let Some(n) = v["memory_dimension"].as_u64() {
        o.memory_dimension = n as usize;
    }
    if let Some(n) = v["chunk_chars"].as_u64() {
        o.chunk_chars = n as usize;
    }
    if let Some(n) = v["chunk_overlap"].as_u64() {
        o.chunk_overlap = n as usize;
    }
    o
}

#[test]
fn conformance_cases_pass() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "conformance cases found: {files:?}");
    for file in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let opts = options_from(&case["options"]);
        let mut db = AgentDb::open(dir.path(), opts.clone()).unwrap();
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let op = step["op"].as_str().unwrap();
            let ctx = format!("{} step {i} ({op})", file.file_name().unwrap().to_string_lossy());
            if op == "reopen" {
                drop(db);
                db = AgentDb::open(dir.path(), opts.clone()).unwrap();
                continue;
            }
            let got = run_op(&db, op, &step["args"], &names);
            match (&step["expect_error"], got) {
                (Value::String(code), Err(e)) => assert_eq!(e.code(), code, "{ctx}: {e}"),
                (Value::String(code), Ok(v)) => panic!("{ctx}: expected error {code}, got {v}"),
                (_, Err(e)) => panic!("{ctx}: unexpected error {e}"),
                (_, Ok(v)) => {
                    if let Value::Object(want) = &step["expect"] {
                        for (k, w) in want {
                            if k == "same_as" {
                                let name = w.as_str().expect("same_as names a memory");
                                assert_eq!(
                                    v["memory_id"].as_u64(),
                                    names.get(name).copied(),
                                    "{ctx}: same memory as {name}"
                                );
                            } else {
                                assert_eq!(&v[k], w, "{ctx}: field {k} of {v}");
                            }
                        }
                    }
                    if let Some(name) = step["as"].as_str() {
                        names.insert(
                            name.to_string(),
                            v["memory_id"].as_u64().expect("an op that names a memory returns memory_id"),
                        );
                    }
                }
            }
        }
    }
}

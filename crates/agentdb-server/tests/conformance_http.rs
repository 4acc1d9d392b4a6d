//! The language-neutral cases in tests/conformance/*.json, through HTTP:
//! each op becomes the route a client would call, each expected error code
//! must come back as the body's `code`. `reopen` stops the server (closing
//! the database) and starts a new one on the same directory. An op with no
//! route here would be skipped and counted (none is today; the item ops are
//! asserted to be all mapped, with every field their cases expect).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentdb_server::config::Config;
use reqwest::Method;
use serde_json::{json, Map, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// Ok(body) on 2xx, Err(code) otherwise.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let r = rb.send().await.expect("send");
        let status = r.status();
        let bytes = r.bytes().await.expect("body");
        let v: Value = if bytes.is_empty() { json!({}) } else { serde_json::from_slice(&bytes).expect("json body") };
        if status.is_success() {
            Ok(v)
        } else {
            Err(v["code"].as_str().unwrap_or("?").to_string())
        }
    }
}

fn config(dir: &Path, options: &Value) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".into();
    c.server.data_dir = dir.to_path_buf();
    c.engine.maintenance_interval_ms = 0;
    c.engine.flush_interval_ms = 3_600_000;
    for (k, slot) in [
        ("max_payload_bytes", &mut c.engine.max_payload_bytes),
        ("memory_dimension", &mut c.engine.memory_dimension),
        ("chunk_chars", &mut c.engine.chunk_chars),
        ("chunk_overlap", &mut c.engine.chunk_overlap),
    ] {
        if let Some(n) = options[k].as_u64() {
            *slot = n as usize;
        }
    }
    c
}

async fn start(dir: &Path, options: &Value) -> (agentdb_server::RunningServer, Client) {
    let server = agentdb_server::start(config(dir, options)).await.expect("start");
    let client = Client {
        http: reqwest::Client::builder().no_proxy().build().expect("client"),
        base: format!("http://{}", server.addr),
    };
    for _ in 0..600 {
        if client.call(Method::GET, "/readyz", None).await.is_ok() {
            return (server, client);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not ready");
}

fn pick(args: &Value, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        if !args[*k].is_null() {
            m.insert((*k).to_string(), args[*k].clone());
        }
    }
    Value::Object(m)
}

/// An item as the engine's runner gives it (`null`: not found).
fn item_value(i: &Value) -> Value {
    if i.is_null() {
        return json!({"found": false});
    }
    json!({"found": true, "namespace": i["namespace"], "key": i["key"], "value": i["value"],
        "metadata": i["metadata"], "ttl_ms": i["ttl_ms"]})
}

fn state_value(s: &Value) -> Value {
    json!({"agent_id": s["agent_id"], "session_id": s["session_id"], "version": s["version"],
        "state_type": s["state_type"], "data": s["data"], "metadata": s["metadata"], "key": s["key"]})
}

/// `?k=v&…` with each value form-urlencoded (state keys hold quotes, `&`, `%`…).
fn encoded_query(pairs: &[(&str, &Value)]) -> String {
    let mut url = reqwest::Url::parse("http://query.invalid/").expect("url");
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_null()) {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        url.query_pairs_mut().append_pair(k, &text);
    }
    url.query().map(|q| format!("?{q}")).unwrap_or_default()
}

fn round3(v: &Value) -> Value {
    json!((v.as_f64().unwrap_or(f64::NAN) * 1000.0).round() / 1000.0)
}

fn query(pairs: &[(&str, &Value)]) -> String {
    let q: Vec<String> = pairs.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k}={v}")).collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// One op through HTTP; `None` when the op has no route.
async fn run_op(c: &Client, op: &str, a: &Value, names: &BTreeMap<String, u64>) -> Option<Result<Value, String>> {
    use Method as M;
    let agent = &a["agent_id"];
    let mem = || match a["memory"].as_str() {
        Some(n) => names.get(n).copied().unwrap_or_else(|| panic!("no memory named {n}")),
        None => a["memory_id"].as_u64().expect("memory_id"),
    };
    let hits = |r: Result<Value, String>| {
        r.map(|v| {
            let list = v.as_array().cloned().unwrap_or_default();
            let field = |k: &str| list.iter().map(|h| h[k].clone()).collect::<Vec<_>>();
            let mut docs: Vec<String> = list.iter().filter_map(|h| h["doc_id"].as_str().map(str::to_string)).collect();
            docs.sort_unstable();
            docs.dedup();
            json!({"count": list.len(), "doc_ids": field("doc_id"), "docs": docs, "chunk_ids": field("chunk_id"),
                "positions": field("position"), "starts": field("start_char"), "ends": field("end_char"), "contents": field("content")})
        })
    };
    let doc_filter = pick(a, &["doc_ids", "metadata"]);
    Some(match op {
        "save_state" => {
            let mut body = pick(a, &["state_type", "data", "metadata", "key"]);
            if body.get("data").is_none() {
                body["data"] = json!("");
            }
            c.call(M::POST, &format!("/v1/agents/{agent}/sessions/{}/states", a["session_id"]), Some(body)).await
        }
        "load_state_by_key" => {
            let q = encoded_query(&[("key", &a["key"])]);
            c.call(M::GET, &format!("/v1/agents/{agent}/sessions/{}/states/by-key{q}", a["session_id"]), None)
                .await
                .map(|v| state_value(&v))
        }
        "state_history_page" => {
            let q = encoded_query(&[("before_version", &a["before_version"]), ("limit", &a["limit"])]);
            c.call(M::GET, &format!("/v1/agents/{agent}/sessions/{}/states{q}", a["session_id"]), None).await.map(|v| {
                let rows = v.as_array().cloned().unwrap_or_default();
                let field = |k: &str| rows.iter().map(|r| r[k].clone()).collect::<Vec<_>>();
                json!({"versions": field("version"), "data": field("data"), "keys": field("key")})
            })
        }
        "load_state" => c
            .call(M::GET, &format!("/v1/agents/{agent}/state{}", query(&[("session_id", &a["session_id"])])), None)
            .await
            .map(|v| state_value(&v)),
        "load_state_version" => c
            .call(M::GET, &format!("/v1/agents/{agent}/sessions/{}/states/{}", a["session_id"], a["version"]), None)
            .await
            .map(|v| state_value(&v)),
        "query_history" => {
            let q = query(&[("session_id", &a["session_id"]), ("from_ms", &a["from_ms"]), ("to_ms", &a["to_ms"]), ("limit", &a["limit"])]);
            c.call(M::GET, &format!("/v1/agents/{agent}/history{q}"), None).await.map(|v| {
                let rows = v.as_array().cloned().unwrap_or_default();
                json!({"versions": rows.iter().map(|r| r["version"].clone()).collect::<Vec<_>>(),
                    "data": rows.iter().map(|r| r["data"].clone()).collect::<Vec<_>>()})
            })
        }
        "create_snapshot" => c
            .call(M::POST, &format!("/v1/agents/{agent}/sessions/{}/snapshots", a["session_id"]), Some(pick(a, &["name"])))
            .await
            .map(|v| json!({"agent_id": v["agent_id"], "session_id": v["session_id"], "name": v["name"], "version": v["version"]})),
        "list_snapshots" => c.call(M::GET, &format!("/v1/agents/{agent}/snapshots"), None).await.map(|v| {
            json!({"names": v.as_array().cloned().unwrap_or_default().iter().map(|s| s["name"].clone()).collect::<Vec<_>>()})
        }),
        "restore_snapshot" => {
            let name = a["name"].as_str().unwrap_or_default();
            c.call(M::POST, &format!("/v1/agents/{agent}/snapshots/{name}/restore"), None).await.map(|v| state_value(&v))
        }
        "delete_agent" => c.call(M::DELETE, &format!("/v1/agents/{agent}"), None).await,
        "flush" => c.call(M::POST, "/v1/admin/flush", None).await,
        "compact" => c.call(M::POST, "/v1/admin/compact", None).await,
        "gc" => c.call(M::POST, "/v1/admin/gc", Some(pick(a, &["keep_last", "keep_newer_than_ms"]))).await.map(|v| json!({"removed": v["state_versions_removed"]})),
        "store_memory" => c
            .call(M::POST, "/v1/memories", Some(pick(a, &["agent_id", "memory_type", "content", "importance", "embedding", "metadata"])))
            .await
            .map(|v| {
                json!({"stored": true, "memory_id": v["memory_id"], "kind": v["kind"],
                    "absorbed_count": v["absorbed"].as_array().map_or(0, Vec::len), "evicted_count": v["evicted"].as_array().map_or(0, Vec::len)})
            }),
        "get_memory" => c.call(M::GET, &format!("/v1/memories/{}", mem()), None).await.map(|m| {
            json!({"memory_id": m["memory_id"], "content": m["content"], "memory_type": m["memory_type"],
                "importance": round3(&m["importance"]), "access_count": m["access_count"], "pinned": m["pinned"], "metadata": m["metadata"]})
        }),
        "pin_memory" => c.call(M::PUT, &format!("/v1/memories/{}/pin", mem()), None).await,
        "unpin_memory" => c.call(M::DELETE, &format!("/v1/memories/{}/pin", mem()), None).await,
        "forget" => c
            .call(M::POST, &format!("/v1/agents/{agent}/memories/forget"), Some(pick(a, &["older_than_ms", "min_importance", "decay_half_life_ms"])))
            .await,
        "retrieve_similar" => {
            let mut body = pick(a, &["vector", "limit"]);
            if !a["memory_types"].is_null() {
                body["filter"] = json!({"memory_types": a["memory_types"]});
            }
            c.call(M::POST, &format!("/v1/agents/{agent}/memories/retrieve"), Some(body)).await.map(|v| {
                let list = v.as_array().cloned().unwrap_or_default();
                json!({"contents": list.iter().map(|h| h["memory"]["content"].clone()).collect::<Vec<_>>(), "count": list.len()})
            })
        }
        "create_collection" => {
            let mut body = pick(a, &["name", "dimension", "metric"]);
            if body.get("metric").is_none() {
                body["metric"] = json!("cosine");
            }
            c.call(M::POST, "/v1/collections", Some(body)).await
        }
        "insert_vector" => {
            let coll = a["collection"].as_str().unwrap_or_default();
            c.call(M::POST, &format!("/v1/collections/{coll}/vectors"), Some(json!({"vectors": [pick(a, &["id", "vector", "metadata"])]}))).await
        }
        "delete_vector" => {
            let (coll, id) = (a["collection"].as_str().unwrap_or_default(), a["id"].as_str().unwrap_or_default());
            c.call(M::DELETE, &format!("/v1/collections/{coll}/vectors/{id}"), None).await
        }
        "search_knn" | "search_range" => {
            let coll = a["collection"].as_str().unwrap_or_default();
            let body = pick(a, &["vector", "k", "radius", "max_results", "metadata"]);
            c.call(M::POST, &format!("/v1/collections/{coll}/search"), Some(body)).await.map(|v| {
                let list = v.as_array().cloned().unwrap_or_default();
                json!({"count": list.len(), "ids": list.iter().map(|h| h["id"].clone()).collect::<Vec<_>>(),
                    "distances": list.iter().map(|h| round3(&h["distance"])).collect::<Vec<_>>()})
            })
        }
        "index_document" => c.call(M::POST, "/v1/documents", Some(pick(a, &["doc_id", "title", "text", "metadata"]))).await,
        "get_document" => c.call(M::GET, &format!("/v1/documents/{}", a["doc_id"].as_str().unwrap_or_default()), None).await,
        "delete_document" => c.call(M::DELETE, &format!("/v1/documents/{}", a["doc_id"].as_str().unwrap_or_default()), None).await,
        "semantic_search" | "full_text_search" | "hybrid_search" => {
            let mode = op.trim_end_matches("_search");
            let mut body = json!({"mode": mode, "query": a["query"], "filter": doc_filter});
            if !a["limit"].is_null() {
                body["limit"] = a["limit"].clone();
            }
            match a["fusion"].as_str() {
                Some("rrf") => body["fusion"] = json!({"kind": "reciprocal_rank"}),
                Some(_) | None if !a["alpha"].is_null() => body["fusion"] = json!({"kind": "weighted", "alpha": a["alpha"]}),
                _ => {}
            }
            hits(c.call(M::POST, "/v1/documents/search", Some(body)).await)
        }
        "defaults" => c.call(M::GET, "/v1/defaults", None).await,
        "put_item" => c
            .call(M::POST, "/v1/items/put", Some(pick(a, &["namespace", "key", "value", "metadata", "ttl_ms"])))
            .await
            .map(|v| item_value(&v)),
        "get_item" => c
            .call(M::POST, "/v1/items/get", Some(json!({"addresses": [pick(a, &["namespace", "key"])]})))
            .await
            .map(|v| item_value(&v["items"][0])),
        "delete_item" => c.call(M::POST, "/v1/items/delete", Some(pick(a, &["namespace", "key"]))).await,
        "write_items" => c.call(M::POST, "/v1/items/write", Some(pick(a, &["writes"]))).await,
        "search_items" => c
            .call(M::POST, "/v1/items/search", Some(pick(a, &["prefix", "filter", "metadata", "limit", "offset"])))
            .await
            .map(|v| {
                let items = v["items"].as_array().cloned().unwrap_or_default();
                let field = |k: &str| items.iter().map(|i| i[k].clone()).collect::<Vec<_>>();
                json!({"namespaces": field("namespace"), "keys": field("key"), "values": field("value"),
                    "total": v["total"], "count": items.len()})
            }),
        "list_item_namespaces" => {
            c.call(M::POST, "/v1/items/namespaces", Some(pick(a, &["prefix", "suffix", "max_depth", "limit", "offset"]))).await
        }
        "sweep_expired_items" => c.call(M::POST, "/v1/items/sweep", None).await,
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cases_pass_through_http() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "conformance cases found: {files:?}");
    let mut checked = 0;
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for file in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("case json");
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut server, mut client) = start(dir.path(), &case["options"]).await;
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let op = step["op"].as_str().expect("op");
            let ctx = format!("{} step {i} ({op})", file.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
            if op == "reopen" {
                server.stop().await.expect("stop");
                (server, client) = start(dir.path(), &case["options"]).await;
                continue;
            }
            let Some(got) = run_op(&client, op, &step["args"], &names).await else {
                *skipped.entry(op.to_string()).or_default() += 1;
                continue;
            };
            checked += 1;
            match (&step["expect_error"], got) {
                (Value::String(code), Err(got)) => assert_eq!(&got, code, "{ctx}"),
                (Value::String(code), Ok(v)) => panic!("{ctx}: expected error {code}, got {v}"),
                (_, Err(code)) => panic!("{ctx}: unexpected error {code}"),
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
                            } else if v.get(k).is_some() {
                                assert_eq!(&v[k], w, "{ctx}: field {k} of {v}");
                            } else {
                                *skipped.entry(format!("{op}.{k}")).or_default() += 1;
                            }
                        }
                    }
                    if let Some(name) = step["as"].as_str() {
                        names.insert(name.to_string(), v["memory_id"].as_u64().expect("memory_id"));
                    }
                }
            }
        }
        server.stop().await.expect("stop");
    }
    assert!(checked > 50, "only {checked} steps ran through HTTP");
    // Every item op has a route, and every field its cases expect is in the response.
    let unmapped_items: Vec<&String> =
        skipped.keys().filter(|k| k.contains("item") || k.starts_with("list_item_namespaces")).collect();
    assert!(unmapped_items.is_empty(), "item ops or fields not mapped over HTTP: {unmapped_items:?}");
    eprintln!("conformance over HTTP: {checked} steps checked; not mapped: {skipped:?}");
}

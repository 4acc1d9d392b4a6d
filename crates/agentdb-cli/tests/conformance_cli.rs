//! Runs the language-neutral cases in tests/conformance/*.json (format:
//! tests/conformance/README.md) through the real `agentdb` binary: one
//! process per step, with `--json`, its output compared as the engine's
//! runner (crates/agentdb/tests/conformance.rs) compares results. Every step
//! is a fresh open (and its exit a close), so `reopen` needs no action here
//! and every case also checks that nothing depends on staying open.
//!
//! An argument a case leaves out is left off the command line, so the CLI's
//! own default (the engine's, `agentdb::defaults`) applies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

#[path = "support/server.rs"]
mod server;
use server::Server;

/// Ops the CLI has no command for, each skipped with the reason (also listed
/// in tests/conformance/README.md). None today: every op has a command.
const SKIPPED_OPS: &[(&str, &str)] = &[];

/// Case options the CLI takes as global flags.
const OPTION_FLAGS: [(&str, &str); 4] = [
    ("max_payload_bytes", "--max-payload-bytes"),
    ("memory_dimension", "--memory-dimension"),
    ("chunk_chars", "--chunk-chars"),
    ("chunk_overlap", "--chunk-overlap"),
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

/// One `agentdb --json` run: its parsed stdout, or the error code it printed on stderr.
fn agentdb(global: &[String], args: &[String]) -> Result<Value, String> {
    agentdb_with_stdin(global, args, None)
}

/// As `agentdb`, with `stdin` piped in (a `--request -` body, a batch file).
fn agentdb_with_stdin(global: &[String], args: &[String], stdin: Option<&str>) -> Result<Value, String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentdb"))
        .arg("--json")
        .args(global)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run agentdb");
    if let Some(text) = stdin {
        child.stdin.take().expect("piped stdin").write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("run agentdb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        return Ok(
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {stdout}"))
        );
    }
    // `--json` errors are one JSON object on the last line of stderr (logs may precede it).
    let last = stderr.lines().last().unwrap_or_default();
    let err: Value =
        serde_json::from_str(last).unwrap_or_else(|_| panic!("{args:?}: failed without a JSON error: {stderr}"));
    Err(err["error"].as_str().unwrap_or_else(|| panic!("{args:?}: no error code: {stderr}")).to_string())
}

fn u(a: &Value, k: &str) -> String {
    a[k].as_u64().unwrap_or_else(|| panic!("arg {k} missing")).to_string()
}

fn s(a: &Value, k: &str) -> String {
    a[k].as_str().unwrap_or_default().to_string()
}

/// `--flag=value` for each given argument; absent ones are left to the CLI's defaults.
fn opt(cmd: &mut Vec<String>, a: &Value, key: &str, flag: &str) {
    match &a[key] {
        Value::Null => {}
        Value::String(v) => cmd.push(format!("{flag}={v}")),
        v => cmd.push(format!("{flag}={v}")),
    }
}

/// `--meta=K=V` per metadata entry (sorted, as the engine stores them).
fn meta(cmd: &mut Vec<String>, a: &Value) {
    let m: BTreeMap<String, String> = serde_json::from_value(a["metadata"].clone()).unwrap_or_default();
    cmd.extend(m.iter().map(|(k, v)| format!("--meta={k}={v}")));
}

/// A vector as the CLI takes it: `0.1,0.2,...`.
fn values(a: &Value, k: &str) -> String {
    a[k].as_array().map(|xs| xs.iter().map(Value::to_string).collect::<Vec<_>>().join(",")).unwrap_or_default()
}

fn memory_id(a: &Value, names: &BTreeMap<String, u64>) -> String {
    match a["memory"].as_str() {
        Some(name) => names.get(name).unwrap_or_else(|| panic!("no memory named {name:?}")).to_string(),
        None => u(a, "memory_id"),
    }
}

fn state_value(v: &Value) -> Value {
    json!({"agent_id": v["agent_id"], "session_id": v["session_id"], "version": v["version"],
           "state_type": v["state_type"], "data": v["data"], "metadata": v["metadata"], "key": v["key"]})
}

fn rounded(x: &Value) -> Value {
    json!((x.as_f64().unwrap_or(f64::NAN) * 1000.0).round() / 1000.0)
}

fn memory_value(m: &Value) -> Value {
    json!({"memory_id": m["memory_id"], "content": m["content"], "memory_type": m["memory_type"],
           "importance": rounded(&m["importance"]), "access_count": m["access_count"],
           "pinned": m["pinned"], "metadata": m["metadata"]})
}

fn document_value(d: &Value) -> Value {
    json!({"doc_id": d["doc_id"], "title": d["title"], "metadata": d["metadata"],
           "chunk_count": d["chunk_count"], "char_count": d["char_count"]})
}

fn column(rows: &Value, field: &str) -> Vec<Value> {
    rows.as_array().expect("a JSON array").iter().map(|r| r[field].clone()).collect()
}

fn hits_value(rows: &Value) -> Value {
    let doc_ids = column(rows, "doc_id");
    let mut docs: Vec<&str> = doc_ids.iter().filter_map(Value::as_str).collect();
    docs.sort_unstable();
    docs.dedup();
    json!({"count": doc_ids.len(), "doc_ids": doc_ids, "docs": docs, "chunk_ids": column(rows, "chunk_id"),
           "positions": column(rows, "position"), "starts": column(rows, "start_char"),
           "ends": column(rows, "end_char"), "contents": column(rows, "content")})
}

/// `--FLAG=LABEL` per label of a namespace argument (one flag per label:
/// labels may hold '/', '=', spaces, quotes).
fn labels(cmd: &mut Vec<String>, a: &Value, key: &str, flag: &str) {
    for l in a[key].as_array().into_iter().flatten() {
        cmd.push(format!("{flag}={}", l.as_str().expect("labels are strings")));
    }
}

/// An item as the engine's runner gives it.
fn item_value(v: &Value) -> Value {
    if v.is_null() {
        return json!({"found": false});
    }
    json!({"found": true, "namespace": v["namespace"], "key": v["key"], "value": v["value"],
           "metadata": v["metadata"], "ttl_ms": v["ttl_ms"]})
}

/// The item ops: flags, except where an argument holds a NUL, which argv
/// cannot carry: then the step's arguments go as the `--request -` JSON body
/// on stdin (the CLI's documented way for such text).
fn run_item_op(global: &[String], op: &str, a: &Value) -> Result<Value, String> {
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let has_nul = a.to_string().contains("\\u0000");
    let via_request = |sub: &str, body: Value| {
        agentdb_with_stdin(global, &words(&["item", sub, "--request", "-"]), Some(&body.to_string()))
    };
    match op {
        "put_item" => {
            let body = pick(a, &["namespace", "key", "value", "metadata", "ttl_ms"]);
            let v = if has_nul {
                via_request("put", body)?
            } else {
                let mut cmd = words(&["item", "put"]);
                labels(&mut cmd, a, "namespace", "--ns");
                cmd.push(format!("--key={}", s(a, "key")));
                cmd.push(format!("--value={}", a["value"]));
                meta(&mut cmd, a);
                opt(&mut cmd, a, "ttl_ms", "--ttl-ms");
                agentdb(global, &cmd)?
            };
            Ok(item_value(&v))
        }
        "get_item" | "delete_item" => {
            let sub = if op == "get_item" { "get" } else { "delete" };
            let v = if has_nul {
                let v = via_request(
                    sub,
                    if op == "get_item" {
                        json!({"addresses": [pick(a, &["namespace", "key"])]})
                    } else {
                        pick(a, &["namespace", "key"])
                    },
                )?;
                if op == "get_item" {
                    v["items"][0].clone()
                } else {
                    v
                }
            } else {
                let mut cmd = words(&["item", sub]);
                labels(&mut cmd, a, "namespace", "--ns");
                cmd.push(format!("--key={}", s(a, "key")));
                agentdb(global, &cmd)?
            };
            Ok(if op == "get_item" { item_value(&v) } else { json!({"deleted": v["deleted"]}) })
        }
        "write_items" => {
            // A batch always comes as JSON: from a file, or stdin here.
            let v = agentdb_with_stdin(
                global,
                &words(&["item", "write", "-"]),
                Some(&json!({"writes": a["writes"]}).to_string()),
            )?;
            Ok(json!({"put": v["put"], "deleted": v["deleted"]}))
        }
        "search_items" => {
            let v = if has_nul {
                via_request("search", pick(a, &["prefix", "filter", "metadata", "limit", "offset"]))?
            } else {
                let mut cmd = words(&["item", "search"]);
                labels(&mut cmd, a, "prefix", "--prefix");
                if !a["filter"].is_null() {
                    cmd.push(format!("--filter={}", a["filter"]));
                }
                meta(&mut cmd, a);
                opt(&mut cmd, a, "limit", "--limit");
                opt(&mut cmd, a, "offset", "--offset");
                agentdb(global, &cmd)?
            };
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let field = |k: &str| items.iter().map(|i| i[k].clone()).collect::<Vec<_>>();
            Ok(json!({"namespaces": field("namespace"), "keys": field("key"), "values": field("value"),
                      "total": v["total"], "count": items.len()}))
        }
        "list_item_namespaces" => {
            let v = if has_nul {
                via_request("namespaces", pick(a, &["prefix", "suffix", "max_depth", "limit", "offset"]))?
            } else {
                let mut cmd = words(&["item", "namespaces"]);
                labels(&mut cmd, a, "prefix", "--prefix");
                labels(&mut cmd, a, "suffix", "--suffix");
                opt(&mut cmd, a, "max_depth", "--max-depth");
                opt(&mut cmd, a, "limit", "--limit");
                opt(&mut cmd, a, "offset", "--offset");
                agentdb(global, &cmd)?
            };
            Ok(json!({"namespaces": v["namespaces"]}))
        }
        "sweep_expired_items" => Ok(json!({"deleted": agentdb(global, &words(&["item", "sweep"]))?["deleted"]})),
        other => panic!("{other} is not an item op"),
    }
}

/// The arguments a step gives, as a JSON object (absent ones left out).
fn pick(a: &Value, keys: &[&str]) -> Value {
    Value::Object(keys.iter().filter(|k| !a[**k].is_null()).map(|k| (k.to_string(), a[*k].clone())).collect())
}

const ITEM_OPS: [&str; 7] = [
    "put_item",
    "write_items",
    "get_item",
    "delete_item",
    "search_items",
    "list_item_namespaces",
    "sweep_expired_items",
];

/// Runs one step; the result in the shape the engine's runner gives.
fn run_op(global: &[String], op: &str, a: &Value, names: &BTreeMap<String, u64>) -> Result<Value, String> {
    if ITEM_OPS.contains(&op) {
        return run_item_op(global, op, a);
    }
    let mut cmd: Vec<String>;
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    match op {
        "save_state" => {
            cmd = words(&["state", "save"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--session={}", u(a, "session_id")));
            opt(&mut cmd, a, "state_type", "--type");
            cmd.push(format!("--data={}", s(a, "data")));
            meta(&mut cmd, a);
            opt(&mut cmd, a, "key", "--key");
            let v = agentdb(global, &cmd)?;
            Ok(json!({"version": v["version"]}))
        }
        "load_state_by_key" => {
            cmd = words(&["state", "load"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--session={}", u(a, "session_id")));
            cmd.push(format!("--key={}", s(a, "key")));
            Ok(state_value(&agentdb(global, &cmd)?))
        }
        "state_history_page" => {
            cmd = words(&["state", "history-page"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--session={}", u(a, "session_id")));
            opt(&mut cmd, a, "before_version", "--before-version");
            opt(&mut cmd, a, "limit", "--limit");
            let rows = agentdb(global, &cmd)?;
            Ok(
                json!({"versions": column(&rows, "version"), "data": column(&rows, "data"), "keys": column(&rows, "key")}),
            )
        }
        "load_state" | "load_state_version" => {
            cmd = words(&["state", "load"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            opt(&mut cmd, a, "session_id", "--session");
            opt(&mut cmd, a, "version", "--version");
            Ok(state_value(&agentdb(global, &cmd)?))
        }
        "query_history" => {
            cmd = words(&["state", "history"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            opt(&mut cmd, a, "session_id", "--session");
            opt(&mut cmd, a, "from_ms", "--from");
            opt(&mut cmd, a, "to_ms", "--to");
            opt(&mut cmd, a, "limit", "--limit");
            let rows = agentdb(global, &cmd)?;
            Ok(json!({"versions": column(&rows, "version"), "data": column(&rows, "data")}))
        }
        "create_snapshot" => {
            cmd = words(&["state", "snapshot"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--session={}", u(a, "session_id")));
            cmd.push(format!("--name={}", s(a, "name")));
            let v = agentdb(global, &cmd)?;
            Ok(
                json!({"agent_id": v["agent_id"], "session_id": v["session_id"], "name": v["name"], "version": v["version"]}),
            )
        }
        "list_snapshots" => {
            cmd = words(&["state", "snapshots"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            Ok(json!({"names": column(&agentdb(global, &cmd)?, "name")}))
        }
        "restore_snapshot" => {
            cmd = words(&["state", "restore"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--name={}", s(a, "name")));
            Ok(state_value(&agentdb(global, &cmd)?))
        }
        "delete_agent" => {
            cmd = words(&["state", "delete-agent"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            agentdb(global, &cmd).map(|_| json!({}))
        }
        "flush" | "compact" => agentdb(global, &words(&[op])).map(|_| json!({})),
        "gc" => {
            cmd = words(&["gc"]);
            opt(&mut cmd, a, "keep_last", "--keep-last");
            if let Some(ms) = a["keep_newer_than_ms"].as_u64() {
                cmd.push(format!("--keep-newer-than-hours={}", ms as f64 / 3_600_000.0));
            }
            Ok(json!({"removed": agentdb(global, &cmd)?["state_versions_removed"]}))
        }
        "store_memory" => {
            cmd = words(&["memory", "store"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            opt(&mut cmd, a, "memory_type", "--type");
            cmd.push(format!("--content={}", s(a, "content")));
            opt(&mut cmd, a, "importance", "--importance");
            if a["embedding"].is_array() {
                cmd.push(format!("--embedding={}", values(a, "embedding")));
            }
            let v = agentdb(global, &cmd)?;
            let count = |k: &str| v[k].as_array().map_or(0, Vec::len);
            Ok(json!({"stored": true, "memory_id": v["memory_id"], "kind": v["kind"],
                      "absorbed_count": count("absorbed"), "evicted_count": count("evicted")}))
        }
        "get_memory" => {
            cmd = words(&["memory", "get"]);
            cmd.push(format!("--id={}", memory_id(a, names)));
            Ok(memory_value(&agentdb(global, &cmd)?))
        }
        "pin_memory" | "unpin_memory" => {
            cmd = words(&["memory", if op == "pin_memory" { "pin" } else { "unpin" }]);
            cmd.push(format!("--id={}", memory_id(a, names)));
            agentdb(global, &cmd).map(|_| json!({}))
        }
        "forget" => {
            cmd = words(&["memory", "forget"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            if let Some(ms) = a["older_than_ms"].as_u64() {
                cmd.push(format!("--older-than-days={}", ms as f64 / 86_400_000.0));
            }
            opt(&mut cmd, a, "min_importance", "--min-importance");
            assert!(a["decay_half_life_ms"].is_null(), "the CLI's forget has no half-life flag");
            Ok(json!({"forgotten": agentdb(global, &cmd)?["forgotten"]}))
        }
        "retrieve_similar" => {
            cmd = words(&["memory", "retrieve"]);
            cmd.push(format!("--agent={}", u(a, "agent_id")));
            cmd.push(format!("--vector={}", values(a, "vector")));
            opt(&mut cmd, a, "limit", "--limit");
            for t in a["memory_types"].as_array().into_iter().flatten() {
                cmd.push(format!("--type={}", t.as_str().unwrap_or_default()));
            }
            let rows = agentdb(global, &cmd)?;
            let contents: Vec<Value> =
                rows.as_array().expect("array").iter().map(|h| h["memory"]["content"].clone()).collect();
            Ok(json!({"count": contents.len(), "contents": contents}))
        }
        "create_collection" => {
            cmd = words(&["vector", "create"]);
            cmd.push(format!("--dim={}", u(a, "dimension")));
            opt(&mut cmd, a, "metric", "--metric");
            cmd.extend(["--".to_string(), s(a, "name")]);
            agentdb(global, &cmd).map(|_| json!({}))
        }
        "insert_vector" => {
            cmd = words(&["vector", "insert"]);
            cmd.push(format!("--id={}", s(a, "id")));
            cmd.push(format!("--values={}", values(a, "vector")));
            meta(&mut cmd, a);
            cmd.extend(["--".to_string(), s(a, "collection")]);
            agentdb(global, &cmd).map(|_| json!({}))
        }
        "delete_vector" => {
            cmd = words(&["vector", "delete"]);
            cmd.push(format!("--id={}", s(a, "id")));
            cmd.extend(["--".to_string(), s(a, "collection")]);
            agentdb(global, &cmd).map(|_| json!({}))
        }
        "search_knn" | "search_range" => {
            cmd = words(&["vector", "search"]);
            cmd.push(format!("--values={}", values(a, "vector")));
            if op == "search_knn" {
                opt(&mut cmd, a, "k", "--k");
            } else {
                opt(&mut cmd, a, "radius", "--radius");
                opt(&mut cmd, a, "max_results", "--max-results");
            }
            meta(&mut cmd, a);
            cmd.extend(["--".to_string(), s(a, "collection")]);
            let rows = agentdb(global, &cmd)?;
            let distances: Vec<Value> = column(&rows, "distance").iter().map(rounded).collect();
            Ok(json!({"count": distances.len(), "ids": column(&rows, "id"), "distances": distances}))
        }
        "defaults" => agentdb(global, &words(&["defaults"])),
        "index_document" => {
            cmd = words(&["doc", "add"]);
            cmd.push(format!("--id={}", s(a, "doc_id")));
            opt(&mut cmd, a, "title", "--title");
            cmd.push(format!("--text={}", s(a, "text")));
            meta(&mut cmd, a);
            Ok(document_value(&agentdb(global, &cmd)?))
        }
        "get_document" | "delete_document" => {
            cmd = words(&["doc", if op == "get_document" { "get" } else { "delete" }]);
            cmd.push(format!("--id={}", s(a, "doc_id")));
            let v = agentdb(global, &cmd)?;
            Ok(if op == "get_document" { document_value(&v) } else { json!({}) })
        }
        "semantic_search" | "full_text_search" | "hybrid_search" => {
            let mode = match op {
                "semantic_search" => "semantic",
                "full_text_search" => "text",
                _ => "hybrid",
            };
            cmd = words(&["doc", "search"]);
            cmd.push(format!("--mode={mode}"));
            opt(&mut cmd, a, "limit", "--limit");
            opt(&mut cmd, a, "fusion", "--fusion");
            opt(&mut cmd, a, "alpha", "--alpha");
            for id in a["doc_ids"].as_array().into_iter().flatten() {
                cmd.push(format!("--doc={}", id.as_str().unwrap_or_default()));
            }
            meta(&mut cmd, a);
            cmd.extend(["--".to_string(), s(a, "query")]);
            Ok(hits_value(&agentdb(global, &cmd)?))
        }
        other => panic!("unknown conformance op {other:?}"),
    }
}

#[test]
fn conformance_cases_pass_through_the_cli() {
    run_cases(false);
}

/// The same cases through `agentdb --url`: a fresh server per case, its
/// engine options from the case, no keys (loopback callers are admins).
#[test]
fn conformance_cases_pass_through_the_cli_in_remote_mode() {
    run_cases(true);
}

fn run_cases(remote: bool) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "conformance cases found: {files:?}");
    let mut steps_run = 0;
    for file in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&file).expect("read case")).expect("case is JSON");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut global = vec![format!("--path={}", dir.path().join("db").display())];
        for (key, flag) in OPTION_FLAGS {
            if let Some(n) = case["options"][key].as_u64() {
                global.push(format!("{flag}={n}"));
            }
        }
        let _server = remote.then(|| {
            let srv = Server::start(|c| {
                let o = &case["options"];
                let n = |k: &str| o[k].as_u64().and_then(|n| usize::try_from(n).ok());
                c.engine.max_payload_bytes = n("max_payload_bytes").unwrap_or(c.engine.max_payload_bytes);
                c.engine.memory_dimension = n("memory_dimension").unwrap_or(c.engine.memory_dimension);
                c.engine.chunk_chars = n("chunk_chars").unwrap_or(c.engine.chunk_chars);
                c.engine.chunk_overlap = n("chunk_overlap").unwrap_or(c.engine.chunk_overlap);
            });
            global = vec![format!("--url={}", srv.url)];
            srv
        });
        // Every case starts on an open, empty database (as the other runners'
        // `open` gives it): create it first, or a read command opening a
        // directory that does not exist yet is `not_found` whatever it asks.
        agentdb(&global, &["flush".to_string()]).expect("create the case's database");
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let op = step["op"].as_str().expect("op");
            let ctx = format!("{} step {i} ({op})", file.file_name().unwrap_or_default().to_string_lossy());
            if op == "reopen" || SKIPPED_OPS.iter().any(|(skipped, _)| *skipped == op) {
                continue;
            }
            steps_run += 1;
            let got = run_op(&global, op, &step["args"], &names);
            match (&step["expect_error"], got) {
                (Value::String(code), Err(e)) => assert_eq!(&e, code, "{ctx}"),
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
    assert!(steps_run >= 150, "only {steps_run} steps ran");
}

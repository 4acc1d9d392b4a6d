//! The `agentdb` binary, run as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn agentdb(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentdb")).arg("--path").arg(dir).args(args).output().unwrap()
}

fn json_ok(dir: &std::path::Path, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = agentdb(dir, &full);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn quickstart_runs_end_to_end_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qs");
    let out = json_ok(&db, &["quickstart"]);
    let steps: Vec<&str> = out["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    for want in [
        "open database",
        "save states",
        "restore snapshot (rollback)",
        "store memories (built-in model)",
        "index documents",
        "full-text search (中文)",
        "hybrid search (alpha 0.5)",
        "k-NN search (k=3)",
        "reopen database",
        "load latest (cold, from Lance)",
    ] {
        assert!(steps.contains(&want), "missing step {want}: {steps:?}");
    }
    let states = out["stats"]["tables"].as_array().unwrap().iter().find(|t| t["name"] == "states").unwrap().clone();
    assert_eq!(states["rows"], 1204);
    // The database it left behind is usable by the other commands.
    let hist = json_ok(&db, &["state", "history", "--agent", "1", "--session", "1", "--limit", "4"]);
    let versions: Vec<u64> = hist.as_array().unwrap().iter().map(|s| s["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, vec![204, 203, 202, 201]);
    let snaps = json_ok(&db, &["state", "snapshots", "--agent", "1"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    // Human-readable mode prints the table too.
    let text = agentdb(&dir.path().join("qs2"), &["quickstart"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("load latest (hot, from cache)") && text.contains("Done."), "{text}");
}

#[test]
fn state_commands_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let saved = json_ok(
        p,
        &[
            "state",
            "save",
            "--agent",
            "7",
            "--session",
            "2",
            "--type",
            "task_state",
            "--data",
            "{\"a\":1}",
            "--meta",
            "k=v",
        ],
    );
    assert_eq!(saved["version"], 1);
    // Payload from stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentdb"))
        .args(["--json", "--path"])
        .arg(p)
        .args(["state", "save", "--agent", "7", "--session", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"from stdin").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["version"], 2);

    let latest = json_ok(p, &["state", "load", "--agent", "7", "--session", "2"]);
    assert_eq!((latest["version"].as_u64(), latest["data"].as_str()), (Some(2), Some("from stdin")));
    let v1 = json_ok(p, &["state", "load", "--agent", "7", "--session", "2", "--version", "1"]);
    assert_eq!(v1["metadata"]["k"], "v");
    assert_eq!(v1["state_type"], "task_state");
    let raw = agentdb(p, &["state", "load", "--agent", "7", "--raw"]);
    assert_eq!(raw.stdout, b"from stdin");

    json_ok(p, &["state", "snapshot", "--agent", "7", "--session", "2", "--name", "good"]);
    json_ok(p, &["state", "save", "--agent", "7", "--session", "2", "--data", "oops"]);
    let restored = json_ok(p, &["state", "restore", "--agent", "7", "--name", "good"]);
    assert_eq!((restored["version"].as_u64(), restored["data"].as_str()), (Some(4), Some("from stdin")));

    let stats = json_ok(p, &["stats"]);
    assert_eq!(stats["last_lsn"], 5);
    let compact = json_ok(p, &["compact"]);
    assert!(compact["tables"].as_array().unwrap().len() >= 2);

    json_ok(p, &["state", "delete-agent", "--agent", "7"]);
    let gone = agentdb(p, &["--json", "state", "load", "--agent", "7"]);
    assert_eq!(gone.status.code(), Some(3), "not found exits 3");
    let err: Value = serde_json::from_slice(&gone.stderr).unwrap();
    assert_eq!(err["error"], "not_found");
}

#[test]
fn keyed_state_commands_and_history_pages() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let awkward = "thread/1?ck=%2F \"quoted\" it's";
    let saved = json_ok(p, &["state", "save", "--agent", "3", "--session", "1", "--key", awkward, "--data", "one"]);
    assert_eq!((saved["version"].as_u64(), saved["key"].as_str()), (Some(1), Some(awkward)));
    let unkeyed = json_ok(p, &["state", "save", "--agent", "3", "--session", "1", "--data", "two"]);
    assert!(unkeyed["key"].is_null());
    json_ok(p, &["flush"]);
    json_ok(p, &["state", "save", "--agent", "3", "--session", "1", "--key", "ck-3", "--data", "three"]);

    let by_key = json_ok(p, &["state", "load", "--agent", "3", "--session", "1", "--key", awkward]);
    assert_eq!(
        (by_key["version"].as_u64(), by_key["data"].as_str(), by_key["key"].as_str()),
        (Some(1), Some("one"), Some(awkward))
    );
    assert!(json_ok(p, &["state", "load", "--agent", "3", "--session", "1", "--version", "2"])["key"].is_null());
    let text = agentdb(p, &["state", "load", "--agent", "3", "--session", "1", "--key", "ck-3"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("v3 key \"ck-3\""),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let raw = agentdb(p, &["state", "load", "--agent", "3", "--session", "1", "--key", "ck-3", "--raw"]);
    assert_eq!(raw.stdout, b"three");

    let page = json_ok(p, &["state", "history-page", "--agent", "3", "--session", "1", "--limit", "2"]);
    let versions = |v: &Value| v.as_array().unwrap().iter().map(|s| s["version"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(versions(&page), vec![3, 2]);
    assert_eq!((page[0]["key"].as_str(), page[1]["key"].is_null()), (Some("ck-3"), true));
    let next = json_ok(p, &["state", "history-page", "--agent", "3", "--session", "1", "--before-version", "2"]);
    assert_eq!(versions(&next), vec![1]);
    assert_eq!(next[0]["key"], awkward);
    let empty = json_ok(p, &["state", "history-page", "--agent", "3", "--session", "9"]);
    assert_eq!(empty, Value::Array(vec![]));

    let missing = agentdb(p, &["--json", "state", "load", "--agent", "3", "--session", "1", "--key", "ck-"]);
    assert_eq!(missing.status.code(), Some(3), "an unknown key is not found");
    for bad in [
        &["state", "save", "--agent", "3", "--key", "", "--data", "x"][..],
        &["state", "load", "--agent", "3", "--session", "1", "--key", ""],
        &["state", "history-page", "--agent", "3", "--session", "1", "--limit", "0"],
        &["state", "history-page", "--agent", "3", "--session", "1", "--limit", "100001"],
    ] {
        let out = agentdb(p, &[&["--json"][..], bad].concat());
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err: Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["error"], "invalid_argument", "{bad:?}");
    }
    let long = "k".repeat(1025);
    assert_eq!(agentdb(p, &["state", "save", "--agent", "3", "--key", &long, "--data", "x"]).status.code(), Some(2));
    // A key names a version of one session: --key without --session is a usage error.
    let usage = agentdb(p, &["state", "load", "--agent", "3", "--key", "ck-3"]);
    assert!(!usage.status.success() && String::from_utf8_lossy(&usage.stderr).contains("--session"));
    assert_eq!(versions(&json_ok(p, &["state", "history-page", "--agent", "3", "--session", "1"])), vec![3, 2, 1]);

    // Import: a state line may carry a key.
    let jsonl = p.join("keyed.jsonl");
    std::fs::write(
        &jsonl,
        [
            r#"{"kind":"state","agent_id":4,"session_id":2,"data":"a","key":"ck/\"1\""}"#,
            r#"{"kind":"state","agent_id":4,"session_id":2,"data":"b","key":null}"#,
            r#"{"kind":"state","agent_id":4,"session_id":2,"data":"c"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    assert_eq!(json_ok(p, &["import", jsonl.to_str().unwrap()])["states"], 3);
    let imported = json_ok(p, &["state", "load", "--agent", "4", "--session", "2", "--key", "ck/\"1\""]);
    assert_eq!((imported["version"].as_u64(), imported["data"].as_str()), (Some(1), Some("a")));
    let page = json_ok(p, &["state", "history-page", "--agent", "4", "--session", "2"]);
    let keys: Vec<Value> = page.as_array().unwrap().iter().map(|s| s["key"].clone()).collect();
    assert_eq!(keys, vec![Value::Null, Value::Null, Value::from("ck/\"1\"")]);
    std::fs::write(&jsonl, r#"{"kind":"state","agent_id":4,"data":"x","key":""}"#).unwrap();
    let bad = agentdb(p, &["import", jsonl.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let bad_type = agentdb(p, &["state", "save", "--agent", "1", "--type", "feelings", "--data", "x"]);
    assert_eq!(bad_type.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_type.stderr).contains("unknown state type"));
    json_ok(p, &["state", "save", "--agent", "1", "--data", "x"]);
    let bad_name = agentdb(p, &["state", "snapshot", "--agent", "1", "--name", "a b"]);
    assert_eq!(bad_name.status.code(), Some(2));
    let bad_fsync = agentdb(p, &["--fsync", "sometimes", "stats"]);
    assert_eq!(bad_fsync.status.code(), Some(2));
    let missing_db = agentdb(&p.join("nowhere"), &["state", "load", "--agent", "1"]);
    assert_eq!(missing_db.status.code(), Some(3));
    let bad_meta = agentdb(p, &["state", "save", "--agent", "1", "--data", "x", "--meta", "novalue"]);
    assert!(!bad_meta.status.success());
}

#[test]
fn memory_commands_roundtrip_with_the_built_in_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let a = json_ok(
        p,
        &["memory", "store", "--agent", "4", "--content", "The user is allergic to peanuts.", "--importance", "0.9"],
    );
    let b = json_ok(
        p,
        &[
            "memory",
            "store",
            "--agent",
            "4",
            "--type",
            "episodic",
            "--content",
            "Went hiking on Saturday.",
            "--meta",
            "src=chat",
        ],
    );
    let (a, b) = (a["memory_id"].as_u64().unwrap(), b["memory_id"].as_u64().unwrap());
    let hits = json_ok(p, &["memory", "retrieve", "--agent", "4", "--query", "food allergy", "--limit", "1"]);
    assert_eq!(hits[0]["memory"]["memory_id"].as_u64(), Some(a));
    let episodic = json_ok(p, &["memory", "retrieve", "--agent", "4", "--query", "food allergy", "--type", "episodic"]);
    assert_eq!(episodic.as_array().unwrap().len(), 1);
    assert_eq!(episodic[0]["memory"]["metadata"]["src"], "chat");
    let got = json_ok(p, &["memory", "get", "--id", &a.to_string()]);
    assert_eq!(got["access_count"], 1, "retrieval counted as an access");
    let again = json_ok(p, &["memory", "store", "--agent", "4", "--content", "the user is ALLERGIC to peanuts."]);
    assert_eq!(
        (again["kind"].as_str(), again["memory_id"].as_u64()),
        (Some("duplicate"), Some(a)),
        "an exact repeat is not stored twice"
    );
    json_ok(p, &["memory", "set-importance", "--id", &b.to_string(), "--importance", "0.01"]);
    json_ok(p, &["memory", "pin", "--id", &b.to_string()]);
    let kept = json_ok(p, &["memory", "forget", "--agent", "4", "--older-than-days", "0", "--min-importance", "0.05"]);
    assert_eq!(kept["forgotten"], 0, "a pinned memory is never forgotten");
    assert_eq!(json_ok(p, &["memory", "get", "--id", &b.to_string()])["pinned"], true);
    json_ok(p, &["memory", "unpin", "--id", &b.to_string()]);
    let forgot =
        json_ok(p, &["memory", "forget", "--agent", "4", "--older-than-days", "0", "--min-importance", "0.05"]);
    assert_eq!(forgot["forgotten"], 1);
    let list = json_ok(p, &["memory", "list", "--agent", "4"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let report = json_ok(p, &["memory", "consolidate", "--agent", "4"]);
    assert_eq!((report["examined"].as_u64(), report["remaining"].as_u64()), (Some(1), Some(1)));
    json_ok(p, &["memory", "delete", "--id", &a.to_string()]);
    assert_eq!(agentdb(p, &["memory", "get", "--id", &a.to_string()]).status.code(), Some(3));
    let bad = agentdb(p, &["memory", "store", "--agent", "4", "--content", "x", "--importance", "2"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn doc_vector_and_import_commands() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    json_ok(
        p,
        &["doc", "add", "--id", "tea", "--text", "龙井茶产自杭州西湖。绿茶是最受欢迎的饮品之一。", "--meta", "lang=zh"],
    );
    json_ok(
        p,
        &[
            "doc",
            "add",
            "--id",
            "trains",
            "--title",
            "Trains",
            "--text",
            "High-speed trains connect Paris and Lyon in two hours.",
        ],
    );
    let hits = json_ok(p, &["doc", "search", "龙井茶", "--mode", "text"]);
    assert_eq!(hits[0]["doc_id"], "tea");
    let hits = json_ok(p, &["doc", "search", "rail journey to Lyon", "--mode", "semantic", "--limit", "1"]);
    assert_eq!(hits[0]["doc_id"], "trains");
    let hits = json_ok(p, &["doc", "search", "Paris trains", "--alpha", "0.5"]);
    assert_eq!(hits[0]["doc_id"], "trains");
    assert_eq!(json_ok(p, &["doc", "get", "--id", "trains"])["title"], "Trains");
    json_ok(p, &["doc", "delete", "--id", "trains"]);
    assert_eq!(agentdb(p, &["doc", "get", "--id", "trains"]).status.code(), Some(3));

    json_ok(p, &["vector", "create", "pts", "--dim", "2", "--metric", "l2"]);
    json_ok(p, &["vector", "insert", "pts", "--id", "a", "--values", "0,0"]);
    json_ok(p, &["vector", "insert", "pts", "--id", "b", "--values", "3,-4", "--meta", "k=v"]);
    let hits = json_ok(p, &["vector", "search", "pts", "--values", "0,0", "--k", "2"]);
    assert_eq!((hits[1]["id"].as_str(), hits[1]["distance"].as_f64()), (Some("b"), Some(5.0)));
    let within = json_ok(p, &["vector", "search", "pts", "--values", "0,0", "--radius", "1"]);
    assert_eq!(within.as_array().unwrap().len(), 1);
    assert_eq!(json_ok(p, &["vector", "list"])[0]["name"], "pts");
    let bad = agentdb(p, &["vector", "insert", "pts", "--id", "c", "--values", "1,2,3"]);
    assert_eq!(bad.status.code(), Some(2), "dimension mismatch is bad input");

    let jsonl = dir.path().join("in.jsonl");
    std::fs::write(
        &jsonl,
        [
            r#"{"kind":"state","agent_id":9,"session_id":1,"data":"{\"step\":1}"}"#,
            r#"{"kind":"memory","agent_id":9,"content":"Imported fact about penguins.","importance":0.8}"#,
            r#"{"kind":"document","doc_id":"imp","text":"Imported document about glaciers."}"#,
            r#"{"kind":"vector","collection":"pts","id":"z","vector":[1.0,1.0]}"#,
            "",
        ]
        .join("\n"),
    )
    .unwrap();
    let report = json_ok(p, &["import", jsonl.to_str().unwrap()]);
    assert_eq!(
        (
            report["states"].as_u64(),
            report["memories"].as_u64(),
            report["documents"].as_u64(),
            report["vectors"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(json_ok(p, &["state", "load", "--agent", "9"])["data"], "{\"step\":1}");
    std::fs::write(&jsonl, "{\"kind\":\"state\",\"agent_id\":9,\"data\":\"ok\"}\n{\"kind\":\"bogus\"}\n").unwrap();
    let bad = agentdb(p, &["import", jsonl.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 2"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn gc_trims_history_and_stats_remember_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let save =
        |i: u32| json_ok(p, &["state", "save", "--agent", "3", "--session", "1", "--data", &format!("step {i}")]);
    save(1);
    save(2);
    json_ok(p, &["state", "snapshot", "--agent", "3", "--session", "1", "--name", "second"]);
    (3..=6).for_each(|i| {
        save(i);
    });
    let none = agentdb(p, &["gc"]);
    assert_eq!(none.status.code(), Some(2), "gc without a retention is refused");
    let report = json_ok(p, &["gc", "--keep-last", "2"]);
    assert_eq!(report["state_versions_removed"], 3, "1, 3 and 4 go; 2 is the snapshot's, 5 and 6 the last two");
    let history = json_ok(p, &["state", "history", "--agent", "3", "--session", "1"]);
    let versions: Vec<u64> = history.as_array().unwrap().iter().map(|s| s["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, vec![6, 5, 2]);
    // Another process sees what maintenance last did.
    let stats = json_ok(p, &["stats"]);
    let last = &stats["last_maintenance"];
    assert!(
        last["tables"].as_array().unwrap().iter().any(|t| t["table"] == "states" && t["rows_purged"] == 3),
        "{stats}"
    );
}

/// `agentdb --json ARGS` with `stdin` piped in; the output and the parsed stdout (null on failure).
fn json_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> (Output, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentdb"))
        .args(["--json", "--path"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

fn error_code(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Value = serde_json::from_str(stderr.lines().last().unwrap_or_default()).unwrap_or(Value::Null);
    last["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn item_commands_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Labels are never split: '/', '=', spaces, quotes and a leading '-' stay whole.
    let labels = ["users", "a/b c", "it's \"q\"", "-x=y"];
    let mut put = vec!["item", "put"];
    for l in &labels {
        put.extend(["--ns", l]);
    }
    put.extend(["--key", "", "--value", "{\"n\": 1, \"tag\": \"red\"}", "--meta", "src=ui", "--ttl-ms", "3600000"]);
    let item = json_ok(p, &put);
    assert_eq!(item["namespace"], serde_json::json!(labels));
    assert_eq!(
        (&item["key"], &item["value"]["tag"], &item["metadata"]["src"]),
        (&serde_json::json!(""), &serde_json::json!("red"), &serde_json::json!("ui"))
    );
    assert_eq!(item["ttl_ms"], 3_600_000);
    assert!(item["expires_at_ms"].as_i64().unwrap() > item["updated_at_ms"].as_i64().unwrap());
    // The same namespace as one JSON array.
    let ns_json = serde_json::to_string(&labels).unwrap();
    let got = json_ok(p, &["item", "get", "--ns-json", &ns_json, "--key", ""]);
    assert_eq!(got, item);
    assert_eq!(json_ok(p, &["item", "get", "--ns", "users", "--key", ""]), Value::Null);
    // A value from stdin, then a batch from stdin (a bare array of operations).
    let (out, v) = json_stdin(p, &["item", "put", "--ns", "t", "--key", "s", "--value-file", "-"], "\"plain\"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["value"], "plain");
    let batch = r#"[{"put": {"namespace": ["t", "1"], "key": "a", "value": {"n": 5}}},
                    {"put": {"namespace": ["t", "2"], "key": "a", "value": {"n": 7}}},
                    {"delete": {"namespace": ["t"], "key": "s"}}]"#;
    let (out, v) = json_stdin(p, &["item", "write", "-"], batch);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v, serde_json::json!({"put": 2, "deleted": 1}));
    // search: prefix labels, a value filter, pages; the default limit is the engine's.
    let r = json_ok(p, &["item", "search", "--prefix", "t", "--filter", "{\"n\": {\"$gte\": 6}}"]);
    assert_eq!((&r["total"], &r["items"][0]["namespace"]), (&serde_json::json!(1), &serde_json::json!(["t", "2"])));
    let r = json_ok(p, &["item", "search", "--limit", "1", "--offset", "1"]);
    assert_eq!((r["items"].as_array().unwrap().len(), &r["total"]), (1, &serde_json::json!(3)));
    let r = json_ok(p, &["item", "search", "--meta", "src=ui"]);
    assert_eq!(r["total"], 1);
    // namespaces: prefix / suffix labels with a wildcard, depth.
    let r = json_ok(p, &["item", "namespaces", "--prefix", "t"]);
    assert_eq!(r["namespaces"], serde_json::json!([["t", "1"], ["t", "2"]]));
    let r = json_ok(p, &["item", "namespaces", "--suffix", "*", "--suffix", "2", "--max-depth", "1"]);
    assert_eq!(r["namespaces"], serde_json::json!([["t"]]));
    // --request: the HTTP body in, the HTTP response out.
    let (_, v) = json_stdin(
        p,
        &["item", "get", "--request", "-"],
        r#"{"addresses": [{"namespace": ["t", "1"], "key": "a"}, {"namespace": ["t"], "key": "s"}]}"#,
    );
    assert_eq!((&v["items"][0]["value"]["n"], &v["items"][1]), (&serde_json::json!(5), &Value::Null));
    let (_, v) = json_stdin(p, &["item", "search", "--request", "-"], r#"{"prefix": ["t"], "filter": {"n": 5}}"#);
    assert_eq!(v["total"], 1);
    let (_, v) = json_stdin(p, &["item", "namespaces", "--request", "-"], r#"{"max_depth": 1}"#);
    assert_eq!(v["namespaces"], serde_json::json!([["t"], ["users"]]));
    let (_, v) = json_stdin(p, &["item", "delete", "--request", "-"], r#"{"namespace": ["t", "1"], "key": "a"}"#);
    assert_eq!(v, serde_json::json!({"deleted": true}));
    assert_eq!(json_ok(p, &["item", "delete", "--ns", "t", "--ns", "1", "--key", "a"])["deleted"], false);
    // Text mode prints namespaces as JSON arrays.
    let text = agentdb(p, &["item", "namespaces"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(r#"["t","2"]"#));
    // TTL: expired items vanish at once and are swept.
    json_ok(p, &["item", "put", "--ns", "ttl", "--key", "k", "--value", "1", "--ttl-ms", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(json_ok(p, &["item", "get", "--ns", "ttl", "--key", "k"]), Value::Null);
    assert_eq!(json_ok(p, &["item", "sweep"])["deleted"], 1);
}

#[test]
fn item_commands_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let bad: [&[&str]; 9] = [
        &["item", "put", "--key", "k", "--value", "1"],
        &["item", "put", "--ns", "", "--key", "k", "--value", "1"],
        &["item", "put", "--ns", "a", "--key", "k", "--value", "not json"],
        &["item", "put", "--ns", "a", "--key", "k", "--value", "1", "--ttl-ms", "0"],
        &["item", "put", "--ns-json", "\"a/b\"", "--key", "k", "--value", "1"],
        &["item", "search", "--limit", "0"],
        &["item", "search", "--limit", "10001"],
        &["item", "search", "--filter", "{\"n\": {\"$regex\": \"x\"}}"],
        &["item", "namespaces", "--max-depth", "0"],
    ];
    for args in bad {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = agentdb(p, &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(error_code(&out), "invalid_argument", "{args:?}");
    }
    // NUL cannot travel in argv; JSON on stdin carries it, and the engine refuses it.
    for body in [
        r#"{"namespace": ["a\u0000b"], "key": "k", "value": 1}"#,
        r#"{"namespace": ["a"], "key": "k\u0000", "value": 1}"#,
    ] {
        let (out, _) = json_stdin(p, &["item", "put", "--request", "-"], body);
        assert_eq!((out.status.code(), error_code(&out)), (Some(2), "invalid_argument".to_string()), "{body}");
    }
    let (out, _) = json_stdin(p, &["item", "write", "-"], r#"{"writes": []}"#);
    assert_eq!(error_code(&out), "invalid_argument");
    let (out, _) = json_stdin(p, &["item", "write", "-"], r#"{"writes": [{"upsert": {}}]}"#);
    assert_eq!(error_code(&out), "invalid_argument");
    // Flags and --request do not mix.
    let out = agentdb(p, &["item", "put", "--ns", "a", "--request", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `agentdb … | head` closes the pipe early: the CLI ends on SIGPIPE as Unix
/// tools do, never with a "Broken pipe" panic on stderr.
#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    json_ok(dir.path(), &["state", "save", "--agent", "1", "--session", "1", "--data", "x"]);
    for args in [&["defaults"][..], &["--path", "", "stats"][..]] {
        let args: Vec<&str> =
            args.iter().map(|a| if a.is_empty() { dir.path().to_str().unwrap() } else { a }).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentdb"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first line
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

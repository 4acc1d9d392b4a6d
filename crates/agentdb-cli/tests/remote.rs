//! Remote mode (`agentdb --url`): the real server (agentdb_server::start,
//! in this process, on an ephemeral loopback port with a temp data dir and
//! API keys) and the real `agentdb` binary. A table of subcommands runs in
//! both modes, one database each, and every run must print the same (text
//! and `--json`, stdout, stderr and exit code; timestamps masked). Then the
//! failures: a wrong key, an unreachable URL, subcommands refused remotely,
//! a read-only key refused for writes.

use std::process::{Command, Output};

use agentdb_server::auth::hash_key;
use agentdb_server::config::{Config, KeyConfig, Role};
use serde_json::Value;

#[path = "support/server.rs"]
mod server;
use server::Server;

const ADMIN_KEY: &str = "admin-key";
const RW_KEY: &str = "read-write-key";
const RO_KEY: &str = "read-only-key";
const DIM: usize = 384;

fn key(name: &str, role: Role) -> KeyConfig {
    KeyConfig { name: name.into(), sha256: hash_key(name), role, agents: None, agent_ranges: None, namespace: None }
}

fn with_keys(c: &mut Config) {
    c.auth.keys = vec![key(ADMIN_KEY, Role::Admin), key(RW_KEY, Role::ReadWrite), key(RO_KEY, Role::ReadOnly)];
}

fn agentdb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentdb"))
        .args(args)
        .env_remove("AGENTDB_URL")
        .env_remove("AGENTDB_API_KEY")
        .env_remove("AGENTDB_PATH")
        .output()
        .expect("run agentdb")
}

/// Digit runs of 12 or more (ms timestamps) become `T`: the two databases
/// saved the same things at different instants.
fn mask(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() >= 12 { "T" } else { &digits });
        digits.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Every number with a decimal point becomes `S` (a score).
fn mask_decimals(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == 'e' || chars[i] == '-') {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.contains('.') && token.chars().any(|c| c.is_ascii_digit()) {
            out.push('S');
        } else {
            out.push_str(&token);
        }
        if i == start {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn error_code(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(last).unwrap_or_else(|_| panic!("no JSON error: {stderr}"));
    v["error"].as_str().unwrap_or_default().to_string()
}

fn vector_arg(seed: u64) -> String {
    let v: Vec<String> =
        (0..DIM).map(|i| format!("{:.3}", (((i as u64 + 1) * (seed + 3)) % 17) as f32 / 17.0)).collect();
    v.join(",")
}

#[test]
fn every_subcommand_prints_the_same_in_both_modes() {
    let srv = Server::start(with_keys);
    let dir = tempfile::tempdir().expect("tempdir");
    let local = format!("--path={}", dir.path().join("db").display());
    let remote = [format!("--url={}", srv.url), format!("--api-key={ADMIN_KEY}")];
    let import = dir.path().join("import.jsonl");
    std::fs::write(
        &import,
        "{\"kind\": \"state\", \"agent_id\": 8, \"data\": \"imported\"}\n\
         {\"kind\": \"vector\", \"collection\": \"c1\", \"id\": \"imp\", \"vector\": [0, 0, 1]}\n",
    )
    .expect("write import file");
    let import = import.display().to_string();
    let (v1, v2) = (vector_arg(1), vector_arg(2));
    // Each runs twice per mode, as text then with --json: a write runs twice
    // (a second version, a duplicate memory, an "already exists"), the same on both sides.
    let table: Vec<Vec<&str>> = vec![
        vec!["defaults"],
        vec!["state", "save", "--agent", "7", "--session", "1", "--type", "task_state", "--data", "{\"step\":1}"],
        vec![
            "state",
            "save",
            "--agent",
            "7",
            "--session",
            "1",
            "--data",
            "two",
            "--meta",
            "tool=search",
            "--key",
            "ck/1",
        ],
        vec!["state", "load", "--agent", "7"],
        vec!["state", "load", "--agent", "7", "--session", "1", "--version", "1"],
        vec!["state", "load", "--agent", "7", "--session", "1", "--key", "ck/1"],
        vec!["state", "load", "--agent", "7", "--session", "1", "--raw"],
        vec!["state", "load", "--agent", "404"],
        vec!["state", "history", "--agent", "7"],
        vec!["state", "history-page", "--agent", "7", "--session", "1", "--limit", "2"],
        vec!["state", "snapshot", "--agent", "7", "--session", "1", "--name", "snap-a"],
        vec!["state", "snapshots", "--agent", "7"],
        vec!["state", "restore", "--agent", "7", "--name", "snap-a"],
        vec!["state", "restore", "--agent", "7", "--name", "no-such"],
        vec!["state", "save", "--agent", "7", "--type", "no_such_type", "--data", "x"],
        vec!["memory", "store", "--agent", "7", "--content", "The user likes green tea", "--embedding", &v1],
        vec!["memory", "store", "--agent", "7", "--type", "episodic", "--content", "Met Bob", "--embedding", &v2],
        vec!["memory", "get", "--id", "1"],
        vec!["memory", "list", "--agent", "7"],
        vec!["memory", "retrieve", "--agent", "7", "--vector", &v1, "--limit", "2", "--type", "semantic"],
        vec!["memory", "set-importance", "--id", "1", "--importance", "0.9"],
        vec!["memory", "pin", "--id", "1"],
        vec!["memory", "unpin", "--id", "1"],
        vec!["memory", "consolidate", "--agent", "7"],
        vec!["memory", "forget", "--agent", "7"],
        vec!["memory", "delete", "--id", "2"],
        vec!["memory", "get", "--id", "999"],
        vec!["doc", "add", "--id", "d/1", "--title", "Tea", "--text", "Green tea is brewed at 80 degrees."],
        vec!["doc", "get", "--id", "d/1"],
        // BM25 scores differ (the engine's doing, not the CLI's): embedded,
        // every command reopens the database (its Lance fragments and FTS
        // statistics differ from the long-open server's), so scores are masked.
        vec!["doc", "search", "--mode", "text", "green tea"],
        vec!["doc", "delete", "--id", "d/1"],
        vec!["vector", "create", "c1", "--dim", "3", "--metric", "l2"],
        vec!["vector", "insert", "c1", "--id", "a?b", "--values", "1,0,0", "--meta", "k=v"],
        vec!["vector", "insert", "c1", "--id", "b", "--values", "0,1,0"],
        vec!["vector", "insert", "c1", "--id", "bad", "--values", "0,1"],
        vec!["vector", "search", "c1", "--values", "1,0,0", "--k", "2"],
        vec!["vector", "search", "c1", "--values", "1,0,0", "--radius", "5", "--meta", "k=v"],
        vec!["vector", "get", "c1", "--id", "a?b"],
        vec!["vector", "list"],
        vec!["vector", "delete", "c1", "--id", "b"],
        vec!["item", "put", "--ns", "users", "--ns", "a/b", "--key", "prefs", "--value", "{\"theme\":\"dark\"}"],
        vec!["item", "get", "--ns", "users", "--ns", "a/b", "--key", "prefs"],
        vec!["item", "get", "--ns", "users", "--key", "none"],
        vec!["item", "search", "--prefix", "users", "--filter", "{\"theme\":\"dark\"}"],
        vec!["item", "namespaces", "--prefix", "users"],
        vec!["item", "delete", "--ns", "users", "--ns", "a/b", "--key", "prefs"],
        vec!["item", "sweep"],
        vec!["import", &import],
        vec!["state", "load", "--agent", "8"],
        vec!["state", "delete-agent", "--agent", "7"],
        vec!["state", "load", "--agent", "7"],
    ];
    for args in &table {
        for json in [false, true] {
            let run = |global: &[&str]| {
                let mut full: Vec<&str> = global.to_vec();
                if json {
                    full.push("--json");
                }
                full.extend_from_slice(args);
                agentdb(&full)
            };
            let embedded = run(&[&local]);
            let over_http = run(&[&remote[0], &remote[1]]);
            let ctx = format!("{args:?} json={json}");
            assert_eq!(over_http.status.code(), embedded.status.code(), "{ctx}: exit codes");
            let stdout = |o: &Output| {
                let m = mask(&o.stdout);
                if args.starts_with(&["doc", "search"]) {
                    mask_decimals(&m)
                } else {
                    m
                }
            };
            assert_eq!(stdout(&over_http), stdout(&embedded), "{ctx}: stdout");
            assert_eq!(mask(&over_http.stderr), mask(&embedded.stderr), "{ctx}: stderr");
        }
    }
    // The admin subcommands run remotely too (their figures differ by nature).
    for args in [["flush"], ["compact"], ["stats"]] {
        let out = agentdb(&[&remote[0], &remote[1], "--json", args[0]]);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(v.is_object(), "{args:?}: {v}");
    }
    let out = agentdb(&[&remote[0], &remote[1], "gc", "--keep-last", "1"]);
    assert!(out.status.success(), "gc: {}", String::from_utf8_lossy(&out.stderr));
    let out = agentdb(&[&remote[0], &remote[1], "stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("table states") && text.contains("last maintenance: took"), "{text}");
}

#[test]
fn remote_failures_are_clear() {
    let srv = Server::start(with_keys);
    let url = format!("--url={}", srv.url);

    // A wrong key: the server's code, exit 1 (as any refusal that is not bad input).
    let out = agentdb(&[&url, "--api-key", "wrong", "--json", "state", "load", "--agent", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(error_code(&out), "unauthenticated");
    let out = agentdb(&[&url, "state", "load", "--agent", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "), "{out:?}");

    // A read-only key reads but is refused writes (and admin subcommands).
    let out = agentdb(&[&url, "--api-key", RO_KEY, "--json", "state", "save", "--agent", "1", "--data", "x"]);
    assert_eq!((out.status.code(), error_code(&out)), (Some(1), "forbidden".to_string()));
    let out = agentdb(&[&url, "--api-key", RW_KEY, "state", "save", "--agent", "1", "--data", "x"]);
    assert!(out.status.success(), "{out:?}");
    let out = agentdb(&[&url, "--api-key", RO_KEY, "--json", "state", "load", "--agent", "1"]);
    assert!(out.status.success(), "{out:?}");
    let out = agentdb(&[&url, "--api-key", RW_KEY, "--json", "flush"]);
    assert_eq!((out.status.code(), error_code(&out)), (Some(1), "forbidden".to_string()));
    // The server's not_found exits 3, as the engine's does.
    let out = agentdb(&[&url, "--api-key", RO_KEY, "--json", "state", "load", "--agent", "2"]);
    assert_eq!((out.status.code(), error_code(&out)), (Some(3), "not_found".to_string()));

    // AGENTDB_URL and AGENTDB_API_KEY stand for the flags.
    let out = Command::new(env!("CARGO_BIN_EXE_agentdb"))
        .args(["--json", "state", "load", "--agent", "1"])
        .env("AGENTDB_URL", &srv.url)
        .env("AGENTDB_API_KEY", RO_KEY)
        .env_remove("AGENTDB_PATH")
        .output()
        .expect("run agentdb");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["data"], "x");

    // Nothing listens: a clear error naming the server, exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = agentdb(&[&format!("--url=http://127.0.0.1:{port}"), "--json", "state", "load", "--agent", "1"]);
    assert_eq!((out.status.code(), error_code(&out)), (Some(1), "unreachable".to_string()));
    let out = agentdb(&[&format!("--url=http://127.0.0.1:{port}"), "state", "load", "--agent", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the AgentDB server at http://127.0.0.1:"), "{stderr}");
    let out = agentdb(&["--url=not a url", "state", "load", "--agent", "1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // Subcommands that need a local directory or process refuse --url.
    for cmd in ["quickstart", "serve"] {
        let out = agentdb(&[&url, cmd]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("runs locally only") && stderr.contains("--url"), "{cmd}: {stderr}");
    }
    let out = agentdb(&[&url, "--path", "/tmp/x", "state", "load", "--agent", "1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"), "{out:?}");
    let help = agentdb(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--url") && help.contains("refuses --url"), "{help}");
}

#[test]
fn help_lists_the_remote_flags() {
    let out = agentdb(&["state", "load", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--url <URL>") && help.contains("--api-key <KEY>") && help.contains("AGENTDB_URL"), "{help}");
}

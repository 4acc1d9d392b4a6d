//! The real server binary as a child process (`agentdb-server`, the entry
//! point `agentdb serve` calls): writes acknowledged over HTTP under
//! fsync=always survive SIGKILL; SIGTERM drains and closes cleanly (exit 0,
//! writer lock released); config errors refuse to start, naming the key.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// This crate's own `agentdb-server` binary: the entry point `agentdb serve`
/// calls. (The `agentdb` binary in the shared target directory may come from
/// another checkout's build.)
fn agentdb_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_agentdb-server"))
}

struct Server {
    child: Child,
    base: String,
}

fn spawn(data: &Path, extra_env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(agentdb_bin());
    cmd.env("AGENTDB_SERVER__LISTEN", "127.0.0.1:0")
        .env("AGENTDB_SERVER__DATA_DIR", data)
        .env("AGENTDB_ENGINE__FSYNC", "always")
        .env("AGENTDB_ENGINE__MAINTENANCE_INTERVAL_MS", "0")
        .env("AGENTDB_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn agentdb serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, base }
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} never became ready");
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Option<Value> {
    let r = http.post(url).body(body.to_string()).send().await.ok()?;
    if r.status() != StatusCode::OK {
        return None;
    }
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_sigterm_closes_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let mut srv = spawn(dir.path(), &[]);
    wait_ready(&http, &srv.base).await;
    ok_collection(&http, &srv.base).await;

    // Concurrent writers; every 200 is an acknowledgement that must survive.
    let base = srv.base.clone();
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let http = http.clone();
        let base = base.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000u64 {
                let data = format!("w{w}-{i}");
                let Some(r) =
                    post(&http, format!("{base}/v1/agents/{w}/sessions/0/states"), json!({"data": data})).await
                else {
                    break;
                };
                let vector = [w as f32, i as f32];
                if post(
                    &http,
                    format!("{base}/v1/collections/crash/vectors"),
                    json!({"vectors": [{"id": data, "vector": vector}]}),
                )
                .await
                .is_none()
                {
                    acked.push((w, r["version"].as_u64().unwrap_or(0), data, false));
                    break;
                }
                acked.push((w, r["version"].as_u64().unwrap_or(0), data, true));
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    srv.child.kill().expect("SIGKILL");
    let _ = srv.child.wait();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert!(acked.len() > 20, "only {} writes acknowledged before the kill", acked.len());

    let mut srv = spawn(dir.path(), &[]);
    wait_ready(&http, &srv.base).await;
    for (agent, version, data, vector_acked) in &acked {
        let r =
            http.get(format!("{}/v1/agents/{agent}/sessions/0/states/{version}", srv.base)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "agent {agent} v{version} lost");
        let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        assert_eq!(v["data"], json!(data));
        if *vector_acked {
            let r = http.get(format!("{}/v1/collections/crash/vectors/{data}", srv.base)).send().await.expect("get");
            assert_eq!(r.status(), StatusCode::OK, "vector {data} lost");
        }
    }

    // SIGTERM: drain, close, exit 0; the database opens again (lock released).
    post(&http, format!("{}/v1/agents/99/sessions/0/states", srv.base), json!({"data": "before sigterm"}))
        .await
        .expect("save");
    let pid = i32::try_from(srv.child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process by its pid.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let until = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = srv.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < until, "server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // On a plain thread: the engine owns a runtime, which cannot be dropped in an async context.
    let path = dir.path().to_path_buf();
    let data = std::thread::spawn(move || {
        let db = agentdb::AgentDb::open(path, agentdb::Options::default()).expect("reopen after SIGTERM");
        db.load_state(99, Some(0)).expect("state").data.to_vec()
    })
    .join()
    .expect("reopen thread");
    assert_eq!(data, b"before sigterm");
}

async fn ok_collection(http: &reqwest::Client, base: &str) {
    post(http, format!("{base}/v1/collections"), json!({"name": "crash", "dimension": 2, "metric": "l2"}))
        .await
        .expect("create collection");
}

#[test]
fn bad_config_refuses_to_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(agentdb_bin())
        .args(["--print-config"])
        .env("AGENTDB_ENGINE__FSYNC", "sometimes")
        .env("AGENTDB_SERVER__DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("engine.fsync"), "{}", String::from_utf8_lossy(&out.stderr));

    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[server]\nlisen = \"127.0.0.1:1\"\n").expect("write");
    let out = Command::new(agentdb_bin()).args(["--config"]).arg(&cfg).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"), "{}", String::from_utf8_lossy(&out.stderr));

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("agentdb.example.toml");
    let out = Command::new(agentdb_bin()).args(["--print-config", "--config"]).arg(&example).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("<redacted>") && !printed.contains("9b3a91136feac4a6"), "{printed}");
    assert!(printed.contains("[engine]") && printed.contains("fsync = \"batch:10\""), "{printed}");

    let mut child = Command::new(agentdb_bin())
        .args(["--hash-key"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(b"example-admin-key\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "9b3a91136feac4a6472d2cc9af52e9a6f9e367c1e8fcffb5a41c5c2beeaad08e"
    );
}

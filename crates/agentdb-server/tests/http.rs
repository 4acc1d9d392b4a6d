//! The server end to end: a real server on an ephemeral loopback port, a
//! real HTTP client, every route's success and failure cases, bad input,
//! auth scopes against every route, limits, metrics, request ids and the
//! committed OpenAPI document.

use std::path::Path;

use agentdb_server::config::{Config, KeyConfig, Role};
use agentdb_server::{auth::hash_key, RunningServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DIM: usize = 384;

struct Srv {
    server: Option<RunningServer>,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

fn base_config(dir: &Path) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".into();
    c.server.data_dir = dir.to_path_buf();
    // Background maintenance would race the figures some tests read.
    c.engine.maintenance_interval_ms = 0;
    c
}

fn key(name: &str, role: Role) -> KeyConfig {
    KeyConfig { name: name.into(), sha256: hash_key(name), role, agents: None, agent_ranges: None, namespace: None }
}

impl Srv {
    async fn start(tune: impl FnOnce(&mut Config)) -> Srv {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = base_config(dir.path());
        tune(&mut c);
        let server = agentdb_server::start(c).await.expect("start");
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let srv = Srv { server: Some(server), base, http, _dir: dir };
        for _ in 0..600 {
            if srv.get("/readyz", None).await.status == StatusCode::OK {
                return srv;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server never became ready");
    }

    async fn raw(&self, method: Method, path: &str, key: Option<&str>, body: Option<Vec<u8>>) -> Reply {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let resp = rb.send().await.expect("send");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, body, headers }
    }

    async fn req(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        self.raw(method, path, key, body.map(|b| serde_json::to_vec(&b).expect("json"))).await
    }

    async fn get(&self, path: &str, key: Option<&str>) -> Reply {
        self.req(Method::GET, path, key, None).await
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Reply {
        self.req(Method::POST, path, key, Some(body)).await
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
    }
}

fn vector(seed: u64) -> Vec<f32> {
    // Distinct, deterministic, normalised directions.
    let mut v: Vec<f32> = (0..DIM).map(|i| (((i as u64 + 1) * (seed + 3)) % 17) as f32 - 8.0).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn ok(r: &Reply) {
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
}

fn err(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.code(), code, "{}", r.body);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_routes_success_and_failure() {
    let s = Srv::start(|c| c.engine.max_payload_bytes = 4096).await;
    let r = s
        .post(
            "/v1/agents/7/sessions/1/states",
            None,
            json!({"state_type": "task_state", "data": "{\"step\":1}", "metadata": {"tool": "search"}}),
        )
        .await;
    ok(&r);
    assert_eq!(r.body["version"], 1);
    let bin = base64_of(&[0, 159, 146, 150, 255]);
    let r = s.post("/v1/agents/7/sessions/1/states", None, json!({"data_base64": bin})).await;
    assert_eq!(r.body["version"], 2);

    let r = s.get("/v1/agents/7/state", None).await;
    ok(&r);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["data_base64"], bin);
    assert!(r.body.get("data").is_none());
    let r = s.get("/v1/agents/7/sessions/1/states/1", None).await;
    assert_eq!(r.body["data"], "{\"step\":1}");
    assert_eq!(r.body["state_type"], "task_state");
    assert_eq!(r.body["metadata"]["tool"], "search");
    let r = s.get("/v1/agents/7/history?session_id=1&limit=5", None).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    assert_eq!(r.body[0]["version"], 2);

    let r = s.post("/v1/agents/7/sessions/1/snapshots", None, json!({"name": "before"})).await;
    ok(&r);
    assert_eq!(r.body["version"], 2);
    err(&s.post("/v1/agents/7/sessions/1/snapshots", None, json!({"name": "before"})).await, 409, "already_exists");
    err(&s.post("/v1/agents/7/sessions/1/snapshots", None, json!({"name": "a b'; --"})).await, 400, "invalid_argument");
    ok(&s.post("/v1/agents/7/sessions/1/states", None, json!({"data": "oops"})).await);
    let r = s.get("/v1/agents/7/snapshots", None).await;
    assert_eq!(r.body[0]["name"], "before");
    let r = s.req(Method::POST, "/v1/agents/7/snapshots/before/restore", None, None).await;
    ok(&r);
    assert_eq!(r.body["version"], 4);
    assert_eq!(s.get("/v1/agents/7/state?session_id=1", None).await.body["data_base64"], bin);
    err(&s.req(Method::POST, "/v1/agents/7/snapshots/nope/restore", None, None).await, 404, "not_found");

    // Failures: nothing found, bad ids, bad bodies, too large.
    err(&s.get("/v1/agents/8/state", None).await, 404, "not_found");
    err(&s.get("/v1/agents/7/sessions/1/states/99", None).await, 404, "not_found");
    err(&s.get("/v1/agents/abc/state", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/-1/state", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/18446744073709551616/state", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/7/history?limit=0", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/7/history?limit=99999999999", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/7/history?from_ms=5&to_ms=1", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/7/history?limit=ten", None).await, 400, "invalid_argument");
    err(
        &s.post("/v1/agents/7/sessions/1/states", None, json!({"state_type": "bogus", "data": "x"})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/agents/7/sessions/1/states", None, json!({"data": "x", "data_base64": "eA=="})).await,
        400,
        "invalid_argument",
    );
    err(&s.post("/v1/agents/7/sessions/1/states", None, json!({})).await, 400, "invalid_argument");
    err(&s.post("/v1/agents/7/sessions/1/states", None, json!({"data_base64": "***"})).await, 400, "invalid_argument");
    err(&s.post("/v1/agents/7/sessions/1/states", None, json!({"data": 5})).await, 400, "invalid_argument");
    err(
        &s.post("/v1/agents/7/sessions/1/states", None, json!({"data": "x", "extra": 1})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/agents/7/sessions/1/states", None, json!({"data": "x".repeat(5000)})).await,
        413,
        "payload_too_large",
    );
    err(
        &s.raw(Method::POST, "/v1/agents/7/sessions/1/states", None, Some(b"{\"data\": ".to_vec())).await,
        400,
        "invalid_argument",
    );
    err(
        &s.raw(Method::POST, "/v1/agents/7/sessions/1/states", None, Some(b"{\"data\": \"\xff\xfe\"}".to_vec())).await,
        400,
        "invalid_argument",
    );
    err(
        &s.raw(Method::POST, "/v1/agents/7/sessions/1/states", None, Some(b"{\"data\": \"x\"} trailing".to_vec()))
            .await,
        400,
        "invalid_argument",
    );
    // None of the refused writes above saved anything.
    assert_eq!(s.get("/v1/agents/7/history?session_id=1", None).await.body.as_array().map(Vec::len), Some(4));

    let r = s.req(Method::DELETE, "/v1/agents/7", None, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    err(&s.get("/v1/agents/7/state", None).await, 404, "not_found");
    err(&s.req(Method::DELETE, "/v1/agents/7/state", None, None).await, 405, "method_not_allowed");
    err(&s.get("/v1/nope", None).await, 404, "not_found");
    s.stop().await;
}

/// `?key=…`, form-urlencoded.
fn key_query(key: &str) -> String {
    let mut url = reqwest::Url::parse("http://query.invalid/").expect("url");
    url.query_pairs_mut().append_pair("key", key);
    format!("?{}", url.query().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_states_and_history_pages() {
    let s = Srv::start(|_| {}).await;
    let awkward = "thread/1?ck=a&b=%2F #x \"quoted\" it's +plus 日本";
    let save = |key: Option<&str>, data: &str| {
        let mut body = json!({"data": data});
        if let Some(k) = key {
            body["key"] = json!(k);
        }
        body
    };
    let r = s.post("/v1/agents/3/sessions/1/states", None, save(Some(awkward), "one")).await;
    ok(&r);
    assert_eq!(r.body["version"], 1);
    ok(&s.post("/v1/agents/3/sessions/1/states", None, save(None, "two")).await);
    ok(&s.post("/v1/agents/3/sessions/1/states", None, save(Some("ck-3"), "three")).await);
    ok(&s.post("/v1/agents/3/sessions/2/states", None, save(Some("ck-3"), "other session")).await);

    let r = s.get(&format!("/v1/agents/3/sessions/1/states/by-key{}", key_query(awkward)), None).await;
    ok(&r);
    assert_eq!((r.body["version"].as_u64(), r.body["data"].as_str()), (Some(1), Some("one")));
    assert_eq!(r.body["key"], awkward);
    // The same key spelled other ways a client may encode it.
    for spelled in [
        "thread%2F1%3Fck%3Da%26b%3D%252F%20%23x%20%22quoted%22%20it%27s%20%2Bplus%20%E6%97%A5%E6%9C%AC",
        "thread/1?ck%3Da%26b%3D%252F+%23x+%22quoted%22+it's+%2Bplus+%E6%97%A5%E6%9C%AC",
    ] {
        let r = s.get(&format!("/v1/agents/3/sessions/1/states/by-key?key={spelled}"), None).await;
        assert_eq!((r.status.as_u16(), r.body["version"].as_u64()), (200, Some(1)), "{spelled}: {}", r.body);
    }
    let r = s.get("/v1/agents/3/sessions/1/states/by-key?key=ck-3", None).await;
    assert_eq!((r.body["version"].as_u64(), r.body["data"].as_str()), (Some(3), Some("three")));
    assert_eq!(s.get("/v1/agents/3/sessions/2/states/by-key?key=ck-3", None).await.body["data"], "other session");
    // Every state carries `key`, null when unkeyed.
    let r = s.get("/v1/agents/3/sessions/1/states/2", None).await;
    assert!(r.body.get("key").is_some_and(Value::is_null), "{}", r.body);
    assert_eq!(s.get("/v1/agents/3/state?session_id=1", None).await.body["key"], "ck-3");
    // Keys match exactly; `by-key` is not a version.
    err(&s.get("/v1/agents/3/sessions/1/states/by-key?key=ck-", None).await, 404, "not_found");
    err(&s.get("/v1/agents/3/sessions/1/states/by-key?key=CK-3", None).await, 404, "not_found");
    err(&s.get("/v1/agents/3/sessions/9/states/by-key?key=ck-3", None).await, 404, "not_found");
    err(&s.get("/v1/agents/3/sessions/1/states/by-key?key=", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/3/sessions/1/states/by-key", None).await, 400, "invalid_argument");
    err(
        &s.get(&format!("/v1/agents/3/sessions/1/states/by-key?key={}", "k".repeat(1025)), None).await,
        400,
        "invalid_argument",
    );
    err(&s.post("/v1/agents/3/sessions/1/states", None, save(Some(""), "x")).await, 400, "invalid_argument");
    err(
        &s.post("/v1/agents/3/sessions/1/states", None, save(Some(&"é".repeat(513)), "x")).await,
        400,
        "invalid_argument",
    );
    err(&s.post("/v1/agents/3/sessions/1/states", None, json!({"data": "x", "key": 5})).await, 400, "invalid_argument");
    ok(&s.post("/v1/agents/3/sessions/1/states", None, json!({"data": "four", "key": null})).await);

    // Pages: newest first by version, below before_version.
    let versions = |r: &Reply| {
        r.body.as_array().expect("array").iter().map(|v| v["version"].as_u64().expect("version")).collect::<Vec<_>>()
    };
    let r = s.get("/v1/agents/3/sessions/1/states?limit=2", None).await;
    ok(&r);
    assert_eq!(versions(&r), vec![4, 3]);
    assert_eq!((r.body[0]["key"].is_null(), r.body[1]["key"].as_str()), (true, Some("ck-3")));
    assert_eq!(versions(&s.get("/v1/agents/3/sessions/1/states?before_version=3&limit=2", None).await), vec![2, 1]);
    assert_eq!(versions(&s.get("/v1/agents/3/sessions/1/states?before_version=1", None).await), Vec::<u64>::new());
    assert_eq!(versions(&s.get("/v1/agents/3/sessions/1/states", None).await), vec![4, 3, 2, 1]);
    assert_eq!(versions(&s.get("/v1/agents/3/sessions/7/states", None).await), Vec::<u64>::new());
    ok(&s.req(Method::POST, "/v1/admin/flush", None, None).await);
    assert_eq!(versions(&s.get("/v1/agents/3/sessions/1/states?before_version=4", None).await), vec![3, 2, 1]);
    err(&s.get("/v1/agents/3/sessions/1/states?limit=0", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/3/sessions/1/states?limit=100001", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/3/sessions/1/states?before_version=-1", None).await, 400, "invalid_argument");
    err(&s.get("/v1/agents/3/sessions/1/states?limit=ten", None).await, 400, "invalid_argument");

    // A restore keeps the snapshot's key.
    ok(&s.post("/v1/agents/3/sessions/1/states", None, save(Some("ck-5"), "five")).await);
    ok(&s.post("/v1/agents/3/sessions/1/snapshots", None, json!({"name": "at-5"})).await);
    ok(&s.post("/v1/agents/3/sessions/1/states", None, save(None, "six")).await);
    let r = s.req(Method::POST, "/v1/agents/3/snapshots/at-5/restore", None, None).await;
    assert_eq!((r.body["version"].as_u64(), r.body["key"].as_str()), (Some(7), Some("ck-5")), "{}", r.body);
    assert_eq!(s.get("/v1/agents/3/sessions/1/states/by-key?key=ck-5", None).await.body["version"], 7);
    ok(&s.req(Method::DELETE, "/v1/agents/3", None, None).await);
    err(&s.get("/v1/agents/3/sessions/1/states/by-key?key=ck-5", None).await, 404, "not_found");
    s.stop().await;
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_routes_success_and_failure() {
    let s = Srv::start(|_| {}).await;
    let r = s.post("/v1/memories", None, json!({"agent_id": 3, "memory_type": "semantic", "content": "The user is allergic to peanuts", "importance": 0.9, "metadata": {"src": "chat"}})).await;
    ok(&r);
    assert_eq!(r.body["kind"], "stored");
    let peanuts = r.body["memory_id"].as_u64().expect("id");
    let r = s
        .post(
            "/v1/memories",
            None,
            json!({"agent_id": 3, "memory_type": "semantic", "content": "The user is allergic to peanuts"}),
        )
        .await;
    assert_eq!(r.body["kind"], "duplicate");
    assert_eq!(r.body["memory_id"], peanuts);
    let r = s.post("/v1/memories/batch", None, json!({"memories": [
        {"agent_id": 3, "memory_type": "episodic", "content": "v1", "embedding": vector(1)},
        {"agent_id": 3, "memory_type": "procedural", "content": "v2", "embedding": vector(2), "ttl_ms": 3600000},
    ]})).await;
    ok(&r);
    assert_eq!(r.body["outcomes"].as_array().map(Vec::len), Some(2));
    let v2 = r.body["outcomes"][1]["memory_id"].as_u64().expect("id");

    let r = s.get(&format!("/v1/memories/{peanuts}"), None).await;
    assert_eq!(r.body["content"], "The user is allergic to peanuts");
    assert_eq!(r.body["embedding"].as_array().map(Vec::len), Some(DIM));
    assert_eq!(
        s.req(Method::PATCH, &format!("/v1/memories/{v2}"), None, Some(json!({"importance": 0.2}))).await.status,
        204
    );
    assert_eq!(s.req(Method::PUT, &format!("/v1/memories/{v2}/pin"), None, None).await.status, 204);
    assert_eq!(s.get(&format!("/v1/memories/{v2}"), None).await.body["pinned"], true);
    assert_eq!(s.req(Method::DELETE, &format!("/v1/memories/{v2}/pin"), None, None).await.status, 204);
    let r = s.get("/v1/agents/3/memories", None).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(3));

    let r = s
        .post(
            "/v1/agents/3/memories/retrieve",
            None,
            json!({"query": "what food is dangerous for the user?", "limit": 2}),
        )
        .await;
    ok(&r);
    assert_eq!(r.body[0]["memory"]["memory_id"], peanuts);
    let r = s
        .post(
            "/v1/agents/3/memories/retrieve",
            None,
            json!({"vector": vector(1), "limit": 1, "filter": {"memory_types": ["episodic"]}}),
        )
        .await;
    assert_eq!(r.body[0]["memory"]["content"], "v1");
    let r = s.post("/v1/embed", None, json!({"texts": ["hello", "world"]})).await;
    assert_eq!(r.body["vectors"].as_array().map(Vec::len), Some(2));
    let r = s.post("/v1/agents/3/memories/forget", None, json!({"older_than_ms": 0, "min_importance": 0.0})).await;
    assert_eq!(r.body["forgotten"], 0);
    let r = s.req(Method::POST, "/v1/agents/3/memories/consolidate", None, None).await;
    assert_eq!(r.body["examined"], 3);

    // Failures.
    err(&s.get("/v1/memories/999999", None).await, 404, "not_found");
    err(
        &s.req(Method::PATCH, &format!("/v1/memories/{v2}"), None, Some(json!({"importance": 1.5}))).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/agents/3/memories/retrieve", None, json!({"vector": vector(1), "limit": 1_000_000_000u64})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/agents/3/memories/retrieve", None, json!({"vector": vector(1), "limit": 0})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/agents/3/memories/retrieve", None, json!({"vector": [1.0, 2.0], "limit": 1})).await,
        400,
        "dimension_mismatch",
    );
    err(&s.post("/v1/agents/3/memories/retrieve", None, json!({"limit": 1})).await, 400, "invalid_argument");
    // NaN and infinity cannot be written in JSON; 1e39 overflows f32 to infinity.
    let mut inf = serde_json::to_string(&vector(1)).expect("json");
    inf.replace_range(1..inf.find(',').expect("comma"), "1e39");
    let body =
        format!("{{\"agent_id\": 3, \"memory_type\": \"semantic\", \"content\": \"inf\", \"embedding\": {inf}}}");
    err(&s.raw(Method::POST, "/v1/memories", None, Some(body.into_bytes())).await, 400, "invalid_argument");
    let body = "{\"agent_id\": 3, \"memory_type\": \"semantic\", \"content\": \"nan\", \"embedding\": [NaN]}";
    err(&s.raw(Method::POST, "/v1/memories", None, Some(body.as_bytes().to_vec())).await, 400, "invalid_argument");
    err(
        &s.post("/v1/memories", None, json!({"agent_id": 3, "memory_type": "dream", "content": "x"})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/memories", None, json!({"agent_id": "3", "memory_type": "semantic", "content": "x"})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post(
            "/v1/memories",
            None,
            json!({"agent_id": 3, "memory_type": "semantic", "content": "x", "importance": -1}),
        )
        .await,
        400,
        "invalid_argument",
    );
    err(
        &s.post(
            "/v1/memories/batch",
            None,
            json!({"memories": [
                {"agent_id": 3, "memory_type": "semantic", "content": "fine", "embedding": vector(5)},
                {"agent_id": 3, "memory_type": "semantic", "content": "bad", "embedding": [0.0]},
            ]}),
        )
        .await,
        400,
        "dimension_mismatch",
    );
    assert_eq!(
        s.get("/v1/agents/3/memories", None).await.body.as_array().map(Vec::len),
        Some(3),
        "refused writes stored nothing"
    );

    assert_eq!(s.req(Method::DELETE, &format!("/v1/memories/{v2}"), None, None).await.status, 204);
    err(&s.req(Method::DELETE, &format!("/v1/memories/{v2}"), None, None).await, 404, "not_found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_and_collection_routes_success_and_failure() {
    let s = Srv::start(|_| {}).await;
    let r = s.post("/v1/documents", None, json!({"doc_id": "tea", "title": "Tea", "text": "龙井茶产自杭州西湖。Longjing green tea comes from West Lake.", "metadata": {"lang": "zh"}})).await;
    ok(&r);
    assert_eq!(r.body["chunk_count"], 1);
    ok(&s
        .post(
            "/v1/documents",
            None,
            json!({"doc_id": "coffee", "text": "Espresso is brewed by forcing hot water through ground coffee."}),
        )
        .await);
    assert_eq!(s.get("/v1/documents/tea", None).await.body["title"], "Tea");
    for mode in ["semantic", "full_text", "hybrid"] {
        let r = s
            .post("/v1/documents/search", None, json!({"mode": mode, "query": "green tea West Lake", "limit": 1}))
            .await;
        ok(&r);
        assert_eq!(r.body[0]["doc_id"], "tea", "{mode}: {}", r.body);
    }
    let r = s
        .post(
            "/v1/documents/search",
            None,
            json!({"query": "coffee", "fusion": {"kind": "weighted", "alpha": 0.5}, "filter": {"doc_ids": ["coffee"]}}),
        )
        .await;
    assert!(r.body.as_array().is_some_and(|a| a.iter().all(|h| h["doc_id"] == "coffee")), "{}", r.body);
    let r = s
        .post("/v1/documents/search", None, json!({"query": "tea", "filter": {"metadata": {"lang": "x' OR '1'='1"}}}))
        .await;
    assert_eq!(r.body, json!([]), "an injection string is a literal value");
    err(&s.post("/v1/documents/search", None, json!({"mode": "full_text"})).await, 400, "invalid_argument");
    err(
        &s.post("/v1/documents/search", None, json!({"query": "x", "fusion": {"kind": "weighted", "alpha": 2.0}}))
            .await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/documents/search", None, json!({"query": "x", "limit": 100_000_000})).await,
        400,
        "invalid_argument",
    );
    err(&s.post("/v1/documents", None, json!({"doc_id": "a#b", "text": "x"})).await, 400, "invalid_argument");
    err(&s.post("/v1/documents", None, json!({"doc_id": "empty", "text": "   "})).await, 400, "invalid_argument");
    err(&s.get("/v1/documents/x'%20OR%201=1", None).await, 404, "not_found");
    assert_eq!(s.req(Method::DELETE, "/v1/documents/coffee", None, None).await.status, 204);
    err(&s.get("/v1/documents/coffee", None).await, 404, "not_found");

    let r = s.post("/v1/collections", None, json!({"name": "images", "dimension": 3, "metric": "l2"})).await;
    ok(&r);
    assert_eq!(r.body["metric"], "l2");
    err(
        &s.post("/v1/collections", None, json!({"name": "images", "dimension": 3, "metric": "l2"})).await,
        409,
        "already_exists",
    );
    err(
        &s.post("/v1/collections", None, json!({"name": "x'; DROP TABLE states; --", "dimension": 3, "metric": "l2"}))
            .await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/collections", None, json!({"name": "big", "dimension": 0, "metric": "l2"})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/collections", None, json!({"name": "m", "dimension": 3, "metric": "manhattan"})).await,
        400,
        "invalid_argument",
    );
    let r = s
        .post(
            "/v1/collections/images/vectors",
            None,
            json!({"vectors": [
                {"id": "a", "vector": [0.0, 0.0, 0.0], "metadata": {"kind": "cat"}},
                {"id": "b", "vector": [1.0, 0.0, 0.0], "metadata": {"kind": "dog"}},
                {"id": "c'--", "vector": [5.0, 0.0, 0.0]},
            ]}),
        )
        .await;
    assert_eq!(r.body["upserted"], 3);
    let r = s.get("/v1/collections/images", None).await;
    assert_eq!(r.body["count"], 3);
    assert_eq!(s.get("/v1/collections", None).await.body.as_array().map(Vec::len), Some(1));
    assert_eq!(s.get("/v1/collections/images/vectors/c'--", None).await.body["vector"], json!([5.0, 0.0, 0.0]));
    let r = s
        .post(
            "/v1/collections/images/search",
            None,
            json!({"vector": [0.9, 0.0, 0.0], "k": 2, "include_vectors": true}),
        )
        .await;
    assert_eq!(r.body[0]["id"], "b");
    assert_eq!(r.body[0]["vector"], json!([1.0, 0.0, 0.0]));
    let r = s.post("/v1/collections/images/search", None, json!({"vector": [0.0, 0.0, 0.0], "radius": 1.5})).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    let r = s
        .post(
            "/v1/collections/images/search",
            None,
            json!({"vector": [0.0, 0.0, 0.0], "k": 5, "metadata": {"kind": "dog"}}),
        )
        .await;
    assert_eq!(r.body.as_array().map(|a| a.len()), Some(1));
    let r = s
        .post(
            "/v1/collections/images/search",
            None,
            json!({"vector": [0.0, 0.0, 0.0], "k": 5, "metadata": {"kind": "x' OR 1=1 --"}}),
        )
        .await;
    assert_eq!(r.body, json!([]));
    err(
        &s.post("/v1/collections/images/search", None, json!({"vector": [0.0, 0.0, 0.0], "k": 1_000_000})).await,
        400,
        "invalid_argument",
    );
    err(
        &s.post("/v1/collections/images/search", None, json!({"vector": [0.0, 0.0], "k": 1})).await,
        400,
        "dimension_mismatch",
    );
    err(
        &s.raw(
            Method::POST,
            "/v1/collections/images/search",
            None,
            Some(b"{\"vector\": [1e39, 0, 0], \"k\": 1}".to_vec()),
        )
        .await,
        400,
        "invalid_argument",
    );
    err(
        &s.post(
            "/v1/collections/images/vectors",
            None,
            json!({"vectors": [{"id": "ok", "vector": [1.0, 1.0, 1.0]}, {"id": "", "vector": [1.0, 1.0, 1.0]}]}),
        )
        .await,
        400,
        "invalid_argument",
    );
    assert_eq!(s.get("/v1/collections/images", None).await.body["count"], 3, "a refused batch writes nothing");
    err(&s.post("/v1/collections/nope/search", None, json!({"vector": [0.0], "k": 1})).await, 404, "not_found");
    err(&s.get("/v1/collections/nope", None).await, 404, "not_found");
    assert_eq!(s.req(Method::POST, "/v1/collections/images/index", None, None).await.status.as_u16() / 100, 2);
    assert_eq!(s.req(Method::DELETE, "/v1/collections/images/vectors/a", None, None).await.status, 204);
    err(&s.req(Method::DELETE, "/v1/collections/images/vectors/a", None, None).await, 404, "not_found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_limits_metrics_and_request_ids() {
    let s = Srv::start(|c| c.limits.max_body_bytes = 64 * 1024).await;
    ok(&s.post("/v1/agents/1/sessions/0/states", None, json!({"data": "x"})).await);
    let r = s.get("/v1/admin/stats", None).await;
    ok(&r);
    assert!(r.body["tables"].as_array().is_some_and(|t| !t.is_empty()), "{}", r.body);
    let r = s.req(Method::POST, "/v1/admin/flush", None, None).await;
    assert_eq!(r.body["states"], 1);
    ok(&s.req(Method::POST, "/v1/admin/compact", None, None).await);
    for _ in 0..3 {
        ok(&s.post("/v1/agents/1/sessions/0/states", None, json!({"data": "y"})).await);
    }
    let r = s.post("/v1/admin/gc", None, json!({"keep_last": 1})).await;
    assert_eq!(r.body["state_versions_removed"], 3, "{}", r.body);
    err(&s.post("/v1/admin/gc", None, json!({"keep_last": 0})).await, 400, "invalid_argument");

    // Body limit: refused before parsing, nothing written.
    let big = json!({"data": "z".repeat(100 * 1024)});
    err(&s.post("/v1/agents/1/sessions/0/states", None, big).await, 413, "payload_too_large");
    assert_eq!(s.get("/v1/agents/1/state", None).await.body["data"], "y");

    // Request ids: generated, or the client's own echoed.
    let r = s.get("/healthz", None).await;
    assert!(r.headers.get("x-request-id").is_some_and(|v| !v.is_empty()));
    let resp = s
        .http
        .get(format!("{}/v1/agents/1/state", s.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc-123"));

    let r = s.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body.as_str().expect("text");
    assert!(text.contains("agentdb_http_requests_total{method=\"POST\",route=\"/v1/agents/{agent_id}/sessions/{session_id}/states\",status=\"200\"}"), "{text}");
    assert!(text.contains("agentdb_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("agentdb_table{figure=\"rows\",table=\"states\"}"), "{text}");
    assert!(text.contains("agentdb_engine{figure=\"last_lsn\"}"), "{text}");
    assert_eq!(s.get("/readyz", None).await.body["status"], "ready");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_served_and_committed() {
    let generated = agentdb_server::openapi::document_json();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/agentdb-server/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --workspace --test http openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    // Every route the router serves is in the document.
    for p in [
        "/v1/agents/{agent_id}/state",
        "/v1/agents/{agent_id}/sessions/{session_id}/states/by-key",
        "/v1/memories/{memory_id}/pin",
        "/v1/documents/search",
        "/v1/collections/{name}/search",
        "/v1/admin/gc",
        "/v1/items/put",
        "/v1/items/delete",
        "/v1/items/write",
        "/v1/items/get",
        "/v1/items/search",
        "/v1/items/namespaces",
        "/v1/items/sweep",
        "/metrics",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing");
    }
    let s = Srv::start(|_| {}).await;
    let r = s.get("/openapi.json", None).await;
    assert_eq!(r.body, doc);
    s.stop().await;
}

/// Keys: admin; read-write scoped to agent 1, agents 100..=199 and namespace
/// ns1; read-only unscoped; read-write scoped to agent 1 with no namespace.
fn scoped_keys(c: &mut Config) {
    c.auth.keys = vec![
        key("k-admin", Role::Admin),
        KeyConfig {
            agents: Some(vec![1]),
            agent_ranges: Some(vec![[100, 199]]),
            namespace: Some("ns1".into()),
            ..key("k-scoped", Role::ReadWrite)
        },
        key("k-ro", Role::ReadOnly),
        KeyConfig { agents: Some(vec![1]), ..key("k-agent1", Role::ReadWrite) },
    ];
}

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    write: bool,
    admin: bool,
    agent: Option<u64>,
    /// A document id / collection name it touches (namespace check).
    name: Option<&'static str>,
    /// The first label of the item namespace it touches ("": none, a whole-database prefix).
    item_label: Option<&'static str>,
    /// Needs an unscoped key (a database-wide write that is not /v1/admin).
    unscoped: bool,
}

fn route(method: Method, path: impl Into<String>, body: Option<Value>, write: bool) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        write,
        admin: false,
        agent: None,
        name: None,
        item_label: None,
        unscoped: false,
    }
}

impl Route {
    fn agent(mut self, a: u64) -> Self {
        self.agent = Some(a);
        self
    }
    fn name(mut self, n: &'static str) -> Self {
        self.name = Some(n);
        self
    }
    fn admin(mut self) -> Self {
        self.admin = true;
        self
    }
    fn item_label(mut self, l: &'static str) -> Self {
        self.item_label = Some(l);
        self
    }
}

/// The item routes on namespaces whose first label is `label`.
fn item_routes(label: &'static str) -> Vec<Route> {
    use Method as M;
    let ns = json!([label, "x/y"]);
    let put = json!({"namespace": ns, "key": "w", "value": {"by": "test"}});
    let addr = json!({"namespace": ns, "key": "k"});
    vec![
        route(M::POST, "/v1/items/get", Some(json!({"addresses": [addr], "refresh_ttl": true})), false),
        route(M::POST, "/v1/items/search", Some(json!({"prefix": [label]})), false),
        route(M::POST, "/v1/items/namespaces", Some(json!({"prefix": [label], "max_depth": 1})), false),
        route(M::POST, "/v1/items/put", Some(put.clone()), true),
        route(
            M::POST,
            "/v1/items/write",
            Some(json!({"writes": [{"put": put}, {"delete": {"namespace": ns, "key": "w"}}]})),
            true,
        ),
        route(M::POST, "/v1/items/delete", Some(json!({"namespace": ns, "key": "w"})), true),
    ]
    .into_iter()
    .map(|r| r.item_label(label))
    .collect()
}

/// Every /v1 route, once on a target inside the scoped key's reach and once outside.
fn all_routes(mem_in: u64, mem_out: u64) -> Vec<Route> {
    use Method as M;
    let mut v = Vec::new();
    for (agent, mem, doc, coll) in [(1u64, mem_in, "ns1-doc", "ns1-c"), (2, mem_out, "other-doc", "other-c")] {
        let a = |p: &str| format!("/v1/agents/{agent}{p}");
        v.push(route(M::GET, a("/state"), None, false).agent(agent));
        v.push(route(M::GET, a("/sessions/0/states/1"), None, false).agent(agent));
        v.push(route(M::GET, a("/sessions/0/states?limit=5"), None, false).agent(agent));
        v.push(route(M::GET, a("/sessions/0/states/by-key?key=k%2F1"), None, false).agent(agent));
        v.push(route(M::GET, a("/history"), None, false).agent(agent));
        v.push(route(M::GET, a("/snapshots"), None, false).agent(agent));
        v.push(route(M::GET, a("/memories"), None, false).agent(agent));
        v.push(
            route(M::POST, a("/memories/retrieve"), Some(json!({"vector": vector(0), "limit": 1})), false).agent(agent),
        );
        v.push(route(M::GET, format!("/v1/memories/{mem}"), None, false).agent(agent));
        v.push(route(M::GET, format!("/v1/documents/{doc}"), None, false).name(doc));
        v.push(
            route(
                M::POST,
                "/v1/documents/search",
                Some(json!({"mode": "full_text", "query": "tea", "filter": {"doc_ids": [doc]}})),
                false,
            )
            .name(doc),
        );
        v.push(route(M::GET, format!("/v1/collections/{coll}"), None, false).name(coll));
        v.push(route(M::GET, format!("/v1/collections/{coll}/vectors/v"), None, false).name(coll));
        v.push(
            route(
                M::POST,
                format!("/v1/collections/{coll}/search"),
                Some(json!({"vector": [0.0, 0.0], "k": 1})),
                false,
            )
            .name(coll),
        );
        v.push(route(M::POST, a("/sessions/0/states"), Some(json!({"data": "w"})), true).agent(agent));
        v.push(
            route(M::POST, a("/sessions/0/snapshots"), Some(json!({"name": format!("s{agent}")})), true).agent(agent),
        );
        v.push(route(M::POST, a("/snapshots/base/restore"), None, true).agent(agent));
        v.push(
            route(
                M::POST,
                "/v1/memories",
                Some(json!({"agent_id": agent, "memory_type": "working", "content": "w", "embedding": vector(9)})),
                true,
            )
            .agent(agent),
        );
        v.push(route(M::POST, "/v1/memories/batch", Some(json!({"memories": [{"agent_id": agent, "memory_type": "working", "content": "b", "embedding": vector(8)}]})), true).agent(agent));
        v.push(route(M::PATCH, format!("/v1/memories/{mem}"), Some(json!({"importance": 0.3})), true).agent(agent));
        v.push(route(M::PUT, format!("/v1/memories/{mem}/pin"), None, true).agent(agent));
        v.push(route(M::DELETE, format!("/v1/memories/{mem}/pin"), None, true).agent(agent));
        v.push(route(M::POST, a("/memories/forget"), Some(json!({})), true).agent(agent));
        v.push(route(M::POST, a("/memories/consolidate"), None, true).agent(agent));
        v.push(
            route(
                M::POST,
                "/v1/documents",
                Some(json!({"doc_id": doc, "text": "green tea", "chunk_vectors": [vector(1)]})),
                true,
            )
            .name(doc),
        );
        v.push(
            route(M::POST, "/v1/collections", Some(json!({"name": coll, "dimension": 2, "metric": "cosine"})), true)
                .name(coll),
        );
        v.push(
            route(
                M::POST,
                format!("/v1/collections/{coll}/vectors"),
                Some(json!({"vectors": [{"id": "v", "vector": [1.0, 0.0]}]})),
                true,
            )
            .name(coll),
        );
        v.push(route(M::POST, format!("/v1/collections/{coll}/index"), None, true).name(coll));
        v.push(route(M::DELETE, format!("/v1/collections/{coll}/vectors/v"), None, true).name(coll));
        v.push(route(M::DELETE, format!("/v1/documents/{doc}"), None, true).name(doc));
        v.push(route(M::DELETE, format!("/v1/memories/{mem}"), None, true).agent(agent));
        v.push(route(M::DELETE, format!("/v1/agents/{agent}"), None, true).agent(agent));
    }
    // Items: by the key's namespace, by `agent:<id>`, and outside both.
    for label in ["ns1", "agent:1", "agent:150", "other", "agent:2"] {
        v.extend(item_routes(label));
    }
    // A search or listing of every namespace is beyond any scoped key.
    v.push(route(M::POST, "/v1/items/search", Some(json!({})), false).item_label(""));
    v.push(route(M::POST, "/v1/items/namespaces", Some(json!({"prefix": ["*"]})), false).item_label("*"));
    v.push(Route { unscoped: true, ..route(M::POST, "/v1/items/sweep", None, true) });
    // Listing is namespace-bound: a key without a namespace has no collections to list.
    v.push(route(M::GET, "/v1/collections", None, false).name("ns1-"));
    v.push(route(M::POST, "/v1/embed", Some(json!({"texts": ["x"]})), false));
    v.push(route(M::GET, "/v1/admin/stats", None, false).admin());
    v.push(route(M::POST, "/v1/admin/flush", None, true).admin());
    v.push(route(M::POST, "/v1/admin/compact", None, true).admin());
    v.push(route(M::POST, "/v1/admin/gc", Some(json!({})), true).admin());
    v
}

/// Whether `key` must be refused (403) on `r`.
fn forbidden(key: &str, r: &Route) -> bool {
    let in_scope_agent = |a: u64| a == 1 || (100..=199).contains(&a);
    match key {
        "k-admin" => false,
        "k-ro" => r.write || r.admin,
        "k-scoped" => {
            r.admin
                || r.unscoped
                || r.agent.is_some_and(|a| !in_scope_agent(a))
                || r.name.is_some_and(|n| !n.starts_with("ns1-"))
                || r.item_label.is_some_and(|l| !["ns1", "agent:1", "agent:150"].contains(&l))
        }
        "k-agent1" => {
            r.admin
                || r.unscoped
                || r.agent.is_some_and(|a| a != 1)
                || r.name.is_some()
                || r.item_label.is_some_and(|l| l != "agent:1")
        }
        _ => unreachable!(),
    }
}

/// What an admin sets up before each key's pass over the routes.
async fn fixtures(s: &Srv) -> (u64, u64) {
    let admin = Some("k-admin");
    let mut mems = Vec::new();
    for agent in [1u64, 2] {
        ok(&s.post(&format!("/v1/agents/{agent}/sessions/0/states"), admin, json!({"data": "base"})).await);
        let _ = s.post(&format!("/v1/agents/{agent}/sessions/0/snapshots"), admin, json!({"name": "base"})).await;
        let r = s.post("/v1/memories", admin, json!({"agent_id": agent, "memory_type": "semantic", "content": format!("fact of {agent}"), "embedding": vector(agent)})).await;
        ok(&r);
        mems.push(r.body["memory_id"].as_u64().expect("id"));
    }
    for (doc, coll) in [("ns1-doc", "ns1-c"), ("other-doc", "other-c")] {
        ok(&s
            .post("/v1/documents", admin, json!({"doc_id": doc, "text": "green tea", "chunk_vectors": [vector(1)]}))
            .await);
        let _ = s.post("/v1/collections", admin, json!({"name": coll, "dimension": 2, "metric": "cosine"})).await;
        ok(&s
            .post(
                &format!("/v1/collections/{coll}/vectors"),
                admin,
                json!({"vectors": [{"id": "v", "vector": [1.0, 0.0]}]}),
            )
            .await);
    }
    for label in ["ns1", "agent:1", "agent:150", "other", "agent:2"] {
        ok(&s.post("/v1/items/put", admin, json!({"namespace": [label, "x/y"], "key": "k", "value": label})).await);
    }
    (mems[0], mems[1])
}

/// The items outside every restricted key's reach, as an admin reads them.
async fn foreign_items(s: &Srv) -> Value {
    let addresses: Vec<Value> =
        ["other", "agent:2"].iter().map(|l| json!({"namespace": [l, "x/y"], "key": "k"})).collect();
    let r = s.post("/v1/items/get", Some("k-admin"), json!({"addresses": addresses})).await;
    ok(&r);
    assert!(r.body["items"].as_array().is_some_and(|i| i.iter().all(|i| !i.is_null())), "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_honours_every_key_scope() {
    let s = Srv::start(scoped_keys).await;
    for key in ["k-scoped", "k-agent1", "k-ro", "k-admin"] {
        let (mem_in, mem_out) = fixtures(&s).await;
        let before = s.get("/v1/agents/2/history?session_id=0&limit=1000", Some("k-admin")).await.body;
        let items_before = foreign_items(&s).await;
        for r in all_routes(mem_in, mem_out) {
            let reply = s.req(r.method.clone(), &r.path, Some(key), r.body.clone()).await;
            if forbidden(key, &r) {
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{key} {} {}: {}", r.method, r.path, reply.body);
                assert_eq!(reply.code(), "forbidden");
            } else {
                assert!(
                    reply.status != StatusCode::FORBIDDEN && reply.status != StatusCode::UNAUTHORIZED,
                    "{key} {} {}: {} {}",
                    r.method,
                    r.path,
                    reply.status,
                    reply.body
                );
            }
            // Without a key, or with a wrong one: 401 everywhere.
            let anon = s.req(r.method.clone(), &r.path, None, r.body.clone()).await;
            assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
            assert!(anon.headers.get("www-authenticate").is_some());
        }
        if key != "k-admin" {
            // Agent 2 is out of every restricted key's write reach: untouched.
            let after = s.get("/v1/agents/2/history?session_id=0&limit=1000", Some("k-admin")).await.body;
            if key != "k-ro" {
                assert_eq!(before, after, "{key} changed agent 2");
            }
            assert_eq!(items_before, foreign_items(&s).await, "{key} changed items out of its reach");
            assert!(
                s.get(&format!("/v1/memories/{mem_out}"), Some("k-admin")).await.status.is_success(),
                "{key} deleted agent 2's memory"
            );
            assert!(
                s.get("/v1/documents/other-doc", Some("k-admin")).await.status.is_success(),
                "{key} deleted other-doc"
            );
        }
        // Tidy for the next pass.
        for a in [1, 2] {
            let _ = s.req(Method::DELETE, &format!("/v1/agents/{a}"), Some("k-admin"), None).await;
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_keys_see_only_their_own_data() {
    let s = Srv::start(scoped_keys).await;
    let admin = Some("k-admin");
    let scoped = Some("k-scoped");
    // Both headers work; a wrong key does not.
    let resp = s.http.get(format!("{}/v1/collections", s.base)).header("api-key", "k-ro").send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    err(&s.get("/v1/collections", Some("k-nope")).await, 401, "unauthenticated");
    let resp = s
        .http
        .get(format!("{}/v1/collections", s.base))
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    ok(&s
        .post(
            "/v1/documents",
            admin,
            json!({"doc_id": "public-tea", "text": "green tea from West Lake", "chunk_vectors": [vector(1)]}),
        )
        .await);
    ok(&s
        .post(
            "/v1/documents",
            scoped,
            json!({"doc_id": "ns1-tea", "text": "green tea from Yunnan", "chunk_vectors": [vector(2)]}),
        )
        .await);
    let r = s.get("/v1/documents/ns1-tea", scoped).await;
    assert_eq!(r.body["metadata"]["agentdb_namespace"], "ns1");
    for mode in ["full_text", "semantic", "hybrid"] {
        let body = if mode == "semantic" {
            json!({"mode": mode, "vector": vector(1), "limit": 10})
        } else {
            json!({"mode": mode, "query": "green tea", "limit": 10})
        };
        let r = s.post("/v1/documents/search", scoped, body.clone()).await;
        ok(&r);
        let ids: Vec<&str> = r.body.as_array().expect("hits").iter().filter_map(|h| h["doc_id"].as_str()).collect();
        assert_eq!(ids, ["ns1-tea"], "{mode}");
        let all = s.post("/v1/documents/search", admin, body).await;
        assert_eq!(all.body.as_array().map(Vec::len), Some(2), "{mode}");
    }
    // A scoped key cannot claim another namespace through metadata.
    err(&s.post("/v1/documents", scoped, json!({"doc_id": "ns1-x", "text": "t", "metadata": {"agentdb_namespace": "other"}, "chunk_vectors": [vector(1)]})).await, 403, "forbidden");
    ok(&s.post("/v1/collections", admin, json!({"name": "shared", "dimension": 2, "metric": "l2"})).await);
    ok(&s.post("/v1/collections", scoped, json!({"name": "ns1-mine", "dimension": 2, "metric": "l2"})).await);
    let names: Vec<Value> = s
        .get("/v1/collections", scoped)
        .await
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("ns1-mine")]);
    assert_eq!(s.get("/v1/collections", admin).await.body.as_array().map(Vec::len), Some(2));
    // Agent ranges.
    ok(&s.post("/v1/agents/150/sessions/0/states", scoped, json!({"data": "in range"})).await);
    err(&s.post("/v1/agents/200/sessions/0/states", scoped, json!({"data": "out"})).await, 403, "forbidden");
    // A batch with one foreign agent is refused whole.
    err(
        &s.post(
            "/v1/memories/batch",
            scoped,
            json!({"memories": [
                {"agent_id": 1, "memory_type": "semantic", "content": "mine", "embedding": vector(1)},
                {"agent_id": 2, "memory_type": "semantic", "content": "theirs", "embedding": vector(2)},
            ]}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_eq!(s.get("/v1/agents/1/memories", admin).await.body, json!([]));
    // A read-only key retrieves without recording an access.
    let r = s
        .post(
            "/v1/memories",
            admin,
            json!({"agent_id": 5, "memory_type": "semantic", "content": "x", "embedding": vector(3)}),
        )
        .await;
    let id = r.body["memory_id"].as_u64().expect("id");
    ok(&s
        .post(
            "/v1/agents/5/memories/retrieve",
            Some("k-ro"),
            json!({"vector": vector(3), "limit": 1, "record_access": true}),
        )
        .await);
    assert_eq!(s.get(&format!("/v1/memories/{id}"), admin).await.body["access_count"], 0);
    // /metrics needs a key (any role) unless metrics.public.
    assert_eq!(s.get("/metrics", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/metrics", Some("k-ro")).await.status, StatusCode::OK);
    assert_eq!(s.get("/healthz", None).await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_server_releases_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = base_config(dir.path());
    let server = agentdb_server::start(c.clone()).await.expect("start");
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let base = format!("http://{}", server.addr);
    let mut ready = false;
    for _ in 0..600 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready);
    let r = http
        .post(format!("{base}/v1/agents/1/sessions/0/states"))
        .body("{\"data\": \"kept\"}")
        .send()
        .await
        .expect("save");
    assert_eq!(r.status(), StatusCode::OK);
    server.stop().await.expect("stop");
    // Closed cleanly: the writer lock is free and the write is there.
    // On a plain thread: the engine owns a runtime, which cannot be dropped in an async context.
    let path = dir.path().to_path_buf();
    let data = std::thread::spawn(move || {
        let db = agentdb::AgentDb::open(path, agentdb::Options::default()).expect("reopen");
        db.load_state(1, Some(0)).expect("state").data.to_vec()
    })
    .join()
    .expect("reopen thread");
    assert_eq!(data, b"kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_routes_success_and_failure() {
    let s = Srv::start(|c| c.engine.max_payload_bytes = 4096).await;
    // Labels with '/', spaces, quotes and SQL; an empty key.
    let ns = json!(["users", "a/b c", "it's \"q\" ' OR 1=1 --", "日本"]);
    let r = s
        .post(
            "/v1/items/put",
            None,
            json!({"namespace": ns, "key": "", "value": {"n": 1, "tag": "red"}, "metadata": {"src": "ui"}}),
        )
        .await;
    ok(&r);
    assert_eq!(r.body["namespace"], ns);
    assert_eq!(
        (&r.body["key"], &r.body["value"]["n"], &r.body["metadata"]["src"]),
        (&json!(""), &json!(1), &json!("ui"))
    );
    assert_eq!((&r.body["expires_at_ms"], &r.body["ttl_ms"]), (&Value::Null, &Value::Null));
    let created = r.body["created_at_ms"].as_i64().expect("created_at_ms");
    assert!(r.body["updated_at_ms"].as_i64().is_some_and(|u| u >= created));
    // A replace keeps created_at_ms.
    let r = s.post("/v1/items/put", None, json!({"namespace": ns, "key": "", "value": "second"})).await;
    assert_eq!((&r.body["value"], r.body["created_at_ms"].as_i64()), (&json!("second"), Some(created)));
    assert_eq!(r.body["metadata"], json!({}));

    // get: in order, null where nothing lives; the parent namespace is another address.
    let r = s
        .post(
            "/v1/items/get",
            None,
            json!({"addresses": [{"namespace": ["nope"], "key": ""}, {"namespace": ns, "key": ""},
                                 {"namespace": ["users", "a/b c"], "key": ""}]}),
        )
        .await;
    ok(&r);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(items[0].is_null() && items[2].is_null());
    assert_eq!(items[1]["value"], "second");
    ok(&s.post("/v1/items/get", None, json!({"addresses": []})).await);

    // write: all or nothing; counts.
    let r = s
        .post(
            "/v1/items/write",
            None,
            json!({"writes": [
                {"put": {"namespace": ["t", "1"], "key": "a", "value": {"n": 1}}},
                {"put": {"namespace": ["t", "1"], "key": "b", "value": {"n": 5, "deep": {"x": [1, 2]}}}},
                {"put": {"namespace": ["t", "2"], "key": "a", "value": {"n": 7}, "ttl_ms": 3_600_000}},
                {"put": {"namespace": ["t", "1"], "key": "gone", "value": null}},
                {"delete": {"namespace": ["t", "1"], "key": "gone"}},
                {"delete": {"namespace": ["t", "1"], "key": "never"}},
            ]}),
        )
        .await;
    ok(&r);
    assert_eq!(r.body, json!({"put": 4, "deleted": 1}));
    let bad_batch = json!({"writes": [
        {"put": {"namespace": ["t", "3"], "key": "a", "value": 1}},
        {"put": {"namespace": ["t", "3"], "key": "b\u{0}", "value": 1}},
    ]});
    err(&s.post("/v1/items/write", None, bad_batch).await, 400, "invalid_argument");
    let r = s.post("/v1/items/namespaces", None, json!({"prefix": ["t"]})).await;
    assert_eq!(r.body, json!({"namespaces": [["t", "1"], ["t", "2"]]}), "the refused batch wrote nothing");
    err(&s.post("/v1/items/write", None, json!({"writes": []})).await, 400, "invalid_argument");
    err(&s.post("/v1/items/write", None, json!({"writes": [{"upsert": {}}]})).await, 400, "invalid_argument");

    // search: prefix, filters, metadata, pages.
    let keys = |r: &Reply| -> Vec<Value> {
        r.body["items"].as_array().expect("items").iter().map(|i| i["key"].clone()).collect()
    };
    let r = s.post("/v1/items/search", None, json!({"prefix": ["t"], "filter": {"n": {"$gt": 1}}})).await;
    ok(&r);
    // One batch, one updated_at_ms: ties by namespace, then key.
    assert_eq!((keys(&r), &r.body["total"]), (vec![json!("b"), json!("a")], &json!(2)));
    assert_eq!(r.body["items"][1]["namespace"], json!(["t", "2"]));
    assert_eq!(r.body["items"][1]["ttl_ms"], 3_600_000);
    assert!(r.body["items"][1]["expires_at_ms"].as_i64().is_some());
    let r = s.post("/v1/items/search", None, json!({"prefix": ["t"], "filter": {"deep": {"x": [1, 2]}}})).await;
    assert_eq!(keys(&r), [json!("b")]);
    let r = s.post("/v1/items/search", None, json!({"prefix": ["t"], "limit": 1, "offset": 1})).await;
    assert_eq!((r.body["items"].as_array().map(Vec::len), &r.body["total"]), (Some(1), &json!(3)));
    let r = s.post("/v1/items/search", None, json!({"metadata": {"src": "ui"}})).await;
    assert_eq!(r.body["total"], 0, "the replace dropped the metadata");
    let r = s.post("/v1/items/search", None, json!({"prefix": ["users", "a/b"]})).await;
    assert_eq!(r.body["total"], 0, "whole labels only");
    // The default limit is the engine's.
    let writes: Vec<Value> = (0..agentdb::defaults::ITEM_SEARCH_LIMIT + 2)
        .map(|i| json!({"put": {"namespace": ["many"], "key": format!("k{i}"), "value": i}}))
        .collect();
    ok(&s.post("/v1/items/write", None, json!({"writes": writes})).await);
    let r = s.post("/v1/items/search", None, json!({"prefix": ["many"]})).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(agentdb::defaults::ITEM_SEARCH_LIMIT));
    assert_eq!(r.body["total"], agentdb::defaults::ITEM_SEARCH_LIMIT + 2);

    // namespaces: prefix, suffix with a wildcard, depth, pages.
    let r = s.post("/v1/items/namespaces", None, json!({})).await;
    assert_eq!(r.body["namespaces"], json!([["many"], ["t", "1"], ["t", "2"], ns]));
    let r = s.post("/v1/items/namespaces", None, json!({"suffix": ["*", "2"]})).await;
    assert_eq!(r.body["namespaces"], json!([["t", "2"]]));
    let r = s.post("/v1/items/namespaces", None, json!({"max_depth": 1, "limit": 2, "offset": 1})).await;
    assert_eq!(r.body["namespaces"], json!([["t"], ["users"]]));

    // delete: whether a live item was there.
    let r = s.post("/v1/items/delete", None, json!({"namespace": ["t", "1"], "key": "a"})).await;
    assert_eq!(r.body, json!({"deleted": true}));
    let r = s.post("/v1/items/delete", None, json!({"namespace": ["t", "1"], "key": "a"})).await;
    assert_eq!(r.body, json!({"deleted": false}));

    // TTL: an expired item is invisible at once, and swept.
    let r = s.post("/v1/items/put", None, json!({"namespace": ["ttl"], "key": "k", "value": 1, "ttl_ms": 1})).await;
    ok(&r);
    assert_eq!(r.body["ttl_ms"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let r = s.post("/v1/items/get", None, json!({"addresses": [{"namespace": ["ttl"], "key": "k"}]})).await;
    assert_eq!(r.body["items"], json!([null]));
    let r = s.post("/v1/items/sweep", None, json!({})).await;
    ok(&r);
    assert_eq!(r.body, json!({"deleted": 1}));
    assert_eq!(s.post("/v1/items/sweep", None, json!({})).await.body, json!({"deleted": 0}));
    // refresh_ttl moves the expiry.
    let r =
        s.post("/v1/items/put", None, json!({"namespace": ["ttl"], "key": "r", "value": 1, "ttl_ms": 600_000})).await;
    let first = r.body["expires_at_ms"].as_i64().expect("expires");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let addr = json!({"addresses": [{"namespace": ["ttl"], "key": "r"}], "refresh_ttl": true});
    let r = s.post("/v1/items/get", None, addr).await;
    assert!(r.body["items"][0]["expires_at_ms"].as_i64().is_some_and(|e| e > first), "{}", r.body);

    // Bad input: each refused with the one error shape.
    for (path, body) in [
        ("/v1/items/put", json!({"namespace": ["a\u{0}b"], "key": "k", "value": 1})),
        ("/v1/items/put", json!({"namespace": ["a"], "key": "k\u{0}", "value": 1})),
        ("/v1/items/put", json!({"namespace": [], "key": "k", "value": 1})),
        ("/v1/items/put", json!({"namespace": ["a", ""], "key": "k", "value": 1})),
        ("/v1/items/put", json!({"namespace": ["a"], "key": "k", "value": 1, "ttl_ms": 0})),
        ("/v1/items/put", json!({"namespace": "a/b", "key": "k", "value": 1})),
        ("/v1/items/put", json!({"namespace": ["a"], "key": "k"})),
        ("/v1/items/put", json!({"namespace": ["a"], "key": "k", "value": 1, "extra": true})),
        ("/v1/items/get", json!({"addresses": [{"namespace": ["a\u{0}"], "key": "k"}]})),
        ("/v1/items/delete", json!({"namespace": ["a"], "key": "k\u{0}"})),
        ("/v1/items/search", json!({"prefix": ["a\u{0}"]})),
        ("/v1/items/search", json!({"limit": 0})),
        ("/v1/items/search", json!({"limit": 10_001})),
        ("/v1/items/search", json!({"limit": 1e30})),
        ("/v1/items/search", json!({"limit": -1})),
        ("/v1/items/search", json!({"offset": 1_000_001})),
        ("/v1/items/search", json!({"filter": {"n": {"$regex": "1"}}})),
        ("/v1/items/search", json!({"filter": {"n": {"$gt": [1]}}})),
        ("/v1/items/search", json!({"filter": ["n"]})),
        ("/v1/items/search", json!({"filter": "n"})),
        ("/v1/items/namespaces", json!({"max_depth": 0})),
        ("/v1/items/namespaces", json!({"limit": 10_001})),
        ("/v1/items/namespaces", json!({"suffix": ["a\u{0}"]})),
    ] {
        err(&s.post(path, None, body).await, 400, "invalid_argument");
    }
    for path in ["/v1/items/put", "/v1/items/get", "/v1/items/write", "/v1/items/search"] {
        err(&s.raw(Method::POST, path, None, Some(b"{\"namespace\": [".to_vec())).await, 400, "invalid_argument");
        err(&s.raw(Method::POST, path, None, Some(Vec::new())).await, 400, "invalid_argument");
    }
    let big = "x".repeat(5000);
    err(
        &s.post("/v1/items/put", None, json!({"namespace": ["a"], "key": "k", "value": big})).await,
        413,
        "payload_too_large",
    );
    err(&s.get("/v1/items/put", None).await, 405, "method_not_allowed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_keys_reach_only_their_item_namespaces() {
    let s = Srv::start(scoped_keys).await;
    let (admin, scoped, agent1, ro) = (Some("k-admin"), Some("k-scoped"), Some("k-agent1"), Some("k-ro"));
    let put = |label: &str, key: &str| json!({"namespace": [label, "notes"], "key": key, "value": {"by": label}});
    for label in ["ns1", "agent:1", "agent:150", "other", "agent:2"] {
        ok(&s.post("/v1/items/put", admin, put(label, "seed")).await);
    }
    // Writes: the key's namespace and its agents, nothing else (one spelling per agent).
    for label in ["ns1", "agent:1", "agent:150", "agent:199"] {
        ok(&s.post("/v1/items/put", scoped, put(label, "mine")).await);
    }
    for label in ["other", "agent:2", "agent:200", "agent:0150", "agent:+1", "NS1", "*"] {
        err(&s.post("/v1/items/put", scoped, put(label, "mine")).await, 403, "forbidden");
    }
    ok(&s.post("/v1/items/put", agent1, put("agent:1", "a1")).await);
    err(&s.post("/v1/items/put", agent1, put("ns1", "a1")).await, 403, "forbidden");
    err(&s.post("/v1/items/put", ro, put("ns1", "ro")).await, 403, "forbidden");
    // A batch or a get with one foreign address is refused whole.
    let batch =
        json!({"writes": [{"put": put("ns1", "batch")}, {"delete": {"namespace": ["other", "notes"], "key": "seed"}}]});
    err(&s.post("/v1/items/write", scoped, batch).await, 403, "forbidden");
    let both = json!({"addresses": [{"namespace": ["ns1", "notes"], "key": "batch"}, {"namespace": ["other", "notes"], "key": "seed"}]});
    err(&s.post("/v1/items/get", scoped, both.clone()).await, 403, "forbidden");
    let r = s.post("/v1/items/get", admin, both).await;
    assert!(r.body["items"][0].is_null() && !r.body["items"][1].is_null(), "nothing of the refused batch: {}", r.body);
    // Searches and listings must name a first label in reach.
    let r = s.post("/v1/items/search", scoped, json!({"prefix": ["ns1"], "limit": 100})).await;
    ok(&r);
    assert_eq!(r.body["total"], 2, "{}", r.body);
    assert!(r.body["items"].as_array().expect("items").iter().all(|i| i["namespace"][0] == "ns1"));
    for prefix in [json!([]), json!(["*"]), json!(["*", "notes"]), json!(["other"])] {
        err(&s.post("/v1/items/search", scoped, json!({"prefix": prefix})).await, 403, "forbidden");
        err(&s.post("/v1/items/namespaces", scoped, json!({"prefix": prefix})).await, 403, "forbidden");
    }
    let r = s.post("/v1/items/namespaces", scoped, json!({"prefix": ["agent:150"], "suffix": ["*"]})).await;
    assert_eq!(r.body["namespaces"], json!([["agent:150", "notes"]]));
    let r = s.post("/v1/items/namespaces", admin, json!({"max_depth": 1})).await;
    assert_eq!(r.body["namespaces"].as_array().map(Vec::len), Some(6), "{}", r.body);
    // A read-only key reads, and its refresh_ttl changes nothing.
    ok(&s.post("/v1/items/put", admin, json!({"namespace": ["ns1"], "key": "t", "value": 1, "ttl_ms": 600_000})).await);
    let addr = json!({"addresses": [{"namespace": ["ns1"], "key": "t"}]});
    let before = s.post("/v1/items/get", admin, addr.clone()).await.body["items"][0]["expires_at_ms"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = s.post("/v1/items/get", ro, json!({"addresses": addr["addresses"], "refresh_ttl": true})).await;
    ok(&r);
    assert_eq!(r.body["items"][0]["expires_at_ms"], before);
    assert_eq!(s.post("/v1/items/get", admin, addr).await.body["items"][0]["expires_at_ms"], before);
    // Sweeping touches every namespace: unscoped read-write or admin keys only.
    for key in [scoped, agent1, ro] {
        err(&s.req(Method::POST, "/v1/items/sweep", key, None).await, 403, "forbidden");
    }
    ok(&s.req(Method::POST, "/v1/items/sweep", admin, None).await);
    s.stop().await;
}

/// A search past the request timeout is cancelled, not left running: its
/// engine slot is free again at once. With one slot, the next request would
/// otherwise queue behind the search (an exact filtered k-NN over 100K × 128
/// vectors, about 1 s in the debug build) and time out as `overloaded`
/// after its 150 ms (it does when the server's cancel is removed: checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_past_the_request_timeout_is_cancelled_and_frees_its_slot() {
    let data = tempfile::tempdir().expect("tempdir");
    let probe = tokio::task::spawn_blocking({
        let path = data.path().to_path_buf();
        move || {
            let db = agentdb::AgentDb::open(&path, agentdb::Options::default()).expect("open");
            db.create_collection("big", 128, agentdb::Metric::L2).expect("create");
            let mut rng = 1u64;
            let mut next = || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 40) as f32 / (1u64 << 24) as f32
            };
            let rows: Vec<agentdb::VectorRecord> = (0..100_000)
                .map(|i| agentdb::VectorRecord {
                    id: format!("v{i}"),
                    vector: (0..128).map(|_| next()).collect(),
                    metadata: [("all".to_string(), "yes".to_string())].into(),
                })
                .collect();
            let probe = rows[42].vector.clone();
            db.insert_vectors("big", rows).expect("insert");
            db.close().expect("close");
            probe
        }
    })
    .await
    .expect("prefill");
    let s = Srv::start(|c| {
        c.server.data_dir = data.path().to_path_buf();
        c.limits.request_timeout_ms = 150;
        c.limits.max_concurrent_requests = 1;
    })
    .await;
    let search = json!({"vector": probe, "k": 10, "metadata": {"all": "yes"}});
    let r = s.post("/v1/collections/big/search", None, search.clone()).await;
    err(&r, 503, "timeout");
    assert!(r.body["message"].as_str().is_some_and(|m| m.contains("cancelled")), "{}", r.body);
    let r = s.get("/v1/collections", None).await;
    assert_eq!(r.status, StatusCode::OK, "the slot is still held: {}", r.body);
    // The collection is intact and the search, given time, exact.
    s.stop().await;
    let s = Srv::start(|c| c.server.data_dir = data.path().to_path_buf()).await;
    let r = s.post("/v1/collections/big/search", None, search).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["id"], "v42", "{}", r.body);
}

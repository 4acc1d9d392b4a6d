//! Arrow IPC streams through HTTP: a real server on an ephemeral loopback
//! port and a real client. Bulk inserts sent as Arrow read back as JSON and
//! the reverse; list results in Arrow equal the JSON results; every bad
//! stream is a 400 that writes nothing; 406 for an Accept a route cannot
//! serve; scoped keys hold for Arrow bodies exactly as for JSON.

use std::sync::Arc;

use agentdb_server::config::{Config, KeyConfig, Role};
use agentdb_server::{auth::hash_key, RunningServer};
use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::{Field, Schema};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ARROW: &str = "application/vnd.apache.arrow.stream";
/// The memory dimension (the built-in model's); vectors are given, so no model runs.
const MEMORY_DIM: usize = 384;
const DIM: i32 = 4;

struct Srv {
    server: Option<RunningServer>,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn ok(&self) -> &Self {
        assert!(self.status.is_success(), "{} {}", self.status, String::from_utf8_lossy(&self.bytes));
        self
    }

    fn err(&self, status: u16, code: &str) -> String {
        let body = self.json();
        assert_eq!(self.status.as_u16(), status, "{body}");
        assert_eq!(body["code"], code, "{body}");
        let message = body["message"].as_str().unwrap_or("").to_string();
        assert!(!message.is_empty(), "{body}");
        message
    }

    fn batches(&self) -> Vec<RecordBatch> {
        assert_eq!(self.content_type, ARROW, "{}", String::from_utf8_lossy(&self.bytes));
        let reader = StreamReader::try_new(std::io::Cursor::new(self.bytes.clone()), None).expect("stream");
        reader.map(|b| b.expect("batch")).collect()
    }

    /// The one batch of a result stream.
    fn batch(&self) -> RecordBatch {
        let mut b = self.batches();
        assert_eq!(b.len(), 1);
        b.remove(0)
    }
}

fn key(name: &str, role: Role) -> KeyConfig {
    KeyConfig { name: name.into(), sha256: hash_key(name), role, agents: None, agent_ranges: None, namespace: None }
}

impl Srv {
    async fn start(tune: impl FnOnce(&mut Config)) -> Srv {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = Config::default();
        c.server.listen = "127.0.0.1:0".into();
        c.server.data_dir = dir.path().to_path_buf();
        c.engine.maintenance_interval_ms = 0;
        tune(&mut c);
        let server = agentdb_server::start(c).await.expect("start");
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let srv = Srv { server: Some(server), base, http, _dir: dir };
        for _ in 0..600 {
            if srv.send(Method::GET, "/readyz", &[], None).await.status == StatusCode::OK {
                return srv;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server never became ready");
    }

    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Reply {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let resp = rb.send().await.expect("send");
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = resp.bytes().await.expect("body").to_vec();
        Reply { status, content_type, bytes }
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> Reply {
        self.send(method, path, &[("content-type", "application/json")], Some(body.to_string().into_bytes())).await
    }

    /// The same request twice: as JSON, and asking for Arrow.
    async fn both(&self, method: Method, path: &str, body: Option<Value>) -> (Value, RecordBatch) {
        let body = body.map(|b| b.to_string().into_bytes());
        let j = self.send(method.clone(), path, &[("content-type", "application/json")], body.clone()).await;
        j.ok();
        assert!(j.content_type.starts_with("application/json"), "{}", j.content_type);
        let a = self.send(method, path, &[("content-type", "application/json"), ("accept", ARROW)], body).await;
        a.ok();
        (j.json(), a.batch())
    }

    async fn arrow_post(&self, path: &str, key: Option<&str>, body: Vec<u8>) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers = vec![("content-type", ARROW)];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.send(Method::POST, path, &headers, Some(body)).await
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
    }
}

fn ipc(batches: &[RecordBatch]) -> Vec<u8> {
    ipc_with(batches, IpcWriteOptions::default())
}

fn ipc_with(batches: &[RecordBatch], options: IpcWriteOptions) -> Vec<u8> {
    let mut w = StreamWriter::try_new_with_options(Vec::new(), &batches[0].schema(), options).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.finish().expect("finish");
    w.into_inner().expect("bytes")
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect()).expect("batch")
}

fn fixed(rows: &[Option<Vec<Option<f32>>>], dim: i32) -> ArrayRef {
    let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim);
    for r in rows {
        match r {
            Some(v) => {
                for x in v {
                    b.values().append_option(*x);
                }
                b.append(true);
            }
            None => {
                for _ in 0..dim {
                    b.values().append_null();
                }
                b.append(false);
            }
        }
    }
    Arc::new(b.finish())
}

fn list(rows: &[Vec<f32>]) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new());
    for r in rows {
        b.values().append_slice(r);
        b.append(true);
    }
    Arc::new(b.finish())
}

fn strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn some(v: &[f32]) -> Option<Vec<Option<f32>>> {
    Some(v.iter().copied().map(Some).collect())
}

/// A unit vector of the memory dimension, distinct per seed.
fn embedding(seed: u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..MEMORY_DIM).map(|i| (((i as u64 + 1) * (seed + 3)) % 17) as f32 - 8.0).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn f32s(a: &dyn Array) -> Vec<f32> {
    a.as_primitive::<Float32Type>().values().to_vec()
}

fn json_f32s(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn meta_of(s: &str) -> Value {
    serde_json::from_str(s).expect("metadata JSON")
}

async fn count(s: &Srv, collection: &str) -> u64 {
    let r = s.send(Method::GET, &format!("/v1/collections/{collection}"), &[], None).await;
    r.ok();
    r.json()["count"].as_u64().expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_round_trip_between_arrow_and_json() {
    let s = Srv::start(|_| {}).await;
    s.json(Method::POST, "/v1/collections", json!({"name": "c", "dimension": DIM, "metric": "l2"})).await.ok();

    // Arrow in (fixed-size lists, one null metadata), JSON out.
    let b = batch(vec![
        ("id", strings(&[Some("a"), Some("b")])),
        ("vector", fixed(&[some(&[1.0, 0.0, 0.0, 0.0]), some(&[0.0, 2.0, 0.0, 0.0])], DIM)),
        ("metadata", strings(&[Some(r#"{"lang":"en"}"#), None])),
    ]);
    let r = s.arrow_post("/v1/collections/c/vectors", None, ipc(&[b])).await;
    assert_eq!(r.ok().json(), json!({"upserted": 2}));
    let a = s.send(Method::GET, "/v1/collections/c/vectors/a", &[], None).await;
    assert_eq!(a.ok().json(), json!({"id": "a", "vector": [1.0, 0.0, 0.0, 0.0], "metadata": {"lang": "en"}}));
    let b = s.send(Method::GET, "/v1/collections/c/vectors/b", &[], None).await;
    assert_eq!(b.ok().json(), json!({"id": "b", "vector": [0.0, 2.0, 0.0, 0.0], "metadata": {}}));

    // Variable-size lists, large_utf8 ids, two batches, no metadata column.
    let ids: ArrayRef = Arc::new(arrow_array::LargeStringArray::from(vec!["d"]));
    let b1 = batch(vec![("id", ids.clone()), ("vector", list(&[vec![0.0, 0.0, 3.0, 0.0]]))]);
    let ids2: ArrayRef = Arc::new(arrow_array::LargeStringArray::from(vec!["e"]));
    let b2 = batch(vec![("id", ids2), ("vector", list(&[vec![0.0, 0.0, 0.0, 4.0]]))]);
    s.arrow_post("/v1/collections/c/vectors", None, ipc(&[b1, b2])).await.ok();
    // JSON in.
    s.json(
        Method::POST,
        "/v1/collections/c/vectors",
        json!({"vectors": [{"id": "f", "vector": [1.0, 1.0, 0.0, 0.0], "metadata": {"lang": "de"}}]}),
    )
    .await
    .ok();
    assert_eq!(count(&s, "c").await, 5);

    // Results: Arrow equals JSON, k-NN and range, with and without a filter.
    for body in [
        json!({"vector": [1.0, 0.5, 0.0, 0.0], "k": 10, "include_vectors": true}),
        json!({"vector": [1.0, 0.5, 0.0, 0.0], "radius": 2.0, "include_vectors": true}),
        json!({"vector": [1.0, 0.5, 0.0, 0.0], "k": 3, "metadata": {"lang": "de"}, "include_vectors": true}),
    ] {
        let (j, a) = s.both(Method::POST, "/v1/collections/c/search", Some(body.clone())).await;
        let j = j.as_array().expect("list").clone();
        assert!(!j.is_empty(), "{body}");
        assert_eq!(a.num_rows(), j.len(), "{body}");
        assert_eq!(a.schema(), agentdb::export::vector_hits_schema(DIM as usize));
        let ids = a.column_by_name("id").expect("id").as_string::<i32>();
        let dist = a.column_by_name("distance").expect("distance").as_primitive::<Float32Type>();
        let meta = a.column_by_name("metadata").expect("metadata").as_string::<i32>();
        let vecs = a.column_by_name("vector").expect("vector").as_fixed_size_list();
        for (i, h) in j.iter().enumerate() {
            assert_eq!(ids.value(i), h["id"], "{body}");
            assert_eq!(dist.value(i), h["distance"].as_f64().expect("distance") as f32);
            assert_eq!(meta_of(meta.value(i)), h["metadata"]);
            assert_eq!(f32s(vecs.value(i).as_ref()), json_f32s(&h["vector"]));
        }
    }
    // The hits stream itself is a valid upsert body's worth of columns: the
    // layouts share names and types.
    let r = s
        .send(
            Method::POST,
            "/v1/collections/c/search",
            &[("accept", ARROW)],
            Some(json!({"vector": [0.0, 0.0, 0.0, 4.0], "k": 1}).to_string().into_bytes()),
        )
        .await;
    let hit = r.ok().batch();
    let again = hit.project(&[0, 2, 3]).expect("id, metadata, vector");
    s.json(Method::POST, "/v1/collections", json!({"name": "copy", "dimension": DIM})).await.ok();
    s.arrow_post("/v1/collections/copy/vectors", None, ipc(&[again])).await.ok();
    let e = s.send(Method::GET, "/v1/collections/copy/vectors/e", &[], None).await;
    assert_eq!(e.ok().json()["vector"], json!([0.0, 0.0, 0.0, 4.0]));

    // An empty result is a stream with the layout and no rows.
    s.json(Method::POST, "/v1/collections", json!({"name": "empty", "dimension": DIM})).await.ok();
    let (j, a) =
        s.both(Method::POST, "/v1/collections/empty/search", Some(json!({"vector": [1.0, 0.0, 0.0, 0.0]}))).await;
    assert_eq!(j, json!([]));
    assert_eq!((a.num_rows(), a.schema()), (0, agentdb::export::vector_hits_schema(DIM as usize)));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arrow_bodies_are_refused_and_write_nothing() {
    let s = Srv::start(|c| c.limits.max_body_bytes = 64 * 1024).await;
    s.json(Method::POST, "/v1/collections", json!({"name": "c", "dimension": DIM})).await.ok();
    let good = || {
        batch(vec![
            ("id", strings(&[Some("a"), Some("b")])),
            ("vector", fixed(&[some(&[1.0, 0.0, 0.0, 0.0]), some(&[0.0, 1.0, 0.0, 0.0])], DIM)),
        ])
    };
    let whole = ipc(&[good()]);
    let int_ids: ArrayRef = Arc::new(UInt64Array::from(vec![1u64, 2]));
    let mut cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "unknown column",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a")])),
                ("vector", fixed(&[some(&[1.0, 0.0, 0.0, 0.0])], DIM)),
                ("colour", strings(&[Some("red")])),
            ])]),
            "invalid_argument",
            "unknown column `colour`",
        ),
        (
            "missing vector",
            ipc(&[batch(vec![("id", strings(&[Some("a")]))])]),
            "invalid_argument",
            "missing column `vector`",
        ),
        (
            "id of the wrong type",
            ipc(&[batch(vec![("id", int_ids), ("vector", fixed(&[some(&[1.0; 4]), some(&[2.0; 4])], DIM))])]),
            "invalid_argument",
            "column `id` is UInt64",
        ),
        (
            "float64 vectors",
            {
                let mut b = ListBuilder::new(arrow_array::builder::Float64Builder::new());
                b.values().append_slice(&[1.0, 0.0, 0.0, 0.0]);
                b.append(true);
                let v: ArrayRef = Arc::new(b.finish());
                ipc(&[batch(vec![("id", strings(&[Some("a")])), ("vector", v)])])
            },
            "invalid_argument",
            "column `vector`",
        ),
        (
            "wrong dimension",
            ipc(&[batch(vec![("id", strings(&[Some("a")])), ("vector", fixed(&[some(&[1.0, 0.0, 0.0])], 3))])]),
            "dimension_mismatch",
            "",
        ),
        (
            "NaN",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a"), Some("b")])),
                ("vector", list(&[vec![1.0, 0.0, 0.0, 0.0], vec![f32::NAN, 0.0, 0.0, 0.0]])),
            ])]),
            "invalid_argument",
            "",
        ),
        (
            "null id",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a"), None])),
                ("vector", fixed(&[some(&[1.0; 4]), some(&[1.0; 4])], DIM)),
            ])]),
            "invalid_argument",
            "column `id` is null at row 1",
        ),
        (
            "null vector",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a"), Some("b")])),
                ("vector", fixed(&[some(&[1.0; 4]), None], DIM)),
            ])]),
            "invalid_argument",
            "column `vector` is null at row 1",
        ),
        (
            "null component",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a")])),
                ("vector", fixed(&[Some(vec![Some(1.0), None, Some(0.0), Some(0.0)])], DIM)),
            ])]),
            "invalid_argument",
            "null component",
        ),
        (
            "metadata not a JSON object of strings",
            ipc(&[batch(vec![
                ("id", strings(&[Some("a")])),
                ("vector", fixed(&[some(&[1.0; 4])], DIM)),
                ("metadata", strings(&[Some(r#"{"n": 1}"#)])),
            ])]),
            "invalid_argument",
            "column `metadata` at row 0",
        ),
        ("truncated mid-message", whole[..whole.len() / 2].to_vec(), "invalid_argument", "truncated"),
        ("truncated before the end marker", whole[..whole.len() - 8].to_vec(), "invalid_argument", "end-of-stream"),
        ("bytes after the end", [whole.clone(), vec![1, 2, 3]].concat(), "invalid_argument", "after the end-of-stream"),
        ("garbage", b"this is not arrow at all, just text".to_vec(), "invalid_argument", "continuation marker"),
        ("empty body", Vec::new(), "invalid_argument", "truncated"),
        ("JSON sent as Arrow", br#"{"vectors": []}"#.to_vec(), "invalid_argument", "continuation marker"),
        (
            "compressed",
            ipc_with(
                &[good()],
                IpcWriteOptions::default()
                    .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))
                    .expect("lz4"),
            ),
            "invalid_argument",
            "compressed",
        ),
    ];
    // A metadata length far past the end: refused before anything is allocated.
    let mut huge = whole.clone();
    huge[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
    cases.push(("metadata length past the end", huge, "invalid_argument", "truncated or corrupt"));
    for (label, body, code, needle) in cases {
        let r = s.arrow_post("/v1/collections/c/vectors", None, body).await;
        let message = r.err(400, code);
        assert!(message.contains(needle), "{label}: {message}");
        assert_eq!(count(&s, "c").await, 0, "{label} wrote something");
    }
    // Every byte flipped in turn: never a 5xx or a dropped connection, and
    // nothing written unless the stream still decodes to the same rows.
    for i in 0..whole.len() {
        let mut b = whole.clone();
        b[i] ^= 0x5A;
        let r = s.arrow_post("/v1/collections/c/vectors", None, b).await;
        assert!(r.status.is_success() || r.status == StatusCode::BAD_REQUEST, "byte {i}: {}", r.status);
    }
    // The body limit holds for Arrow bodies.
    let many: Vec<Option<Vec<Option<f32>>>> = (0..5000).map(|i| some(&[i as f32, 0.0, 0.0, 0.0])).collect();
    let ids: Vec<String> = (0..5000).map(|i| format!("id-{i}")).collect();
    let id_refs: Vec<Option<&str>> = ids.iter().map(|s| Some(s.as_str())).collect();
    let big = ipc(&[batch(vec![("id", strings(&id_refs)), ("vector", fixed(&many, DIM))])]);
    assert!(big.len() > 64 * 1024);
    s.arrow_post("/v1/collections/c/vectors", None, big).await.err(413, "payload_too_large");
    // A route that takes JSON only says so.
    let m = s.arrow_post("/v1/collections/c/search", None, whole.clone()).await.err(400, "invalid_argument");
    assert!(m.contains("takes a JSON body"), "{m}");
    // A stream that is fine, to a missing collection: the engine's own error.
    s.arrow_post("/v1/collections/nope/vectors", None, whole.clone()).await.err(404, "not_found");
    s.arrow_post("/v1/collections/c/vectors", None, whole).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_round_trip_between_arrow_and_json() {
    let s = Srv::start(|_| {}).await;
    let e: Vec<Vec<f32>> = (0..3).map(embedding).collect();
    let mut emb = FixedSizeListBuilder::new(Float32Builder::new(), MEMORY_DIM as i32);
    for v in &e {
        emb.values().append_slice(v);
        emb.append(true);
    }
    let b = batch(vec![
        ("agent_id", Arc::new(Int64Array::from(vec![5i64, 5, 5])) as ArrayRef),
        ("content", strings(&[Some("tea in the morning"), Some("allergic to peanuts"), Some("lives in Lyon")])),
        ("memory_type", strings(&[Some("episodic"), None, Some("semantic")])),
        ("embedding", Arc::new(emb.finish()) as ArrayRef),
        ("importance", Arc::new(Float32Array::from(vec![Some(0.9), None, Some(0.2)])) as ArrayRef),
        ("metadata", strings(&[Some(r#"{"src":"chat"}"#), None, None])),
    ]);
    let r = s.arrow_post("/v1/memories/batch", None, ipc(&[b])).await;
    let outcomes = r.ok().json()["outcomes"].as_array().expect("outcomes").clone();
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| o["kind"] == "stored"), "{outcomes:?}");
    // JSON in too.
    s.json(
        Method::POST,
        "/v1/memories/batch",
        json!({"memories": [{"agent_id": 5, "content": "plays the cello", "embedding": embedding(3)}]}),
    )
    .await
    .ok();
    let list = s.send(Method::GET, "/v1/agents/5/memories", &[], None).await;
    let list = list.ok().json();
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 4);
    assert_eq!(list[0]["memory_type"], "episodic");
    assert_eq!(list[0]["metadata"], json!({"src": "chat"}));
    assert_eq!(list[1]["memory_type"], "semantic", "a null type is the default type");
    assert_eq!(list[1]["importance"], json!(0.5), "a null importance is the default");
    assert_eq!(json_f32s(&list[2]["embedding"]), e[2]);

    // Retrieve: Arrow equals JSON (no access recorded, so both see the same figures).
    let body = json!({"vector": embedding(1), "limit": 4, "record_access": false});
    let (j, a) = s.both(Method::POST, "/v1/agents/5/memories/retrieve", Some(body)).await;
    let j = j.as_array().expect("hits").clone();
    assert_eq!((a.num_rows(), j.len()), (4, 4));
    assert_eq!(a.schema(), agentdb::export::scored_memories_schema(MEMORY_DIM));
    let col = |n: &str| a.column_by_name(n).expect(n).clone();
    for (i, h) in j.iter().enumerate() {
        let m = &h["memory"];
        assert_eq!(col("memory_id").as_primitive::<UInt64Type>().value(i), m["memory_id"].as_u64().expect("id"));
        assert_eq!(col("content").as_string::<i32>().value(i), m["content"]);
        assert_eq!(col("memory_type").as_string::<i32>().value(i), m["memory_type"]);
        // Recency (so the score) moves with the clock between the two calls.
        let score = col("score").as_primitive::<Float32Type>().value(i);
        assert!((score - h["score"].as_f64().expect("score") as f32).abs() < 1e-3);
        assert_eq!(
            col("relevance").as_primitive::<Float32Type>().value(i),
            h["relevance"].as_f64().expect("rel") as f32
        );
        assert_eq!(col("access_count").as_primitive::<UInt64Type>().value(i), m["access_count"].as_u64().expect("n"));
        assert_eq!(col("created_at_ms").as_primitive::<Int64Type>().value(i), m["created_at_ms"].as_i64().expect("t"));
        assert_eq!(meta_of(col("metadata").as_string::<i32>().value(i)), m["metadata"]);
        assert_eq!(f32s(col("embedding").as_fixed_size_list().value(i).as_ref()), json_f32s(&m["embedding"]));
    }
    assert_eq!(col("content").as_string::<i32>().value(0), "allergic to peanuts");

    // Bad rows: the engine's errors, nothing stored.
    let one = |content: &str, ty: Option<&str>, importance: Option<f32>, v: Vec<f32>| {
        let mut emb = FixedSizeListBuilder::new(Float32Builder::new(), v.len() as i32);
        emb.values().append_slice(&v);
        emb.append(true);
        ipc(&[batch(vec![
            ("agent_id", Arc::new(UInt64Array::from(vec![6u64])) as ArrayRef),
            ("content", strings(&[Some(content)])),
            ("memory_type", strings(&[ty])),
            ("importance", Arc::new(Float32Array::from(vec![importance])) as ArrayRef),
            ("embedding", Arc::new(emb.finish()) as ArrayRef),
        ])])
    };
    let mut nan = embedding(4);
    nan[7] = f32::NAN;
    for (label, body, status, code) in [
        ("unknown type", one("x", Some("dream"), None, embedding(4)), 400, "invalid_argument"),
        ("NaN", one("x", None, None, nan), 400, "invalid_argument"),
        ("importance 2", one("x", None, Some(2.0), embedding(4)), 400, "invalid_argument"),
        ("empty content", one("", None, None, embedding(4)), 400, "invalid_argument"),
        ("short embedding", one("x", None, None, vec![1.0, 0.0]), 400, "dimension_mismatch"),
    ] {
        let r = s.arrow_post("/v1/memories/batch", None, body).await;
        assert_eq!(r.status.as_u16(), status, "{label}: {}", String::from_utf8_lossy(&r.bytes));
        r.err(status, code);
        let list = s.send(Method::GET, "/v1/agents/6/memories", &[], None).await;
        assert_eq!(list.ok().json(), json!([]), "{label} stored something");
    }
    let negative = ipc(&[batch(vec![
        ("agent_id", Arc::new(Int64Array::from(vec![-1i64])) as ArrayRef),
        ("content", strings(&[Some("x")])),
    ])]);
    let m = s.arrow_post("/v1/memories/batch", None, negative).await.err(400, "invalid_argument");
    assert!(m.contains("negative"), "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_history_and_document_search_in_arrow_equal_json() {
    let s = Srv::start(|_| {}).await;
    for (data, key) in [("{\"step\":1}", None), ("{\"step\":2}", Some("cp/2")), ("{\"step\":3}", None)] {
        let mut body = json!({"data": data, "metadata": {"tool": "search"}});
        if let Some(k) = key {
            body["key"] = json!(k);
        }
        s.json(Method::POST, "/v1/agents/3/sessions/1/states", body).await.ok();
    }
    let bin = "AJ+Slv8="; // [0, 159, 146, 150, 255]: not UTF-8
    s.json(Method::POST, "/v1/agents/3/sessions/1/states", json!({"data_base64": bin})).await.ok();
    for path in ["/v1/agents/3/sessions/1/states?limit=3", "/v1/agents/3/sessions/1/states", "/v1/agents/3/history"] {
        let (j, a) = s.both(Method::GET, path, None).await;
        let j = j.as_array().expect("list").clone();
        assert_eq!(a.schema(), agentdb::export::states_schema(), "{path}");
        assert_eq!(a.num_rows(), j.len(), "{path}");
        let col = |n: &str| a.column_by_name(n).expect(n).clone();
        for (i, st) in j.iter().enumerate() {
            assert_eq!(col("version").as_primitive::<UInt64Type>().value(i), st["version"].as_u64().expect("v"));
            assert_eq!(
                col("timestamp_ms").as_primitive::<Int64Type>().value(i),
                st["timestamp_ms"].as_i64().expect("t")
            );
            assert_eq!(col("state_type").as_string::<i32>().value(i), st["state_type"]);
            assert_eq!(
                col("checksum").as_primitive::<UInt32Type>().value(i) as u64,
                st["checksum"].as_u64().expect("c")
            );
            assert_eq!(meta_of(col("metadata").as_string::<i32>().value(i)), st["metadata"]);
            let key = col("key");
            let key = key.as_string::<i32>();
            assert_eq!(if key.is_null(i) { Value::Null } else { json!(key.value(i)) }, st["key"]);
            let data = col("data");
            let data = data.as_binary::<i32>().value(i);
            match st.get("data") {
                Some(text) => assert_eq!(data, text.as_str().expect("text").as_bytes()),
                None => assert_eq!(data, &[0, 159, 146, 150, 255]),
            }
        }
    }
    let (j, a) = s.both(Method::GET, "/v1/agents/99/history", None).await;
    assert_eq!((j, a.num_rows()), (json!([]), 0));

    // Documents: a given chunk vector (no model), full-text and semantic by vector.
    let v = embedding(9);
    s.json(
        Method::POST,
        "/v1/documents",
        json!({"doc_id": "d1", "text": "Peanut allergies can be severe.", "chunk_vectors": [v.clone()]}),
    )
    .await
    .ok();
    for body in [json!({"mode": "full_text", "query": "peanut allergies"}), json!({"mode": "semantic", "vector": v})] {
        let (j, a) = s.both(Method::POST, "/v1/documents/search", Some(body.clone())).await;
        let j = j.as_array().expect("hits").clone();
        assert_eq!(a.schema(), agentdb::export::chunk_hits_schema());
        assert_eq!((a.num_rows(), j.len()), (1, 1), "{body}");
        assert_eq!(a.column_by_name("chunk_id").expect("chunk_id").as_string::<i32>().value(0), j[0]["chunk_id"]);
        assert_eq!(a.column_by_name("content").expect("content").as_string::<i32>().value(0), j[0]["content"]);
        let score = a.column_by_name("score").expect("score").as_primitive::<Float32Type>().value(0);
        assert_eq!(score, j[0]["score"].as_f64().expect("score") as f32);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_a_route_cannot_serve_is_406() {
    let s = Srv::start(|_| {}).await;
    s.json(Method::POST, "/v1/collections", json!({"name": "c", "dimension": DIM})).await.ok();
    let routes: [(Method, &str, Option<Value>); 5] = [
        (Method::GET, "/v1/agents/1/sessions/1/states", None),
        (Method::GET, "/v1/agents/1/history", None),
        (Method::POST, "/v1/agents/1/memories/retrieve", Some(json!({"vector": embedding(1)}))),
        (Method::POST, "/v1/documents/search", Some(json!({"mode": "full_text", "query": "x"}))),
        (Method::POST, "/v1/collections/c/search", Some(json!({"vector": [1.0, 0.0, 0.0, 0.0]}))),
    ];
    for (method, path, body) in routes {
        let body = body.map(|b| b.to_string().into_bytes());
        for refused in ["text/html", "application/json;q=0", "application/xml, text/*"] {
            let r = s.send(method.clone(), path, &[("accept", refused)], body.clone()).await;
            let m = r.err(406, "not_acceptable");
            assert!(m.contains(ARROW), "{m}");
        }
        for (accept, arrow) in
            [("*/*", false), ("application/*", false), ("application/json, */*", false), (ARROW, true)]
        {
            let r = s.send(method.clone(), path, &[("accept", accept)], body.clone()).await;
            r.ok();
            assert_eq!(r.content_type.starts_with(ARROW), arrow, "{path} {accept}: {}", r.content_type);
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_keys_hold_for_arrow_bodies() {
    let s = Srv::start(|c| {
        c.auth.keys = vec![
            key("k-admin", Role::Admin),
            KeyConfig { agents: Some(vec![1]), namespace: Some("ns1".into()), ..key("k-scoped", Role::ReadWrite) },
            key("k-ro", Role::ReadOnly),
        ];
    })
    .await;
    let admin = [("authorization", "Bearer k-admin"), ("content-type", "application/json")];
    for name in ["ns1-c", "other-c"] {
        let body = json!({"name": name, "dimension": DIM}).to_string().into_bytes();
        s.send(Method::POST, "/v1/collections", &admin, Some(body)).await.ok();
    }
    let vectors = ipc(&[batch(vec![("id", strings(&[Some("a")])), ("vector", fixed(&[some(&[1.0; 4])], DIM))])]);
    s.arrow_post("/v1/collections/other-c/vectors", Some("k-scoped"), vectors.clone()).await.err(403, "forbidden");
    s.arrow_post("/v1/collections/ns1-c/vectors", Some("k-ro"), vectors.clone()).await.err(403, "forbidden");
    s.arrow_post("/v1/collections/ns1-c/vectors", None, vectors.clone()).await.err(401, "unauthenticated");
    s.arrow_post("/v1/collections/ns1-c/vectors", Some("k-scoped"), vectors).await.ok();

    let memories = |agents: Vec<u64>| {
        let n = agents.len();
        let mut emb = FixedSizeListBuilder::new(Float32Builder::new(), MEMORY_DIM as i32);
        for i in 0..n {
            emb.values().append_slice(&embedding(i as u64));
            emb.append(true);
        }
        let contents: Vec<String> = (0..n).map(|i| format!("fact {i}")).collect();
        let refs: Vec<Option<&str>> = contents.iter().map(|c| Some(c.as_str())).collect();
        ipc(&[batch(vec![
            ("agent_id", Arc::new(UInt64Array::from(agents)) as ArrayRef),
            ("content", strings(&refs)),
            ("embedding", Arc::new(emb.finish()) as ArrayRef),
        ])])
    };
    // One row for another agent refuses the whole batch.
    s.arrow_post("/v1/memories/batch", Some("k-scoped"), memories(vec![1, 2])).await.err(403, "forbidden");
    let auth = [("authorization", "Bearer k-admin")];
    for agent in [1, 2] {
        let r = s.send(Method::GET, &format!("/v1/agents/{agent}/memories"), &auth, None).await;
        assert_eq!(r.ok().json(), json!([]), "agent {agent}");
    }
    s.arrow_post("/v1/memories/batch", Some("k-scoped"), memories(vec![1, 1])).await.ok();
    // Results in Arrow: the same scope checks before the engine is called.
    let scoped = [("authorization", "Bearer k-scoped"), ("accept", ARROW)];
    let r = s.send(Method::GET, "/v1/agents/2/history", &scoped, None).await;
    r.err(403, "forbidden");
    let body = json!({"vector": embedding(0), "limit": 5}).to_string().into_bytes();
    let r = s.send(Method::POST, "/v1/agents/1/memories/retrieve", &scoped, Some(body)).await;
    assert_eq!(r.ok().batch().num_rows(), 2);
    s.stop().await;
}

#[test]
fn the_layouts_a_client_sends_are_documented() {
    let doc: Value = serde_json::from_str(&agentdb_server::openapi::document_json()).expect("json");
    let schemas = &doc["components"]["schemas"];
    for (name, cols) in [
        ("VectorsStream", vec!["`id`", "`vector`", "`metadata`"]),
        ("MemoriesStream", vec!["`agent_id`", "`content`", "`memory_type`", "`embedding`", "`importance`", "`ttl_ms`"]),
    ] {
        let d = schemas[name]["description"].as_str().unwrap_or_default();
        for c in cols {
            assert!(d.contains(c), "{name}: {c} missing from {d}");
        }
    }
    let content = &doc["paths"]["/v1/memories/batch"]["post"]["requestBody"]["content"];
    assert!(content.get(ARROW).is_some() && content.get("application/json").is_some(), "{content}");
}

//! Benchmarks of the memory, RAG and vector subsystems (issue 3): retrieval
//! and hybrid-search latency at 100K scale, ingestion throughput with the
//! built-in model and with caller vectors, and ANN recall/QPS on the real
//! fashion-mnist vectors against exact brute-force ground truth.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use agentdb::{
    AgentDb, DocFilter, Fusion, MemoryType, MergePolicy, Metric, NewDocument, NewMemory, Options, RetrieveOptions,
    SearchOptions, VectorRecord,
};

use crate::{percentile, us, Row};

const DIM: usize = 384;
const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

fn quiet() -> Options {
    Options { maintenance_interval: None, ann_index_threshold: usize::MAX, ..Options::default() }
}

/// Deterministic pseudo-random unit vectors (splitmix64).
fn unit_vector(seed: u64) -> Vec<f32> {
    let mut z = seed;
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((x ^ (x >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

const WORDS: [&str; 24] = [
    "agent", "memory", "train", "hotel", "peanut", "allergy", "lyon", "paris", "booking", "window", "seat", "tea",
    "mountain", "rain", "budget", "flight", "museum", "river", "dinner", "ticket", "学习", "旅行", "茶", "火车",
];

fn sentence(i: u64) -> String {
    (0..40)
        .map(|k| WORDS[((i * 7 + k * 13 + (i >> 3) * k) % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let s = Instant::now();
    let t = f();
    (t, s.elapsed())
}

pub fn memory(base: &Path, n: u64, rows: &mut Vec<Row>) {
    let dir = base.join("memories");
    let _ = std::fs::remove_dir_all(&dir);
    let db = AgentDb::open(&dir, quiet()).expect("open");
    let agents = (n / 1000).max(1);
    let (_, t) = timed(|| {
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let batch = chunk
                .iter()
                .map(|&i| {
                    NewMemory::new(i % agents, MemoryType::Semantic, format!("memory {i}: {}", sentence(i)))
                        .embedding(unit_vector(i))
                        .importance((i % 10) as f32 / 10.0)
                })
                .collect();
            db.store_memories(batch).expect("store");
        }
    });
    rows.push(Row::new(
        &format!("store {n} memories (caller vectors)"),
        format!("{:.0} memories/s", n as f64 / t.as_secs_f64()),
        format!("{agents} agents, default policy (keep_newest), batches of 1000"),
    ));
    // Single stores under the default policy: exact dedup from the in-memory
    // index, near-duplicate check against the agent's cached vectors.
    let mut lat = Vec::new();
    for q in 0..2000u64 {
        let m = NewMemory::new(q % agents, MemoryType::Semantic, format!("single {q}: {}", sentence(q + n)))
            .embedding(unit_vector(q + 7 * n + 11));
        let (_, t) = timed(|| db.store_memory(m).expect("store"));
        lat.push(t);
    }
    lat.sort();
    rows.push(Row::new(
        &format!("store_memory single, default policy, {n} memories p50"),
        us(percentile(&lat, 0.5)),
        format!("{agents} agents, 2000 stores"),
    ));
    rows.push(Row::new(
        &format!("store_memory single, default policy, {n} memories p99"),
        us(percentile(&lat, 0.99)),
        String::new(),
    ));
    db.compact().expect("compact");
    let mut lat = Vec::new();
    let opts = RetrieveOptions { record_access: false, ..Default::default() };
    for q in 0..300u64 {
        let (_, t) = timed(|| db.retrieve_similar(q % agents, &unit_vector(q * 977 + 5), 10, &opts).expect("retrieve"));
        lat.push(t);
    }
    lat.sort();
    rows.push(Row::new(
        &format!("retrieve_similar top-10 with {n} memories p50"),
        us(percentile(&lat, 0.5)),
        "candidates 3×, re-ranked".into(),
    ));
    rows.push(Row::new(
        &format!("retrieve_similar top-10 with {n} memories p99"),
        us(percentile(&lat, 0.99)),
        String::new(),
    ));
    let mut lat = Vec::new();
    for q in 0..50u64 {
        let text = format!("what do I know about {} and {}?", WORDS[q as usize % 24], WORDS[(q as usize * 5) % 24]);
        let (_, t) = timed(|| db.retrieve(q % agents, &text, 10, &opts).expect("retrieve"));
        lat.push(t);
    }
    lat.sort();
    rows.push(Row::new(
        "retrieve by text (embed query + search) p50",
        us(percentile(&lat, 0.5)),
        "built-in MiniLM".into(),
    ));
    // The first store after a reopen loads the exact-dedup index (one scan of
    // four narrow columns) and the agent's vectors (one scan of its group).
    drop(db);
    let db = AgentDb::open(&dir, quiet()).expect("reopen");
    let m = NewMemory::new(0, MemoryType::Semantic, "first after reopen").embedding(unit_vector(3 * n + 1));
    let (_, t) = timed(|| db.store_memory(m).expect("store"));
    rows.push(Row::new(
        &format!("store_memory, first after reopen, {n} memories"),
        us(t),
        "loads dedup index + one agent's vectors".into(),
    ));
    drop(db);
    store_keep_both(base, n, rows);
}

/// Batch stores under `keep_both`: exact duplicates only, no near-duplicate check.
pub fn store_keep_both(base: &Path, n: u64, rows: &mut Vec<Row>) {
    let agents = (n / 1000).max(1);
    let dir = base.join("memories_keep_both");
    let _ = std::fs::remove_dir_all(&dir);
    let db = AgentDb::open(&dir, Options { memory_merge_policy: MergePolicy::KeepBoth, ..quiet() }).expect("open");
    let (_, t) = timed(|| {
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let batch = chunk
                .iter()
                .map(|&i| {
                    NewMemory::new(i % agents, MemoryType::Semantic, format!("memory {i}: {}", sentence(i)))
                        .embedding(unit_vector(i))
                })
                .collect();
            db.store_memories(batch).expect("store");
        }
    });
    rows.push(Row::new(
        &format!("store {n} memories, keep_both (caller vectors)"),
        format!("{:.0} memories/s", n as f64 / t.as_secs_f64()),
        format!("{agents} agents, exact dedup only, batches of 1000"),
    ));
}

pub fn rag(base: &Path, n_chunks: u64, model_docs: u64, rows: &mut Vec<Row>) {
    let dir = base.join("rag");
    let _ = std::fs::remove_dir_all(&dir);
    let db = AgentDb::open(&dir, quiet()).expect("open");
    // Caller vectors: one chunk per document keeps the mapping simple.
    let (_, t) = timed(|| {
        for i in 0..n_chunks {
            let mut d = NewDocument::new(format!("d{i}"), sentence(i));
            d.chunk_vectors = Some(vec![unit_vector(i)]);
            db.index_document(d).expect("index");
        }
    });
    rows.push(Row::new(
        "ingest chunks, caller vectors",
        format!("{:.0} chunks/s", n_chunks as f64 / t.as_secs_f64()),
        format!("{n_chunks} chunks"),
    ));
    let (_, t) = timed(|| db.compact().expect("compact"));
    rows.push(Row::new("build FTS + indexes after ingest", format!("{:.1} s", t.as_secs_f64()), String::new()));
    let any = DocFilter::default();
    let mut lat = Vec::new();
    for q in 0..200u64 {
        let text = format!("{} {}", WORDS[q as usize % 24], WORDS[(q as usize * 7 + 3) % 24]);
        let v = unit_vector(q * 31 + 7);
        let (_, t) =
            timed(|| db.hybrid_search(&text, Some(&v), 10, Fusion::Weighted { alpha: 0.5 }, &any).expect("hybrid"));
        lat.push(t);
    }
    lat.sort();
    rows.push(Row::new(
        &format!("hybrid_search top-10 over {n_chunks} chunks p50"),
        us(percentile(&lat, 0.5)),
        "caller vector + BM25".into(),
    ));
    rows.push(Row::new(
        &format!("hybrid_search top-10 over {n_chunks} chunks p99"),
        us(percentile(&lat, 0.99)),
        String::new(),
    ));
    let mut lat = Vec::new();
    for q in 0..200u64 {
        let text = WORDS[q as usize % 24].to_string();
        let (_, t) = timed(|| db.full_text_search(&text, 10, &any).expect("fts"));
        lat.push(t);
    }
    lat.sort();
    rows.push(Row::new("full_text_search top-10 p50", us(percentile(&lat, 0.5)), String::new()));
    // The built-in model: real text, 512-char chunks.
    let (chunks, t) = timed(|| {
        let mut chunks = 0;
        for i in 0..model_docs {
            let text = (0..6).map(|k| sentence(i * 10 + k)).collect::<Vec<_>>().join(". ");
            chunks += db.index_document(NewDocument::new(format!("m{i}"), text)).expect("index").chunk_count as u64;
        }
        chunks
    });
    rows.push(Row::new(
        "ingest chunks, built-in model",
        format!("{:.0} chunks/s", chunks as f64 / t.as_secs_f64()),
        format!("{chunks} chunks of ≤512 chars, MiniLM on 2 cores"),
    ));
}

fn read_idx_gz(path: &Path) -> std::io::Result<(Vec<usize>, Vec<u8>)> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut raw)?;
    let dims = raw[3] as usize;
    let shape: Vec<usize> = (0..dims)
        .map(|d| u32::from_be_bytes(raw[4 + d * 4..8 + d * 4].try_into().expect("4 bytes")) as usize)
        .collect();
    Ok((shape, raw[4 + dims * 4..].to_vec()))
}

pub fn ann(base: &Path, queries: usize, max_rows: usize, rows: &mut Vec<Row>) {
    let train = Path::new(FASHION_MNIST_DIR).join("train-images-idx3-ubyte.gz");
    let test = Path::new(FASHION_MNIST_DIR).join("t10k-images-idx3-ubyte.gz");
    let (Ok((shape, train)), Ok((_, test))) = (read_idx_gz(&train), read_idx_gz(&test)) else {
        rows.push(Row::new(
            "ANN fashion-mnist",
            "skipped".into(),
            format!("install Debian's dataset-fashion-mnist ({FASHION_MNIST_DIR})"),
        ));
        return;
    };
    let dim = shape[1] * shape[2];
    let to_vecs = |bytes: &[u8]| -> Vec<Vec<f32>> {
        bytes.chunks(dim).map(|c| c.iter().map(|&b| b as f32 / 255.0).collect()).collect()
    };
    let data: Vec<Vec<f32>> = to_vecs(&train).into_iter().take(max_rows).collect();
    let qs: Vec<Vec<f32>> = to_vecs(&test).into_iter().take(queries).collect();
    // Exact ground truth by brute force.
    let (truth, t) = timed(|| {
        qs.iter()
            .map(|q| {
                let mut d: Vec<(f32, usize)> =
                    data.iter().enumerate().map(|(i, v)| (Metric::L2.distance(q, v), i)).collect();
                d.select_nth_unstable_by(10, |a, b| a.0.total_cmp(&b.0));
                d.truncate(10);
                d.into_iter().map(|(_, i)| format!("{i}")).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    });
    rows.push(Row::new(
        &format!("fashion-mnist {}×{dim}: brute-force ground truth", data.len()),
        format!("{:.1} s", t.as_secs_f64()),
        format!("{queries} queries"),
    ));
    let dir = base.join("ann");
    let _ = std::fs::remove_dir_all(&dir);
    let db = AgentDb::open(&dir, quiet()).expect("open");
    db.create_collection("fmnist", dim, Metric::L2).expect("create");
    let (_, t) = timed(|| {
        for (c, chunk) in data.chunks(5000).enumerate() {
            let recs = chunk
                .iter()
                .enumerate()
                .map(|(j, v)| VectorRecord {
                    id: format!("{}", c * 5000 + j),
                    vector: v.clone(),
                    metadata: BTreeMap::new(),
                })
                .collect();
            db.insert_vectors("fmnist", recs).expect("insert");
        }
        db.flush().expect("flush");
    });
    rows.push(Row::new(
        &format!("insert {} fashion-mnist vectors", data.len()),
        format!("{:.0} vectors/s", data.len() as f64 / t.as_secs_f64()),
        String::new(),
    ));
    let run = |label: &str, opts: &SearchOptions, rows: &mut Vec<Row>| {
        let mut hit = 0;
        let s = Instant::now();
        for (q, want) in qs.iter().zip(&truth) {
            let got = db.search_knn("fmnist", q, 10, opts).expect("knn");
            hit += got.iter().filter(|h| want.contains(&h.id)).count();
        }
        let qps = qs.len() as f64 / s.elapsed().as_secs_f64();
        let recall = hit as f64 / (qs.len() * 10) as f64;
        rows.push(Row::new(
            &format!("fashion-mnist k=10, {label}"),
            format!("recall@10 {recall:.3}, {qps:.0} QPS"),
            String::new(),
        ));
    };
    run("flat (no index)", &SearchOptions::default(), rows);
    let (_, t) = timed(|| db.create_vector_index("fmnist").expect("index"));
    rows.push(Row::new(
        &format!("build IVF-HNSW-SQ index ({}×{dim})", data.len()),
        format!("{:.1} s", t.as_secs_f64()),
        String::new(),
    ));
    for (nprobes, refine) in [(Some(1), None), (Some(10), None), (Some(20), Some(2))] {
        let label = format!(
            "IVF-HNSW-SQ nprobes={} refine={}",
            nprobes.unwrap_or(0),
            refine.map_or("-".into(), |r: u32| r.to_string())
        );
        run(&label, &SearchOptions { nprobes, refine_factor: refine, ..Default::default() }, rows);
    }
}

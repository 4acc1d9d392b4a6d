//! `cargo run --release -p agentdb-bench`: the state-subsystem benchmark.
//!
//! Everything runs in one process, one run: AgentDB's save path and, side by
//! side on the same machine and data, the same saves done as direct
//! per-record `lancedb` appends (what a naive LanceDB-backed agent store
//! does). Numbers are printed as a Markdown table with absolute figures and
//! ratios. Timing lives here, never in tests.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentdb::{AgentDb, FsyncPolicy, HistoryQuery, Options, StateType};
use arrow_array::{Int64Array, LargeBinaryArray, RecordBatch, StringArray, UInt32Array, UInt64Array};
use clap::Parser;

mod ffi;
mod subsystems;

#[derive(Parser)]
struct Args {
    /// Records in the large database used for open time, memory, cold reads and history.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Saves per throughput measurement (default fsync policy).
    #[arg(long, default_value_t = 200_000)]
    saves: u64,
    /// Saves per throughput measurement with fsync=always.
    #[arg(long, default_value_t = 20_000)]
    saves_always: u64,
    /// Per-record lancedb appends in the side-by-side baseline (each one is a Lance commit).
    #[arg(long, default_value_t = 1_000)]
    lance_appends: u64,
    /// Upserts through LanceDB's MemWAL in the side-by-side comparison.
    #[arg(long, default_value_t = 200)]
    memwal_upserts: u64,
    /// Payload bytes per state.
    #[arg(long, default_value_t = 256)]
    payload: usize,
    /// Small sizes for a smoke run.
    #[arg(long)]
    quick: bool,
    /// Which suites to run: state, memory, rag, ann, ffi (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "state,memory,rag,ann,ffi")]
    suites: Vec<String>,
    /// Memories in the retrieval benchmark.
    #[arg(long, default_value_t = 100_000)]
    memories: u64,
    /// Chunks in the hybrid-search benchmark.
    #[arg(long, default_value_t = 100_000)]
    chunks: u64,
    /// Documents embedded with the built-in model in the ingestion benchmark.
    #[arg(long, default_value_t = 100)]
    model_docs: u64,
    /// Queries in the fashion-mnist ANN benchmark.
    #[arg(long, default_value_t = 200)]
    ann_queries: usize,
    /// Hot load_state calls per side in the C ABI overhead suite.
    #[arg(long, default_value_t = 1_000_000)]
    ffi_calls: u64,
    /// Rows of fashion-mnist to load (all 60K by default).
    #[arg(long, default_value_t = 60_000)]
    ann_rows: usize,
    /// Where to put the databases (default: a temp dir).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

pub struct Row {
    metric: String,
    value: String,
    note: String,
}

impl Row {
    pub fn new(metric: &str, value: String, note: String) -> Row {
        eprintln!("{metric}: {value} {note}");
        Row { metric: metric.into(), value, note }
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn payload(n: usize, i: u64) -> Vec<u8> {
    let mut p = format!("{{\"step\":{i},\"note\":\"").into_bytes();
    p.resize(n.saturating_sub(2), b'x');
    p.extend_from_slice(b"\"}");
    p
}

fn quiet(fsync: FsyncPolicy) -> Options {
    Options { fsync, maintenance_interval: None, ..Options::default() }
}

/// Saves/s with `threads` writers, each on its own agents.
fn save_throughput(dir: &Path, fsync: FsyncPolicy, threads: u64, saves: u64, size: usize) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    let db = Arc::new(AgentDb::open(dir, quiet(fsync)).expect("open"));
    let per = saves / threads;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let data = payload(size, t);
                for i in 0..per {
                    db.save_state(t * 1_000_000 + i % 1000, 0, StateType::Context, &data).expect("save");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    let rate = (per * threads) as f64 / start.elapsed().as_secs_f64();
    db.close().expect("close");
    rate
}

fn lance_row(i: u64, data: &[u8]) -> RecordBatch {
    RecordBatch::try_new(
        agentdb::states::table::states_schema(),
        vec![
            Arc::new(UInt64Array::from(vec![i])),
            Arc::new(UInt64Array::from(vec![i % 1000])),
            Arc::new(UInt64Array::from(vec![0u64])),
            Arc::new(UInt64Array::from(vec![i / 1000 + 1])),
            Arc::new(Int64Array::from(vec![i as i64])),
            Arc::new(StringArray::from(vec!["context"])),
            Arc::new(LargeBinaryArray::from(vec![data])),
            Arc::new(StringArray::from(vec!["{}"])),
            Arc::new(UInt32Array::from(vec![crc32c::crc32c(data)])),
            Arc::new(StringArray::from(vec![None::<&str>])),
            Arc::new(StringArray::from(vec![None::<&str>])),
            Arc::new(StringArray::from(vec![agentdb::states::table::version_key(i % 1000, 0, i / 1000 + 1)])),
        ],
    )
    .expect("batch")
}

/// The naive alternative: one `table.add` (one Lance commit) per save.
fn lance_per_record_appends(dir: &Path, n: u64, size: usize) -> (f64, usize) {
    let _ = std::fs::remove_dir_all(dir);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conn = lancedb::connect(dir.to_str().expect("utf-8")).execute().await.expect("connect");
        let table =
            conn.create_empty_table("states", agentdb::states::table::states_schema()).execute().await.expect("create");
        let data = payload(size, 0);
        let start = Instant::now();
        for i in 0..n {
            table.add(lance_row(i, &data)).execute().await.expect("add");
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        let fragments = table.stats().await.expect("stats").fragment_stats.num_fragments;
        (rate, fragments)
    })
}

/// LanceDB's experimental LSM write path (MemWAL): one durable upsert per
/// save through `merge_insert`, as the docs describe it. Measured so the
/// choice of our own WAL rests on numbers (docs/ARCHITECTURE.md).
fn lance_memwal_upserts(dir: &Path, n: u64, size: usize) -> Result<(f64, Duration, Duration), String> {
    use arrow_array::RecordBatchIterator;
    use arrow_schema::{DataType, Field, Schema};
    let _ = std::fs::remove_dir_all(dir);
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("data", DataType::LargeBinary, false),
        ]));
        let data = payload(size, 0);
        let row = |id: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(vec![id])), Arc::new(LargeBinaryArray::from(vec![&data[..]]))],
            )
            .expect("batch")
        };
        let err = |e: lancedb::Error| e.to_string();
        let conn = lancedb::connect(dir.to_str().expect("utf-8")).execute().await.map_err(err)?;
        let table = conn.create_table("memwal", row(-1)).execute().await.map_err(err)?;
        table.set_unenforced_primary_key(["id"]).await.map_err(err)?;
        table.enable_rte(lancedb::table::RTEWriteSpec::unsharded()).await.map_err(err)?;
        let mut lat = Vec::new();
        let start = Instant::now();
        for i in 0..n as i64 {
            let s = Instant::now();
            let mut b = table.merge_insert(&[]);
            b.when_matched_update_all(None).when_not_matched_insert_all();
            let reader = RecordBatchIterator::new(vec![Ok(row(i))], schema.clone());
            b.execute(Box::new(reader)).await.map_err(err)?;
            lat.push(s.elapsed());
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        lat.sort();
        Ok((rate, percentile(&lat, 0.5), percentile(&lat, 0.99)))
    })
}

fn main() {
    let mut a = Args::parse();
    if a.quick {
        a.records = 20_000;
        a.saves = 5_000;
        a.saves_always = 500;
        a.lance_appends = 50;
        a.memwal_upserts = 20;
        a.memories = 3_000;
        a.chunks = 2_000;
        a.model_docs = 3;
        a.ann_queries = 10;
        a.ann_rows = 2_000;
        a.ffi_calls = 20_000;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&base).expect("bench dir");
    let mut rows: Vec<Row> = Vec::new();
    let wants = |s: &str| a.suites.iter().any(|x| x == s);
    if wants("state") {
        state_suite(&a, &base, &mut rows);
    }
    if wants("memory") {
        subsystems::memory(&base, a.memories, &mut rows);
    }
    if wants("rag") {
        subsystems::rag(&base, a.chunks, a.model_docs, &mut rows);
    }
    if wants("ann") {
        subsystems::ann(&base, a.ann_queries, a.ann_rows, &mut rows);
    }
    if wants("ffi") {
        ffi::ffi(&base, a.ffi_calls, &mut rows);
    }

    println!("| metric | value | note |");
    println!("|---|---|---|");
    for r in &rows {
        println!("| {} | {} | {} |", r.metric, r.value, r.note);
    }
    println!();
    println!(
        "machine: {} cores, {}; payload {} bytes; build: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                .split(':')
                .nth(1)
                .unwrap_or("")
                .trim()
                .to_string()))
            .unwrap_or_default(),
        a.payload,
        if cfg!(debug_assertions) { "debug (numbers not representative)" } else { "release" }
    );
}

/// The agent-state suite (issue 2).
fn state_suite(a: &Args, base: &Path, rows: &mut Vec<Row>) {
    let mut push = |metric: &str, value: String, note: String| rows.push(Row::new(metric, value, note));

    // 1. Save throughput, and the per-record lancedb baseline.
    let batch = FsyncPolicy::default();
    let t1 = save_throughput(&base.join("tp"), batch, 1, a.saves, a.payload);
    push("save_state, 1 writer, fsync=batch", format!("{t1:.0} saves/s"), String::new());
    let t2 = save_throughput(&base.join("tp"), batch, 2, a.saves, a.payload);
    push("save_state, 2 writers, fsync=batch", format!("{t2:.0} saves/s"), String::new());
    let ta1 = save_throughput(&base.join("tp"), FsyncPolicy::Always, 1, a.saves_always, a.payload);
    push("save_state, 1 writer, fsync=always", format!("{ta1:.0} saves/s"), String::new());
    let ta2 = save_throughput(&base.join("tp"), FsyncPolicy::Always, 2, a.saves_always, a.payload);
    push("save_state, 2 writers, fsync=always", format!("{ta2:.0} saves/s"), "group commit".into());
    let (lance, frags) = lance_per_record_appends(&base.join("lance-direct"), a.lance_appends, a.payload);
    push(
        "lancedb per-record append (baseline)",
        format!("{lance:.0} saves/s"),
        format!("{frags} fragments after {} appends", a.lance_appends),
    );
    push("ratio AgentDB(batch, 1 writer) ÷ lancedb per-record", format!("{:.0}×", t1 / lance), String::new());
    match lance_memwal_upserts(&base.join("memwal"), a.memwal_upserts, a.payload) {
        Ok((rate, p50, p99)) => {
            push(
                "lancedb MemWAL durable upsert (experimental LSM path)",
                format!("{rate:.0} saves/s"),
                format!("p50 {} p99 {}; no fsync on local disk", us(p50), us(p99)),
            );
            push("ratio AgentDB(batch, 1 writer) ÷ lancedb MemWAL", format!("{:.0}×", t1 / rate), String::new());
        }
        Err(e) => push("lancedb MemWAL durable upsert (experimental LSM path)", "failed".into(), e),
    }
    push(
        "ratio AgentDB(always, 1 writer) ÷ lancedb per-record",
        format!("{:.1}×", ta1 / lance),
        "AgentDB fsyncs every save; lancedb local commits never fsync".into(),
    );

    // 2. A large database: write, measure memory, reopen, cold and hot reads.
    let big = base.join("big");
    let _ = std::fs::remove_dir_all(&big);
    let agents = (a.records / 100).max(1);
    let rss_before = rss_mb();
    {
        let db = AgentDb::open(&big, quiet(batch)).expect("open big");
        let start = Instant::now();
        let data = payload(a.payload, 1);
        for i in 0..a.records {
            db.save_state(i % agents, 0, StateType::Context, &data).expect("save");
        }
        let el = start.elapsed();
        push(
            &format!("write {} states ({} agents × {} versions)", a.records, agents, a.records / agents),
            format!("{:.1} s", el.as_secs_f64()),
            format!("{:.0} saves/s incl. background flushes", a.records as f64 / el.as_secs_f64()),
        );
        let rss = rss_mb() - rss_before;
        push(
            &format!("resident memory growth, writer with {} records", a.records),
            format!("{rss:.0} MB"),
            "VmRSS delta".into(),
        );
        let start = Instant::now();
        db.compact().expect("compact");
        push("maintenance (flush + compact + index)", format!("{:.1} s", start.elapsed().as_secs_f64()), String::new());
        db.close().expect("close");
    }
    let rss_closed = rss_mb();
    let start = Instant::now();
    let db = AgentDb::open(&big, quiet(batch)).expect("reopen");
    let open_t = start.elapsed();
    push(
        &format!("open database with {} records", a.records),
        format!("{:.1} ms", open_t.as_secs_f64() * 1e3),
        String::new(),
    );

    let samples = 1000.min(agents);
    let mut cold = Vec::new();
    for k in 0..samples {
        let agent = (k * 7919) % agents;
        let s = Instant::now();
        db.load_state(agent, Some(0)).expect("cold load");
        cold.push(s.elapsed());
    }
    cold.sort();
    push("load_state latest, cold (from Lance) p50", us(percentile(&cold, 0.5)), format!("{samples} distinct agents"));
    push("load_state latest, cold (from Lance) p99", us(percentile(&cold, 0.99)), String::new());
    let mut hot = Vec::new();
    for k in 0..100_000u64 {
        let agent = ((k % samples) * 7919) % agents;
        let s = Instant::now();
        db.load_state(agent, Some(0)).expect("hot load");
        hot.push(s.elapsed());
    }
    hot.sort();
    push("load_state latest, hot (cache) p50", us(percentile(&hot, 0.5)), String::new());
    push("load_state latest, hot (cache) p99", us(percentile(&hot, 0.99)), String::new());
    let mut hist = Vec::new();
    for k in 0..200u64 {
        let s = Instant::now();
        let h = db.query_history(&HistoryQuery::new((k * 31) % agents).limit(10)).expect("history");
        hist.push(s.elapsed());
        assert_eq!(h.len() as u64, 10.min(a.records / agents));
    }
    hist.sort();
    push(
        "query_history (limit 10) p50",
        us(percentile(&hist, 0.5)),
        format!("{} versions per agent", a.records / agents),
    );
    push("query_history (limit 10) p99", us(percentile(&hist, 0.99)), String::new());
    push(
        &format!("resident memory growth, reader of {} records", a.records),
        format!("{:.0} MB", rss_mb() - rss_closed),
        "after open + reads".into(),
    );
    drop(db);
}

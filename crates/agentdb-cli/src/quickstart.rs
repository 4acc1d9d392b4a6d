//! `agentdb quickstart`: the main job. A guided run over a real embedded
//! database that shows what AgentDB does and how fast, step by step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentdb::{
    AgentDb, DocFilter, Error, FsyncPolicy, Fusion, HistoryQuery, MemoryType, Metric, NewDocument, NewMemory, Options,
    RetrieveOptions, SearchOptions, StateType,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

const AGENTS: u64 = 3;
const SESSIONS: u64 = 2;
const STEPS: u64 = 200;

pub fn spinner(msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(msg);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

struct Report {
    json: bool,
    steps: Vec<Value>,
}

impl Report {
    fn step(&mut self, name: &str, text: String, ms: f64, extra: Value) {
        if !self.json {
            println!("{:<34} {:>9.3} ms   {}", name, ms, text);
        }
        let mut v = json!({"step": name, "ms": ms, "detail": text});
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        self.steps.push(v);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn default_path() -> PathBuf {
    std::env::temp_dir().join(format!("agentdb-quickstart-{}", std::process::id()))
}

const FACTS: [(&str, MemoryType, f32); 8] = [
    ("The user prefers window seats on trains.", MemoryType::Semantic, 0.6),
    ("The user is allergic to peanuts.", MemoryType::Semantic, 0.95),
    ("Booked the 9:12 train to Lyon for the user last Tuesday.", MemoryType::Episodic, 0.5),
    ("To change a booking, cancel first, then rebook within 24 hours.", MemoryType::Procedural, 0.7),
    ("The user's daughter is called Mia and plays the violin.", MemoryType::Semantic, 0.6),
    ("用户周末喜欢去山里徒步。", MemoryType::Semantic, 0.5),
    ("Currently comparing three hotels near the Lyon station.", MemoryType::Working, 0.3),
    ("The user said the last hotel was too noisy.", MemoryType::Episodic, 0.7),
];

/// Our bundled mixed English/Chinese document set.
const DOCS_JSON: &str = include_str!("../data/quickstart-docs.json");

/// RAG: chunk + embed + index, then semantic, full-text (EN and ZH) and hybrid search.
fn documents(db: &AgentDb, r: &mut Report) -> Result<(), Error> {
    let docs: Vec<Value> = serde_json::from_str(DOCS_JSON).expect("bundled corpus is valid JSON");
    let t = Instant::now();
    let mut chunks = 0;
    for d in &docs {
        let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
        let info =
            db.index_document(NewDocument::new(s("doc_id"), s("text")).title(s("title")).metadata("lang", s("lang")))?;
        chunks += info.chunk_count;
    }
    r.step(
        "index documents",
        format!("{} documents (English and Chinese) → {chunks} chunks, embedded", docs.len()),
        ms(t.elapsed()),
        json!({"chunks": chunks}),
    );
    let any = DocFilter::default();
    let show = |hits: &[agentdb::ChunkHit]| -> String {
        hits.iter().map(|h| format!("{:.3} {}", h.score, h.chunk_id)).collect::<Vec<_>>().join(" | ")
    };
    let t = Instant::now();
    let hits = db.semantic_search("what should I do about a nut allergy on a plane?", 2, &any)?;
    r.step("semantic search", show(&hits), ms(t.elapsed()), json!({}));
    let t = Instant::now();
    let hits = db.full_text_search("window seats", 2, &any)?;
    r.step("full-text search (English)", show(&hits), ms(t.elapsed()), json!({}));
    let t = Instant::now();
    let hits = db.full_text_search("龙井茶", 2, &any)?;
    r.step("full-text search (中文)", show(&hits), ms(t.elapsed()), json!({}));
    let t = Instant::now();
    let hits = db.hybrid_search("高铁 train tickets", None, 3, Fusion::Weighted { alpha: 0.5 }, &any)?;
    r.step("hybrid search (alpha 0.5)", show(&hits), ms(t.elapsed()), json!({}));
    Ok(())
}

/// Vectors: a collection of 2,000 deterministic points, k-NN and range search.
fn vectors(db: &AgentDb, r: &mut Report) -> Result<(), Error> {
    let t = Instant::now();
    match db.create_collection("quickstart_points", 8, Metric::L2) {
        Ok(_) | Err(Error::AlreadyExists(_)) => {}
        Err(e) => return Err(e),
    }
    // splitmix64: deterministic, well-spread coordinates in [0, 1).
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let point =
        |i: u64| -> Vec<f32> { (0..8u64).map(|d| (mix(i * 8 + d) >> 40) as f32 / (1u64 << 24) as f32).collect() };
    let rows = (0..2000u64)
        .map(|i| agentdb::VectorRecord {
            id: format!("p{i}"),
            vector: point(i),
            metadata: [("parity".to_string(), (i % 2).to_string())].into(),
        })
        .collect();
    db.insert_vectors("quickstart_points", rows)?;
    r.step("insert 2,000 vectors", "collection quickstart_points (8 dims, L2)".into(), ms(t.elapsed()), json!({}));
    let t = Instant::now();
    let hits = db.search_knn("quickstart_points", &point(7), 3, &SearchOptions::default())?;
    r.step(
        "k-NN search (k=3)",
        hits.iter().map(|h| format!("{} at {:.3}", h.id, h.distance)).collect::<Vec<_>>().join(", "),
        ms(t.elapsed()),
        json!({}),
    );
    let t = Instant::now();
    let near =
        db.search_range("quickstart_points", &point(7), 0.6, 1000, &SearchOptions::default().metadata("parity", "1"))?;
    r.step("range search (r=0.6, odd ids)", format!("{} vectors", near.len()), ms(t.elapsed()), json!({}));
    Ok(())
}

/// Memories: the built-in model embeds facts, retrieval re-ranks them.
/// Returns whether the model is available.
fn memories(db: &AgentDb, r: &mut Report) -> Result<bool, Error> {
    let t = Instant::now();
    let stored = db.store_memories(FACTS.iter().map(|(c, k, i)| NewMemory::new(1, *k, *c).importance(*i)).collect());
    let ids = match stored {
        Ok(ids) => ids,
        Err(Error::ModelUnavailable(why)) => {
            r.step("memories and documents", format!("skipped: {why}"), ms(t.elapsed()), json!({}));
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    r.step(
        "store memories (built-in model)",
        format!("{} memories embedded by all-MiniLM-L6-v2 in-process (first call loads the model)", ids.len()),
        ms(t.elapsed()),
        json!({"memories": ids.len()}),
    );
    for query in ["what can't the user eat?", "where does the user like to sit?", "周末做什么"] {
        let t = Instant::now();
        let hits = db.retrieve(1, query, 2, &RetrieveOptions::default())?;
        let top: Vec<String> = hits.iter().map(|h| format!("{:.2} {}", h.score, h.memory.content)).collect();
        r.step(&format!("retrieve {query:?}"), top.join(" | "), ms(t.elapsed()), json!({"top": top}));
    }
    Ok(true)
}

pub fn run(path: Option<PathBuf>, json: bool, fsync: FsyncPolicy) -> Result<(), Error> {
    let path = path.unwrap_or_else(default_path);
    let mut r = Report { json, steps: Vec::new() };
    if !json {
        println!("AgentDB quickstart — database at {}", path.display());
        println!("{:<34} {:>12}   what happened", "step", "time");
    }
    let opts = Options { fsync, ..Options::default() };

    let t = Instant::now();
    let db = AgentDb::open(&path, opts.clone())?;
    r.step("open database", format!("created or reopened {}", path.display()), ms(t.elapsed()), json!({}));

    // Agents run sessions and checkpoint their working state after each step.
    let total = AGENTS * SESSIONS * STEPS;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("  saving states {bar:30} {pos}/{len} {per_sec}").expect("valid template"),
    );
    let t = Instant::now();
    for step in 1..=STEPS {
        for agent in 1..=AGENTS {
            for session in 1..=SESSIONS {
                let state = json!({
                    "agent": agent, "session": session, "step": step,
                    "goal": format!("plan trip #{agent}"),
                    "scratchpad": format!("thought {step}: compare options for leg {}", step % 7),
                });
                let kind = if step % 10 == 0 { StateType::TaskState } else { StateType::WorkingMemory };
                db.save_state(agent, session, kind, state.to_string().as_bytes())?;
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let el = t.elapsed();
    r.step(
        "save states",
        format!(
            "{total} versions from {AGENTS} agents × {SESSIONS} sessions, {:.0} saves/s",
            total as f64 / el.as_secs_f64()
        ),
        ms(el),
        json!({"saves": total, "saves_per_s": total as f64 / el.as_secs_f64()}),
    );

    let t = Instant::now();
    let latest = db.load_state(2, Some(1))?;
    let hot = t.elapsed();
    r.step(
        "load latest (hot, from cache)",
        format!("agent 2 session 1 → v{} {}", latest.version, String::from_utf8_lossy(&latest.data)),
        ms(hot),
        json!({"version": latest.version}),
    );

    let t = Instant::now();
    let old = db.load_state_version(2, 1, 42)?;
    r.step(
        "load historic version",
        format!(
            "agent 2 session 1 v42: step {}",
            serde_json::from_slice::<Value>(&old.data).map(|v| v["step"].clone()).unwrap_or_default()
        ),
        ms(t.elapsed()),
        json!({}),
    );

    let t = Instant::now();
    let hist = db.query_history(&HistoryQuery::new(1).session(2).limit(5))?;
    r.step(
        "history (newest 5)",
        format!("agent 1 session 2 versions {:?}", hist.iter().map(|s| s.version).collect::<Vec<_>>()),
        ms(t.elapsed()),
        json!({"versions": hist.iter().map(|s| s.version).collect::<Vec<_>>()}),
    );

    // Snapshot before a risky plan, let the agent go wrong, roll back.
    let t = Instant::now();
    let snap_name = format!("before-risky-plan-{}", latest.version);
    let snap = db.create_snapshot(1, 1, &snap_name)?;
    r.step(
        "create snapshot",
        format!("{:?} → agent 1 session 1 v{}", snap.name, snap.version),
        ms(t.elapsed()),
        json!({}),
    );
    for i in 0..3 {
        db.save_state(1, 1, StateType::WorkingMemory, format!("{{\"hallucination\": {i}}}").as_bytes())?;
    }
    let t = Instant::now();
    let restored = db.restore_snapshot(1, &snap_name)?;
    r.step(
        "restore snapshot (rollback)",
        format!("v{} now holds v{}'s data; history keeps the 3 bad versions", restored.version, snap.version),
        ms(t.elapsed()),
        json!({"restored_version": restored.version}),
    );

    if memories(&db, &mut r)? {
        documents(&db, &mut r)?;
    }
    vectors(&db, &mut r)?;

    let t = Instant::now();
    let flush = db.flush()?;
    r.step(
        "flush to LanceDB",
        format!(
            "everything up to LSN {} is in Lance (this batch: {} states; the background flusher wrote the rest); WAL segments retired: {}",
            flush.flushed_lsn, flush.states, flush.wal_segments_retired
        ),
        ms(t.elapsed()),
        json!({}),
    );
    db.close()?;
    drop(db);

    let t = Instant::now();
    let db = AgentDb::open(&path, opts)?;
    r.step("reopen database", "every write is back".to_string(), ms(t.elapsed()), json!({}));
    let t = Instant::now();
    let again = db.load_state(1, Some(1))?;
    let cold = t.elapsed();
    assert_eq!(again.data, restored.data, "persisted state must match");
    r.step(
        "load latest (cold, from Lance)",
        format!("agent 1 session 1 → v{} (the restored state), checksum verified", again.version),
        ms(cold),
        json!({}),
    );
    let t = Instant::now();
    let again_hot = db.load_state(1, Some(1))?;
    r.step("load latest (hot again)", format!("v{}", again_hot.version), ms(t.elapsed()), json!({}));

    let t = Instant::now();
    let m = db.compact()?;
    let states_tbl = m.tables.iter().find(|t| t.table == "states");
    r.step(
        "maintenance (compact/index/prune)",
        format!(
            "states: fragments -{} +{}{}",
            states_tbl.map_or(0, |t| t.fragments_removed),
            states_tbl.map_or(0, |t| t.fragments_added),
            if states_tbl.is_some_and(|t| t.index_created) { ", agent_id index built" } else { "" }
        ),
        ms(t.elapsed()),
        json!({}),
    );
    let stats = db.stats()?;
    if json {
        println!("{}", json!({"path": path, "steps": r.steps, "stats": stats}));
    } else {
        for t in &stats.tables {
            println!(
                "  table {:<10} {:>6} rows  {:>3} fragment(s)  {:>8} bytes on disk",
                t.name, t.rows, t.fragments, t.disk_bytes
            );
        }
        println!("Done. Explore it: agentdb --path {} state history --agent 1 --session 1 --limit 5", path.display());
    }
    Ok(())
}

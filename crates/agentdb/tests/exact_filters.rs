//! Filtered searches are exact (issue 13): a search with a filter returns
//! min(k, matching live rows) results, and they are the true top k among
//! the matches — before and after a flush, after compaction and reopen, with
//! deletes and patches pending. A randomized reference model checks every
//! filtered memory search against brute force over the live memories; the
//! named tests are the reported cases.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use agentdb::{
    AgentDb, DocFilter, Fusion, MemoryFilter, MemoryType, MergePolicy, Metric, NewDocument, NewMemory, Options,
    RetrieveOptions, SearchOptions, VectorRecord,
};

const DIM: usize = 16;

fn opts() -> Options {
    Options {
        memory_dimension: DIM,
        flush_interval: Duration::from_secs(3600),
        maintenance_interval: None,
        memory_merge_policy: MergePolicy::KeepBoth,
        ..Options::default()
    }
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.into_iter().map(|x| x / n).collect()
}

fn random_unit(rng: &mut fastrand::Rng) -> Vec<f32> {
    unit((0..DIM).map(|_| rng.f32() * 2.0 - 1.0).collect())
}

/// A unit vector near `centre`: cosine to it falls as `spread` grows.
fn near(rng: &mut fastrand::Rng, centre: &[f32], spread: f32) -> Vec<f32> {
    unit(centre.iter().map(|x| x + spread * (rng.f32() * 2.0 - 1.0)).collect())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Retrieval that depends on nothing but the stored values (no recency, no
/// access writes), so the model can compute it.
fn timeless(filter: MemoryFilter, candidate_factor: usize) -> RetrieveOptions {
    RetrieveOptions { filter, recency_weight: 0.0, candidate_factor, record_access: false, ..Default::default() }
}

/// Compares ranked (id, score) lists: the same ids in the same order, except
/// that ids may differ where their scores tie (within float error of Lance's
/// cosine against ours).
fn assert_same_ranking(what: &str, got: &[(u64, f32)], want: &[(u64, f32)]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} results, want {}\n got {got:?}\nwant {want:?}",
        got.len(),
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g.1 - w.1).abs() < 1e-4, "{what}: score #{i} {} want {}\n got {got:?}\nwant {want:?}", g.1, w.1);
        if g.0 != w.0 {
            let tied = want.iter().any(|(id, s)| *id == g.0 && (s - g.1).abs() < 1e-4);
            assert!(tied, "{what}: #{i} is {} want {}\n got {got:?}\nwant {want:?}", g.0, w.0);
        }
    }
}

// ---------------------------------------------------------------------------
// The reference model of memories.

#[derive(Clone, Debug)]
struct ModelMemory {
    agent: u64,
    memory_type: MemoryType,
    vector: Vec<f32>,
    importance: f32,
    metadata: BTreeMap<String, String>,
    pinned: bool,
    /// Stored with a TTL that has run out: visible only while pinned.
    expired: bool,
    created_at_ms: i64,
}

impl ModelMemory {
    fn visible(&self) -> bool {
        self.pinned || !self.expired
    }
    fn matches(&self, agent: u64, f: &MemoryFilter) -> bool {
        self.agent == agent
            && self.visible()
            && (f.memory_types.is_empty() || f.memory_types.contains(&self.memory_type))
            && f.created_after_ms.is_none_or(|t| self.created_at_ms >= t)
            && f.created_before_ms.is_none_or(|t| self.created_at_ms <= t)
            && f.metadata.iter().all(|(k, v)| self.metadata.get(k) == Some(v))
    }
}

/// `retrieve_similar` by brute force: the `limit × factor` most similar
/// matches (ties: newer id first), re-ranked by relevance and importance.
fn model_retrieve(
    model: &HashMap<u64, ModelMemory>,
    agent: u64,
    query: &[f32],
    limit: usize,
    o: &RetrieveOptions,
) -> Vec<(u64, f32)> {
    let mut c: Vec<(u64, f32, f32)> = model
        .iter()
        .filter(|(_, m)| m.matches(agent, &o.filter))
        .map(|(id, m)| (*id, cosine(query, &m.vector), m.importance))
        .collect();
    c.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    c.truncate(limit * o.candidate_factor);
    let mut scored: Vec<(u64, f32)> = c
        .into_iter()
        .map(|(id, sim, imp)| (id, o.relevance_weight * sim.clamp(0.0, 1.0) + o.importance_weight * imp))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.truncate(limit);
    scored
}

fn engine_retrieve(db: &AgentDb, agent: u64, query: &[f32], limit: usize, o: &RetrieveOptions) -> Vec<(u64, f32)> {
    db.retrieve_similar(agent, query, limit, o).unwrap().into_iter().map(|s| (s.memory.memory_id, s.score)).collect()
}

const COLORS: [&str; 3] = ["red", "green", "blue"];
/// Metadata values that a filter built by pasting text would get wrong.
const AWKWARD: [&str; 6] = ["it's", "a\"b", "x\":\"y", "back\\slash", "%_", "日本語"];

fn random_filter(rng: &mut fastrand::Rng, model: &HashMap<u64, ModelMemory>) -> MemoryFilter {
    let mut f = MemoryFilter::default();
    if rng.u8(0..4) == 0 {
        f.memory_types = vec![if rng.bool() { MemoryType::Semantic } else { MemoryType::Episodic }];
    }
    match rng.u8(0..10) {
        0..=3 => f = f.metadata("color", COLORS[rng.usize(0..COLORS.len())]),
        4..=5 => f = f.metadata("tag", AWKWARD[rng.usize(0..AWKWARD.len())]),
        6 => f = f.metadata("color", "absent"),
        7 => f = f.metadata("color", COLORS[rng.usize(0..COLORS.len())]).metadata("rare", "yes"),
        _ => {}
    }
    if rng.u8(0..6) == 0 && !model.is_empty() {
        let ids: Vec<&u64> = model.keys().collect();
        f.created_after_ms = Some(model[ids[rng.usize(0..ids.len())]].created_at_ms);
    }
    f
}

fn random_new_memory(rng: &mut fastrand::Rng, serial: &mut u64, centres: &[Vec<f32>]) -> NewMemory {
    *serial += 1;
    let agent = 1 + rng.u64(0..2);
    let t = if rng.bool() { MemoryType::Semantic } else { MemoryType::Episodic };
    let c = rng.usize(0..centres.len());
    let v = near(rng, &centres[c], 0.6);
    let mut m = NewMemory::new(agent, t, format!("memory {serial}")).embedding(v).importance(rng.f32());
    if rng.u8(0..10) < 7 {
        m = m.metadata("color", COLORS[rng.usize(0..COLORS.len())]);
    }
    if rng.u8(0..10) < 3 {
        m = m.metadata("tag", AWKWARD[rng.usize(0..AWKWARD.len())]);
    }
    if rng.u8(0..20) == 0 {
        m = m.metadata("rare", "yes");
    }
    // Keys that contain the filter's pair inside them: false matches for a
    // substring prefilter, which the engine must confirm away.
    if rng.u8(0..10) == 0 {
        m = m.metadata("x\"color", "red");
    }
    m
}

fn to_model(db: &AgentDb, id: u64, new: &NewMemory, expired: bool) -> ModelMemory {
    ModelMemory {
        agent: new.agent_id,
        memory_type: new.memory_type,
        vector: new.embedding.clone().unwrap(),
        importance: new.importance,
        metadata: new.metadata.clone(),
        pinned: false,
        expired,
        created_at_ms: if expired { 0 } else { db.get_memory(id).unwrap().created_at_ms },
    }
}

fn check_all_queries(
    db: &AgentDb,
    rng: &mut fastrand::Rng,
    model: &HashMap<u64, ModelMemory>,
    centres: &[Vec<f32>],
    step: &str,
    n: usize,
) {
    for q in 0..n {
        let agent = 1 + rng.u64(0..2);
        let c = rng.usize(0..centres.len());
        let query = near(rng, &centres[c], 0.8);
        let limit = 1 + rng.usize(0..12);
        let o = timeless(random_filter(rng, model), 1 + rng.usize(0..4));
        let want = model_retrieve(model, agent, &query, limit, &o);
        let got = engine_retrieve(db, agent, &query, limit, &o);
        assert_same_ranking(&format!("{step} query {q} agent {agent} limit {limit} {:?}", o.filter), &got, &want);
    }
}

#[test]
fn filtered_memory_retrieval_matches_a_brute_force_model() {
    for seed in [13, 1313] {
        run_memory_model(seed);
    }
}

fn run_memory_model(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut db = AgentDb::open(dir.path(), opts()).unwrap();
    let centres: Vec<Vec<f32>> = (0..4).map(|_| random_unit(&mut rng)).collect();
    let mut model: HashMap<u64, ModelMemory> = HashMap::new();
    let mut serial = 0;

    // Memories whose TTL runs out: half pinned first, so that they stay
    // visible (a pinned memory never expires) until a later unpin.
    let batch: Vec<NewMemory> =
        (0..40).map(|_| random_new_memory(&mut rng, &mut serial, &centres).ttl(Duration::from_millis(800))).collect();
    let ids = db.store_memories(batch.clone()).unwrap();
    for (id, new) in ids.iter().zip(&batch) {
        let mut m = to_model(&db, *id, new, true);
        if rng.bool() {
            db.pin_memory(*id).unwrap();
            m.pinned = true;
        }
        model.insert(*id, m);
    }
    std::thread::sleep(Duration::from_millis(900));

    for step in 0..90 {
        match rng.u8(0..100) {
            0..=29 => {
                let batch: Vec<NewMemory> =
                    (0..1 + rng.usize(0..60)).map(|_| random_new_memory(&mut rng, &mut serial, &centres)).collect();
                let ids = db.store_memories(batch.clone()).unwrap();
                for (id, new) in ids.iter().zip(&batch) {
                    assert!(!model.contains_key(id), "keep_both and distinct texts: every store is new");
                    model.insert(*id, to_model(&db, *id, new, false));
                }
            }
            30..=44 => {
                // Delete the memories nearest to a point: the ones a search
                // there would rank first.
                let centre = &centres[rng.usize(0..centres.len())];
                let mut live: Vec<(u64, f32)> =
                    model.iter().filter(|(_, m)| m.visible()).map(|(id, m)| (*id, cosine(centre, &m.vector))).collect();
                live.sort_by(|a, b| b.1.total_cmp(&a.1));
                for (id, _) in live.into_iter().take(rng.usize(1..25)) {
                    db.delete_memory(id).unwrap();
                    model.remove(&id);
                }
            }
            45..=54 => {
                let ids: Vec<u64> = model.iter().filter(|(_, m)| m.visible()).map(|(id, _)| *id).collect();
                for _ in 0..rng.usize(1..10) {
                    if ids.is_empty() {
                        break;
                    }
                    let id = ids[rng.usize(0..ids.len())];
                    let imp = rng.f32();
                    db.update_memory_importance(id, imp).unwrap();
                    model.get_mut(&id).unwrap().importance = imp;
                }
            }
            55..=62 => {
                let ids: Vec<u64> = model.iter().filter(|(_, m)| m.visible()).map(|(id, _)| *id).collect();
                if !ids.is_empty() {
                    let id = ids[rng.usize(0..ids.len())];
                    let m = model.get_mut(&id).unwrap();
                    if m.pinned {
                        db.unpin_memory(id).unwrap();
                    } else {
                        db.pin_memory(id).unwrap();
                    }
                    m.pinned = !m.pinned;
                }
            }
            63..=72 => {
                db.flush().unwrap();
            }
            73..=76 => {
                db.compact().unwrap();
            }
            77..=79 => {
                drop(db);
                db = AgentDb::open(dir.path(), opts()).unwrap();
            }
            _ => {}
        }
        check_all_queries(&db, &mut rng, &model, &centres, &format!("seed {seed} step {step}"), 3);
    }
}

// ---------------------------------------------------------------------------
// The reported cases.

/// 3,001 memories of one agent; the one with `project = apollo` is the
/// least similar to the query. Found before and after flush, compaction
/// and reopen.
#[test]
fn a_metadata_match_ranked_below_the_candidates_is_found_after_flush() {
    let mut rng = fastrand::Rng::with_seed(1);
    let dir = tempfile::tempdir().unwrap();
    let mut db = AgentDb::open(dir.path(), opts()).unwrap();
    let query = random_unit(&mut rng);
    let far: Vec<f32> = query.iter().map(|x| -x).collect();
    let mut batch: Vec<NewMemory> = (0..3000)
        .map(|i| NewMemory::new(1, MemoryType::Semantic, format!("close {i}")).embedding(near(&mut rng, &query, 0.3)))
        .collect();
    batch.push(NewMemory::new(1, MemoryType::Semantic, "the far one").embedding(far).metadata("project", "apollo"));
    let ids: Vec<u64> = batch.chunks(1000).flat_map(|c| db.store_memories(c.to_vec()).unwrap()).collect();
    let target = *ids.last().unwrap();
    let o = timeless(MemoryFilter::default().metadata("project", "apollo"), 3);
    let check = |db: &AgentDb, when: &str| {
        let got = db.retrieve_similar(1, &query, 5, &o).unwrap();
        assert_eq!(got.iter().map(|s| s.memory.memory_id).collect::<Vec<_>>(), vec![target], "{when}");
        let none = timeless(MemoryFilter::default().metadata("project", "gemini"), 3);
        assert!(db.retrieve_similar(1, &query, 5, &none).unwrap().is_empty(), "{when}");
    };
    check(&db, "before the flush");
    db.flush().unwrap();
    check(&db, "after the flush");
    db.compact().unwrap();
    check(&db, "after compaction");
    drop(db);
    db = AgentDb::open(dir.path(), opts()).unwrap();
    check(&db, "after reopen");
}

/// 3,000 memories; the 45 (then 100) nearest to the query are deleted and
/// not yet flushed: retrieve(k = 5) returns the 5 best live ones.
#[test]
fn deleting_the_nearest_memories_does_not_crowd_out_the_rest() {
    let mut rng = fastrand::Rng::with_seed(2);
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let query = random_unit(&mut rng);
    let batch: Vec<NewMemory> = (0..3000)
        .map(|i| {
            NewMemory::new(1, MemoryType::Semantic, format!("m {i}"))
                .embedding(near(&mut rng, &query, 0.5))
                .importance(0.0)
        })
        .collect();
    let ids: Vec<u64> = batch.chunks(1000).flat_map(|c| db.store_memories(c.to_vec()).unwrap()).collect();
    let mut model: HashMap<u64, ModelMemory> = ids
        .iter()
        .zip(&batch)
        .map(|(id, new)| {
            let m = ModelMemory {
                agent: 1,
                memory_type: MemoryType::Semantic,
                vector: new.embedding.clone().unwrap(),
                importance: 0.0,
                metadata: BTreeMap::new(),
                pinned: false,
                expired: false,
                created_at_ms: 0,
            };
            (*id, m)
        })
        .collect();
    let o = timeless(MemoryFilter::default(), 1);
    let mut by_similarity: Vec<(u64, f32)> = model.iter().map(|(id, m)| (*id, cosine(&query, &m.vector))).collect();
    by_similarity.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The memories are in Lance; the deletes stay in the memtable.
    db.flush().unwrap();
    let mut deleted = 0;
    for upto in [45, 100] {
        for (id, _) in &by_similarity[deleted..upto] {
            db.delete_memory(*id).unwrap();
            model.remove(id);
        }
        deleted = upto;
        let want = model_retrieve(&model, 1, &query, 5, &o);
        assert_eq!(want.len(), 5);
        assert_same_ranking(&format!("{upto} deleted, unflushed"), &engine_retrieve(&db, 1, &query, 5, &o), &want);
        db.flush().unwrap();
        assert_same_ranking(&format!("{upto} deleted, flushed"), &engine_retrieve(&db, 1, &query, 5, &o), &want);
    }
}

// ---------------------------------------------------------------------------
// Documents.

/// A one-chunk document (short text) with a caller vector.
fn doc(id: &str, text: &str, v: Vec<f32>) -> NewDocument {
    NewDocument { chunk_vectors: Some(vec![v]), ..NewDocument::new(id, text) }
}

/// 300 documents; the one with `lang = zh` is the least similar to the
/// query and the weakest full-text match. Every search mode finds it
/// through the metadata filter, before and after flush and reopen.
#[test]
fn a_document_metadata_filter_finds_the_matching_chunk_in_every_search() {
    let mut rng = fastrand::Rng::with_seed(3);
    let dir = tempfile::tempdir().unwrap();
    let mut db = AgentDb::open(dir.path(), opts()).unwrap();
    let query = random_unit(&mut rng);
    for i in 0..300 {
        let d =
            doc(&format!("d{i}"), &format!("harbour report {i}"), near(&mut rng, &query, 0.3)).metadata("lang", "en");
        db.index_document(d).unwrap();
    }
    let far: Vec<f32> = query.iter().map(|x| -x).collect();
    let long = format!("harbour {}", "filler words about nothing in particular ".repeat(8));
    db.index_document(doc("target", &long, far).metadata("lang", "zh").metadata("quote", "it's \"x\"")).unwrap();
    let check = |db: &AgentDb, when: &str| {
        for f in [
            DocFilter { metadata: BTreeMap::from([("lang".into(), "zh".into())]), ..Default::default() },
            DocFilter { metadata: BTreeMap::from([("quote".into(), "it's \"x\"".into())]), ..Default::default() },
        ] {
            let sem = db.semantic_search_vector(&query, 5, &f).unwrap();
            assert_eq!(sem.iter().map(|h| h.doc_id.as_str()).collect::<Vec<_>>(), ["target"], "semantic, {when}");
            let fts = db.full_text_search("harbour", 5, &f).unwrap();
            assert_eq!(fts.iter().map(|h| h.doc_id.as_str()).collect::<Vec<_>>(), ["target"], "full text, {when}");
            let hybrid = db.hybrid_search("harbour", Some(&query), 5, Fusion::ReciprocalRank, &f).unwrap();
            assert_eq!(hybrid.iter().map(|h| h.doc_id.as_str()).collect::<Vec<_>>(), ["target"], "hybrid, {when}");
        }
        let none = DocFilter { metadata: BTreeMap::from([("lang".into(), "fr".into())]), ..Default::default() };
        assert!(db.semantic_search_vector(&query, 5, &none).unwrap().is_empty(), "{when}");
        // Without a filter the nearest come first, as before.
        let all = db.semantic_search_vector(&query, 5, &DocFilter::default()).unwrap();
        assert_eq!(all.len(), 5, "{when}");
        assert!(all.iter().all(|h| h.doc_id != "target"), "{when}");
    };
    check(&db, "before the flush");
    db.flush().unwrap();
    check(&db, "after the flush");
    db.compact().unwrap();
    check(&db, "after compaction");
    drop(db);
    db = AgentDb::open(dir.path(), opts()).unwrap();
    check(&db, "after reopen");
}

/// Unflushed re-indexed and deleted documents near the query never take
/// the places of live matches.
#[test]
fn pending_document_deletes_do_not_crowd_out_semantic_results() {
    let mut rng = fastrand::Rng::with_seed(4);
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let query = random_unit(&mut rng);
    let mut vectors: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    for i in 0..400 {
        let v = near(&mut rng, &query, 0.5);
        db.index_document(doc(&format!("d{i}"), &format!("text {i}"), v.clone()).metadata("k", "v")).unwrap();
        vectors.insert(format!("d{i}"), v);
    }
    db.flush().unwrap();
    let mut ranked: Vec<(String, f32)> = vectors.iter().map(|(d, v)| (d.clone(), cosine(&query, v))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (d, _) in &ranked[..150] {
        db.delete_document(d).unwrap();
        vectors.remove(d);
    }
    let f = DocFilter { metadata: BTreeMap::from([("k".into(), "v".into())]), ..Default::default() };
    let want: Vec<String> = ranked[150..155].iter().map(|(d, _)| d.clone()).collect();
    for when in ["unflushed", "flushed"] {
        let got: Vec<String> =
            db.semantic_search_vector(&query, 5, &f).unwrap().into_iter().map(|h| h.doc_id).collect();
        assert_eq!(got, want, "{when}");
        db.flush().unwrap();
    }
}

// ---------------------------------------------------------------------------
// Vector collections.

fn brute_force_knn(
    data: &BTreeMap<String, (Vec<f32>, BTreeMap<String, String>)>,
    q: &[f32],
    k: usize,
    f: &SearchOptions,
) -> Vec<(String, f32)> {
    let mut all: Vec<(String, f32)> = data
        .iter()
        .filter(|(_, (_, m))| f.metadata.iter().all(|(key, v)| m.get(key) == Some(v)))
        .map(|(id, (v, _))| (id.clone(), Metric::Cosine.distance(q, v)))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn assert_same_hits(what: &str, got: &[(String, f32)], want: &[(String, f32)]) {
    assert_eq!(got.len(), want.len(), "{what}\n got {got:?}\nwant {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g.1 - w.1).abs() < 1e-4, "{what}: #{i}\n got {got:?}\nwant {want:?}");
        assert!(g.0 == w.0 || want.iter().any(|(id, d)| *id == g.0 && (d - g.1).abs() < 1e-4), "{what}: #{i}");
    }
}

/// 3,000 vectors; one with a rare tag, the least similar to the query; the
/// 45 nearest deleted. Exact with pending deletes, after the flush, and
/// after maintenance built the ANN index.
#[test]
fn collection_filters_and_deletes_are_exact_with_and_without_an_index() {
    let mut rng = fastrand::Rng::with_seed(5);
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { ann_index_threshold: 1000, ..opts() }).unwrap();
    db.create_collection("c", DIM, Metric::Cosine).unwrap();
    let query = random_unit(&mut rng);
    let mut data: BTreeMap<String, (Vec<f32>, BTreeMap<String, String>)> = BTreeMap::new();
    let mut rows = Vec::new();
    for i in 0..3000 {
        let v = near(&mut rng, &query, 0.5);
        let meta = BTreeMap::from([("group".to_string(), format!("g{}", i % 7))]);
        rows.push(VectorRecord { id: format!("v{i}"), vector: v.clone(), metadata: meta.clone() });
        data.insert(format!("v{i}"), (v, meta));
    }
    let far: Vec<f32> = query.iter().map(|x| -x).collect();
    let meta = BTreeMap::from([("group".to_string(), "rare \"one\"".to_string())]);
    rows.push(VectorRecord { id: "far".into(), vector: far.clone(), metadata: meta.clone() });
    data.insert("far".into(), (far, meta));
    db.insert_vectors("c", rows).unwrap();
    db.flush().unwrap();
    let nearest: Vec<String> =
        brute_force_knn(&data, &query, 45, &SearchOptions::default()).into_iter().map(|(id, _)| id).collect();
    for id in &nearest {
        db.delete_vector("c", id).unwrap();
        data.remove(id);
    }
    let filters = [
        SearchOptions::default(),
        SearchOptions::default().metadata("group", "rare \"one\""),
        SearchOptions::default().metadata("group", "g3"),
        SearchOptions::default().metadata("group", "none"),
    ];
    // With an ANN index an unfiltered search is approximate (SPEC): only
    // its length and the absence of deleted vectors are checked then.
    type Data = BTreeMap<String, (Vec<f32>, BTreeMap<String, String>)>;
    let check = |db: &AgentDb, data: &Data, when: &str, indexed: bool| {
        for f in &filters {
            for k in [1, 5, 50] {
                let want = brute_force_knn(data, &query, k, f);
                let got: Vec<(String, f32)> =
                    db.search_knn("c", &query, k, f).unwrap().into_iter().map(|h| (h.id, h.distance)).collect();
                if indexed && f.metadata.is_empty() {
                    assert_eq!(got.len(), want.len(), "{when}, k {k}");
                    assert!(got.iter().all(|(id, _)| data.contains_key(id)), "{when}, k {k}: {got:?}");
                } else {
                    assert_same_hits(&format!("{when}, k {k}, {:?}", f.metadata), &got, &want);
                }
            }
        }
        for f in &filters[1..] {
            let r = 1.0;
            let mut want = brute_force_knn(data, &query, usize::MAX, f);
            want.retain(|(_, d)| *d <= r);
            want.truncate(20);
            let got: Vec<(String, f32)> =
                db.search_range("c", &query, r, 20, f).unwrap().into_iter().map(|h| (h.id, h.distance)).collect();
            assert_same_hits(&format!("{when}, range, {:?}", f.metadata), &got, &want);
        }
    };
    check(&db, &data, "deletes pending", false);
    db.flush().unwrap();
    check(&db, &data, "flushed", false);
    let report = db.compact().unwrap();
    assert!(report.tables.iter().any(|t| t.table == "vec_c" && t.index_created), "{report:?}");
    check(&db, &data, "indexed", true);
    // Deletes and new rows pending over the indexed table.
    let again: Vec<String> = brute_force_knn(&data, &query, 20, &filters[2]).into_iter().map(|(id, _)| id).collect();
    for id in &again {
        db.delete_vector("c", id).unwrap();
        data.remove(id);
    }
    check(&db, &data, "indexed, deletes pending", true);
    db.flush().unwrap();
    check(&db, &data, "indexed, flushed", true);
}

// ---------------------------------------------------------------------------
// The reference model of documents and collections.

const LANGS: [&str; 3] = ["en", "zh", "fr"];
const TOPICS: [&str; 3] = ["harbour", "garden", "engine"];

#[derive(Clone, Debug)]
struct ModelDoc {
    vector: Vec<f32>,
    metadata: BTreeMap<String, String>,
    topic: &'static str,
}

fn random_doc_filter(rng: &mut fastrand::Rng, docs: &BTreeMap<String, ModelDoc>) -> DocFilter {
    let mut f = DocFilter::default();
    match rng.u8(0..6) {
        0..=2 => {
            f.metadata.insert("lang".into(), LANGS[rng.usize(0..LANGS.len())].into());
        }
        3 => {
            f.metadata.insert("tag".into(), AWKWARD[rng.usize(0..AWKWARD.len())].into());
        }
        _ => {}
    }
    if rng.u8(0..4) == 0 && !docs.is_empty() {
        let ids: Vec<&String> = docs.keys().collect();
        f.doc_ids = (0..rng.usize(1..20)).map(|_| ids[rng.usize(0..ids.len())].clone()).collect();
    }
    f
}

fn doc_matches(f: &DocFilter, id: &str, d: &ModelDoc) -> bool {
    (f.doc_ids.is_empty() || f.doc_ids.iter().any(|x| x == id))
        && f.metadata.iter().all(|(k, v)| d.metadata.get(k) == Some(v))
}

/// Random index/re-index/delete of documents, flushes, compactions and
/// reopens; every filtered semantic search is compared with brute force,
/// and every filtered full-text search must return min(limit, matching
/// documents that contain the word) matching chunks.
#[test]
fn filtered_document_searches_match_a_brute_force_model() {
    let mut rng = fastrand::Rng::with_seed(21);
    let dir = tempfile::tempdir().unwrap();
    let mut db = AgentDb::open(dir.path(), opts()).unwrap();
    let centres: Vec<Vec<f32>> = (0..3).map(|_| random_unit(&mut rng)).collect();
    let mut docs: BTreeMap<String, ModelDoc> = BTreeMap::new();
    for step in 0..60 {
        match rng.u8(0..100) {
            0..=44 => {
                for _ in 0..1 + rng.usize(0..30) {
                    // New ids mostly; some re-index an existing document.
                    let id = format!("d{}", rng.usize(0..600));
                    let c = rng.usize(0..centres.len());
                    let topic = TOPICS[rng.usize(0..TOPICS.len())];
                    let mut metadata = BTreeMap::from([("lang".to_string(), LANGS[rng.usize(0..LANGS.len())].into())]);
                    if rng.u8(0..4) == 0 {
                        metadata.insert("tag".into(), AWKWARD[rng.usize(0..AWKWARD.len())].into());
                    }
                    let d = ModelDoc { vector: near(&mut rng, &centres[c], 0.6), metadata, topic };
                    let mut new = doc(&id, &format!("{topic} note {id}"), d.vector.clone());
                    new.metadata = d.metadata.clone();
                    db.index_document(new).unwrap();
                    docs.insert(id, d);
                }
            }
            45..=64 => {
                let c = &centres[rng.usize(0..centres.len())];
                let mut ranked: Vec<(String, f32)> =
                    docs.iter().map(|(id, d)| (id.clone(), cosine(c, &d.vector))).collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                for (id, _) in ranked.into_iter().take(rng.usize(1..15)) {
                    db.delete_document(&id).unwrap();
                    docs.remove(&id);
                }
            }
            65..=79 => {
                db.flush().unwrap();
            }
            80..=86 => {
                db.compact().unwrap();
            }
            87..=91 => {
                drop(db);
                db = AgentDb::open(dir.path(), opts()).unwrap();
            }
            _ => {}
        }
        for q in 0..3 {
            let f = random_doc_filter(&mut rng, &docs);
            let limit = 1 + rng.usize(0..10);
            let what = format!("step {step} query {q} limit {limit} {f:?}");
            let c = rng.usize(0..centres.len());
            let query = near(&mut rng, &centres[c], 0.8);
            let mut want: Vec<(String, f32)> = docs
                .iter()
                .filter(|(id, d)| doc_matches(&f, id, d))
                .map(|(id, d)| (format!("{id}#0"), cosine(&query, &d.vector)))
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            want.truncate(limit);
            let got: Vec<(String, f32)> = db
                .semantic_search_vector(&query, limit, &f)
                .unwrap()
                .into_iter()
                .map(|h| (h.chunk_id, h.score))
                .collect();
            assert_same_hits(&format!("semantic, {what}"), &got, &want);
            if rng.u8(0..3) == 0 {
                let topic = TOPICS[rng.usize(0..TOPICS.len())];
                let matching = docs.iter().filter(|(id, d)| d.topic == topic && doc_matches(&f, id, d)).count();
                let got = db.full_text_search(topic, limit, &f).unwrap();
                assert_eq!(got.len(), limit.min(matching), "full text {topic}, {what}: {got:?}");
                for h in &got {
                    let d = &docs[&h.doc_id];
                    assert!(d.topic == topic && doc_matches(&f, &h.doc_id, d), "full text {topic}, {what}: {h:?}");
                }
            }
        }
    }
}

/// Random upserts (new and replacing), deletes of the vectors nearest a
/// point, flushes, compactions (an ANN index once past 400 rows) and
/// reopens; every filtered k-NN and range search is compared with brute
/// force, and an unfiltered one must return min(k, live) live vectors.
#[test]
fn filtered_collection_searches_match_a_brute_force_model() {
    let mut rng = fastrand::Rng::with_seed(31);
    let dir = tempfile::tempdir().unwrap();
    let o = Options { ann_index_threshold: 400, ..opts() };
    let mut db = AgentDb::open(dir.path(), o.clone()).unwrap();
    db.create_collection("c", DIM, Metric::Cosine).unwrap();
    let centres: Vec<Vec<f32>> = (0..3).map(|_| random_unit(&mut rng)).collect();
    let mut data: BTreeMap<String, (Vec<f32>, BTreeMap<String, String>)> = BTreeMap::new();
    let mut indexed_at = None;
    for step in 0..70 {
        match rng.u8(0..100) {
            0..=44 => {
                let rows: Vec<VectorRecord> = (0..1 + rng.usize(0..80))
                    .map(|_| {
                        let c = rng.usize(0..centres.len());
                        let mut metadata =
                            BTreeMap::from([("group".to_string(), LANGS[rng.usize(0..LANGS.len())].to_string())]);
                        if rng.u8(0..4) == 0 {
                            metadata.insert("tag".into(), AWKWARD[rng.usize(0..AWKWARD.len())].into());
                        }
                        VectorRecord {
                            id: format!("v{}", rng.usize(0..1500)),
                            vector: near(&mut rng, &centres[c], 0.6),
                            metadata,
                        }
                    })
                    .collect();
                db.insert_vectors("c", rows.clone()).unwrap();
                for r in rows {
                    data.insert(r.id, (r.vector, r.metadata));
                }
            }
            45..=64 => {
                let c = centres[rng.usize(0..centres.len())].clone();
                let n = rng.usize(1..30);
                for (id, _) in brute_force_knn(&data, &c, n, &SearchOptions::default()) {
                    db.delete_vector("c", &id).unwrap();
                    data.remove(&id);
                }
            }
            65..=79 => {
                db.flush().unwrap();
            }
            80..=86 => {
                let report = db.compact().unwrap();
                if report.tables.iter().any(|t| t.table == "vec_c" && t.index_created) {
                    indexed_at = Some(step);
                }
            }
            87..=91 => {
                drop(db);
                db = AgentDb::open(dir.path(), o.clone()).unwrap();
            }
            _ => {}
        }
        for q in 0..3 {
            let mut f = SearchOptions::default();
            match rng.u8(0..5) {
                0..=1 => f = f.metadata("group", LANGS[rng.usize(0..LANGS.len())]),
                2 => f = f.metadata("tag", AWKWARD[rng.usize(0..AWKWARD.len())]),
                3 => f = f.metadata("group", "en").metadata("tag", AWKWARD[rng.usize(0..AWKWARD.len())]),
                _ => {}
            }
            let k = 1 + rng.usize(0..20);
            let c = rng.usize(0..centres.len());
            let query = near(&mut rng, &centres[c], 0.8);
            let what = format!("step {step} query {q} k {k} {:?}", f.metadata);
            let want = brute_force_knn(&data, &query, k, &f);
            let got: Vec<(String, f32)> =
                db.search_knn("c", &query, k, &f).unwrap().into_iter().map(|h| (h.id, h.distance)).collect();
            if f.metadata.is_empty() {
                assert_eq!(got.len(), want.len(), "{what}");
                assert!(got.iter().all(|(id, _)| data.contains_key(id)), "{what}: {got:?}");
            } else {
                assert_same_hits(&what, &got, &want);
                let r = rng.f32();
                let mut want = brute_force_knn(&data, &query, usize::MAX, &f);
                want.retain(|(_, d)| *d <= r);
                want.truncate(k);
                let got: Vec<(String, f32)> =
                    db.search_range("c", &query, r, k, &f).unwrap().into_iter().map(|h| (h.id, h.distance)).collect();
                assert_same_hits(&format!("range {r}, {what}"), &got, &want);
            }
        }
    }
    let indexed_at = indexed_at.expect("maintenance built the ANN index during the run");
    assert!(indexed_at < 60, "searches ran over the indexed table (index built at step {indexed_at})");
}

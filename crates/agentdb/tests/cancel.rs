//! Cancel tokens on the long read-only calls, on real LanceDB: a cancelled
//! call returns `Error::Cancelled` and changes nothing (no access recorded,
//! no flush, no log record); a token cancelled between a call's stages or
//! from another thread mid-search stops it; the database stays usable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentdb::embed::Embedder;
use agentdb::{
    AgentDb, CancelToken, DocFilter, EmbedderHandle, Error, Fusion, MemoryType, MergePolicy, Metric, NewDocument,
    NewMemory, Options, RetrieveOptions, SearchOptions, VectorRecord,
};

const DIM: usize = 16;

/// A deterministic embedder (a hash of the text spread over `DIM`
/// components) that, when armed with a token, cancels it while it embeds:
/// the cancel lands between a call's stages, at a known point.
#[derive(Default)]
struct CancellingEmbedder {
    armed: Mutex<Option<CancelToken>>,
}

impl Embedder for CancellingEmbedder {
    fn name(&self) -> &str {
        "cancelling-test-embedder"
    }
    fn dimension(&self) -> usize {
        DIM
    }
    fn embed(&self, texts: &[&str]) -> agentdb::Result<Vec<Vec<f32>>> {
        if let Some(t) = self.armed.lock().unwrap().take() {
            t.cancel();
        }
        Ok(texts.iter().map(|t| text_vector(t)).collect())
    }
}

fn text_vector(t: &str) -> Vec<f32> {
    let h = crc32c::crc32c(t.as_bytes());
    let mut v: Vec<f32> = (0..DIM).map(|i| ((h.rotate_left(i as u32) & 0xff) as f32) / 255.0 + 0.01).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn options(embedder: Arc<CancellingEmbedder>) -> Options {
    Options {
        flush_interval: Duration::from_secs(3600),
        maintenance_interval: None,
        memory_dimension: DIM,
        memory_merge_policy: MergePolicy::KeepBoth,
        embedder: Some(EmbedderHandle(embedder)),
        ..Options::default()
    }
}

/// A database with a few memories, documents and vectors, flushed (so the
/// full-text index exists) plus one more document pending in the memtable.
fn populated(dir: &std::path::Path, embedder: Arc<CancellingEmbedder>) -> AgentDb {
    let db = AgentDb::open(dir, options(embedder)).unwrap();
    for (i, text) in ["green tea in the morning", "peanut allergy", "likes jazz"].iter().enumerate() {
        db.store_memory(NewMemory::new(7, MemoryType::Semantic, *text).importance(0.1 * i as f32 + 0.5)).unwrap();
    }
    db.index_document(NewDocument::new("tea", "Longjing tea comes from West Lake. Green tea is unoxidised.")).unwrap();
    db.create_collection("c", DIM, Metric::Cosine).unwrap();
    let rows = (0..50).map(|i| VectorRecord {
        id: format!("v{i}"),
        vector: text_vector(&format!("v{i}")),
        metadata: BTreeMap::new(),
    });
    db.insert_vectors("c", rows.collect()).unwrap();
    db.flush().unwrap();
    db.index_document(NewDocument::new("coffee", "Coffee comes from roasted beans. Espresso is strong.")).unwrap();
    db
}

fn cancelled<T: std::fmt::Debug>(r: agentdb::Result<T>) -> bool {
    matches!(r, Err(Error::Cancelled))
}

fn access_counts(db: &AgentDb) -> Vec<u64> {
    db.list_memories(7).unwrap().iter().map(|m| m.access_count).collect()
}

#[test]
fn a_cancelled_token_stops_every_long_call_at_once_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = populated(dir.path(), Arc::default());
    let (lsn, flushed, accesses) = (db.stats().unwrap().last_lsn, db.stats().unwrap().flushed_lsn, access_counts(&db));
    let token = CancelToken::new();
    token.cancel();
    let c = db.with_cancel(&token);
    let q = text_vector("tea");
    let f = DocFilter::default();
    let o = SearchOptions::default();
    assert!(cancelled(c.retrieve(7, "tea", 3, &RetrieveOptions::default())));
    assert!(cancelled(c.retrieve_similar(7, &q, 3, &RetrieveOptions::default())));
    assert!(cancelled(c.semantic_search("tea", 3, &f)));
    assert!(cancelled(c.semantic_search_vector(&q, 3, &f)));
    // A pending document: the search would flush it first; cancelled, it does not.
    assert!(cancelled(c.full_text_search("tea", 3, &f)));
    assert!(cancelled(c.hybrid_search("tea", None, 3, Fusion::ReciprocalRank, &f)));
    assert!(cancelled(c.search_knn("c", &q, 5, &o)));
    assert!(cancelled(c.search_knn("c", &q, 5, &o.clone().metadata("k", "v"))));
    assert!(cancelled(c.search_range("c", &q, 0.5, 10, &o)));
    let s = db.stats().unwrap();
    assert_eq!((s.last_lsn, s.flushed_lsn), (lsn, flushed), "a cancelled call wrote or flushed");
    assert_eq!(access_counts(&db), accesses, "a cancelled retrieval recorded an access");
    // Input errors still come first; a closed database is still Closed.
    assert!(matches!(c.search_knn("c", &q, 0, &o), Err(Error::InvalidArgument(_))));
    assert!(matches!(c.search_knn("nope", &q, 5, &o), Err(Error::NotFound(_))));
    db.close().unwrap();
    assert!(matches!(c.search_knn("c", &q, 5, &o), Err(Error::Closed)));
}

#[test]
fn an_uncancelled_token_changes_no_answer_and_a_retrieval_still_records_access() {
    let dir = tempfile::tempdir().unwrap();
    let db = populated(dir.path(), Arc::default());
    let token = CancelToken::new();
    let c = db.with_cancel(&token);
    let q = text_vector("tea");
    let f = DocFilter::default();
    let o = SearchOptions::default();
    let ids = |h: Vec<agentdb::ChunkHit>| h.into_iter().map(|h| h.chunk_id).collect::<Vec<_>>();
    assert_eq!(ids(c.semantic_search("tea", 3, &f).unwrap()), ids(db.semantic_search("tea", 3, &f).unwrap()));
    assert_eq!(ids(c.full_text_search("tea", 3, &f).unwrap()), ids(db.full_text_search("tea", 3, &f).unwrap()));
    assert_eq!(
        ids(c.hybrid_search("tea", None, 3, Fusion::ReciprocalRank, &f).unwrap()),
        ids(db.hybrid_search("tea", None, 3, Fusion::ReciprocalRank, &f).unwrap())
    );
    let vids = |h: Vec<agentdb::VectorHit>| h.into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(vids(c.search_knn("c", &q, 5, &o).unwrap()), vids(db.search_knn("c", &q, 5, &o).unwrap()));
    assert_eq!(
        vids(c.search_range("c", &q, 0.2, 50, &o).unwrap()),
        vids(db.search_range("c", &q, 0.2, 50, &o).unwrap())
    );
    let before: u64 = access_counts(&db).iter().sum();
    let hits = c.retrieve(7, "tea", 2, &RetrieveOptions::default()).unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(access_counts(&db).iter().sum::<u64>(), before + 2);
    assert!(!token.is_cancelled());
}

#[test]
fn a_cancel_between_stages_stops_the_call_before_its_next_stage_and_before_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let embedder = Arc::new(CancellingEmbedder::default());
    let db = populated(dir.path(), embedder.clone());
    db.flush().unwrap();
    let accesses = access_counts(&db);
    let lsn = db.stats().unwrap().last_lsn;
    let f = DocFilter::default();
    // The token fires while the query text is embedded: the vector search
    // after it, and the access record after that, never run.
    let stage = |call: &dyn Fn(&CancelToken) -> bool| {
        let token = CancelToken::new();
        *embedder.armed.lock().unwrap() = Some(token.clone());
        assert!(call(&token));
        assert!(token.is_cancelled(), "the embedder did not run");
    };
    stage(&|t| cancelled(db.with_cancel(t).retrieve(7, "tea", 3, &RetrieveOptions::default())));
    stage(&|t| cancelled(db.with_cancel(t).semantic_search("tea", 3, &f)));
    // Hybrid: the full-text half ran, then the token fired while embedding.
    stage(&|t| cancelled(db.with_cancel(t).hybrid_search("tea", None, 3, Fusion::Weighted { alpha: 0.5 }, &f)));
    assert_eq!(access_counts(&db), accesses);
    assert_eq!(db.stats().unwrap().last_lsn, lsn);
}

#[test]
fn a_token_stays_cancelled_its_clones_share_it_and_other_tokens_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let db = populated(dir.path(), Arc::default());
    let q = text_vector("v3");
    let o = SearchOptions::default();
    let a = CancelToken::new();
    let b = CancelToken::new();
    let a2 = a.clone();
    assert_eq!(db.with_cancel(&a).search_knn("c", &q, 1, &o).unwrap()[0].id, "v3");
    a2.cancel();
    assert!(a.is_cancelled());
    for _ in 0..2 {
        assert!(cancelled(db.with_cancel(&a).search_knn("c", &q, 1, &o)));
    }
    a.cancel(); // idempotent
    assert_eq!(db.with_cancel(&b).search_knn("c", &q, 1, &o).unwrap()[0].id, "v3");
    assert_eq!(db.with_cancel(None).search_knn("c", &q, 1, &o).unwrap()[0].id, "v3");
    assert!(format!("{a:?}").contains("true"));
}

/// Vectors in the big collection, and their dimension: an exact filtered
/// k-NN over them (a flat scan of every row) took 1.06 s in the debug build
/// on 2 cores, twenty times the 50 ms after which it is cancelled (the
/// cancelled k-NN and range searches returned 4 and 16 ms after the cancel;
/// printed with --nocapture, never asserted).
const LONG_ROWS: usize = 100_000;
const LONG_DIM: usize = 128;
const CANCEL_AFTER_MS: u64 = 50;

#[test]
fn a_long_search_cancelled_from_another_thread_stops_and_the_database_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), options(Arc::default())).unwrap();
    db.create_collection("big", LONG_DIM, Metric::L2).unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    let rows: Vec<VectorRecord> = (0..LONG_ROWS)
        .map(|i| VectorRecord {
            id: format!("v{i}"),
            vector: (0..LONG_DIM).map(|_| rng.f32()).collect(),
            metadata: BTreeMap::from([("all".to_string(), "yes".to_string())]),
        })
        .collect();
    let probe = rows[42].vector.clone();
    db.insert_vectors("big", rows).unwrap();
    db.flush().unwrap();
    let lsn = db.stats().unwrap().last_lsn;
    // A metadata filter every row passes: exact, so a flat scan of them all.
    let o = SearchOptions::default().metadata("all", "yes");
    for call in ["knn", "range"] {
        let token = CancelToken::new();
        let canceller = {
            let token = token.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(CANCEL_AFTER_MS));
                token.cancel();
            })
        };
        let c = db.with_cancel(&token);
        let began = std::time::Instant::now();
        let r = match call {
            "knn" => c.search_knn("big", &probe, 10, &o),
            _ => c.search_range("big", &probe, f32::MAX, 10, &o),
        };
        let took = began.elapsed();
        canceller.join().unwrap();
        assert!(cancelled(r), "{call}: not cancelled");
        eprintln!("{call}: cancelled after {CANCEL_AFTER_MS} ms, returned after {took:?}");
    }
    assert_eq!(db.stats().unwrap().last_lsn, lsn);
    // Usable afterwards, and exact: the probe is its own nearest neighbour.
    let began = std::time::Instant::now();
    let hits = db.search_knn("big", &probe, 10, &o).unwrap();
    eprintln!("the same k-NN uncancelled: {:?}", began.elapsed());
    assert_eq!((hits.len(), hits[0].id.as_str()), (10, "v42"));
}

//! Memory subsystem on real LanceDB, with caller vectors and the real model.

use std::time::Duration;

use agentdb::{
    AgentDb, Error, ForgetPolicy, MemoryFilter, MemoryType, MergePolicy, NewMemory, Options, RetrieveOptions,
};

const DIM: usize = 384;

/// These tests give distinct memories identical synthetic vectors on
/// purpose (to isolate importance and recency), so near-duplicate merging
/// is off here; tests/memory_lifecycle.rs covers it.
fn quiet() -> Options {
    Options {
        flush_interval: Duration::from_secs(3600),
        maintenance_interval: None,
        memory_merge_policy: MergePolicy::KeepBoth,
        ..Options::default()
    }
}

/// A unit vector pointing mostly along axis `i`, a little along `j`.
fn axis(i: usize, j: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[i] = 1.0;
    v[j] += tilt;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn store(db: &AgentDb, agent: u64, t: MemoryType, text: &str, v: Vec<f32>, importance: f32) -> u64 {
    db.store_memory(NewMemory::new(agent, t, text).embedding(v).importance(importance)).unwrap()
}

#[test]
fn store_get_update_delete_across_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let a = store(&db, 1, MemoryType::Semantic, "the user likes tea", axis(0, 1, 0.0), 0.4);
    let b = store(&db, 1, MemoryType::Episodic, "met Bob at the station", axis(1, 0, 0.0), 0.9);
    assert!(b > a, "ids increase");
    let m = db.get_memory(a).unwrap();
    assert_eq!((m.content.as_str(), m.importance, m.access_count), ("the user likes tea", 0.4, 0));
    db.update_memory_importance(a, 0.7).unwrap();
    assert_eq!(db.get_memory(a).unwrap().importance, 0.7);
    db.flush().unwrap();
    assert_eq!(db.get_memory(a).unwrap().importance, 0.7);
    // A patch on a memory whose base row is already in Lance.
    db.update_memory_importance(a, 0.2).unwrap();
    assert_eq!(db.get_memory(a).unwrap().importance, 0.2);
    db.flush().unwrap();
    assert_eq!(db.get_memory(a).unwrap().importance, 0.2);
    db.delete_memory(b).unwrap();
    assert!(matches!(db.get_memory(b), Err(Error::NotFound(_))));
    assert!(matches!(db.delete_memory(b), Err(Error::NotFound(_))));
    drop(db);
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let m = db.get_memory(a).unwrap();
    assert_eq!((m.importance, m.embedding.len()), (0.2, DIM));
    assert!(matches!(db.get_memory(b), Err(Error::NotFound(_))));
    assert_eq!(db.list_memories(1).unwrap().len(), 1);
    let report = db.compact().unwrap();
    let mem_table = report.tables.iter().find(|t| t.table == "memories").unwrap();
    assert_eq!(mem_table.rows_purged, 0, "flush already removed superseded versions: {report:?}");
    assert_eq!(db.get_memory(a).unwrap().importance, 0.2);
}

#[test]
fn retrieval_ranks_by_relevance_importance_and_recency_and_counts_access() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let close_low = store(&db, 7, MemoryType::Semantic, "close, unimportant", axis(0, 1, 0.1), 0.0);
    let close_high = store(&db, 7, MemoryType::Semantic, "close, important", axis(0, 1, 0.1), 1.0);
    let far = store(&db, 7, MemoryType::Semantic, "far", axis(5, 6, 0.0), 1.0);
    let _other_agent = store(&db, 8, MemoryType::Semantic, "not yours", axis(0, 1, 0.0), 1.0);
    db.flush().unwrap();
    let fresh = store(&db, 7, MemoryType::Episodic, "fresh in memtable", axis(0, 2, 0.3), 0.5);
    let q = axis(0, 1, 0.0);
    let got = db.retrieve_similar(7, &q, 3, &RetrieveOptions::default()).unwrap();
    let ids: Vec<u64> = got.iter().map(|s| s.memory.memory_id).collect();
    assert_eq!(ids[0], close_high, "same relevance, higher importance wins: {got:?}");
    assert!(ids.contains(&close_low) && ids.contains(&fresh), "{ids:?}");
    assert!(!ids.contains(&far));
    assert!(got.iter().all(|s| s.memory.agent_id == 7));
    assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(got[0].relevance > 0.9 && got[0].recency > 0.99);
    // Importance weight 0: pure relevance ordering.
    let pure =
        RetrieveOptions { importance_weight: 0.0, recency_weight: 0.0, record_access: false, ..Default::default() };
    let got = db.retrieve_similar(7, &axis(5, 6, 0.0), 1, &pure).unwrap();
    assert_eq!(got[0].memory.memory_id, far);
    // Access was recorded for the first retrieval (3 hits), not for the second.
    assert_eq!(db.get_memory(close_high).unwrap().access_count, 1);
    assert_eq!(db.get_memory(far).unwrap().access_count, 0);
    db.flush().unwrap();
    let m = db.get_memory(close_high).unwrap();
    assert_eq!(m.access_count, 1);
    assert!(m.last_access_ms >= m.created_at_ms);
    // Filters: by type, by metadata.
    let only_episodic =
        RetrieveOptions { filter: MemoryFilter::default().types(&[MemoryType::Episodic]), ..Default::default() };
    let got = db.retrieve_similar(7, &q, 5, &only_episodic).unwrap();
    assert_eq!(got.iter().map(|s| s.memory.memory_id).collect::<Vec<_>>(), vec![fresh]);
    let tagged = db
        .store_memory(
            NewMemory::new(7, MemoryType::Procedural, "tagged")
                .embedding(axis(9, 1, 0.0))
                .metadata("topic", "o'brien \"x\""),
        )
        .unwrap();
    let by_meta =
        RetrieveOptions { filter: MemoryFilter::default().metadata("topic", "o'brien \"x\""), ..Default::default() };
    let got = db.retrieve_similar(7, &q, 5, &by_meta).unwrap();
    assert_eq!(got.iter().map(|s| s.memory.memory_id).collect::<Vec<_>>(), vec![tagged]);
}

#[test]
fn expiry_and_forgetting() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let short = db
        .store_memory(
            NewMemory::new(3, MemoryType::Working, "scratch")
                .embedding(axis(0, 1, 0.0))
                .ttl(Duration::from_millis(150)),
        )
        .unwrap();
    let keep = store(&db, 3, MemoryType::Semantic, "keeper", axis(0, 1, 0.0), 0.9);
    let weak = store(&db, 3, MemoryType::Semantic, "weak", axis(0, 1, 0.0), 0.05);
    assert_eq!(db.get_memory(short).unwrap().content, "scratch");
    db.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(matches!(db.get_memory(short), Err(Error::NotFound(_))), "expired memories are never returned");
    let got = db.retrieve_similar(3, &axis(0, 1, 0.0), 10, &RetrieveOptions::default()).unwrap();
    assert!(got.iter().all(|s| s.memory.memory_id != short));
    let report = db.compact().unwrap();
    assert_eq!(report.tables.iter().find(|t| t.table == "memories").unwrap().rows_purged, 1);
    // Nothing is old enough yet.
    assert_eq!(db.forget(3, &ForgetPolicy::default()).unwrap(), 0);
    let now_policy = ForgetPolicy { older_than: Duration::ZERO, min_importance: 0.1, ..Default::default() };
    assert_eq!(db.forget(3, &now_policy).unwrap(), 1);
    assert!(matches!(db.get_memory(weak), Err(Error::NotFound(_))));
    assert_eq!(db.get_memory(keep).unwrap().content, "keeper");
}

#[test]
fn bad_memory_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let ok = axis(0, 1, 0.0);
    let bad = |n: NewMemory| db.store_memory(n).unwrap_err();
    assert!(matches!(
        bad(NewMemory::new(1, MemoryType::Semantic, "x").embedding(vec![0.1; 3])),
        Error::DimensionMismatch { expected: 384, got: 3 }
    ));
    let mut nan = ok.clone();
    nan[7] = f32::NAN;
    assert!(matches!(bad(NewMemory::new(1, MemoryType::Semantic, "x").embedding(nan)), Error::InvalidArgument(_)));
    let mut inf = ok.clone();
    inf[0] = f32::INFINITY;
    assert!(matches!(bad(NewMemory::new(1, MemoryType::Semantic, "x").embedding(inf)), Error::InvalidArgument(_)));
    assert!(matches!(
        bad(NewMemory::new(1, MemoryType::Semantic, "  ").embedding(ok.clone())),
        Error::InvalidArgument(_)
    ));
    assert!(matches!(
        bad(NewMemory::new(1, MemoryType::Semantic, "x").embedding(ok.clone()).importance(1.5)),
        Error::InvalidArgument(_)
    ));
    assert!(matches!(
        bad(NewMemory::new(1, MemoryType::Semantic, "x").embedding(ok.clone()).importance(f32::NAN)),
        Error::InvalidArgument(_)
    ));
    let id = store(&db, 1, MemoryType::Semantic, "fine", ok.clone(), 0.5);
    assert!(matches!(db.update_memory_importance(id, -0.1), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.update_memory_importance(id + 1000, 0.1), Err(Error::NotFound(_))));
    assert!(matches!(db.retrieve_similar(1, &ok, 0, &RetrieveOptions::default()), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        db.retrieve_similar(1, &ok, 1_000_000, &RetrieveOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.retrieve_similar(1, &[0.0; 2], 1, &RetrieveOptions::default()),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!("dreams".parse::<MemoryType>(), Err(Error::InvalidArgument(_))));
    // A batch with one bad item writes nothing.
    let before = db.list_memories(1).unwrap().len();
    let batch = vec![
        NewMemory::new(1, MemoryType::Semantic, "good").embedding(ok.clone()),
        NewMemory::new(1, MemoryType::Semantic, "bad").embedding(vec![1.0; 2]),
    ];
    assert!(db.store_memories(batch).is_err());
    assert_eq!(db.list_memories(1).unwrap().len(), before);
    assert_eq!(db.get_memory(id).unwrap().importance, 0.5);
}

#[test]
fn text_retrieval_with_the_built_in_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let facts = [
        "The user's favourite drink is green tea.",
        "The user is allergic to peanuts.",
        "The user's daughter plays the violin.",
        "Paris is the capital of France.",
        "用户喜欢在周末去爬山。",
    ];
    let ids = db.store_memories(facts.iter().map(|f| NewMemory::new(11, MemoryType::Semantic, *f)).collect()).unwrap();
    db.flush().unwrap();
    let got = db.retrieve(11, "what does the user like to drink?", 2, &RetrieveOptions::default()).unwrap();
    assert_eq!(got[0].memory.memory_id, ids[0], "{:?}", got.iter().map(|s| &s.memory.content).collect::<Vec<_>>());
    let got = db.retrieve(11, "food allergy", 1, &RetrieveOptions::default()).unwrap();
    assert_eq!(got[0].memory.memory_id, ids[1]);
    assert!(matches!(db.retrieve(11, "   ", 1, &RetrieveOptions::default()), Err(Error::InvalidArgument(_))));
}

#[test]
fn without_a_model_text_calls_say_how_to_enable_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { model_dir: Some(empty.path().to_path_buf()), ..quiet() }).unwrap();
    match db.store_memory(NewMemory::new(1, MemoryType::Semantic, "needs embedding")) {
        Err(Error::ModelUnavailable(msg)) => assert!(msg.contains("pip install"), "{msg}"),
        other => panic!("expected ModelUnavailable, got {other:?}"),
    }
    // Caller vectors still work.
    store(&db, 1, MemoryType::Semantic, "has a vector", axis(0, 1, 0.0), 0.5);
}

#[test]
fn memory_writes_survive_crash_and_replay_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let a = store(&db, 1, MemoryType::Semantic, "a", axis(0, 1, 0.0), 0.5);
    db.flush().unwrap();
    db.retrieve_similar(1, &axis(0, 1, 0.0), 1, &RetrieveOptions::default()).unwrap();
    db.retrieve_similar(1, &axis(0, 1, 0.0), 1, &RetrieveOptions::default()).unwrap();
    let b = store(&db, 1, MemoryType::Semantic, "b", axis(2, 1, 0.0), 0.5);
    db.update_memory_importance(b, 0.9).unwrap();
    std::mem::forget(db); // no close, no flush: only the WAL has these
    let ro = AgentDb::open(dir.path(), Options { read_only: true, ..quiet() }).unwrap();
    assert_eq!(ro.get_memory(a).unwrap().access_count, 2, "access deltas replayed exactly once");
    assert_eq!(ro.get_memory(b).unwrap().importance, 0.9);
}

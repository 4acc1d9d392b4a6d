//! Upgrade: a database directory written by an earlier AgentDB (committed as
//! a fixture under tests/fixtures/) opens with today's code and every record
//! is found — Lance rows, the checkpoint, and WAL records that were never
//! flushed (the writer was killed), of every record kind that version wrote.
//!
//! The fixture was made by `make_upgrade_fixture` below, run on the commit
//! named in the fixture's directory, with
//! `AGENTDB_FIXTURE_OUT=DIR cargo test --workspace --test upgrade -- --ignored make_upgrade_fixture`.
//! Never regenerate it with a newer version: its point is to be old.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentdb::{
    AgentDb, DocFilter, FsyncPolicy, HistoryQuery, MemoryType, Metric, NewDocument, NewMemory, Options, SearchOptions,
    StateType, VectorRecord,
};

const FIXTURE: &str = "tests/fixtures/upgrade-66f7466";

/// No background flush or maintenance: what is written after the explicit
/// flush stays in the WAL only.
fn quiet_options() -> Options {
    Options {
        fsync: FsyncPolicy::Always,
        flush_interval: Duration::from_secs(3600),
        memtable_flush_records: 1_000_000,
        memtable_flush_bytes: 128 << 20,
        maintenance_interval: None,
        ..Options::default()
    }
}

fn vector(seed: u32) -> Vec<f32> {
    (0..4).map(|i| ((seed * 7 + i) % 11) as f32 / 10.0 + 0.05).collect()
}

fn meta(k: &str, v: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(k.to_string(), v.to_string())])
}

/// Writes the fixture: part one flushed to Lance, part two (every record
/// kind) left in the WAL, then the process ends without closing the database.
#[test]
#[ignore = "writes the committed upgrade fixture; run by hand on the old version only"]
fn make_upgrade_fixture() {
    let dir = PathBuf::from(std::env::var("AGENTDB_FIXTURE_OUT").expect("AGENTDB_FIXTURE_OUT=DIR"));
    assert!(!dir.exists(), "{} exists", dir.display());
    let db = AgentDb::open(&dir, quiet_options()).unwrap();

    // Part one: flushed to Lance.
    for v in 1..=3u64 {
        db.save_state_with_metadata(
            1,
            1,
            StateType::Context,
            format!("flushed {v}").as_bytes(),
            meta("step", &v.to_string()),
        )
        .unwrap();
    }
    db.save_state(2, 1, StateType::TaskState, b"agent two, flushed").unwrap();
    db.save_state(3, 1, StateType::Context, b"agent three, to be deleted").unwrap();
    db.create_snapshot(1, 1, "flushed-snap").unwrap();
    let m1 =
        db.store_memory(NewMemory::new(1, MemoryType::Semantic, "The user lives in Lisbon").importance(0.6)).unwrap();
    let m2 = db.store_memory(NewMemory::new(1, MemoryType::Episodic, "We talked about tide pools")).unwrap();
    let m3 = db.store_memory(NewMemory::new(1, MemoryType::Procedural, "Deploy with make release")).unwrap();
    db.create_collection("items", 4, Metric::Cosine).unwrap();
    for i in 0..5u32 {
        db.insert_vector(
            "items",
            &format!("v{i}"),
            &vector(i),
            meta("parity", if i % 2 == 0 { "even" } else { "odd" }),
        )
        .unwrap();
    }
    db.index_document(
        NewDocument::new("doc-flushed", "Lance is a columnar format. It keeps versions of every table.").title("Lance"),
    )
    .unwrap();
    db.index_document(NewDocument::new("doc-gone", "This document is deleted later on.")).unwrap();
    db.flush().unwrap();

    // Part two: only in the WAL (every record kind today's version writes).
    db.save_state_with_metadata(1, 1, StateType::Context, b"unflushed 4", meta("step", "4")).unwrap(); // SaveState
    db.save_state(1, 2, StateType::WorkingMemory, b"session two").unwrap();
    db.create_snapshot(1, 1, "wal-snap").unwrap(); // CreateSnapshot
    db.delete_agent(3).unwrap(); // DeleteAgent
    let m4 = db.store_memory(NewMemory::new(1, MemoryType::Semantic, "The user's cat is called Miso")).unwrap(); // StoreMemoryWith
    db.update_memory_importance(m1, 0.9).unwrap(); // UpdateMemories
    db.pin_memory(m2).unwrap(); // UpdateMemories (pin)
    db.delete_memory(m3).unwrap(); // DeleteMemories
    db.insert_vectors(
        "items",
        vec![
            VectorRecord { id: "v1".into(), vector: vector(21), metadata: meta("parity", "changed") },
            VectorRecord { id: "v9".into(), vector: vector(9), metadata: BTreeMap::new() },
        ],
    )
    .unwrap(); // UpsertVectors
    db.delete_vector("items", "v0").unwrap(); // DeleteVectors
    db.index_document(NewDocument::new("doc-wal", "Write-ahead logs make acknowledged writes durable.")).unwrap(); // IndexDocument
    db.delete_document("doc-gone").unwrap(); // DeleteDocument
    println!("memories: m1={m1} m2={m2} m3={m3} m4={m4}");
    // As if killed: no close, so nothing after the flush reaches Lance.
    std::mem::forget(db);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixture_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), tmp.path());
    tmp
}

fn check_every_record(db: &AgentDb) {
    // States: flushed and WAL-only versions, metadata, snapshots, the deleted agent.
    let latest = db.load_state(1, Some(1)).unwrap();
    assert_eq!((latest.version, &latest.data[..]), (4, &b"unflushed 4"[..]));
    assert_eq!(latest.metadata["step"], "4");
    assert_eq!(&db.load_state_version(1, 1, 2).unwrap().data[..], b"flushed 2");
    assert_eq!(&db.load_state(1, Some(2)).unwrap().data[..], b"session two");
    assert_eq!(db.load_state(2, Some(1)).unwrap().state_type, StateType::TaskState);
    let history = db.query_history(&HistoryQuery::new(1).session(1).limit(10)).unwrap();
    assert_eq!(history.iter().map(|s| s.version).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
    // Keyed access over rows written before it existed (read-only: the table
    // is not migrated; writer: `version_key` was computed by the migration).
    let page = db.state_history_page(1, 1, Some(4), 2).unwrap();
    assert_eq!(page.iter().map(|s| s.version).collect::<Vec<_>>(), vec![3, 2]);
    assert!(page.iter().all(|s| s.key.is_none()));
    assert!(matches!(db.load_state_by_key(1, 1, "flushed 2"), Err(agentdb::Error::NotFound(_))));
    let snaps: Vec<(String, u64)> = db.list_snapshots(1).unwrap().into_iter().map(|s| (s.name, s.version)).collect();
    assert_eq!(snaps, vec![("flushed-snap".to_string(), 3), ("wal-snap".to_string(), 4)]);
    assert!(matches!(db.load_state(3, None), Err(agentdb::Error::NotFound(_))));

    // Memories: flushed, patched in the WAL, pinned, deleted, WAL-only.
    let memories = db.list_memories(1).unwrap();
    let by_content: BTreeMap<&str, &agentdb::Memory> = memories.iter().map(|m| (m.content.as_str(), m)).collect();
    assert_eq!(by_content.len(), 3, "{memories:?}");
    assert!((by_content["The user lives in Lisbon"].importance - 0.9).abs() < 1e-6);
    assert!(by_content["We talked about tide pools"].pinned);
    assert!(by_content.contains_key("The user's cat is called Miso"));
    assert!(!by_content.contains_key("Deploy with make release"));
    let hits = db.retrieve(1, "Where does the user live?", 1, &Default::default()).unwrap();
    assert_eq!(hits[0].memory.content, "The user lives in Lisbon");

    // Vectors: flushed rows, an upsert over a flushed row, a new row, a delete.
    assert_eq!(db.count_vectors("items").unwrap(), 5);
    assert_eq!(db.get_vector("items", "v1").unwrap().metadata["parity"], "changed");
    assert_eq!(db.get_vector("items", "v1").unwrap().vector, vector(21));
    assert!(db.get_vector("items", "v9").is_ok());
    assert!(matches!(db.get_vector("items", "v0"), Err(agentdb::Error::NotFound(_))));
    let near = db.search_knn("items", &vector(9), 1, &SearchOptions::default()).unwrap();
    assert_eq!(near[0].id, "v9");

    // Documents: flushed, WAL-only, deleted; full-text search sees both live ones.
    assert_eq!(db.get_document("doc-flushed").unwrap().title, "Lance");
    assert!(db.get_document("doc-wal").is_ok());
    assert!(matches!(db.get_document("doc-gone"), Err(agentdb::Error::NotFound(_))));
    let near = db.semantic_search("what makes acknowledged writes durable?", 1, &DocFilter::default()).unwrap();
    assert_eq!(near[0].doc_id, "doc-wal");
    // Full-text search first flushes pending documents (BM25 needs one
    // corpus), which a read-only handle cannot: writers only.
    if !db.stats().unwrap().read_only {
        let found = db.full_text_search("durable", 5, &DocFilter::default()).unwrap();
        assert_eq!(found.iter().map(|h| h.doc_id.as_str()).collect::<Vec<_>>(), vec!["doc-wal"]);
    }
}

#[test]
fn a_database_written_by_the_previous_version_opens_with_every_record() {
    let tmp = fixture_copy();
    // Read-only first: it must see everything without changing a byte.
    {
        let db = AgentDb::open(tmp.path(), Options { read_only: true, ..Options::default() }).unwrap();
        check_every_record(&db);
    }
    // The writer replays the old WAL, then flushes it in today's format.
    let db = AgentDb::open(tmp.path(), Options { maintenance_interval: None, ..Options::default() }).unwrap();
    check_every_record(&db);
    db.save_state_keyed(1, 1, "after-upgrade", StateType::Context, b"keyed 5", BTreeMap::new()).unwrap();
    db.save_state(1, 1, StateType::Context, b"new 5").unwrap();
    db.flush().unwrap();
    check_every_record_after_new_write(&db);
    db.close().unwrap();
    let db = AgentDb::open(tmp.path(), Options { maintenance_interval: None, ..Options::default() }).unwrap();
    check_every_record_after_new_write(&db);
    db.compact().unwrap();
    check_every_record_after_new_write(&db);
}

fn check_every_record_after_new_write(db: &AgentDb) {
    assert_eq!(&db.load_state(1, Some(1)).unwrap().data[..], b"new 5");
    assert_eq!(&db.load_state_version(1, 1, 4).unwrap().data[..], b"unflushed 4");
    let page = db.state_history_page(1, 1, None, 10).unwrap();
    assert_eq!(page.iter().map(|s| s.version).collect::<Vec<_>>(), vec![6, 5, 4, 3, 2, 1]);
    assert_eq!(&db.load_state_by_key(1, 1, "after-upgrade").unwrap().data[..], b"keyed 5");
    assert_eq!(db.list_memories(1).unwrap().len(), 3);
    assert_eq!(db.count_vectors("items").unwrap(), 5);
    assert!(db.get_document("doc-wal").is_ok());
    assert!(matches!(db.load_state(3, None), Err(agentdb::Error::NotFound(_))));
}

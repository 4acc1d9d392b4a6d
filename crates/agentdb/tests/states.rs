//! Agent state subsystem on real LanceDB in temp dirs.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{AgentDb, Error, HistoryQuery, Options, StateType};

fn quiet() -> Options {
    // No background flush or maintenance: tests decide when data moves to Lance.
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

fn open(dir: &std::path::Path) -> AgentDb {
    AgentDb::open(dir, quiet()).expect("open")
}

#[test]
fn save_and_load_latest_and_versions_before_and_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    for i in 1..=5u64 {
        let v = db.save_state(1, 10, StateType::Context, format!("step {i}").as_bytes()).unwrap();
        assert_eq!(v, i);
    }
    let check = |db: &AgentDb| {
        let latest = db.load_state(1, Some(10)).unwrap();
        assert_eq!(latest.version, 5);
        assert_eq!(&latest.data[..], b"step 5");
        assert_eq!(latest.state_type, StateType::Context);
        assert_eq!(latest.checksum, crc32c::crc32c(b"step 5"));
        assert_eq!(&db.load_state_version(1, 10, 2).unwrap().data[..], b"step 2");
        assert!(matches!(db.load_state_version(1, 10, 6), Err(Error::NotFound(_))));
        assert!(matches!(db.load_state(1, Some(11)), Err(Error::NotFound(_))));
        assert!(matches!(db.load_state(2, None), Err(Error::NotFound(_))));
    };
    check(&db);
    let report = db.flush().unwrap();
    assert_eq!(report.states, 5);
    assert_eq!(db.stats().unwrap().memtable_records, 0);
    check(&db);
    drop(db);
    // Cold: a fresh process-like open serves everything from Lance.
    let db = open(dir.path());
    check(&db);
    assert_eq!(db.save_state(1, 10, StateType::Context, b"step 6").unwrap(), 6);
}

#[test]
fn latest_across_sessions_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let meta = BTreeMap::from([("model".to_string(), "gpt-x".to_string()), ("quote".into(), "it's \"fine\"".into())]);
    db.save_state_with_metadata(3, 1, StateType::TaskState, b"s1", meta.clone()).unwrap();
    db.save_state(3, 2, StateType::TaskState, b"s2-a").unwrap();
    db.flush().unwrap();
    db.save_state(3, 1, StateType::WorkingMemory, b"s1-b").unwrap();
    assert_eq!(&db.load_state(3, None).unwrap().data[..], b"s1-b");
    db.flush().unwrap();
    drop(db);
    let db = open(dir.path());
    let latest = db.load_state(3, None).unwrap();
    assert_eq!((&latest.data[..], latest.session_id, latest.version), (&b"s1-b"[..], 1, 2));
    assert_eq!(db.load_state_version(3, 1, 1).unwrap().metadata, meta);
}

#[test]
fn history_is_newest_first_with_ranges_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut stamps = Vec::new();
    for i in 0..6u64 {
        db.save_state(9, i % 2, StateType::Context, &[i as u8]).unwrap();
        stamps.push(db.load_state(9, Some(i % 2)).unwrap().timestamp_ms);
        std::thread::sleep(Duration::from_millis(3));
        if i == 2 {
            db.flush().unwrap(); // half in Lance, half in the memtable
        }
    }
    let all = db.query_history(&HistoryQuery::new(9).limit(100)).unwrap();
    assert_eq!(all.iter().map(|s| s.data[0]).collect::<Vec<_>>(), vec![5, 4, 3, 2, 1, 0]);
    let top2 = db.query_history(&HistoryQuery::new(9).limit(2)).unwrap();
    assert_eq!(top2.iter().map(|s| s.data[0]).collect::<Vec<_>>(), vec![5, 4]);
    let sess0 = db.query_history(&HistoryQuery::new(9).session(0)).unwrap();
    assert_eq!(sess0.iter().map(|s| s.data[0]).collect::<Vec<_>>(), vec![4, 2, 0]);
    let mid = db.query_history(&HistoryQuery::new(9).between(Some(stamps[1]), Some(stamps[4]))).unwrap();
    assert_eq!(mid.iter().map(|s| s.data[0]).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
    assert!(db.query_history(&HistoryQuery::new(404)).unwrap().is_empty());
    assert!(matches!(db.query_history(&HistoryQuery::new(9).limit(0)), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        db.query_history(&HistoryQuery::new(9).between(Some(10), Some(5))),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn snapshots_and_rollback_keep_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.save_state(5, 1, StateType::Context, b"good").unwrap();
    let snap = db.create_snapshot(5, 1, "before-experiment").unwrap();
    assert_eq!(snap.version, 1);
    db.save_state(5, 1, StateType::Context, b"bad").unwrap();
    assert!(matches!(db.create_snapshot(5, 1, "before-experiment"), Err(Error::AlreadyExists(_))));
    assert!(matches!(db.create_snapshot(5, 1, "no spaces"), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.create_snapshot(5, 7, "x"), Err(Error::NotFound(_))));
    db.flush().unwrap();
    assert!(matches!(db.create_snapshot(5, 1, "before-experiment"), Err(Error::AlreadyExists(_))));
    let restored = db.restore_snapshot(5, "before-experiment").unwrap();
    assert_eq!((restored.version, &restored.data[..]), (3, &b"good"[..]));
    assert_eq!(&db.load_state(5, Some(1)).unwrap().data[..], b"good");
    assert_eq!(db.query_history(&HistoryQuery::new(5)).unwrap().len(), 3);
    db.create_snapshot(5, 1, "second").unwrap();
    assert!(matches!(db.restore_snapshot(5, "nope"), Err(Error::NotFound(_))));
    drop(db);
    let db = open(dir.path());
    let names: Vec<_> = db.list_snapshots(5).unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["before-experiment", "second"]);
    assert!(db.list_snapshots(6).unwrap().is_empty());
}

#[test]
fn delete_agent_removes_everything_in_memtable_and_lance() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    for s in 0..3 {
        db.save_state(77, s, StateType::Relationship, b"x").unwrap();
    }
    db.create_snapshot(77, 0, "s").unwrap();
    db.save_state(78, 0, StateType::Relationship, b"keep").unwrap();
    db.flush().unwrap();
    db.save_state(77, 0, StateType::Relationship, b"y").unwrap(); // memtable
    db.delete_agent(77).unwrap();
    let gone = |db: &AgentDb| {
        assert!(matches!(db.load_state(77, None), Err(Error::NotFound(_))));
        assert!(matches!(db.load_state(77, Some(0)), Err(Error::NotFound(_))));
        assert!(db.query_history(&HistoryQuery::new(77)).unwrap().is_empty());
        assert!(db.list_snapshots(77).unwrap().is_empty());
        assert_eq!(&db.load_state(78, Some(0)).unwrap().data[..], b"keep");
    };
    gone(&db); // tombstone hides Lance rows before the flush
    assert!(matches!(db.delete_agent(77), Err(Error::NotFound(_))));
    // Re-created after delete: starts again at version 1 and is visible.
    assert_eq!(db.save_state(77, 0, StateType::Context, b"new life").unwrap(), 1);
    db.flush().unwrap();
    assert_eq!(&db.load_state(77, None).unwrap().data[..], b"new life");
    db.delete_agent(77).unwrap();
    drop(db); // replay of the delete from the WAL on reopen
    let db = open(dir.path());
    gone(&db);
    db.flush().unwrap();
    gone(&db);
}

#[test]
fn bad_input_is_rejected_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { max_payload_bytes: 1024, ..quiet() }).unwrap();
    db.save_state(1, 1, StateType::Context, b"ok").unwrap();
    let before = db.stats().unwrap().last_lsn;
    assert!(matches!(
        db.save_state(1, 1, StateType::Context, &[0u8; 1025]),
        Err(Error::PayloadTooLarge { size: 1025, limit: 1024 })
    ));
    let big_meta = BTreeMap::from([("k".to_string(), "v".repeat(1024))]);
    assert!(matches!(
        db.save_state_with_metadata(1, 1, StateType::Context, b"", big_meta),
        Err(Error::PayloadTooLarge { .. })
    ));
    let empty_key = BTreeMap::from([(String::new(), "v".to_string())]);
    assert!(matches!(
        db.save_state_with_metadata(1, 1, StateType::Context, b"", empty_key),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!("nonsense".parse::<StateType>(), Err(Error::InvalidArgument(_))));
    assert_eq!(db.stats().unwrap().last_lsn, before);
    assert_eq!(db.load_state(1, Some(1)).unwrap().version, 1);
    assert!(AgentDb::open(dir.path().join("x"), Options { max_payload_bytes: 0, ..quiet() }).is_err());
    db.close().unwrap();
    assert!(matches!(db.save_state(1, 1, StateType::Context, b"late"), Err(Error::Closed)));
    assert!(matches!(db.load_state(1, None), Err(Error::Closed)));
}

#[test]
fn second_writer_is_refused_read_only_shares() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.save_state(1, 1, StateType::Context, b"flushed").unwrap();
    db.flush().unwrap();
    db.save_state(1, 1, StateType::Context, b"in wal only").unwrap();
    match AgentDb::open(dir.path(), quiet()) {
        Err(Error::Locked { .. }) => {}
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    let ro = AgentDb::open(dir.path(), Options { read_only: true, ..quiet() }).unwrap();
    // The reader sees flushed data and the writer's WAL as of its open.
    assert_eq!(&ro.load_state(1, Some(1)).unwrap().data[..], b"in wal only");
    assert!(matches!(ro.save_state(1, 1, StateType::Context, b"x"), Err(Error::ReadOnly)));
    assert!(matches!(ro.flush(), Err(Error::ReadOnly)));
    // The writer keeps going while the reader is open.
    db.flush().unwrap();
    db.save_state(1, 1, StateType::Context, b"later").unwrap();
    assert_eq!(&ro.load_state_version(1, 1, 1).unwrap().data[..], b"flushed");
    drop(ro);
    drop(db);
    let db = open(dir.path());
    assert_eq!(&db.load_state(1, Some(1)).unwrap().data[..], b"later");
    assert!(matches!(
        AgentDb::open(dir.path().join("missing"), Options { read_only: true, ..quiet() }),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn compaction_merges_fragments_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    for round in 0..6u64 {
        for a in 0..20u64 {
            db.save_state(a, 0, StateType::Context, format!("{a}:{round}").as_bytes()).unwrap();
        }
        db.flush().unwrap();
    }
    let before = db.stats().unwrap();
    let states_before = before.tables.iter().find(|t| t.name == "states").unwrap().clone();
    assert_eq!(states_before.rows, 120);
    assert!(states_before.fragments >= 6, "{states_before:?}");
    let report = db.compact().unwrap();
    let after = db.stats().unwrap();
    let states_after = after.tables.iter().find(|t| t.name == "states").unwrap();
    assert_eq!(states_after.rows, 120);
    assert_eq!(states_after.fragments, 1, "{report:?}");
    assert!(states_after.indices >= 1, "agent_id index created");
    for a in 0..20u64 {
        assert_eq!(db.load_state(a, Some(0)).unwrap().data, format!("{a}:5").into_bytes());
    }
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.query_history(&HistoryQuery::new(3)).unwrap().len(), 6);
}

mod damaged_files {
    use super::*;
    use agentdb::states::records::StateRecord;
    use agentdb::storage::memtable::LogRecord;
    use agentdb::storage::wal::encode_frame;
    use agentdb::AgentState;
    use std::io::Write;

    fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
        let mut segs: Vec<_> = std::fs::read_dir(dir.join("wal")).unwrap().map(|e| e.unwrap().path()).collect();
        segs.sort();
        segs.pop().unwrap()
    }

    #[test]
    fn a_payload_that_fails_its_checksum_is_an_error_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.save_state(1, 1, StateType::Context, b"fine").unwrap();
        let lsn = db.stats().unwrap().last_lsn;
        drop(db);
        // A WAL frame that is itself intact but whose state's checksum is wrong
        // (bit rot before framing, or a bug): the engine must refuse to serve it.
        let bad = AgentState {
            agent_id: 1,
            session_id: 1,
            version: 2,
            timestamp_ms: 1,
            state_type: StateType::Context,
            data: agentdb::Bytes::from_static(b"rotten"),
            metadata: Default::default(),
            checksum: crc32c::crc32c(b"original"),
            key: None,
        };
        // Clean close flushed and rotated: the newest segment starts at lsn + 1.
        let seg = last_segment(dir.path());
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&encode_frame(lsn + 1, &StateRecord::Save(bad).encode().unwrap()).unwrap()).unwrap();
        drop(f);
        let db = open(dir.path());
        assert!(matches!(db.load_state(1, Some(1)), Err(Error::Corrupted(_))));
        assert!(matches!(db.load_state_version(1, 1, 2), Err(Error::Corrupted(_))));
        assert_eq!(&db.load_state_version(1, 1, 1).unwrap().data[..], b"fine");
    }

    #[test]
    fn torn_wal_tail_loses_only_the_unacknowledged_write() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options { fsync: agentdb::FsyncPolicy::Always, ..quiet() };
        let db = AgentDb::open(dir.path(), opts.clone()).unwrap();
        for i in 0..10u8 {
            db.save_state(1, 1, StateType::Context, &[i]).unwrap();
        }
        // Simulate a crash: forget the handle without closing (no flush), then tear the tail.
        std::mem::forget(db);
        let seg = last_segment(dir.path());
        let len = std::fs::metadata(&seg).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 3).unwrap();
        // The forgotten handle still holds the lock in this process; a read-only
        // open (no lock) sees the torn tail without repairing it.
        let ro = AgentDb::open(dir.path(), Options { read_only: true, ..quiet() }).unwrap();
        assert_eq!(ro.load_state(1, Some(1)).unwrap().version, 9);
    }

    #[test]
    fn corruption_inside_the_wal_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        for i in 0..10u8 {
            db.save_state(1, 1, StateType::Context, &[i; 100]).unwrap();
        }
        std::mem::forget(db);
        let seg = last_segment(dir.path());
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[40] ^= 0x55;
        std::fs::write(&seg, bytes).unwrap();
        match AgentDb::open(dir.path(), Options { read_only: true, ..quiet() }) {
            Err(Error::Corrupted(msg)) => assert!(msg.contains("checksum"), "{msg}"),
            other => panic!("expected Corrupted, got {:?}", other.err()),
        }
    }
}

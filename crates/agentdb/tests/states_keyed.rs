//! Keyed state access on real LanceDB: save with a caller key, load by key,
//! and history pages (newest first, before a cursor), across the memtable,
//! Lance (before and after the scalar indexes exist), reopen, retention
//! holes, agent deletes and bad input.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{AgentDb, Error, Options, StateRetention, StateType, MAX_STATE_KEY_BYTES};

fn quiet() -> Options {
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

fn open(dir: &std::path::Path) -> AgentDb {
    AgentDb::open(dir, quiet()).expect("open")
}

fn meta(k: &str, v: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(k.to_string(), v.to_string())])
}

fn versions(page: &[agentdb::AgentState]) -> Vec<u64> {
    page.iter().map(|s| s.version).collect()
}

/// Saves `n` keyed versions "ck-1".."ck-n" into (agent, session).
fn save_keyed(db: &AgentDb, agent: u64, session: u64, range: std::ops::RangeInclusive<u64>) {
    for i in range {
        let v = db
            .save_state_keyed(
                agent,
                session,
                &format!("ck-{i}"),
                StateType::TaskState,
                format!("data {i}").as_bytes(),
                meta("i", &i.to_string()),
            )
            .unwrap();
        assert_eq!(v, i);
    }
}

fn check_keys_and_pages(db: &AgentDb, n: u64) {
    for i in [1, 2, n / 2, n - 1, n] {
        let s = db.load_state_by_key(7, 3, &format!("ck-{i}")).unwrap();
        assert_eq!((s.version, &s.data[..]), (i, format!("data {i}").as_bytes()));
        assert_eq!(s.key.as_deref(), Some(format!("ck-{i}").as_str()));
        assert_eq!(s.metadata["i"], i.to_string());
    }
    assert!(matches!(db.load_state_by_key(7, 3, "ck-0"), Err(Error::NotFound(_))));
    // Same key, other session or agent: not found.
    assert!(matches!(db.load_state_by_key(7, 4, "ck-1"), Err(Error::NotFound(_))));
    assert!(matches!(db.load_state_by_key(8, 3, "ck-1"), Err(Error::NotFound(_))));

    assert_eq!(versions(&db.state_history_page(7, 3, None, 3).unwrap()), vec![n, n - 1, n - 2]);
    assert_eq!(versions(&db.state_history_page(7, 3, Some(n - 2), 3).unwrap()), vec![n - 3, n - 4, n - 5]);
    assert_eq!(versions(&db.state_history_page(7, 3, Some(3), 10).unwrap()), vec![2, 1]);
    assert!(db.state_history_page(7, 3, Some(1), 10).unwrap().is_empty());
    assert!(db.state_history_page(7, 3, Some(0), 10).unwrap().is_empty());
    // A cursor above the latest version is the newest page.
    assert_eq!(versions(&db.state_history_page(7, 3, Some(u64::MAX), 2).unwrap()), vec![n, n - 1]);
    assert!(db.state_history_page(7, 99, None, 10).unwrap().is_empty());
    // Walking the whole history page by page sees every version once, newest first.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.state_history_page(7, 3, cursor, 7).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|s| s.version);
        seen.extend(versions(&page));
    }
    assert_eq!(seen, (1..=n).rev().collect::<Vec<_>>());
}

#[test]
fn keyed_saves_load_by_key_and_page_in_memory_in_lance_indexed_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let n = 40;
    {
        let db = open(dir.path());
        save_keyed(&db, 7, 3, 1..=n);
        db.save_state(7, 4, StateType::Context, b"other session").unwrap();
        check_keys_and_pages(&db, n);
        db.flush().unwrap();
        check_keys_and_pages(&db, n);
        // Some versions in Lance, some in the memtable.
        save_keyed(&db, 7, 3, n + 1..=n + 5);
        check_keys_and_pages(&db, n + 5);
        db.flush().unwrap();
        // Scalar indexes (agent_id, version_key, state_key) are built by maintenance.
        db.compact().unwrap();
        check_keys_and_pages(&db, n + 5);
        save_keyed(&db, 7, 3, n + 6..=n + 8);
        db.flush().unwrap();
        // Indexed and unindexed fragments together.
        check_keys_and_pages(&db, n + 8);
    }
    let db = open(dir.path());
    check_keys_and_pages(&db, n + 8);
}

#[test]
fn the_newest_version_carrying_a_key_wins_and_unkeyed_versions_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.save_state_keyed(1, 1, "head", StateType::Context, b"a", BTreeMap::new()).unwrap();
    db.save_state(1, 1, StateType::Context, b"plain").unwrap();
    db.save_state_keyed(1, 1, "other", StateType::Context, b"o", BTreeMap::new()).unwrap();
    db.flush().unwrap();
    assert_eq!(&db.load_state_by_key(1, 1, "head").unwrap().data[..], b"a");
    db.save_state_keyed(1, 1, "head", StateType::Context, b"b", BTreeMap::new()).unwrap();
    let s = db.load_state_by_key(1, 1, "head").unwrap();
    assert_eq!((s.version, &s.data[..]), (4, &b"b"[..]));
    db.flush().unwrap();
    let s = db.load_state_by_key(1, 1, "head").unwrap();
    assert_eq!((s.version, &s.data[..]), (4, &b"b"[..]));
    let page = db.state_history_page(1, 1, None, 10).unwrap();
    assert_eq!(versions(&page), vec![4, 3, 2, 1]);
    assert_eq!(
        page.iter().map(|s| s.key.as_deref()).collect::<Vec<_>>(),
        vec![Some("head"), Some("other"), None, Some("head")]
    );
    // Keys are exact: no prefix, case or filter-syntax matching.
    for probe in ["hea", "HEAD", "head ", "' OR 1=1 --", "%", "*"] {
        assert!(matches!(db.load_state_by_key(1, 1, probe), Err(Error::NotFound(_))), "{probe:?}");
    }
    // Keys may hold any UTF-8, including quotes and filter syntax.
    for (i, key) in ["it's", "a\"b", "' OR 1=1 --", "检查点", "%_*"].iter().enumerate() {
        db.save_state_keyed(2, 1, key, StateType::Context, format!("{i}").as_bytes(), BTreeMap::new()).unwrap();
    }
    db.flush().unwrap();
    for (i, key) in ["it's", "a\"b", "' OR 1=1 --", "检查点", "%_*"].iter().enumerate() {
        assert_eq!(&db.load_state_by_key(2, 1, key).unwrap().data[..], format!("{i}").as_bytes(), "{key:?}");
    }
}

#[test]
fn bad_keys_and_limits_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.save_state(1, 1, StateType::Context, b"one").unwrap();
    let before = db.stats().unwrap().last_lsn;
    let long = "k".repeat(MAX_STATE_KEY_BYTES + 1);
    for key in ["", long.as_str()] {
        let r = db.save_state_keyed(1, 1, key, StateType::Context, b"x", BTreeMap::new());
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
        assert!(matches!(db.load_state_by_key(1, 1, key), Err(Error::InvalidArgument(_))));
    }
    assert!(db
        .save_state_keyed(1, 1, &"k".repeat(MAX_STATE_KEY_BYTES), StateType::Context, b"x", BTreeMap::new())
        .is_ok());
    let after_ok = db.stats().unwrap().last_lsn;
    assert_eq!(after_ok, before + 1, "only the valid save was logged");
    for limit in [0, agentdb::MAX_HISTORY_LIMIT + 1] {
        assert!(matches!(db.state_history_page(1, 1, None, limit), Err(Error::InvalidArgument(_))));
    }
    assert_eq!(db.load_state(1, Some(1)).unwrap().version, 2);
}

#[test]
fn retention_holes_and_agent_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    save_keyed(&db, 7, 3, 1..=20);
    db.flush().unwrap();
    let report = db.gc_with(&StateRetention::keep_last(5)).unwrap();
    assert!(report.state_versions_removed >= 15, "{report:?}");
    // Versions 1..=15 are gone: a page below 16 is empty, pages above are whole.
    assert_eq!(versions(&db.state_history_page(7, 3, None, 3).unwrap()), vec![20, 19, 18]);
    assert_eq!(versions(&db.state_history_page(7, 3, Some(18), 10).unwrap()), vec![17, 16]);
    assert!(db.state_history_page(7, 3, Some(16), 10).unwrap().is_empty());
    assert!(matches!(db.load_state_by_key(7, 3, "ck-3"), Err(Error::NotFound(_))));
    assert_eq!(db.load_state_by_key(7, 3, "ck-17").unwrap().version, 17);

    // A delete hides flushed and unflushed keyed versions at once, and keys
    // saved after it are found again.
    save_keyed(&db, 7, 3, 21..=22);
    db.delete_agent(7).unwrap();
    assert!(matches!(db.load_state_by_key(7, 3, "ck-17"), Err(Error::NotFound(_))));
    assert!(matches!(db.load_state_by_key(7, 3, "ck-22"), Err(Error::NotFound(_))));
    assert!(db.state_history_page(7, 3, None, 10).unwrap().is_empty());
    db.save_state_keyed(7, 3, "ck-17", StateType::Context, b"reborn", BTreeMap::new()).unwrap();
    assert_eq!(&db.load_state_by_key(7, 3, "ck-17").unwrap().data[..], b"reborn");
    db.flush().unwrap();
    assert_eq!(&db.load_state_by_key(7, 3, "ck-17").unwrap().data[..], b"reborn");
    assert_eq!(versions(&db.state_history_page(7, 3, None, 10).unwrap()), vec![1]);
}

#[test]
fn a_restored_snapshot_keeps_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.save_state_keyed(1, 1, "ck-a", StateType::Context, b"a", BTreeMap::new()).unwrap();
    db.create_snapshot(1, 1, "snap").unwrap();
    db.save_state_keyed(1, 1, "ck-b", StateType::Context, b"b", BTreeMap::new()).unwrap();
    let restored = db.restore_snapshot(1, "snap").unwrap();
    assert_eq!((restored.version, restored.key.as_deref()), (3, Some("ck-a")));
    assert_eq!(db.load_state_by_key(1, 1, "ck-a").unwrap().version, 3);
}

#[test]
fn maintenance_builds_the_composite_key_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    save_keyed(&db, 7, 3, 1..=10);
    db.compact().unwrap();
    // One index directory per B-tree: agent_id, version_key and state_key.
    let indices = dir.path().join("lance").join("states.lance").join("_indices");
    let count = std::fs::read_dir(&indices).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count, 3, "{}", indices.display());
    check_keys_and_pages(&db, 10);
}

//! Data lifecycle on real LanceDB: state-history retention (on demand and in
//! the background; snapshots and latest versions always stay) and bounded
//! disk growth (many small flushes and deletes, then automatic maintenance
//! brings fragments and bytes back down).

use std::time::{Duration, Instant};

use agentdb::{AgentDb, Error, HistoryQuery, Options, StateRetention, StateType};

fn quiet() -> Options {
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

fn versions(db: &AgentDb, agent: u64, session: u64) -> Vec<u64> {
    db.query_history(&HistoryQuery::new(agent).session(session).limit(1000))
        .unwrap()
        .iter()
        .map(|s| s.version)
        .collect()
}

/// Polls `cond` (background work) for up to a minute; timing is never asserted.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn gc_keeps_last_n_snapshots_and_latest() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    for i in 1..=10u64 {
        db.save_state(1, 1, StateType::Context, format!("s1 v{i}").as_bytes()).unwrap();
        if i == 2 {
            db.create_snapshot(1, 1, "early").unwrap();
        }
    }
    db.save_state(1, 2, StateType::Context, b"s2 v1").unwrap();
    db.save_state(1, 2, StateType::Context, b"s2 v2").unwrap();
    db.save_state(2, 1, StateType::Context, b"other agent").unwrap();

    assert!(matches!(db.gc_with(&StateRetention::keep_last(0)), Err(Error::InvalidArgument(_))));
    assert_eq!(versions(&db, 1, 1).len(), 10, "a rejected gc changes nothing");

    let report = db.gc_with(&StateRetention::keep_last(3)).unwrap();
    assert_eq!(report.state_versions_removed, 6, "versions 1 and 3..=7 of session 1 go");
    assert_eq!(versions(&db, 1, 1), vec![10, 9, 8, 2]);
    assert_eq!(versions(&db, 1, 2), vec![2, 1]);
    assert_eq!(versions(&db, 2, 1), vec![1]);
    assert!(matches!(db.load_state_version(1, 1, 5), Err(Error::NotFound(_))));
    assert_eq!(&db.load_state_version(1, 1, 2).unwrap().data[..], b"s1 v2");
    assert_eq!(db.load_state(1, Some(1)).unwrap().version, 10);

    // Rollback still works, and saving continues the version sequence.
    assert_eq!(&db.restore_snapshot(1, "early").unwrap().data[..], b"s1 v2");
    assert_eq!(db.save_state(1, 1, StateType::Context, b"after").unwrap(), 12);

    // A second run with the same retention is idempotent apart from the new versions.
    let again = db.gc_with(&StateRetention::keep_last(3)).unwrap();
    assert_eq!(again.state_versions_removed, 2, "versions 8 and 9 fall out of the last 3 (10, 11, 12)");
    db.close().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    assert_eq!(versions(&db, 1, 1), vec![12, 11, 10, 2]);
}

#[test]
fn gc_by_age_keeps_recent_versions() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    for _ in 0..5 {
        db.save_state(1, 1, StateType::Context, b"old").unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    db.save_state(1, 1, StateType::Context, b"new").unwrap();
    db.save_state(1, 1, StateType::Context, b"newer").unwrap();
    let before = db.query_history(&HistoryQuery::new(1).limit(100)).unwrap();
    let window = Duration::from_millis(300);
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let (t0, report, t1) = (now(), db.gc_with(&StateRetention::keep_newer_than(window)).unwrap(), now());
    let kept = versions(&db, 1, 1);
    // Decided against the clock at some moment in [t0, t1]: only rows on the
    // far side of the window at both ends have a fixed fate.
    for s in &before {
        let must_go = s.timestamp_ms < t0 - window.as_millis() as i64 && s.version != 7;
        let must_stay = s.timestamp_ms >= t1 - window.as_millis() as i64 || s.version == 7;
        assert!(!(must_go && kept.contains(&s.version)), "version {} is older than the window", s.version);
        assert!(!must_stay || kept.contains(&s.version), "version {} is inside the window", s.version);
    }
    assert!(kept.iter().all(|v| *v >= 6), "every old version went: {kept:?}");
    assert_eq!(report.state_versions_removed as usize, before.len() - kept.len());
    // The configured retention (none) deletes nothing.
    assert_eq!(db.gc().unwrap().state_versions_removed, 0);
}

#[test]
fn background_maintenance_applies_the_configured_retention() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        state_retention: StateRetention::keep_last(2),
        maintenance_interval: Some(Duration::from_millis(100)),
        flush_interval: Duration::from_millis(50),
        ..Options::default()
    };
    let db = AgentDb::open(dir.path(), opts).unwrap();
    for i in 0..20u64 {
        db.save_state(9, 1, StateType::TaskState, &i.to_le_bytes()).unwrap();
    }
    eventually("history trimmed to the last 2 versions", || versions(&db, 9, 1) == vec![20, 19]);
    assert_eq!(&db.load_state(9, Some(1)).unwrap().data[..], &19u64.to_le_bytes());
}

#[test]
fn disk_and_fragments_fall_back_after_deletes() {
    const AGENTS: u64 = 1_000;
    const BATCHES: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { version_retention: Duration::ZERO, ..quiet() };
    let db = AgentDb::open(dir.path(), opts.clone()).unwrap();
    let payload = [7u8; 64];
    // 100K small records in 100 small flushes: one Lance fragment each.
    for _ in 0..BATCHES {
        for agent in 0..AGENTS {
            db.save_state(agent, 1, StateType::Context, &payload).unwrap();
        }
        db.flush().unwrap();
    }
    for agent in (0..AGENTS).step_by(2) {
        db.delete_agent(agent).unwrap();
    }
    db.flush().unwrap();
    let states = |db: &AgentDb| match db.stats() {
        Ok(s) => s.tables.into_iter().find(|t| t.name == "states").unwrap(),
        Err(e) => {
            let mut names: Vec<String> = std::fs::read_dir(db.path().join("lance/states.lance/_versions"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            panic!("{e}: {names:?}");
        }
    };
    let before = states(&db);
    assert_eq!(before.rows, (AGENTS * BATCHES / 2) as usize);
    assert!(before.fragments >= BATCHES as usize / 2, "many small fragments before maintenance: {before:?}");
    db.close().unwrap();

    // Reopen with background maintenance on: nobody calls optimize by hand.
    let db =
        AgentDb::open(dir.path(), Options { maintenance_interval: Some(Duration::from_millis(200)), ..opts }).unwrap();
    eventually("maintenance compacted and pruned the states table", || {
        let t = states(&db);
        t.fragments <= 2 && t.versions <= 3
    });
    let after = states(&db);
    eprintln!(
        "states table: {} rows; before maintenance {} fragments, {} versions, {} bytes; after {} fragments, {} versions, {} bytes",
        after.rows, before.fragments, before.versions, before.disk_bytes, after.fragments, after.versions, after.disk_bytes
    );
    assert_eq!(after.rows, before.rows, "maintenance never changes what reads return");
    // Before maintenance the table has no index; after it, the three B-trees
    // (agent_id, and the keyed-access composites version_key and state_key)
    // are part of its disk use. The deleted half and the old versions must be
    // gone from the data files, and the indexes must stay a bounded cost per
    // live row.
    let bytes_under = |p: std::path::PathBuf| -> u64 {
        fn walk(p: &std::path::Path) -> u64 {
            std::fs::read_dir(p)
                .map(|d| {
                    d.flatten()
                        .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&p)
    };
    let table_dir = dir.path().join("lance/states.lance");
    let index_bytes = bytes_under(table_dir.join("_indices"));
    let data_after = after.disk_bytes - index_bytes;
    assert!(
        data_after * 2 < before.disk_bytes,
        "disk use fell back: {} → {} bytes ({} of them indexes)",
        before.disk_bytes,
        after.disk_bytes,
        index_bytes
    );
    assert!(after.disk_bytes < before.disk_bytes, "indexes included, disk use still fell");
    assert!(
        index_bytes < 40 * after.rows as u64,
        "three B-trees cost {index_bytes} bytes for {} live rows",
        after.rows
    );
    assert_eq!(db.load_state(1, Some(1)).unwrap().version, BATCHES);
    assert!(matches!(db.load_state(2, Some(1)), Err(Error::NotFound(_))));
    // The table can look compacted before the run over every table finishes and is recorded.
    eventually("the maintenance run is recorded", || db.stats().unwrap().last_maintenance.is_some());
    let last = db.stats().unwrap().last_maintenance.expect("maintenance ran");
    assert!(last.tables.iter().any(|t| t.table == "states"), "stats report what maintenance last did: {last:?}");
}

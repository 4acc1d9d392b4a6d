//! Damaged and missing files: an open refuses them with `Corrupted` before
//! recovery changes anything, so an operator who restores the damaged file
//! gets every acknowledged record back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentdb::{AgentDb, Error, FsyncPolicy, Options, StateType};

/// No background flush or maintenance: what a test writes after its last
/// explicit flush stays in the WAL.
fn quiet() -> Options {
    Options {
        fsync: FsyncPolicy::Always,
        flush_interval: Duration::from_secs(3600),
        memtable_flush_records: 1_000_000,
        maintenance_interval: None,
        ..Options::default()
    }
}

fn read_only() -> Options {
    Options { read_only: true, ..quiet() }
}

fn save_n(db: &AgentDb, agent: u64, n: u64) {
    for i in 0..n {
        db.save_state(agent, 1, StateType::Context, format!("agent {agent} step {i}").as_bytes()).unwrap();
    }
}

fn assert_all_there(dir: &Path, agent: u64, n: u64) {
    let db = AgentDb::open(dir, quiet()).unwrap();
    for v in 1..=n {
        let s = db.load_state_version(agent, 1, v).unwrap();
        assert_eq!(s.data, format!("agent {agent} step {}", v - 1).as_bytes(), "version {v}");
    }
    assert_eq!(db.load_state(agent, Some(1)).unwrap().version, n);
}

fn expect_corrupted(dir: &Path, opts: Options, needle: &str) {
    match AgentDb::open(dir, opts) {
        Err(Error::Corrupted(msg)) => assert!(msg.contains(needle), "{msg}"),
        Err(other) => panic!("expected Corrupted mentioning {needle:?}, got {other:?}"),
        Ok(_) => panic!("expected Corrupted mentioning {needle:?}, the database opened"),
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut s: Vec<PathBuf> = std::fs::read_dir(dir.join("wal")).unwrap().map(|e| e.unwrap().path()).collect();
    s.sort();
    s
}

/// Every file under `dir`, with its bytes: what "nothing was changed" compares.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "LOCK") {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A copy of the directory as a `kill -9` would leave it: everything
/// acknowledged is in the files (fsync = always, no background flush), and
/// the copy holds no writer lock.
fn killed_copy(write: impl FnOnce(&AgentDb)) -> tempfile::TempDir {
    let live = tempfile::tempdir().unwrap();
    let db = AgentDb::open(live.path(), quiet()).unwrap();
    write(&db);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(live.path(), copy.path());
    std::mem::forget(db); // never closed: no flush, no clean shutdown
    std::mem::forget(live);
    copy
}

#[test]
fn a_missing_checkpoint_is_corrupted_and_deletes_nothing() {
    let dir = killed_copy(|db| {
        save_n(db, 1, 10);
        db.flush().unwrap();
        save_n(db, 2, 5); // only in the WAL
    });
    let ckpt = dir.path().join("CHECKPOINT");
    let saved = std::fs::read(&ckpt).unwrap();
    std::fs::remove_file(&ckpt).unwrap();
    let before = snapshot(dir.path());
    expect_corrupted(dir.path(), quiet(), "CHECKPOINT is missing");
    expect_corrupted(dir.path(), read_only(), "CHECKPOINT is missing");
    assert_eq!(snapshot(dir.path()), before, "a refused open changes nothing");
    // Only lance/ copied (no CHECKPOINT, no wal/): still refused, not an empty database.
    let lance_only = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("lance"), &lance_only.path().join("lance"));
    expect_corrupted(lance_only.path(), quiet(), "table states.lance");
    // Restoring the file restores everything.
    std::fs::write(&ckpt, saved).unwrap();
    assert_all_there(dir.path(), 1, 10);
    assert_all_there(dir.path(), 2, 5);
}

#[test]
fn a_first_open_cut_short_before_its_first_checkpoint_opens_as_new() {
    let dir = tempfile::tempdir().unwrap();
    AgentDb::open(dir.path(), quiet()).unwrap().close().unwrap();
    std::fs::remove_file(dir.path().join("CHECKPOINT")).unwrap();
    // Empty tables and an empty WAL hold nothing to lose.
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    save_n(&db, 1, 2);
    db.close().unwrap();
    assert_all_there(dir.path(), 1, 2);
}

#[test]
fn a_table_older_than_the_checkpoint_is_corrupted_not_a_flush_to_undo() {
    use agentdb::storage::checkpoint;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = AgentDb::open(dir.path(), quiet()).unwrap();
        save_n(&db, 1, 10);
        db.close().unwrap();
    }
    // As if the states table's newest manifest were lost: the checkpoint
    // names a version the table does not reach.
    let good = checkpoint::load(dir.path()).unwrap().unwrap();
    let mut bad = good.clone();
    *bad.table_versions.get_mut("states").unwrap() += 3;
    checkpoint::store(dir.path(), &bad).unwrap();
    let before = snapshot(dir.path());
    expect_corrupted(dir.path(), quiet(), "older than the checkpoint");
    expect_corrupted(dir.path(), read_only(), "older than the checkpoint");
    assert_eq!(snapshot(dir.path()), before);
    checkpoint::store(dir.path(), &good).unwrap();
    assert_all_there(dir.path(), 1, 10);
}

#[test]
fn a_wal_gap_is_refused_before_a_partial_flush_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = AgentDb::open(dir.path(), quiet()).unwrap();
        save_n(&db, 1, 10);
        db.close().unwrap();
    }
    let old_ckpt = std::fs::read(dir.path().join("CHECKPOINT")).unwrap();
    {
        let db = AgentDb::open(dir.path(), quiet()).unwrap();
        save_n(&db, 2, 5);
        db.close().unwrap(); // flushed: tables ahead of the old checkpoint, WAL retired past it
    }
    let new_ckpt = std::fs::read(dir.path().join("CHECKPOINT")).unwrap();
    // The old checkpoint back: the tables look like a flush to undo (rows of
    // agent 2 above its LSN), and the WAL that would replay them is gone.
    std::fs::write(dir.path().join("CHECKPOINT"), &old_ckpt).unwrap();
    expect_corrupted(dir.path(), quiet(), "records are missing");
    std::fs::write(dir.path().join("CHECKPOINT"), &new_ckpt).unwrap();
    assert_all_there(dir.path(), 1, 10);
    assert_all_there(dir.path(), 2, 5);
}

#[test]
fn a_damaged_length_in_the_middle_of_the_wal_is_corrupted_and_the_segment_is_kept() {
    let dir = killed_copy(|db| save_n(db, 1, 298)); // everything is in the WAL only
    let seg = segments(dir.path()).pop().unwrap();
    let original = std::fs::read(&seg).unwrap();
    // Walk the frames (format 2: len u32 | lsn u64 | crc u32 | header crc u32 | payload) to record 150.
    let mut pos = 8;
    for _ in 0..149 {
        let len = u32::from_le_bytes(original[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 20 + len;
    }
    let mut damaged = original.clone();
    damaged[pos + 3] ^= 0x80; // the high byte of record 150's length
    std::fs::write(&seg, &damaged).unwrap();
    expect_corrupted(dir.path(), read_only(), "header checksum");
    expect_corrupted(dir.path(), quiet(), "header checksum");
    assert_eq!(std::fs::read(&seg).unwrap(), damaged, "the segment was neither truncated nor retired");
    std::fs::write(&seg, &original).unwrap();
    assert_all_there(dir.path(), 1, 298);
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

#[test]
fn a_path_with_a_nul_byte_is_invalid_input_not_an_io_error() {
    assert!(matches!(AgentDb::open("a\0b", quiet()), Err(Error::InvalidArgument(_))));
    assert!(matches!(AgentDb::open("a\0b", read_only()), Err(Error::InvalidArgument(_))));
}

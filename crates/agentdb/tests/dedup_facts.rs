//! Dedup never loses a fact: pairs of memories (tests/data/dedup_pairs.json)
//! stored one after the other with the default merge options and the built-in
//! model. A pair of different facts (numbers, dates, names, negation, roles,
//! updates of a value) must stay two memories; the same fact said again may
//! merge. Prints the confusion table (`--nocapture`) for the closing notes.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{AgentDb, MemoryType, NewMemory, Options, StoreKind};

#[derive(serde::Deserialize)]
struct Pair {
    category: String,
    expect: String,
    a: String,
    b: String,
}

#[derive(serde::Deserialize)]
struct PairSet {
    pairs: Vec<Pair>,
}

fn pairs() -> Vec<Pair> {
    let text = include_str!("data/dedup_pairs.json");
    serde_json::from_str::<PairSet>(text).unwrap().pairs
}

#[test]
fn different_facts_are_never_merged_and_restatements_may_be() {
    let pairs = pairs();
    assert!(pairs.len() >= 100, "the set holds at least 100 pairs");
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() };
    let db = AgentDb::open(dir.path(), opts).unwrap();
    // (category, expectation) -> (merged, kept apart)
    let mut table: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut lost = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        let agent = 1000 + i as u64; // one agent per pair: pairs never meet
        let first = db.store_memory(NewMemory::new(agent, MemoryType::Semantic, p.a.as_str())).unwrap();
        let outcome = db.store_memory_outcome(NewMemory::new(agent, MemoryType::Semantic, p.b.as_str())).unwrap();
        let merged = !matches!(outcome.kind, StoreKind::Stored);
        let cell = table.entry((p.category.as_str(), p.expect.as_str())).or_default();
        if merged {
            cell.0 += 1;
        } else {
            cell.1 += 1;
        }
        let live: Vec<String> = db.list_memories(agent).unwrap().into_iter().map(|m| m.content).collect();
        if p.expect == "keep_both" {
            if merged || live.len() != 2 {
                lost.push(format!("{}: {:?} + {:?} -> {:?} (first id {first})", p.category, p.a, p.b, live));
            }
        } else {
            assert_eq!(p.expect, "may_merge", "pair {i}: unknown expectation");
            // A merge keeps the newest text (keep_newest); keeping both loses nothing.
            assert!(live.contains(&p.b), "{}: the newer text is gone: {live:?}", p.category);
        }
    }
    println!("category      expected    merged  kept apart");
    for ((category, expect), (merged, apart)) in &table {
        println!("{category:<13} {expect:<11} {merged:>6}  {apart:>10}");
    }
    assert!(lost.is_empty(), "{} different facts were merged:\n{}", lost.len(), lost.join("\n"));
    // Restatements still merge (the guard must not switch dedup off): most
    // of them are within the default threshold with the built-in model.
    let (merged, apart) = table.get(&("paraphrase", "may_merge")).copied().unwrap_or_default();
    assert!(merged * 2 >= merged + apart, "only {merged} of {} restatements merged", merged + apart);
}

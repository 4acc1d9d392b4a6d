//! Dedup and merge rules, as pure functions (the engine does the I/O).
//!
//! - Exact duplicates: same agent, type and *normalised* content (trimmed,
//!   whitespace runs collapsed to one space, lowercased, all by Unicode
//!   rules). The `memories` table stores `content_hash` (FNV-1a 64 of the
//!   normalised text) so a store finds candidates with one indexed lookup;
//!   equality of the normalised text confirms them (a hash collision never merges).
//! - Near-duplicates: cosine ≥ `Options::memory_merge_threshold` *and* the
//!   same stated facts (`facts.rs`: numbers, times, negation, roles, names),
//!   resolved by `MergePolicy`. A group is a seed and every memory within the threshold of
//!   the seed (not transitively), so no member is further than the threshold
//!   from the memory that brought it in.
//! - A merge never loses the trace of what it removed: the survivor takes the
//!   highest importance, the summed access counts, the latest access and
//!   expiry, the metadata keys it lacked, and the absorbed ids.
//! - Pinned memories are never absorbed; a group with a pinned member keeps it
//!   as the survivor whatever the policy, and other pinned members stay apart.

use std::collections::BTreeMap;

use super::memtable::MemoryPatch;
use super::scoring::cosine;
use super::types::{parse_id_list, Memory, MergePolicy, ABSORBED_IDS_KEY};

/// A merge adds absorbed metadata keys only up to the entry limit that
/// `store_memory` enforces on input (states' `MAX_METADATA_ENTRIES`).
const MAX_MERGED_METADATA_ENTRIES: usize = 256;

/// Trimmed, whitespace-collapsed, lowercased: what "the same content" means.
pub fn normalize_content(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    for word in content.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// FNV-1a 64 of the normalised content. Stable across platforms and
/// versions (it is stored on disk); collisions are harmless because a
/// match is confirmed on the normalised text.
///
/// Computed over the normalised text as it is produced, without building
/// it: the memtable hashes every stored memory under the WAL lock.
pub fn content_hash(content: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let step = |h: u64, b: u8| (h ^ u64::from(b)).wrapping_mul(PRIME);
    let mut h = OFFSET;
    let mut utf8 = [0u8; 4];
    // `normalize_content` char by char: whitespace runs between words
    // become one space, and ASCII (most text) skips the Unicode tables.
    let (mut started, mut space) = (false, false);
    for c in content.chars() {
        if c.is_whitespace() {
            space = started;
            continue;
        }
        if space {
            h = step(h, b' ');
            space = false;
        }
        started = true;
        if c.is_ascii() {
            h = step(h, c.to_ascii_lowercase() as u8);
        } else {
            for l in c.to_lowercase() {
                h = l.encode_utf8(&mut utf8).bytes().fold(h, step);
            }
        }
    }
    h
}

/// Appends ids to the comma-separated `absorbed_ids` list, keeping earlier ones.
pub(crate) fn append_absorbed_ids(metadata: &mut BTreeMap<String, String>, ids: impl IntoIterator<Item = u64>) {
    let mut list = parse_id_list(metadata.get(ABSORBED_IDS_KEY).map_or("", |s| s.as_str()));
    let before = list.len();
    for id in ids {
        if !list.contains(&id) {
            list.push(id);
        }
    }
    if list.len() != before {
        let joined = list.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        metadata.insert(ABSORBED_IDS_KEY.to_string(), joined);
    }
}

/// The delta that makes `survivor` absorb `absorbed`. A member with id 0 is a
/// memory being stored (no id yet); `restated` counts the store as one access.
pub(crate) fn absorb_patch(survivor: &Memory, absorbed: &[&Memory], restated: bool) -> MemoryPatch {
    debug_assert!(absorbed.iter().all(|m| !m.pinned), "pinned memories are never absorbed");
    debug_assert!(absorbed.iter().all(|m| m.memory_id != survivor.memory_id || m.memory_id == 0));
    let mut patch = MemoryPatch {
        access_increment: absorbed.iter().map(|m| m.access_count).sum::<u64>() + u64::from(restated),
        ..Default::default()
    };
    if let Some(max) = absorbed.iter().map(|m| m.importance).reduce(f32::max) {
        if max > survivor.importance {
            patch.importance_floor = Some(max);
        }
    }
    patch.last_access_ms = absorbed.iter().map(|m| m.last_access_ms).max().filter(|t| *t > survivor.last_access_ms);
    if let Some(own) = survivor.expires_at_ms {
        // The merged memory lives as long as the longest-lived member.
        let latest = absorbed.iter().try_fold(own, |acc, m| m.expires_at_ms.map(|t| acc.max(t)));
        if latest != Some(own) {
            patch.expires_at_ms = Some(latest);
        }
    }
    let mut room = MAX_MERGED_METADATA_ENTRIES.saturating_sub(survivor.metadata.len() + 1);
    for m in absorbed {
        for (k, v) in &m.metadata {
            if room == 0 {
                break;
            }
            if k != ABSORBED_IDS_KEY && !survivor.metadata.contains_key(k) && !patch.metadata_defaults.contains_key(k) {
                patch.metadata_defaults.insert(k.clone(), v.clone());
                room -= 1;
            }
        }
        patch.absorbed_ids.extend(m.absorbed_ids());
        if m.memory_id != 0 {
            patch.absorbed_ids.push(m.memory_id);
        }
    }
    patch
}

/// Newest first: creation time, then id (a memory being stored, id 0, is the newest).
fn recency_key(m: &Memory) -> (i64, u64) {
    (m.created_at_ms, if m.memory_id == 0 { u64::MAX } else { m.memory_id })
}

/// Index of the member that survives a merge of `members` (all near-duplicates
/// of `members[0]`), or None if the policy keeps them all. The first pinned
/// member wins whatever the policy.
pub(crate) fn choose_survivor(policy: MergePolicy, members: &[&Memory]) -> Option<usize> {
    if members.len() < 2 {
        return None;
    }
    if let Some(i) = members.iter().position(|m| m.pinned) {
        return Some(i);
    }
    let idx = |best: Option<(usize, &&Memory)>| best.map(|(i, _)| i);
    match policy {
        MergePolicy::KeepBoth => None,
        MergePolicy::KeepNewest => idx(members.iter().enumerate().max_by_key(|(_, m)| recency_key(m))),
        MergePolicy::KeepMostImportant => idx(members
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| a.importance.total_cmp(&b.importance).then(recency_key(a).cmp(&recency_key(b))))),
    }
}

/// Greedy grouping for `consolidate`: in the given order (oldest first), each
/// memory not yet grouped seeds a group of the later ungrouped memories of
/// its type that are exact duplicates of it or, unless the policy keeps
/// both, within `threshold` cosine of it. Returns groups of ≥ 2 indices,
/// seed first.
pub(crate) fn group_duplicates(memories: &[Memory], threshold: f32, policy: MergePolicy) -> Vec<Vec<usize>> {
    let normalised: Vec<String> = memories.iter().map(|m| normalize_content(&m.content)).collect();
    let mut grouped = vec![false; memories.len()];
    let mut groups = Vec::new();
    for seed in 0..memories.len() {
        if grouped[seed] {
            continue;
        }
        let mut group = vec![seed];
        for other in seed + 1..memories.len() {
            if grouped[other] || memories[other].memory_type != memories[seed].memory_type {
                continue;
            }
            let exact = normalised[other] == normalised[seed];
            let near = policy != MergePolicy::KeepBoth
                && cosine(&memories[seed].embedding, &memories[other].embedding) >= threshold
                && super::same_facts(&memories[seed], &memories[other]);
            if exact || near {
                group.push(other);
            }
        }
        if group.len() > 1 {
            for &i in &group {
                grouped[i] = true;
            }
            groups.push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memories::MemoryType;

    fn mem(id: u64, importance: f32, created: i64) -> Memory {
        Memory {
            memory_id: id,
            agent_id: 1,
            memory_type: MemoryType::Semantic,
            // Distinct texts with no fact tokens (numbers, names…), so the
            // near-duplicate rule is decided by the vectors alone.
            content: format!("note {}", char::from(b'a' + (id % 26) as u8)),
            embedding: vec![1.0, 0.0],
            importance,
            access_count: id,
            last_access_ms: created,
            created_at_ms: created,
            expires_at_ms: None,
            metadata: BTreeMap::new(),
            pinned: false,
        }
    }

    #[test]
    fn normalisation_is_unicode_aware() {
        assert_eq!(normalize_content("  The User\u{00A0}likes\t\nTEA  "), "the user likes tea");
        assert_eq!(normalize_content("ÉCOLE\u{3000}Straße"), "école straße");
        assert_eq!(content_hash("Likes  tea"), content_hash("likes tea\n"));
        assert_ne!(content_hash("likes tea"), content_hash("likes tea."));
        // Pinned on disk: the hash must never change between versions.
        assert_eq!(content_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(content_hash("a"), 0xaf63_dc4c_8601_ec8c);
        // The streaming hash is FNV-1a of exactly the normalised bytes.
        let fnv = |s: &str| {
            s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
        };
        for text in [
            "",
            " ",
            "a",
            "  The User\u{00A0}likes\t\nTEA  ",
            "ÉCOLE\u{3000}Straße İstanbul ǅ",
            "x  y\u{2028}z",
            "ΣΑΣ",
            "a\u{000B}b\u{0085}c\u{000C}\rD ",
            "学习 旅行\t茶 火车 MiXeD 123",
        ] {
            assert_eq!(content_hash(text), fnv(&normalize_content(text)), "{text:?}");
        }
    }

    #[test]
    fn absorbed_ids_append_without_repeats() {
        let mut meta = BTreeMap::from([(ABSORBED_IDS_KEY.to_string(), "3,5".to_string())]);
        append_absorbed_ids(&mut meta, [5, 9, 11]);
        assert_eq!(meta[ABSORBED_IDS_KEY], "3,5,9,11");
    }

    #[test]
    fn survivor_by_policy_and_pin() {
        let old_important = mem(1, 0.9, 10);
        let newer = mem(2, 0.3, 20);
        let newest = mem(3, 0.3, 30);
        let members = [&old_important, &newer, &newest];
        assert_eq!(choose_survivor(MergePolicy::KeepNewest, &members), Some(2));
        assert_eq!(choose_survivor(MergePolicy::KeepMostImportant, &members), Some(0));
        assert_eq!(choose_survivor(MergePolicy::KeepBoth, &members), None);
        let mut pinned = mem(2, 0.1, 20);
        pinned.pinned = true;
        for p in MergePolicy::ALL {
            assert_eq!(choose_survivor(p, &[&old_important, &pinned, &newest]), Some(1), "{p}");
        }
        // Importance tie: the newest; a memory being stored (id 0) is newest.
        let fresh = mem(0, 0.3, 30);
        assert_eq!(choose_survivor(MergePolicy::KeepMostImportant, &[&newer, &fresh]), Some(1));
    }

    #[test]
    fn absorbing_keeps_the_strongest_signals() {
        let mut survivor = mem(7, 0.4, 100);
        survivor.expires_at_ms = Some(1_000);
        survivor.metadata.insert("topic".into(), "drink".into());
        let mut a = mem(3, 0.8, 50);
        a.expires_at_ms = None;
        a.metadata.insert("topic".into(), "other".into());
        a.metadata.insert("source".into(), "chat".into());
        a.metadata.insert(ABSORBED_IDS_KEY.into(), "1,2".into());
        let b = mem(0, 0.2, 200); // a memory being stored
        let p = absorb_patch(&survivor, &[&a, &b], true);
        let mut out = survivor.clone();
        p.apply(42, &mut out);
        assert_eq!(out.importance, 0.8);
        assert_eq!(out.access_count, 7 + 3 + 1);
        assert_eq!(out.last_access_ms, 200);
        assert_eq!(out.expires_at_ms, None, "an absorbed memory without expiry makes the survivor permanent");
        assert_eq!(out.metadata["topic"], "drink", "the survivor's own values win");
        assert_eq!(out.metadata["source"], "chat");
        assert_eq!(out.absorbed_ids(), vec![1, 2, 3]);
        let own = MemoryPatch { absorbs_own_record: true, ..p };
        let mut out = survivor.clone();
        own.apply(42, &mut out);
        assert_eq!(out.absorbed_ids(), vec![1, 2, 3, 42]);
    }

    #[test]
    fn groups_are_seeded_in_order_and_respect_type_and_policy() {
        let mut ms: Vec<Memory> = (1..=5).map(|i| mem(i, 0.5, i as i64)).collect();
        ms[1].embedding = vec![0.0, 1.0];
        ms[2].content = "NOTE C".into(); // exact duplicate of ms[1] by content, far by vector
        ms[2].embedding = vec![1.0, -1.0];
        ms[3].memory_type = MemoryType::Episodic;
        ms[4].embedding = vec![0.99, 0.1];
        assert_eq!(group_duplicates(&ms, 0.9, MergePolicy::KeepNewest), vec![vec![0, 4], vec![1, 2]]);
        assert_eq!(group_duplicates(&ms, 0.9, MergePolicy::KeepBoth), vec![vec![1, 2]]);
    }
}

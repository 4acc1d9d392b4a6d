//! The exact-duplicate index: (fingerprint of agent, type and content hash,
//! memory id) for every live memory, so a store that has no exact duplicate
//! (nearly every store) learns it without a Lance query.
//!
//! Invariants:
//! - It is a *superset* of the live memories: an entry is removed only when
//!   its memory is known to be gone (deleted, or purged after expiry), and
//!   every memory is added when the record that stores it is applied (live
//!   or replayed) or when the Lance rows are loaded. A memory is never live
//!   without its entry, so a miss proves there is no exact duplicate.
//! - A hit is only a candidate: the store reads the memory, confirms it is
//!   live and compares the normalised text (fingerprints can collide, and an
//!   entry can outlive its memory until the flush or purge that removes the
//!   row). Stale entries cost a read, never a wrong answer.
//!
//! It also counts entries per (agent, type): an upper bound on a group's
//! live memories, which decides whether the group's vectors are worth
//! caching and whether a store can skip the eviction read of a limit.
//!
//! Layout, for ~16–20 bytes per memory (we target < 100 MB RAM per million
//! records overall): a sorted `Vec<(fingerprint, id)>` (16 bytes an entry,
//! binary-searched) plus a small `BTreeSet` of entries added since the last
//! rebuild; a removal from the vector overwrites the id with a tombstone. The
//! two are merged once the additions and tombstones reach a quarter of the
//! vector, so rebuilds cost O(1) amortised per store.

use std::collections::{BTreeSet, HashMap};

use super::types::MemoryType;

/// A memory group: agent and type (dedup, merges and limits apply within one).
pub(crate) type GroupKey = (u64, MemoryType);

/// Entries added or removed before a rebuild, at least (below this a rebuild
/// would run too often for a small index to gain anything).
const REBUILD_MIN_CHANGES: usize = 4096;
/// An id that no memory has: memory ids are LSNs, and an LSN never reaches it.
const TOMBSTONE_ID: u64 = u64::MAX;

/// One 64-bit key for (agent, type, content hash): agent and type are mixed
/// into the hash, then the splitmix64 finaliser spreads every input bit.
pub(crate) fn fingerprint(agent_id: u64, memory_type: MemoryType, content_hash: u64) -> u64 {
    let t = MemoryType::ALL.iter().position(|x| *x == memory_type).unwrap_or(0) as u64 + 1;
    let mut z = content_hash ^ agent_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ t.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Default)]
pub(crate) struct DedupIndex {
    /// Sorted by fingerprint (and id, until a tombstone overwrites one).
    base: Vec<(u64, u64)>,
    /// Tombstones in `base`.
    removed: usize,
    /// Entries added since the last rebuild, absent from `base`.
    added: BTreeSet<(u64, u64)>,
    /// Entries per group (only groups with at least one).
    group_lens: HashMap<GroupKey, u32>,
    /// Whether the memories already in Lance when the database was opened
    /// have been added (done on first need, not at open: see `memories`).
    pub loaded: bool,
}

impl DedupIndex {
    /// The slice of `base` holding `fingerprint` (tombstones included).
    fn base_range(&self, fingerprint: u64) -> std::ops::Range<usize> {
        let start = self.base.partition_point(|e| e.0 < fingerprint);
        let len = self.base[start..].iter().take_while(|e| e.0 == fingerprint).count();
        start..start + len
    }

    /// Adds a memory of `group`; adding one that is present does nothing.
    pub fn insert(&mut self, fingerprint: u64, id: u64, group: GroupKey) {
        if self.insert_unsorted(fingerprint, id, group) {
            self.maybe_rebuild();
        }
    }

    fn insert_unsorted(&mut self, fingerprint: u64, id: u64, group: GroupKey) -> bool {
        debug_assert_ne!(id, TOMBSTONE_ID);
        if self.base[self.base_range(fingerprint)].iter().any(|e| e.1 == id) || !self.added.insert((fingerprint, id)) {
            return false;
        }
        *self.group_lens.entry(group).or_default() += 1;
        true
    }

    /// Removes a memory of `group` that is gone; removing an absent one does nothing.
    pub fn remove(&mut self, fingerprint: u64, id: u64, group: GroupKey) {
        let removed = self.added.remove(&(fingerprint, id)) || {
            let range = self.base_range(fingerprint);
            match self.base[range].iter_mut().find(|e| e.1 == id) {
                Some(e) => {
                    e.1 = TOMBSTONE_ID;
                    self.removed += 1;
                    true
                }
                None => false,
            }
        };
        if !removed {
            return;
        }
        if let Some(n) = self.group_lens.get_mut(&group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.group_lens.remove(&group);
            }
        }
        self.maybe_rebuild();
    }

    /// At least as many as the group's live memories (the index may still
    /// hold some that are gone).
    pub fn group_len(&self, group: GroupKey) -> usize {
        self.group_lens.get(&group).map_or(0, |n| *n as usize)
    }

    /// The memories whose fingerprint is `fingerprint` (candidates only).
    pub fn ids(&self, fingerprint: u64) -> Vec<u64> {
        let mut out: Vec<u64> =
            self.base[self.base_range(fingerprint)].iter().map(|e| e.1).filter(|id| *id != TOMBSTONE_ID).collect();
        out.extend(self.added.range((fingerprint, 0)..=(fingerprint, u64::MAX)).map(|e| e.1));
        out
    }

    /// Adds many (fingerprint, id, group) at once (the Lance rows, when loading).
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (u64, u64, GroupKey)>) {
        for (fingerprint, id, group) in entries {
            self.insert_unsorted(fingerprint, id, group);
        }
        self.rebuild();
    }

    pub fn len(&self) -> usize {
        self.base.len() - self.removed + self.added.len()
    }

    /// Heap bytes held (a `BTreeSet` entry is counted at its typical ~28
    /// bytes, a group count at ~40).
    pub fn heap_bytes(&self) -> usize {
        self.base.capacity() * std::mem::size_of::<(u64, u64)>()
            + self.added.len() * 28
            + self.group_lens.capacity() * 40
    }

    fn maybe_rebuild(&mut self) {
        if self.added.len() + self.removed >= REBUILD_MIN_CHANGES.max(self.base.len() / 4) {
            self.rebuild();
        }
    }

    /// Merges `added` into `base` and drops tombstones: one linear merge of
    /// two sorted sequences into a vector of exactly the needed capacity.
    fn rebuild(&mut self) {
        let added = std::mem::take(&mut self.added);
        let mut merged = Vec::with_capacity(self.len());
        let mut old = self.base.iter().copied().filter(|e| e.1 != TOMBSTONE_ID).peekable();
        for e in added {
            while let Some(o) = old.next_if(|o| *o < e) {
                merged.push(o);
            }
            if old.peek() != Some(&e) {
                merged.push(e);
            }
        }
        merged.extend(old);
        debug_assert!(merged.windows(2).all(|w| w[0] < w[1]), "the index stays sorted and free of repeats");
        self.base = merged;
        self.removed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_agents_and_types() {
        let h = 0x1234_5678_9abc_def0;
        let a = fingerprint(1, MemoryType::Semantic, h);
        assert_ne!(a, fingerprint(2, MemoryType::Semantic, h));
        assert_ne!(a, fingerprint(1, MemoryType::Episodic, h));
        assert_ne!(a, fingerprint(1, MemoryType::Semantic, h + 1));
        assert_eq!(a, fingerprint(1, MemoryType::Semantic, h));
    }

    /// Random inserts and removals (with repeats, shared fingerprints and
    /// rebuilds on the way) against a plain set.
    #[test]
    fn behaves_like_a_set_of_pairs() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut index = DedupIndex::default();
        let mut model: BTreeSet<(u64, u64)> = BTreeSet::new();
        // Few fingerprints, so many ids share one; the group is a function of the id.
        let fp = |rng: &mut fastrand::Rng| rng.u64(0..3000);
        let group = |id: u64| (id % 7, MemoryType::ALL[(id % 4) as usize]);
        index.extend((0..5000).map(|i| (i % 2000, i, group(i))));
        model.extend((0..5000).map(|i| (i % 2000, i)));
        for step in 0..60_000u64 {
            match rng.u8(0..10) {
                0..=4 => {
                    let e = (fp(&mut rng), rng.u64(0..20_000));
                    index.insert(e.0, e.1, group(e.1));
                    model.insert(e);
                }
                5..=8 => {
                    // Mostly present entries, sometimes absent ones.
                    let e = match model.iter().nth(rng.usize(0..model.len().max(1))) {
                        Some(e) if rng.bool() => *e,
                        _ => (fp(&mut rng), rng.u64(0..20_000)),
                    };
                    index.remove(e.0, e.1, group(e.1));
                    model.remove(&e);
                }
                _ => {
                    let f = fp(&mut rng);
                    let mut got = index.ids(f);
                    got.sort_unstable();
                    let want: Vec<u64> = model.range((f, 0)..=(f, u64::MAX)).map(|e| e.1).collect();
                    assert_eq!(got, want, "step {step}, fingerprint {f}");
                }
            }
            assert_eq!(index.len(), model.len(), "step {step}");
            if step % 1000 == 0 {
                for g in 0..7 {
                    for t in MemoryType::ALL {
                        let want = model.iter().filter(|e| group(e.1) == (g, t)).count();
                        assert_eq!(index.group_len((g, t)), want, "step {step}, group {g} {t}");
                    }
                }
            }
        }
        for f in 0..3000 {
            let mut got = index.ids(f);
            got.sort_unstable();
            assert_eq!(got, model.range((f, 0)..=(f, u64::MAX)).map(|e| e.1).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_large_index_costs_about_sixteen_bytes_an_entry() {
        let mut index = DedupIndex::default();
        index.extend(
            (0..200_000u64)
                .map(|i| (fingerprint(i % 100, MemoryType::Semantic, i), i, (i % 100, MemoryType::Semantic))),
        );
        for i in 200_000..240_000u64 {
            index.insert(fingerprint(i % 100, MemoryType::Semantic, i), i, (i % 100, MemoryType::Semantic));
        }
        let per_entry = index.heap_bytes() as f64 / index.len() as f64;
        assert!(per_entry <= 24.0, "{per_entry:.1} bytes per entry");
    }
}

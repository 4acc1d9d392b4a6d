//! Near-duplicate candidates without a Lance query: per memory group
//! (agent, type), the embeddings of every memory the group holds, quantized
//! to int8, in a cache bounded in bytes.
//!
//! A Lance query costs milliseconds however small its answer (measured on
//! 100K memories: ~12 ms for one agent's vector search, ~2.5 ms for a point
//! read), while comparing a vector against 1000 cached ones takes ~50 µs. So a
//! store compares against the cached group, and reads only the memories that
//! may reach the threshold.
//!
//! Exactness: each cached vector keeps `err`, an upper bound of the norm of
//! its quantization error (of the unit vector). For a unit query `a` and a
//! stored unit vector `b = r + e` (`r` the dequantized codes), `a·b = a·r +
//! a·e ≤ a·r + ‖e‖`: a memory whose bound stays below the threshold cannot be
//! a near-duplicate, and every other one is confirmed on its exact vector.
//! Quantization never decides a merge; it only rules memories out.
//!
//! Invariants (the engine keeps them under the agent's lifecycle lock):
//! - A cached group holds every live memory of the group (it may hold some
//!   that are gone or expired: confirmation reads drop them).
//! - Only a store changes which memories a group has; it updates the cached
//!   group with the memory it created and those it absorbed or evicted.
//!   Other removals (delete, forget, consolidate) drop the ids too.

use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use super::dedup::GroupKey;

/// Added to every bound for floating-point rounding: of the unit query, of
/// the f32 dot product, and of the exact cosine that confirms a candidate
/// (each below n·2⁻²⁴ relative for n components; this covers 4n·2⁻²⁴).
fn rounding_slack(dimension: usize) -> f32 {
    1e-4 + dimension as f32 * 2.4e-7
}

/// Independent accumulators: lets the compiler vectorise the dot product
/// (a single f32 accumulator cannot be reordered, so it would not).
const DOT_LANES: usize = 16;

/// `a · q` for f32 `a` and int8 `q`.
fn dot_i8(a: &[f32], q: &[i8]) -> f32 {
    let mut acc = [0f32; DOT_LANES];
    let (mut ac, mut qc) = (a.chunks_exact(DOT_LANES), q.chunks_exact(DOT_LANES));
    for (x, y) in (&mut ac).zip(&mut qc) {
        for k in 0..DOT_LANES {
            acc[k] += x[k] * f32::from(y[k]);
        }
    }
    let tail: f32 = ac.remainder().iter().zip(qc.remainder()).map(|(x, y)| x * f32::from(*y)).sum();
    acc.iter().sum::<f32>() + tail
}

/// The int8-quantized unit embeddings of one group's memories.
pub(crate) struct GroupVectors {
    dimension: usize,
    ids: Vec<u64>,
    scales: Vec<f32>,
    /// Upper bound of ‖unit vector − scale·codes‖.
    errors: Vec<f32>,
    /// `dimension` codes per memory.
    codes: Vec<i8>,
}

impl GroupVectors {
    pub fn new(dimension: usize) -> Self {
        GroupVectors { dimension, ids: Vec::new(), scales: Vec::new(), errors: Vec::new(), codes: Vec::new() }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Heap bytes held (capacity, not length: what the allocator gave).
    pub fn bytes(&self) -> usize {
        self.ids.capacity() * 8 + self.scales.capacity() * 4 + self.errors.capacity() * 4 + self.codes.capacity()
    }

    /// Adds a memory's embedding (of this group's dimension).
    pub fn push(&mut self, id: u64, embedding: &[f32]) {
        debug_assert_eq!(embedding.len(), self.dimension);
        let norm = embedding.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
        let max = embedding.iter().fold(0f64, |m, x| m.max(f64::from(x.abs())));
        self.ids.push(id);
        if norm == 0.0 || max == 0.0 {
            // Cosine with a zero vector is 0, below any threshold (which is > 0).
            self.scales.push(0.0);
            self.errors.push(0.0);
            self.codes.extend(std::iter::repeat_n(0, self.dimension));
            return;
        }
        let scale = max / norm / 127.0;
        let mut err2 = 0f64;
        for x in embedding {
            let unit = f64::from(*x) / norm;
            let q = (unit / scale).round().clamp(-127.0, 127.0);
            // Measured against the f32 scale the comparison will use.
            let e = unit - q * f64::from(scale as f32);
            err2 += e * e;
            self.codes.push(q as i8);
        }
        self.scales.push(scale as f32);
        // Rounded up: the bound must hold after the f32 conversion.
        self.errors.push((err2.sqrt() * (1.0 + 1e-6) + 1e-7) as f32);
    }

    /// Removes a memory; true if it was there.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(i) = self.ids.iter().position(|x| *x == id) else { return false };
        let last = self.ids.len() - 1;
        self.ids.swap_remove(i);
        self.scales.swap_remove(i);
        self.errors.swap_remove(i);
        if i != last {
            let d = self.dimension;
            self.codes.copy_within(last * d..(last + 1) * d, i * d);
        }
        self.codes.truncate(last * self.dimension);
        true
    }

    /// Ids whose cosine with `query` may reach `threshold` (a superset of
    /// those that do), appended to `out`.
    pub fn candidates(&self, query: &[f32], threshold: f32, out: &mut Vec<u64>) {
        debug_assert_eq!(query.len(), self.dimension);
        let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            return;
        }
        let unit: Vec<f32> = query.iter().map(|x| x / norm).collect();
        let slack = rounding_slack(self.dimension);
        for (i, codes) in self.codes.chunks_exact(self.dimension).enumerate() {
            if dot_i8(&unit, codes) * self.scales[i] + self.errors[i] + slack >= threshold {
                out.push(self.ids[i]);
            }
        }
    }
}

/// Cached groups, least recently used evicted first once over the budget.
pub(crate) struct VectorCache {
    /// Each group with the bytes it is accounted at.
    groups: LruCache<GroupKey, (Arc<Mutex<GroupVectors>>, usize)>,
    /// Sum of the accounted bytes.
    bytes: usize,
    budget_bytes: usize,
}

impl VectorCache {
    pub fn new(budget_bytes: usize) -> Self {
        VectorCache { groups: LruCache::unbounded(), bytes: 0, budget_bytes }
    }

    pub fn get(&mut self, key: &GroupKey) -> Option<Arc<Mutex<GroupVectors>>> {
        self.groups.get(key).map(|(g, _)| g.clone())
    }

    /// Caches a group (replacing any older copy), then evicts down to the budget.
    pub fn insert(&mut self, key: GroupKey, group: Arc<Mutex<GroupVectors>>) {
        let bytes = group.lock().bytes();
        if let Some((_, old)) = self.groups.put(key, (group, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        self.evict();
    }

    /// Accounts a cached group at its new size (nothing if it left the cache).
    pub fn account(&mut self, key: &GroupKey, bytes: usize) {
        if let Some((_, accounted)) = self.groups.peek_mut(key) {
            self.bytes = self.bytes - *accounted + bytes;
            *accounted = bytes;
            self.evict();
        }
    }

    fn evict(&mut self) {
        while self.bytes > self.budget_bytes {
            let Some((_, (_, bytes))) = self.groups.pop_lru() else { break };
            self.bytes -= bytes;
        }
        debug_assert_eq!(self.bytes, self.groups.iter().map(|(_, (_, b))| *b).sum::<usize>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memories::scoring::cosine;

    fn random_vector(rng: &mut fastrand::Rng, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| rng.f32() * 2.0 - 1.0).collect()
    }

    /// A vector at roughly the given cosine from `base` (mixing in noise).
    fn near(rng: &mut fastrand::Rng, base: &[f32], mix: f32) -> Vec<f32> {
        let noise = random_vector(rng, base.len());
        let nb = base.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nn = noise.iter().map(|x| x * x).sum::<f32>().sqrt();
        base.iter().zip(&noise).map(|(b, n)| b / nb * (1.0 - mix) + n / nn * mix).collect()
    }

    /// The bound never rules out a memory whose exact cosine reaches the
    /// threshold, across scales, skewed components and values near it.
    #[test]
    fn candidates_include_every_memory_at_or_above_the_threshold() {
        let mut rng = fastrand::Rng::with_seed(11);
        for dim in [3, 384, 1024] {
            let mut group = GroupVectors::new(dim);
            let mut stored = Vec::new();
            let base = random_vector(&mut rng, dim);
            for id in 1..=600u64 {
                let mix = rng.f32() * 0.6;
                let mut v = near(&mut rng, &base, mix);
                if id % 5 == 0 {
                    v[0] *= 40.0; // one dominant component: a coarse scale
                }
                if id % 7 == 0 {
                    v.iter_mut().for_each(|x| *x *= 1e-3); // not unit length
                }
                group.push(id, &v);
                stored.push((id, v));
            }
            group.push(601, &vec![0.0; dim]);
            let mut kept = 0;
            for q in 0..50 {
                let mix = rng.f32() * 0.6;
                let query = near(&mut rng, &base, mix);
                for threshold in [0.3, 0.7, 0.88, 0.95, 1.0] {
                    let mut out = Vec::new();
                    group.candidates(&query, threshold, &mut out);
                    assert!(!out.contains(&601), "a zero vector is never near");
                    for (id, v) in &stored {
                        let c = cosine(&query, v);
                        if c >= threshold {
                            assert!(out.contains(id), "dim {dim} query {q}: cosine {c} ≥ {threshold} ruled out");
                        }
                    }
                    kept += out.len();
                }
            }
            assert!(kept < 50 * 5 * 601, "the bound rules some memories out");
        }
    }

    #[test]
    fn the_bound_is_tight_enough_to_rule_out_most_memories() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut group = GroupVectors::new(384);
        let mut false_candidates = 0;
        for id in 0..2000u64 {
            group.push(id, &random_vector(&mut rng, 384));
        }
        for _ in 0..100 {
            let mut out = Vec::new();
            group.candidates(&random_vector(&mut rng, 384), 0.88, &mut out);
            false_candidates += out.len();
        }
        assert_eq!(false_candidates, 0, "unrelated vectors (cosine ~0 ± 0.05) are never candidates");
    }

    #[test]
    fn remove_keeps_the_other_vectors_aligned() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut group = GroupVectors::new(16);
        let vs: Vec<Vec<f32>> = (0..10).map(|_| random_vector(&mut rng, 16)).collect();
        for (i, v) in vs.iter().enumerate() {
            group.push(i as u64, v);
        }
        assert!(group.remove(3) && group.remove(9) && group.remove(0));
        assert!(!group.remove(3));
        assert_eq!(group.len(), 7);
        for (i, v) in vs.iter().enumerate() {
            let mut out = Vec::new();
            group.candidates(v, 0.999, &mut out);
            assert_eq!(out.contains(&(i as u64)), ![0, 3, 9].contains(&i), "vector {i}");
        }
    }

    #[test]
    fn the_cache_evicts_least_recently_used_groups_over_its_budget() {
        let group = |n: u64| {
            let mut g = GroupVectors::new(100);
            for id in 0..n {
                g.push(id, &[1.0; 100]);
            }
            Arc::new(Mutex::new(g))
        };
        let one = group(10).lock().bytes();
        let mut cache = VectorCache::new(one * 3);
        for agent in 0..3 {
            cache.insert((agent, crate::memories::MemoryType::Semantic), group(10));
        }
        cache.get(&(0, crate::memories::MemoryType::Semantic)); // 1 is now the least recently used
        cache.insert((3, crate::memories::MemoryType::Semantic), group(10));
        assert!(cache.get(&(1, crate::memories::MemoryType::Semantic)).is_none());
        assert!(cache.get(&(0, crate::memories::MemoryType::Semantic)).is_some());
        assert_eq!(cache.bytes, one * 3);
        // A group that grows is accounted, and pushes the least recently used out.
        let grown = cache.get(&(2, crate::memories::MemoryType::Semantic)).expect("group 2 is cached");
        let before = grown.lock().bytes();
        for id in 10..20 {
            grown.lock().push(id, &[1.0; 100]);
        }
        let after = grown.lock().bytes();
        assert!(after > before);
        cache.account(&(2, crate::memories::MemoryType::Semantic), after);
        assert!(cache.get(&(3, crate::memories::MemoryType::Semantic)).is_none(), "3 was the least recently used");
        assert!(cache.get(&(2, crate::memories::MemoryType::Semantic)).is_some());
        assert!(cache.bytes <= one * 3);
    }
}

//! Memory subsystem: typed memories with importance, access tracking and
//! expiry; similarity retrieval re-ranked by relevance, importance and
//! recency (see `scoring`); forgetting; updates; and the lifecycle of
//! issue 7: exact-duplicate dedup, near-duplicate merging and
//! `consolidate` (rules in `merge`), pinning, per-agent-type limits.
//!
//! Invariants:
//! - A memory's id is the LSN of the write that created it: unique, never reused.
//! - Changes after creation are deltas (`MemoryPatch`) in the WAL; reads
//!   compose the newest stored row with the unflushed deltas, so a
//!   retrieval's access bump never costs a Lance write.
//! - Expired memories are never returned; maintenance purges them. Pinned
//!   memories never expire and are never forgotten, evicted or absorbed.
//! - Every search sees memories stored a moment ago (memtable scanned flat
//!   beside the Lance vector search).
//! - A merge or eviction is ONE WAL record with the store or patch that
//!   causes it (`StoreMemoryWith`, `UpdateMemories`): after a crash the
//!   survivor and the memories it absorbed never both exist, nor neither.
//! - Every write whose decision depends on other memories of the agent (store,
//!   consolidate, forget, pin, delete) holds that agent's lifecycle lock; a
//!   batch takes its agents' locks in shard order.
//! - A store asks Lance nothing unless it duplicates or merges: exact
//!   duplicates come from the in-memory index (`dedup`), near-duplicates from
//!   the group's cached int8 vectors (`near`); both may hold memories that
//!   are gone, never miss one that is live, and every hit is confirmed on
//!   the memory itself.

mod dedup;
mod facts;
pub mod memtable;
mod merge;
mod near;
pub mod records;
pub mod scoring;
pub mod table;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

pub use merge::{content_hash, normalize_content};
pub use types::{
    ConsolidationReport, ForgetPolicy, Memory, MemoryFilter, MemoryType, MergeGroup, MergePolicy, NewMemory,
    RetrieveOptions, ScoredMemory, StoreKind, StoreOutcome, ABSORBED_IDS_KEY, MAX_CONTENT_BYTES, MAX_RETRIEVE_LIMIT,
};

pub(crate) use dedup::{DedupIndex, GroupKey};
pub(crate) use merge::append_absorbed_ids;

/// The exact-dedup key of a memory: agent, type and normalised content.
pub(crate) fn dedup_fingerprint(m: &Memory) -> u64 {
    dedup::fingerprint(m.agent_id, m.memory_type, content_hash(&m.content))
}

/// Whether two near-duplicates state the same facts, so merging them loses
/// nothing (`facts`: numbers, times, negation, roles and names must agree).
pub(crate) fn same_facts(a: &Memory, b: &Memory) -> bool {
    facts::differing_facts(&a.content, &b.content).is_none()
}

/// The group a memory belongs to: dedup, merges and limits apply within it.
pub(crate) fn group_of(m: &Memory) -> GroupKey {
    (m.agent_id, m.memory_type)
}

pub(crate) use types::validate_vector as validate_vector_public;

use crate::cancel::{Cancel, Cancellable};
use crate::engine::{now_ms, Engine};
use crate::storage::memtable::FlushSet;
use crate::storage::read::newest_by_key;
use crate::storage::tables::{self, filter, Stored};
use crate::{AgentDb, Error, Result};
use memtable::{compose, MemoriesMem, MemoryPatch};
use records::MemoryRecord;

/// Lance rows fetched beyond the candidates wanted: room for a metadata
/// prefilter's false matches and lingering old rows before a second fetch.
const MEMORY_FETCH_SLACK: usize = 8;
/// Each further fetch of a memory search asks for this many times more rows.
const MEMORY_REFETCH_GROWTH: usize = 4;
const AGENT_LOCK_SHARDS: usize = 64;
/// Near-duplicates examined per store (most similar first).
const MERGE_CANDIDATES_MAX: usize = 16;
/// Bytes of int8 embeddings cached for near-duplicate checks (`near`): at
/// 384 dimensions ~400 bytes a memory, so ~160K memories' groups. A cache,
/// not a per-record cost: a database that stores no memories never fills it.
const VECTOR_CACHE_BYTES: usize = 64 << 20;
/// A group with more memories is never cached: its stores run a Lance
/// vector search each (loading it would read ~1.5 KB a memory at once).
const GROUP_CACHE_MEMORIES_MAX: usize = 16_384;
/// Everything but `content` and `embedding`: enough to score and evict.
const SCORING_COLUMNS: [&str; 11] = [
    "lsn",
    "memory_id",
    "agent_id",
    "memory_type",
    "importance",
    "access_count",
    "last_access_ms",
    "created_at_ms",
    "expires_at_ms",
    "metadata",
    "pinned",
];
/// What the exact-dedup index is built from.
const FINGERPRINT_COLUMNS: [&str; 4] = ["memory_id", "agent_id", "memory_type", "content_hash"];

/// Per-engine state of the memory lifecycle (dedup, merges, pins, limits).
pub(crate) struct Lifecycle {
    /// Sharded by agent: a store's duplicate check, merge and eviction, and
    /// consolidate, forget and pin of the same agent, happen one at a time,
    /// so two stores of one fact cannot both miss each other and a memory
    /// being pinned cannot be merged away at the same moment.
    agent_locks: Vec<parking_lot::Mutex<()>>,
    /// Whether the `memories` table has the lifecycle columns; false only
    /// for a read-only open of a database the previous version wrote.
    has_lifecycle_columns: std::sync::OnceLock<bool>,
    /// Held while the Lance rows are added to the exact-dedup index.
    dedup_load: parking_lot::Mutex<()>,
    /// Per-group int8 embeddings for near-duplicate checks (see `near`).
    /// Never locked while `mem` or `drain_gate` is held, nor the reverse.
    vectors: parking_lot::Mutex<near::VectorCache>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            agent_locks: (0..AGENT_LOCK_SHARDS).map(|_| parking_lot::Mutex::new(())).collect(),
            has_lifecycle_columns: std::sync::OnceLock::new(),
            dedup_load: parking_lot::Mutex::new(()),
            vectors: parking_lot::Mutex::new(near::VectorCache::new(VECTOR_CACHE_BYTES)),
        }
    }
}

/// `migrate_table` on the `memories` table if the database has one.
pub(crate) async fn migrate_existing_table(conn: &lancedb::Connection) -> Result<bool> {
    let names = conn.table_names().execute().await?;
    if !names.iter().any(|n| n == table::MEMORIES_TABLE) {
        return Ok(false);
    }
    migrate_table(&conn.open_table(table::MEMORIES_TABLE).execute().await?).await
}

/// Brings a `memories` table written by the previous version up to the
/// current schema, in one Lance commit: `pinned` = false and `content_hash`
/// computed from each row's content (a Lance batch UDF reads only
/// `content`, fragment by fragment). Returns whether it changed anything.
/// A crash before the commit leaves the old table, and the next open retries.
pub(crate) async fn migrate_table(table: &lancedb::Table) -> Result<bool> {
    use arrow_array::{Array, BooleanArray, RecordBatch, StringArray, UInt64Array};
    let schema = table.schema().await?;
    let missing: Vec<&str> =
        table::MEMORY_LIFECYCLE_COLUMNS.iter().copied().filter(|c| schema.field_with_name(c).is_err()).collect();
    if missing.is_empty() {
        return Ok(false);
    }
    if missing.len() != table::MEMORY_LIFECYCLE_COLUMNS.len() {
        // Both columns are added by one commit, so this is not our doing.
        return Err(Error::corrupted(format!("memories table lacks only {missing:?} of the lifecycle columns")));
    }
    let full = table::memories_schema(tables::embedding_dimension(&schema).unwrap_or(1));
    let output_schema = Arc::new(arrow_schema::Schema::new(
        table::MEMORY_LIFECYCLE_COLUMNS
            .iter()
            .map(|c| full.field_with_name(c).cloned())
            .collect::<std::result::Result<Vec<_>, _>>()?,
    ));
    let out_schema = output_schema.clone();
    let mapper = move |batch: &RecordBatch| -> lance::Result<RecordBatch> {
        let content = batch
            .column_by_name("content")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| lance::Error::invalid_input("memories.content missing or not UTF-8"))?;
        let pinned = BooleanArray::from(vec![false; content.len()]);
        let hashes = UInt64Array::from_iter_values((0..content.len()).map(|i| content_hash(content.value(i))));
        Ok(RecordBatch::try_new(out_schema.clone(), vec![Arc::new(pinned), Arc::new(hashes)])?)
    };
    let udf = lance::dataset::BatchUDF { mapper: Box::new(mapper), output_schema, result_checkpoint: None };
    table
        .add_columns()
        .transform(lancedb::table::NewColumnTransform::BatchUDF(udf))
        .read_columns(["content"])
        .execute()
        .await?;
    tracing::info!("migrated the memories table: added pinned and content_hash");
    Ok(true)
}

fn agent_lock_shard(agent_id: u64) -> usize {
    (agent_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % AGENT_LOCK_SHARDS
}

impl Engine {
    pub(crate) fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        if text.trim().is_empty() {
            return Err(Error::invalid("text must not be empty"));
        }
        let mut v = self.embedder()?.embed(&[text])?;
        v.pop().ok_or_else(|| Error::Embedding("embedder returned no vector".into()))
    }

    fn agent_lock(&self, agent_id: u64) -> parking_lot::MutexGuard<'_, ()> {
        self.memories.memory_lifecycle.agent_locks[agent_lock_shard(agent_id)].lock()
    }

    /// The lifecycle locks of several agents, taken in shard order (so two
    /// batches never wait on each other in a cycle).
    fn agent_locks(&self, agents: impl Iterator<Item = u64>) -> Vec<parking_lot::MutexGuard<'_, ()>> {
        let mut shards: Vec<usize> = agents.map(agent_lock_shard).collect();
        shards.sort_unstable();
        shards.dedup();
        shards.into_iter().map(|i| self.memories.memory_lifecycle.agent_locks[i].lock()).collect()
    }

    fn has_lifecycle_columns(&self) -> Result<bool> {
        if let Some(has) = self.memories.memory_lifecycle.has_lifecycle_columns.get() {
            return Ok(*has);
        }
        let schema = self.block_on(self.memories.memories_tbl.schema())?;
        let has = table::MEMORY_LIFECYCLE_COLUMNS.iter().all(|c| schema.field_with_name(c).is_ok());
        Ok(*self.memories.memory_lifecycle.has_lifecycle_columns.get_or_init(|| has))
    }

    /// The Lance predicate for rows visible at `now` (pinned, or not expired).
    fn visible(&self, now: i64) -> Result<lancedb::expr::DfExpr> {
        Ok(table::memory_visible(now, self.has_lifecycle_columns()?))
    }

    /// Live memories of one agent: Lance rows matching `extra` (and the
    /// memtable's memories), newest version per id with unflushed patches
    /// applied, minus deleted and expired ones, that pass `keep`.
    /// `columns` projects the Lance read (see `memories_from_batch`).
    fn live_memories(
        &self,
        agent_id: u64,
        extra: Option<lancedb::expr::DfExpr>,
        columns: Option<&[&str]>,
        keep: impl Fn(&Memory) -> bool,
    ) -> Result<Vec<Memory>> {
        let now = now_ms();
        let read = self.begin_read();
        let (fresh, tombstones): (Vec<Stored<Memory>>, Vec<u64>) = {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            let fresh = m
                .memories
                .values()
                .filter(|s| s.value.agent_id == agent_id)
                .map(|s| compose(s, m.patches_of(s.lsn)))
                .collect();
            (fresh, m.tombstones.keys().copied().collect())
        };
        let mut pred = filter::u64_eq("agent_id", agent_id).and(self.visible(now)?);
        if let Some(x) = extra {
            pred = pred.and(x);
        }
        let batches = self.block_on(tables::query(&self.memories.memories_tbl, Some(pred), columns, None, None))?;
        let mut from_lance = Vec::new();
        {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            for b in &batches {
                for (row, _) in table::memories_from_batch(b)? {
                    let id = row.value.memory_id;
                    if !tombstones.contains(&id) {
                        from_lance.push(compose(&row, m.patches_of(id)));
                    }
                }
            }
        }
        drop(read);
        // Memtable rows first: they win a tie with their own row mid-flush.
        let best = newest_by_key(fresh.into_iter().chain(from_lance), |m| m.memory_id);
        Ok(best.into_values().map(|s| s.value).filter(|m| !m.is_expired(now) && keep(m)).collect())
    }

    /// Adds the memories that were already in Lance at open to the
    /// exact-dedup index, once, on the first store (so opening a database
    /// never scans its memories). Those stored, replayed or deleted since
    /// open are maintained by the memtable's `apply` whether loaded or not.
    fn ensure_dedup_loaded(&self) -> Result<()> {
        if self.memtable().part::<MemoriesMem>().dedup.loaded {
            return Ok(());
        }
        let _load = self.memories.memory_lifecycle.dedup_load.lock();
        if self.memtable().part::<MemoriesMem>().dedup.loaded {
            return Ok(());
        }
        let started = std::time::Instant::now();
        // Every row, expired or not: a row whose TTL ran out may belong to a
        // memory pinned by an unflushed patch. Superfluous entries cost
        // nothing but a confirmation read on a hit, and maintenance's purge
        // removes them with the rows.
        let found = self.block_on(self.lance_fingerprints(None))?;
        let mut mem = self.memtable_mut();
        let m = mem.part_mut::<MemoriesMem>();
        m.dedup.extend(found.into_iter().filter(|(_, id, _)| !m.tombstones.contains_key(id)));
        m.dedup.loaded = true;
        tracing::debug!(
            entries = m.dedup.len(),
            heap_bytes = m.dedup.heap_bytes(),
            ms = started.elapsed().as_millis() as u64,
            "loaded the memory dedup index"
        );
        Ok(())
    }

    /// (fingerprint, memory_id, group) of the Lance rows matching `pred`,
    /// read as a stream of four narrow columns.
    pub(crate) async fn lance_fingerprints(
        &self,
        pred: Option<lancedb::expr::DfExpr>,
    ) -> Result<Vec<(u64, u64, GroupKey)>> {
        use arrow_array::{StringArray, UInt64Array};
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase, Select};
        let mut q = self.memories.memories_tbl.query().select(Select::columns(&FINGERPRINT_COLUMNS));
        if let Some(p) = pred {
            q = q.only_if_expr(p);
        }
        let mut stream = q.execute().await?;
        let mut out = Vec::new();
        while let Some(b) = stream.try_next().await? {
            let u64s = |name: &str| {
                b.column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                    .ok_or_else(|| Error::corrupted(format!("memories.{name} missing or not u64")))
            };
            let (ids, agents, hashes) = (u64s("memory_id")?, u64s("agent_id")?, u64s("content_hash")?);
            let types = b
                .column_by_name("memory_type")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| Error::corrupted("memories.memory_type missing or not UTF-8"))?;
            for i in 0..b.num_rows() {
                let t: MemoryType = types.value(i).parse().map_err(|_| Error::corrupted("unknown memory type"))?;
                let agent = agents.value(i);
                out.push((dedup::fingerprint(agent, t, hashes.value(i)), ids.value(i), (agent, t)));
            }
        }
        Ok(out)
    }

    /// Drops exact-dedup entries of memories that are gone for good (their
    /// rows deleted by a flush or purge).
    pub(crate) fn forget_dedup_entries(&self, gone: &[(u64, u64, GroupKey)]) {
        if gone.is_empty() {
            return;
        }
        let mut mem = self.memtable_mut();
        let m = mem.part_mut::<MemoriesMem>();
        for &(fp, id, group) in gone {
            m.dedup.remove(fp, id, group);
        }
    }

    /// The current version of each id that still exists, expired or not
    /// (absent: deleted, or never stored). One Lance query for the ids the
    /// memtable does not hold.
    fn memories_by_id(&self, ids: &[u64]) -> Result<HashMap<u64, Memory>> {
        let read = self.begin_read();
        let mut out = HashMap::new();
        let mut in_lance: HashMap<u64, Vec<(u64, MemoryPatch)>> = HashMap::new();
        {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            for &id in ids {
                match m.memory(id) {
                    Some(Some(s)) => {
                        out.insert(id, s.value);
                    }
                    Some(None) => {} // deleted
                    None => {
                        in_lance.insert(id, m.patches_of(id).to_vec());
                    }
                }
            }
        }
        if !in_lance.is_empty() {
            let lance_ids: Vec<u64> = in_lance.keys().copied().collect();
            for (id, base) in self.block_on(self.latest_memory_rows(&lance_ids))? {
                out.insert(id, compose(&base, &in_lance[&id]).value);
            }
        }
        Ok(out)
    }

    /// A live memory of the same agent and type whose normalised content
    /// equals the new one's: pinned first, then the oldest. A miss in the
    /// dedup index answers without reading anything; a hit is confirmed on
    /// the memory itself (fingerprints may collide, entries may outlive
    /// their memories until the flush or purge that removes the rows).
    fn exact_duplicate(&self, new: &Memory) -> Result<Option<Memory>> {
        let ids = self.memtable().part::<MemoriesMem>().dedup.ids(dedup_fingerprint(new));
        if ids.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let normalised = normalize_content(&new.content);
        Ok(self
            .memories_by_id(&ids)?
            .into_values()
            .filter(|m| !m.is_expired(now) && group_of(m) == group_of(new))
            .filter(|m| normalize_content(&m.content) == normalised)
            .min_by_key(|m| (!m.pinned, m.memory_id)))
    }

    /// Near-duplicates of `new` (same agent and type, cosine ≥ the
    /// threshold), most similar first: a Lance vector search, for groups
    /// too large to cache.
    fn near_duplicates(&self, new: &Memory) -> Result<Vec<Memory>> {
        let filter = MemoryFilter::default().types(&[new.memory_type]);
        let threshold = self.opts().memory_merge_threshold;
        Ok(self
            .similar_candidates(new.agent_id, &new.embedding, MERGE_CANDIDATES_MAX, &filter, None)?
            .into_iter()
            .filter(|(m, sim)| *sim >= threshold && same_facts(new, m))
            .map(|(m, _)| m)
            .collect())
    }

    /// `near_duplicates` from the group's cached vectors: only the memories
    /// the quantization bound cannot rule out are read, and each is kept
    /// only if live and its exact cosine reaches the threshold.
    fn near_duplicates_cached(
        &self,
        new: &Memory,
        group: &Arc<parking_lot::Mutex<near::GroupVectors>>,
    ) -> Result<Vec<Memory>> {
        let threshold = self.opts().memory_merge_threshold;
        let mut ids = Vec::new();
        group.lock().candidates(&new.embedding, threshold, &mut ids);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.memories_by_id(&ids)?;
        let gone: Vec<u64> = ids.iter().copied().filter(|id| !found.contains_key(id)).collect();
        if !gone.is_empty() {
            self.group_changed(group_of(new), Some(group), None, &gone);
        }
        let now = now_ms();
        let mut near: Vec<(Memory, f32)> = found
            .into_values()
            .filter(|m| !m.is_expired(now))
            .map(|m| {
                debug_assert_eq!(group_of(&m), group_of(new), "a cached group holds only its own memories");
                let sim = scoring::cosine(&new.embedding, &m.embedding);
                (m, sim)
            })
            .filter(|(m, sim)| *sim >= threshold && same_facts(new, m))
            .collect();
        near.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.memory_id.cmp(&a.0.memory_id)));
        near.truncate(MERGE_CANDIDATES_MAX);
        Ok(near.into_iter().map(|(m, _)| m).collect())
    }

    /// The cached vectors of each group, loading those not cached with one
    /// Lance scan; None for a group too large to cache (its stores search
    /// Lance each). The caller holds the groups' agent locks, so no other
    /// store changes them until it is done.
    fn group_vectors(
        &self,
        keys: &[GroupKey],
    ) -> Result<HashMap<GroupKey, Option<Arc<parking_lot::Mutex<near::GroupVectors>>>>> {
        let dim = self.opts().memory_dimension;
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        {
            let mut cache = self.memories.memory_lifecycle.vectors.lock();
            for key in keys {
                match cache.get(key) {
                    Some(g) => {
                        out.insert(*key, Some(g));
                    }
                    None => missing.push(*key),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        // What may be loaded: groups the dedup index (a superset of the live
        // memories) says are small, up to what the cache can hold in all.
        let mut room = VECTOR_CACHE_BYTES / (dim + 16);
        let mut to_load: HashMap<GroupKey, near::GroupVectors> = HashMap::new();
        let mut empty = Vec::new();
        {
            let mem = self.memtable();
            let m = mem.part::<MemoriesMem>();
            for key in missing {
                let n = m.dedup.group_len(key);
                if n == 0 {
                    empty.push(key); // nothing to read
                } else if n <= GROUP_CACHE_MEMORIES_MAX && n <= room {
                    room -= n;
                    to_load.insert(key, near::GroupVectors::new(dim));
                } else {
                    out.insert(key, None);
                }
            }
        }
        if !to_load.is_empty() {
            self.load_group_vectors(&mut to_load)?;
        }
        let mut cache = self.memories.memory_lifecycle.vectors.lock();
        for (key, g) in to_load.into_iter().chain(empty.into_iter().map(|k| (k, near::GroupVectors::new(dim)))) {
            let g = Arc::new(parking_lot::Mutex::new(g));
            cache.insert(key, g.clone());
            out.insert(key, Some(g));
        }
        Ok(out)
    }

    /// Fills `groups` with every memory they hold: the memtable's, then
    /// one Lance scan of (memory_id, agent_id, memory_type, embedding) for
    /// their agents and types, under the drain gate so that no memory moves
    /// from the memtable to Lance unseen.
    fn load_group_vectors(&self, groups: &mut HashMap<GroupKey, near::GroupVectors>) -> Result<()> {
        use arrow_array::{Array, FixedSizeListArray, Float32Array, StringArray, UInt64Array};
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase, Select};
        let read = self.begin_read();
        let mut seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
        {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            for s in m.memories.values() {
                if let Some(g) = groups.get_mut(&group_of(&s.value)) {
                    seen.insert(s.value.memory_id);
                    g.push(s.value.memory_id, &s.value.embedding);
                }
            }
        }
        let mut agents: Vec<u64> = groups.keys().map(|k| k.0).collect();
        agents.sort_unstable();
        agents.dedup();
        let mut types: Vec<&str> = groups.keys().map(|k| k.1.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        // No expiry filter: a row whose TTL ran out may be pinned by an
        // unflushed patch. Expired memories are ruled out on confirmation.
        let pred = filter::u64_in("agent_id", &agents).and(filter::str_in("memory_type", &types));
        self.block_on(async {
            let mut stream = self
                .memories
                .memories_tbl
                .query()
                .only_if_expr(pred)
                .select(Select::columns(&["memory_id", "agent_id", "memory_type", "embedding"]))
                .execute()
                .await?;
            while let Some(b) = stream.try_next().await? {
                let col = |name: &str| {
                    b.column_by_name(name).ok_or_else(|| Error::corrupted(format!("memories.{name} missing")))
                };
                let ids = col("memory_id")?
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| Error::corrupted("memory_id"))?;
                let agent = col("agent_id")?
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| Error::corrupted("agent_id"))?;
                let mtype = col("memory_type")?
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::corrupted("memory_type"))?;
                let emb = col("embedding")?
                    .as_any()
                    .downcast_ref::<FixedSizeListArray>()
                    .ok_or_else(|| Error::corrupted("embedding"))?;
                let values = emb
                    .values()
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .ok_or_else(|| Error::corrupted("embedding values"))?;
                let dim = emb.value_length() as usize;
                for i in 0..b.num_rows() {
                    let t: MemoryType = mtype.value(i).parse().map_err(|_| Error::corrupted("unknown memory type"))?;
                    let Some(g) = groups.get_mut(&(agent.value(i), t)) else { continue };
                    // A memory flushed a moment ago, or an older row of it, is seen once.
                    if seen.insert(ids.value(i)) {
                        let start = emb.value_offset(i) as usize;
                        g.push(ids.value(i), &values.values()[start..start + dim]);
                    }
                }
            }
            Ok::<_, Error>(())
        })?;
        // Deleted since (tombstones only grow while the gate is held).
        let mem = read.memtable();
        let m = mem.part::<MemoriesMem>();
        for g in groups.values_mut() {
            let dead: Vec<u64> = g.ids().iter().copied().filter(|id| m.tombstones.contains_key(id)).collect();
            for id in dead {
                g.remove(id);
            }
        }
        Ok(())
    }

    /// Applies a change of a group's memories to its cached vectors (and
    /// to `local`, a group a batch holds that may have left the cache).
    fn group_changed(
        &self,
        key: GroupKey,
        local: Option<&Arc<parking_lot::Mutex<near::GroupVectors>>>,
        added: Option<(u64, &[f32])>,
        removed: &[u64],
    ) {
        let cached = self.memories.memory_lifecycle.vectors.lock().get(&key);
        // Only a holder of the agent lock loads a group, so a group cached
        // now is the one the batch holds, if it holds one.
        debug_assert!(match (&cached, local) {
            (Some(c), Some(l)) => Arc::ptr_eq(c, l),
            _ => true,
        });
        let Some(group) = cached.clone().or_else(|| local.cloned()) else { return };
        let bytes = {
            let mut g = group.lock();
            for id in removed {
                g.remove(*id);
            }
            if let Some((id, embedding)) = added {
                g.push(id, embedding);
            }
            g.bytes()
        };
        if cached.is_some() {
            self.memories.memory_lifecycle.vectors.lock().account(&key, bytes);
        }
    }

    /// Memories to evict so that storing one more memory of `new`'s agent and
    /// type, while `deleting` go, stays within `max_memories_per_agent_type`:
    /// the lowest-scoring unpinned ones (retrieval's score with relevance 0),
    /// oldest first among equals.
    fn evictions(&self, new: &Memory, deleting: &[u64]) -> Result<Vec<u64>> {
        let Some(limit) = self.opts().max_memories_per_agent_type else { return Ok(Vec::new()) };
        if self.memtable().part::<MemoriesMem>().dedup.group_len(group_of(new)) < limit {
            // The index holds every live memory of the group: room for one more.
            return Ok(Vec::new());
        }
        let t = new.memory_type;
        let live = self.live_memories(
            new.agent_id,
            Some(filter::str_eq("memory_type", t.as_str())),
            Some(&SCORING_COLUMNS),
            |m| m.memory_type == t && !deleting.contains(&m.memory_id),
        )?;
        let excess = (live.len() + 1).saturating_sub(limit);
        if excess == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let o = RetrieveOptions::default();
        let mut candidates: Vec<(f32, u64)> =
            live.iter().filter(|m| !m.pinned).map(|m| (scoring::score(m, 0.0, now, &o).score, m.memory_id)).collect();
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(candidates.into_iter().take(excess).map(|(_, id)| id).collect())
    }

    /// Stores validated memories (id 0), in order, under their agents'
    /// lifecycle locks: each refreshes an exact duplicate, or merges with
    /// near-duplicates by policy, or is stored, evicting past the limit —
    /// each as one WAL record. The exact-dedup index answers the duplicate
    /// question, and the groups' vectors are fetched once for the call (one
    /// Lance scan for the groups not cached), so a store that neither
    /// duplicates nor merges reads nothing from Lance.
    fn store_prepared(&self, memories: Vec<Memory>) -> Result<Vec<StoreOutcome>> {
        let _locks = self.agent_locks(memories.iter().map(|m| m.agent_id));
        self.ensure_dedup_loaded()?;
        let vectors = if self.opts().memory_merge_policy == MergePolicy::KeepBoth {
            HashMap::new()
        } else {
            let mut keys: Vec<GroupKey> = memories.iter().map(group_of).collect();
            keys.sort_unstable();
            keys.dedup();
            self.group_vectors(&keys)?
        };
        memories
            .into_iter()
            .map(|m| {
                let group = vectors.get(&group_of(&m)).and_then(|g| g.as_ref());
                self.store_one(m, group)
            })
            .collect()
    }

    /// One memory of `store_prepared`; `group` is its group's vectors (None:
    /// keep_both, or a group too large to cache).
    fn store_one(
        &self,
        mut memory: Memory,
        group: Option<&Arc<parking_lot::Mutex<near::GroupVectors>>>,
    ) -> Result<StoreOutcome> {
        debug_assert_eq!(memory.memory_id, 0);
        let key = group_of(&memory);
        if let Some(existing) = self.exact_duplicate(&memory)? {
            let patch = merge::absorb_patch(&existing, &[&memory], true);
            self.commit::<MemoriesMem>(MemoryRecord::Update {
                ids: vec![existing.memory_id],
                patch,
                delete: Vec::new(),
            })?;
            return Ok(StoreOutcome { memory_id: existing.memory_id, kind: StoreKind::Duplicate, evicted: Vec::new() });
        }
        let policy = self.opts().memory_merge_policy;
        let near = match (policy, group) {
            (MergePolicy::KeepBoth, _) => Vec::new(),
            (_, Some(g)) => self.near_duplicates_cached(&memory, g)?,
            (_, None) => self.near_duplicates(&memory)?,
        };
        let members: Vec<&Memory> = std::iter::once(&memory).chain(near.iter()).collect();
        let survivor = merge::choose_survivor(policy, &members);
        match survivor {
            Some(0) => {
                let absorbed: Vec<&Memory> = near.iter().filter(|m| !m.pinned).collect();
                let ids: Vec<u64> = absorbed.iter().map(|m| m.memory_id).collect();
                let patch = merge::absorb_patch(&memory, &absorbed, true);
                patch.apply(0, &mut memory);
                let evicted = self.evictions(&memory, &ids)?;
                let delete: Vec<u64> = ids.iter().chain(&evicted).copied().collect();
                let embedding = memory.embedding.clone();
                let memory_id = self.commit::<MemoriesMem>(MemoryRecord::Store { memory, delete: delete.clone() })?;
                self.group_changed(key, group, Some((memory_id, &embedding)), &delete);
                Ok(StoreOutcome { memory_id, kind: StoreKind::Merged { absorbed: ids }, evicted })
            }
            Some(s) => {
                let keeper = members[s];
                let absorbed: Vec<&Memory> =
                    members.iter().enumerate().filter(|(i, m)| *i != s && !m.pinned).map(|(_, m)| *m).collect();
                let delete: Vec<u64> = absorbed.iter().map(|m| m.memory_id).filter(|id| *id != 0).collect();
                let mut patch = merge::absorb_patch(keeper, &absorbed, true);
                patch.absorbs_own_record = true;
                let lsn = self.commit::<MemoriesMem>(MemoryRecord::Update {
                    ids: vec![keeper.memory_id],
                    patch,
                    delete: delete.clone(),
                })?;
                self.group_changed(key, group, None, &delete);
                let mut absorbed_ids = delete;
                absorbed_ids.push(lsn);
                Ok(StoreOutcome {
                    memory_id: keeper.memory_id,
                    kind: StoreKind::Merged { absorbed: absorbed_ids },
                    evicted: Vec::new(),
                })
            }
            None => {
                let evicted = self.evictions(&memory, &[])?;
                let embedding = memory.embedding.clone();
                let memory_id = self.commit::<MemoriesMem>(MemoryRecord::Store { memory, delete: evicted.clone() })?;
                self.group_changed(key, group, Some((memory_id, &embedding)), &evicted);
                Ok(StoreOutcome { memory_id, kind: StoreKind::Stored, evicted })
            }
        }
    }

    /// The current version of one memory, or None if absent, deleted or expired.
    fn current_memory(&self, id: u64) -> Result<Option<Memory>> {
        let read = self.begin_read();
        let (known, patches) = {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            (m.memory(id), m.patches_of(id).to_vec())
        };
        let found = match known {
            Some(v) => v,
            None => {
                let rows = self.block_on(self.latest_memory_rows(&[id]))?;
                rows.get(&id).map(|base| compose(base, &patches))
            }
        };
        Ok(found.map(|s| s.value).filter(|m| !m.is_expired(now_ms())))
    }

    /// The `wanted` live, visible memories of the agent that pass `f`, most
    /// similar to `query` first (ties: newer id first), with their cosine
    /// similarity: exactly the top of all matches, never fewer than
    /// min(wanted, matches).
    ///
    /// The filter is a Lance prefilter (agent, visibility, types, times, a
    /// superset test per metadata entry), and the memories the memtable
    /// knows better are excluded from the Lance search rather than dropped
    /// after it: deleted ones, unflushed ones (scanned here), and those
    /// whose unflushed patches may change what they match (pin, expiry,
    /// metadata), which are read by id and checked here. The rest of the
    /// Lance rows are final but for importance and access patches, which
    /// change no match. A Lance row that fails the exact check (a metadata
    /// false positive, an older version of a memory lingering until
    /// maintenance) costs its place, so the search fetches more until it has
    /// `wanted` confirmed rows or Lance has no more.
    fn similar_candidates(
        &self,
        agent_id: u64,
        query: &[f32],
        wanted: usize,
        f: &MemoryFilter,
        cancel: Cancel<'_>,
    ) -> Result<Vec<(Memory, f32)>> {
        let now = now_ms();
        let read = self.begin_read();
        let (fresh, reread, excluded) = {
            let mem = read.memtable();
            let m = mem.part::<MemoriesMem>();
            let fresh: Vec<Stored<Memory>> = m
                .memories
                .values()
                .filter(|s| s.value.agent_id == agent_id)
                .map(|s| compose(s, m.patches_of(s.lsn)))
                .collect();
            let reread: HashMap<u64, Vec<(u64, MemoryPatch)>> = m
                .patches
                .iter()
                .filter(|(id, ps)| !m.memories.contains_key(id) && ps.iter().any(|(_, p)| p.changes_matching()))
                .map(|(id, ps)| (*id, ps.clone()))
                .collect();
            let mut excluded: Vec<u64> = m
                .tombstones
                .keys()
                .copied()
                .chain(fresh.iter().map(|s| s.value.memory_id))
                .chain(reread.keys().copied())
                .collect();
            excluded.sort_unstable();
            (fresh, reread, excluded)
        };
        let mut pred = vec![filter::u64_eq("agent_id", agent_id), self.visible(now)?];
        if !f.memory_types.is_empty() {
            let names: Vec<&str> = f.memory_types.iter().map(|t| t.as_str()).collect();
            pred.push(filter::str_in("memory_type", &names));
        }
        if let Some(t) = f.created_after_ms {
            pred.push(filter::i64_ge("created_at_ms", t));
        }
        if let Some(t) = f.created_before_ms {
            pred.push(filter::i64_le("created_at_ms", t));
        }
        pred.extend(filter::metadata_candidates("metadata", &f.metadata));
        if !excluded.is_empty() {
            pred.push(filter::u64_not_in("memory_id", &excluded));
        }
        let pred = filter::and_all(pred).ok_or_else(|| Error::corrupted("empty memory predicate"))?;
        let matches = |m: &Memory| m.agent_id == agent_id && !m.is_expired(now) && f.matches(m);

        let mut fetch = wanted + MEMORY_FETCH_SLACK;
        let mut out: Vec<(Memory, f32)> = loop {
            let from_lance = self.block_on_until(cancel, async {
                use futures::TryStreamExt;
                use lancedb::query::{ExecutableQuery, QueryBase};
                let q = self
                    .memories
                    .memories_tbl
                    .vector_search(query.to_vec())?
                    .column("embedding")
                    .distance_type(lancedb::DistanceType::Cosine)
                    .only_if_expr(pred.clone())
                    .limit(fetch);
                let batches: Vec<_> = q.execute().await?.try_collect().await?;
                let mut rows = Vec::new();
                for b in &batches {
                    rows.extend(table::memories_from_batch(b)?);
                }
                Ok::<_, Error>(rows)
            })?;
            let exhausted = from_lance.len() < fetch;
            // Newest row per id (an older one lingers until maintenance after
            // a crash between a flush's steps), with its unflushed patches.
            let mut best: HashMap<u64, (Stored<Memory>, f32)> = HashMap::new();
            {
                let mem = read.memtable();
                let m = mem.part::<MemoriesMem>();
                for (row, dist) in from_lance {
                    let id = row.value.memory_id;
                    let sim = 1.0 - dist.unwrap_or(1.0);
                    let row = compose(&row, m.patches_of(id));
                    if best.get(&id).is_none_or(|(b, _)| b.lsn < row.lsn) {
                        best.insert(id, (row, sim));
                    }
                }
            }
            let found: Vec<(Memory, f32)> =
                best.into_values().map(|(s, sim)| (s.value, sim)).filter(|(m, _)| matches(m)).collect();
            if found.len() >= wanted || exhausted {
                break found;
            }
            fetch = fetch.saturating_mul(MEMORY_REFETCH_GROWTH);
        };
        if !reread.is_empty() {
            let ids: Vec<u64> = reread.keys().copied().collect();
            for (id, base) in self.block_on_until(cancel, self.latest_memory_rows(&ids))? {
                let m = compose(&base, &reread[&id]).value;
                if matches(&m) {
                    let sim = scoring::cosine(query, &m.embedding);
                    out.push((m, sim));
                }
            }
        }
        drop(read);
        out.extend(fresh.into_iter().map(|s| s.value).filter(|m| matches(m)).map(|m| {
            let sim = scoring::cosine(query, &m.embedding);
            (m, sim)
        }));
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.memory_id.cmp(&a.0.memory_id)));
        out.truncate(wanted);
        Ok(out)
    }
}

impl Cancellable<'_> {
    /// Candidates by vector similarity (`candidate_factor` × `limit`), re-ranked by
    /// relevance, importance and recency; the top `limit`, best first.
    pub fn retrieve_similar(
        &self,
        agent_id: u64,
        query: &[f32],
        limit: usize,
        options: &RetrieveOptions,
    ) -> Result<Vec<ScoredMemory>> {
        let e = self.engine();
        e.check_open()?;
        types::validate_limit(limit)?;
        types::validate_vector(query, e.opts().memory_dimension)?;
        if options.candidate_factor == 0 {
            return Err(Error::invalid("candidate_factor must be >= 1"));
        }
        let now = now_ms();
        let candidates =
            e.similar_candidates(agent_id, query, limit * options.candidate_factor, &options.filter, self.cancel)?;
        let mut scored: Vec<ScoredMemory> = candidates
            .into_iter()
            .map(|(memory, sim)| {
                let p = scoring::score(&memory, sim, now, options);
                ScoredMemory { memory, score: p.score, relevance: p.relevance, recency: p.recency }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.memory.memory_id.cmp(&a.memory.memory_id)));
        scored.truncate(limit);
        // The last point a cancel counts: past it the call writes, and a
        // call that wrote returns its result.
        crate::cancel::check(self.cancel)?;
        if options.record_access && !scored.is_empty() && !e.opts().read_only {
            let ids = scored.iter().map(|s| s.memory.memory_id).collect();
            let patch = MemoryPatch { access_increment: 1, last_access_ms: Some(now), ..Default::default() };
            e.commit::<MemoriesMem>(MemoryRecord::Update { ids, patch, delete: Vec::new() })?;
        }
        Ok(scored)
    }

    /// The design's "intelligent retrieve": embeds the query text, then `retrieve_similar`.
    pub fn retrieve(
        &self,
        agent_id: u64,
        query: &str,
        limit: usize,
        options: &RetrieveOptions,
    ) -> Result<Vec<ScoredMemory>> {
        self.engine().check_open()?;
        types::validate_limit(limit)?;
        // Embedding a query is not interruptible (milliseconds on the built-in model).
        crate::cancel::check(self.cancel)?;
        let v = self.engine().embed_one(query)?;
        self.retrieve_similar(agent_id, &v, limit, options)
    }
}

/// Checks everything about a memory to store but its vector.
fn validate_new(new: &NewMemory) -> Result<()> {
    if new.content.trim().is_empty() {
        return Err(Error::invalid("memory content must not be empty"));
    }
    if new.content.len() > MAX_CONTENT_BYTES {
        return Err(Error::PayloadTooLarge { size: new.content.len(), limit: MAX_CONTENT_BYTES });
    }
    types::validate_importance(new.importance)?;
    crate::states::validate_metadata(&new.metadata)
}

/// The memory a validated `NewMemory` becomes, created at `now` (its id is
/// 0 until the engine sets it to the LSN of the record that stores it).
fn new_memory(new: NewMemory, embedding: Vec<f32>, now: i64) -> Memory {
    let expires_at_ms = new.ttl.map(|ttl| now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)));
    Memory {
        memory_id: 0,
        agent_id: new.agent_id,
        memory_type: new.memory_type,
        content: new.content,
        embedding,
        importance: new.importance,
        access_count: 0,
        last_access_ms: now,
        created_at_ms: now,
        expires_at_ms,
        metadata: new.metadata,
        pinned: false,
    }
}

impl AgentDb {
    /// Stores a memory and returns the id that holds it: the new memory's,
    /// or, when it was a duplicate or merged into an existing memory, that
    /// memory's (see `store_memory_outcome`). Embeds the content unless an
    /// embedding is given.
    pub fn store_memory(&self, new: NewMemory) -> Result<u64> {
        self.store_memory_outcome(new).map(|o| o.memory_id)
    }

    /// Stores a memory and says what happened: `Stored`; `Duplicate` (same
    /// agent, type and normalised content as a live memory, which gets access
    /// +1, importance raised to at least the new one's, the later expiry and
    /// any metadata keys it lacked); or `Merged` with near-duplicates (cosine
    /// ≥ `Options::memory_merge_threshold`) per `Options::memory_merge_policy`.
    /// A new memory beyond `Options::max_memories_per_agent_type` evicts the
    /// lowest-scoring unpinned memories of its agent and type in the same record.
    pub fn store_memory_outcome(&self, mut new: NewMemory) -> Result<StoreOutcome> {
        let e = &self.engine;
        e.check_writable()?;
        validate_new(&new)?;
        let embedding = match new.embedding.take() {
            Some(v) => v,
            None => e.embed_one(&new.content)?,
        };
        types::validate_vector(&embedding, e.opts().memory_dimension)?;
        let mut outcomes = e.store_prepared(vec![new_memory(new, embedding, now_ms())])?;
        debug_assert_eq!(outcomes.len(), 1);
        outcomes.pop().ok_or_else(|| Error::corrupted("a store produced no outcome"))
    }

    /// Stores many memories; texts without vectors are embedded in batches.
    /// Each item is deduplicated and merged as by `store_memory`, in order, so
    /// repeats within the batch collapse too (their ids repeat in the result).
    pub fn store_memories(&self, batch: Vec<NewMemory>) -> Result<Vec<u64>> {
        Ok(self.store_memories_outcome(batch)?.into_iter().map(|o| o.memory_id).collect())
    }

    /// `store_memories` with each item's `StoreOutcome`.
    pub fn store_memories_outcome(&self, batch: Vec<NewMemory>) -> Result<Vec<StoreOutcome>> {
        let e = &self.engine;
        e.check_writable()?;
        // Validate everything first: a bad item fails the call before any write.
        crate::limits::check_batch_items(batch.len())?;
        for m in &batch {
            validate_new(m)?;
        }
        let texts: Vec<&str> = batch.iter().filter(|m| m.embedding.is_none()).map(|m| m.content.as_str()).collect();
        let mut vectors = if texts.is_empty() { Vec::new() } else { e.embedder()?.embed(&texts)? }.into_iter();
        let mut prepared = Vec::with_capacity(batch.len());
        let now = now_ms();
        for mut m in batch {
            let embedding = match m.embedding.take() {
                Some(v) => v,
                None => vectors.next().ok_or_else(|| Error::Embedding("embedder returned too few vectors".into()))?,
            };
            types::validate_vector(&embedding, e.opts().memory_dimension)?;
            prepared.push(new_memory(m, embedding, now));
        }
        e.store_prepared(prepared)
    }

    pub fn get_memory(&self, memory_id: u64) -> Result<Memory> {
        self.engine.check_open()?;
        self.engine.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))
    }

    pub fn update_memory_importance(&self, memory_id: u64, importance: f32) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_importance(importance)?;
        e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        let patch = MemoryPatch { importance: Some(importance), ..Default::default() };
        e.commit::<MemoriesMem>(MemoryRecord::Update { ids: vec![memory_id], patch, delete: Vec::new() })?;
        Ok(())
    }

    /// Removes a memory, pinned or not (pinning guards against automatic
    /// removal only).
    pub fn delete_memory(&self, memory_id: u64) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        let m = e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        let _lock = e.agent_lock(m.agent_id);
        e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        e.commit::<MemoriesMem>(MemoryRecord::Delete { ids: vec![memory_id] })?;
        e.group_changed(group_of(&m), None, None, &[memory_id]);
        Ok(())
    }

    /// Pins a memory: from now on it is never forgotten, expired (its TTL is
    /// suspended), evicted by `max_memories_per_agent_type`, or absorbed by a
    /// merge — a near-duplicate of it is absorbed *into* it instead. Idempotent.
    pub fn pin_memory(&self, memory_id: u64) -> Result<()> {
        self.set_pinned(memory_id, true)
    }

    /// Unpins a memory. A TTL that ran out while it was pinned applies at
    /// once: the memory is then expired.
    pub fn unpin_memory(&self, memory_id: u64) -> Result<()> {
        self.set_pinned(memory_id, false)
    }

    fn set_pinned(&self, memory_id: u64, pinned: bool) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?; // a writer migrated the table at open: `pinned` exists
        let m = e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        let _lock = e.agent_lock(m.agent_id);
        let m = e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        if m.pinned != pinned {
            let patch = MemoryPatch { pinned: Some(pinned), ..Default::default() };
            e.commit::<MemoriesMem>(MemoryRecord::Update { ids: vec![memory_id], patch, delete: Vec::new() })?;
        }
        Ok(())
    }

    /// Runs the store-time merge over the agent's existing memories: per
    /// type, oldest first, each memory gathers the later ones that are exact
    /// duplicates of it or (unless the policy is `keep_both`) within
    /// `memory_merge_threshold` cosine of it, and the group collapses into
    /// the survivor the policy picks (a pinned member if any; `keep_both`
    /// keeps the oldest of exact duplicates). One WAL record per group.
    pub fn consolidate(&self, agent_id: u64) -> Result<ConsolidationReport> {
        let e = &self.engine;
        e.check_writable()?;
        let _lock = e.agent_lock(agent_id);
        let memories = self.list_memories(agent_id)?;
        let policy = e.opts().memory_merge_policy;
        let mut report = ConsolidationReport { agent_id, examined: memories.len(), ..Default::default() };
        let mut removed = 0;
        for group in merge::group_duplicates(&memories, e.opts().memory_merge_threshold, policy) {
            let members: Vec<&Memory> = group.iter().map(|&i| &memories[i]).collect();
            // Under keep_both a group holds only exact duplicates: the oldest stays.
            let s = merge::choose_survivor(policy, &members).unwrap_or(0);
            let keeper = members[s];
            let absorbed: Vec<&Memory> =
                members.iter().enumerate().filter(|(i, m)| *i != s && !m.pinned).map(|(_, m)| *m).collect();
            if absorbed.is_empty() {
                continue;
            }
            let delete: Vec<u64> = absorbed.iter().map(|m| m.memory_id).collect();
            let patch = merge::absorb_patch(keeper, &absorbed, false);
            e.commit::<MemoriesMem>(MemoryRecord::Update {
                ids: vec![keeper.memory_id],
                patch,
                delete: delete.clone(),
            })?;
            e.group_changed(group_of(keeper), None, None, &delete);
            removed += delete.len();
            report.groups.push(MergeGroup {
                memory_type: keeper.memory_type,
                kept: keeper.memory_id,
                absorbed: delete,
            });
        }
        report.remaining = report.examined - removed;
        Ok(report)
    }

    /// Candidates by vector similarity (`candidate_factor` × `limit`), re-ranked by
    /// relevance, importance and recency; the top `limit`, best first.
    pub fn retrieve_similar(
        &self,
        agent_id: u64,
        query: &[f32],
        limit: usize,
        options: &RetrieveOptions,
    ) -> Result<Vec<ScoredMemory>> {
        self.with_cancel(None).retrieve_similar(agent_id, query, limit, options)
    }

    /// The design's "intelligent retrieve": embeds the query text, then `retrieve_similar`.
    pub fn retrieve(
        &self,
        agent_id: u64,
        query: &str,
        limit: usize,
        options: &RetrieveOptions,
    ) -> Result<Vec<ScoredMemory>> {
        self.with_cancel(None).retrieve(agent_id, query, limit, options)
    }

    /// Forgets the agent's memories older than `policy.older_than` whose
    /// decayed importance is below `policy.min_importance`. Returns how many.
    /// Pinned memories are never forgotten.
    pub fn forget(&self, agent_id: u64, policy: &ForgetPolicy) -> Result<usize> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_importance(policy.min_importance)?;
        let _lock = e.agent_lock(agent_id);
        let now = now_ms();
        let cutoff = now - i64::try_from(policy.older_than.as_millis()).unwrap_or(i64::MAX);
        let doomed: Vec<Memory> = self
            .list_memories(agent_id)?
            .into_iter()
            .filter(|m| !m.pinned && m.created_at_ms <= cutoff)
            .filter(|m| scoring::decayed_importance(m, now, policy.decay_half_life) < policy.min_importance)
            .collect();
        if !doomed.is_empty() {
            e.commit::<MemoriesMem>(MemoryRecord::Delete { ids: doomed.iter().map(|m| m.memory_id).collect() })?;
            for t in MemoryType::ALL {
                let ids: Vec<u64> = doomed.iter().filter(|m| m.memory_type == t).map(|m| m.memory_id).collect();
                if !ids.is_empty() {
                    e.group_changed((agent_id, t), None, None, &ids);
                }
            }
        }
        Ok(doomed.len())
    }

    /// Every live (unexpired) memory of the agent, oldest first.
    pub fn list_memories(&self, agent_id: u64) -> Result<Vec<Memory>> {
        let e = &self.engine;
        e.check_open()?;
        let mut out = e.live_memories(agent_id, None, None, |_| true)?;
        out.sort_by_key(|m| (m.created_at_ms, m.memory_id));
        Ok(out)
    }
}

impl Engine {
    /// Writes the memory subsystem's part of a flush: new memories with
    /// their deltas applied, a new row for each flushed memory that has
    /// deltas (its old row goes in `memories_after_checkpoint`), deletes.
    pub(crate) async fn flush_memories(&self, f: &memtable::MemoriesFlush) -> Result<()> {
        if !f.memories.is_empty() || !f.patches.is_empty() {
            let mut rows: Vec<Stored<Memory>> = f.memories.clone();
            if !f.patches.is_empty() {
                let ids: Vec<u64> = f.patches.iter().map(|(id, _)| *id).collect();
                let bases = self.latest_memory_rows(&ids).await?;
                for (id, patches) in &f.patches {
                    match bases.get(id) {
                        Some(base) => rows.push(compose(base, patches)),
                        None => tracing::warn!(memory_id = id, "patch for a memory that no longer exists; dropped"),
                    }
                }
            }
            let refs: Vec<&Stored<Memory>> = rows.iter().collect();
            let dim = self.opts().memory_dimension;
            let batches = refs
                .chunks(tables::FLUSH_BATCH_ROWS)
                .map(|c| table::memories_to_batch(c, dim))
                .collect::<Result<Vec<_>>>()?;
            self.memories.memories_tbl.add(batches).execute().await?;
        }
        if !f.deletes.is_empty() {
            // Deleted memories leave the exact-dedup index with their rows
            // (unflushed ones left it when the delete was applied).
            let gone = self.lance_fingerprints(Some(filter::u64_in("memory_id", &f.deletes))).await?;
            self.memories.memories_tbl.delete(&filter::u64_in("memory_id", &f.deletes)).await?;
            self.forget_dedup_entries(&gone);
        }
        Ok(())
    }

    /// After the checkpoint that covers a flush: deletes the rows its new
    /// versions superseded. Only now may the old ones go: a crash before the
    /// checkpoint rolls the new ones back and replays patches onto the old.
    /// A crash here leaves duplicates, which reads resolve by LSN and
    /// maintenance removes. Returns whether it changed the table (the caller
    /// then checkpoints the new table version).
    pub(crate) fn memories_after_checkpoint(&self, set: &FlushSet, prev_flushed: u64) -> Result<bool> {
        let Some(f) = set.get::<MemoriesMem>() else { return Ok(false) };
        if f.patches.is_empty() {
            return Ok(false);
        }
        let ids: Vec<u64> = f.patches.iter().map(|(id, _)| *id).collect();
        let superseded = filter::u64_in("memory_id", &ids).and(filter::u64_lt("lsn", prev_flushed + 1));
        self.block_on(self.memories.memories_tbl.delete(&superseded))?;
        Ok(true)
    }
}

impl Engine {
    /// Removes expired memories and versions superseded by a newer row of
    /// the same memory (left behind if a crash hit between flush steps).
    pub(crate) async fn purge_memories(&self, table: &lancedb::Table) -> Result<u64> {
        let before = table.count_rows(None).await?;
        // Pinned memories never expire (the table is migrated: we are the writer).
        let expired = lancedb::expr::col("expires_at_ms")
            .lt_eq(lancedb::expr::lit(now_ms()))
            .and(filter::bool_eq("pinned", false));
        let doomed = self.lance_fingerprints(Some(expired.clone())).await?;
        table.delete(&expired).await?;
        if !doomed.is_empty() {
            // An expired row may be an old version of a memory whose newer
            // row lives on (merged in a longer expiry): only memories left
            // without any row leave the exact-dedup index.
            let ids: Vec<u64> = doomed.iter().map(|(_, id, _)| *id).collect();
            let left: std::collections::HashSet<u64> = self
                .lance_fingerprints(Some(filter::u64_in("memory_id", &ids)))
                .await?
                .into_iter()
                .map(|(_, id, _)| id)
                .collect();
            let gone: Vec<_> = doomed.into_iter().filter(|(_, id, _)| !left.contains(id)).collect();
            self.forget_dedup_entries(&gone);
        }
        let batches = tables::query(table, None, Some(&["memory_id", "lsn"]), None, None).await?;
        let mut newest: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        let mut dup_ids = Vec::new();
        for b in &batches {
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::UInt64Array>()
                .ok_or_else(|| Error::corrupted("memory_id"))?;
            let lsns = b
                .column(1)
                .as_any()
                .downcast_ref::<arrow_array::UInt64Array>()
                .ok_or_else(|| Error::corrupted("lsn"))?;
            for (id, lsn) in ids.values().iter().zip(lsns.values()) {
                if let Some(prev) = newest.insert(*id, *lsn) {
                    newest.insert(*id, prev.max(*lsn));
                    dup_ids.push(*id);
                }
            }
        }
        if !dup_ids.is_empty() {
            dup_ids.sort_unstable();
            dup_ids.dedup();
            let stale = dup_ids
                .iter()
                .map(|id| filter::u64_eq("memory_id", *id).and(filter::u64_lt("lsn", newest[id])))
                .reduce(|a, b| a.or(b))
                .expect("non-empty");
            table.delete(&stale).await?;
        }
        Ok((before - table.count_rows(None).await?) as u64)
    }
}

/// The memory subsystem's side of the engine contract.
pub(crate) struct MemoriesSubsystem;

impl crate::engine::subsystem::Subsystem for MemoriesSubsystem {
    fn name(&self) -> &'static str {
        "memories"
    }
    fn fixed_tables(&self, opts: &crate::Options) -> Vec<crate::engine::subsystem::TableSpec> {
        vec![crate::engine::subsystem::TableSpec {
            name: table::MEMORIES_TABLE,
            schema: table::memories_schema(opts.memory_dimension),
        }]
    }
    fn migrate<'a>(&'a self, conn: &'a lancedb::Connection) -> futures::future::BoxFuture<'a, Result<bool>> {
        Box::pin(migrate_existing_table(conn))
    }
    fn flush<'a>(&'a self, engine: &'a Engine, set: &'a FlushSet) -> futures::future::BoxFuture<'a, Result<()>> {
        crate::engine::subsystem::flush_part::<MemoriesMem, _, _>(set, move |f| engine.flush_memories(f))
    }
    fn after_checkpoint(&self, engine: &Engine, set: &FlushSet, prev_flushed_lsn: u64) -> Result<bool> {
        engine.memories_after_checkpoint(set, prev_flushed_lsn)
    }
    fn after_compaction<'a>(
        &'a self,
        ctx: &'a crate::engine::subsystem::MaintenanceCtx<'a>,
        _name: &'a str,
        table: &'a lancedb::Table,
    ) -> futures::future::BoxFuture<'a, Result<u64>> {
        Box::pin(ctx.engine.purge_memories(table))
    }
    /// content_hash: a store's exact-duplicate lookup.
    fn scalar_index_columns(&self, _table: &str) -> &'static [&'static str] {
        &["agent_id", "memory_id", "content_hash"]
    }
}

impl Engine {
    /// The newest Lance row of each memory id (older versions may linger
    /// until maintenance removes them).
    pub async fn latest_memory_rows(
        &self,
        ids: &[u64],
    ) -> Result<std::collections::HashMap<u64, Stored<crate::memories::Memory>>> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(4096) {
            let batches =
                tables::query(&self.memories.memories_tbl, Some(filter::u64_in("memory_id", chunk)), None, None, None)
                    .await?;
            for b in &batches {
                rows.extend(table::memories_from_batch(b)?.into_iter().map(|(row, _)| row));
            }
        }
        // Older versions may linger until maintenance removes them.
        Ok(newest_by_key(rows, |m| m.memory_id))
    }
}

/// The memory subsystem's own state.
pub(crate) struct MemoriesState {
    pub memories_tbl: lancedb::Table,
    /// Memory dedup/merge/pin/limit coordination (see `Lifecycle`).
    pub memory_lifecycle: Lifecycle,
}

impl MemoriesState {
    pub fn new(memories_tbl: lancedb::Table) -> Self {
        MemoriesState { memories_tbl, memory_lifecycle: Lifecycle::default() }
    }
    pub fn tables(&self) -> Vec<(String, lancedb::Table)> {
        vec![(table::MEMORIES_TABLE.to_string(), self.memories_tbl.clone())]
    }
}

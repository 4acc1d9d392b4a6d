//! Memory subsystem: typed memories with importance, access tracking and
//! expiry; similarity retrieval re-ranked by relevance, importance and
//! recency (see `scoring`); forgetting; updates.
//!
//! Invariants:
//! - A memory's id is the LSN of the write that created it: unique, never reused.
//! - Changes after creation are deltas (`MemoryPatch`) in the WAL; reads
//!   compose the newest stored row with the unflushed deltas, so a
//!   retrieval's access bump never costs a Lance write.
//! - Expired memories are never returned; maintenance purges them.
//! - Every search sees memories stored a moment ago (memtable scanned flat
//!   beside the Lance vector search).

pub mod scoring;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

pub use types::{
    ForgetPolicy, Memory, MemoryFilter, MemoryType, NewMemory, RetrieveOptions, ScoredMemory, MAX_CONTENT_BYTES,
    MAX_RETRIEVE_LIMIT,
};

pub(crate) use types::{validate_limit as validate_limit_public, validate_vector as validate_vector_public};

use crate::embed::{Embedder, MiniLm, HOW_TO_ENABLE_MODEL};
use crate::engine::{now_ms, Engine};
use crate::storage::memtable::{compose, MemoryPatch, WalEntry};
use crate::storage::tables::{self, filter, Stored};
use crate::{AgentDb, Error, Result};

/// Lance rows fetched per candidate wanted: leaves room for superseded
/// versions, expired rows and metadata post-filtering.
const LANCE_OVERFETCH: usize = 2;

impl Engine {
    pub(crate) fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        let loaded = self.embedder.get_or_init(|| {
            if let Some(e) = &self.opts.embedder {
                return Ok(e.0.clone());
            }
            let dir = self.opts.model_dir.clone().or_else(MiniLm::locate).ok_or_else(|| {
                format!("no embedding model found; {HOW_TO_ENABLE_MODEL}")
            })?;
            let model = MiniLm::load(&dir).map_err(|e| e.to_string())?;
            if model.dimension() != self.opts.memory_dimension {
                return Err(format!(
                    "the built-in model makes {}-dimension vectors but Options::memory_dimension is {}",
                    model.dimension(),
                    self.opts.memory_dimension
                ));
            }
            Ok(Arc::new(model) as Arc<dyn Embedder>)
        });
        loaded.clone().map_err(Error::ModelUnavailable)
    }

    pub(crate) fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        if text.trim().is_empty() {
            return Err(Error::invalid("text must not be empty"));
        }
        let mut v = self.embedder()?.embed(&[text])?;
        v.pop().ok_or_else(|| Error::Embedding("embedder returned no vector".into()))
    }

    /// The current version of one memory, or None if absent, deleted or expired.
    fn current_memory(&self, id: u64) -> Result<Option<Memory>> {
        let _gate = self.drain_gate.read();
        let (known, patches) = {
            let m = self.mem.read();
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

    fn similar_candidates(
        &self,
        agent_id: u64,
        query: &[f32],
        wanted: usize,
        f: &MemoryFilter,
    ) -> Result<Vec<(Memory, f32)>> {
        let now = now_ms();
        let _gate = self.drain_gate.read();
        let (fresh, tombstones): (Vec<Stored<Memory>>, Vec<u64>) = {
            let m = self.mem.read();
            let fresh = m
                .memories
                .values()
                .filter(|s| s.value.agent_id == agent_id)
                .map(|s| compose(s, m.patches_of(s.lsn)))
                .collect();
            (fresh, m.memory_tombstones.keys().copied().collect())
        };
        let mut pred = vec![filter::u64_eq("agent_id", agent_id), filter::not_expired(now)];
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
        let fetch = wanted * LANCE_OVERFETCH + tombstones.len().min(wanted) + if f.metadata.is_empty() { 0 } else { wanted * 8 };
        let from_lance = self.block_on(async {
            use futures::TryStreamExt;
            use lancedb::query::{ExecutableQuery, QueryBase};
            let q = self
                .memories_tbl
                .vector_search(query.to_vec())?
                .column("embedding")
                .distance_type(lancedb::DistanceType::Cosine)
                .only_if_expr(filter::and_all(pred).expect("non-empty"))
                .limit(fetch);
            let batches: Vec<_> = q.execute().await?.try_collect().await?;
            let mut rows = Vec::new();
            for b in &batches {
                rows.extend(tables::memories_from_batch(b)?);
            }
            Ok::<_, Error>(rows)
        })?;
        let patches: HashMap<u64, Vec<(u64, MemoryPatch)>> = {
            let m = self.mem.read();
            from_lance.iter().map(|(s, _)| (s.value.memory_id, m.patches_of(s.value.memory_id).to_vec())).collect()
        };
        drop(_gate);

        // Newest version per id; memtable rows win (they are newer).
        let mut best: HashMap<u64, (Stored<Memory>, f32)> = HashMap::new();
        for (row, dist) in from_lance {
            let id = row.value.memory_id;
            if tombstones.contains(&id) {
                continue;
            }
            let sim = 1.0 - dist.unwrap_or(1.0);
            let row = compose(&row, patches.get(&id).map_or(&[][..], |v| v.as_slice()));
            if best.get(&id).is_none_or(|(b, _)| b.lsn < row.lsn) {
                best.insert(id, (row, sim));
            }
        }
        for row in fresh {
            let sim = scoring::cosine(query, &row.value.embedding);
            best.insert(row.value.memory_id, (row, sim));
        }
        let mut out: Vec<(Memory, f32)> = best
            .into_values()
            .map(|(s, sim)| (s.value, sim))
            .filter(|(m, _)| !m.is_expired(now) && f.matches(m))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.truncate(wanted);
        Ok(out)
    }
}

impl AgentDb {
    /// Stores a memory and returns its id. Embeds the content unless an
    /// embedding is given.
    pub fn store_memory(&self, new: NewMemory) -> Result<u64> {
        let e = &self.engine;
        e.check_writable()?;
        if new.content.trim().is_empty() {
            return Err(Error::invalid("memory content must not be empty"));
        }
        if new.content.len() > MAX_CONTENT_BYTES {
            return Err(Error::PayloadTooLarge { size: new.content.len(), limit: MAX_CONTENT_BYTES });
        }
        types::validate_importance(new.importance)?;
        crate::states::validate_metadata(&new.metadata)?;
        let embedding = match new.embedding {
            Some(v) => v,
            None => e.embed_one(&new.content)?,
        };
        types::validate_vector(&embedding, e.opts.memory_dimension)?;
        let now = now_ms();
        let expires_at_ms = match new.ttl {
            Some(ttl) => Some(now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))),
            None => None,
        };
        let memory = Memory {
            memory_id: 0, // the engine sets it to this record's LSN
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
        };
        e.commit(WalEntry::StoreMemory(memory))
    }

    /// Stores many memories; texts without vectors are embedded in batches.
    pub fn store_memories(&self, batch: Vec<NewMemory>) -> Result<Vec<u64>> {
        let e = &self.engine;
        e.check_writable()?;
        let texts: Vec<&str> = batch.iter().filter(|m| m.embedding.is_none()).map(|m| m.content.as_str()).collect();
        if texts.iter().any(|t| t.trim().is_empty()) {
            return Err(Error::invalid("memory content must not be empty"));
        }
        let mut vectors = if texts.is_empty() { Vec::new() } else { e.embedder()?.embed(&texts)? }.into_iter();
        let prepared: Vec<NewMemory> = batch
            .into_iter()
            .map(|mut m| {
                if m.embedding.is_none() {
                    m.embedding = vectors.next();
                }
                m
            })
            .collect();
        // Validate everything first: a bad item fails the call before any write.
        for m in &prepared {
            types::validate_importance(m.importance)?;
            types::validate_vector(m.embedding.as_deref().unwrap_or_default(), e.opts.memory_dimension)?;
            crate::states::validate_metadata(&m.metadata)?;
            if m.content.len() > MAX_CONTENT_BYTES {
                return Err(Error::PayloadTooLarge { size: m.content.len(), limit: MAX_CONTENT_BYTES });
            }
        }
        prepared.into_iter().map(|m| self.store_memory(m)).collect()
    }

    pub fn get_memory(&self, memory_id: u64) -> Result<Memory> {
        self.engine.check_open()?;
        self.engine
            .current_memory(memory_id)?
            .ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))
    }

    pub fn update_memory_importance(&self, memory_id: u64, importance: f32) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_importance(importance)?;
        e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        let patch = MemoryPatch { importance: Some(importance), ..Default::default() };
        e.commit(WalEntry::PatchMemories { ids: vec![memory_id], patch })?;
        Ok(())
    }

    pub fn delete_memory(&self, memory_id: u64) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        e.current_memory(memory_id)?.ok_or_else(|| Error::NotFound(format!("memory {memory_id}")))?;
        e.commit(WalEntry::DeleteMemories { ids: vec![memory_id] })?;
        Ok(())
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
        let e = &self.engine;
        e.check_open()?;
        types::validate_limit(limit)?;
        types::validate_vector(query, e.opts.memory_dimension)?;
        if options.candidate_factor == 0 {
            return Err(Error::invalid("candidate_factor must be >= 1"));
        }
        let now = now_ms();
        let candidates = e.similar_candidates(agent_id, query, limit * options.candidate_factor, &options.filter)?;
        let mut scored: Vec<ScoredMemory> = candidates
            .into_iter()
            .map(|(memory, sim)| {
                let p = scoring::score(&memory, sim, now, options);
                ScoredMemory { memory, score: p.score, relevance: p.relevance, recency: p.recency }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.memory.memory_id.cmp(&a.memory.memory_id)));
        scored.truncate(limit);
        if options.record_access && !scored.is_empty() && !e.opts.read_only {
            let ids = scored.iter().map(|s| s.memory.memory_id).collect();
            let patch = MemoryPatch { access_increment: 1, last_access_ms: Some(now), ..Default::default() };
            e.commit(WalEntry::PatchMemories { ids, patch })?;
        }
        Ok(scored)
    }

    /// The design's "intelligent retrieve": embeds the query text, then `retrieve_similar`.
    pub fn retrieve(&self, agent_id: u64, query: &str, limit: usize, options: &RetrieveOptions) -> Result<Vec<ScoredMemory>> {
        self.engine.check_open()?;
        types::validate_limit(limit)?;
        let v = self.engine.embed_one(query)?;
        self.retrieve_similar(agent_id, &v, limit, options)
    }

    /// Forgets the agent's memories older than `policy.older_than` whose
    /// decayed importance is below `policy.min_importance`. Returns how many.
    pub fn forget(&self, agent_id: u64, policy: &ForgetPolicy) -> Result<usize> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_importance(policy.min_importance)?;
        let now = now_ms();
        let cutoff = now - i64::try_from(policy.older_than.as_millis()).unwrap_or(i64::MAX);
        let doomed: Vec<u64> = self
            .list_memories(agent_id)?
            .into_iter()
            .filter(|m| m.created_at_ms <= cutoff)
            .filter(|m| scoring::decayed_importance(m, now, policy.decay_half_life) < policy.min_importance)
            .map(|m| m.memory_id)
            .collect();
        if !doomed.is_empty() {
            e.commit(WalEntry::DeleteMemories { ids: doomed.clone() })?;
        }
        Ok(doomed.len())
    }

    /// Every live (unexpired) memory of the agent, oldest first.
    pub fn list_memories(&self, agent_id: u64) -> Result<Vec<Memory>> {
        let e = &self.engine;
        e.check_open()?;
        let now = now_ms();
        let _gate = e.drain_gate.read();
        let (fresh, tombstones): (Vec<Stored<Memory>>, Vec<u64>) = {
            let m = e.mem.read();
            let fresh =
                m.memories.values().filter(|s| s.value.agent_id == agent_id).map(|s| compose(s, m.patches_of(s.lsn))).collect();
            (fresh, m.memory_tombstones.keys().copied().collect())
        };
        let pred = filter::u64_eq("agent_id", agent_id).and(filter::not_expired(now));
        let batches = e.block_on(tables::query(&e.memories_tbl, Some(pred), None, None, None))?;
        let mut best: HashMap<u64, Stored<Memory>> = HashMap::new();
        {
            let m = e.mem.read();
            for b in &batches {
                for (row, _) in tables::memories_from_batch(b)? {
                    let id = row.value.memory_id;
                    if tombstones.contains(&id) {
                        continue;
                    }
                    let row = compose(&row, m.patches_of(id));
                    if best.get(&id).is_none_or(|o| o.lsn < row.lsn) {
                        best.insert(id, row);
                    }
                }
            }
        }
        drop(_gate);
        for row in fresh {
            best.insert(row.value.memory_id, row);
        }
        let mut out: Vec<Memory> = best.into_values().map(|s| s.value).filter(|m| !m.is_expired(now)).collect();
        out.sort_by_key(|m| (m.created_at_ms, m.memory_id));
        Ok(out)
    }
}

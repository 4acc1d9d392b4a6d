//! The latest-state cache: bounded by entry count *and* bytes, so a few
//! huge payloads cannot blow the memory budget.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;

use crate::states::AgentState;
use crate::storage::tables::Stored;

pub type Key = (u64, u64); // agent, session

pub struct LatestCache {
    lru: LruCache<Key, Arc<Stored<AgentState>>>,
    bytes: usize,
    max_bytes: usize,
}

impl LatestCache {
    pub fn new(max_entries: NonZeroUsize, max_bytes: usize) -> Self {
        LatestCache { lru: LruCache::new(max_entries), bytes: 0, max_bytes }
    }

    pub fn get(&mut self, key: &Key) -> Option<Arc<Stored<AgentState>>> {
        self.lru.get(key).cloned()
    }

    pub fn peek(&self, key: &Key) -> Option<&Arc<Stored<AgentState>>> {
        self.lru.peek(key)
    }

    pub fn put(&mut self, key: Key, value: Arc<Stored<AgentState>>) {
        let size = value.value.footprint();
        if size > self.max_bytes {
            // Too big to cache at all; drop any stale entry so reads go to the store.
            self.remove(&key);
            return;
        }
        self.bytes += size;
        if let Some((_, old)) = self.lru.push(key, value) {
            self.bytes -= old.value.footprint();
        }
        while self.bytes > self.max_bytes {
            match self.lru.pop_lru() {
                Some((_, old)) => self.bytes -= old.value.footprint(),
                None => break,
            }
        }
    }

    pub fn remove(&mut self, key: &Key) {
        if let Some(old) = self.lru.pop(key) {
            self.bytes -= old.value.footprint();
        }
    }

    pub fn remove_agent(&mut self, agent_id: u64) {
        let doomed: Vec<Key> = self.lru.iter().filter(|(k, _)| k.0 == agent_id).map(|(k, _)| *k).collect();
        for k in doomed {
            self.remove(&k);
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.lru.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::StateType;

    fn state(agent: u64, size: usize) -> Arc<Stored<AgentState>> {
        Arc::new(Stored {
            lsn: agent,
            value: AgentState {
                agent_id: agent,
                session_id: 0,
                version: 1,
                timestamp_ms: 0,
                state_type: StateType::Context,
                data: vec![0u8; size].into(),
                metadata: Default::default(),
                checksum: 0,
                key: None,
            },
        })
    }

    #[test]
    fn bounded_by_bytes_and_entries() {
        let mut c = LatestCache::new(NonZeroUsize::new(100).unwrap(), 10_000);
        for a in 0..20 {
            c.put((a, 0), state(a, 1000));
        }
        assert!(c.bytes() <= 10_000, "{}", c.bytes());
        assert!(c.len() < 20);
        assert!(c.peek(&(19, 0)).is_some(), "newest kept");
        assert!(c.peek(&(0, 0)).is_none(), "oldest evicted");
        c.put((99, 0), state(99, 20_000));
        assert!(c.peek(&(99, 0)).is_none(), "oversized values are not cached");
        c.put((5, 0), state(5, 10));
        c.put((5, 0), state(5, 20));
        let before = c.bytes();
        c.remove_agent(5);
        assert!(c.bytes() < before);
        let mut small = LatestCache::new(NonZeroUsize::new(2).unwrap(), usize::MAX);
        for a in 0..5 {
            small.put((a, 0), state(a, 1));
        }
        assert_eq!(small.len(), 2);
    }
}

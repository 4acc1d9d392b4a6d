//! State-history retention: which old versions maintenance may delete.
//!
//! A version survives when ANY of these holds: it is the latest of its
//! (agent, session); a named snapshot points at it; it is among the last
//! `keep_last` versions; it is newer than `keep_newer_than`. With neither
//! bound set nothing is deleted (the default: every version is kept).
//! Deleting is idempotent, so a crash mid-way only leaves work for the next run.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arrow_array::{Int64Array, UInt64Array};
use lancedb::Table;
use serde::Serialize;

use crate::engine::{now_ms, Engine};
use crate::storage::tables::{self, filter};
use crate::{Error, MaintenanceReport, Result};

/// Rows per delete predicate (`lsn IN (...)`): keeps each Lance delete's plan small.
const DELETE_BATCH_ROWS: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateRetention {
    /// Keep the newest N versions of each (agent, session). Must be ≥ 1.
    pub keep_last: Option<u64>,
    /// Keep versions saved within this long before now.
    pub keep_newer_than: Option<Duration>,
}

impl StateRetention {
    pub fn keep_last(n: u64) -> Self {
        StateRetention { keep_last: Some(n), keep_newer_than: None }
    }

    pub fn keep_newer_than(d: Duration) -> Self {
        StateRetention { keep_last: None, keep_newer_than: Some(d) }
    }

    /// Whether this retention ever deletes anything.
    pub fn is_bounded(&self) -> bool {
        self.keep_last.is_some() || self.keep_newer_than.is_some()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.keep_last == Some(0) {
            return Err(Error::invalid("state retention keep_last must be >= 1 (the latest version is always kept)"));
        }
        Ok(())
    }

    fn keeps(&self, version: u64, latest: u64, timestamp_ms: i64, now_ms: i64) -> bool {
        if !self.is_bounded() || version >= latest {
            return true;
        }
        let by_count = self.keep_last.is_some_and(|n| version + n > latest);
        let by_age = self
            .keep_newer_than
            .is_some_and(|d| timestamp_ms >= now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        by_count || by_age
    }
}

/// What `AgentDb::gc` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub state_versions_removed: u64,
    pub maintenance: MaintenanceReport,
}

fn u64s<'a>(b: &'a arrow_array::RecordBatch, i: usize, name: &str) -> Result<&'a UInt64Array> {
    b.column(i).as_any().downcast_ref::<UInt64Array>().ok_or_else(|| Error::corrupted(format!("states column {name}")))
}

impl Engine {
    /// Deletes the state versions `retention` does not keep. Called by
    /// maintenance with the Lance writer lock held, after a flush.
    pub(crate) async fn apply_state_retention(&self, states: &Table, retention: &StateRetention) -> Result<u64> {
        if !retention.is_bounded() {
            return Ok(0);
        }
        let snaps =
            tables::query(&self.states.snapshots_tbl, None, Some(&["agent_id", "session_id", "version"]), None, None)
                .await?;
        let mut pinned: HashSet<(u64, u64, u64)> = HashSet::new();
        for b in &snaps {
            let (a, s, v) = (u64s(b, 0, "agent_id")?, u64s(b, 1, "session_id")?, u64s(b, 2, "version")?);
            for i in 0..b.num_rows() {
                pinned.insert((a.value(i), s.value(i), v.value(i)));
            }
        }
        let rows = tables::query(
            states,
            None,
            Some(&["lsn", "agent_id", "session_id", "version", "timestamp_ms"]),
            None,
            None,
        )
        .await?;
        let mut latest: HashMap<(u64, u64), u64> = HashMap::new();
        for b in &rows {
            let (a, s, v) = (u64s(b, 1, "agent_id")?, u64s(b, 2, "session_id")?, u64s(b, 3, "version")?);
            for i in 0..b.num_rows() {
                let e = latest.entry((a.value(i), s.value(i))).or_insert(0);
                *e = (*e).max(v.value(i));
            }
        }
        let now = now_ms();
        let mut doomed = Vec::new();
        for b in &rows {
            let (lsn, a, s, v) =
                (u64s(b, 0, "lsn")?, u64s(b, 1, "agent_id")?, u64s(b, 2, "session_id")?, u64s(b, 3, "version")?);
            let ts = b
                .column(4)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::corrupted("states column timestamp_ms"))?;
            for i in 0..b.num_rows() {
                let key = (a.value(i), s.value(i));
                let version = v.value(i);
                let kept = pinned.contains(&(key.0, key.1, version))
                    || retention.keeps(version, latest[&key], ts.value(i), now);
                if !kept {
                    doomed.push(lsn.value(i));
                }
            }
        }
        for batch in doomed.chunks(DELETE_BATCH_ROWS) {
            states.delete(&filter::u64_in("lsn", batch)).await?;
        }
        Ok(doomed.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_latest_last_n_and_recent() {
        let now = 1_000_000;
        let r = StateRetention::keep_last(3);
        let kept: Vec<u64> = (1..=10).filter(|v| r.keeps(*v, 10, 0, now)).collect();
        assert_eq!(kept, vec![8, 9, 10]);
        let r = StateRetention::keep_newer_than(Duration::from_millis(100));
        assert!(r.keeps(1, 10, now - 50, now));
        assert!(!r.keeps(1, 10, now - 500, now));
        assert!(r.keeps(10, 10, 0, now), "the latest always stays");
        let both = StateRetention { keep_last: Some(1), keep_newer_than: Some(Duration::from_millis(100)) };
        assert!(both.keeps(5, 10, now - 10, now), "recent enough");
        assert!(!both.keeps(5, 10, now - 500, now));
        assert!(StateRetention::default().keeps(1, 10, 0, now), "unbounded keeps everything");
        assert!(StateRetention::keep_last(0).validate().is_err());
    }
}

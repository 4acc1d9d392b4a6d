//! The memtable: every WAL record not yet flushed to Lance, indexed for
//! reads. It is a container of parts, one per subsystem (`MemPart`); the
//! container knows no subsystem, only how to route a record to the part
//! that owns it, and what the parts hold in total (for flush triggers and
//! backpressure).
//!
//! The same `apply` runs for live writes (under the log's ordering lock, in
//! LSN order) and for replay on open, so the memtable after a crash is
//! exactly the one before it. Reads copy what they need from here *before*
//! querying Lance; a flush removes records from here only *after* Lance
//! committed them, so every record is always visible in at least one of the
//! two (see `storage::read`).

use std::any::{Any, TypeId};
use std::time::Instant;

use crate::storage::record::{self, RecordKind};
use crate::{Error, Result};

/// Bytes and records a part holds (estimates, for flush triggers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: usize,
    pub records: usize,
}

impl Usage {
    /// One more record of `bytes`.
    pub fn add(&mut self, bytes: usize) {
        self.bytes += bytes;
        self.records += 1;
    }
    /// One record of `bytes` fewer.
    pub fn remove(&mut self, bytes: usize) {
        debug_assert!(self.records > 0 && self.bytes >= bytes, "memtable usage never goes negative");
        self.bytes = self.bytes.saturating_sub(bytes);
        self.records = self.records.saturating_sub(1);
    }
}

/// Drops the tombstones (key → LSN of the delete) that a flush through
/// `upto` applied to Lance, counting each out of `usage`.
pub fn drain_tombstones<K: std::hash::Hash + Eq>(
    tombstones: &mut std::collections::HashMap<K, u64>,
    upto: u64,
    usage: &mut Usage,
) {
    tombstones.retain(|_, lsn| {
        let keep = *lsn > upto;
        if !keep {
            usage.remove(0);
        }
        keep
    });
}

/// A subsystem's WAL record type: how it is encoded, and decoded from any
/// version ever written.
pub trait LogRecord: Sized + Send + 'static {
    /// The block of kind numbers this record type owns (`record::blocks`).
    const BLOCK: u8;
    /// Variants of the first releases' postcard enum that decode as one of
    /// these kinds: (variant index, kind, version).
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)];
    fn encode(&self) -> Result<Vec<u8>>;
    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<Self>;
}

/// A subsystem's part of the memtable.
pub trait MemPart: Default + Send + Sync + 'static {
    type Record: LogRecord;
    /// What a flush writes for this part.
    type Flush: Send + Sync + 'static;
    fn apply(&mut self, lsn: u64, record: Self::Record);
    /// Everything with LSN ≤ `upto` that a flush must write; `None` if nothing.
    fn collect_through(&self, upto: u64) -> Option<Self::Flush>;
    /// Drops what a committed flush up to `upto` made durable in Lance.
    fn drain_through(&mut self, upto: u64);
    fn usage(&self) -> Usage;
}

/// The object-safe face of a part, for the container.
trait Part: Send + Sync {
    fn replay(&mut self, lsn: u64, kind: RecordKind, version: u8, body: &[u8]) -> Result<()>;
    fn collect(&self, upto: u64) -> Option<Box<dyn Any + Send + Sync>>;
    fn drain(&mut self, upto: u64);
    fn usage(&self) -> Usage;
    fn block(&self) -> u8;
    fn legacy_variants(&self) -> &'static [(u8, RecordKind, u8)];
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<P: MemPart> Part for P {
    fn replay(&mut self, lsn: u64, kind: RecordKind, version: u8, body: &[u8]) -> Result<()> {
        self.apply(lsn, P::Record::decode(kind, version, body)?);
        Ok(())
    }
    fn collect(&self, upto: u64) -> Option<Box<dyn Any + Send + Sync>> {
        self.collect_through(upto).map(|f| Box::new(f) as Box<dyn Any + Send + Sync>)
    }
    fn drain(&mut self, upto: u64) {
        self.drain_through(upto)
    }
    fn usage(&self) -> Usage {
        MemPart::usage(self)
    }
    fn block(&self) -> u8 {
        P::Record::BLOCK
    }
    fn legacy_variants(&self) -> &'static [(u8, RecordKind, u8)] {
        P::Record::LEGACY_VARIANTS
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

pub struct Memtable {
    parts: Vec<Box<dyn Part>>,
    /// Totals over the parts, kept current by `apply` and `drain_through`.
    pub bytes: usize,
    pub records: usize,
    pub oldest: Option<Instant>,
    pub last_applied_lsn: u64,
}

/// What one flush writes: each part's `MemPart::Flush`, by part type.
#[derive(Default)]
pub struct FlushSet {
    parts: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

impl FlushSet {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
    /// The flush work of part `P`, if it has any.
    pub fn get<P: MemPart>(&self) -> Option<&P::Flush> {
        self.parts.iter().find(|(t, _)| *t == TypeId::of::<P>()).and_then(|(_, f)| f.downcast_ref::<P::Flush>())
    }
}

/// Builds a memtable from the subsystems' part types.
#[derive(Default)]
pub struct MemtableBuilder {
    parts: Vec<Box<dyn Part>>,
}

impl MemtableBuilder {
    pub fn part<P: MemPart>(mut self) -> Self {
        assert!(
            self.parts.iter().all(|p| p.block() != P::Record::BLOCK && !p.as_any().is::<P>()),
            "each part owns its own block of record kinds"
        );
        self.parts.push(Box::new(P::default()));
        self
    }
    pub fn build(self) -> Memtable {
        Memtable { parts: self.parts, bytes: 0, records: 0, oldest: None, last_applied_lsn: 0 }
    }
}

impl Memtable {
    fn index_of<P: MemPart>(&self) -> usize {
        self.parts
            .iter()
            .position(|p| p.as_any().is::<P>())
            .unwrap_or_else(|| panic!("memtable part {} is not registered", std::any::type_name::<P>()))
    }

    pub fn part<P: MemPart>(&self) -> &P {
        let i = self.index_of::<P>();
        self.parts[i].as_any().downcast_ref::<P>().unwrap_or_else(|| unreachable!("found by type"))
    }

    pub fn part_mut<P: MemPart>(&mut self) -> &mut P {
        let i = self.index_of::<P>();
        self.parts[i].as_any_mut().downcast_mut::<P>().unwrap_or_else(|| unreachable!("found by type"))
    }

    fn before_apply(&mut self, lsn: u64) {
        debug_assert!(lsn > self.last_applied_lsn, "memtable LSNs must increase");
        self.last_applied_lsn = lsn;
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
    }

    fn recount(&mut self) {
        let (bytes, records) =
            self.parts.iter().map(|p| p.usage()).fold((0, 0), |(b, r), u| (b + u.bytes, r + u.records));
        self.bytes = bytes;
        self.records = records;
    }

    /// Applies a live write of part `P`'s subsystem.
    pub fn apply<P: MemPart>(&mut self, lsn: u64, record: P::Record) {
        self.before_apply(lsn);
        self.part_mut::<P>().apply(lsn, record);
        self.recount();
    }

    /// Applies a record read back from the log.
    pub fn replay(&mut self, lsn: u64, payload: &[u8], format: crate::storage::wal::SegmentFormat) -> Result<()> {
        let (kind, version, body) = match format {
            crate::storage::wal::SegmentFormat::Enveloped => record::split(payload)?,
            crate::storage::wal::SegmentFormat::Legacy => self.legacy_envelope(payload)?,
        };
        let part =
            self.parts.iter().position(|p| p.block() == kind.0 & 0xF0).ok_or_else(|| record::unknown(kind, version))?;
        self.before_apply(lsn);
        self.parts[part].replay(lsn, kind, version, body)?;
        self.recount();
        Ok(())
    }

    /// Segments written before record kinds existed hold a postcard enum: a
    /// one-byte variant index, then exactly the fields of a kind's body (see
    /// each subsystem's `LEGACY_VARIANTS`). Mapping the index is all it takes.
    fn legacy_envelope<'a>(&self, payload: &'a [u8]) -> Result<(RecordKind, u8, &'a [u8])> {
        let (variant, body) = payload.split_first().ok_or_else(|| Error::corrupted("empty WAL record"))?;
        self.parts
            .iter()
            .flat_map(|p| p.legacy_variants().iter())
            .find(|(v, _, _)| v == variant)
            .map(|(_, kind, version)| (*kind, *version, body))
            .ok_or_else(|| Error::corrupted(format!("unknown legacy WAL record variant {variant}")))
    }

    /// Everything a flush up to `upto` must write.
    pub fn collect_through(&self, upto: u64) -> FlushSet {
        FlushSet {
            parts: self.parts.iter().filter_map(|p| p.collect(upto).map(|f| (Any::type_id(p.as_any()), f))).collect(),
        }
    }

    /// Drops what a committed flush up to `upto` made durable in Lance.
    pub fn drain_through(&mut self, upto: u64) {
        for p in &mut self.parts {
            p.drain(upto);
        }
        self.recount();
        self.oldest = if self.records == 0 { None } else { Some(Instant::now()) };
    }
}

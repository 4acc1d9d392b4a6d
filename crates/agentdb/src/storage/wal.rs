//! Write-ahead log: the durability point of every write.
//!
//! A WAL is a directory of segment files named by the LSN of their first
//! record (`00000000000000000001.wal`). A segment starts with an 8-byte magic
//! that names its frame format, and holds frames. Format 2 (`AGDBWAL2`, written
//! now):
//!
//! ```text
//! len: u32 LE | lsn: u64 LE | crc32c(payload): u32 LE | crc32c(len ‖ lsn ‖ payload crc): u32 LE | payload
//! ```
//!
//! The header has its own checksum, so a damaged length is detected as
//! damage, never mistaken for a frame that runs past the end of the file.
//! The payload is a record envelope (`storage::record`). Format 1
//! (`AGDBWAL1`, the first releases) is still replayed:
//! `len | crc32c(lsn ‖ payload) | lsn | payload`, its payload a legacy
//! postcard enum (`SegmentFormat::Legacy`).
//!
//! Invariants:
//! - LSNs are dense: each frame's LSN is the previous one plus one, across segments.
//! - A frame is written with one `write` call while holding the state lock, so
//!   the file never interleaves two frames; once `append` returns, the frame is
//!   in the kernel page cache and survives `kill -9`.
//! - With `FsyncPolicy::Always`, `append` returns only after an fsync covering
//!   the frame (group commit: one fsync serves every writer queued behind it).
//! - On replay, a torn final frame of the last segment (what a crash mid-write
//!   leaves) is truncated with a warning; any other damage is `Error::Corrupted`.
//! - After an fsync failure the log refuses further writes (the kernel may
//!   have dropped the dirty pages, so retrying would silently lose data).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::options::FsyncPolicy;
use crate::{Error, Result};

/// Magic of the segments written now (frame format 2).
const SEGMENT_MAGIC: &[u8; 8] = b"AGDBWAL2";
/// Magic of the first releases' segments (frame format 1), replayed only.
const SEGMENT_MAGIC_V1: &[u8; 8] = b"AGDBWAL1";
const FRAME_HEADER_BYTES: usize = 20;
const FRAME_HEADER_BYTES_V1: usize = 16;

/// Called with each replayed record: its LSN, payload and segment format.
pub type ReplayVisitor<'a> = dyn FnMut(u64, &[u8], SegmentFormat) -> Result<()> + 'a;

/// How a segment's frames and payloads are laid out, from its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFormat {
    /// `AGDBWAL1`: payloads are the first releases' postcard enum.
    Legacy,
    /// `AGDBWAL2`: payloads are record envelopes.
    Enveloped,
}
const SEGMENT_SUFFIX: &str = ".wal";

/// Outcome of replaying a log directory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub records: u64,
    pub last_lsn: u64,
    /// Bytes cut from a torn tail, if any.
    pub truncated_bytes: u64,
}

/// The file operations the log needs: the seam where tests inject failed
/// writes, short writes and failed fsyncs (as redb's crash backend does).
pub trait SegmentFile: Send + Sync {
    fn append(&self, buf: &[u8]) -> std::io::Result<()>;
    fn sync(&self) -> std::io::Result<()>;
    fn truncate(&self, len: u64) -> std::io::Result<()>;
}

impl SegmentFile for File {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        (&*self).write_all(buf)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.sync_data()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.set_len(len)
    }
}

/// Creates segment files; `StdIo` in production, fault injectors in tests.
pub trait WalIo: Send + Sync {
    fn create(&self, path: &Path) -> std::io::Result<Arc<dyn SegmentFile>>;
}

pub struct StdIo;

impl WalIo for StdIo {
    fn create(&self, path: &Path) -> std::io::Result<Arc<dyn SegmentFile>> {
        Ok(Arc::new(OpenOptions::new().create_new(true).append(true).open(path)?))
    }
}

struct Segment {
    first_lsn: u64,
    path: PathBuf,
}

struct WalState {
    file: Arc<dyn SegmentFile>,
    segment_len: u64,
    /// Sealed segments plus the current one (last), oldest first.
    segments: Vec<Segment>,
    next_lsn: u64,
}

pub struct Wal {
    dir: PathBuf,
    io: Arc<dyn WalIo>,
    policy: FsyncPolicy,
    segment_bytes: u64,
    state: Mutex<WalState>,
    /// Serialises fsyncs; whoever holds it syncs for everybody queued behind.
    sync_lock: Mutex<()>,
    synced_lsn: AtomicU64,
    poisoned: AtomicBool,
}

fn segment_path(dir: &Path, first_lsn: u64) -> PathBuf {
    dir.join(format!("{first_lsn:020}{SEGMENT_SUFFIX}"))
}

fn list_segments(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else { continue };
        let first_lsn: u64 =
            stem.parse().map_err(|_| Error::corrupted(format!("unexpected file in WAL directory: {name}")))?;
        segments.push(Segment { first_lsn, path: entry.path() });
    }
    segments.sort_by_key(|s| s.first_lsn);
    Ok(segments)
}

/// Whether the log directory holds any record (a segment longer than its magic).
pub fn holds_records(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    for s in list_segments(dir)? {
        if fs::metadata(&s.path)?.len() > SEGMENT_MAGIC.len() as u64 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses a log that starts after `after_lsn + 1`: the records between the
/// checkpoint and the first segment are gone. Checked before recovery
/// changes anything.
pub fn check_continuity(dir: &Path, after_lsn: u64) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if let Some(first) = list_segments(dir)?.first() {
        if first.first_lsn > after_lsn + 1 {
            return Err(Error::corrupted(format!(
                "WAL starts at LSN {} but the checkpoint ends at {after_lsn}: records are missing",
                first.first_lsn
            )));
        }
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Whether a frame's payload matches its checksum (per frame format).
type PayloadCheck = Box<dyn Fn(&[u8]) -> bool>;

fn header_crc(len: u32, lsn: u64, payload_crc: u32) -> u32 {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[4..12].copy_from_slice(&lsn.to_le_bytes());
    h[12..16].copy_from_slice(&payload_crc.to_le_bytes());
    crc32c::crc32c(&h)
}

/// Encodes one frame (format 2); exposed for tests that forge damaged logs.
/// A payload over `MAX_RECORD_BYTES` is refused (records are checked when
/// encoded, so only a bug reaches this).
pub fn encode_frame(lsn: u64, payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l as usize <= crate::limits::MAX_RECORD_BYTES)
        .ok_or(Error::PayloadTooLarge { size: payload.len(), limit: crate::limits::MAX_RECORD_BYTES })?;
    let payload_crc = crc32c::crc32c(payload);
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&lsn.to_le_bytes());
    frame.extend_from_slice(&payload_crc.to_le_bytes());
    frame.extend_from_slice(&header_crc(len, lsn, payload_crc).to_le_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Encodes one frame of format 1, for tests of old logs.
#[doc(hidden)]
pub fn encode_frame_v1(lsn: u64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&lsn.to_le_bytes()), payload);
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES_V1 + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&crc.to_le_bytes());
    frame.extend_from_slice(&lsn.to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The magic of format-1 segments, for tests of old logs.
#[doc(hidden)]
pub const SEGMENT_MAGIC_FORMAT_1: &[u8; 8] = SEGMENT_MAGIC_V1;

enum FrameError {
    /// The frame runs past the end of the file, or its checksum fails and it is the last
    /// thing in the file: what an interrupted write leaves.
    Torn,
    Corrupt(String),
}

/// Parses the frames of one segment body, calling `visit` for each.
/// Returns the byte offset where parsing stopped and the error, if any.
///
/// A torn tail is what an interrupted append leaves: a header cut short, or
/// a header whose checksum holds with a payload cut short or failing its
/// checksum as the last bytes of the file; or (power loss under a lazy
/// fsync policy) nothing but zero bytes from there on. Anything else —
/// above all a header that fails its checksum with data after it — is
/// damage, reported and never truncated.
fn parse_frames(
    bytes: &[u8],
    format: SegmentFormat,
    mut expected_lsn: u64,
    visit: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<(usize, u64, Option<FrameError>)> {
    let mut pos = SEGMENT_MAGIC.len();
    let mut count = 0u64;
    let header_bytes = match format {
        SegmentFormat::Enveloped => FRAME_HEADER_BYTES,
        SegmentFormat::Legacy => FRAME_HEADER_BYTES_V1,
    };
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u64_at = |b: &[u8], at: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(x)
    };
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.iter().all(|b| *b == 0) {
            return Ok((pos, count, Some(FrameError::Torn)));
        }
        if rest.len() < header_bytes {
            return Ok((pos, count, Some(FrameError::Torn)));
        }
        let (len, lsn, payload_ok): (usize, u64, PayloadCheck) = match format {
            SegmentFormat::Enveloped => {
                let len = u32_at(rest, 0);
                let lsn = u64_at(rest, 4);
                let payload_crc = u32_at(rest, 12);
                if header_crc(len, lsn, payload_crc) != u32_at(rest, 16) {
                    return Ok((
                        pos,
                        count,
                        Some(FrameError::Corrupt(format!("frame header checksum mismatch at byte {pos}"))),
                    ));
                }
                (len as usize, lsn, Box::new(move |p: &[u8]| crc32c::crc32c(p) == payload_crc))
            }
            SegmentFormat::Legacy => {
                let len = u32_at(rest, 0) as usize;
                let crc = u32_at(rest, 4);
                let lsn = u64_at(rest, 8);
                (
                    len,
                    lsn,
                    Box::new(move |p: &[u8]| crc32c::crc32c_append(crc32c::crc32c(&lsn.to_le_bytes()), p) == crc),
                )
            }
        };
        let end = header_bytes + len;
        if rest.len() < end {
            return Ok((pos, count, Some(FrameError::Torn)));
        }
        let payload = &rest[header_bytes..end];
        if !payload_ok(payload) {
            let err = if rest.len() == end {
                FrameError::Torn
            } else {
                FrameError::Corrupt(format!("checksum mismatch in frame at byte {pos}"))
            };
            return Ok((pos, count, Some(err)));
        }
        if lsn != expected_lsn {
            return Ok((
                pos,
                count,
                Some(FrameError::Corrupt(format!("expected LSN {expected_lsn}, found {lsn} at byte {pos}"))),
            ));
        }
        visit(lsn, payload)?;
        expected_lsn += 1;
        count += 1;
        pos += end;
    }
    Ok((pos, count, None))
}

impl Wal {
    /// Replays every record with LSN > `after_lsn` through `visit`, repairs a
    /// torn tail (unless `read_only`), and opens the log for appending.
    /// `after_lsn` is the last LSN already durable in Lance (the checkpoint).
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        segment_bytes: u64,
        after_lsn: u64,
        read_only: bool,
        visit: &mut ReplayVisitor<'_>,
    ) -> Result<(Option<Wal>, ReplayReport)> {
        Self::open_with_io(dir, Arc::new(StdIo), policy, segment_bytes, after_lsn, read_only, visit)
    }

    pub fn open_with_io(
        dir: &Path,
        io: Arc<dyn WalIo>,
        policy: FsyncPolicy,
        segment_bytes: u64,
        after_lsn: u64,
        read_only: bool,
        visit: &mut ReplayVisitor<'_>,
    ) -> Result<(Option<Wal>, ReplayReport)> {
        if !read_only {
            fs::create_dir_all(dir)?;
        } else if !dir.exists() {
            return Ok((None, ReplayReport { last_lsn: after_lsn, ..Default::default() }));
        }
        let mut segments = list_segments(dir)?;
        let mut report = ReplayReport { last_lsn: after_lsn, ..Default::default() };
        if let Some(first) = segments.first() {
            if first.first_lsn > after_lsn + 1 {
                return Err(Error::corrupted(format!(
                    "WAL starts at LSN {} but the checkpoint ends at {after_lsn}: records are missing",
                    first.first_lsn
                )));
            }
        }
        let mut last_seen = None::<u64>;
        let segment_count = segments.len();
        for (i, segment) in segments.iter().enumerate() {
            let is_last = i + 1 == segment_count;
            if let Some(prev) = last_seen {
                if segment.first_lsn != prev + 1 {
                    return Err(Error::corrupted(format!(
                        "WAL segment {} does not follow LSN {prev}",
                        segment.path.display()
                    )));
                }
            }
            let bytes = fs::read(&segment.path)?;
            let format = match bytes.get(..SEGMENT_MAGIC.len()) {
                Some(m) if m == SEGMENT_MAGIC => SegmentFormat::Enveloped,
                Some(m) if m == SEGMENT_MAGIC_V1 => SegmentFormat::Legacy,
                // A crash between creating a segment and writing its magic leaves a short file.
                _ if is_last && bytes.len() < SEGMENT_MAGIC.len() && SEGMENT_MAGIC.starts_with(&bytes) => {
                    report.truncated_bytes += bytes.len() as u64;
                    continue;
                }
                _ => return Err(Error::corrupted(format!("bad WAL segment header in {}", segment.path.display()))),
            };
            let mut wrapped = |lsn: u64, payload: &[u8]| -> Result<()> {
                if lsn > after_lsn {
                    report.records += 1;
                    visit(lsn, payload, format)?;
                }
                Ok(())
            };
            let (stop, count, err) = parse_frames(&bytes, format, segment.first_lsn, &mut wrapped)?;
            if count > 0 {
                last_seen = Some(segment.first_lsn + count - 1);
            } else if last_seen.is_none() {
                last_seen = Some(segment.first_lsn - 1);
            }
            match err {
                None => {}
                Some(FrameError::Torn) if is_last => {
                    let cut = bytes.len() - stop;
                    tracing::warn!(
                        segment = %segment.path.display(),
                        offset = stop,
                        bytes = cut,
                        "truncating torn WAL tail left by an interrupted write"
                    );
                    report.truncated_bytes += cut as u64;
                    if !read_only {
                        let f = OpenOptions::new().write(true).open(&segment.path)?;
                        f.set_len(stop as u64)?;
                        f.sync_all()?;
                    }
                }
                Some(FrameError::Torn) => {
                    return Err(Error::corrupted(format!(
                        "WAL segment {} ends in a partial frame but is not the last segment",
                        segment.path.display()
                    )))
                }
                Some(FrameError::Corrupt(msg)) => {
                    return Err(Error::corrupted(format!("WAL segment {}: {msg}", segment.path.display())))
                }
            }
        }
        let last_lsn = last_seen.unwrap_or(after_lsn).max(after_lsn);
        report.last_lsn = last_lsn;
        if read_only {
            return Ok((None, report));
        }

        // Start a fresh segment at the next LSN; drop an existing empty last segment
        // that would collide with it.
        let next_lsn = last_lsn + 1;
        if let Some(last) = segments.last() {
            if last.first_lsn == next_lsn {
                fs::remove_file(&last.path)?;
                segments.pop();
            }
        }
        let (file, path) = create_segment(&*io, dir, next_lsn)?;
        segments.push(Segment { first_lsn: next_lsn, path });
        let wal = Wal {
            dir: dir.to_path_buf(),
            io,
            policy,
            segment_bytes,
            state: Mutex::new(WalState { file, segment_len: SEGMENT_MAGIC.len() as u64, segments, next_lsn }),
            sync_lock: Mutex::new(()),
            synced_lsn: AtomicU64::new(last_lsn),
            poisoned: AtomicBool::new(false),
        };
        Ok((Some(wal), report))
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Io(std::io::Error::other(
                "the write-ahead log failed an earlier write or fsync and refuses writes until reopened",
            )));
        }
        Ok(())
    }

    /// Appends one record. `apply` runs under the log lock with the assigned
    /// LSN, so the memtable sees records in LSN order and a flush that seals
    /// the log sees every record it covers. Returns once the record is as
    /// durable as the policy promises.
    pub fn append<T>(&self, payload: &[u8], apply: impl FnOnce(u64) -> T) -> Result<(u64, T)> {
        self.append_group(&[payload], apply)
    }

    /// Appends records with consecutive LSNs in one write: all of them reach
    /// the file or, if the write fails, none. `apply` gets the first LSN.
    pub fn append_group<T>(&self, payloads: &[&[u8]], apply: impl FnOnce(u64) -> T) -> Result<(u64, T)> {
        self.check_poisoned()?;
        if payloads.is_empty() {
            return Err(Error::invalid("an empty group of records"));
        }
        let (first, last, out, file) = {
            let mut st = self.state.lock();
            if st.segment_len >= self.segment_bytes {
                self.rotate_locked(&mut st)?;
            }
            let first = st.next_lsn;
            let mut frames = Vec::new();
            for (i, payload) in payloads.iter().enumerate() {
                frames.extend_from_slice(&encode_frame(first + i as u64, payload)?);
            }
            if let Err(e) = st.file.append(&frames) {
                // Cut back to the last whole frame so later appends never follow garbage.
                if st.file.truncate(st.segment_len).is_err() {
                    self.poisoned.store(true, Ordering::Release);
                }
                return Err(e.into());
            }
            st.segment_len += frames.len() as u64;
            st.next_lsn += payloads.len() as u64;
            let out = apply(first);
            (first, st.next_lsn - 1, out, st.file.clone())
        };
        if self.policy == FsyncPolicy::Always {
            self.sync_through(last, &file)?;
        }
        Ok((first, out))
    }

    /// Group commit: if another thread's fsync already covered `lsn`, return at once.
    fn sync_through(&self, lsn: u64, file: &Arc<dyn SegmentFile>) -> Result<()> {
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        let _g = self.sync_lock.lock();
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        // Everything written to this file so far is covered by this fsync.
        let (covered, current) = {
            let st = self.state.lock();
            (st.next_lsn - 1, st.file.clone())
        };
        if let Err(e) = file.sync() {
            self.poisoned.store(true, Ordering::Release);
            return Err(e.into());
        }
        // If the segment rotated meanwhile, rotation synced the old file and
        // `covered` may lie in the new one: only claim what this file holds.
        let covered = if Arc::ptr_eq(&current, file) { covered } else { lsn };
        self.synced_lsn.fetch_max(covered, Ordering::AcqRel);
        Ok(())
    }

    /// Fsyncs everything written so far (the `batch` policy's timer and `close`).
    pub fn sync(&self) -> Result<()> {
        self.check_poisoned()?;
        let (last, file) = {
            let st = self.state.lock();
            (st.next_lsn - 1, st.file.clone())
        };
        if self.synced_lsn.load(Ordering::Acquire) >= last {
            return Ok(());
        }
        self.sync_through(last, &file)
    }

    fn rotate_locked(&self, st: &mut WalState) -> Result<()> {
        if let Err(e) = st.file.sync() {
            self.poisoned.store(true, Ordering::Release);
            return Err(e.into());
        }
        self.synced_lsn.fetch_max(st.next_lsn - 1, Ordering::AcqRel);
        let (file, path) = create_segment(&*self.io, &self.dir, st.next_lsn)?;
        st.segments.push(Segment { first_lsn: st.next_lsn, path });
        st.file = file;
        st.segment_len = SEGMENT_MAGIC.len() as u64;
        Ok(())
    }

    /// Seals the current segment (if it holds anything) and runs `f` with the
    /// last LSN written, all under the log lock: no append can interleave, so
    /// `f` sees exactly the records up to that LSN.
    pub fn seal<T>(&self, f: impl FnOnce(u64) -> T) -> Result<T> {
        self.check_poisoned()?;
        let mut st = self.state.lock();
        if st.segment_len > SEGMENT_MAGIC.len() as u64 {
            self.rotate_locked(&mut st)?;
        }
        Ok(f(st.next_lsn - 1))
    }

    /// Deletes sealed segments whose records are all ≤ `lsn` (durable in Lance).
    pub fn retire_through(&self, lsn: u64) -> Result<usize> {
        let doomed: Vec<PathBuf> = {
            let mut st = self.state.lock();
            let mut keep_from = 0;
            // Segment i may go when segment i+1 starts at or before lsn + 1.
            while keep_from + 1 < st.segments.len() && st.segments[keep_from + 1].first_lsn <= lsn + 1 {
                keep_from += 1;
            }
            st.segments.drain(..keep_from).map(|s| s.path).collect()
        };
        for path in &doomed {
            fs::remove_file(path)?;
        }
        Ok(doomed.len())
    }

    pub fn last_lsn(&self) -> u64 {
        self.state.lock().next_lsn - 1
    }

    pub fn segment_count(&self) -> usize {
        self.state.lock().segments.len()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn create_segment(io: &dyn WalIo, dir: &Path, first_lsn: u64) -> Result<(Arc<dyn SegmentFile>, PathBuf)> {
    let path = segment_path(dir, first_lsn);
    let file = io.create(&path)?;
    file.append(SEGMENT_MAGIC)?;
    file.sync()?;
    sync_dir(dir)?;
    Ok((file, path))
}

impl crate::storage::log::DurableLog for Wal {
    fn append(&self, records: &[&[u8]], apply: &mut dyn FnMut(u64)) -> Result<u64> {
        self.append_group(records, apply).map(|(lsn, ())| lsn)
    }
    fn sync(&self) -> Result<()> {
        Wal::sync(self)
    }
    fn seal(&self, f: &mut dyn FnMut(u64)) -> Result<()> {
        Wal::seal(self, f)
    }
    fn retire_through(&self, lsn: u64) -> Result<usize> {
        Wal::retire_through(self, lsn)
    }
    fn last_lsn(&self) -> u64 {
        Wal::last_lsn(self)
    }
    fn segment_count(&self) -> usize {
        Wal::segment_count(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replayed (LSN, payload) pairs, the report, and the log opened for appends.
    type Replayed = (Vec<(u64, Vec<u8>)>, ReplayReport, Option<Wal>);

    fn collect(dir: &Path, after: u64) -> Result<Replayed> {
        let mut out = Vec::new();
        let (wal, rep) = Wal::open(dir, FsyncPolicy::Never, 1 << 20, after, false, &mut |lsn, p, _| {
            out.push((lsn, p.to_vec()));
            Ok(())
        })?;
        Ok((out, rep, wal))
    }

    #[test]
    fn append_then_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (_, _, wal) = collect(dir.path(), 0).unwrap();
            let wal = wal.unwrap();
            for i in 0..100u32 {
                let (lsn, ()) = wal.append(&i.to_le_bytes(), |_| ()).unwrap();
                assert_eq!(lsn, u64::from(i) + 1);
            }
        }
        let (records, rep, _) = collect(dir.path(), 0).unwrap();
        assert_eq!(records.len(), 100);
        assert_eq!(rep.last_lsn, 100);
        for (i, (lsn, p)) in records.iter().enumerate() {
            assert_eq!(*lsn, i as u64 + 1);
            assert_eq!(p, &(i as u32).to_le_bytes());
        }
        // Records at or below the checkpoint are skipped.
        let (records, _, _) = collect(dir.path(), 40).unwrap();
        assert_eq!(records.first().unwrap().0, 41);
    }

    #[test]
    fn torn_tail_is_truncated_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let seg;
        {
            let (_, _, wal) = collect(dir.path(), 0).unwrap();
            let wal = wal.unwrap();
            wal.append(b"one", |_| ()).unwrap();
            wal.append(b"two", |_| ()).unwrap();
            seg = wal.state.lock().segments.last().unwrap().path.clone();
        }
        // Simulate a crash in the middle of writing frame 3.
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        let frame = encode_frame(3, b"three").unwrap();
        f.write_all(&frame[..frame.len() - 2]).unwrap();
        drop(f);
        let (records, rep, wal) = collect(dir.path(), 0).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(rep.truncated_bytes, (frame.len() - 2) as u64);
        let (lsn, ()) = wal.unwrap().append(b"three again", |_| ()).unwrap();
        assert_eq!(lsn, 3);
        let (records, rep, _) = collect(dir.path(), 0).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(rep.truncated_bytes, 0);
    }

    #[test]
    fn corruption_before_the_tail_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let seg;
        {
            let (_, _, wal) = collect(dir.path(), 0).unwrap();
            let wal = wal.unwrap();
            for i in 0..10u8 {
                wal.append(&[i; 32], |_| ()).unwrap();
            }
            seg = wal.state.lock().segments.last().unwrap().path.clone();
        }
        let mut bytes = fs::read(&seg).unwrap();
        bytes[8 + FRAME_HEADER_BYTES + 5] ^= 0xFF; // inside the first frame's payload
        fs::write(&seg, &bytes).unwrap();
        match collect(dir.path(), 0) {
            Err(Error::Corrupted(msg)) => assert!(msg.contains("checksum"), "{msg}"),
            other => panic!("expected Corrupted, got {:?}", other.map(|r| r.0.len())),
        }
    }

    #[test]
    fn rotation_and_retirement() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _, wal) = collect(dir.path(), 0).unwrap();
        let wal = wal.unwrap();
        for i in 0..10u8 {
            wal.append(&[i], |_| ()).unwrap();
            if i % 3 == 2 {
                wal.seal(|_| ()).unwrap();
            }
        }
        assert_eq!(wal.segment_count(), 4);
        wal.retire_through(6).unwrap();
        // Segments [1..3], [4..6] go; [7..9] and the current stay.
        assert_eq!(wal.segment_count(), 2);
        drop(wal);
        let (records, _, _) = collect(dir.path(), 6).unwrap();
        assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), vec![7, 8, 9, 10]);
        // A checkpoint older than the first remaining segment means lost records.
        assert!(matches!(collect(dir.path(), 2), Err(Error::Corrupted(_))));
    }

    /// Fails the Nth append (optionally after writing part of it) or every fsync once armed.
    struct Faulty {
        appends_until_fail: std::sync::atomic::AtomicI64,
        short_write: bool,
        fail_sync: AtomicBool,
    }
    struct FaultyFile {
        inner: File,
        faults: Arc<Faulty>,
    }
    impl SegmentFile for FaultyFile {
        fn append(&self, buf: &[u8]) -> std::io::Result<()> {
            if self.faults.appends_until_fail.fetch_sub(1, Ordering::SeqCst) == 0 {
                if self.faults.short_write {
                    self.inner.append(&buf[..buf.len() / 2])?;
                }
                return Err(std::io::Error::other("injected: no space left on device"));
            }
            self.inner.append(buf)
        }
        fn sync(&self) -> std::io::Result<()> {
            if self.faults.fail_sync.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("injected: fsync failed"));
            }
            self.inner.sync()
        }
        fn truncate(&self, len: u64) -> std::io::Result<()> {
            self.inner.truncate(len)
        }
    }
    struct FaultyIo(Arc<Faulty>);
    impl WalIo for FaultyIo {
        fn create(&self, path: &Path) -> std::io::Result<Arc<dyn SegmentFile>> {
            let inner = OpenOptions::new().create_new(true).append(true).open(path)?;
            Ok(Arc::new(FaultyFile { inner, faults: self.0.clone() }))
        }
    }

    fn faulty(fail_after: i64, short_write: bool, policy: FsyncPolicy) -> (tempfile::TempDir, Wal, Arc<Faulty>) {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faulty {
            // +1: the segment magic is the first append.
            appends_until_fail: std::sync::atomic::AtomicI64::new(fail_after + 1),
            short_write,
            fail_sync: AtomicBool::new(false),
        });
        let (wal, _) = Wal::open_with_io(
            dir.path(),
            Arc::new(FaultyIo(faults.clone())),
            policy,
            1 << 20,
            0,
            false,
            &mut |_, _, _| Ok(()),
        )
        .unwrap();
        (dir, wal.unwrap(), faults)
    }

    #[test]
    fn failed_or_short_write_changes_nothing_and_the_log_stays_usable() {
        for short in [false, true] {
            let (dir, wal, _) = faulty(3, short, FsyncPolicy::Never);
            let mut applied = Vec::new();
            for i in 0..3u8 {
                wal.append(&[i], |lsn| applied.push(lsn)).unwrap();
            }
            let err = wal.append(b"doomed", |lsn| applied.push(lsn));
            assert!(matches!(err, Err(Error::Io(_))));
            assert_eq!(applied, vec![1, 2, 3], "a failed append must not reach the memtable");
            let (lsn, ()) = wal.append(b"after", |_| ()).unwrap();
            assert_eq!(lsn, 4, "the failed record consumed no LSN");
            drop(wal);
            let (records, rep, _) = collect(dir.path(), 0).unwrap();
            assert_eq!(rep.truncated_bytes, 0, "the partial frame was cut at once, not left for replay");
            assert_eq!(records.last().unwrap(), &(4, b"after".to_vec()));
        }
    }

    #[test]
    fn a_failed_fsync_poisons_the_log() {
        let (_dir, wal, faults) = faulty(1_000_000, false, FsyncPolicy::Always);
        wal.append(b"ok", |_| ()).unwrap();
        faults.fail_sync.store(true, Ordering::SeqCst);
        assert!(wal.append(b"unsynced", |_| ()).is_err(), "the write is not acknowledged");
        faults.fail_sync.store(false, Ordering::SeqCst);
        // The kernel may have dropped the dirty pages: retrying would lie.
        let err = wal.append(b"later", |_| ()).unwrap_err();
        assert!(err.to_string().contains("refuses writes"), "{err}");
    }

    #[test]
    fn always_policy_syncs_under_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), FsyncPolicy::Always, 1 << 16, 0, false, &mut |_, _, _| Ok(())).unwrap();
        let wal = Arc::new(wal.unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for i in 0..200u32 {
                        let (lsn, ()) = wal.append(&(t * 1000 + i).to_le_bytes(), |_| ()).unwrap();
                        assert!(wal.synced_lsn.load(Ordering::Acquire) >= lsn);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(wal.last_lsn(), 800);
        drop(wal);
        let (records, _, _) = collect(dir.path(), 0).unwrap();
        assert_eq!(records.len(), 800);
    }
}

//! The C ABI of AgentDB: `agent_db_*` functions over the engine, declared in
//! the generated header `include/agent_db.h` (see its top comment for the
//! conventions). This crate only converts arguments and results and maps
//! errors; every rule lives in the engine.
//!
//! Ownership, declared once: an `AgentDb*` is a `Box<AgentDb>` made by
//! `agent_db_open` and consumed by `agent_db_close`; every result the library
//! returns is a `Box` of an owner struct whose first field is the C-visible
//! struct, so the pointer handed out is the owner's address and its `_free`
//! function turns it back into the Box. Strings and payloads point into that
//! owner (payloads are the engine's own `Bytes`: no copy).
#![allow(non_camel_case_types)]
#![deny(clippy::unwrap_used)]

mod arrow;
mod cancel;
mod convert;
mod items;
mod memories;
mod rag;
mod states;
mod vectors;

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use convert::{c_str, opt_c_str, out_ptr, Failure};

/// Every fallible call returns one of these. Stable numbers: new codes are
/// only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentDbStatus {
    AGENT_DB_OK = 0,
    /// A NULL pointer, invalid UTF-8, malformed JSON or an out-of-range value; nothing changed.
    AGENT_DB_INVALID_ARGUMENT = 1,
    AGENT_DB_PAYLOAD_TOO_LARGE = 2,
    AGENT_DB_NOT_FOUND = 3,
    AGENT_DB_ALREADY_EXISTS = 4,
    /// Stored bytes failed their checksum; never served as data.
    AGENT_DB_CORRUPTED = 5,
    /// Another process holds the database open for writing.
    AGENT_DB_LOCKED = 6,
    AGENT_DB_READ_ONLY = 7,
    AGENT_DB_CLOSED = 8,
    /// A text call needs the embedding model and none is installed.
    AGENT_DB_MODEL_UNAVAILABLE = 9,
    AGENT_DB_EMBEDDING = 10,
    AGENT_DB_DIMENSION_MISMATCH = 11,
    AGENT_DB_IO = 12,
    /// An error from the LanceDB storage layer.
    AGENT_DB_STORAGE = 13,
    /// A bug: the library panicked. The call had no effect that can be relied on.
    AGENT_DB_PANIC = 14,
    /// The call's cancel token was cancelled before it finished; nothing changed.
    AGENT_DB_CANCELLED = 15,
}

impl AgentDbStatus {
    /// Every status, in code order (`ALL[n]` has code `n`).
    const ALL: [AgentDbStatus; 16] = {
        use AgentDbStatus::*;
        [
            AGENT_DB_OK,
            AGENT_DB_INVALID_ARGUMENT,
            AGENT_DB_PAYLOAD_TOO_LARGE,
            AGENT_DB_NOT_FOUND,
            AGENT_DB_ALREADY_EXISTS,
            AGENT_DB_CORRUPTED,
            AGENT_DB_LOCKED,
            AGENT_DB_READ_ONLY,
            AGENT_DB_CLOSED,
            AGENT_DB_MODEL_UNAVAILABLE,
            AGENT_DB_EMBEDDING,
            AGENT_DB_DIMENSION_MISMATCH,
            AGENT_DB_IO,
            AGENT_DB_STORAGE,
            AGENT_DB_PANIC,
            AGENT_DB_CANCELLED,
        ]
    };

    /// The status with code `code`; `None` for a number that is no status
    /// (C can pass any integer where the header says AgentDbStatus).
    fn from_u32(code: u32) -> Option<AgentDbStatus> {
        let status = *Self::ALL.get(usize::try_from(code).ok()?)?;
        debug_assert_eq!(status as u32, code);
        Some(status)
    }

    fn from_code(code: &str) -> AgentDbStatus {
        use AgentDbStatus::*;
        match code {
            "invalid_argument" => AGENT_DB_INVALID_ARGUMENT,
            "payload_too_large" => AGENT_DB_PAYLOAD_TOO_LARGE,
            "not_found" => AGENT_DB_NOT_FOUND,
            "already_exists" => AGENT_DB_ALREADY_EXISTS,
            "corrupted" => AGENT_DB_CORRUPTED,
            "locked" => AGENT_DB_LOCKED,
            "read_only" => AGENT_DB_READ_ONLY,
            "closed" => AGENT_DB_CLOSED,
            "model_unavailable" => AGENT_DB_MODEL_UNAVAILABLE,
            "embedding" => AGENT_DB_EMBEDDING,
            "dimension_mismatch" => AGENT_DB_DIMENSION_MISMATCH,
            "io" => AGENT_DB_IO,
            "cancelled" => AGENT_DB_CANCELLED,
            _ => AGENT_DB_STORAGE,
        }
    }

    fn name(self) -> &'static std::ffi::CStr {
        use AgentDbStatus::*;
        match self {
            AGENT_DB_OK => c"ok",
            AGENT_DB_INVALID_ARGUMENT => c"invalid_argument",
            AGENT_DB_PAYLOAD_TOO_LARGE => c"payload_too_large",
            AGENT_DB_NOT_FOUND => c"not_found",
            AGENT_DB_ALREADY_EXISTS => c"already_exists",
            AGENT_DB_CORRUPTED => c"corrupted",
            AGENT_DB_LOCKED => c"locked",
            AGENT_DB_READ_ONLY => c"read_only",
            AGENT_DB_CLOSED => c"closed",
            AGENT_DB_MODEL_UNAVAILABLE => c"model_unavailable",
            AGENT_DB_EMBEDDING => c"embedding",
            AGENT_DB_DIMENSION_MISMATCH => c"dimension_mismatch",
            AGENT_DB_IO => c"io",
            AGENT_DB_STORAGE => c"storage",
            AGENT_DB_PANIC => c"panic",
            AGENT_DB_CANCELLED => c"cancelled",
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn record_failure(f: Failure) -> AgentDbStatus {
    // Interior NULs cannot be represented; they never carry meaning in a message.
    let msg = CString::new(f.message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
    f.status
}

/// Runs a body that returns `Result<(), Failure>` behind the panic boundary:
/// no Rust panic ever unwinds into C.
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> AgentDbStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => AgentDbStatus::AGENT_DB_OK,
        Ok(Err(f)) => record_failure(f),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            record_failure(Failure {
                status: AgentDbStatus::AGENT_DB_PANIC,
                message: format!("internal error (panic): {what}"),
            })
        }
    }
}

/// An open database. Thread-safe: one handle may be used from many threads at once.
pub struct AgentDb {
    pub(crate) inner: agentdb::AgentDb,
}

/// The engine behind a handle argument.
///
/// # Safety
/// `db` is NULL or a handle returned by `agent_db_open` that is not closed
/// before `'a` ends (the contract of every function taking `db`).
pub(crate) unsafe fn db_ref<'a>(db: *const AgentDb) -> Result<&'a agentdb::AgentDb, Failure> {
    // SAFETY: a non-NULL `db` is a live Box<AgentDb> from agent_db_open (this function's contract);
    // AgentDb is Sync, so a shared borrow from any thread is sound.
    unsafe { db.as_ref() }.map(|h| &h.inner).ok_or_else(|| Failure::null("db"))
}

pub type AgentDbFsync = u32;
/// fsync before acknowledging each write (group commit); survives power loss.
pub const AGENT_DB_FSYNC_ALWAYS: AgentDbFsync = 0;
/// fsync every `fsync_batch_ms` in the background (the default).
pub const AGENT_DB_FSYNC_BATCH: AgentDbFsync = 1;
/// Leave it to the OS; still safe against a process crash.
pub const AGENT_DB_FSYNC_NEVER: AgentDbFsync = 2;

/// Options for `agent_db_open`. Fill with `agent_db_options_default` first,
/// then change fields.
#[repr(C)]
pub struct AgentDbOptions {
    /// Open without the writer lock; writes fail with AGENT_DB_READ_ONLY.
    pub read_only: bool,
    pub fsync: AgentDbFsync,
    pub fsync_batch_ms: u32,
    /// Background flush of the memtable to Lance.
    pub flush_interval_ms: u32,
    /// Background compaction/indexing/pruning; 0 turns it off.
    pub maintenance_interval_ms: u32,
    pub max_payload_bytes: u64,
    /// Dimension of memory embeddings and document chunks (384 for the built-in model).
    pub memory_dimension: u32,
    /// Rows in a vector collection before maintenance builds an ANN index.
    pub ann_index_threshold: u64,
    pub chunk_chars: u32,
    pub chunk_overlap: u32,
    /// Directory of the embedding model; NULL finds the installed package.
    pub model_dir: *const c_char,
    /// Keep the newest N versions of each agent/session in background
    /// maintenance and agent_db_gc (0: no count bound).
    pub state_retention_keep_last: u64,
    /// Keep state versions saved within this many ms (0: no age bound).
    /// Both 0: every version is kept (the default).
    pub state_retention_keep_newer_than_ms: u64,
    /// Cosine similarity at or above which a stored memory is a near-duplicate.
    pub memory_merge_threshold: f32,
    /// AGENT_DB_MERGE_KEEP_NEWEST (default) | _KEEP_MOST_IMPORTANT | _KEEP_BOTH.
    pub memory_merge_policy: AgentDbMergePolicy,
    /// Keep at most this many memories per agent and type, evicting the
    /// lowest-scoring unpinned ones (0: no limit).
    pub max_memories_per_agent_type: u64,
}

pub type AgentDbMergePolicy = u32;
pub const AGENT_DB_MERGE_KEEP_NEWEST: AgentDbMergePolicy = 0;
pub const AGENT_DB_MERGE_KEEP_MOST_IMPORTANT: AgentDbMergePolicy = 1;
pub const AGENT_DB_MERGE_KEEP_BOTH: AgentDbMergePolicy = 2;

fn merge_policy_from_c(p: AgentDbMergePolicy) -> Result<agentdb::MergePolicy, Failure> {
    match p {
        AGENT_DB_MERGE_KEEP_NEWEST => Ok(agentdb::MergePolicy::KeepNewest),
        AGENT_DB_MERGE_KEEP_MOST_IMPORTANT => Ok(agentdb::MergePolicy::KeepMostImportant),
        AGENT_DB_MERGE_KEEP_BOTH => Ok(agentdb::MergePolicy::KeepBoth),
        other => Err(Failure::invalid(format!("unknown merge policy {other}"))),
    }
}

fn merge_policy_to_c(p: agentdb::MergePolicy) -> AgentDbMergePolicy {
    match p {
        agentdb::MergePolicy::KeepNewest => AGENT_DB_MERGE_KEEP_NEWEST,
        agentdb::MergePolicy::KeepMostImportant => AGENT_DB_MERGE_KEEP_MOST_IMPORTANT,
        agentdb::MergePolicy::KeepBoth => AGENT_DB_MERGE_KEEP_BOTH,
    }
}

/// Fills `*out` with the library's default options.
///
/// # Safety
/// `out` is NULL or valid for one write of an `AgentDbOptions` (it may be
/// uninitialised).
#[no_mangle]
pub unsafe extern "C" fn agent_db_options_default(out: *mut AgentDbOptions) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        let d = agentdb::Options::default();
        let fsync = match d.fsync {
            agentdb::FsyncPolicy::Always => AGENT_DB_FSYNC_ALWAYS,
            agentdb::FsyncPolicy::Batch(_) => AGENT_DB_FSYNC_BATCH,
            agentdb::FsyncPolicy::Never => AGENT_DB_FSYNC_NEVER,
        };
        out.write(AgentDbOptions {
            read_only: d.read_only,
            fsync,
            fsync_batch_ms: u32::try_from(agentdb::defaults::defaults().options.fsync_batch_ms).unwrap_or(u32::MAX),
            flush_interval_ms: d.flush_interval.as_millis() as u32,
            maintenance_interval_ms: d.maintenance_interval.map_or(0, |i| i.as_millis() as u32),
            max_payload_bytes: d.max_payload_bytes as u64,
            memory_dimension: d.memory_dimension as u32,
            ann_index_threshold: d.ann_index_threshold as u64,
            chunk_chars: d.chunk_chars as u32,
            chunk_overlap: d.chunk_overlap as u32,
            model_dir: std::ptr::null(),
            state_retention_keep_last: d.state_retention.keep_last.unwrap_or(0),
            state_retention_keep_newer_than_ms: d.state_retention.keep_newer_than.map_or(0, |t| t.as_millis() as u64),
            memory_merge_threshold: d.memory_merge_threshold,
            memory_merge_policy: merge_policy_to_c(d.memory_merge_policy),
            max_memories_per_agent_type: d.max_memories_per_agent_type.map_or(0, |n| n as u64),
        });
        Ok(())
    })
}

/// Validates every field: an enumeration (`fsync`, `memory_merge_policy`) is
/// read as the `uint32_t` the header declares, and a value that names no
/// variant is AGENT_DB_INVALID_ARGUMENT.
///
/// # Safety
/// `o.model_dir` is NULL or a live NUL-terminated string.
unsafe fn options_from_c(o: &AgentDbOptions) -> Result<agentdb::Options, Failure> {
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    let fsync = match o.fsync {
        AGENT_DB_FSYNC_ALWAYS => agentdb::FsyncPolicy::Always,
        AGENT_DB_FSYNC_BATCH if o.fsync_batch_ms > 0 => agentdb::FsyncPolicy::Batch(ms(o.fsync_batch_ms)),
        AGENT_DB_FSYNC_BATCH => return Err(Failure::invalid("fsync_batch_ms must be > 0")),
        AGENT_DB_FSYNC_NEVER => agentdb::FsyncPolicy::Never,
        other => return Err(Failure::invalid(format!("unknown fsync policy {other}"))),
    };
    if o.flush_interval_ms == 0 {
        return Err(Failure::invalid("flush_interval_ms must be > 0"));
    }
    Ok(agentdb::Options {
        read_only: o.read_only,
        fsync,
        flush_interval: ms(o.flush_interval_ms),
        maintenance_interval: (o.maintenance_interval_ms > 0).then(|| ms(o.maintenance_interval_ms)),
        max_payload_bytes: usize::try_from(o.max_payload_bytes)
            .map_err(|_| Failure::invalid("max_payload_bytes too large"))?,
        memory_dimension: o.memory_dimension as usize,
        ann_index_threshold: usize::try_from(o.ann_index_threshold).unwrap_or(usize::MAX),
        chunk_chars: o.chunk_chars as usize,
        chunk_overlap: o.chunk_overlap as usize,
        // SAFETY: `model_dir` is NULL or a live NUL-terminated string (this function's contract).
        model_dir: unsafe { opt_c_str(o.model_dir, "options.model_dir") }?.map(std::path::PathBuf::from),
        state_retention: agentdb::StateRetention {
            keep_last: (o.state_retention_keep_last > 0).then_some(o.state_retention_keep_last),
            keep_newer_than: (o.state_retention_keep_newer_than_ms > 0)
                .then(|| Duration::from_millis(o.state_retention_keep_newer_than_ms)),
        },
        memory_merge_threshold: o.memory_merge_threshold,
        memory_merge_policy: merge_policy_from_c(o.memory_merge_policy)?,
        max_memories_per_agent_type: (o.max_memories_per_agent_type > 0)
            .then(|| usize::try_from(o.max_memories_per_agent_type).unwrap_or(usize::MAX)),
        ..agentdb::Options::default()
    })
}

/// Opens (creating on first use) the database in directory `path`.
/// `options` may be NULL for the defaults. On success `*out_db` is a handle
/// to release with `agent_db_close`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `options` is NULL or points at
/// an initialised `AgentDbOptions` (bool fields 0 or 1; `model_dir` NULL or a
/// NUL-terminated string); `out_db` is NULL or valid for one pointer write.
/// All stay valid until the call returns.
#[no_mangle]
pub unsafe extern "C" fn agent_db_open(
    path: *const c_char,
    options: *const AgentDbOptions,
    out_db: *mut *mut AgentDb,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `path` is NULL (refused) or NUL-terminated, per this function's contract.
        let path = unsafe { c_str(path, "path") }?;
        // SAFETY: `out_db` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_db, "out_db") }?;
        // SAFETY: `options` is NULL or an initialised AgentDbOptions whose `model_dir` is NULL or
        // NUL-terminated (this function's contract); enum fields are plain u32, validated inside.
        let opts = match unsafe { options.as_ref() } {
            None => agentdb::Options::default(),
            // SAFETY: as above for `model_dir`.
            Some(o) => unsafe { options_from_c(o) }?,
        };
        let inner = agentdb::AgentDb::open(path, opts)?;
        out.write(Box::into_raw(Box::new(AgentDb { inner })));
        Ok(())
    })
}

/// Flushes, syncs, releases the writer lock and frees the handle. The handle
/// is freed even when the final flush fails (the status says so; the WAL
/// still holds every acknowledged write). NULL is a no-op.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; no other
/// call on it is in flight, and it is not used after this call.
#[no_mangle]
pub unsafe extern "C" fn agent_db_close(db: *mut AgentDb) -> AgentDbStatus {
    boundary(|| {
        if db.is_null() {
            return Ok(());
        }
        // SAFETY: a non-NULL `db` is the Box<AgentDb> leaked by agent_db_open, not yet freed and no
        // longer shared (this function's contract), so taking ownership back is sound.
        let db = unsafe { Box::from_raw(db) };
        db.inner.close()?;
        Ok(())
    })
}

/// Writes pending records to Lance now (normally done in the background).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_flush(db: *const AgentDb) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.flush()?;
        Ok(())
    })
}

/// Flush, compact, refresh indexes and prune old versions now.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_compact(db: *const AgentDb) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.compact()?;
        Ok(())
    })
}

/// Deletes old state versions: keeps the newest `keep_last` versions of each
/// (agent, session) (0: no count bound) and/or those saved within
/// `keep_newer_than_ms` (0: no age bound); latest versions and snapshots
/// always stay. Both 0 uses the retention configured at open. Then compacts
/// and prunes. The number of versions removed goes to `*out_removed` (may be NULL).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
/// `out_removed` is NULL or valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_gc(
    db: *const AgentDb,
    keep_last: u64,
    keep_newer_than_ms: u64,
    out_removed: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?;
        // SAFETY: `out_removed` is NULL or writable, per this function's contract.
        let out_removed = unsafe { convert::opt_out(out_removed) };
        let report = if keep_last == 0 && keep_newer_than_ms == 0 {
            db.gc()?
        } else {
            db.gc_with(&agentdb::StateRetention {
                keep_last: (keep_last > 0).then_some(keep_last),
                keep_newer_than: (keep_newer_than_ms > 0).then(|| Duration::from_millis(keep_newer_than_ms)),
            })?
        };
        if let Some(out) = out_removed {
            out.write(report.state_versions_removed);
        }
        Ok(())
    })
}

/// Statistics as a JSON object (per-table rows, fragments, versions, bytes,
/// WAL and cache figures, last maintenance). Free with `agent_db_string_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
/// `out_json` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_stats_json(db: *const AgentDb, out_json: *mut *mut c_char) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_json` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_json, "out_json") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let stats = unsafe { db_ref(db) }?.stats()?;
        let json = serde_json::to_string(&stats).map_err(|e| Failure::invalid(e.to_string()))?;
        out.write(convert::owned_c_string(json).into_raw());
        Ok(())
    })
}

/// Every default of the library as one JSON object: what each argument a
/// caller leaves out becomes on every AgentDB surface (`memory_type`,
/// `importance`, `retrieve_limit`, `history_limit`, `search_limit`,
/// `hybrid_fusion`, `hybrid_alpha`, `metric`, `knn_k`, `range_max_results`,
/// `retrieve`, `forget`, ...) and `options`, the values
/// `agent_db_options_default` fills in. Free with `agent_db_string_free`.
///
/// # Safety
/// `out_json` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_defaults_json(out_json: *mut *mut c_char) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_json` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_json, "out_json") }?;
        out.write(convert::owned_c_string(agentdb::defaults::defaults_json()).into_raw());
        Ok(())
    })
}

/// Embeds `count` texts with the database's model. On success `*out_vectors`
/// holds `count × *out_dimension` floats, row-major; free with `agent_db_floats_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
/// `texts` is NULL or points at `count` NUL-terminated strings;
/// `out_vectors` and `out_dimension` are NULL or valid for one write each.
#[no_mangle]
pub unsafe extern "C" fn agent_db_embed(
    db: *const AgentDb,
    texts: *const *const c_char,
    count: usize,
    out_vectors: *mut *mut f32,
    out_dimension: *mut usize,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: both out-pointers are NULL (refused) or writable, per this function's contract.
        let (out_v, out_d) =
            unsafe { (out_ptr(out_vectors, "out_vectors")?, out_ptr(out_dimension, "out_dimension")?) };
        // SAFETY: `texts` is NULL (refused unless count is 0) or `count` live strings, per the contract.
        let texts = unsafe { convert::c_str_array(texts, count, "texts") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?;
        let vectors = db.embed(&texts)?;
        let dim = vectors.first().map_or(db.memory_dimension(), Vec::len);
        let flat: Vec<f32> = vectors.into_iter().flatten().collect();
        out_v.write(convert::floats_into_raw(flat));
        out_d.write(dim);
        Ok(())
    })
}

/// Frees the buffer of `agent_db_embed`; `len` is `count × dimension` as returned. NULL is a no-op.
///
/// # Safety
/// `vectors` is NULL or a buffer from `agent_db_embed` not yet freed, with
/// `len` exactly its `count × dimension`; it is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_floats_free(vectors: *mut f32, len: usize) {
    // SAFETY: this function's contract is floats_free's.
    unsafe { convert::floats_free(vectors, len) };
}

/// Frees a string returned by the library. NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string the library returned for the caller to free
/// (`agent_db_stats_json`, ...), not yet freed and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: every string handed out for freeing is CString::into_raw (this function's
        // contract), so from_raw reclaims that allocation exactly once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// The message of the last failed call on this thread ("" if none). Valid
/// until the next failing call on the same thread; do not free.
#[no_mangle]
pub extern "C" fn agent_db_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A stable name for a status code ("not_found", …), the same strings every
/// AgentDB surface uses; "unknown_status" for a number that is no
/// AgentDbStatus. Taken as `uint32_t`, not the enum, so any value is safe to
/// pass. Static; do not free.
#[no_mangle]
pub extern "C" fn agent_db_status_name(status: u32) -> *const c_char {
    AgentDbStatus::from_u32(status).map_or(UNKNOWN_STATUS_NAME, AgentDbStatus::name).as_ptr()
}

/// What `agent_db_status_name` returns for a number that is no status.
const UNKNOWN_STATUS_NAME: &std::ffi::CStr = c"unknown_status";

/// The library version ("0.1.0"). Static; do not free.
#[no_mangle]
pub extern "C" fn agent_db_version() -> *const c_char {
    static VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

pub use arrow::*;
pub use cancel::*;
pub use items::*;
pub use memories::*;
pub use rag::*;
pub use states::*;
pub use vectors::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_code_round_trips_and_others_are_unknown() {
        for (code, status) in AgentDbStatus::ALL.iter().enumerate() {
            assert_eq!(*status as usize, code);
            assert_eq!(AgentDbStatus::from_u32(code as u32), Some(*status));
        }
        for code in [16, 17, 100, 9999, u32::MAX] {
            assert_eq!(AgentDbStatus::from_u32(code), None);
            // SAFETY: agent_db_status_name returns a pointer to a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(agent_db_status_name(code)) };
            assert_eq!(name, UNKNOWN_STATUS_NAME);
        }
        assert_eq!(AgentDbStatus::AGENT_DB_CANCELLED as u32 + 1, AgentDbStatus::ALL.len() as u32);
    }
}

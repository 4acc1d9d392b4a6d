//! Every maximum the engine enforces, in one place, each with its unit in
//! its name and the reason for its value. Related limits are tied together
//! by compile-time asserts, so changing one cannot silently break another
//! (TigerBeetle's `constants.zig` is the model).
//!
//! A call over any of these is refused with a typed error before anything
//! is written to the log.

/// Largest state payload a database may be configured to accept
/// (`Options::max_payload_bytes`, default `DEFAULT_MAX_PAYLOAD_BYTES`).
/// One record is framed, checksummed and held in memory whole.
pub const MAX_PAYLOAD_BYTES_LIMIT: usize = 1024 * 1024 * 1024;

/// Default `Options::max_payload_bytes`: generous for agent state (JSON,
/// serialized messages), small enough that one save cannot stall others.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Largest encoded WAL record (one logical write: a state, a document with
/// all its chunk vectors, one batch of memories or vectors). A frame's
/// length field is a u32, and every record is built in memory before it is
/// logged, so this is well under 4 GiB; a state at the payload limit with
/// maximal metadata still fits.
pub const MAX_RECORD_BYTES: usize = MAX_PAYLOAD_BYTES_LIMIT + 64 * 1024 * 1024;

/// Most items in one batch call (`store_memories`, `insert_vectors`): a
/// batch is one record, applied and replayed whole.
pub const MAX_BATCH_ITEMS: usize = 100_000;

/// Metadata entries on one state, memory, document or vector.
pub const MAX_METADATA_ENTRIES: usize = 256;

/// Bytes of one metadata key; values are bounded by the record size.
pub const MAX_METADATA_KEY_BYTES: usize = 128;

/// Snapshot names (1..=this many bytes of `[A-Za-z0-9_.:-]`).
pub const MAX_NAME_BYTES: usize = 128;

/// A state version's caller-given key (`save_state_keyed`): checkpoint ids,
/// step names. Indexed, so bounded like other ids.
pub const MAX_STATE_KEY_BYTES: usize = 1024;

/// An item's key (`write_items`): indexed as part of its address.
pub const MAX_ITEM_KEY_BYTES: usize = 1024;

/// Arrays and objects nested one inside another in an item's value:
/// serde_json refuses to read back more than 128 levels, so a deeper value
/// would be stored and then unreadable (Python's binding stops at 127 too).
pub const MAX_ITEM_VALUE_DEPTH: usize = 127;

/// Labels of an item namespace: deep enough for tenant/user/topic/... paths
/// with room for a store's own prefix label.
pub const MAX_NAMESPACE_DEPTH: usize = 64;

/// Bytes of one namespace label.
pub const MAX_NAMESPACE_LABEL_BYTES: usize = 1024;

/// How far an item search or namespace listing may page: a page, not an export.
pub const MAX_ITEM_OFFSET: usize = 1_000_000;

/// Vector ids, document ids and collection names.
pub const MAX_ID_BYTES: usize = 256;

/// Dimension of a vector collection or of the memory embeddings.
pub const MAX_DIMENSION: usize = 65_536;

/// Versions one history query returns: a page, not an export.
pub const MAX_HISTORY_LIMIT: usize = 100_000;

/// Memories one retrieval returns.
pub const MAX_RETRIEVE_LIMIT: usize = 10_000;

/// k of a k-NN or range search, and results of one document search.
pub const MAX_SEARCH_K: usize = 10_000;

/// One memory's text (embedded whole; memories are facts, documents go to RAG).
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;

/// One document's text (it is chunked and embedded whole, in one record).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

const _: () = assert!(DEFAULT_MAX_PAYLOAD_BYTES <= MAX_PAYLOAD_BYTES_LIMIT);
// A state at the payload limit plus its largest metadata fits in one record.
const _: () =
    assert!(MAX_PAYLOAD_BYTES_LIMIT + MAX_METADATA_ENTRIES * (MAX_METADATA_KEY_BYTES + 64) < MAX_RECORD_BYTES);
// A document with every chunk's 65,536-dimension vector would not; the
// embedder's dimension is checked against `MAX_DIMENSION`, and the record
// size check refuses what does not fit, before logging.
const _: () = assert!(MAX_DOCUMENT_BYTES < MAX_RECORD_BYTES);
// The WAL frame's length is a u32.
const _: () = assert!((MAX_RECORD_BYTES as u64) < u32::MAX as u64);

/// Refuses a batch call with more than `MAX_BATCH_ITEMS` items.
pub(crate) fn check_batch_items(items: usize) -> crate::Result<()> {
    if items > MAX_BATCH_ITEMS {
        return Err(crate::Error::invalid(format!("a batch holds at most {MAX_BATCH_ITEMS} items, got {items}")));
    }
    Ok(())
}

/// Refuses a k (or result count) of a vector or document search outside `1..=MAX_SEARCH_K`.
pub(crate) fn check_search_k(k: usize, what: &str) -> crate::Result<()> {
    if k == 0 || k > MAX_SEARCH_K {
        return Err(crate::Error::invalid(format!("{what} must be in 1..={MAX_SEARCH_K}, got {k}")));
    }
    Ok(())
}

//! Items (SPEC.md, "Items"): JSON values addressed by a namespace path and a
//! key. A batch of puts and deletes in one atomic write, single puts, gets
//! (one or many), deletes, searches under a namespace prefix with value
//! filters, namespace listing and the sweep of expired items.
//!
//! Values, value filters and metadata cross as JSON text. A namespace
//! crosses as a C array of its labels with a count, as every list of strings
//! does in this ABI (`agent_db_embed`'s texts, a doc filter's ids). A batch
//! is a C array of `AgentDbItemWrite` structs, as `agent_db_insert_vectors`
//! takes records, rather than one JSON document of operations: labels and
//! keys stay plain C strings (nothing to escape, nothing to get wrong), and
//! only a value, which is JSON in any case, is parsed.
//!
//! Absence is not an error: the engine answers "none" for an address
//! without a live item, so `agent_db_get_item` returns AGENT_DB_OK with
//! `*out_item` NULL and `agent_db_get_items` a NULL slot (AGENT_DB_NOT_FOUND
//! stays what it is everywhere else: a call that needed something absent).

use std::ffi::{c_char, CString};

use agentdb::{Item, ItemPut, ItemQuery, ItemWrite, NamespaceQuery};
use serde_json::Value;

use crate::convert::{
    c_str, c_str_array, list_into_raw, metadata, metadata_c_string, opt_out, out_ptr, owned_c_string, slice, Failure,
    ListOwner,
};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

pub type AgentDbItemOp = u32;
/// Insert or replace the item whole.
pub const AGENT_DB_ITEM_PUT: AgentDbItemOp = 0;
/// Delete the item (an absent one: nothing happens).
pub const AGENT_DB_ITEM_DELETE: AgentDbItemOp = 1;

/// One operation of `agent_db_write_items`. For AGENT_DB_ITEM_DELETE only
/// `namespace_labels`, `namespace_len` and `key` are read.
#[repr(C)]
pub struct AgentDbItemWrite {
    /// AGENT_DB_ITEM_PUT or AGENT_DB_ITEM_DELETE; any other value is
    /// AGENT_DB_INVALID_ARGUMENT.
    pub op: AgentDbItemOp,
    /// The namespace: `namespace_len` labels (1..=64, each 1..=1024 bytes).
    pub namespace_labels: *const *const c_char,
    pub namespace_len: usize,
    /// 0..=1024 bytes ("" is a key).
    pub key: *const c_char,
    /// The value as JSON text (any JSON: object, array, string, number...).
    pub value_json: *const c_char,
    /// JSON object of strings; NULL: none.
    pub metadata_json: *const c_char,
    /// When true the item expires `ttl_ms` (≥ 1) after this put; when
    /// false it never expires.
    pub has_ttl: bool,
    pub ttl_ms: u64,
}

/// What `agent_db_write_items` did.
#[repr(C)]
pub struct AgentDbItemWriteReport {
    /// Puts applied.
    pub put: u64,
    /// Live items deleted (a delete of an absent or expired item deletes nothing).
    pub deleted: u64,
}

/// An item's address, for `agent_db_get_items`.
#[repr(C)]
pub struct AgentDbItemAddress {
    pub namespace_labels: *const *const c_char,
    pub namespace_len: usize,
    pub key: *const c_char,
}

/// An item as read. `expires_at_ms` is meaningful only when `has_expiry`,
/// `ttl_ms` only when `has_ttl`.
#[repr(C)]
pub struct AgentDbItem {
    pub namespace_labels: *const *const c_char,
    pub namespace_len: usize,
    pub key: *const c_char,
    /// The value as JSON text.
    pub value_json: *const c_char,
    /// JSON object of strings ("{}" when none).
    pub metadata_json: *const c_char,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When it stops being visible.
    pub expires_at_ms: i64,
    pub has_expiry: bool,
    /// The time to live it was written with (a read with refresh_ttl moves
    /// the expiry to now + this).
    pub ttl_ms: u64,
    pub has_ttl: bool,
}

/// What an `AgentDbItem` points into. The label pointer array is a Vec whose
/// buffer does not move when the Vec does.
struct ItemKeep {
    _labels: Labels,
    _key: CString,
    _value: CString,
    _metadata: CString,
}

/// A namespace's labels as C strings and the array of pointers to them.
struct Labels {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl Labels {
    fn new(labels: Vec<String>) -> Labels {
        let strings: Vec<CString> = labels.into_iter().map(owned_c_string).collect();
        let pointers = strings.iter().map(|s| s.as_ptr()).collect();
        Labels { _strings: strings, pointers }
    }

    /// The C array (NULL when empty) and its length.
    fn as_c(&self) -> (*const *const c_char, usize) {
        let p = if self.pointers.is_empty() { std::ptr::null() } else { self.pointers.as_ptr() };
        (p, self.pointers.len())
    }
}

fn item_parts(i: Item) -> (AgentDbItem, ItemKeep) {
    let labels = Labels::new(i.namespace);
    let key = owned_c_string(i.key);
    // Display of a JSON value is its compact JSON text; escapes keep NUL out of it.
    let value = owned_c_string(i.value.to_string());
    let meta = metadata_c_string(&i.metadata);
    let (namespace_labels, namespace_len) = labels.as_c();
    let head = AgentDbItem {
        namespace_labels,
        namespace_len,
        key: key.as_ptr(),
        value_json: value.as_ptr(),
        metadata_json: meta.as_ptr(),
        created_at_ms: i.created_at_ms,
        updated_at_ms: i.updated_at_ms,
        expires_at_ms: i.expires_at_ms.unwrap_or(0),
        has_expiry: i.expires_at_ms.is_some(),
        ttl_ms: i.ttl_ms.unwrap_or(0),
        has_ttl: i.ttl_ms.is_some(),
    };
    (head, ItemKeep { _labels: labels, _key: key, _value: value, _metadata: meta })
}

#[repr(C)]
struct ItemOwner {
    head: AgentDbItem,
    keep: ItemKeep,
}

fn item_into_raw(i: Item) -> *mut AgentDbItem {
    let (head, keep) = item_parts(i);
    Box::into_raw(Box::new(ItemOwner { head, keep })).cast::<AgentDbItem>()
}

/// Frees an item of `agent_db_put_item` or `agent_db_get_item`. NULL is a no-op.
///
/// # Safety
/// `item` is NULL or an item one of those returned, not yet freed and not
/// used afterwards; never one inside a page or slots.
#[no_mangle]
pub unsafe extern "C" fn agent_db_item_free(item: *mut AgentDbItem) {
    if !item.is_null() {
        // SAFETY: a returned item is the head (first field, repr(C)) of a Box<ItemOwner> leaked by
        // item_into_raw, not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(item.cast::<ItemOwner>()) });
    }
}

/// A namespace argument: `len` labels.
///
/// # Safety
/// `p` is NULL or points at `len` pointers, each NULL or a live
/// NUL-terminated string.
unsafe fn labels_arg(p: *const *const c_char, len: usize, name: &str) -> Result<Vec<String>, Failure> {
    // SAFETY: the caller's guarantee for `p` is exactly c_str_array's.
    Ok(unsafe { c_str_array(p, len, name) }?.into_iter().map(str::to_string).collect())
}

/// A required JSON text argument.
///
/// # Safety
/// As [`c_str`].
unsafe fn json_arg(p: *const c_char, name: &str) -> Result<Value, Failure> {
    // SAFETY: the caller's guarantee for `p` is exactly c_str's.
    let text = unsafe { c_str(p, name) }?;
    serde_json::from_str(text).map_err(|e| Failure::invalid(format!("`{name}` is not valid JSON: {e}")))
}

/// One put, from its C fields.
///
/// # Safety
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings (or NULLs); `key`, `value_json` and `metadata_json` are NULL or
/// NUL-terminated strings.
#[allow(clippy::too_many_arguments)]
unsafe fn item_put(
    namespace_labels: *const *const c_char,
    namespace_len: usize,
    key: *const c_char,
    value_json: *const c_char,
    metadata_json: *const c_char,
    has_ttl: bool,
    ttl_ms: u64,
    name: &str,
) -> Result<ItemPut, Failure> {
    // SAFETY: each pointer is as this function's contract states, which is what each helper needs.
    unsafe {
        let (namespace, key) = address(namespace_labels, namespace_len, key, name)?;
        Ok(ItemPut {
            namespace,
            key,
            value: json_arg(value_json, &format!("{name}value_json"))?,
            metadata: metadata(metadata_json, &format!("{name}metadata_json"))?,
            ttl_ms: has_ttl.then_some(ttl_ms),
        })
    }
}

/// One operation of a batch, from its C struct.
///
/// # Safety
/// `w`'s pointer fields are as `agent_db_write_items` requires.
unsafe fn item_write(w: &AgentDbItemWrite, name: &str) -> Result<ItemWrite, Failure> {
    match w.op {
        AGENT_DB_ITEM_PUT => {
            // SAFETY: the fields are NULL or valid as item_put requires (this function's contract).
            let put = unsafe {
                item_put(
                    w.namespace_labels,
                    w.namespace_len,
                    w.key,
                    w.value_json,
                    w.metadata_json,
                    w.has_ttl,
                    w.ttl_ms,
                    name,
                )
            }?;
            Ok(ItemWrite::Put(put))
        }
        AGENT_DB_ITEM_DELETE => {
            // SAFETY: the address fields are NULL or valid as address requires (this function's contract).
            let (namespace, key) = unsafe { address(w.namespace_labels, w.namespace_len, w.key, name) }?;
            Ok(ItemWrite::Delete { namespace, key })
        }
        other => Err(Failure::invalid(format!("{name}op: unknown item op {other} (expected 0 or 1)"))),
    }
}

/// An item's address from its C fields; `name` prefixes the argument names in messages.
///
/// # Safety
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings (or NULLs); `key` is NULL or a NUL-terminated string.
unsafe fn address(
    namespace_labels: *const *const c_char,
    namespace_len: usize,
    key: *const c_char,
    name: &str,
) -> Result<(Vec<String>, String), Failure> {
    // SAFETY: the caller's guarantees are labels_arg's and c_str's.
    unsafe {
        Ok((
            labels_arg(namespace_labels, namespace_len, &format!("{name}namespace_labels"))?,
            c_str(key, &format!("{name}key"))?.to_string(),
        ))
    }
}

/// Applies `count` puts and deletes in order, as one atomic write: all or
/// nothing. The last operation on an address wins. `count` 0 is
/// AGENT_DB_INVALID_ARGUMENT (as is more than 100000). `out_report` may be
/// NULL.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `writes` is
/// NULL or points at `count` initialised `AgentDbItemWrite`s (`has_ttl` 0
/// or 1), each with `namespace_labels` NULL or `namespace_len` pointers to
/// NUL-terminated strings and `key`, `value_json`, `metadata_json` NULL or
/// NUL-terminated; `out_report` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_write_items(
    db: *const AgentDb,
    writes: *const AgentDbItemWrite,
    count: usize,
    out_report: *mut AgentDbItemWriteReport,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `writes` is NULL (refused unless count is 0) or `count` records, per the contract.
        let writes = unsafe { slice(writes, count, "writes") }?;
        // SAFETY: `out_report` is NULL or writable, per this function's contract.
        let out_report = unsafe { opt_out(out_report) };
        let batch = writes
            .iter()
            .enumerate()
            // SAFETY: each write's pointer fields are as this function's contract states.
            .map(|(i, w)| unsafe { item_write(w, &format!("writes[{i}].")) })
            .collect::<Result<Vec<_>, Failure>>()?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let report = unsafe { db_ref(db) }?.write_items(batch)?;
        if let Some(out) = out_report {
            out.write(AgentDbItemWriteReport { put: report.put as u64, deleted: report.deleted as u64 });
        }
        Ok(())
    })
}

/// Inserts or replaces one item: `value_json` is its value (any JSON),
/// `metadata_json` NULL or a JSON object of strings; with `has_ttl` it
/// expires `ttl_ms` (≥ 1) from now. On success `*out_item` (may be NULL) is
/// the item as stored; free it with `agent_db_item_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings; `key`, `value_json` and `metadata_json` are NULL or
/// NUL-terminated strings; `out_item` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_put_item(
    db: *const AgentDb,
    namespace_labels: *const *const c_char,
    namespace_len: usize,
    key: *const c_char,
    value_json: *const c_char,
    metadata_json: *const c_char,
    has_ttl: bool,
    ttl_ms: u64,
    out_item: *mut *mut AgentDbItem,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: the pointers are as item_put requires, per this function's contract.
        let put =
            unsafe { item_put(namespace_labels, namespace_len, key, value_json, metadata_json, has_ttl, ttl_ms, "") }?;
        // SAFETY: `out_item` is NULL or writable, per this function's contract.
        let out_item = unsafe { opt_out(out_item) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let item = unsafe { db_ref(db) }?.put_item(put)?;
        if let Some(out) = out_item {
            out.write(item_into_raw(item));
        }
        Ok(())
    })
}

/// Deletes one item. `*out_deleted` (may be NULL) says whether a live item
/// was deleted; an absent one is not an error.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings; `key` is NULL or a NUL-terminated string; `out_deleted` is NULL
/// or valid for one `bool` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_item(
    db: *const AgentDb,
    namespace_labels: *const *const c_char,
    namespace_len: usize,
    key: *const c_char,
    out_deleted: *mut bool,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: the address pointers are NULL or valid, per this function's contract.
        let (namespace, key) = unsafe { address(namespace_labels, namespace_len, key, "") }?;
        // SAFETY: `out_deleted` is NULL or writable, per this function's contract.
        let out_deleted = unsafe { opt_out(out_deleted) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let deleted = unsafe { db_ref(db) }?.delete_item(&namespace, &key)?;
        if let Some(out) = out_deleted {
            out.write(deleted);
        }
        Ok(())
    })
}

/// The live item at (namespace, key). On AGENT_DB_OK `*out_item` is the item
/// (free it with `agent_db_item_free`) or NULL when there is none: absent,
/// deleted or expired.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings; `key` is NULL or a NUL-terminated string; `out_item` is NULL or
/// valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_item(
    db: *const AgentDb,
    namespace_labels: *const *const c_char,
    namespace_len: usize,
    key: *const c_char,
    out_item: *mut *mut AgentDbItem,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_item` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_item, "out_item") }?;
        // SAFETY: the address pointers are NULL or valid, per this function's contract.
        let (namespace, key) = unsafe { address(namespace_labels, namespace_len, key, "") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let item = unsafe { db_ref(db) }?.get_item(&namespace, &key)?;
        out.write(item.map_or(std::ptr::null_mut(), item_into_raw));
        Ok(())
    })
}

/// One slot per address asked, in order: `items[i]` is the live item at
/// `addresses[i]`, or NULL when there is none.
#[repr(C)]
pub struct AgentDbItemSlots {
    pub items: *const *const AgentDbItem,
    pub len: usize,
}

#[repr(C)]
struct ItemSlotsOwner {
    head: AgentDbItemSlots,
    slots: Vec<*const AgentDbItem>,
    found: Vec<AgentDbItem>,
    keep: Vec<ItemKeep>,
}

fn slots_into_raw(items: Vec<Option<Item>>) -> *mut AgentDbItemSlots {
    let mut found = Vec::new();
    let mut keep = Vec::new();
    let index: Vec<Option<usize>> = items
        .into_iter()
        .map(|i| {
            i.map(|i| {
                let (head, k) = item_parts(i);
                found.push(head);
                keep.push(k);
                found.len() - 1
            })
        })
        .collect();
    let mut owner = Box::new(ItemSlotsOwner {
        head: AgentDbItemSlots { items: std::ptr::null(), len: 0 },
        slots: Vec::new(),
        found,
        keep,
    });
    // `found` is complete: its buffer no longer moves, so pointers into it stay valid.
    let slots: Vec<*const AgentDbItem> =
        index.iter().map(|i| i.map_or(std::ptr::null(), |i| &owner.found[i] as *const AgentDbItem)).collect();
    owner.slots = slots;
    owner.head = AgentDbItemSlots {
        items: if owner.slots.is_empty() { std::ptr::null() } else { owner.slots.as_ptr() },
        len: owner.slots.len(),
    };
    debug_assert_eq!(owner.found.len(), owner.keep.len());
    Box::into_raw(owner).cast::<AgentDbItemSlots>()
}

/// The live item at each of `count` addresses, in order (NULL slots where
/// there is none). With `refresh_ttl`, each found item with a TTL gets a new
/// expiry (now + its TTL; a write). Free with `agent_db_item_slots_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `addresses`
/// is NULL or points at `count` initialised `AgentDbItemAddress`es whose
/// `namespace_labels` is NULL or `namespace_len` pointers to NUL-terminated
/// strings and `key` NULL or NUL-terminated; `out_slots` is NULL or valid
/// for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_items(
    db: *const AgentDb,
    addresses: *const AgentDbItemAddress,
    count: usize,
    refresh_ttl: bool,
    out_slots: *mut *mut AgentDbItemSlots,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_slots` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_slots, "out_slots") }?;
        // SAFETY: `addresses` is NULL (refused unless count is 0) or `count` records, per the contract.
        let addresses = unsafe { slice(addresses, count, "addresses") }?;
        let addresses = addresses
            .iter()
            .enumerate()
            // SAFETY: each address's pointer fields are as this function's contract states.
            .map(|(i, a)| unsafe { address(a.namespace_labels, a.namespace_len, a.key, &format!("addresses[{i}].")) })
            .collect::<Result<Vec<_>, Failure>>()?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let items = unsafe { db_ref(db) }?.get_items(&addresses, refresh_ttl)?;
        debug_assert_eq!(items.len(), addresses.len());
        out.write(slots_into_raw(items));
        Ok(())
    })
}

/// Frees the slots of `agent_db_get_items`. NULL is a no-op.
///
/// # Safety
/// `slots` is NULL or slots from `agent_db_get_items`, not yet freed;
/// neither they nor their items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_item_slots_free(slots: *mut AgentDbItemSlots) {
    if !slots.is_null() {
        // SAFETY: the slots are the head of a Box<ItemSlotsOwner> leaked by slots_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(slots.cast::<ItemSlotsOwner>()) });
    }
}

/// Which items `agent_db_search_items` returns. Fill with
/// `agent_db_item_query_init`, then set fields.
#[repr(C)]
pub struct AgentDbItemQuery {
    /// Labels the namespace starts with, whole labels only (`prefix_len` 0:
    /// every item).
    pub prefix: *const *const c_char,
    pub prefix_len: usize,
    /// A value filter: a JSON object (SPEC.md, "Value filters"); NULL: none.
    pub filter_json: *const c_char,
    /// Every entry must equal the item's metadata value; NULL: none.
    pub metadata_json: *const c_char,
    /// 1..=10000
    pub limit: u32,
    /// Matches skipped before the page (0..=1000000).
    pub offset: u32,
    /// Move each returned item's expiry to now + its TTL (a write).
    pub refresh_ttl: bool,
}

/// Every item, no filters, the default limit (10; `item_search_limit` of
/// `agent_db_defaults_json`), offset 0.
///
/// # Safety
/// `out` is NULL or valid for one write of an `AgentDbItemQuery` (it may be
/// uninitialised).
#[no_mangle]
pub unsafe extern "C" fn agent_db_item_query_init(out: *mut AgentDbItemQuery) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        let limit = u32::try_from(agentdb::defaults::ITEM_SEARCH_LIMIT).map_err(|_| Failure::invalid("item limit"))?;
        out.write(AgentDbItemQuery {
            prefix: std::ptr::null(),
            prefix_len: 0,
            filter_json: std::ptr::null(),
            metadata_json: std::ptr::null(),
            limit,
            offset: 0,
            refresh_ttl: false,
        });
        Ok(())
    })
}

/// A search page: the items, most recently updated first (ties by namespace,
/// then key), and `total`, the number of matches in all.
#[repr(C)]
pub struct AgentDbItemPage {
    pub items: *const AgentDbItem,
    pub len: usize,
    pub total: u64,
}

type ItemPageOwner = ListOwner<AgentDbItemPage, AgentDbItem, Vec<ItemKeep>>;

/// The live items whose namespace starts with `query->prefix` that pass the
/// value filter and the metadata, newest update first; `offset` then `limit`
/// apply after filtering. Free with `agent_db_item_page_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `query` is
/// NULL or points at an initialised `AgentDbItemQuery` (`refresh_ttl` 0 or
/// 1; `prefix` NULL or `prefix_len` pointers to NUL-terminated strings;
/// `filter_json` and `metadata_json` NULL or NUL-terminated); `out_page` is
/// NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_items(
    db: *const AgentDb,
    query: *const AgentDbItemQuery,
    out_page: *mut *mut AgentDbItemPage,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_page` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_page, "out_page") }?;
        // SAFETY: `query` is NULL (refused) or an initialised query, per this function's contract.
        let q = unsafe { query.as_ref() }.ok_or_else(|| Failure::null("query"))?;
        // SAFETY: the query's pointer fields are as this function's contract states.
        let (prefix, filter, meta) = unsafe {
            (
                labels_arg(q.prefix, q.prefix_len, "query.prefix")?,
                if q.filter_json.is_null() { None } else { Some(json_arg(q.filter_json, "query.filter_json")?) },
                metadata(q.metadata_json, "query.metadata_json")?,
            )
        };
        let q = ItemQuery {
            prefix,
            filter,
            metadata: meta,
            limit: q.limit as usize,
            offset: q.offset as usize,
            refresh_ttl: q.refresh_ttl,
        };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let page = unsafe { db_ref(db) }?.search_items(&q)?;
        let total = page.total as u64;
        let (items, keep): (Vec<_>, Vec<_>) = page.items.into_iter().map(item_parts).unzip();
        out.write(list_into_raw(items, keep, |items, len| AgentDbItemPage { items, len, total }));
        Ok(())
    })
}

/// Frees a page of `agent_db_search_items`. NULL is a no-op.
///
/// # Safety
/// `page` is NULL or a page from `agent_db_search_items`, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_item_page_free(page: *mut AgentDbItemPage) {
    if !page.is_null() {
        // SAFETY: the page is the head of a Box<ItemPageOwner> leaked by list_into_raw, not yet freed
        // (this function's contract).
        drop(unsafe { Box::from_raw(page.cast::<ItemPageOwner>()) });
    }
}

/// Which namespaces `agent_db_list_item_namespaces` returns. Fill with
/// `agent_db_namespace_query_init`, then set fields. A "*" label in
/// `prefix` or `suffix` matches any label.
#[repr(C)]
pub struct AgentDbNamespaceQuery {
    /// Labels the namespace starts with (`prefix_len` 0: any).
    pub prefix: *const *const c_char,
    pub prefix_len: usize,
    /// Labels the namespace ends with (`suffix_len` 0: any).
    pub suffix: *const *const c_char,
    pub suffix_len: usize,
    /// When `has_max_depth`, each namespace is cut to its first `max_depth`
    /// (≥ 1) labels, then duplicates are dropped.
    pub max_depth: u32,
    pub has_max_depth: bool,
    /// 1..=10000
    pub limit: u32,
    /// Namespaces skipped before the list.
    pub offset: u32,
}

/// Any namespace, whole, the default limit (100; `namespace_list_limit` of
/// `agent_db_defaults_json`), offset 0.
///
/// # Safety
/// `out` is NULL or valid for one write of an `AgentDbNamespaceQuery` (it
/// may be uninitialised).
#[no_mangle]
pub unsafe extern "C" fn agent_db_namespace_query_init(out: *mut AgentDbNamespaceQuery) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        let limit =
            u32::try_from(agentdb::defaults::NAMESPACE_LIST_LIMIT).map_err(|_| Failure::invalid("namespace limit"))?;
        out.write(AgentDbNamespaceQuery {
            prefix: std::ptr::null(),
            prefix_len: 0,
            suffix: std::ptr::null(),
            suffix_len: 0,
            max_depth: 0,
            has_max_depth: false,
            limit,
            offset: 0,
        });
        Ok(())
    })
}

/// One namespace: `len` labels.
#[repr(C)]
pub struct AgentDbNamespace {
    pub labels: *const *const c_char,
    pub len: usize,
}

#[repr(C)]
pub struct AgentDbNamespaceList {
    pub items: *const AgentDbNamespace,
    pub len: usize,
}

type NamespaceListOwner = ListOwner<AgentDbNamespaceList, AgentDbNamespace, Vec<Labels>>;

/// The namespaces holding at least one live item that match the query,
/// sorted label by label (bytewise). Free with `agent_db_namespace_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `query` is
/// NULL or points at an initialised `AgentDbNamespaceQuery`
/// (`has_max_depth` 0 or 1; `prefix` and `suffix` NULL or that many
/// pointers to NUL-terminated strings); `out_list` is NULL or valid for one
/// pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_list_item_namespaces(
    db: *const AgentDb,
    query: *const AgentDbNamespaceQuery,
    out_list: *mut *mut AgentDbNamespaceList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `query` is NULL (refused) or an initialised query, per this function's contract.
        let q = unsafe { query.as_ref() }.ok_or_else(|| Failure::null("query"))?;
        // SAFETY: the query's label arrays are as this function's contract states.
        let (prefix, suffix) = unsafe {
            (labels_arg(q.prefix, q.prefix_len, "query.prefix")?, labels_arg(q.suffix, q.suffix_len, "query.suffix")?)
        };
        let q = NamespaceQuery {
            prefix,
            suffix,
            max_depth: q.has_max_depth.then_some(q.max_depth as usize),
            limit: q.limit as usize,
            offset: q.offset as usize,
        };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let namespaces = unsafe { db_ref(db) }?.list_item_namespaces(&q)?;
        let (items, keep): (Vec<_>, Vec<_>) = namespaces
            .into_iter()
            .map(|ns| {
                let labels = Labels::new(ns);
                let (p, len) = labels.as_c();
                (AgentDbNamespace { labels: p, len }, labels)
            })
            .unzip();
        out.write(list_into_raw(items, keep, |items, len| AgentDbNamespaceList { items, len }));
        Ok(())
    })
}

/// Frees a list of `agent_db_list_item_namespaces`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_list_item_namespaces`, not yet
/// freed; neither it nor its namespaces are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_namespace_list_free(list: *mut AgentDbNamespaceList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<NamespaceListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<NamespaceListOwner>()) });
    }
}

/// Deletes every expired item (through the log). `*out_deleted` (may be
/// NULL) is how many.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_deleted` is NULL or valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_sweep_expired_items(db: *const AgentDb, out_deleted: *mut u64) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_deleted` is NULL or writable, per this function's contract.
        let out_deleted = unsafe { opt_out(out_deleted) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let n = unsafe { db_ref(db) }?.sweep_expired_items()?;
        if let Some(out) = out_deleted {
            out.write(n as u64);
        }
        Ok(())
    })
}

//! Items: JSON values addressed by a namespace path and a key, with upsert,
//! TTL, namespace listing and value filters evaluated in the engine — what a
//! key-value store for agents (LangGraph's `BaseStore`) needs, served by
//! indexes rather than scans of a log.
//!
//! Invariants:
//! - A namespace is 1..=`MAX_NAMESPACE_DEPTH` labels; labels and keys hold no
//!   NUL. Stored, a namespace is its labels each followed by NUL (`ns`), and
//!   an item's address is `ns` followed by the key (`ns_key`). So every item
//!   under a namespace prefix has an `ns` that starts with the prefix's
//!   encoding: a prefix is one string range, on the memtable's ordered map
//!   and on Lance's B-tree over `ns` alike, and no label can run into the next.
//! - One row per `ns_key` in Lance: a flush deletes the keys it is about to
//!   write (or that were deleted) before adding rows, as vector collections
//!   do; the WAL holds every put whole, so a crash between the two loses
//!   nothing.
//! - A put keeps the item's `created_at_ms` while the item is live and sets
//!   `updated_at_ms` to now; the engine resolves both (and the expiry) before
//!   logging, under the subsystem's write lock, so replay needs no clock.
//! - An expired item (now ≥ `expires_at_ms`) is invisible to every read;
//!   `sweep_expired_items` deletes expired items through the log.
//! - Reads follow `storage::read`: memtable rows and tombstones win over
//!   Lance rows of the same `ns_key`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::Table;
use parking_lot::Mutex;
use serde_json::Value;

use crate::engine::Engine;
use crate::storage::read::newest_by_key;
use crate::storage::tables::{self, filter, Stored};
use crate::{AgentDb, Error, Result};
use memtable::ItemsMem;
use records::{ItemLogRecord, ItemOp};

pub mod memtable;
pub mod records;
pub mod value_filter;

pub use crate::limits::{MAX_ITEM_KEY_BYTES, MAX_ITEM_VALUE_DEPTH, MAX_NAMESPACE_DEPTH, MAX_NAMESPACE_LABEL_BYTES};

pub const ITEMS_TABLE: &str = "items";

/// The label that matches any label in a `NamespaceQuery` condition.
pub const NAMESPACE_WILDCARD: &str = "*";

/// An item as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub namespace: Vec<String>,
    pub key: String,
    pub value: Value,
    pub metadata: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When it stops being visible (`None`: never).
    pub expires_at_ms: Option<i64>,
    /// The time to live it was written with; a read with `refresh_ttl`
    /// moves the expiry to now + this.
    pub ttl_ms: Option<u64>,
}

/// An item as stored and logged: the value as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub namespace: Vec<String>,
    pub key: String,
    pub value: String,
    pub metadata: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub ttl_ms: Option<u64>,
}

impl ItemRow {
    fn live(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|e| now_ms < e)
    }

    fn parse_value(&self) -> Result<Value> {
        serde_json::from_str(&self.value).map_err(|e| Error::corrupted(format!("item value is not JSON: {e}")))
    }

    /// The public item; `value` when the caller already parsed it.
    fn into_item(self, value: Option<Value>) -> Result<Item> {
        let value = match value {
            Some(v) => v,
            None => self.parse_value()?,
        };
        Ok(Item {
            namespace: self.namespace,
            key: self.key,
            value,
            metadata: self.metadata,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            expires_at_ms: self.expires_at_ms,
            ttl_ms: self.ttl_ms,
        })
    }
}

/// One put of `write_items`: inserts the item or replaces it whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPut {
    pub namespace: Vec<String>,
    pub key: String,
    pub value: Value,
    pub metadata: BTreeMap<String, String>,
    /// Time to live from this put (`None`: forever).
    pub ttl_ms: Option<u64>,
}

impl ItemPut {
    pub fn new(namespace: &[&str], key: impl Into<String>, value: Value) -> Self {
        ItemPut {
            namespace: namespace.iter().map(|s| s.to_string()).collect(),
            key: key.into(),
            value,
            metadata: BTreeMap::new(),
            ttl_ms: None,
        }
    }
    pub fn ttl_ms(mut self, ttl_ms: u64) -> Self {
        self.ttl_ms = Some(ttl_ms);
        self
    }
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// One operation of `write_items`.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemWrite {
    Put(ItemPut),
    Delete { namespace: Vec<String>, key: String },
}

/// What `write_items` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemWriteReport {
    /// Puts applied.
    pub put: usize,
    /// Live items deleted (a delete of an absent or expired item deletes nothing).
    pub deleted: usize,
}

/// A search over the items under a namespace prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemQuery {
    /// Labels the namespace starts with (empty: every item).
    pub prefix: Vec<String>,
    /// A value filter (see `value_filter`); `None`: every item.
    pub filter: Option<Value>,
    /// Every entry must equal the item's metadata value.
    pub metadata: BTreeMap<String, String>,
    pub limit: usize,
    pub offset: usize,
    /// Move the expiry of each returned item with a TTL to now + its TTL.
    pub refresh_ttl: bool,
}

impl ItemQuery {
    pub fn new(prefix: &[&str]) -> Self {
        ItemQuery {
            prefix: prefix.iter().map(|s| s.to_string()).collect(),
            filter: None,
            metadata: BTreeMap::new(),
            limit: crate::defaults::ITEM_SEARCH_LIMIT,
            offset: 0,
            refresh_ttl: false,
        }
    }
    pub fn filter(mut self, filter: Value) -> Self {
        self.filter = Some(filter);
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }
}

/// A page of a search: the items, most recently updated first (ties by
/// namespace, then key), and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPage {
    pub items: Vec<Item>,
    pub total: usize,
}

/// Which namespaces `list_item_namespaces` returns: those holding at least
/// one live item that match the prefix and suffix (a `*` label matches any
/// label), cut to `max_depth` labels (then deduplicated), sorted, paged.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceQuery {
    pub prefix: Vec<String>,
    pub suffix: Vec<String>,
    pub max_depth: Option<usize>,
    pub limit: usize,
    pub offset: usize,
}

impl Default for NamespaceQuery {
    fn default() -> Self {
        NamespaceQuery {
            prefix: Vec::new(),
            suffix: Vec::new(),
            max_depth: None,
            limit: crate::defaults::NAMESPACE_LIST_LIMIT,
            offset: 0,
        }
    }
}

// ----------------------------------------------------------------- encoding

/// A namespace's stored form: each label followed by NUL.
pub(crate) fn encode_ns(namespace: &[impl AsRef<str>]) -> String {
    let mut out = String::with_capacity(namespace.iter().map(|l| l.as_ref().len() + 1).sum());
    for label in namespace {
        out.push_str(label.as_ref());
        out.push('\0');
    }
    out
}

/// An item's address: its namespace's stored form, then its key.
pub(crate) fn ns_key(namespace: &[impl AsRef<str>], key: &str) -> String {
    let mut out = encode_ns(namespace);
    out.push_str(key);
    out
}

fn decode_ns(encoded: &str) -> Vec<String> {
    encoded.split_terminator('\0').map(str::to_string).collect()
}

/// The `[lo, hi)` string range of every `ns` (and `ns_key`) under a
/// namespace prefix; `hi` is `None` for the empty prefix (everything).
fn prefix_range(prefix: &[String]) -> (String, Option<String>) {
    if prefix.is_empty() {
        return (String::new(), None);
    }
    let lo = encode_ns(prefix);
    // The encoding ends in NUL; the next string after every extension of it
    // ends in \x01 instead.
    let hi = format!("{}\u{1}", &lo[..lo.len() - 1]);
    (lo, Some(hi))
}

// --------------------------------------------------------------- validation

fn validate_labels(labels: &[String], what: &str, allow_empty: bool) -> Result<()> {
    if labels.is_empty() && !allow_empty {
        return Err(Error::invalid(format!("{what} must have at least one label")));
    }
    if labels.len() > MAX_NAMESPACE_DEPTH {
        return Err(Error::invalid(format!("{what} has {} labels; at most {MAX_NAMESPACE_DEPTH}", labels.len())));
    }
    for label in labels {
        if label.is_empty() || label.len() > MAX_NAMESPACE_LABEL_BYTES || label.contains('\0') {
            return Err(Error::invalid(format!(
                "namespace labels must be 1..={MAX_NAMESPACE_LABEL_BYTES} bytes without NUL, got {label:?}"
            )));
        }
    }
    Ok(())
}

fn validate_key(key: &str) -> Result<()> {
    if key.len() > MAX_ITEM_KEY_BYTES || key.contains('\0') {
        return Err(Error::invalid(format!("item keys must be at most {MAX_ITEM_KEY_BYTES} bytes without NUL")));
    }
    Ok(())
}

fn check_page(limit: usize, offset: usize) -> Result<()> {
    crate::limits::check_search_k(limit, "limit")?;
    if offset > crate::limits::MAX_ITEM_OFFSET {
        return Err(Error::invalid(format!("offset must be at most {}", crate::limits::MAX_ITEM_OFFSET)));
    }
    Ok(())
}

// -------------------------------------------------------------------- table

pub fn items_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("ns", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("ns_key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("created_at_ms", DataType::Int64, false),
        Field::new("updated_at_ms", DataType::Int64, false),
        Field::new("expires_at_ms", DataType::Int64, true),
        Field::new("ttl_ms", DataType::UInt64, true),
    ]))
}

fn rows_to_batch(rows: &[&Stored<ItemRow>]) -> Result<RecordBatch> {
    let metadata: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(&r.value.metadata).map_err(|e| Error::invalid(e.to_string())))
        .collect::<Result<_>>()?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| encode_ns(&r.value.namespace)))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.key.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| ns_key(&r.value.namespace, &r.value.key)))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.value.as_str()))),
        Arc::new(StringArray::from_iter_values(metadata.iter())),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.created_at_ms))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.updated_at_ms))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.value.expires_at_ms))),
        Arc::new(UInt64Array::from_iter(rows.iter().map(|r| r.value.ttl_ms))),
    ];
    Ok(RecordBatch::try_new(items_schema(), columns)?)
}

fn rows_from_batch(batch: &RecordBatch) -> Result<Vec<Stored<ItemRow>>> {
    let lsn = tables::column::<UInt64Array>(batch, "lsn")?;
    let ns = tables::column::<StringArray>(batch, "ns")?;
    let key = tables::column::<StringArray>(batch, "key")?;
    let value = tables::column::<StringArray>(batch, "value")?;
    let metadata = tables::column::<StringArray>(batch, "metadata")?;
    let created = tables::column::<Int64Array>(batch, "created_at_ms")?;
    let updated = tables::column::<Int64Array>(batch, "updated_at_ms")?;
    let expires = tables::column::<Int64Array>(batch, "expires_at_ms")?;
    let ttl = tables::column::<UInt64Array>(batch, "ttl_ms")?;
    (0..batch.num_rows())
        .map(|i| {
            Ok(Stored {
                lsn: lsn.value(i),
                value: ItemRow {
                    namespace: decode_ns(ns.value(i)),
                    key: key.value(i).to_string(),
                    value: value.value(i).to_string(),
                    metadata: serde_json::from_str(metadata.value(i))
                        .map_err(|e| Error::corrupted(format!("item metadata: {e}")))?,
                    created_at_ms: created.value(i),
                    updated_at_ms: updated.value(i),
                    expires_at_ms: expires.is_valid(i).then(|| expires.value(i)),
                    ttl_ms: ttl.is_valid(i).then(|| ttl.value(i)),
                },
            })
        })
        .collect()
}

// ---------------------------------------------------------------- the state

/// Per namespace: how many items exist (live or expired, not deleted), split
/// by whether they can expire. A namespace with a non-expiring item is
/// listed without a read; one with only expiring items is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NsCount {
    forever: u64,
    expiring: u64,
}

impl NsCount {
    fn add(&mut self, row: &ItemRow, sign: i64) {
        let slot = if row.ttl_ms.is_some() { &mut self.expiring } else { &mut self.forever };
        *slot = slot.saturating_add_signed(sign);
    }
    fn is_empty(&self) -> bool {
        self.forever == 0 && self.expiring == 0
    }
}

type Catalog = BTreeMap<Vec<String>, NsCount>;

/// The item subsystem's own state.
pub(crate) struct ItemsState {
    /// `None` only in a read-only open of a database written before items
    /// existed (a writer open creates the table): it holds no items.
    table: Option<Table>,
    /// Serialises writers, so a put's created time, a delete's existence
    /// and the namespace catalog are read and changed without a race.
    write_lock: Mutex<()>,
    /// Namespaces and their item counts, built on first use by one
    /// projected scan and kept current by every write afterwards.
    catalog: Mutex<Option<Catalog>>,
}

impl ItemsState {
    pub fn new(table: Option<Table>) -> Self {
        ItemsState { table, write_lock: Mutex::new(()), catalog: Mutex::new(None) }
    }

    pub fn tables(&self) -> Vec<(String, Table)> {
        self.table.iter().map(|t| (ITEMS_TABLE.to_string(), t.clone())).collect()
    }
}

// -------------------------------------------------------------------- reads

impl Engine {
    /// The current row (live or expired) of each address; deleted and absent
    /// addresses are missing from the map.
    fn item_rows_by_key(&self, keys: &[String]) -> Result<HashMap<String, ItemRow>> {
        let read = self.begin_read();
        let mut out = HashMap::new();
        let mut ask_lance: Vec<&str> = Vec::new();
        {
            let mem = read.memtable();
            let m = mem.part::<ItemsMem>();
            for k in keys {
                if let Some(r) = m.rows.get(k) {
                    out.insert(k.clone(), r.value.clone());
                } else if !m.tombstones.contains_key(k) {
                    ask_lance.push(k);
                }
            }
        }
        let Some(table) = &self.items.table else { return Ok(out) };
        ask_lance.sort_unstable();
        ask_lance.dedup();
        for chunk in ask_lance.chunks(1024) {
            let batches =
                self.block_on(tables::query(table, Some(filter::str_in("ns_key", chunk)), None, None, None))?;
            let mut lance = Vec::new();
            for b in &batches {
                lance.extend(rows_from_batch(b)?);
            }
            out.extend(newest_by_key(lance, |r| ns_key(&r.namespace, &r.key)).into_iter().map(|(k, r)| (k, r.value)));
        }
        Ok(out)
    }

    /// Every current row (live or expired) under a namespace prefix, or in
    /// exactly one namespace, narrowed by a metadata prefilter (callers
    /// confirm the metadata).
    fn item_rows_under(
        &self,
        prefix: &[String],
        exact: bool,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<ItemRow>> {
        let (lo, hi) = prefix_range(prefix);
        let read = self.begin_read();
        let (mut rows, hidden): (Vec<ItemRow>, HashSet<String>) = {
            let mem = read.memtable();
            let m = mem.part::<ItemsMem>();
            let (rows, tombs) = m.range(&lo, hi.as_deref());
            let mut hidden: HashSet<String> = tombs.map(|(k, _)| k.clone()).collect();
            let rows: Vec<ItemRow> = rows
                .filter(|r| !exact || r.value.namespace.as_slice() == prefix)
                .map(|r| {
                    hidden.insert(ns_key(&r.value.namespace, &r.value.key));
                    r.value.clone()
                })
                .collect();
            (rows, hidden)
        };
        let Some(table) = &self.items.table else { return Ok(rows) };
        let mut pred: Vec<lancedb::expr::DfExpr> = Vec::new();
        match (&hi, exact) {
            (_, true) => pred.push(filter::str_eq("ns", &lo)),
            (Some(hi), false) => pred.push(filter::str_range("ns", &lo, hi)),
            (None, false) => {}
        }
        pred.extend(filter::metadata_candidates("metadata", metadata));
        let batches = self.block_on(tables::query(table, filter::and_all(pred), None, None, None))?;
        // One row per address is the flush's invariant; merging by LSN anyway
        // (the read protocol's rule) keeps a read exact even if it ever broke.
        let mut lance: Vec<Stored<ItemRow>> = Vec::new();
        for b in &batches {
            lance.extend(
                rows_from_batch(b)?.into_iter().filter(|r| !hidden.contains(&ns_key(&r.value.namespace, &r.value.key))),
            );
        }
        rows.extend(newest_by_key(lance, |r| ns_key(&r.namespace, &r.key)).into_values().map(|r| r.value));
        Ok(rows)
    }

    /// Builds the namespace catalog from one projected scan (writers wait).
    fn build_item_catalog(&self) -> Result<Catalog> {
        let mut catalog = Catalog::new();
        let read = self.begin_read();
        let (mem_rows, hidden): (Vec<ItemRow>, HashSet<String>) = {
            let mem = read.memtable();
            let m = mem.part::<ItemsMem>();
            let rows: Vec<ItemRow> = m.rows.values().map(|r| r.value.clone()).collect();
            let hidden = m.rows.keys().chain(m.tombstones.keys()).cloned().collect();
            (rows, hidden)
        };
        for r in &mem_rows {
            catalog.entry(r.namespace.clone()).or_default().add(r, 1);
        }
        if let Some(table) = &self.items.table {
            let batches = self.block_on(tables::query(table, None, Some(&["ns", "ns_key", "ttl_ms"]), None, None))?;
            for b in &batches {
                let ns = tables::column::<StringArray>(b, "ns")?;
                let keys = tables::column::<StringArray>(b, "ns_key")?;
                let ttl = tables::column::<UInt64Array>(b, "ttl_ms")?;
                for i in 0..b.num_rows() {
                    if hidden.contains(keys.value(i)) {
                        continue;
                    }
                    let count = catalog.entry(decode_ns(ns.value(i))).or_default();
                    if ttl.is_valid(i) {
                        count.expiring += 1;
                    } else {
                        count.forever += 1;
                    }
                }
            }
        }
        Ok(catalog)
    }

    // ----------------------------------------------------------- writes

    /// Resolves and logs a batch (the write lock held by the caller).
    fn write_items_locked(&self, writes: Vec<ItemWrite>, now_ms: i64) -> Result<ItemWriteReport> {
        let addresses: Vec<String> = writes
            .iter()
            .map(|w| match w {
                ItemWrite::Put(p) => ns_key(&p.namespace, &p.key),
                ItemWrite::Delete { namespace, key } => ns_key(namespace, key),
            })
            .collect();
        let before = self.item_rows_by_key(&addresses)?;
        let mut current: HashMap<&str, Option<ItemRow>> = HashMap::new();
        let mut ops = Vec::with_capacity(writes.len());
        let mut report = ItemWriteReport::default();
        for (w, address) in writes.into_iter().zip(&addresses) {
            let now_row = current.entry(address.as_str()).or_insert_with(|| before.get(address).cloned());
            match w {
                ItemWrite::Put(p) => {
                    let created_at_ms = match now_row {
                        Some(r) if r.live(now_ms) => r.created_at_ms,
                        _ => now_ms,
                    };
                    let row = ItemRow {
                        namespace: p.namespace,
                        key: p.key,
                        value: p.value.to_string(),
                        metadata: p.metadata,
                        created_at_ms,
                        updated_at_ms: now_ms,
                        expires_at_ms: p.ttl_ms.map(|t| now_ms.saturating_add(i64::try_from(t).unwrap_or(i64::MAX))),
                        ttl_ms: p.ttl_ms,
                    };
                    *now_row = Some(row.clone());
                    ops.push(ItemOp::Put(row));
                    report.put += 1;
                }
                ItemWrite::Delete { namespace, key } => {
                    if let Some(r) = now_row.take() {
                        if r.live(now_ms) {
                            report.deleted += 1;
                        }
                        ops.push(ItemOp::Delete { namespace, key });
                    }
                }
            }
        }
        if ops.is_empty() {
            return Ok(report);
        }
        self.commit::<ItemsMem>(ItemLogRecord::Write(ops))?;
        if let Some(catalog) = self.items.catalog.lock().as_mut() {
            for (address, after) in &current {
                let was = before.get(*address);
                if was == after.as_ref() {
                    continue;
                }
                if let Some(r) = was {
                    let c = catalog.entry(r.namespace.clone()).or_default();
                    c.add(r, -1);
                    if c.is_empty() {
                        catalog.remove(&r.namespace);
                    }
                }
                if let Some(r) = after {
                    catalog.entry(r.namespace.clone()).or_default().add(r, 1);
                }
            }
        }
        Ok(report)
    }

    /// Moves the expiry of items just read (with a TTL, still unchanged) to now + TTL.
    /// Nothing to move (no item with a TTL) is not a write: a read-only
    /// handle may ask for a refresh and gets `ReadOnly` only when one is due.
    fn refresh_item_ttls(&self, items: &mut [Item]) -> Result<()> {
        let wanted: Vec<&Item> = items.iter().filter(|i| i.ttl_ms.is_some()).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        let _w = self.items.write_lock.lock();
        let now_ms = crate::engine::now_ms();
        let addresses: Vec<String> = wanted.iter().map(|i| ns_key(&i.namespace, &i.key)).collect();
        let rows = self.item_rows_by_key(&addresses)?;
        let mut ops = Vec::new();
        let mut refreshed: HashMap<String, i64> = HashMap::new();
        for address in addresses {
            let Some(row) = rows.get(&address) else { continue };
            let (Some(ttl), true) = (row.ttl_ms, row.live(now_ms)) else { continue };
            let mut row = row.clone();
            let expires = now_ms.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
            row.expires_at_ms = Some(expires);
            refreshed.insert(address, expires);
            ops.push(ItemOp::Put(row));
        }
        if !ops.is_empty() {
            self.commit::<ItemsMem>(ItemLogRecord::Write(ops))?;
        }
        for item in items.iter_mut() {
            if let Some(e) = refreshed.get(&ns_key(&item.namespace, &item.key)) {
                item.expires_at_ms = Some(*e);
            }
        }
        Ok(())
    }

    /// Writes the item subsystem's part of a flush.
    pub(crate) async fn flush_items(&self, f: &memtable::ItemsFlush) -> Result<()> {
        let Some(table) = &self.items.table else {
            return Err(Error::ReadOnly);
        };
        // Remove first, then add: one row per address, and the WAL has every row whole.
        for chunk in f.doomed.chunks(4096) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            table.delete(&filter::str_in("ns_key", &refs)).await?;
        }
        if !f.rows.is_empty() {
            let refs: Vec<&Stored<ItemRow>> = f.rows.iter().map(|r| &**r).collect();
            let batches = refs.chunks(tables::FLUSH_BATCH_ROWS).map(rows_to_batch).collect::<Result<Vec<_>>>()?;
            table.add(batches).execute().await?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------ the public API

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn validate_put(p: &ItemPut, max_payload_bytes: usize) -> Result<()> {
    validate_labels(&p.namespace, "an item's namespace", false)?;
    validate_key(&p.key)?;
    crate::states::validate_metadata(&p.metadata)?;
    if p.ttl_ms == Some(0) {
        return Err(Error::invalid("ttl_ms must be at least 1 (leave it out for no expiry)"));
    }
    if depth(&p.value) > MAX_ITEM_VALUE_DEPTH {
        return Err(Error::invalid(format!("an item value nests more than {MAX_ITEM_VALUE_DEPTH} arrays or objects")));
    }
    let text = p.value.to_string();
    let size = text.len() + p.metadata.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    if size > max_payload_bytes {
        return Err(Error::PayloadTooLarge { size, limit: max_payload_bytes });
    }
    Ok(())
}

impl AgentDb {
    /// Applies puts and deletes in order, in one WAL record: all or nothing.
    /// The last operation on an address wins; a delete of an absent item is
    /// not an error.
    pub fn write_items(&self, writes: Vec<ItemWrite>) -> Result<ItemWriteReport> {
        let e = &self.engine;
        e.check_writable()?;
        if writes.is_empty() {
            return Err(Error::invalid("no item writes"));
        }
        crate::limits::check_batch_items(writes.len())?;
        // Each value is checked against `max_payload_bytes`; the batch as a
        // whole against `MAX_RECORD_BYTES` when its record is encoded, before
        // anything is logged.
        for w in &writes {
            match w {
                ItemWrite::Put(p) => validate_put(p, e.opts().max_payload_bytes)?,
                ItemWrite::Delete { namespace, key } => {
                    validate_labels(namespace, "an item's namespace", false)?;
                    validate_key(key)?;
                }
            }
        }
        let _w = e.items.write_lock.lock();
        e.write_items_locked(writes, crate::engine::now_ms())
    }

    /// Inserts or replaces one item; returns it as stored.
    pub fn put_item(&self, put: ItemPut) -> Result<Item> {
        let (namespace, key) = (put.namespace.clone(), put.key.clone());
        self.write_items(vec![ItemWrite::Put(put)])?;
        // Read back whatever its expiry: a put with a 1 ms TTL still returns what it stored.
        let address = ns_key(&namespace, &key);
        let mut rows = self.engine.item_rows_by_key(std::slice::from_ref(&address))?;
        rows.remove(&address).ok_or_else(|| Error::corrupted("an item just written is not visible"))?.into_item(None)
    }

    /// Deletes one item; returns whether a live item was deleted.
    pub fn delete_item(&self, namespace: &[String], key: &str) -> Result<bool> {
        let r = self.write_items(vec![ItemWrite::Delete { namespace: namespace.to_vec(), key: key.to_string() }])?;
        Ok(r.deleted == 1)
    }

    /// The live item at an address, if any.
    pub fn get_item(&self, namespace: &[String], key: &str) -> Result<Option<Item>> {
        Ok(self.get_items(&[(namespace.to_vec(), key.to_string())], false)?.pop().flatten())
    }

    /// The live item at each address (`None`: absent, deleted or expired),
    /// in the order asked; with `refresh_ttl`, found items with a TTL get a
    /// new expiry.
    pub fn get_items(&self, addresses: &[(Vec<String>, String)], refresh_ttl: bool) -> Result<Vec<Option<Item>>> {
        let e = &self.engine;
        e.check_open()?;
        crate::limits::check_batch_items(addresses.len())?;
        for (namespace, key) in addresses {
            validate_labels(namespace, "an item's namespace", false)?;
            validate_key(key)?;
        }
        let keys: Vec<String> = addresses.iter().map(|(n, k)| ns_key(n, k)).collect();
        let rows = e.item_rows_by_key(&keys)?;
        let now_ms = crate::engine::now_ms();
        let mut out: Vec<Option<Item>> = keys
            .iter()
            .map(|k| rows.get(k).filter(|r| r.live(now_ms)).map(|r| r.clone().into_item(None)).transpose())
            .collect::<Result<_>>()?;
        if refresh_ttl {
            let mut found: Vec<Item> = out.iter().flatten().cloned().collect();
            e.refresh_item_ttls(&mut found)?;
            let by_key: HashMap<String, Item> = found.into_iter().map(|i| (ns_key(&i.namespace, &i.key), i)).collect();
            for slot in out.iter_mut().flatten() {
                if let Some(i) = by_key.get(&ns_key(&slot.namespace, &slot.key)) {
                    *slot = i.clone();
                }
            }
        }
        Ok(out)
    }

    /// The live items under a namespace prefix that pass the filters, most
    /// recently updated first; `total` counts every match, not just the page.
    pub fn search_items(&self, query: &ItemQuery) -> Result<ItemPage> {
        let e = &self.engine;
        e.check_open()?;
        validate_labels(&query.prefix, "a namespace prefix", true)?;
        check_page(query.limit, query.offset)?;
        crate::states::validate_metadata(&query.metadata)?;
        if let Some(f) = &query.filter {
            value_filter::validate(f)?;
        }
        let rows = e.item_rows_under(&query.prefix, false, &query.metadata)?;
        let now_ms = crate::engine::now_ms();
        let mut matched: Vec<(ItemRow, Option<Value>)> = Vec::new();
        for row in rows {
            if !row.live(now_ms) || !query.metadata.iter().all(|(k, v)| row.metadata.get(k) == Some(v)) {
                continue;
            }
            match &query.filter {
                Some(f) => {
                    let value = row.parse_value()?;
                    if value_filter::matches(&value, f) {
                        matched.push((row, Some(value)));
                    }
                }
                None => matched.push((row, None)),
            }
        }
        let total = matched.len();
        matched.sort_by(|(a, _), (b, _)| {
            b.updated_at_ms
                .cmp(&a.updated_at_ms)
                .then_with(|| a.namespace.cmp(&b.namespace))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut items: Vec<Item> = matched
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(row, value)| row.into_item(value))
            .collect::<Result<_>>()?;
        if query.refresh_ttl {
            e.refresh_item_ttls(&mut items)?;
        }
        Ok(ItemPage { items, total })
    }

    /// The namespaces holding at least one live item that match the query.
    pub fn list_item_namespaces(&self, query: &NamespaceQuery) -> Result<Vec<Vec<String>>> {
        let e = &self.engine;
        e.check_open()?;
        for (labels, what) in [(&query.prefix, "a namespace prefix"), (&query.suffix, "a namespace suffix")] {
            validate_labels(labels, what, true)?;
        }
        check_page(query.limit, query.offset)?;
        if query.max_depth == Some(0) {
            return Err(Error::invalid("max_depth must be at least 1 (leave it out for whole namespaces)"));
        }
        let candidates: Vec<(Vec<String>, NsCount)> = {
            let mut guard = e.items.catalog.lock();
            if guard.is_none() {
                // Built under the write lock: no write can slip between the scan and the install.
                drop(guard);
                let _w = e.items.write_lock.lock();
                let built = e.build_item_catalog()?;
                guard = e.items.catalog.lock();
                if guard.is_none() {
                    *guard = Some(built);
                }
            }
            guard
                .as_ref()
                .map(|c| {
                    c.iter()
                        .filter(|(ns, _)| {
                            labels_match(ns, &query.prefix, false) && labels_match(ns, &query.suffix, true)
                        })
                        .map(|(ns, c)| (ns.clone(), *c))
                        .collect()
                })
                .unwrap_or_default()
        };
        let now_ms = crate::engine::now_ms();
        let mut out: Vec<Vec<String>> = Vec::new();
        for (ns, count) in candidates {
            let live = count.forever > 0
                || (count.expiring > 0
                    && e.item_rows_under(&ns, true, &BTreeMap::new())?.iter().any(|r| r.live(now_ms)));
            if live {
                out.push(match query.max_depth {
                    Some(d) if ns.len() > d => ns[..d].to_vec(),
                    _ => ns,
                });
            }
        }
        out.sort();
        out.dedup();
        Ok(out.into_iter().skip(query.offset).take(query.limit).collect())
    }

    /// Deletes every expired item (through the log); returns how many.
    pub fn sweep_expired_items(&self) -> Result<usize> {
        let e = &self.engine;
        e.check_writable()?;
        let _w = e.items.write_lock.lock();
        let now_ms = crate::engine::now_ms();
        let expired: Vec<ItemWrite> = e
            .item_rows_under(&[], false, &BTreeMap::new())?
            .into_iter()
            .filter(|r| !r.live(now_ms))
            .map(|r| ItemWrite::Delete { namespace: r.namespace, key: r.key })
            .collect();
        let n = expired.len();
        let mut it = expired.into_iter().peekable();
        while it.peek().is_some() {
            let batch: Vec<ItemWrite> = it.by_ref().take(crate::limits::MAX_BATCH_ITEMS).collect();
            e.write_items_locked(batch, now_ms)?;
        }
        Ok(n)
    }
}

/// Whether `ns` starts (or, `from_end`, ends) with `labels`, `*` matching any label.
fn labels_match(ns: &[String], labels: &[String], from_end: bool) -> bool {
    if ns.len() < labels.len() {
        return false;
    }
    let part = if from_end { &ns[ns.len() - labels.len()..] } else { &ns[..labels.len()] };
    part.iter().zip(labels).all(|(n, l)| l == NAMESPACE_WILDCARD || n == l)
}

/// The item subsystem's side of the engine contract.
pub(crate) struct ItemsSubsystem;

impl crate::engine::subsystem::Subsystem for ItemsSubsystem {
    fn name(&self) -> &'static str {
        "items"
    }
    fn fixed_tables(&self, _opts: &crate::Options) -> Vec<crate::engine::subsystem::TableSpec> {
        vec![crate::engine::subsystem::TableSpec { name: ITEMS_TABLE, schema: items_schema() }]
    }
    fn flush<'a>(
        &'a self,
        engine: &'a Engine,
        set: &'a crate::storage::memtable::FlushSet,
    ) -> futures::future::BoxFuture<'a, Result<()>> {
        crate::engine::subsystem::flush_part::<ItemsMem, _, _>(set, move |f| engine.flush_items(f))
    }
    /// `ns_key` for point reads and flush deletes, `ns` for prefix ranges.
    fn scalar_index_columns(&self, _table: &str) -> &'static [&'static str] {
        &["ns_key", "ns"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_holds_exactly_the_namespaces_under_it() {
        let ns = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (lo, hi) = prefix_range(&ns(&["a", "b"]));
        let hi = hi.unwrap();
        let inside = |n: &[&str]| {
            let e = encode_ns(&ns(n));
            e.as_str() >= lo.as_str() && e.as_str() < hi.as_str()
        };
        assert!(inside(&["a", "b"]));
        assert!(inside(&["a", "b", "c"]));
        assert!(inside(&["a", "b", "\u{1}"]));
        assert!(!inside(&["a", "bc"]));
        assert!(!inside(&["a", "b\u{1}"]));
        assert!(!inside(&["a"]));
        assert!(!inside(&["ab"]));
        assert!(!inside(&["a", "a", "z"]));
        assert_eq!(decode_ns(&encode_ns(&ns(&["x", "y z", "日本"]))), ns(&["x", "y z", "日本"]));
        assert!(labels_match(&ns(&["a", "b", "c"]), &ns(&["a", "*"]), false));
        assert!(labels_match(&ns(&["a", "b", "c"]), &ns(&["*", "c"]), true));
        assert!(!labels_match(&ns(&["a", "b", "c"]), &ns(&["b"]), false));
        assert!(!labels_match(&ns(&["a"]), &ns(&["a", "*"]), false));
    }
}

//! Vector collections: named, fixed dimension and metric; upsert, get,
//! delete, k-NN and range search with metadata filters; an ANN index built
//! by maintenance once a collection is large enough.
//!
//! Invariants:
//! - A collection is one Lance table `vec_<name>`; its metric lives in the
//!   table's schema metadata, so the table alone describes the collection.
//! - One row per id in Lance: a flush deletes the ids it is about to write
//!   (or that were deleted) *before* adding rows. The WAL holds every
//!   upsert whole, so a crash between the two steps loses nothing.
//! - Distances are reported in the metric's own units: Euclidean distance
//!   for L2 (Lance's squared L2 is square-rooted), `1 − cos` for cosine,
//!   `1 − dot` for dot.
//! - Searches see vectors written a moment ago (memtable scanned flat) and
//!   stay exact over rows the ANN index does not cover yet.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase};
use lancedb::Table;
use serde::{Deserialize, Serialize};

use crate::cancel::{Cancel, Cancellable};
use crate::engine::Engine;
use memtable::VectorsMem;
use records::VectorLogRecord;

pub mod memtable;
pub mod records;
use crate::storage::tables::{filter, Stored};
use crate::{AgentDb, Error, Result};

pub const COLLECTION_TABLE_PREFIX: &str = "vec_";
const METRIC_METADATA_KEY: &str = "agentdb.metric";
pub use crate::limits::{MAX_DIMENSION, MAX_ID_BYTES};
/// Each exact-search retry fetches this many times more candidates.
const FILTER_REFETCH_GROWTH: usize = 4;
/// Rows a filtered search fetches beyond k: room for a metadata
/// prefilter's false matches before a second fetch.
const VECTOR_FETCH_SLACK: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    L2,
    Cosine,
    Dot,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }

    pub(crate) fn lance(self) -> lancedb::DistanceType {
        match self {
            Metric::L2 => lancedb::DistanceType::L2,
            Metric::Cosine => lancedb::DistanceType::Cosine,
            Metric::Dot => lancedb::DistanceType::Dot,
        }
    }

    /// Distance in reported units, computed in Rust for memtable rows.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
            Metric::Cosine => 1.0 - crate::memories::scoring::cosine(a, b),
            Metric::Dot => 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
        }
    }

    /// Lance's distance → reported units.
    fn reported_from_lance(self, d: f32) -> f32 {
        match self {
            Metric::L2 => d.max(0.0).sqrt(),
            _ => d,
        }
    }

    /// Reported units → Lance's distance (for range bounds).
    fn to_lance(self, d: f32) -> f32 {
        match self {
            Metric::L2 => d * d,
            _ => d,
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "l2" | "euclidean" => Ok(Metric::L2),
            "cosine" => Ok(Metric::Cosine),
            "dot" => Ok(Metric::Dot),
            _ => Err(Error::invalid(format!("unknown metric {s:?} (expected l2, cosine or dot)"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    pub id: String,
    pub vector: Vec<f32>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    pub id: String,
    pub distance: f32,
    pub metadata: BTreeMap<String, String>,
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    pub name: String,
    pub dimension: usize,
    pub metric: Metric,
}

/// Search knobs; the defaults give exact results over unindexed rows and
/// LanceDB's defaults on indexed ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOptions {
    /// Every entry must equal the vector's metadata value.
    pub metadata: BTreeMap<String, String>,
    /// IVF partitions to probe (higher: better recall, slower).
    pub nprobes: Option<usize>,
    /// Re-rank this many × k candidates with exact distances.
    pub refine_factor: Option<u32>,
}

impl SearchOptions {
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

pub(crate) struct Collection {
    pub info: CollectionInfo,
    pub table: Table,
}

pub fn collection_schema(dimension: usize, metric: Metric) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("lsn", DataType::UInt64, false),
            Field::new("id", DataType::Utf8, false),
            crate::storage::tables::vector_field("vector", dimension),
            Field::new("metadata", DataType::Utf8, false),
        ],
        HashMap::from([(METRIC_METADATA_KEY.to_string(), metric.as_str().to_string())]),
    ))
}

/// Reads a collection's description back from its table schema.
pub(crate) fn info_from_schema(name: &str, schema: &Schema) -> Result<CollectionInfo> {
    let dimension = crate::storage::tables::embedding_dimension_of(schema, "vector")
        .ok_or_else(|| Error::corrupted(format!("collection {name} has no vector column")))?;
    let metric = schema
        .metadata()
        .get(METRIC_METADATA_KEY)
        .ok_or_else(|| Error::corrupted(format!("collection {name} has no metric")))?
        .parse()?;
    Ok(CollectionInfo { name: name.to_string(), dimension, metric })
}

pub(crate) fn validate_collection_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!(
            "collection name {name:?} must be 1-64 characters of ASCII letters, digits, '_' or '-'"
        )));
    }
    Ok(())
}

fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!("vector id must be 1..={MAX_ID_BYTES} bytes")));
    }
    Ok(())
}

pub(crate) fn rows_to_batch(rows: &[&Stored<VectorRecord>], info: &CollectionInfo) -> Result<RecordBatch> {
    let metadata: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(&r.value.metadata).map_err(|e| Error::invalid(e.to_string())))
        .collect::<Result<_>>()?;
    let vectors = crate::storage::tables::vector_array(rows.iter().map(|r| r.value.vector.as_slice()), info.dimension)?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.id.as_str()))),
        Arc::new(vectors),
        Arc::new(StringArray::from_iter_values(metadata.iter())),
    ];
    Ok(RecordBatch::try_new(collection_schema(info.dimension, info.metric), columns)?)
}

fn rows_from_batch(batch: &RecordBatch) -> Result<Vec<(VectorRecord, Option<f32>)>> {
    let get = |n: &str| batch.column_by_name(n).ok_or_else(|| Error::corrupted(format!("column {n} missing")));
    let ids = get("id")?.as_any().downcast_ref::<StringArray>().ok_or_else(|| Error::corrupted("id"))?;
    let vecs =
        get("vector")?.as_any().downcast_ref::<FixedSizeListArray>().ok_or_else(|| Error::corrupted("vector"))?;
    let values =
        vecs.values().as_any().downcast_ref::<Float32Array>().ok_or_else(|| Error::corrupted("vector values"))?;
    let meta = get("metadata")?.as_any().downcast_ref::<StringArray>().ok_or_else(|| Error::corrupted("metadata"))?;
    let dist = batch.column_by_name("_distance").and_then(|c| c.as_any().downcast_ref::<Float32Array>());
    let dim = vecs.value_length() as usize;
    (0..batch.num_rows())
        .map(|i| {
            let start = vecs.value_offset(i) as usize;
            Ok((
                VectorRecord {
                    id: ids.value(i).to_string(),
                    vector: values.values()[start..start + dim].to_vec(),
                    metadata: serde_json::from_str(meta.value(i))
                        .map_err(|e| Error::corrupted(format!("vector metadata: {e}")))?,
                },
                dist.map(|d| d.value(i)),
            ))
        })
        .collect()
}

enum Bound {
    Knn(usize),
    Radius(f32, usize),
}

impl Engine {
    pub(crate) fn collection(&self, name: &str) -> Result<Arc<Collection>> {
        validate_collection_name(name)?;
        self.vectors
            .collections
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("collection {name:?}")))
    }

    fn search(
        &self,
        c: &Collection,
        query: &[f32],
        bound: Bound,
        o: &SearchOptions,
        cancel: Cancel<'_>,
    ) -> Result<Vec<VectorHit>> {
        let info = &c.info;
        crate::memories::validate_vector_public(query, info.dimension)?;
        let (k, radius) = match bound {
            Bound::Knn(k) => (k, None),
            Bound::Radius(r, max) => (max, Some(r)),
        };
        let read = self.begin_read();
        let (fresh, hidden): (Vec<VectorRecord>, HashSet<String>) = {
            let mem = read.memtable();
            let m = mem.part::<VectorsMem>();
            match m.collections.get(&info.name) {
                Some(cm) => (
                    cm.rows.values().map(|r| r.value.clone()).collect(),
                    cm.rows.keys().chain(cm.tombstones.keys()).cloned().collect(),
                ),
                None => (Vec::new(), HashSet::new()),
            }
        };
        // A filtered search is exact: the filter (a superset test per
        // metadata entry, confirmed below) and the ids the memtable replaces
        // or deletes are a Lance prefilter, and the search bypasses the ANN
        // index, which cannot promise the true top k among the matches (its
        // cost is a flat scan of the matching rows). An unfiltered search
        // uses the index when there is one.
        let filtered = !o.metadata.is_empty();
        let prefilter = if filtered {
            let hidden: Vec<&str> = hidden.iter().map(String::as_str).collect();
            let mut pred: Vec<lancedb::expr::DfExpr> =
                filter::metadata_candidates("metadata", &o.metadata).into_iter().collect();
            if !hidden.is_empty() {
                pred.push(filter::str_not_in("id", &hidden));
            }
            filter::and_all(pred)
        } else {
            None
        };
        // No row count up front (a Lance call per query): a short answer from
        // Lance already says the collection is exhausted.
        let mut fetch = if filtered { k + VECTOR_FETCH_SLACK } else { (k + hidden.len()).max(k * 2) };
        let hits = loop {
            let lance_rows = self.block_on_until(cancel, async {
                let mut q = c.table.vector_search(query.to_vec())?.column("vector").distance_type(info.metric.lance());
                if let Some(r) = radius {
                    q = q.distance_range(None, Some(info.metric.to_lance(r)));
                }
                if let Some(p) = &prefilter {
                    q = q.only_if_expr(p.clone()).bypass_vector_index();
                } else {
                    if let Some(n) = o.nprobes {
                        q = q.nprobes(n)?;
                    }
                    if let Some(f) = o.refine_factor {
                        q = q.refine_factor(f);
                    }
                }
                let batches: Vec<_> = q.limit(fetch).execute().await?.try_collect().await?;
                let mut rows = Vec::new();
                for b in &batches {
                    rows.extend(rows_from_batch(b)?);
                }
                Ok::<_, Error>(rows)
            })?;
            let exhausted = lance_rows.len() < fetch;
            let mut hits: Vec<VectorHit> = lance_rows
                .into_iter()
                .filter(|(r, _)| !hidden.contains(&r.id))
                .map(|(r, d)| VectorHit {
                    id: r.id,
                    distance: info.metric.reported_from_lance(d.unwrap_or(f32::INFINITY)),
                    metadata: r.metadata,
                    vector: r.vector,
                })
                .chain(fresh.iter().map(|r| VectorHit {
                    id: r.id.clone(),
                    distance: info.metric.distance(query, &r.vector),
                    metadata: r.metadata.clone(),
                    vector: r.vector.clone(),
                }))
                .filter(|h| radius.is_none_or(|r| h.distance <= r))
                .filter(|h| o.metadata.iter().all(|(key, v)| h.metadata.get(key) == Some(v)))
                .collect();
            hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| a.id.cmp(&b.id)));
            // A prefilter's false match or a hidden row took a place: fetch more until exact.
            if hits.len() >= k || exhausted {
                hits.truncate(k);
                break hits;
            }
            fetch *= FILTER_REFETCH_GROWTH;
        };
        Ok(hits)
    }
}

impl AgentDb {
    pub fn create_collection(&self, name: &str, dimension: usize, metric: Metric) -> Result<CollectionInfo> {
        let e = &self.engine;
        e.check_writable()?;
        validate_collection_name(name)?;
        if dimension == 0 || dimension > MAX_DIMENSION {
            return Err(Error::invalid(format!("dimension must be in 1..={MAX_DIMENSION}")));
        }
        e.create_collection_table(name, dimension, metric)
    }

    pub fn list_collections(&self) -> Result<Vec<CollectionInfo>> {
        self.engine.check_open()?;
        let mut out: Vec<CollectionInfo> =
            self.engine.vectors.collections.read().values().map(|c| c.info.clone()).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Inserts or replaces one vector.
    pub fn insert_vector(
        &self,
        collection: &str,
        id: &str,
        vector: &[f32],
        metadata: BTreeMap<String, String>,
    ) -> Result<()> {
        self.insert_vectors(collection, vec![VectorRecord { id: id.to_string(), vector: vector.to_vec(), metadata }])
    }

    /// Inserts or replaces many vectors in one WAL record: all or nothing.
    pub fn insert_vectors(&self, collection: &str, rows: Vec<VectorRecord>) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        let c = e.collection(collection)?;
        if rows.is_empty() {
            return Err(Error::invalid("no vectors to insert"));
        }
        crate::limits::check_batch_items(rows.len())?;
        for r in &rows {
            validate_id(&r.id)?;
            crate::memories::validate_vector_public(&r.vector, c.info.dimension)?;
            crate::states::validate_metadata(&r.metadata)?;
        }
        e.commit::<VectorsMem>(VectorLogRecord::Upsert { collection: collection.to_string(), rows })?;
        Ok(())
    }

    pub fn get_vector(&self, collection: &str, id: &str) -> Result<VectorRecord> {
        let e = &self.engine;
        e.check_open()?;
        let c = e.collection(collection)?;
        validate_id(id)?;
        let read = e.begin_read();
        if let Some(cm) = read.memtable().part::<VectorsMem>().collections.get(collection) {
            if let Some(r) = cm.rows.get(id) {
                return Ok(r.value.clone());
            }
            if cm.tombstones.contains_key(id) {
                return Err(Error::NotFound(format!("vector {id:?} in {collection:?}")));
            }
        }
        let batches =
            e.block_on(crate::storage::tables::query(&c.table, Some(filter::str_eq("id", id)), None, None, Some(1)))?;
        for b in &batches {
            if let Some((r, _)) = rows_from_batch(b)?.into_iter().next() {
                return Ok(r);
            }
        }
        Err(Error::NotFound(format!("vector {id:?} in {collection:?}")))
    }

    pub fn delete_vector(&self, collection: &str, id: &str) -> Result<()> {
        self.get_vector(collection, id)?;
        self.engine.commit::<VectorsMem>(VectorLogRecord::Delete {
            collection: collection.to_string(),
            ids: vec![id.to_string()],
        })?;
        Ok(())
    }

    /// The `k` nearest vectors, nearest first (ties by id).
    pub fn search_knn(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        self.with_cancel(None).search_knn(collection, query, k, options)
    }

    /// Every vector within `radius` (in the metric's units), nearest first, at most `max_results`.
    pub fn search_range(
        &self,
        collection: &str,
        query: &[f32],
        radius: f32,
        max_results: usize,
        options: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        self.with_cancel(None).search_range(collection, query, radius, max_results, options)
    }

    pub fn count_vectors(&self, collection: &str) -> Result<usize> {
        let e = &self.engine;
        e.check_open()?;
        let c = e.collection(collection)?;
        let read = e.begin_read();
        let (fresh_new, hidden) = {
            let mem = read.memtable();
            let m = mem.part::<VectorsMem>();
            match m.collections.get(collection) {
                Some(cm) => {
                    (cm.rows.keys().cloned().collect::<Vec<_>>(), cm.tombstones.keys().cloned().collect::<Vec<_>>())
                }
                None => (Vec::new(), Vec::new()),
            }
        };
        let lance = e.block_on(c.table.count_rows(None))?;
        // Ids that are both in Lance and the memtable (updates) or tombstoned count once / not at all.
        let overlap: Vec<String> = fresh_new.iter().chain(hidden.iter()).cloned().collect();
        let in_lance = if overlap.is_empty() {
            0
        } else {
            let refs: Vec<&str> = overlap.iter().map(String::as_str).collect();
            let batches = e.block_on(crate::storage::tables::query(
                &c.table,
                Some(filter::str_in("id", &refs)),
                Some(&["id"]),
                None,
                None,
            ))?;
            batches.iter().map(|b| b.num_rows()).sum()
        };
        Ok(lance - in_lance + fresh_new.len())
    }

    /// Builds (or rebuilds) the collection's ANN index now.
    pub fn create_vector_index(&self, collection: &str) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        let c = e.collection(collection)?;
        e.flush()?;
        e.build_vector_index(&c)
    }
}

impl Cancellable<'_> {
    /// The `k` nearest vectors, nearest first (ties by id).
    pub fn search_knn(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        let e = self.engine();
        e.check_open()?;
        crate::limits::check_search_k(k, "k")?;
        let c = e.collection(collection)?;
        e.search(&c, query, Bound::Knn(k), options, self.cancel)
    }

    /// Every vector within `radius` (in the metric's units), nearest first, at most `max_results`.
    pub fn search_range(
        &self,
        collection: &str,
        query: &[f32],
        radius: f32,
        max_results: usize,
        options: &SearchOptions,
    ) -> Result<Vec<VectorHit>> {
        let e = self.engine();
        e.check_open()?;
        // Dot distances (1 − dot) can be negative, so only finiteness is required.
        if !radius.is_finite() {
            return Err(Error::invalid(format!("radius must be finite, got {radius}")));
        }
        crate::limits::check_search_k(max_results, "max_results")?;
        let c = e.collection(collection)?;
        e.search(&c, query, Bound::Radius(radius, max_results), options, self.cancel)
    }
}

pub(crate) fn is_collection_table(table_name: &str) -> Option<&str> {
    table_name.strip_prefix(COLLECTION_TABLE_PREFIX)
}

/// Whether a Lance array column is a vector index's.
pub(crate) fn has_vector_index(indices: &[lancedb::index::IndexConfig]) -> bool {
    indices.iter().any(|i| i.columns == ["vector"])
}

impl Engine {
    /// Writes the vector subsystem's part of a flush.
    pub(crate) async fn flush_vectors(&self, f: &memtable::VectorsFlush) -> Result<()> {
        for (name, rows, doomed) in f {
            let Some(c) = self.vectors.collections.read().get(name).cloned() else {
                tracing::warn!(collection = %name, "writes for a collection that no longer exists; dropped");
                continue;
            };
            // Remove first, then add: one row per id, and the WAL has every row whole.
            for chunk in doomed.chunks(4096) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                c.table.delete(&filter::str_in("id", &refs)).await?;
            }
            if !rows.is_empty() {
                let refs: Vec<&Stored<VectorRecord>> = rows.iter().map(|r| &**r).collect();
                let batches = refs
                    .chunks(crate::storage::tables::FLUSH_BATCH_ROWS)
                    .map(|ch| rows_to_batch(ch, &c.info))
                    .collect::<Result<Vec<_>>>()?;
                c.table.add(batches).execute().await?;
            }
        }
        Ok(())
    }
}

/// The vector subsystem's side of the engine contract: its tables are the
/// collections, created and found by name (`vec_<name>`).
pub(crate) struct VectorsSubsystem;

impl crate::engine::subsystem::Subsystem for VectorsSubsystem {
    fn name(&self) -> &'static str {
        "vectors"
    }
    fn fixed_tables(&self, _opts: &crate::Options) -> Vec<crate::engine::subsystem::TableSpec> {
        Vec::new()
    }
    fn owns_table(&self, name: &str) -> bool {
        is_collection_table(name).is_some()
    }
    fn flush<'a>(
        &'a self,
        engine: &'a Engine,
        set: &'a crate::storage::memtable::FlushSet,
    ) -> futures::future::BoxFuture<'a, Result<()>> {
        crate::engine::subsystem::flush_part::<VectorsMem, _, _>(set, move |f| engine.flush_vectors(f))
    }
    /// The ANN index, once a collection holds `Options::ann_index_threshold` rows.
    fn build_indexes<'a>(
        &'a self,
        ctx: &'a crate::engine::subsystem::MaintenanceCtx<'a>,
        name: &'a str,
        table: &'a Table,
    ) -> futures::future::BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let indices = table.list_indices().await?;
            if has_vector_index(&indices) || table.count_rows(None).await? < ctx.engine.opts().ann_index_threshold {
                return Ok(false);
            }
            let metric = info_from_schema(name, &*table.schema().await?)?.metric;
            let builder = lancedb::index::vector::IvfHnswSqIndexBuilder::default().distance_type(metric.lance());
            table.create_index(&["vector"], lancedb::index::Index::IvfHnswSq(builder)).execute().await?;
            Ok(true)
        })
    }
    fn scalar_index_columns(&self, _table: &str) -> &'static [&'static str] {
        &["id"]
    }
}

/// The collections among the tables found at open (`vec_<name>`).
pub(crate) async fn collections_from_tables(
    tables: Vec<(String, Table)>,
) -> Result<std::collections::HashMap<String, Arc<Collection>>> {
    let mut out = std::collections::HashMap::new();
    for (table_name, table) in tables {
        let Some(name) = is_collection_table(&table_name) else { continue };
        let info = info_from_schema(name, &*table.schema().await?)?;
        out.insert(name.to_string(), Arc::new(Collection { info, table }));
    }
    Ok(out)
}

/// The vector subsystem's own state.
pub(crate) struct VectorsState {
    /// Vector collections by name (each its own Lance table).
    pub collections: parking_lot::RwLock<std::collections::HashMap<String, Arc<Collection>>>,
}

impl VectorsState {
    pub fn tables(&self) -> Vec<(String, Table)> {
        let mut cols: Vec<_> = self.collections.read().values().cloned().collect();
        cols.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        cols.into_iter().map(|c| (format!("{COLLECTION_TABLE_PREFIX}{}", c.info.name), c.table.clone())).collect()
    }
}

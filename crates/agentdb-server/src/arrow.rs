//! Arrow IPC streams (`application/vnd.apache.arrow.stream`) beside JSON, as
//! LanceDB's remote API offers them.
//!
//! Results: a route that returns a list the engine has an Arrow layout for
//! (`agentdb::export`, shared with the C ABI and Python) answers with that
//! layout when the request's `Accept` prefers Arrow; JSON stays the default,
//! and an `Accept` naming neither is 406.
//!
//! Bulk inserts: a body sent with the Arrow content type is decoded into the
//! same request type the JSON body becomes, so everything after decoding —
//! scope checks, the engine call, its typed errors — is one code path. The
//! input layouts (`VECTOR_COLUMNS`, `MEMORY_COLUMNS`) use the export
//! layouts' column names and types. A body comes from anyone: before the
//! arrow-ipc reader sees it, `scan_stream` checks every frame against the
//! body's length (the reader allocates whatever a header claims), refuses
//! compressed or dictionary batches, and requires the end-of-stream marker,
//! so a truncated stream is refused rather than read short.

use std::collections::BTreeMap;
use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_ipc::MessageHeader;
use arrow_schema::{DataType, Schema};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::schema::{ObjectBuilder, Schema as ApiSchema, Type};
use utoipa::openapi::RefOr;

use crate::error::{ApiError, ApiResult};
use crate::routes::collections::VectorDto;
use crate::routes::memories::{MemoryTypeDto, StoreMemoryRequest};

/// The IANA media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The stream's frame prefix (since Arrow 0.15) and its end-of-stream marker.
const CONTINUATION: [u8; 4] = [0xFF; 4];

/// What a list route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Arrow,
}

/// The `Accept` header of a route that answers JSON or Arrow: Arrow when it
/// ranks above JSON, JSON when it ranks at least as high (so `*/*`, no
/// header or an empty one mean JSON), 406 when both are excluded.
pub struct ResultFormat(pub Format);

impl<S: Send + Sync> FromRequestParts<S> for ResultFormat {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        negotiate(&parts.headers).map(ResultFormat)
    }
}

/// One media range of an Accept header: type, subtype, quality in thousandths.
struct Range {
    kind: String,
    sub: String,
    q: u16,
}

fn ranges(headers: &HeaderMap) -> Vec<Range> {
    let mut out = Vec::new();
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let Some((kind, sub)) = media.split_once('/') else { continue };
            let mut q = 1000;
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        if let Ok(x) = v.trim().parse::<f32>() {
                            if (0.0..=1.0).contains(&x) {
                                q = (x * 1000.0).round() as u16;
                            }
                        }
                    }
                }
            }
            out.push(Range { kind: kind.trim().to_string(), sub: sub.trim().to_string(), q });
        }
    }
    out
}

/// The quality the most specific matching range gives `kind/sub` (RFC 9110 §12.5.1).
fn quality(ranges: &[Range], kind: &str, sub: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for r in ranges {
        let specificity = match (r.kind.as_str(), r.sub.as_str()) {
            (k, s) if k == kind && s == sub => 2,
            (k, "*") if k == kind => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        if best.is_none_or(|(sp, q)| specificity > sp || (specificity == sp && r.q > q)) {
            best = Some((specificity, r.q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

pub fn negotiate(headers: &HeaderMap) -> ApiResult<Format> {
    let ranges = ranges(headers);
    if ranges.is_empty() {
        return Ok(Format::Json);
    }
    let json = quality(&ranges, "application", "json");
    let arrow = quality(&ranges, "application", "vnd.apache.arrow.stream");
    match (json, arrow) {
        (0, 0) => Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this route answers application/json or {ARROW_STREAM}; the Accept header allows neither"),
        )),
        (j, a) if a > j => Ok(Format::Arrow),
        _ => Ok(Format::Json),
    }
}

/// Whether a request body is an Arrow stream (by its Content-Type; any
/// other or none is JSON, as before Arrow was offered).
pub fn is_arrow_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(ARROW_STREAM))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("writing the Arrow stream: {e}"))
}

/// One engine record batch as a complete IPC stream response.
pub fn stream_response(batch: agentdb::Result<RecordBatch>) -> ApiResult<Response> {
    let batch = batch?;
    let mut w = StreamWriter::try_new(Vec::new(), &batch.schema()).map_err(internal)?;
    w.write(&batch).map_err(internal)?;
    w.finish().map_err(internal)?;
    let bytes = w.into_inner().map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response())
}

fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("invalid Arrow IPC stream: {message}"))
}

/// Walks the frames of a stream without decoding them: each frame must lie
/// inside the body, the first must be the schema, record batches must be
/// uncompressed with every buffer inside their body, and the stream must end
/// with the end-of-stream marker and nothing after it.
fn scan_stream(bytes: &[u8]) -> ApiResult<()> {
    let at = |pos: usize| -> Option<[u8; 4]> { bytes.get(pos..pos + 4).and_then(|s| s.try_into().ok()) };
    let mut pos = 0usize;
    let mut index = 0usize;
    loop {
        let (Some(marker), Some(len)) = (at(pos), at(pos + 4)) else {
            return Err(bad(format!(
                "truncated at byte {pos}: no end-of-stream marker (a stream ends with 0xFFFFFFFF 0x00000000)"
            )));
        };
        if marker != CONTINUATION {
            return Err(bad(format!(
                "expected the continuation marker 0xFFFFFFFF at byte {pos} (the pre-0.15 format without it is not accepted)"
            )));
        }
        let len = i32::from_le_bytes(len);
        pos += 8;
        if len == 0 {
            if index == 0 {
                return Err(bad("the stream has no schema"));
            }
            if pos != bytes.len() {
                return Err(bad(format!("{} bytes after the end-of-stream marker", bytes.len() - pos)));
            }
            return Ok(());
        }
        let meta_end =
            usize::try_from(len).ok().and_then(|l| pos.checked_add(l)).filter(|&e| e <= bytes.len()).ok_or_else(
                || bad(format!("message {index} claims {len} metadata bytes; the body is truncated or corrupt")),
            )?;
        let message = arrow_ipc::root_as_message(&bytes[pos..meta_end])
            .map_err(|e| bad(format!("message {index} is not an IPC message: {e}")))?;
        let body_len = message.bodyLength();
        let end = usize::try_from(body_len)
            .ok()
            .and_then(|l| meta_end.checked_add(l))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                bad(format!("message {index} claims a {body_len}-byte body; the body is truncated or corrupt"))
            })?;
        match (index, message.header_type()) {
            (0, MessageHeader::Schema) => {}
            (0, other) => return Err(bad(format!("the first message must be the schema, not {other:?}"))),
            (_, MessageHeader::RecordBatch) => {
                let batch = message.header_as_record_batch().ok_or_else(|| bad("unreadable record batch header"))?;
                if batch.compression().is_some() {
                    return Err(bad("compressed record batches are not accepted; write the stream uncompressed"));
                }
                if batch.length() < 0
                    || batch.nodes().is_some_and(|n| n.iter().any(|n| n.length() < 0 || n.null_count() < 0))
                {
                    return Err(bad(format!("message {index} has a negative length")));
                }
                for b in batch.buffers().iter().flatten() {
                    let inside = b.offset() >= 0
                        && b.length() >= 0
                        && b.offset().checked_add(b.length()).is_some_and(|e| e <= body_len);
                    if !inside {
                        return Err(bad(format!("message {index} has a buffer outside its body")));
                    }
                }
            }
            (_, MessageHeader::DictionaryBatch) => {
                return Err(bad("dictionary-encoded columns are not accepted"));
            }
            (_, other) => return Err(bad(format!("unexpected {other:?} message at position {index}"))),
        }
        pos = end;
        index += 1;
    }
}

/// The kinds of input column, each with the Arrow types it accepts.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// utf8 or large_utf8.
    Text,
    /// uint64, or int64 with no negative value.
    Id,
    /// float32.
    Float,
    /// fixed_size_list, list or large_list of float32.
    Vector,
    /// utf8 or large_utf8 holding a JSON object of strings (the export
    /// layouts' metadata column); null = no metadata.
    Metadata,
}

impl Kind {
    fn accepts(self, t: &DataType) -> bool {
        let float_list = |f: &arrow_schema::FieldRef| f.data_type() == &DataType::Float32;
        match self {
            Kind::Text | Kind::Metadata => matches!(t, DataType::Utf8 | DataType::LargeUtf8),
            Kind::Id => matches!(t, DataType::UInt64 | DataType::Int64),
            Kind::Float => t == &DataType::Float32,
            Kind::Vector => match t {
                DataType::FixedSizeList(f, _) | DataType::List(f) | DataType::LargeList(f) => float_list(f),
                _ => false,
            },
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Text => "utf8 or large_utf8",
            Kind::Id => "uint64 or int64 (not negative)",
            Kind::Float => "float32",
            Kind::Vector => "fixed_size_list<float32>, list<float32> or large_list<float32>",
            Kind::Metadata => "utf8 or large_utf8 holding a JSON object of strings",
        }
    }
}

/// One column of an input layout. A `required` column must be present and
/// hold no null; an optional one may be absent or null (the JSON field's
/// default then applies).
pub struct Column {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn col(name: &'static str, kind: Kind, required: bool) -> Column {
    Column { name, kind, required }
}

/// `POST /v1/collections/{name}/vectors` (the k-NN hits layout's `id`,
/// `metadata` and `vector` columns).
pub const VECTOR_COLUMNS: &[Column] =
    &[col("id", Kind::Text, true), col("vector", Kind::Vector, true), col("metadata", Kind::Metadata, false)];

/// `POST /v1/memories/batch` (the memory layout's column names).
pub const MEMORY_COLUMNS: &[Column] = &[
    col("agent_id", Kind::Id, true),
    col("content", Kind::Text, true),
    col("memory_type", Kind::Text, false),
    col("embedding", Kind::Vector, false),
    col("importance", Kind::Float, false),
    col("ttl_ms", Kind::Id, false),
    col("metadata", Kind::Metadata, false),
];

fn check_schema(schema: &Schema, layout: &[Column]) -> ApiResult<()> {
    let names = || layout.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    for (i, f) in schema.fields().iter().enumerate() {
        let Some(c) = layout.iter().find(|c| c.name == f.name()) else {
            return Err(bad(format!("unknown column `{}`; the columns are {}", f.name(), names())));
        };
        if schema.fields().iter().take(i).any(|g| g.name() == f.name()) {
            return Err(bad(format!("column `{}` appears twice", f.name())));
        }
        if !c.kind.accepts(f.data_type()) {
            return Err(bad(format!("column `{}` is {}; expected {}", c.name, f.data_type(), c.kind.describe())));
        }
    }
    for c in layout.iter().filter(|c| c.required) {
        if schema.column_with_name(c.name).is_none() {
            return Err(bad(format!("missing column `{}` ({})", c.name, c.kind.describe())));
        }
    }
    Ok(())
}

/// Scans, checks the schema against `layout`, then decodes every batch (the
/// reader validates offsets and UTF-8). A panic inside the reader on input
/// the scan let through is a refusal of that body, never a dropped connection.
fn read_stream(bytes: &[u8], layout: &[Column]) -> ApiResult<Vec<RecordBatch>> {
    scan_stream(bytes)?;
    let decode = || -> ApiResult<Vec<RecordBatch>> {
        let reader = StreamReader::try_new(Cursor::new(bytes), None).map_err(bad)?;
        check_schema(&reader.schema(), layout)?;
        reader.map(|b| b.map_err(bad)).collect()
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .unwrap_or_else(|_| Err(bad("the reader rejected a malformed record batch")))
}

/// The rows of one batch, column by column; `offset` numbers rows across batches.
struct Rows<'a> {
    batch: &'a RecordBatch,
    offset: usize,
}

impl Rows<'_> {
    fn column(&self, name: &str) -> Option<&ArrayRef> {
        self.batch.column_by_name(name)
    }

    fn null_at(&self, name: &str, row: usize) -> ApiError {
        bad(format!("column `{name}` is null at row {}", self.offset + row))
    }

    fn texts(&self, name: &str) -> Vec<Option<&str>> {
        match self.column(name) {
            None => vec![None; self.batch.num_rows()],
            Some(a) => match a.data_type() {
                DataType::LargeUtf8 => a.as_string::<i64>().iter().collect(),
                _ => a.as_string::<i32>().iter().collect(),
            },
        }
    }

    fn required_texts(&self, name: &str) -> ApiResult<Vec<String>> {
        self.texts(name)
            .into_iter()
            .enumerate()
            .map(|(i, t)| t.map(str::to_string).ok_or_else(|| self.null_at(name, i)))
            .collect()
    }

    fn ids(&self, name: &str) -> ApiResult<Vec<Option<u64>>> {
        let Some(a) = self.column(name) else { return Ok(vec![None; self.batch.num_rows()]) };
        match a.data_type() {
            DataType::Int64 => a
                .as_primitive::<Int64Type>()
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(v) => u64::try_from(v)
                        .map(Some)
                        .map_err(|_| bad(format!("column `{name}` is negative at row {}", self.offset + i))),
                    None => Ok(None),
                })
                .collect(),
            _ => Ok(a.as_primitive::<UInt64Type>().iter().collect()),
        }
    }

    fn floats(&self, name: &str) -> Vec<Option<f32>> {
        match self.column(name) {
            None => vec![None; self.batch.num_rows()],
            Some(a) => a.as_primitive::<Float32Type>().iter().collect(),
        }
    }

    fn vectors(&self, name: &str) -> ApiResult<Vec<Option<Vec<f32>>>> {
        let Some(a) = self.column(name) else { return Ok(vec![None; self.batch.num_rows()]) };
        let lists: Vec<Option<ArrayRef>> = match a.data_type() {
            DataType::FixedSizeList(..) => a.as_fixed_size_list().iter().collect(),
            DataType::LargeList(_) => a.as_list::<i64>().iter().collect(),
            _ => a.as_list::<i32>().iter().collect(),
        };
        lists
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let Some(v) = v else { return Ok(None) };
                if v.null_count() > 0 {
                    return Err(bad(format!("column `{name}` has a null component at row {}", self.offset + i)));
                }
                Ok(Some(v.as_primitive::<Float32Type>().values().to_vec()))
            })
            .collect()
    }

    fn metadata(&self, name: &str) -> ApiResult<Vec<BTreeMap<String, String>>> {
        self.texts(name)
            .into_iter()
            .enumerate()
            .map(|(i, t)| match t {
                None => Ok(BTreeMap::new()),
                Some(json) => serde_json::from_str(json).map_err(|e| {
                    bad(format!("column `{name}` at row {}: not a JSON object of string values: {e}", self.offset + i))
                }),
            })
            .collect()
    }
}

fn each_batch<T>(
    bytes: &[u8],
    layout: &[Column],
    mut rows_of: impl FnMut(&Rows<'_>, &mut Vec<T>) -> ApiResult<()>,
) -> ApiResult<Vec<T>> {
    let batches = read_stream(bytes, layout)?;
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    let mut offset = 0;
    for batch in &batches {
        rows_of(&Rows { batch, offset }, &mut out)?;
        offset += batch.num_rows();
    }
    Ok(out)
}

/// The vectors of an upsert body (`VECTOR_COLUMNS`).
pub fn vectors_from_stream(bytes: &[u8]) -> ApiResult<Vec<VectorDto>> {
    each_batch(bytes, VECTOR_COLUMNS, |rows, out| {
        let ids = rows.required_texts("id")?;
        let vectors = rows.vectors("vector")?;
        let metadata = rows.metadata("metadata")?;
        for (i, ((id, vector), metadata)) in ids.into_iter().zip(vectors).zip(metadata).enumerate() {
            let vector = vector.ok_or_else(|| rows.null_at("vector", i))?;
            out.push(VectorDto { id, vector, metadata });
        }
        Ok(())
    })
}

/// The memories of a batch-store body (`MEMORY_COLUMNS`).
pub fn memories_from_stream(bytes: &[u8]) -> ApiResult<Vec<StoreMemoryRequest>> {
    each_batch(bytes, MEMORY_COLUMNS, |rows, out| {
        let agents = rows.ids("agent_id")?;
        let contents = rows.required_texts("content")?;
        let types = rows.texts("memory_type");
        let embeddings = rows.vectors("embedding")?;
        let importance = rows.floats("importance");
        let ttls = rows.ids("ttl_ms")?;
        let metadata = rows.metadata("metadata")?;
        let mut metadata = metadata.into_iter();
        for (i, content) in contents.into_iter().enumerate() {
            let agent_id = agents[i].ok_or_else(|| rows.null_at("agent_id", i))?;
            let memory_type = match types[i] {
                None => agentdb::defaults::MEMORY_TYPE.into(),
                Some(t) => serde_json::from_value::<MemoryTypeDto>(serde_json::Value::String(t.to_string()))
                    .map_err(|_| {
                        bad(format!(
                            "column `memory_type` at row {}: unknown type {t:?} (episodic, semantic, procedural, working)",
                            rows.offset + i
                        ))
                    })?,
            };
            out.push(StoreMemoryRequest {
                agent_id,
                memory_type,
                content,
                embedding: embeddings[i].clone(),
                importance: importance[i],
                ttl_ms: ttls[i],
                metadata: metadata.next().unwrap_or_default(),
            });
        }
        Ok(())
    })
}

/// OpenAPI: an Arrow IPC stream body (binary), described in words.
fn stream_schema(description: String) -> RefOr<ApiSchema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type(ARROW_STREAM)
        .description(Some(description))
        .into()
}

fn type_name(t: &DataType) -> String {
    match t {
        DataType::FixedSizeList(f, _) => format!("fixed_size_list<{}>[dimension]", type_name(f.data_type())),
        other => other.to_string().to_lowercase(),
    }
}

/// The engine's layout, as the words of an OpenAPI description.
fn layout_doc(what: &str, schema: &Schema) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            format!("`{}` {}{}", f.name(), type_name(f.data_type()), if f.is_nullable() { " (nullable)" } else { "" })
        })
        .collect();
    let metadata =
        if schema.column_with_name("metadata").is_some() { "; `metadata` is a JSON object string" } else { "" };
    format!(
        "Arrow IPC stream of {what} (`Accept: {ARROW_STREAM}`), in the engine's layout (`agentdb::export`, as the C \
         ABI's and Python's Arrow results){metadata}. Columns: {}.",
        cols.join(", ")
    )
}

fn input_doc(what: &str, layout: &[Column]) -> String {
    let cols: Vec<String> = layout
        .iter()
        .map(|c| {
            format!("`{}` {}{}", c.name, c.kind.describe(), if c.required { "" } else { ", optional and nullable" })
        })
        .collect();
    format!(
        "{what} as an uncompressed Arrow IPC stream (`Content-Type: {ARROW_STREAM}`), one row per item, any \
         number of record batches. Columns: {}. Other columns are refused; validation and errors are the JSON body's.",
        cols.join(", ")
    )
}

macro_rules! stream_schema_type {
    ($name:ident, $doc:expr) => {
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<ApiSchema> {
                stream_schema($doc)
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

stream_schema_type!(StatesStream, layout_doc("states, in the JSON list's order", &agentdb::export::states_schema()));
stream_schema_type!(
    ScoredMemoriesStream,
    layout_doc("scored memories, best first", &agentdb::export::scored_memories_schema(1))
);
stream_schema_type!(ChunkHitsStream, layout_doc("chunk hits, best first", &agentdb::export::chunk_hits_schema()));
stream_schema_type!(
    VectorHitsStream,
    layout_doc("vector hits, nearest first (vectors always included)", &agentdb::export::vector_hits_schema(1))
);
stream_schema_type!(VectorsStream, input_doc("The vectors to upsert", VECTOR_COLUMNS));
stream_schema_type!(MemoriesStream, input_doc("The memories to store", MEMORY_COLUMNS));

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> ApiResult<Format> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        negotiate(&h)
    }

    #[test]
    fn accept_prefers_json_unless_arrow_ranks_higher() {
        assert_eq!(negotiate(&HeaderMap::new()).ok(), Some(Format::Json));
        assert_eq!(accept("*/*").ok(), Some(Format::Json));
        assert_eq!(accept("").ok(), Some(Format::Json));
        assert_eq!(accept(ARROW_STREAM).ok(), Some(Format::Arrow));
        assert_eq!(accept("application/vnd.apache.arrow.stream, application/json").ok(), Some(Format::Json));
        assert_eq!(accept("application/json;q=0.5, application/vnd.apache.arrow.stream").ok(), Some(Format::Arrow));
        assert_eq!(accept("application/*").ok(), Some(Format::Json));
        assert_eq!(accept("Application/VND.Apache.Arrow.Stream").ok(), Some(Format::Arrow));
        assert_eq!(accept("application/vnd.apache.arrow.stream, */*;q=0.1").ok(), Some(Format::Arrow));
        // The most specific range decides: JSON excluded outright, Arrow by the wildcard.
        assert_eq!(accept("application/json;q=0, */*").ok(), Some(Format::Arrow));
        for refused in ["text/html", "application/json;q=0", "application/xml, text/*"] {
            let e = accept(refused).expect_err(refused);
            assert_eq!((e.status, e.code), (StatusCode::NOT_ACCEPTABLE, "not_acceptable"), "{refused}");
        }
    }

    #[test]
    fn scan_refuses_frames_that_leave_the_body() {
        let schema =
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("id", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![std::sync::Arc::new(arrow_array::StringArray::from(vec!["a", "b"])) as ArrayRef],
        )
        .expect("batch");
        let mut w = StreamWriter::try_new(Vec::new(), &schema).expect("writer");
        w.write(&batch).expect("write");
        w.finish().expect("finish");
        let bytes = w.into_inner().expect("bytes");
        scan_stream(&bytes).expect("a whole stream scans");
        for cut in 0..bytes.len() {
            assert!(scan_stream(&bytes[..cut]).is_err(), "cut at {cut} accepted");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(scan_stream(&extra).is_err());
        // A metadata length past the end is refused before anything is allocated.
        let mut huge = bytes.clone();
        huge[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(scan_stream(&huge).is_err());
    }
}

//! Item routes (SPEC.md, "Items"): JSON values addressed by a namespace (a
//! list of labels) and a key. Labels may hold '/', '?', spaces or quotes,
//! so an address never travels in a URL: every route is a `POST` under
//! `/v1/items/` with a JSON body, one route per engine call.
//!
//! Scope: items belong to no agent, so a scoped key reaches only the
//! namespaces whose **first label** is its `namespace` or `agent:<id>` for
//! an agent id it is scoped to (decimal, no leading zeros). An address, a
//! search prefix or a namespace-listing prefix is checked before the engine
//! is called; a prefix must name that first label (an empty prefix, or `*`
//! there, would reach every namespace). A request naming one address out of
//! reach is refused whole. Sweeping expired items touches every namespace,
//! so it needs an unscoped key.
//!
//! The request and response types are also the CLI's `agentdb item …
//! --request` JSON, so both surfaces take and print the same shapes.

use std::collections::BTreeMap;

use agentdb::{Item, ItemPage, ItemPut, ItemQuery, ItemWrite, ItemWriteReport, NamespaceQuery};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::JsonBody;
use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// An item's address: its namespace (1–64 labels of 1–1,024 bytes of UTF-8
/// without NUL) and its key (0–1,024 bytes of UTF-8 without NUL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemAddress {
    #[schema(min_items = 1, max_items = 64)]
    pub namespace: Vec<String>,
    pub key: String,
}

/// Inserts the item or replaces it whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutItemRequest {
    /// 1–64 labels of 1–1,024 bytes of UTF-8 without NUL.
    #[schema(min_items = 1, max_items = 64)]
    pub namespace: Vec<String>,
    /// 0–1,024 bytes of UTF-8 without NUL.
    pub key: String,
    /// Any JSON value.
    pub value: Value,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Time to live from this put, in milliseconds (≥ 1); absent: forever.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
}

impl From<PutItemRequest> for ItemPut {
    fn from(r: PutItemRequest) -> Self {
        ItemPut { namespace: r.namespace, key: r.key, value: r.value, metadata: r.metadata, ttl_ms: r.ttl_ms }
    }
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemDto {
    pub namespace: Vec<String>,
    pub key: String,
    /// Any JSON value.
    pub value: Value,
    pub metadata: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When it stops being visible (null: never).
    pub expires_at_ms: Option<i64>,
    /// The time to live it was written with (null: none).
    pub ttl_ms: Option<u64>,
}

impl From<Item> for ItemDto {
    fn from(i: Item) -> Self {
        ItemDto {
            namespace: i.namespace,
            key: i.key,
            value: i.value,
            metadata: i.metadata,
            created_at_ms: i.created_at_ms,
            updated_at_ms: i.updated_at_ms,
            expires_at_ms: i.expires_at_ms,
            ttl_ms: i.ttl_ms,
        }
    }
}

/// One operation of a batch: `{"put": {...}}` or `{"delete": {"namespace", "key"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemWriteDto {
    Put(PutItemRequest),
    Delete(ItemAddress),
}

impl From<ItemWriteDto> for ItemWrite {
    fn from(w: ItemWriteDto) -> Self {
        match w {
            ItemWriteDto::Put(p) => ItemWrite::Put(p.into()),
            ItemWriteDto::Delete(a) => ItemWrite::Delete { namespace: a.namespace, key: a.key },
        }
    }
}

/// Applied in order as one log record: all or nothing; the last operation
/// on an address wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteItemsRequest {
    /// 1..=100000 operations.
    pub writes: Vec<ItemWriteDto>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WriteItemsResponse {
    /// Puts applied.
    pub put: usize,
    /// Live items deleted (a delete of an absent or expired item deletes nothing).
    pub deleted: usize,
}

impl From<ItemWriteReport> for WriteItemsResponse {
    fn from(r: ItemWriteReport) -> Self {
        WriteItemsResponse { put: r.put, deleted: r.deleted }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeleteItemResponse {
    /// Whether a live item was deleted.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetItemsRequest {
    /// 0..=100000 addresses.
    pub addresses: Vec<ItemAddress>,
    /// Move the expiry of each found item with a TTL to now + its TTL (a
    /// logged write; ignored for read-only keys, which never write).
    #[serde(default)]
    pub refresh_ttl: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetItemsResponse {
    /// One entry per address, in order: the live item, or null.
    pub items: Vec<Option<ItemDto>>,
}

fn default_item_search_limit() -> usize {
    agentdb::defaults::ITEM_SEARCH_LIMIT
}

fn default_namespace_list_limit() -> usize {
    agentdb::defaults::NAMESPACE_LIST_LIMIT
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchItemsRequest {
    /// Labels the namespace starts with, whole labels only (empty: every item).
    #[serde(default)]
    #[schema(max_items = 64)]
    pub prefix: Vec<String>,
    /// A value filter (an object; SPEC.md "Value filters": `$eq`, `$ne`,
    /// `$gt`, `$gte`, `$lt`, `$lte`, nested objects, arrays); null: none.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Every entry must equal the item's metadata value.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// 1..=10000; default: the engine's (`item_search_limit`, 10).
    #[serde(default = "default_item_search_limit")]
    pub limit: usize,
    /// 0..=1000000 matches skipped first.
    #[serde(default)]
    pub offset: usize,
    /// As for `/v1/items/get`.
    #[serde(default)]
    pub refresh_ttl: bool,
}

impl From<SearchItemsRequest> for ItemQuery {
    fn from(r: SearchItemsRequest) -> Self {
        ItemQuery {
            prefix: r.prefix,
            filter: r.filter,
            metadata: r.metadata,
            limit: r.limit,
            offset: r.offset,
            refresh_ttl: r.refresh_ttl,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchItemsResponse {
    /// Most recently updated first; ties by namespace, then key.
    pub items: Vec<ItemDto>,
    /// Every match, not only this page.
    pub total: usize,
}

impl From<ItemPage> for SearchItemsResponse {
    fn from(p: ItemPage) -> Self {
        SearchItemsResponse { items: p.items.into_iter().map(ItemDto::from).collect(), total: p.total }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListNamespacesRequest {
    /// First labels to match (`*` matches any label).
    #[serde(default)]
    #[schema(max_items = 64)]
    pub prefix: Vec<String>,
    /// Last labels to match (`*` matches any label).
    #[serde(default)]
    #[schema(max_items = 64)]
    pub suffix: Vec<String>,
    /// Cut each namespace to its first N labels (≥ 1), then deduplicate; absent: whole namespaces.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// 1..=10000; default: the engine's (`namespace_list_limit`, 100).
    #[serde(default = "default_namespace_list_limit")]
    pub limit: usize,
    #[serde(default)]
    pub offset: usize,
}

impl From<ListNamespacesRequest> for NamespaceQuery {
    fn from(r: ListNamespacesRequest) -> Self {
        NamespaceQuery { prefix: r.prefix, suffix: r.suffix, max_depth: r.max_depth, limit: r.limit, offset: r.offset }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListNamespacesResponse {
    /// Sorted label by label (bytewise).
    pub namespaces: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SweepItemsResponse {
    /// Expired items deleted.
    pub deleted: usize,
}

/// Puts one item (insert or replace whole) and returns it as stored.
#[utoipa::path(post, path = "/v1/items/put", tag = "items", request_body = PutItemRequest,
    responses((status = 200, body = ItemDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn put_item(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<PutItemRequest>,
) -> ApiResult<Json<ItemDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_item_namespace(&req.namespace)?;
    let item = st.call(move |db| db.put_item(req.into())).await?;
    Ok(Json(item.into()))
}

/// Deletes one item; `deleted` says whether a live item was there.
#[utoipa::path(post, path = "/v1/items/delete", tag = "items", request_body = ItemAddress,
    responses((status = 200, body = DeleteItemResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn delete_item(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ItemAddress>,
) -> ApiResult<Json<DeleteItemResponse>> {
    caller.require(Role::ReadWrite)?;
    caller.check_item_namespace(&req.namespace)?;
    let deleted = st.call(move |db| db.delete_item(&req.namespace, &req.key)).await?;
    Ok(Json(DeleteItemResponse { deleted }))
}

/// Puts and deletes in one batch, all or nothing.
#[utoipa::path(post, path = "/v1/items/write", tag = "items", request_body = WriteItemsRequest,
    responses((status = 200, body = WriteItemsResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn write_items(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<WriteItemsRequest>,
) -> ApiResult<Json<WriteItemsResponse>> {
    caller.require(Role::ReadWrite)?;
    for w in &req.writes {
        let namespace = match w {
            ItemWriteDto::Put(p) => &p.namespace,
            ItemWriteDto::Delete(a) => &a.namespace,
        };
        caller.check_item_namespace(namespace)?;
    }
    let writes: Vec<ItemWrite> = req.writes.into_iter().map(ItemWrite::from).collect();
    let report = st.call(move |db| db.write_items(writes)).await?;
    Ok(Json(report.into()))
}

/// The live item at each address (null: absent, deleted or expired), in order.
#[utoipa::path(post, path = "/v1/items/get", tag = "items", request_body = GetItemsRequest,
    responses((status = 200, body = GetItemsResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn get_items(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<GetItemsRequest>,
) -> ApiResult<Json<GetItemsResponse>> {
    caller.require(Role::ReadOnly)?;
    for a in &req.addresses {
        caller.check_item_namespace(&a.namespace)?;
    }
    // Refreshing a TTL is a write: a read-only key reads without it.
    let refresh_ttl = req.refresh_ttl && !caller.is_read_only();
    let addresses: Vec<(Vec<String>, String)> = req.addresses.into_iter().map(|a| (a.namespace, a.key)).collect();
    let items = st.call(move |db| db.get_items(&addresses, refresh_ttl)).await?;
    Ok(Json(GetItemsResponse { items: items.into_iter().map(|i| i.map(ItemDto::from)).collect() }))
}

/// The live items under a namespace prefix that pass the filters, a page at a time.
#[utoipa::path(post, path = "/v1/items/search", tag = "items", request_body = SearchItemsRequest,
    responses((status = 200, body = SearchItemsResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn search_items(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(mut req): JsonBody<SearchItemsRequest>,
) -> ApiResult<Json<SearchItemsResponse>> {
    caller.require(Role::ReadOnly)?;
    caller.check_item_namespace(&req.prefix)?;
    req.refresh_ttl &= !caller.is_read_only();
    let query: ItemQuery = req.into();
    let page = st.call(move |db| db.search_items(&query)).await?;
    Ok(Json(page.into()))
}

/// The namespaces holding live items that match a prefix and suffix.
#[utoipa::path(post, path = "/v1/items/namespaces", tag = "items", request_body = ListNamespacesRequest,
    responses((status = 200, body = ListNamespacesResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn list_namespaces(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ListNamespacesRequest>,
) -> ApiResult<Json<ListNamespacesResponse>> {
    caller.require(Role::ReadOnly)?;
    caller.check_item_namespace(&req.prefix)?;
    let query: NamespaceQuery = req.into();
    let namespaces = st.call(move |db| db.list_item_namespaces(&query)).await?;
    Ok(Json(ListNamespacesResponse { namespaces }))
}

/// Deletes every expired item (they are invisible already); unscoped
/// read-write or admin keys only.
#[utoipa::path(post, path = "/v1/items/sweep", tag = "items",
    responses((status = 200, body = SweepItemsResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn sweep_items(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<SweepItemsResponse>> {
    caller.require(Role::ReadWrite)?;
    caller.require_unscoped("sweeping expired items touches every namespace")?;
    let deleted = st.call(|db| db.sweep_expired_items()).await?;
    Ok(Json(SweepItemsResponse { deleted }))
}

//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//! Committed as `crates/agentdb-server/openapi.json`; a test regenerates it
//! and fails on any difference (`UPDATE_OPENAPI=1` rewrites the file).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::routes::{admin, collections, documents, items, memories, states};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("api-key"))));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AgentDB",
        description = "AgentDB over HTTP: agent state, memories, documents (RAG), vector collections and items \
(a key-value store of JSON values). Every error is `{\"code\", \"message\"}` with the engine's error code; see SPEC.md for the semantics of each operation."
    ),
    paths(
        crate::healthz, crate::readyz, crate::metrics_text, crate::routes::defaults,
        states::save_state, states::state_history_page, states::load_state_by_key, states::load_state,
        states::load_state_version, states::query_history,
        states::create_snapshot, states::list_snapshots, states::restore_snapshot, states::delete_agent,
        memories::store_memory, memories::store_memories, memories::get_memory, memories::update_memory,
        memories::delete_memory, memories::pin_memory, memories::unpin_memory, memories::list_memories,
        memories::retrieve, memories::forget, memories::consolidate, memories::embed,
        documents::index_document, documents::get_document, documents::delete_document, documents::search_documents,
        collections::create_collection, collections::list_collections, collections::get_collection,
        collections::upsert_vectors, collections::get_vector, collections::delete_vector,
        collections::search_vectors, collections::build_index,
        items::put_item, items::delete_item, items::write_items, items::get_items, items::search_items,
        items::list_namespaces, items::sweep_items,
        admin::stats, admin::flush, admin::compact, admin::gc,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "states", description = "Versioned agent state, snapshots and rollback"),
        (name = "memories", description = "Typed memories: store, retrieve, forget, pin, consolidate"),
        (name = "documents", description = "RAG: index documents, semantic / full-text / hybrid search"),
        (name = "collections", description = "Named vector collections: upsert, k-NN and range search"),
        (name = "items", description = "Items: JSON values addressed by a namespace (a list of labels) and a key, \
with upsert, TTL, value filters and namespace listing. Labels may hold '/', so addresses travel in JSON bodies and \
every route is a POST. Reads need a read-only key or better, writes read-write, sweep an unscoped read-write or \
admin key. A scoped key reaches only namespaces whose first label is its `namespace` or `agent:<id>` for one of its \
agents (decimal, no leading zeros); a search or listing by such a key must name that first label in its prefix."),
        (name = "admin", description = "Stats, flush, compaction, garbage collection (admin keys)"),
        (name = "service", description = "Liveness, readiness, metrics"),
    )
)]
pub struct ApiDoc;

pub fn document_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

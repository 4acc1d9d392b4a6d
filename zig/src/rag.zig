//! Documents for retrieval-augmented generation (SPEC.md, "Documents"):
//! indexed as overlapping chunks, found by meaning, by BM25, or both fused.
const std = @import("std");
const Allocator = std.mem.Allocator;
const c = @import("c.zig").c;
const convert = @import("convert.zig");
const errors = @import("errors.zig");
const Context = convert.Context;
const Metadata = convert.Metadata;
const Owned = convert.Owned;
const Error = errors.Error;
const Diagnostics = errors.Diagnostics;

pub const NewDocument = struct {
    /// 1–256 bytes, no '#'. Indexing an existing id replaces that document.
    doc_id: []const u8,
    title: ?[]const u8 = null,
    /// Non-empty, at most 64 MiB.
    text: []const u8,
    metadata: Metadata = &.{},
};

pub const DocumentInfo = struct {
    doc_id: []const u8,
    title: []const u8,
    metadata: Metadata,
    chunk_count: u32,
    char_count: u64,
    indexed_at_ms: i64,
};

pub const ChunkHit = struct {
    /// "doc_id#position".
    chunk_id: []const u8,
    doc_id: []const u8,
    content: []const u8,
    position: u32,
    score: f32,
    /// Character offsets of the chunk in its document: [start_char, end_char).
    start_char: u64,
    end_char: u64,
};

/// Restricts a search; the default restricts nothing.
pub const DocFilter = struct {
    /// Only these documents; empty: all.
    doc_ids: []const []const u8 = &.{},
    /// Every entry must equal the document's metadata value.
    metadata: Metadata = &.{},
};

pub const Fusion = union(enum) {
    /// alpha·semantic + (1 − alpha)·full_text, each min-max normalised; alpha in 0..=1.
    weighted: f32,
    /// Reciprocal rank fusion: Σ 1/(60 + rank).
    reciprocal_rank,
};

pub const Rag = struct {
    ctx: Context,

    /// This subsystem reporting failures' messages into `diagnostics`.
    pub fn withDiagnostics(self: Rag, diagnostics: *Diagnostics) Rag {
        var copy = self;
        copy.ctx.diagnostics = diagnostics;
        return copy;
    }

    /// Chunks, embeds (with the database's model) and stores a document,
    /// replacing every chunk of an earlier version.
    pub fn indexDocument(self: Rag, document: NewDocument) (Error || Allocator.Error)!Owned(DocumentInfo) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const title: ?[*:0]const u8 = if (document.title) |t| (try self.ctx.cString(s, t)).ptr else null;
        var raw: [*c]c.AgentDbDocumentInfo = null;
        try self.ctx.check(c.agent_db_index_document(
            self.ctx.handle,
            try self.ctx.cString(s, document.doc_id),
            title,
            try self.ctx.cString(s, document.text),
            try convert.metadataJson(s, document.metadata),
            &raw,
        ));
        defer c.agent_db_document_info_free(raw);
        return self.ownInfo(raw);
    }

    pub fn getDocument(self: Rag, doc_id: []const u8) (Error || Allocator.Error)!Owned(DocumentInfo) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        var raw: [*c]c.AgentDbDocumentInfo = null;
        try self.ctx.check(c.agent_db_get_document(self.ctx.handle, try self.ctx.cString(scratch.allocator(), doc_id), &raw));
        defer c.agent_db_document_info_free(raw);
        return self.ownInfo(raw);
    }

    pub fn deleteDocument(self: Rag, doc_id: []const u8) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        try self.ctx.check(c.agent_db_delete_document(self.ctx.handle, try self.ctx.cString(scratch.allocator(), doc_id)));
    }

    /// Chunks nearest in meaning to `query` (embedded with the model), best first.
    pub fn semanticSearch(self: Rag, query: []const u8, limit: u32, filter: DocFilter) (Error || Allocator.Error)!Owned([]const ChunkHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_filter = try self.cFilter(s, filter);
        var list: [*c]c.AgentDbChunkHitList = null;
        try self.ctx.check(c.agent_db_semantic_search(self.ctx.handle, try self.ctx.cString(s, query), limit, filterPtr(&c_filter), &list));
        defer c.agent_db_chunk_hit_list_free(list);
        return self.ownHits(list);
    }

    /// Chunks nearest to a query vector of the memory dimension, best first.
    pub fn semanticSearchVector(self: Rag, vector: []const f32, limit: u32, filter: DocFilter) (Error || Allocator.Error)!Owned([]const ChunkHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_filter = try self.cFilter(scratch.allocator(), filter);
        var list: [*c]c.AgentDbChunkHitList = null;
        try self.ctx.check(c.agent_db_semantic_search_vector(
            self.ctx.handle,
            convert.itemsPtr(f32, vector),
            vector.len,
            limit,
            filterPtr(&c_filter),
            &list,
        ));
        defer c.agent_db_chunk_hit_list_free(list);
        return self.ownHits(list);
    }

    /// BM25 full-text search over chunk text, best first.
    pub fn fullTextSearch(self: Rag, query: []const u8, limit: u32, filter: DocFilter) (Error || Allocator.Error)!Owned([]const ChunkHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_filter = try self.cFilter(s, filter);
        var list: [*c]c.AgentDbChunkHitList = null;
        try self.ctx.check(c.agent_db_full_text_search(self.ctx.handle, try self.ctx.cString(s, query), limit, filterPtr(&c_filter), &list));
        defer c.agent_db_chunk_hit_list_free(list);
        return self.ownHits(list);
    }

    /// Semantic and full-text results fused. `vector` null: `query` is
    /// embedded with the model.
    pub fn hybridSearch(
        self: Rag,
        query: []const u8,
        vector: ?[]const f32,
        limit: u32,
        fusion: Fusion,
        filter: DocFilter,
    ) (Error || Allocator.Error)!Owned([]const ChunkHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_filter = try self.cFilter(s, filter);
        const v: []const f32 = vector orelse &.{};
        const c_fusion = cFusion(fusion);
        var list: [*c]c.AgentDbChunkHitList = null;
        try self.ctx.check(c.agent_db_hybrid_search(
            self.ctx.handle,
            try self.ctx.cString(s, query),
            convert.itemsPtr(f32, v),
            v.len,
            limit,
            c_fusion.fusion,
            c_fusion.alpha,
            filterPtr(&c_filter),
            &list,
        ));
        defer c.agent_db_chunk_hit_list_free(list);
        return self.ownHits(list);
    }

    /// `hybridSearch` as one Arrow C stream, read in place; release it with
    /// `stream.release.?(&stream)`.
    pub fn hybridSearchArrow(
        self: Rag,
        query: []const u8,
        vector: ?[]const f32,
        limit: u32,
        fusion: Fusion,
        filter: DocFilter,
    ) (Error || Allocator.Error)!c.struct_ArrowArrayStream {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_filter = try self.cFilter(s, filter);
        const v: []const f32 = vector orelse &.{};
        const c_fusion = cFusion(fusion);
        var stream: c.struct_ArrowArrayStream = undefined;
        try self.ctx.check(c.agent_db_hybrid_search_arrow(
            self.ctx.handle,
            try self.ctx.cString(s, query),
            convert.itemsPtr(f32, v),
            v.len,
            limit,
            c_fusion.fusion,
            c_fusion.alpha,
            filterPtr(&c_filter),
            &stream,
        ));
        return stream;
    }

    fn ownInfo(self: Rag, raw: [*c]const c.AgentDbDocumentInfo) (Error || Allocator.Error)!Owned(DocumentInfo) {
        var owned = try Owned(DocumentInfo).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        owned.value = .{
            .doc_id = try convert.dupeString(arena, raw.*.doc_id),
            .title = try convert.dupeString(arena, raw.*.title),
            .metadata = try convert.parseMetadata(arena, raw.*.metadata_json),
            .chunk_count = raw.*.chunk_count,
            .char_count = raw.*.char_count,
            .indexed_at_ms = raw.*.indexed_at_ms,
        };
        return owned;
    }

    fn ownHits(self: Rag, list: [*c]const c.AgentDbChunkHitList) Allocator.Error!Owned([]const ChunkHit) {
        var owned = try Owned([]const ChunkHit).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const hits = try arena.alloc(ChunkHit, list.*.len);
        for (hits, 0..) |*hit, i| {
            const raw = &list.*.items[i];
            hit.* = .{
                .chunk_id = try convert.dupeString(arena, raw.chunk_id),
                .doc_id = try convert.dupeString(arena, raw.doc_id),
                .content = try convert.dupeString(arena, raw.content),
                .position = raw.position,
                .score = raw.score,
                .start_char = raw.start_char,
                .end_char = raw.end_char,
            };
        }
        owned.value = hits;
        return owned;
    }

    /// The C filter, or null when `filter` restricts nothing.
    fn cFilter(self: Rag, scratch: Allocator, filter: DocFilter) (Error || Allocator.Error)!?c.AgentDbDocFilter {
        if (filter.doc_ids.len == 0 and filter.metadata.len == 0) return null;
        const doc_ids = try self.ctx.cStrings(scratch, filter.doc_ids);
        return .{
            .doc_ids = convert.itemsPtr([*c]const u8, doc_ids),
            .doc_ids_len = doc_ids.len,
            .metadata_json = try convert.metadataJson(scratch, filter.metadata),
        };
    }
};

fn filterPtr(filter: *const ?c.AgentDbDocFilter) [*c]const c.AgentDbDocFilter {
    return if (filter.*) |*f| f else null;
}

fn cFusion(fusion: Fusion) struct { fusion: c.AgentDbFusion, alpha: f32 } {
    return switch (fusion) {
        .weighted => |alpha| .{ .fusion = c.AGENT_DB_FUSION_WEIGHTED, .alpha = alpha },
        .reciprocal_rank => .{ .fusion = c.AGENT_DB_FUSION_RRF, .alpha = 0 },
    };
}

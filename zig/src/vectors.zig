//! Vector collections (SPEC.md, "Vector collections"): named sets of
//! fixed-dimension vectors with metadata, searched by k-NN or radius.
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

pub const Metric = enum(u32) {
    l2 = c.AGENT_DB_METRIC_L2,
    cosine = c.AGENT_DB_METRIC_COSINE,
    dot = c.AGENT_DB_METRIC_DOT,
};

pub const CollectionInfo = struct {
    name: []const u8,
    dimension: u32,
    metric: Metric,
};

/// A vector with its id and metadata: the input of `insertVectors`, the
/// output of `getVector`.
pub const VectorRecord = struct {
    /// 1–256 bytes; inserting an existing id replaces it.
    id: []const u8,
    vector: []const f32,
    metadata: Metadata = &.{},
};

pub const VectorHit = struct {
    id: []const u8,
    /// In the metric's units: Euclidean for l2, 1 − cos for cosine, 1 − dot for dot.
    distance: f32,
    metadata: Metadata,
    vector: []const f32,
};

/// Search knobs; the default is exact results over unindexed rows.
pub const SearchOptions = struct {
    /// Every entry must equal the vector's metadata value.
    metadata: Metadata = &.{},
    /// IVF partitions to probe; 0: LanceDB's default.
    nprobes: u32 = 0,
    /// Re-rank refine_factor × k candidates exactly; 0: off.
    refine_factor: u32 = 0,
};

pub const Vectors = struct {
    ctx: Context,

    /// This subsystem reporting failures' messages into `diagnostics`.
    pub fn withDiagnostics(self: Vectors, diagnostics: *Diagnostics) Vectors {
        var copy = self;
        copy.ctx.diagnostics = diagnostics;
        return copy;
    }

    /// Creates a collection of `dimension`-float vectors compared by `metric`.
    pub fn createCollection(self: Vectors, name: []const u8, dimension: u32, metric: Metric) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        try self.ctx.check(c.agent_db_create_collection(
            self.ctx.handle,
            try self.ctx.cString(scratch.allocator(), name),
            dimension,
            @intFromEnum(metric),
        ));
    }

    /// Every collection, by name.
    pub fn listCollections(self: Vectors) (Error || Allocator.Error)!Owned([]const CollectionInfo) {
        var list: [*c]c.AgentDbCollectionList = null;
        try self.ctx.check(c.agent_db_list_collections(self.ctx.handle, &list));
        defer c.agent_db_collection_list_free(list);
        var owned = try Owned([]const CollectionInfo).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const infos = try arena.alloc(CollectionInfo, list.*.len);
        for (infos, 0..) |*info, i| {
            const raw = &list.*.items[i];
            info.* = .{
                .name = try convert.dupeString(arena, raw.name),
                .dimension = raw.dimension,
                .metric = try convert.enumFromC(Metric, raw.metric),
            };
        }
        owned.value = infos;
        return owned;
    }

    /// Inserts or replaces (by id) one vector.
    pub fn insertVector(
        self: Vectors,
        collection: []const u8,
        id: []const u8,
        vector: []const f32,
        metadata: Metadata,
    ) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        try self.ctx.check(c.agent_db_insert_vector(
            self.ctx.handle,
            try self.ctx.cString(s, collection),
            try self.ctx.cString(s, id),
            convert.itemsPtr(f32, vector),
            vector.len,
            try convert.metadataJson(s, metadata),
        ));
    }

    /// Inserts or replaces every record in one atomic write (all or none).
    pub fn insertVectors(self: Vectors, collection: []const u8, records: []const VectorRecord) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_records = try s.alloc(c.AgentDbVectorRecord, records.len);
        for (records, c_records) |record, *c_record| c_record.* = .{
            .id = try self.ctx.cString(s, record.id),
            .vector = convert.itemsPtr(f32, record.vector),
            .vector_len = record.vector.len,
            .metadata_json = try convert.metadataJson(s, record.metadata),
        };
        try self.ctx.check(c.agent_db_insert_vectors(
            self.ctx.handle,
            try self.ctx.cString(s, collection),
            c_records.ptr,
            c_records.len,
        ));
    }

    /// One vector by id.
    pub fn getVector(self: Vectors, collection: []const u8, id: []const u8) (Error || Allocator.Error)!Owned(VectorRecord) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        var raw: [*c]c.AgentDbVectorRecord = null;
        try self.ctx.check(c.agent_db_get_vector(self.ctx.handle, try self.ctx.cString(s, collection), try self.ctx.cString(s, id), &raw));
        defer c.agent_db_vector_record_free(raw);
        var owned = try Owned(VectorRecord).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        owned.value = .{
            .id = try convert.dupeString(arena, raw.*.id),
            .vector = try convert.dupeItems(f32, arena, raw.*.vector, raw.*.vector_len),
            .metadata = try convert.parseMetadata(arena, raw.*.metadata_json),
        };
        return owned;
    }

    pub fn deleteVector(self: Vectors, collection: []const u8, id: []const u8) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        try self.ctx.check(c.agent_db_delete_vector(self.ctx.handle, try self.ctx.cString(s, collection), try self.ctx.cString(s, id)));
    }

    pub fn countVectors(self: Vectors, collection: []const u8) (Error || Allocator.Error)!u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        var count: u64 = 0;
        try self.ctx.check(c.agent_db_count_vectors(self.ctx.handle, try self.ctx.cString(scratch.allocator(), collection), &count));
        return count;
    }

    /// Builds (or rebuilds) the collection's ANN index now.
    pub fn createVectorIndex(self: Vectors, collection: []const u8) (Error || Allocator.Error)!void {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        try self.ctx.check(c.agent_db_create_vector_index(self.ctx.handle, try self.ctx.cString(scratch.allocator(), collection)));
    }

    /// The `k` nearest vectors, nearest first (ties by id).
    pub fn searchKNN(
        self: Vectors,
        collection: []const u8,
        query: []const f32,
        k: u32,
        options: SearchOptions,
    ) (Error || Allocator.Error)!Owned([]const VectorHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_options = try cSearchOptions(s, options);
        var list: [*c]c.AgentDbVectorHitList = null;
        try self.ctx.check(c.agent_db_search_knn(
            self.ctx.handle,
            try self.ctx.cString(s, collection),
            convert.itemsPtr(f32, query),
            query.len,
            k,
            &c_options,
            &list,
        ));
        defer c.agent_db_vector_hit_list_free(list);
        return self.ownHits(list);
    }

    /// Every vector within `radius` (the metric's units), nearest first, at
    /// most `max_results`.
    pub fn searchRange(
        self: Vectors,
        collection: []const u8,
        query: []const f32,
        radius: f32,
        max_results: u32,
        options: SearchOptions,
    ) (Error || Allocator.Error)!Owned([]const VectorHit) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_options = try cSearchOptions(s, options);
        var list: [*c]c.AgentDbVectorHitList = null;
        try self.ctx.check(c.agent_db_search_range(
            self.ctx.handle,
            try self.ctx.cString(s, collection),
            convert.itemsPtr(f32, query),
            query.len,
            radius,
            max_results,
            &c_options,
            &list,
        ));
        defer c.agent_db_vector_hit_list_free(list);
        return self.ownHits(list);
    }

    /// `searchKNN` as one Arrow C stream (id, distance, metadata, vector),
    /// read in place; release it with `stream.release.?(&stream)`.
    pub fn searchKNNArrow(
        self: Vectors,
        collection: []const u8,
        query: []const f32,
        k: u32,
        options: SearchOptions,
    ) (Error || Allocator.Error)!c.struct_ArrowArrayStream {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_options = try cSearchOptions(s, options);
        var stream: c.struct_ArrowArrayStream = undefined;
        try self.ctx.check(c.agent_db_search_knn_arrow(
            self.ctx.handle,
            try self.ctx.cString(s, collection),
            convert.itemsPtr(f32, query),
            query.len,
            k,
            &c_options,
            &stream,
        ));
        return stream;
    }

    fn ownHits(self: Vectors, list: [*c]const c.AgentDbVectorHitList) (Error || Allocator.Error)!Owned([]const VectorHit) {
        var owned = try Owned([]const VectorHit).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const hits = try arena.alloc(VectorHit, list.*.len);
        for (hits, 0..) |*hit, i| {
            const raw = &list.*.items[i];
            hit.* = .{
                .id = try convert.dupeString(arena, raw.id),
                .distance = raw.distance,
                .metadata = try convert.parseMetadata(arena, raw.metadata_json),
                .vector = try convert.dupeItems(f32, arena, raw.vector, raw.vector_len),
            };
        }
        owned.value = hits;
        return owned;
    }
};

fn cSearchOptions(scratch: Allocator, options: SearchOptions) Allocator.Error!c.AgentDbSearchOptions {
    return .{
        .metadata_json = try convert.metadataJson(scratch, options.metadata),
        .nprobes = options.nprobes,
        .refine_factor = options.refine_factor,
    };
}

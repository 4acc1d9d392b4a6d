//! The library's defaults (`agent_db_defaults_json`): what an argument left
//! out becomes on every AgentDB surface, and the open options' values. The
//! engine is their one source; this package reads them rather than
//! restating any (a `NewMemory` without a type or importance takes these).
const std = @import("std");
const Allocator = std.mem.Allocator;
const c = @import("c.zig").c;
const errors = @import("errors.zig");
const states = @import("states.zig");
const memories = @import("memories.zig");
const vectors = @import("vectors.zig");
const Error = errors.Error;
const Diagnostics = errors.Diagnostics;

/// Every default, as the library reports it (SPEC.md names; durations in ms).
pub const Defaults = struct {
    state_type: states.StateType,
    session_id: u64,
    history_limit: u32,
    memory_type: memories.MemoryType,
    importance: f32,
    retrieve_limit: u32,
    retrieve: Retrieve,
    forget: memories.ForgetPolicy,
    search_limit: u32,
    hybrid_fusion: FusionKind,
    hybrid_alpha: f32,
    metric: vectors.Metric,
    knn_k: u32,
    range_max_results: u32,
    item_search_limit: u32,
    namespace_list_limit: u32,
    options: OptionValues,

    pub const FusionKind = enum { weighted, rrf };

    pub const Retrieve = struct {
        relevance_weight: f32,
        importance_weight: f32,
        recency_weight: f32,
        recency_half_life_ms: u64,
        candidate_factor: u32,
        record_access: bool,
    };

    /// The values `AgentDB.open` uses for the `Options` fields left null.
    pub const OptionValues = struct {
        read_only: bool,
        fsync: enum { always, batch, never },
        fsync_batch_ms: u32,
        max_payload_bytes: u64,
        memtable_flush_bytes: u64,
        memtable_flush_records: u64,
        flush_interval_ms: u32,
        memtable_stall_bytes: u64,
        latest_cache_entries: u64,
        latest_cache_bytes: u64,
        /// Null: no background maintenance.
        maintenance_interval_ms: ?u32,
        version_retention_ms: u64,
        state_keep_last: ?u64,
        state_keep_newer_than_ms: ?u64,
        wal_segment_bytes: u64,
        memory_dimension: u32,
        ann_index_threshold: u64,
        chunk_chars: u32,
        chunk_overlap: u32,
        memory_merge_threshold: f32,
        memory_merge_policy: memories.MergePolicy,
        max_memories_per_agent_type: ?u64,
    };
};

/// Reads the library's defaults; `allocator` is used only while parsing.
pub fn read(allocator: Allocator, diagnostics: ?*Diagnostics) (Error || Allocator.Error)!Defaults {
    var raw: [*c]u8 = null;
    try errors.check(c.agent_db_defaults_json(&raw), diagnostics);
    defer c.agent_db_string_free(raw);
    var arena: std.heap.ArenaAllocator = .init(allocator);
    defer arena.deinit();
    // Fields the library may add later are skipped; a missing or mistyped
    // one is a library this package does not match.
    return std.json.parseFromSliceLeaky(Defaults, arena.allocator(), std.mem.span(raw), .{ .ignore_unknown_fields = true }) catch |err| switch (err) {
        error.OutOfMemory => error.OutOfMemory,
        else => errors.fail(diagnostics, error.InvalidArgument, "agent_db_defaults_json: unexpected shape"),
    };
}

test "the library's defaults parse and are in range" {
    const d = try read(std.testing.allocator, null);
    try std.testing.expect(d.retrieve_limit >= 1 and d.search_limit >= 1 and d.knn_k >= 1 and d.history_limit >= 1);
    try std.testing.expect(d.importance >= 0 and d.importance <= 1);
    try std.testing.expect(d.options.chunk_overlap < d.options.chunk_chars);
}

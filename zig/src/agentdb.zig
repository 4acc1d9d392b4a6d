//! AgentDB for Zig: an embedded state database for AI agents, over the C
//! ABI (include/agent_db.h, libagentdb). SPEC.md says what every operation
//! does; this package only converts between Zig and C and maps errors.
//!
//!     var db = try agentdb.AgentDB.open(allocator, "./agent-data", .{});
//!     defer db.deinit();
//!     const version = try db.states.saveTyped(MyState, agent_id, session_id, state);
//!     const loaded = try db.states.loadTyped(MyState, agent_id, session_id);
//!     defer loaded.deinit();
//!
//! Ownership: a result that holds memory is an `Owned(T)` (or, for
//! `loadTyped`, a `std.json.Parsed(T)`): its slices live in one arena of the
//! allocator given to `open` until `deinit()`. Flat results (`storeMemories`'
//! ids, `statsJson`) are plain slices of that allocator; the caller frees
//! them. Arguments are borrowed only for the call.
//!
//! Errors: every call returns `Error` (one per C status code) or
//! `error.OutOfMemory`; the message goes to a `Diagnostics` when one is
//! given (`Options.diagnostics`, or `withDiagnostics` on a subsystem).
//!
//! Threads: an `AgentDB` may be used from many threads at once (the handle
//! is thread-safe), provided the allocator is; give each thread its own
//! Diagnostics.
const std = @import("std");
const Allocator = std.mem.Allocator;

pub const c = @import("c.zig").c;
const convert = @import("convert.zig");
const errors = @import("errors.zig");
const states = @import("states.zig");
const memories = @import("memories.zig");
const rag = @import("rag.zig");
const vectors = @import("vectors.zig");
const items = @import("items.zig");
const defaults_mod = @import("defaults.zig");

pub const Error = errors.Error;
/// The library's defaults (see `defaults`).
pub const Defaults = defaults_mod.Defaults;
pub const Diagnostics = errors.Diagnostics;
/// The stable code of an error ("not_found", ...), as every surface names it.
pub const errorName = errors.name;

pub const KeyValue = convert.KeyValue;
pub const Metadata = convert.Metadata;
pub const lookup = convert.lookup;
pub const Owned = convert.Owned;

pub const States = states.States;
pub const StateType = states.StateType;
pub const State = states.State;
pub const Snapshot = states.Snapshot;
pub const HistoryQuery = states.HistoryQuery;

pub const Memories = memories.Memories;
pub const MemoryType = memories.MemoryType;
pub const NewMemory = memories.NewMemory;
pub const Memory = memories.Memory;
pub const ScoredMemory = memories.ScoredMemory;
pub const RetrieveOptions = memories.RetrieveOptions;
pub const ForgetPolicy = memories.ForgetPolicy;
pub const MergePolicy = memories.MergePolicy;
pub const StoreKind = memories.StoreKind;
pub const StoreOutcome = memories.StoreOutcome;
pub const MergeGroup = memories.MergeGroup;
pub const ConsolidationReport = memories.ConsolidationReport;

pub const Rag = rag.Rag;
pub const NewDocument = rag.NewDocument;
pub const DocumentInfo = rag.DocumentInfo;
pub const ChunkHit = rag.ChunkHit;
pub const DocFilter = rag.DocFilter;
pub const Fusion = rag.Fusion;

pub const Vectors = vectors.Vectors;
pub const Metric = vectors.Metric;
pub const CollectionInfo = vectors.CollectionInfo;
pub const VectorRecord = vectors.VectorRecord;
pub const VectorHit = vectors.VectorHit;
pub const SearchOptions = vectors.SearchOptions;

pub const Items = items.Items;
pub const Namespace = items.Namespace;
pub const Item = items.Item;
pub const ItemPut = items.ItemPut;
pub const ItemAddress = items.ItemAddress;
pub const ItemWrite = items.ItemWrite;
pub const ItemWriteReport = items.WriteReport;
pub const ItemQuery = items.ItemQuery;
pub const ItemPage = items.ItemPage;
pub const NamespaceQuery = items.NamespaceQuery;

/// The Arrow C stream the `*Arrow` calls return (Arrow C stream interface).
pub const ArrowArrayStream = c.struct_ArrowArrayStream;

pub const Fsync = union(enum) {
    /// fsync before acknowledging each write (group commit); survives power loss.
    always,
    /// fsync every this many ms in the background.
    batch_ms: u32,
    /// Leave it to the OS; still safe against a process crash.
    never,
};

/// Options for `AgentDB.open`. Null fields take the library's defaults
/// (`agent_db_options_default`), so this package repeats none of them.
pub const Options = struct {
    /// Open without the writer lock; writes fail with `error.ReadOnly`.
    read_only: bool = false,
    fsync: ?Fsync = null,
    /// Background flush of the memtable to Lance.
    flush_interval_ms: ?u32 = null,
    /// Background compaction/indexing/pruning; 0 turns it off.
    maintenance_interval_ms: ?u32 = null,
    max_payload_bytes: ?u64 = null,
    /// Dimension of memory embeddings and document chunks (384 for the built-in model).
    memory_dimension: ?u32 = null,
    /// Rows in a vector collection before maintenance builds an ANN index.
    ann_index_threshold: ?u64 = null,
    chunk_chars: ?u32 = null,
    chunk_overlap: ?u32 = null,
    /// Directory of the embedding model; null finds the installed package.
    model_dir: ?[]const u8 = null,
    /// State retention, applied by background maintenance and by
    /// `gc(.{})` (see `StateRetention`); both null: every version is kept.
    /// Keep the newest this many versions of each (agent, session) (≥ 1).
    state_retention_keep_last: ?u64 = null,
    /// Keep state versions saved within this many ms (≥ 1).
    state_retention_keep_newer_than_ms: ?u64 = null,
    /// Cosine similarity at or above which a stored memory is a
    /// near-duplicate of another of the same agent and type; in (0, 1].
    memory_merge_threshold: ?f32 = null,
    /// What happens to near-duplicates (the library's default: `.keep_newest`).
    memory_merge_policy: ?MergePolicy = null,
    /// At most this many memories per agent and type (≥ 1): a store beyond
    /// it evicts the lowest-scoring unpinned ones. Null: no limit.
    max_memories_per_agent_type: ?u64 = null,
    /// Where the message of a failed `open`, and of later calls through
    /// this handle, goes (one thread's; see `Diagnostics`).
    diagnostics: ?*Diagnostics = null,
};

/// Which old state versions `gc` deletes (SPEC.md, "Maintenance"): a
/// version stays if it is the latest of its (agent, session), a snapshot
/// names it, it is among the newest `keep_last` of its (agent, session), or
/// it was saved within `keep_newer_than_ms`; every other version goes. Both
/// null (`.{}`): the retention configured at open (`Options.state_retention_*`;
/// by default every version is kept). A given bound must be ≥ 1.
pub const StateRetention = struct {
    keep_last: ?u64 = null,
    keep_newer_than_ms: ?u64 = null,
};

/// Every default of the library (`agent_db_defaults_json`): what an argument
/// left out becomes on every AgentDB surface (CLI, C, Python, Zig), and the
/// values `open` uses for `Options` fields left null. `allocator` is used
/// only while reading them.
pub fn defaults(allocator: Allocator, diagnostics: ?*Diagnostics) (Error || Allocator.Error)!Defaults {
    return defaults_mod.read(allocator, diagnostics);
}

/// The library's version ("0.1.0").
pub fn version() []const u8 {
    return std.mem.span(c.agent_db_version());
}

pub const AgentDB = struct {
    handle: *c.AgentDb,
    allocator: Allocator,
    diagnostics: ?*Diagnostics,
    states: States,
    memories: Memories,
    rag: Rag,
    vectors: Vectors,
    items: Items,

    /// Opens (creating on first use) the database in directory `path`.
    /// Release it with `deinit` (or `close`, which reports a failed final flush).
    pub fn open(allocator: Allocator, path: []const u8, options: Options) (Error || Allocator.Error)!AgentDB {
        var scratch: std.heap.ArenaAllocator = .init(allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        // No handle yet: only `diagnostics` of this context is used.
        const ctx: convert.Context = .{ .handle = undefined, .allocator = allocator, .diagnostics = options.diagnostics };

        var c_options: c.AgentDbOptions = undefined;
        try ctx.check(c.agent_db_options_default(&c_options));
        c_options.read_only = options.read_only;
        if (options.fsync) |fsync| switch (fsync) {
            .always => c_options.fsync = c.AGENT_DB_FSYNC_ALWAYS,
            .batch_ms => |ms| {
                c_options.fsync = c.AGENT_DB_FSYNC_BATCH;
                c_options.fsync_batch_ms = ms;
            },
            .never => c_options.fsync = c.AGENT_DB_FSYNC_NEVER,
        };
        if (options.flush_interval_ms) |v| c_options.flush_interval_ms = v;
        if (options.maintenance_interval_ms) |v| c_options.maintenance_interval_ms = v;
        if (options.max_payload_bytes) |v| c_options.max_payload_bytes = v;
        if (options.memory_dimension) |v| c_options.memory_dimension = v;
        if (options.ann_index_threshold) |v| c_options.ann_index_threshold = v;
        if (options.chunk_chars) |v| c_options.chunk_chars = v;
        if (options.chunk_overlap) |v| c_options.chunk_overlap = v;
        if (options.model_dir) |dir| c_options.model_dir = try ctx.cString(s, dir);
        if (options.state_retention_keep_last) |v| c_options.state_retention_keep_last = try ctx.bound(v, "state_retention_keep_last");
        if (options.state_retention_keep_newer_than_ms) |v| c_options.state_retention_keep_newer_than_ms = try ctx.bound(v, "state_retention_keep_newer_than_ms");
        if (options.memory_merge_threshold) |v| c_options.memory_merge_threshold = v;
        if (options.memory_merge_policy) |v| c_options.memory_merge_policy = @intFromEnum(v);
        if (options.max_memories_per_agent_type) |v| c_options.max_memories_per_agent_type = try ctx.bound(v, "max_memories_per_agent_type");

        const library_defaults = try defaults_mod.read(s, options.diagnostics);

        var handle: ?*c.AgentDb = null;
        try ctx.check(c.agent_db_open(try ctx.cString(s, path), &c_options, &handle));
        std.debug.assert(handle != null);
        const context: convert.Context = .{ .handle = handle.?, .allocator = allocator, .diagnostics = options.diagnostics };
        return .{
            .handle = handle.?,
            .allocator = allocator,
            .diagnostics = options.diagnostics,
            .states = .{ .ctx = context },
            .memories = .{ .ctx = context, .new_memory_defaults = .{
                .memory_type = library_defaults.memory_type,
                .importance = library_defaults.importance,
            } },
            .rag = .{ .ctx = context },
            .vectors = .{ .ctx = context },
            .items = .{ .ctx = context },
        };
    }

    /// Flushes, syncs, releases the writer lock and frees the handle. The
    /// handle is freed even when the final flush fails (the error says so;
    /// the write-ahead log still holds every acknowledged write).
    pub fn close(self: *AgentDB) Error!void {
        const status = c.agent_db_close(self.handle);
        const diagnostics = self.diagnostics;
        self.* = undefined;
        try errors.check(status, diagnostics);
    }

    /// `close`, for `defer`: a failed final flush is logged, not returned.
    /// Call exactly one of `close` and `deinit`, once.
    pub fn deinit(self: *AgentDB) void {
        self.close() catch |err| std.log.scoped(.agentdb).warn("close: {s}", .{@errorName(err)});
    }

    fn baseContext(self: *const AgentDB) convert.Context {
        return self.states.ctx;
    }

    /// Writes pending records to Lance now (normally done in the background).
    pub fn flush(self: *const AgentDB) Error!void {
        try self.baseContext().check(c.agent_db_flush(self.handle));
    }

    /// Flush, compact, refresh indexes and prune old versions now.
    pub fn compact(self: *const AgentDB) Error!void {
        try self.baseContext().check(c.agent_db_compact(self.handle));
    }

    /// Deletes the old state versions `retention` does not keep, then
    /// compacts and prunes; returns how many versions were removed. A
    /// removed version is `error.NotFound` for `loadStateVersion` and gone
    /// from `queryHistory`; versions keep counting up.
    pub fn gc(self: *const AgentDB, retention: StateRetention) Error!u64 {
        const ctx = self.baseContext();
        const keep_last = try ctx.bound(retention.keep_last, "keep_last");
        const keep_newer_than_ms = try ctx.bound(retention.keep_newer_than_ms, "keep_newer_than_ms");
        var removed: u64 = 0;
        try ctx.check(c.agent_db_gc(self.handle, keep_last, keep_newer_than_ms, &removed));
        return removed;
    }

    /// Statistics as a JSON object (per-table rows, fragments, versions,
    /// bytes, WAL and cache figures); the caller frees it with `allocator`.
    pub fn statsJson(self: *const AgentDB) (Error || Allocator.Error)![]u8 {
        var raw: [*c]u8 = null;
        try self.baseContext().check(c.agent_db_stats_json(self.handle, &raw));
        defer c.agent_db_string_free(raw);
        return self.allocator.dupe(u8, std.mem.span(raw));
    }

    /// Embeds each text with the database's model: one vector per text, in order.
    pub fn embed(self: *const AgentDB, texts: []const []const u8) (Error || Allocator.Error)!Owned([]const []const f32) {
        var scratch: std.heap.ArenaAllocator = .init(self.allocator);
        defer scratch.deinit();
        const c_texts = try self.baseContext().cStrings(scratch.allocator(), texts);
        var flat: [*c]f32 = null;
        var dimension: usize = 0;
        try self.baseContext().check(c.agent_db_embed(self.handle, convert.itemsPtr([*c]const u8, c_texts), c_texts.len, &flat, &dimension));
        defer c.agent_db_floats_free(flat, texts.len * dimension);
        std.debug.assert(texts.len == 0 or dimension > 0);

        var owned = try Owned([]const []const f32).init(self.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const values = try convert.dupeItems(f32, arena, flat, texts.len * dimension);
        const rows = try arena.alloc([]const f32, texts.len);
        for (rows, 0..) |*row, i| row.* = values[i * dimension ..][0..dimension];
        owned.value = rows;
        return owned;
    }
};

test {
    std.testing.refAllDecls(@This());
    _ = errors;
    _ = convert;
    _ = defaults_mod;
}

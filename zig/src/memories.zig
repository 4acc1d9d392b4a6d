//! Memories (SPEC.md, "Memories"): typed, scored, decaying facts an agent
//! keeps, retrieved by text (the built-in model embeds it) or by vector.
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

pub const MemoryType = enum(u32) {
    episodic = c.AGENT_DB_MEMORY_EPISODIC,
    semantic = c.AGENT_DB_MEMORY_SEMANTIC,
    procedural = c.AGENT_DB_MEMORY_PROCEDURAL,
    working = c.AGENT_DB_MEMORY_WORKING,
};

/// What happens to a near-duplicate (cosine ≥ the merge threshold) of a
/// stored memory of the same agent and type (SPEC.md, "Dedup and merging").
/// Exact duplicates are refreshed under every policy.
pub const MergePolicy = enum(u32) {
    /// The new memory survives (the library's default).
    keep_newest = c.AGENT_DB_MERGE_KEEP_NEWEST,
    /// The most important survives (ties: the newest).
    keep_most_important = c.AGENT_DB_MERGE_KEEP_MOST_IMPORTANT,
    /// No merging of near-duplicates.
    keep_both = c.AGENT_DB_MERGE_KEEP_BOTH,
};

/// A memory to store.
pub const NewMemory = struct {
    agent_id: u64,
    /// Null: the library's default (`Defaults.memory_type`, semantic).
    memory_type: ?MemoryType = null,
    /// Non-empty text, at most 1 MiB.
    content: []const u8,
    /// 0..=1; null: the library's default (`Defaults.importance`, 0.5).
    importance: ?f32 = null,
    /// Null: the database's model embeds `content`.
    embedding: ?[]const f32 = null,
    /// 0: never expires.
    ttl_ms: u64 = 0,
    metadata: Metadata = &.{},
};

/// A stored memory.
pub const Memory = struct {
    memory_id: u64,
    agent_id: u64,
    memory_type: MemoryType,
    importance: f32,
    access_count: u64,
    last_access_ms: i64,
    created_at_ms: i64,
    expires_at_ms: ?i64,
    /// Never forgotten, expired, evicted or merged away (`pinMemory`).
    pinned: bool,
    content: []const u8,
    embedding: []const f32,
    metadata: Metadata,
};

pub const ScoredMemory = struct {
    memory: Memory,
    /// relevance_weight·relevance + importance_weight·importance + recency_weight·recency.
    score: f32,
    /// Cosine similarity to the query, clamped to 0..=1.
    relevance: f32,
    /// 0.5 ^ (time since last access / half-life).
    recency: f32,
};

pub const StoreKind = enum(u32) {
    /// A new memory was stored.
    stored = c.AGENT_DB_STORE_STORED,
    /// An exact duplicate (same agent, type and normalised content): the
    /// existing memory `memory_id` was refreshed instead.
    duplicate = c.AGENT_DB_STORE_DUPLICATE,
    /// Merged with near-duplicates by the merge policy; `absorbed` no longer exist.
    merged = c.AGENT_DB_STORE_MERGED,
};

/// What `storeMemoryOutcome` did.
pub const StoreOutcome = struct {
    /// The memory that holds the content now: new, or the one it went into.
    memory_id: u64,
    kind: StoreKind,
    /// The ids merged away (`.merged` only; when an existing memory
    /// survived, this includes the id the new memory would have had).
    absorbed: []const u64,
    /// Memories deleted to respect `Options.max_memories_per_agent_type`.
    evicted: []const u64,
};

/// One merge made by `consolidate`.
pub const MergeGroup = struct {
    memory_type: MemoryType,
    kept: u64,
    absorbed: []const u64,
};

/// What `consolidate` merged (the library's JSON report, parsed).
pub const ConsolidationReport = struct {
    agent_id: u64,
    /// Live memories of the agent before.
    examined: u64,
    groups: []const MergeGroup,
    /// Live memories of the agent after.
    remaining: u64,
};

/// Retrieval knobs. Null fields take the library's defaults
/// (`agent_db_retrieve_options_default`: weights 1, 0.5, 0.5; half-life
/// 7 days; 3× candidates; record access).
pub const RetrieveOptions = struct {
    relevance_weight: ?f32 = null,
    importance_weight: ?f32 = null,
    recency_weight: ?f32 = null,
    recency_half_life_ms: ?u64 = null,
    candidate_factor: ?u32 = null,
    /// Count this retrieval as an access of each returned memory.
    record_access: ?bool = null,
    /// Only these types; empty: all.
    memory_types: []const MemoryType = &.{},
    /// Inclusive bounds on `created_at_ms`.
    created_after_ms: ?i64 = null,
    created_before_ms: ?i64 = null,
    /// Every entry must equal the memory's metadata value.
    metadata: Metadata = &.{},
};

/// `forget`: a memory goes when it is older than `older_than_ms` and its
/// importance, halved every `decay_half_life_ms` since last access, is
/// below `min_importance`.
pub const ForgetPolicy = struct {
    older_than_ms: u64,
    min_importance: f32,
    decay_half_life_ms: u64,
};

pub const Memories = struct {
    ctx: Context,
    /// What a `NewMemory` without a type or importance takes (the library's
    /// defaults, read once at open).
    new_memory_defaults: NewMemoryDefaults,

    pub const NewMemoryDefaults = struct { memory_type: MemoryType, importance: f32 };

    /// This subsystem reporting failures' messages into `diagnostics`.
    pub fn withDiagnostics(self: Memories, diagnostics: *Diagnostics) Memories {
        var copy = self;
        copy.ctx.diagnostics = diagnostics;
        return copy;
    }

    /// Stores one memory; returns its new id.
    pub fn storeMemory(self: Memories, memory: NewMemory) (Error || Allocator.Error)!u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_memory = try self.cNewMemory(scratch.allocator(), memory);
        var id: u64 = 0;
        try self.ctx.check(c.agent_db_store_memory(self.ctx.handle, &c_memory, &id));
        return id;
    }

    /// `storeMemory`, saying whether the memory was stored, was an exact
    /// duplicate or was merged, and what the per-type limit evicted.
    pub fn storeMemoryOutcome(self: Memories, memory: NewMemory) (Error || Allocator.Error)!Owned(StoreOutcome) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_memory = try self.cNewMemory(scratch.allocator(), memory);
        var raw: [*c]c.AgentDbStoreOutcome = null;
        try self.ctx.check(c.agent_db_store_memory_outcome(self.ctx.handle, &c_memory, &raw));
        defer c.agent_db_store_outcome_free(raw);
        var owned = try Owned(StoreOutcome).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        owned.value = .{
            .memory_id = raw.*.memory_id,
            .kind = try convert.enumFromC(StoreKind, raw.*.kind),
            .absorbed = try convert.dupeItems(u64, arena, raw.*.absorbed, raw.*.absorbed_len),
            .evicted = try convert.dupeItems(u64, arena, raw.*.evicted, raw.*.evicted_len),
        };
        return owned;
    }

    /// Stores every memory atomically (all or none); returns their ids in
    /// order, allocated with the database's allocator (the caller frees them).
    pub fn storeMemories(self: Memories, memories: []const NewMemory) (Error || Allocator.Error)![]u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_memories = try scratch.allocator().alloc(c.AgentDbNewMemory, memories.len);
        for (memories, c_memories) |memory, *c_memory| c_memory.* = try self.cNewMemory(scratch.allocator(), memory);
        const ids = try self.ctx.allocator.alloc(u64, memories.len);
        errdefer self.ctx.allocator.free(ids);
        try self.ctx.check(c.agent_db_store_memories(self.ctx.handle, convert.itemsPtr(c.AgentDbNewMemory, c_memories), c_memories.len, ids.ptr));
        return ids;
    }

    /// One memory by id (not counted as an access).
    pub fn getMemory(self: Memories, memory_id: u64) (Error || Allocator.Error)!Owned(Memory) {
        var raw: [*c]c.AgentDbMemory = null;
        try self.ctx.check(c.agent_db_get_memory(self.ctx.handle, memory_id, &raw));
        defer c.agent_db_memory_free(raw);
        var owned = try Owned(Memory).init(self.ctx.allocator);
        errdefer owned.deinit();
        owned.value = try copyMemory(owned.arena.allocator(), raw);
        return owned;
    }

    pub fn updateMemoryImportance(self: Memories, memory_id: u64, importance: f32) Error!void {
        try self.ctx.check(c.agent_db_update_memory_importance(self.ctx.handle, memory_id, importance));
    }

    pub fn deleteMemory(self: Memories, memory_id: u64) Error!void {
        try self.ctx.check(c.agent_db_delete_memory(self.ctx.handle, memory_id));
    }

    /// Pins a memory: never forgotten, expired (its TTL is suspended),
    /// evicted or merged away; `deleteMemory` still deletes it.
    pub fn pinMemory(self: Memories, memory_id: u64) Error!void {
        try self.ctx.check(c.agent_db_pin_memory(self.ctx.handle, memory_id));
    }

    /// Unpins a memory; a TTL that ran out meanwhile applies at once.
    pub fn unpinMemory(self: Memories, memory_id: u64) Error!void {
        try self.ctx.check(c.agent_db_unpin_memory(self.ctx.handle, memory_id));
    }

    /// Merges the agent's existing duplicates and near-duplicates by the
    /// merge policy, per type; returns the report.
    pub fn consolidate(self: Memories, agent_id: u64) (Error || Allocator.Error)!Owned(ConsolidationReport) {
        var raw: [*c]u8 = null;
        try self.ctx.check(c.agent_db_consolidate_memories(self.ctx.handle, agent_id, &raw));
        defer c.agent_db_string_free(raw);
        var owned = try Owned(ConsolidationReport).init(self.ctx.allocator);
        errdefer owned.deinit();
        owned.value = try convert.parseJson(ConsolidationReport, owned.arena.allocator(), raw);
        return owned;
    }

    /// Every live memory of the agent, oldest first.
    pub fn listMemories(self: Memories, agent_id: u64) (Error || Allocator.Error)!Owned([]const Memory) {
        var list: [*c]c.AgentDbMemoryList = null;
        try self.ctx.check(c.agent_db_list_memories(self.ctx.handle, agent_id, &list));
        defer c.agent_db_memory_list_free(list);
        var owned = try Owned([]const Memory).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const memories = try arena.alloc(Memory, list.*.len);
        for (memories, 0..) |*memory, i| memory.* = try copyMemory(arena, &list.*.items[i]);
        owned.value = memories;
        return owned;
    }

    /// The agent's `limit` best memories for a text query (embedded with
    /// the database's model), best first.
    pub fn retrieveMemories(
        self: Memories,
        agent_id: u64,
        query: []const u8,
        limit: u32,
        options: RetrieveOptions,
    ) (Error || Allocator.Error)!Owned([]const ScoredMemory) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_query = try self.ctx.cString(scratch.allocator(), query);
        const c_options = try self.cRetrieveOptions(scratch.allocator(), options);
        var list: [*c]c.AgentDbScoredMemoryList = null;
        try self.ctx.check(c.agent_db_retrieve_memories(self.ctx.handle, agent_id, c_query, limit, &c_options, &list));
        defer c.agent_db_scored_memory_list_free(list);
        return self.ownScored(list);
    }

    /// As `retrieveMemories`, for a query vector of the memory dimension.
    pub fn retrieveMemoriesByVector(
        self: Memories,
        agent_id: u64,
        vector: []const f32,
        limit: u32,
        options: RetrieveOptions,
    ) (Error || Allocator.Error)!Owned([]const ScoredMemory) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_options = try self.cRetrieveOptions(scratch.allocator(), options);
        var list: [*c]c.AgentDbScoredMemoryList = null;
        try self.ctx.check(c.agent_db_retrieve_memories_by_vector(
            self.ctx.handle,
            agent_id,
            convert.itemsPtr(f32, vector),
            vector.len,
            limit,
            &c_options,
            &list,
        ));
        defer c.agent_db_scored_memory_list_free(list);
        return self.ownScored(list);
    }

    /// `retrieveMemories` as one Arrow C stream, read in place; release it
    /// with `stream.release.?(&stream)`.
    pub fn retrieveMemoriesArrow(
        self: Memories,
        agent_id: u64,
        query: []const u8,
        limit: u32,
        options: RetrieveOptions,
    ) (Error || Allocator.Error)!c.struct_ArrowArrayStream {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_query = try self.ctx.cString(scratch.allocator(), query);
        const c_options = try self.cRetrieveOptions(scratch.allocator(), options);
        var stream: c.struct_ArrowArrayStream = undefined;
        try self.ctx.check(c.agent_db_retrieve_memories_arrow(self.ctx.handle, agent_id, c_query, limit, &c_options, &stream));
        return stream;
    }

    /// Deletes the agent's memories that `policy` lets go; returns how many.
    pub fn forget(self: Memories, agent_id: u64, policy: ForgetPolicy) Error!u64 {
        var count: u64 = 0;
        try self.ctx.check(c.agent_db_forget_memories(
            self.ctx.handle,
            agent_id,
            policy.older_than_ms,
            policy.min_importance,
            policy.decay_half_life_ms,
            &count,
        ));
        return count;
    }

    fn ownScored(self: Memories, list: [*c]const c.AgentDbScoredMemoryList) (Error || Allocator.Error)!Owned([]const ScoredMemory) {
        var owned = try Owned([]const ScoredMemory).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const hits = try arena.alloc(ScoredMemory, list.*.len);
        for (hits, 0..) |*hit, i| {
            const raw = &list.*.items[i];
            hit.* = .{
                .memory = try copyMemory(arena, &raw.memory),
                .score = raw.score,
                .relevance = raw.relevance,
                .recency = raw.recency,
            };
        }
        owned.value = hits;
        return owned;
    }

    fn cNewMemory(self: Memories, scratch: Allocator, memory: NewMemory) (Error || Allocator.Error)!c.AgentDbNewMemory {
        const embedding: []const f32 = memory.embedding orelse &.{};
        return .{
            .agent_id = memory.agent_id,
            .memory_type = @intFromEnum(memory.memory_type orelse self.new_memory_defaults.memory_type),
            .importance = memory.importance orelse self.new_memory_defaults.importance,
            .content = try self.ctx.cString(scratch, memory.content),
            .embedding = convert.itemsPtr(f32, embedding),
            .embedding_len = embedding.len,
            .ttl_ms = memory.ttl_ms,
            .metadata_json = try convert.metadataJson(scratch, memory.metadata),
        };
    }

    fn cRetrieveOptions(self: Memories, scratch: Allocator, options: RetrieveOptions) (Error || Allocator.Error)!c.AgentDbRetrieveOptions {
        var out: c.AgentDbRetrieveOptions = undefined;
        try self.ctx.check(c.agent_db_retrieve_options_default(&out));
        if (options.relevance_weight) |w| out.relevance_weight = w;
        if (options.importance_weight) |w| out.importance_weight = w;
        if (options.recency_weight) |w| out.recency_weight = w;
        if (options.recency_half_life_ms) |ms| out.recency_half_life_ms = ms;
        if (options.candidate_factor) |f| out.candidate_factor = f;
        if (options.record_access) |r| out.record_access = r;
        var mask: u32 = 0;
        for (options.memory_types) |t| mask |= @as(u32, 1) << @intCast(@intFromEnum(t));
        out.memory_types_mask = mask;
        if (options.created_after_ms) |ms| out.created_after_ms = ms;
        if (options.created_before_ms) |ms| out.created_before_ms = ms;
        out.metadata_json = try convert.metadataJson(scratch, options.metadata);
        return out;
    }
};

fn copyMemory(arena: Allocator, raw: [*c]const c.AgentDbMemory) (Error || Allocator.Error)!Memory {
    return .{
        .memory_id = raw.*.memory_id,
        .agent_id = raw.*.agent_id,
        .memory_type = try convert.enumFromC(MemoryType, raw.*.memory_type),
        .importance = raw.*.importance,
        .access_count = raw.*.access_count,
        .last_access_ms = raw.*.last_access_ms,
        .created_at_ms = raw.*.created_at_ms,
        .expires_at_ms = if (raw.*.has_expiry) raw.*.expires_at_ms else null,
        .pinned = raw.*.pinned,
        .content = try convert.dupeString(arena, raw.*.content),
        .embedding = try convert.dupeItems(f32, arena, raw.*.embedding, raw.*.embedding_len),
        .metadata = try convert.parseMetadata(arena, raw.*.metadata_json),
    };
}

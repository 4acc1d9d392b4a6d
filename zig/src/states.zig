//! Agent state (SPEC.md, "Agent state"): versioned payloads per (agent,
//! session), keyed versions, history and its pages, snapshots and rollback,
//! and comptime-typed state (`saveTyped` / `loadTyped`) serialised with
//! std.json.
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

pub const StateType = enum(u32) {
    working_memory = c.AGENT_DB_STATE_WORKING_MEMORY,
    long_term_memory = c.AGENT_DB_STATE_LONG_TERM_MEMORY,
    context = c.AGENT_DB_STATE_CONTEXT,
    task_state = c.AGENT_DB_STATE_TASK_STATE,
    relationship = c.AGENT_DB_STATE_RELATIONSHIP,
    embedding = c.AGENT_DB_STATE_EMBEDDING,
};

/// One version of an agent's state.
pub const State = struct {
    agent_id: u64,
    session_id: u64,
    /// 1, 2, 3… per (agent, session), assigned by the engine.
    version: u64,
    /// Set by the engine at save time, ms since the Unix epoch.
    timestamp_ms: i64,
    state_type: StateType,
    /// CRC32C of `data`, verified by the library on every read.
    checksum: u32,
    data: []const u8,
    metadata: Metadata,
    /// The caller's key for this version (`saveStateKeyed`), null when none.
    key: ?[]const u8,
};

/// A named pointer at one version of an (agent, session) state.
pub const Snapshot = struct {
    agent_id: u64,
    session_id: u64,
    version: u64,
    created_at_ms: i64,
    name: []const u8,
};

/// Which versions `queryHistory` returns, newest first. Null fields take
/// the library's defaults (every session, no time bounds, limit 100).
pub const HistoryQuery = struct {
    agent_id: u64,
    session_id: ?u64 = null,
    /// Inclusive bounds on `timestamp_ms`.
    from_ms: ?i64 = null,
    to_ms: ?i64 = null,
    /// 1..=100000.
    limit: ?u32 = null,
};

pub const States = struct {
    ctx: Context,

    /// This subsystem reporting failures' messages into `diagnostics`.
    pub fn withDiagnostics(self: States, diagnostics: *Diagnostics) States {
        var copy = self;
        copy.ctx.diagnostics = diagnostics;
        return copy;
    }

    /// Appends a new version of (agent, session); returns its number.
    pub fn saveState(
        self: States,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: []const u8,
        metadata: Metadata,
    ) (Error || Allocator.Error)!u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const metadata_json = try convert.metadataJson(scratch.allocator(), metadata);
        var version: u64 = 0;
        try self.ctx.check(c.agent_db_save_state(
            self.ctx.handle,
            agent_id,
            session_id,
            @intFromEnum(state_type),
            convert.itemsPtr(u8, data),
            data.len,
            metadata_json,
            &version,
        ));
        std.debug.assert(version >= 1);
        return version;
    }

    /// As `saveState`, and the new version carries `key` (a checkpoint id, a
    /// step name: 1..=1024 bytes). Keys need not be unique: `loadStateByKey`
    /// finds the newest version carrying one.
    pub fn saveStateKeyed(
        self: States,
        agent_id: u64,
        session_id: u64,
        key: []const u8,
        state_type: StateType,
        data: []const u8,
        metadata: Metadata,
    ) (Error || Allocator.Error)!u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_key = try self.ctx.cString(scratch.allocator(), key);
        const metadata_json = try convert.metadataJson(scratch.allocator(), metadata);
        var version: u64 = 0;
        try self.ctx.check(c.agent_db_save_state_keyed(
            self.ctx.handle,
            agent_id,
            session_id,
            c_key,
            @intFromEnum(state_type),
            convert.itemsPtr(u8, data),
            data.len,
            metadata_json,
            &version,
        ));
        std.debug.assert(version >= 1);
        return version;
    }

    /// The latest version of (agent, session), or with `session_id` null the
    /// most recently saved state of the agent across its sessions.
    pub fn loadState(self: States, agent_id: u64, session_id: ?u64) (Error || Allocator.Error)!Owned(State) {
        const raw = try self.loadRaw(agent_id, session_id);
        defer c.agent_db_state_free(raw);
        return self.ownState(raw);
    }

    /// One exact version of (agent, session).
    pub fn loadStateVersion(self: States, agent_id: u64, session_id: u64, version: u64) (Error || Allocator.Error)!Owned(State) {
        var raw: [*c]c.AgentDbState = null;
        try self.ctx.check(c.agent_db_load_state_version(self.ctx.handle, agent_id, session_id, version, &raw));
        defer c.agent_db_state_free(raw);
        return self.ownState(raw);
    }

    /// The newest version of (agent, session) carrying exactly `key`
    /// (bytewise); `error.NotFound` when none does.
    pub fn loadStateByKey(self: States, agent_id: u64, session_id: u64, key: []const u8) (Error || Allocator.Error)!Owned(State) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_key = try self.ctx.cString(scratch.allocator(), key);
        var raw: [*c]c.AgentDbState = null;
        try self.ctx.check(c.agent_db_load_state_by_key(self.ctx.handle, agent_id, session_id, c_key, &raw));
        defer c.agent_db_state_free(raw);
        std.debug.assert(raw.*.key != null);
        return self.ownState(raw);
    }

    /// Versions matching `query`, newest first.
    pub fn queryHistory(self: States, query: HistoryQuery) (Error || Allocator.Error)!Owned([]const State) {
        const c_query = try self.cQuery(query);
        var list: [*c]c.AgentDbStateList = null;
        try self.ctx.check(c.agent_db_query_history(self.ctx.handle, &c_query, &list));
        defer c.agent_db_state_list_free(list);
        return self.ownStates(list);
    }

    /// One page of (agent, session)'s versions, newest first: those below
    /// `before_version` (null: from the newest), at most `limit`
    /// (1..=100000; `defaults().history_limit` is the library's usual page).
    /// The last version of a page is the next page's `before_version`. An
    /// unknown (agent, session) gives an empty page.
    pub fn stateHistoryPage(
        self: States,
        agent_id: u64,
        session_id: u64,
        before_version: ?u64,
        limit: u32,
    ) (Error || Allocator.Error)!Owned([]const State) {
        var list: [*c]c.AgentDbStateList = null;
        try self.ctx.check(c.agent_db_state_history_page(
            self.ctx.handle,
            agent_id,
            session_id,
            before_version orelse std.math.maxInt(u64),
            limit,
            &list,
        ));
        defer c.agent_db_state_list_free(list);
        std.debug.assert(list.*.len <= limit);
        return self.ownStates(list);
    }

    /// `queryHistory` as one Arrow C stream (columns agent_id, session_id,
    /// version, timestamp_ms, state_type, data, metadata, checksum, key; key
    /// is null for an unkeyed version), read in place; release it with
    /// `stream.release.?(&stream)`.
    pub fn queryHistoryArrow(self: States, query: HistoryQuery) Error!c.struct_ArrowArrayStream {
        const c_query = try self.cQuery(query);
        var stream: c.struct_ArrowArrayStream = undefined;
        try self.ctx.check(c.agent_db_query_history_arrow(self.ctx.handle, &c_query, &stream));
        return stream;
    }

    /// Names the current latest version of (agent, session); returns that
    /// version (`listSnapshots` gives the full records).
    pub fn createSnapshot(self: States, agent_id: u64, session_id: u64, name: []const u8) (Error || Allocator.Error)!u64 {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_name = try self.ctx.cString(scratch.allocator(), name);
        var raw: [*c]c.AgentDbSnapshot = null;
        try self.ctx.check(c.agent_db_create_snapshot(self.ctx.handle, agent_id, session_id, c_name, &raw));
        defer c.agent_db_snapshot_free(raw);
        std.debug.assert(raw.*.agent_id == agent_id and raw.*.session_id == session_id);
        std.debug.assert(raw.*.version >= 1);
        return raw.*.version;
    }

    /// The agent's snapshots, oldest first.
    pub fn listSnapshots(self: States, agent_id: u64) (Error || Allocator.Error)!Owned([]const Snapshot) {
        var list: [*c]c.AgentDbSnapshotList = null;
        try self.ctx.check(c.agent_db_list_snapshots(self.ctx.handle, agent_id, &list));
        defer c.agent_db_snapshot_list_free(list);

        var owned = try Owned([]const Snapshot).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const snapshots = try arena.alloc(Snapshot, list.*.len);
        for (snapshots, 0..) |*snapshot, i| snapshot.* = try copySnapshot(arena, &list.*.items[i]);
        owned.value = snapshots;
        return owned;
    }

    /// Rollback: saves the snapshot's state as a new latest version of its
    /// session and returns that version. History keeps every version.
    pub fn restoreSnapshot(self: States, agent_id: u64, name: []const u8) (Error || Allocator.Error)!Owned(State) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const c_name = try self.ctx.cString(scratch.allocator(), name);
        var raw: [*c]c.AgentDbState = null;
        try self.ctx.check(c.agent_db_restore_snapshot(self.ctx.handle, agent_id, c_name, &raw));
        defer c.agent_db_state_free(raw);
        return self.ownState(raw);
    }

    /// Removes every state version and snapshot of the agent.
    pub fn deleteAgent(self: States, agent_id: u64) Error!void {
        try self.ctx.check(c.agent_db_delete_agent(self.ctx.handle, agent_id));
    }

    /// Saves `value` as JSON (std.json) in a new version of (agent, session).
    /// The state type is `T.agentdb_state_type` when `T` declares one, else
    /// `.context`.
    pub fn saveTyped(self: States, comptime T: type, agent_id: u64, session_id: u64, value: T) (Error || Allocator.Error)!u64 {
        const json = try std.json.Stringify.valueAlloc(self.ctx.allocator, value, .{});
        defer self.ctx.allocator.free(json);
        return self.saveState(agent_id, session_id, typedStateType(T), json, &.{});
    }

    /// The latest state of (agent, session) (any session when null) parsed
    /// as a `T`; `deinit` the result. Fields `T` does not declare are
    /// ignored, so a type may shrink; new fields need default values.
    pub fn loadTyped(self: States, comptime T: type, agent_id: u64, session_id: ?u64) !std.json.Parsed(T) {
        const raw = try self.loadRaw(agent_id, session_id);
        defer c.agent_db_state_free(raw);
        return parseTyped(T, self.ctx.allocator, convert.view(u8, raw.*.data, raw.*.data_len));
    }

    /// One exact version parsed as a `T`; `deinit` the result.
    pub fn loadTypedVersion(self: States, comptime T: type, agent_id: u64, session_id: u64, version: u64) !std.json.Parsed(T) {
        var raw: [*c]c.AgentDbState = null;
        try self.ctx.check(c.agent_db_load_state_version(self.ctx.handle, agent_id, session_id, version, &raw));
        defer c.agent_db_state_free(raw);
        return parseTyped(T, self.ctx.allocator, convert.view(u8, raw.*.data, raw.*.data_len));
    }

    fn loadRaw(self: States, agent_id: u64, session_id: ?u64) Error![*c]c.AgentDbState {
        var raw: [*c]c.AgentDbState = null;
        if (session_id) |session| {
            try self.ctx.check(c.agent_db_load_state(self.ctx.handle, agent_id, session, &raw));
        } else {
            try self.ctx.check(c.agent_db_load_latest_state(self.ctx.handle, agent_id, &raw));
        }
        std.debug.assert(raw != null);
        return raw;
    }

    fn ownState(self: States, raw: [*c]const c.AgentDbState) (Error || Allocator.Error)!Owned(State) {
        var owned = try Owned(State).init(self.ctx.allocator);
        errdefer owned.deinit();
        owned.value = try copyState(owned.arena.allocator(), raw);
        return owned;
    }

    fn ownStates(self: States, list: [*c]const c.AgentDbStateList) (Error || Allocator.Error)!Owned([]const State) {
        var owned = try Owned([]const State).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const states = try arena.alloc(State, list.*.len);
        for (states, 0..) |*state, i| state.* = try copyState(arena, &list.*.items[i]);
        owned.value = states;
        return owned;
    }

    fn cQuery(self: States, query: HistoryQuery) Error!c.AgentDbHistoryQuery {
        var c_query: c.AgentDbHistoryQuery = undefined;
        try self.ctx.check(c.agent_db_history_query_init(query.agent_id, &c_query));
        if (query.session_id) |session| {
            c_query.session_id = session;
            c_query.has_session = true;
        }
        if (query.from_ms) |from| c_query.from_ms = from;
        if (query.to_ms) |to| c_query.to_ms = to;
        if (query.limit) |limit| c_query.limit = limit;
        return c_query;
    }
};

fn typedStateType(comptime T: type) StateType {
    return switch (@typeInfo(T)) {
        .@"struct", .@"union", .@"enum" => if (@hasDecl(T, "agentdb_state_type")) T.agentdb_state_type else .context,
        else => .context,
    };
}

fn parseTyped(comptime T: type, allocator: Allocator, json: []const u8) !std.json.Parsed(T) {
    // alloc_always: the parsed value must not point into the C buffer, which
    // is freed as soon as this returns.
    return std.json.parseFromSlice(T, allocator, json, .{
        .allocate = .alloc_always,
        .ignore_unknown_fields = true,
    });
}

fn copyState(arena: Allocator, raw: [*c]const c.AgentDbState) (Error || Allocator.Error)!State {
    return .{
        .agent_id = raw.*.agent_id,
        .session_id = raw.*.session_id,
        .version = raw.*.version,
        .timestamp_ms = raw.*.timestamp_ms,
        .state_type = try convert.enumFromC(StateType, raw.*.state_type),
        .checksum = raw.*.checksum,
        .data = try convert.dupeItems(u8, arena, raw.*.data, raw.*.data_len),
        .metadata = try convert.parseMetadata(arena, raw.*.metadata_json),
        .key = if (raw.*.key == null) null else try convert.dupeString(arena, raw.*.key),
    };
}

fn copySnapshot(arena: Allocator, raw: [*c]const c.AgentDbSnapshot) Allocator.Error!Snapshot {
    return .{
        .agent_id = raw.*.agent_id,
        .session_id = raw.*.session_id,
        .version = raw.*.version,
        .created_at_ms = raw.*.created_at_ms,
        .name = try convert.dupeString(arena, raw.*.name),
    };
}

//! Runs the language-neutral cases in tests/conformance/*.json (format:
//! tests/conformance/README.md) through the Zig package, with the same
//! operations and expected results as the Rust runner
//! (crates/agentdb/tests/conformance.rs). A drift between surfaces fails here.
//! An argument a case leaves out takes the package's default: null where the
//! API has one, else the library's (`agentdb.defaults`), never a value
//! written here.
const std = @import("std");
const testing = std.testing;
const Allocator = std.mem.Allocator;
const Value = std.json.Value;
const agentdb = @import("agentdb");
const cases_dir = @import("conformance_options").cases_dir;

const StepError = agentdb.Error || Allocator.Error || error{BadCase};

test "conformance cases pass" {
    const allocator = testing.allocator;
    var dir = try std.fs.cwd().openDir(cases_dir, .{ .iterate = true });
    defer dir.close();

    var names: std.ArrayList([]const u8) = .empty;
    defer {
        for (names.items) |name| allocator.free(name);
        names.deinit(allocator);
    }
    var it = dir.iterate();
    while (try it.next()) |entry| {
        if (entry.kind == .file and std.mem.endsWith(u8, entry.name, ".json")) {
            try names.append(allocator, try allocator.dupe(u8, entry.name));
        }
    }
    std.mem.sort([]const u8, names.items, {}, struct {
        fn lessThan(_: void, a: []const u8, b: []const u8) bool {
            return std.mem.lessThan(u8, a, b);
        }
    }.lessThan);
    try testing.expect(names.items.len >= 4);

    var steps_run: usize = 0;
    for (names.items) |name| steps_run += try runCase(allocator, dir, name);
    try testing.expect(steps_run >= 60);
}

fn runCase(allocator: Allocator, dir: std.fs.Dir, file_name: []const u8) !usize {
    const bytes = try dir.readFileAlloc(allocator, file_name, 1 << 20);
    defer allocator.free(bytes);
    const case = try std.json.parseFromSlice(Value, allocator, bytes, .{});
    defer case.deinit();

    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmp.dir.realpathAlloc(allocator, ".");
    defer allocator.free(path);

    // As the Rust runner: no background flush or maintenance during a case.
    var options: agentdb.Options = .{ .flush_interval_ms = 3_600_000, .maintenance_interval_ms = 0 };
    if (case.value.object.get("options")) |o| {
        if (o.object.get("max_payload_bytes")) |v| options.max_payload_bytes = @intCast(v.integer);
        if (o.object.get("memory_dimension")) |v| options.memory_dimension = @intCast(v.integer);
        if (o.object.get("chunk_chars")) |v| options.chunk_chars = @intCast(v.integer);
        if (o.object.get("chunk_overlap")) |v| options.chunk_overlap = @intCast(v.integer);
    }
    const library_defaults = try agentdb.defaults(allocator, null);
    var diagnostics: agentdb.Diagnostics = .{};
    options.diagnostics = &diagnostics;

    var db = try agentdb.AgentDB.open(allocator, path, options);
    defer db.deinit();

    // Memories named by a step's "as" (ids are engine-assigned); kept across
    // reopen, as the Rust runner keeps them for the whole case.
    var memory_names: Names = .init(allocator);
    defer memory_names.deinit();

    const steps = case.value.object.get("steps").?.array.items;
    for (steps, 0..) |step, i| {
        const op = step.object.get("op").?.string;
        if (std.mem.eql(u8, op, "reopen")) {
            try db.close();
            db = try agentdb.AgentDB.open(allocator, path, options);
            continue;
        }
        var arena: std.heap.ArenaAllocator = .init(allocator);
        defer arena.deinit();
        const args: Value = step.object.get("args") orelse .{ .object = .init(arena.allocator()) };
        const got = runOp(arena.allocator(), &db, op, args, &memory_names, library_defaults);

        const expect_error: ?[]const u8 = if (step.object.get("expect_error")) |e| e.string else null;
        if (got) |value| {
            if (expect_error) |code| {
                std.debug.print("{s} step {d} ({s}): expected error {s}, got {f}\n", .{ file_name, i, op, code, std.json.fmt(value, .{}) });
                return error.TestUnexpectedResult;
            }
            if (step.object.get("expect")) |want| {
                if (want == .object) {
                    var fields = want.object.iterator();
                    while (fields.next()) |field| {
                        if (std.mem.eql(u8, field.key_ptr.*, "same_as")) {
                            // The result is the memory an earlier step named.
                            if (field.value_ptr.* != .string) {
                                std.debug.print("{s} step {d} ({s}): same_as names a memory\n", .{ file_name, i, op });
                                return error.BadCase;
                            }
                            const name = field.value_ptr.string;
                            const got_id = resultMemoryId(value);
                            const want_id = memory_names.get(name);
                            if (!std.meta.eql(got_id, want_id)) {
                                std.debug.print("{s} step {d} ({s}): same memory as {s}: expected id {?d}, got {?d}\n", .{ file_name, i, op, name, want_id, got_id });
                                return error.TestExpectedEqual;
                            }
                            continue;
                        }
                        const actual: Value = value.object.get(field.key_ptr.*) orelse .null;
                        if (!jsonEqual(field.value_ptr.*, actual)) {
                            std.debug.print("{s} step {d} ({s}): field {s}: expected {f}, got {f}\n", .{
                                file_name,                            i,                         op, field.key_ptr.*,
                                std.json.fmt(field.value_ptr.*, .{}), std.json.fmt(actual, .{}),
                            });
                            return error.TestExpectedEqual;
                        }
                    }
                }
            }
            if (step.object.get("as")) |as| if (as == .string) {
                const id = resultMemoryId(value) orelse {
                    std.debug.print("{s} step {d} ({s}): an op that names a memory returns memory_id\n", .{ file_name, i, op });
                    return error.BadCase;
                };
                try memory_names.put(as.string, id);
            };
        } else |err| switch (err) {
            error.OutOfMemory => return err,
            error.BadCase => {
                std.debug.print("{s} step {d} ({s}): malformed step\n", .{ file_name, i, op });
                return err;
            },
            else => |e| {
                const code = agentdb.errorName(e);
                if (expect_error == null or !std.mem.eql(u8, expect_error.?, code)) {
                    std.debug.print("{s} step {d} ({s}): expected {s}, got error {s}: {s}\n", .{
                        file_name, i, op, expect_error orelse "success", code, diagnostics.message(),
                    });
                    return error.TestUnexpectedResult;
                }
            },
        }
    }
    return steps.len;
}

/// Memory names (borrowed from the parsed case) to engine-assigned ids.
const Names = std.StringHashMap(u64);

/// The result's `memory_id` as an id, if it has one.
fn resultMemoryId(value: Value) ?u64 {
    const v = value.object.get("memory_id") orelse return null;
    return if (v == .integer and v.integer >= 0) @intCast(v.integer) else null;
}

/// A memory id named by an earlier step's "as" (`"memory": NAME`), or given
/// directly (`"memory_id"`).
fn memoryId(args: Value, names: *const Names) error{BadCase}!u64 {
    const name = str(args, "memory") orelse return uint(args, "memory_id");
    return names.get(name) orelse {
        std.debug.print("no memory named {s}\n", .{name});
        return error.BadCase;
    };
}

fn runOp(
    arena: Allocator,
    db: *agentdb.AgentDB,
    op: []const u8,
    args: Value,
    memory_names: *const Names,
    defaults: agentdb.Defaults,
) StepError!Value {
    var out: std.json.ObjectMap = .init(arena);
    const eql = std.mem.eql;
    if (eql(u8, op, "save_state")) {
        const state_type = if (str(args, "state_type")) |name| try parseName(agentdb.StateType, name) else defaults.state_type;
        const agent_id = try uint(args, "agent_id");
        const session_id = try uint(args, "session_id");
        const data = str(args, "data") orelse "";
        const version = if (str(args, "key")) |key|
            try db.states.saveStateKeyed(agent_id, session_id, key, state_type, data, try metadata(arena, args))
        else
            try db.states.saveState(agent_id, session_id, state_type, data, try metadata(arena, args));
        try out.put("version", .{ .integer = @intCast(version) });
    } else if (eql(u8, op, "load_state_by_key")) {
        const state = try db.states.loadStateByKey(try uint(args, "agent_id"), try uint(args, "session_id"), str(args, "key") orelse "");
        defer state.deinit();
        return stateValue(arena, state.value);
    } else if (eql(u8, op, "state_history_page")) {
        const page = try db.states.stateHistoryPage(
            try uint(args, "agent_id"),
            try uint(args, "session_id"),
            optUint(args, "before_version"),
            try limitArg(args, "limit", defaults.history_limit),
        );
        defer page.deinit();
        var versions: std.json.Array = .init(arena);
        var data: std.json.Array = .init(arena);
        var keys: std.json.Array = .init(arena);
        for (page.value) |state| {
            try versions.append(.{ .integer = @intCast(state.version) });
            try data.append(.{ .string = try arena.dupe(u8, state.data) });
            try keys.append(if (state.key) |key| .{ .string = try arena.dupe(u8, key) } else .null);
        }
        try out.put("versions", .{ .array = versions });
        try out.put("data", .{ .array = data });
        try out.put("keys", .{ .array = keys });
    } else if (eql(u8, op, "load_state")) {
        const session: ?u64 = if (args.object.get("session_id")) |_| try uint(args, "session_id") else null;
        const state = try db.states.loadState(try uint(args, "agent_id"), session);
        defer state.deinit();
        return stateValue(arena, state.value);
    } else if (eql(u8, op, "load_state_version")) {
        const state = try db.states.loadStateVersion(try uint(args, "agent_id"), try uint(args, "session_id"), try uint(args, "version"));
        defer state.deinit();
        return stateValue(arena, state.value);
    } else if (eql(u8, op, "query_history")) {
        const history = try db.states.queryHistory(.{
            .agent_id = try uint(args, "agent_id"),
            .session_id = if (args.object.get("session_id")) |_| try uint(args, "session_id") else null,
            .from_ms = if (args.object.get("from_ms")) |v| v.integer else null,
            .to_ms = if (args.object.get("to_ms")) |v| v.integer else null,
            .limit = if (args.object.get("limit")) |_| std.math.cast(u32, try uint(args, "limit")) orelse std.math.maxInt(u32) else null,
        });
        defer history.deinit();
        var versions: std.json.Array = .init(arena);
        var data: std.json.Array = .init(arena);
        for (history.value) |state| {
            try versions.append(.{ .integer = @intCast(state.version) });
            try data.append(.{ .string = try arena.dupe(u8, state.data) });
        }
        try out.put("versions", .{ .array = versions });
        try out.put("data", .{ .array = data });
    } else if (eql(u8, op, "create_snapshot")) {
        const agent_id = try uint(args, "agent_id");
        const session_id = try uint(args, "session_id");
        const name = str(args, "name") orelse "";
        const version = try db.states.createSnapshot(agent_id, session_id, name);
        try out.put("agent_id", .{ .integer = @intCast(agent_id) });
        try out.put("session_id", .{ .integer = @intCast(session_id) });
        try out.put("name", .{ .string = name });
        try out.put("version", .{ .integer = @intCast(version) });
    } else if (eql(u8, op, "list_snapshots")) {
        const snapshots = try db.states.listSnapshots(try uint(args, "agent_id"));
        defer snapshots.deinit();
        var names: std.json.Array = .init(arena);
        for (snapshots.value) |snapshot| try names.append(.{ .string = try arena.dupe(u8, snapshot.name) });
        try out.put("names", .{ .array = names });
    } else if (eql(u8, op, "restore_snapshot")) {
        const state = try db.states.restoreSnapshot(try uint(args, "agent_id"), str(args, "name") orelse "");
        defer state.deinit();
        return stateValue(arena, state.value);
    } else if (eql(u8, op, "delete_agent")) {
        try db.states.deleteAgent(try uint(args, "agent_id"));
    } else if (eql(u8, op, "flush")) {
        try db.flush();
    } else if (eql(u8, op, "compact")) {
        try db.compact();
    } else if (eql(u8, op, "store_memory")) {
        const outcome = try db.memories.storeMemoryOutcome(.{
            .agent_id = try uint(args, "agent_id"),
            .memory_type = if (str(args, "memory_type")) |name| try parseName(agentdb.MemoryType, name) else null,
            .content = str(args, "content") orelse "",
            .importance = if (number(args, "importance")) |i| @as(f32, @floatCast(i)) else null,
            .embedding = try floats(arena, args, "embedding"),
        });
        defer outcome.deinit();
        try out.put("stored", .{ .bool = true });
        try out.put("memory_id", .{ .integer = @intCast(outcome.value.memory_id) });
        try out.put("kind", .{ .string = @tagName(outcome.value.kind) });
        try out.put("absorbed_count", .{ .integer = @intCast(outcome.value.absorbed.len) });
        try out.put("evicted_count", .{ .integer = @intCast(outcome.value.evicted.len) });
    } else if (eql(u8, op, "get_memory")) {
        const memory = try db.memories.getMemory(try memoryId(args, memory_names));
        defer memory.deinit();
        return memoryValue(arena, memory.value);
    } else if (eql(u8, op, "pin_memory")) {
        try db.memories.pinMemory(try memoryId(args, memory_names));
    } else if (eql(u8, op, "unpin_memory")) {
        try db.memories.unpinMemory(try memoryId(args, memory_names));
    } else if (eql(u8, op, "forget")) {
        const forgotten = try db.memories.forget(try uint(args, "agent_id"), .{
            .older_than_ms = optUint(args, "older_than_ms") orelse defaults.forget.older_than_ms,
            .min_importance = if (number(args, "min_importance")) |m| @floatCast(m) else defaults.forget.min_importance,
            .decay_half_life_ms = optUint(args, "decay_half_life_ms") orelse defaults.forget.decay_half_life_ms,
        });
        try out.put("forgotten", .{ .integer = @intCast(forgotten) });
    } else if (eql(u8, op, "gc")) {
        const removed = try db.gc(.{
            .keep_last = optUint(args, "keep_last"),
            .keep_newer_than_ms = optUint(args, "keep_newer_than_ms"),
        });
        try out.put("removed", .{ .integer = @intCast(removed) });
    } else if (eql(u8, op, "retrieve_similar")) {
        var types: std.ArrayList(agentdb.MemoryType) = .empty;
        if (args.object.get("memory_types")) |list| {
            for (list.array.items) |t| try types.append(arena, try parseName(agentdb.MemoryType, t.string));
        }
        const hits = try db.memories.retrieveMemoriesByVector(
            try uint(args, "agent_id"),
            (try floats(arena, args, "vector")) orelse &.{},
            try limitArg(args, "limit", defaults.retrieve_limit),
            .{ .memory_types = types.items },
        );
        defer hits.deinit();
        var contents: std.json.Array = .init(arena);
        for (hits.value) |hit| try contents.append(.{ .string = try arena.dupe(u8, hit.memory.content) });
        try out.put("contents", .{ .array = contents });
        try out.put("count", .{ .integer = @intCast(hits.value.len) });
    } else if (eql(u8, op, "create_collection")) {
        const metric = if (str(args, "metric")) |name| try parseName(agentdb.Metric, name) else defaults.metric;
        const dimension = std.math.cast(u32, try uint(args, "dimension")) orelse std.math.maxInt(u32);
        try db.vectors.createCollection(str(args, "name") orelse "", dimension, metric);
    } else if (eql(u8, op, "insert_vector")) {
        try db.vectors.insertVector(
            str(args, "collection") orelse "",
            str(args, "id") orelse "",
            (try floats(arena, args, "vector")) orelse &.{},
            try metadata(arena, args),
        );
    } else if (eql(u8, op, "delete_vector")) {
        try db.vectors.deleteVector(str(args, "collection") orelse "", str(args, "id") orelse "");
    } else if (eql(u8, op, "search_knn") or eql(u8, op, "search_range")) {
        const collection = str(args, "collection") orelse "";
        const query = (try floats(arena, args, "vector")) orelse &.{};
        const options: agentdb.SearchOptions = .{ .metadata = try metadata(arena, args) };
        const hits = if (eql(u8, op, "search_knn"))
            try db.vectors.searchKNN(collection, query, try limitArg(args, "k", defaults.knn_k), options)
        else
            try db.vectors.searchRange(collection, query, @floatCast(number(args, "radius") orelse 0), try limitArg(args, "max_results", defaults.range_max_results), options);
        defer hits.deinit();
        try out.put("count", .{ .integer = @intCast(hits.value.len) });
        var ids: std.json.Array = .init(arena);
        var distances: std.json.Array = .init(arena);
        for (hits.value) |hit| {
            try ids.append(.{ .string = try arena.dupe(u8, hit.id) });
            try distances.append(.{ .float = @round(@as(f64, hit.distance) * 1000) / 1000 });
        }
        try out.put("ids", .{ .array = ids });
        try out.put("distances", .{ .array = distances });
    } else if (eql(u8, op, "defaults")) {
        // The typed view this package reads, not the library's raw JSON.
        return toValue(arena, try agentdb.defaults(arena, null));
    } else if (eql(u8, op, "index_document")) {
        const info = try db.rag.indexDocument(.{
            .doc_id = str(args, "doc_id") orelse "",
            .title = str(args, "title"),
            .text = str(args, "text") orelse "",
            .metadata = try metadata(arena, args),
        });
        defer info.deinit();
        return documentValue(arena, info.value);
    } else if (eql(u8, op, "get_document")) {
        const info = try db.rag.getDocument(str(args, "doc_id") orelse "");
        defer info.deinit();
        return documentValue(arena, info.value);
    } else if (eql(u8, op, "delete_document")) {
        try db.rag.deleteDocument(str(args, "doc_id") orelse "");
    } else if (eql(u8, op, "semantic_search") or eql(u8, op, "full_text_search") or eql(u8, op, "hybrid_search")) {
        const query = str(args, "query") orelse "";
        const limit = try limitArg(args, "limit", defaults.search_limit);
        var doc_ids: std.ArrayList([]const u8) = .empty;
        if (args.object.get("doc_ids")) |list| {
            for (list.array.items) |id| try doc_ids.append(arena, id.string);
        }
        const filter: agentdb.DocFilter = .{ .doc_ids = doc_ids.items, .metadata = try metadata(arena, args) };
        const hits = if (eql(u8, op, "semantic_search"))
            try db.rag.semanticSearch(query, limit, filter)
        else if (eql(u8, op, "full_text_search"))
            try db.rag.fullTextSearch(query, limit, filter)
        else
            try db.rag.hybridSearch(query, null, limit, try fusionArg(args, defaults), filter);
        defer hits.deinit();
        return hitsValue(arena, hits.value);
    } else if (eql(u8, op, "put_item")) {
        const item = try db.items.putItem(try itemPut(arena, args));
        defer item.deinit();
        return itemValue(arena, item.value);
    } else if (eql(u8, op, "write_items")) {
        const list = args.object.get("writes") orelse return error.BadCase;
        if (list != .array) return error.BadCase;
        const writes = try arena.alloc(agentdb.ItemWrite, list.array.items.len);
        for (list.array.items, writes) |w, *write| {
            if (w != .object) return error.BadCase;
            if (w.object.get("put")) |put| {
                write.* = .{ .put = try itemPut(arena, put) };
            } else if (w.object.get("delete")) |delete| {
                write.* = .{ .delete = .{ .namespace = try labels(arena, delete, "namespace"), .key = str(delete, "key") orelse "" } };
            } else return error.BadCase;
        }
        const report = try db.items.writeItems(writes);
        try out.put("put", .{ .integer = @intCast(report.put) });
        try out.put("deleted", .{ .integer = @intCast(report.deleted) });
    } else if (eql(u8, op, "get_item")) {
        const item = try db.items.getItem(try labels(arena, args, "namespace"), str(args, "key") orelse "") orelse {
            try out.put("found", .{ .bool = false });
            return .{ .object = out };
        };
        defer item.deinit();
        return itemValue(arena, item.value);
    } else if (eql(u8, op, "delete_item")) {
        const deleted = try db.items.deleteItem(try labels(arena, args, "namespace"), str(args, "key") orelse "");
        try out.put("deleted", .{ .bool = deleted });
    } else if (eql(u8, op, "search_items")) {
        const filter: ?[]const u8 = if (args.object.get("filter")) |f|
            (if (f == .null) null else try std.json.Stringify.valueAlloc(arena, f, .{}))
        else
            null;
        const page = try db.items.searchItems(.{
            .prefix = try labels(arena, args, "prefix"),
            .filter_json = filter,
            .metadata = try metadata(arena, args),
            .limit = if (args.object.get("limit")) |_| try limitArg(args, "limit", defaults.item_search_limit) else null,
            .offset = try limitArg(args, "offset", 0),
        });
        defer page.deinit();
        var namespaces: std.json.Array = .init(arena);
        var keys: std.json.Array = .init(arena);
        var values: std.json.Array = .init(arena);
        for (page.value.items) |item| {
            try namespaces.append(try labelsValue(arena, item.namespace));
            try keys.append(.{ .string = try arena.dupe(u8, item.key) });
            try values.append(try jsonValue(arena, item.value_json));
        }
        try out.put("namespaces", .{ .array = namespaces });
        try out.put("keys", .{ .array = keys });
        try out.put("values", .{ .array = values });
        try out.put("total", .{ .integer = @intCast(page.value.total) });
        try out.put("count", .{ .integer = @intCast(page.value.items.len) });
    } else if (eql(u8, op, "list_item_namespaces")) {
        const list = try db.items.listItemNamespaces(.{
            .prefix = try labels(arena, args, "prefix"),
            .suffix = try labels(arena, args, "suffix"),
            .max_depth = if (optUint(args, "max_depth")) |d| std.math.cast(u32, d) orelse std.math.maxInt(u32) else null,
            .limit = if (args.object.get("limit")) |_| try limitArg(args, "limit", defaults.namespace_list_limit) else null,
            .offset = try limitArg(args, "offset", 0),
        });
        defer list.deinit();
        var namespaces: std.json.Array = .init(arena);
        for (list.value) |namespace| try namespaces.append(try labelsValue(arena, namespace));
        try out.put("namespaces", .{ .array = namespaces });
    } else if (eql(u8, op, "sweep_expired_items")) {
        try out.put("deleted", .{ .integer = @intCast(try db.items.sweepExpiredItems()) });
    } else {
        std.debug.print("unknown conformance op {s}\n", .{op});
        return error.BadCase;
    }
    return .{ .object = out };
}

/// A case's put: `namespace`, `key`, `value` (any JSON, passed as its
/// text), `metadata`?, `ttl_ms`?.
fn itemPut(arena: Allocator, args: Value) StepError!agentdb.ItemPut {
    if (args != .object) return error.BadCase;
    const value = args.object.get("value") orelse return error.BadCase;
    return .{
        .namespace = try labels(arena, args, "namespace"),
        .key = str(args, "key") orelse "",
        .value_json = try std.json.Stringify.valueAlloc(arena, value, .{}),
        .metadata = try metadata(arena, args),
        .ttl_ms = optUint(args, "ttl_ms"),
    };
}

/// A list of labels (`namespace`, `prefix`, `suffix`); absent: none.
fn labels(arena: Allocator, args: Value, key: []const u8) StepError!agentdb.Namespace {
    const v = args.object.get(key) orelse return &.{};
    if (v != .array) return error.BadCase;
    const out = try arena.alloc([]const u8, v.array.items.len);
    for (v.array.items, out) |label, *o| {
        if (label != .string) return error.BadCase;
        o.* = label.string;
    }
    return out;
}

fn labelsValue(arena: Allocator, namespace: agentdb.Namespace) Allocator.Error!Value {
    var out: std.json.Array = .init(arena);
    for (namespace) |label| try out.append(.{ .string = try arena.dupe(u8, label) });
    return .{ .array = out };
}

/// JSON text from the library as a value; text that does not parse means
/// the library broke its contract.
fn jsonValue(arena: Allocator, text: []const u8) StepError!Value {
    return std.json.parseFromSliceLeaky(Value, arena, text, .{ .allocate = .alloc_always }) catch |err| switch (err) {
        error.OutOfMemory => error.OutOfMemory,
        else => error.Unexpected,
    };
}

/// The item as the conformance format spells it.
fn itemValue(arena: Allocator, item: agentdb.Item) StepError!Value {
    var out: std.json.ObjectMap = .init(arena);
    try out.put("found", .{ .bool = true });
    try out.put("namespace", try labelsValue(arena, item.namespace));
    try out.put("key", .{ .string = try arena.dupe(u8, item.key) });
    try out.put("value", try jsonValue(arena, item.value_json));
    var meta: std.json.ObjectMap = .init(arena);
    for (item.metadata) |entry| try meta.put(try arena.dupe(u8, entry.key), .{ .string = try arena.dupe(u8, entry.value) });
    try out.put("metadata", .{ .object = meta });
    try out.put("ttl_ms", if (item.ttl_ms) |t| .{ .integer = @intCast(t) } else .null);
    return .{ .object = out };
}

/// A case's `fusion` ("weighted" | "rrf") and `alpha`, the library's defaults when absent.
fn fusionArg(args: Value, defaults: agentdb.Defaults) error{BadCase}!agentdb.Fusion {
    const alpha: f32 = if (number(args, "alpha")) |a| @floatCast(a) else defaults.hybrid_alpha;
    const kind = if (str(args, "fusion")) |name|
        std.meta.stringToEnum(agentdb.Defaults.FusionKind, name) orelse return error.BadCase
    else
        defaults.hybrid_fusion;
    return switch (kind) {
        .weighted => .{ .weighted = alpha },
        .rrf => .reciprocal_rank,
    };
}

/// An optional count argument (`limit`, `k`, ...), else `default`.
fn limitArg(args: Value, key: []const u8, default: u32) error{BadCase}!u32 {
    if (args.object.get(key) == null) return default;
    return std.math.cast(u32, try uint(args, key)) orelse std.math.maxInt(u32);
}

fn documentValue(arena: Allocator, info: agentdb.DocumentInfo) Allocator.Error!Value {
    var out: std.json.ObjectMap = .init(arena);
    try out.put("doc_id", .{ .string = try arena.dupe(u8, info.doc_id) });
    try out.put("title", .{ .string = try arena.dupe(u8, info.title) });
    var meta: std.json.ObjectMap = .init(arena);
    for (info.metadata) |entry| try meta.put(try arena.dupe(u8, entry.key), .{ .string = try arena.dupe(u8, entry.value) });
    try out.put("metadata", .{ .object = meta });
    try out.put("chunk_count", .{ .integer = info.chunk_count });
    try out.put("char_count", .{ .integer = @intCast(info.char_count) });
    return .{ .object = out };
}

/// A search's hits as the conformance format compares them: ids and
/// positions in order (and the sorted distinct documents), never scores.
fn hitsValue(arena: Allocator, hits: []const agentdb.ChunkHit) Allocator.Error!Value {
    var out: std.json.ObjectMap = .init(arena);
    var doc_ids: std.json.Array = .init(arena);
    var chunk_ids: std.json.Array = .init(arena);
    var positions: std.json.Array = .init(arena);
    var starts: std.json.Array = .init(arena);
    var ends: std.json.Array = .init(arena);
    var contents: std.json.Array = .init(arena);
    var docs: std.ArrayList([]const u8) = .empty;
    for (hits) |hit| {
        try doc_ids.append(.{ .string = try arena.dupe(u8, hit.doc_id) });
        try chunk_ids.append(.{ .string = try arena.dupe(u8, hit.chunk_id) });
        try positions.append(.{ .integer = hit.position });
        try starts.append(.{ .integer = @intCast(hit.start_char) });
        try ends.append(.{ .integer = @intCast(hit.end_char) });
        try contents.append(.{ .string = try arena.dupe(u8, hit.content) });
        for (docs.items) |d| {
            if (std.mem.eql(u8, d, hit.doc_id)) break;
        } else try docs.append(arena, try arena.dupe(u8, hit.doc_id));
    }
    std.mem.sort([]const u8, docs.items, {}, struct {
        fn lessThan(_: void, a: []const u8, b: []const u8) bool {
            return std.mem.lessThan(u8, a, b);
        }
    }.lessThan);
    var docs_value: std.json.Array = .init(arena);
    for (docs.items) |d| try docs_value.append(.{ .string = d });
    try out.put("count", .{ .integer = @intCast(hits.len) });
    try out.put("doc_ids", .{ .array = doc_ids });
    try out.put("docs", .{ .array = docs_value });
    try out.put("chunk_ids", .{ .array = chunk_ids });
    try out.put("positions", .{ .array = positions });
    try out.put("starts", .{ .array = starts });
    try out.put("ends", .{ .array = ends });
    try out.put("contents", .{ .array = contents });
    return .{ .object = out };
}

/// A plain struct of numbers, bools, enums and optionals (`agentdb.Defaults`)
/// as JSON: enums by name, floats as the shortest decimals their f32
/// round to (0.88, not 0.8799999952316284), as every surface spells them.
fn toValue(arena: Allocator, value: anytype) Allocator.Error!Value {
    const T = @TypeOf(value);
    return switch (@typeInfo(T)) {
        .bool => .{ .bool = value },
        .int => .{ .integer = @intCast(value) },
        .float => .{ .float = @round(@as(f64, value) * 1e6) / 1e6 },
        .@"enum" => .{ .string = @tagName(value) },
        .optional => if (value) |v| toValue(arena, v) else .null,
        .@"struct" => |info| blk: {
            var out: std.json.ObjectMap = .init(arena);
            inline for (info.fields) |field| try out.put(field.name, try toValue(arena, @field(value, field.name)));
            break :blk .{ .object = out };
        },
        else => @compileError("toValue: unsupported type " ++ @typeName(T)),
    };
}

/// The state as the conformance format spells it (SPEC.md names).
fn stateValue(arena: Allocator, state: agentdb.State) Allocator.Error!Value {
    var out: std.json.ObjectMap = .init(arena);
    try out.put("agent_id", .{ .integer = @intCast(state.agent_id) });
    try out.put("session_id", .{ .integer = @intCast(state.session_id) });
    try out.put("version", .{ .integer = @intCast(state.version) });
    try out.put("state_type", .{ .string = @tagName(state.state_type) });
    try out.put("data", .{ .string = try arena.dupe(u8, state.data) });
    var meta: std.json.ObjectMap = .init(arena);
    for (state.metadata) |entry| try meta.put(try arena.dupe(u8, entry.key), .{ .string = try arena.dupe(u8, entry.value) });
    try out.put("metadata", .{ .object = meta });
    try out.put("key", if (state.key) |key| .{ .string = try arena.dupe(u8, key) } else .null);
    return .{ .object = out };
}

/// The memory as the conformance format spells it; importance rounded to 3
/// decimals.
fn memoryValue(arena: Allocator, memory: agentdb.Memory) Allocator.Error!Value {
    var out: std.json.ObjectMap = .init(arena);
    try out.put("memory_id", .{ .integer = @intCast(memory.memory_id) });
    try out.put("content", .{ .string = try arena.dupe(u8, memory.content) });
    try out.put("memory_type", .{ .string = @tagName(memory.memory_type) });
    try out.put("importance", .{ .float = @round(@as(f64, memory.importance) * 1000) / 1000 });
    try out.put("access_count", .{ .integer = @intCast(memory.access_count) });
    try out.put("pinned", .{ .bool = memory.pinned });
    var meta: std.json.ObjectMap = .init(arena);
    for (memory.metadata) |entry| try meta.put(try arena.dupe(u8, entry.key), .{ .string = try arena.dupe(u8, entry.value) });
    try out.put("metadata", .{ .object = meta });
    return .{ .object = out };
}

/// A SPEC.md name as the package's enum; an unknown name is the library's
/// InvalidArgument, as the engine's own parsing gives.
fn parseName(comptime E: type, name: []const u8) agentdb.Error!E {
    return std.meta.stringToEnum(E, name) orelse error.InvalidArgument;
}

fn uint(args: Value, key: []const u8) error{BadCase}!u64 {
    const v = args.object.get(key) orelse {
        std.debug.print("arg {s} missing\n", .{key});
        return error.BadCase;
    };
    if (v != .integer or v.integer < 0) return error.BadCase;
    return @intCast(v.integer);
}

/// An optional non-negative integer argument (anything else: absent, as
/// serde_json's `as_u64`).
fn optUint(args: Value, key: []const u8) ?u64 {
    const v = args.object.get(key) orelse return null;
    return if (v == .integer and v.integer >= 0) @intCast(v.integer) else null;
}

fn str(args: Value, key: []const u8) ?[]const u8 {
    const v = args.object.get(key) orelse return null;
    return if (v == .string) v.string else null;
}

fn number(args: Value, key: []const u8) ?f64 {
    const v = args.object.get(key) orelse return null;
    return switch (v) {
        .integer => |i| @floatFromInt(i),
        .float => |x| x,
        else => null,
    };
}

fn floats(arena: Allocator, args: Value, key: []const u8) Allocator.Error!?[]const f32 {
    const v = args.object.get(key) orelse return null;
    if (v != .array) return null;
    const out = try arena.alloc(f32, v.array.items.len);
    for (v.array.items, out) |item, *x| x.* = switch (item) {
        .integer => |i| @floatFromInt(i),
        .float => |f| @floatCast(f),
        else => std.math.nan(f32),
    };
    return out;
}

fn metadata(arena: Allocator, args: Value) Allocator.Error!agentdb.Metadata {
    const v = args.object.get("metadata") orelse return &.{};
    if (v != .object) return &.{};
    const out = try arena.alloc(agentdb.KeyValue, v.object.count());
    var it = v.object.iterator();
    var n: usize = 0;
    while (it.next()) |entry| {
        if (entry.value_ptr.* != .string) continue;
        out[n] = .{ .key = entry.key_ptr.*, .value = entry.value_ptr.string };
        n += 1;
    }
    return out[0..n];
}

/// JSON equality with numbers compared by value (1 == 1.0), as serde_json's
/// Value comparison does for the integers and rounded floats in the cases.
fn jsonEqual(a: Value, b: Value) bool {
    const an = asNumber(a);
    const bn = asNumber(b);
    if (an != null or bn != null) return an != null and bn != null and an.? == bn.?;
    return switch (a) {
        .null => b == .null,
        .bool => |x| b == .bool and b.bool == x,
        .string => |s| b == .string and std.mem.eql(u8, s, b.string),
        .array => |xs| b == .array and xs.items.len == b.array.items.len and for (xs.items, b.array.items) |x, y| {
            if (!jsonEqual(x, y)) break false;
        } else true,
        .object => |o| b == .object and o.count() == b.object.count() and blk: {
            var it = o.iterator();
            while (it.next()) |entry| {
                const other = b.object.get(entry.key_ptr.*) orelse break :blk false;
                if (!jsonEqual(entry.value_ptr.*, other)) break :blk false;
            }
            break :blk true;
        },
        else => false,
    };
}

fn asNumber(v: Value) ?f64 {
    return switch (v) {
        .integer => |i| @floatFromInt(i),
        .float => |f| f,
        else => null,
    };
}

test "jsonEqual compares numbers by value and containers deeply" {
    var arena: std.heap.ArenaAllocator = .init(testing.allocator);
    defer arena.deinit();
    const a = try std.json.parseFromSliceLeaky(Value, arena.allocator(), "{\"x\":[1,2.0,\"s\"],\"m\":{\"k\":\"v\"}}", .{});
    const b = try std.json.parseFromSliceLeaky(Value, arena.allocator(), "{\"m\":{\"k\":\"v\"},\"x\":[1.0,2,\"s\"]}", .{});
    const c = try std.json.parseFromSliceLeaky(Value, arena.allocator(), "{\"m\":{\"k\":\"w\"},\"x\":[1.0,2,\"s\"]}", .{});
    try testing.expect(jsonEqual(a, b));
    try testing.expect(!jsonEqual(a, c));
    try testing.expect(!jsonEqual(.{ .integer = 1 }, .{ .string = "1" }));
}

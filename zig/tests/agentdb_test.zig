//! The Zig surface's tests: every operation of the package through the real
//! library (libagentdb) on a temp database per test, with the error cases
//! of SPEC.md. std.testing.allocator fails any test that leaks a result.
const std = @import("std");
const testing = std.testing;
const agentdb = @import("agentdb");
const AgentDB = agentdb.AgentDB;

/// A temp directory holding one database.
const Fixture = struct {
    tmp: testing.TmpDir,
    path: []u8,

    fn init() !Fixture {
        var tmp = testing.tmpDir(.{});
        errdefer tmp.cleanup();
        const path = try tmp.dir.realpathAlloc(testing.allocator, ".");
        return .{ .tmp = tmp, .path = path };
    }

    fn open(f: *const Fixture, options: agentdb.Options) !AgentDB {
        var o = options;
        // Background maintenance off: tests see only what they do.
        if (o.maintenance_interval_ms == null) o.maintenance_interval_ms = 0;
        return AgentDB.open(testing.allocator, f.path, o);
    }

    fn deinit(f: *Fixture) void {
        testing.allocator.free(f.path);
        f.tmp.cleanup();
    }
};

fn expectMetadata(metadata: agentdb.Metadata, key: []const u8, value: []const u8) !void {
    const got = agentdb.lookup(metadata, key) orelse {
        std.debug.print("metadata has no key {s}\n", .{key});
        return error.TestExpectedEqual;
    };
    try testing.expectEqualStrings(value, got);
}

test "states: versions, latest, exact version, metadata" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    try testing.expectEqual(@as(u64, 1), try db.states.saveState(7, 1, .context, "{\"step\":1}", &.{}));
    try testing.expectEqual(@as(u64, 2), try db.states.saveState(7, 1, .task_state, "two", &.{
        .{ .key = "k", .value = "v" },
        .{ .key = "tool", .value = "search ü" },
    }));
    try testing.expectEqual(@as(u64, 1), try db.states.saveState(7, 2, .context, "", &.{}));

    const latest = try db.states.loadState(7, 1);
    defer latest.deinit();
    try testing.expectEqual(@as(u64, 2), latest.value.version);
    try testing.expectEqual(@as(u64, 7), latest.value.agent_id);
    try testing.expectEqual(@as(u64, 1), latest.value.session_id);
    try testing.expectEqual(agentdb.StateType.task_state, latest.value.state_type);
    try testing.expectEqualStrings("two", latest.value.data);
    try testing.expectEqual(@as(usize, 2), latest.value.metadata.len);
    try expectMetadata(latest.value.metadata, "k", "v");
    try expectMetadata(latest.value.metadata, "tool", "search ü");
    try testing.expect(latest.value.checksum != 0);
    try testing.expect(latest.value.timestamp_ms > 1_600_000_000_000);

    // No session: the agent's most recent save, here the empty payload.
    const across = try db.states.loadState(7, null);
    defer across.deinit();
    try testing.expectEqual(@as(u64, 2), across.value.session_id);
    try testing.expectEqual(@as(usize, 0), across.value.data.len);

    const first = try db.states.loadStateVersion(7, 1, 1);
    defer first.deinit();
    try testing.expectEqualStrings("{\"step\":1}", first.value.data);
    try testing.expectEqual(agentdb.StateType.context, first.value.state_type);
    try testing.expectEqual(@as(usize, 0), first.value.metadata.len);

    try testing.expectError(error.NotFound, db.states.loadStateVersion(7, 1, 3));
    try testing.expectError(error.NotFound, db.states.loadState(404, 1));
    try testing.expectError(error.NotFound, db.states.loadState(404, null));
    try testing.expectError(error.NotFound, db.states.loadState(7, 9));
}

test "states: query history by session, time and limit" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    _ = try db.states.saveState(1, 1, .context, "one", &.{});
    _ = try db.states.saveState(1, 1, .context, "two", &.{});
    _ = try db.states.saveState(1, 2, .context, "other session", &.{});
    try db.flush(); // history spans flushed and pending records alike
    _ = try db.states.saveState(1, 1, .context, "three", &.{});

    const session = try db.states.queryHistory(.{ .agent_id = 1, .session_id = 1, .limit = 10 });
    defer session.deinit();
    try testing.expectEqual(@as(usize, 3), session.value.len);
    for (session.value, [_][]const u8{ "three", "two", "one" }, [_]u64{ 3, 2, 1 }) |state, data, version| {
        try testing.expectEqualStrings(data, state.data);
        try testing.expectEqual(version, state.version);
    }

    const all = try db.states.queryHistory(.{ .agent_id = 1, .limit = 2 });
    defer all.deinit();
    try testing.expectEqual(@as(usize, 2), all.value.len);
    try testing.expectEqualStrings("three", all.value[0].data);
    try testing.expectEqualStrings("other session", all.value[1].data);

    // Default limit and no bounds: everything.
    const defaults = try db.states.queryHistory(.{ .agent_id = 1 });
    defer defaults.deinit();
    try testing.expectEqual(@as(usize, 4), defaults.value.len);

    // Inclusive bounds: exactly the newest version's timestamp.
    const newest_ms = session.value[0].timestamp_ms;
    const bounded = try db.states.queryHistory(.{ .agent_id = 1, .session_id = 1, .from_ms = newest_ms, .to_ms = newest_ms });
    defer bounded.deinit();
    try testing.expect(bounded.value.len >= 1);
    for (bounded.value) |state| try testing.expectEqual(newest_ms, state.timestamp_ms);
    const future = try db.states.queryHistory(.{ .agent_id = 1, .from_ms = newest_ms + 60_000 });
    defer future.deinit();
    try testing.expectEqual(@as(usize, 0), future.value.len);

    const unknown = try db.states.queryHistory(.{ .agent_id = 99 });
    defer unknown.deinit();
    try testing.expectEqual(@as(usize, 0), unknown.value.len);

    try testing.expectError(error.InvalidArgument, db.states.queryHistory(.{ .agent_id = 1, .limit = 0 }));
    try testing.expectError(error.InvalidArgument, db.states.queryHistory(.{ .agent_id = 1, .limit = 100_001 }));
    try testing.expectError(error.InvalidArgument, db.states.queryHistory(.{ .agent_id = 1, .from_ms = 10, .to_ms = 5 }));

    var stream = try db.states.queryHistoryArrow(.{ .agent_id = 1, .limit = 10 });
    const shape = try arrowShape(&stream);
    try testing.expectEqual(@as(i64, 4), shape.rows);
    try testing.expectEqual(@as(i64, 9), shape.columns); // ..., checksum, key
}

test "states: keyed versions, load by key, history pages" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();
    const quoted = "it's \"quoted\" ' OR 1=1 --"; // compared exactly, never pasted into a filter

    try testing.expectEqual(@as(u64, 1), try db.states.saveStateKeyed(5, 1, "ck-1", .task_state, "one", &.{.{ .key = "step", .value = "1" }}));
    try testing.expectEqual(@as(u64, 2), try db.states.saveState(5, 1, .context, "two", &.{}));
    try testing.expectEqual(@as(u64, 3), try db.states.saveStateKeyed(5, 1, quoted, .context, "", &.{}));
    try testing.expectEqual(@as(u64, 1), try db.states.saveStateKeyed(5, 2, "ck-1", .context, "other", &.{}));

    {
        const by_key = try db.states.loadStateByKey(5, 1, "ck-1");
        defer by_key.deinit();
        try testing.expectEqual(@as(u64, 1), by_key.value.version);
        try testing.expectEqualStrings("one", by_key.value.data);
        try testing.expectEqualStrings("ck-1", by_key.value.key.?);
        try testing.expectEqual(agentdb.StateType.task_state, by_key.value.state_type);
        try expectMetadata(by_key.value.metadata, "step", "1");
    }
    {
        const latest = try db.states.loadState(5, 1); // every read carries the key
        defer latest.deinit();
        try testing.expectEqualStrings(quoted, latest.value.key.?);
        const unkeyed = try db.states.loadStateVersion(5, 1, 2);
        defer unkeyed.deinit();
        try testing.expectEqual(@as(?[]const u8, null), unkeyed.value.key);
    }
    try testing.expectError(error.NotFound, db.states.loadStateByKey(5, 1, "ck-")); // no prefix match
    try testing.expectError(error.NotFound, db.states.loadStateByKey(5, 1, "CK-1"));
    try testing.expectError(error.NotFound, db.states.loadStateByKey(5, 3, "ck-1"));

    {
        const page = try db.states.stateHistoryPage(5, 1, null, 2);
        defer page.deinit();
        try testing.expectEqual(@as(usize, 2), page.value.len);
        try testing.expectEqual(@as(u64, 3), page.value[0].version);
        try testing.expectEqualStrings(quoted, page.value[0].key.?);
        try testing.expectEqual(@as(u64, 2), page.value[1].version);
        try testing.expectEqual(@as(?[]const u8, null), page.value[1].key);
        // The last version of a page is the next page's cursor.
        const next = try db.states.stateHistoryPage(5, 1, page.value[1].version, 2);
        defer next.deinit();
        try testing.expectEqual(@as(usize, 1), next.value.len);
        try testing.expectEqualStrings("ck-1", next.value[0].key.?);
        const none = try db.states.stateHistoryPage(5, 1, 1, 100);
        defer none.deinit();
        try testing.expectEqual(@as(usize, 0), none.value.len);
        const unknown = try db.states.stateHistoryPage(404, 1, null, 100);
        defer unknown.deinit();
        try testing.expectEqual(@as(usize, 0), unknown.value.len);
    }

    // Bad input: the library's InvalidArgument (a NUL is refused here, as C would cut the key).
    var diagnostics: agentdb.Diagnostics = .{};
    const states = db.states.withDiagnostics(&diagnostics);
    try testing.expectError(error.InvalidArgument, states.saveStateKeyed(5, 1, "", .context, "x", &.{}));
    try testing.expect(diagnostics.message().len > 0);
    try testing.expectError(error.InvalidArgument, states.saveStateKeyed(5, 1, "a\x00b", .context, "x", &.{}));
    try testing.expectError(error.InvalidArgument, states.saveStateKeyed(5, 1, &([_]u8{'k'} ** 1025), .context, "x", &.{}));
    try testing.expectError(error.InvalidArgument, states.loadStateByKey(5, 1, ""));
    try testing.expectError(error.InvalidArgument, states.stateHistoryPage(5, 1, null, 0));
    try testing.expectError(error.InvalidArgument, states.stateHistoryPage(5, 1, null, 100_001));
    const long_key = [_]u8{'k'} ** 1024; // the limit itself
    try testing.expectEqual(@as(u64, 4), try states.saveStateKeyed(5, 1, &long_key, .context, "x", &.{}));

    // From Lance after a flush and across reopen; a reused key finds its newest version.
    try db.flush();
    try testing.expectEqual(@as(u64, 5), try db.states.saveStateKeyed(5, 1, "ck-1", .context, "five", &.{}));
    try db.close();
    db = try f.open(.{});
    {
        const again = try db.states.loadStateByKey(5, 1, "ck-1");
        defer again.deinit();
        try testing.expectEqual(@as(u64, 5), again.value.version);
        try testing.expectEqualStrings("five", again.value.data);
        const long = try db.states.loadStateByKey(5, 1, &long_key);
        defer long.deinit();
        try testing.expectEqual(@as(u64, 4), long.value.version);
        const all = try db.states.stateHistoryPage(5, 1, null, 10);
        defer all.deinit();
        try testing.expectEqual(@as(usize, 5), all.value.len);
        for (all.value, 0..) |state, i| try testing.expectEqual(@as(u64, 5 - i), state.version);
    }
}

const ArrowShape = struct { rows: i64, columns: i64 };

/// Reads a whole Arrow C stream and releases it.
fn arrowShape(stream: *agentdb.ArrowArrayStream) !ArrowShape {
    defer stream.release.?(stream);
    var schema: agentdb.c.struct_ArrowSchema = undefined;
    try testing.expectEqual(@as(c_int, 0), stream.get_schema.?(stream, &schema));
    const columns = schema.n_children;
    schema.release.?(&schema);
    var rows: i64 = 0;
    while (true) {
        var array: agentdb.c.struct_ArrowArray = undefined;
        try testing.expectEqual(@as(c_int, 0), stream.get_next.?(stream, &array));
        const release = array.release orelse break; // end of stream
        rows += array.length;
        release(&array);
    }
    return .{ .rows = rows, .columns = columns };
}

test "states: snapshots, rollback, delete agent, with the failure's message" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();
    var diagnostics: agentdb.Diagnostics = .{};
    const st = db.states.withDiagnostics(&diagnostics);

    _ = try st.saveState(5, 1, .working_memory, "good", &.{.{ .key = "mood", .value = "calm" }});
    try testing.expectEqual(@as(u64, 1), try st.createSnapshot(5, 1, "before-tool"));

    try testing.expectError(error.AlreadyExists, st.createSnapshot(5, 1, "before-tool"));
    try testing.expectEqualStrings("already_exists", diagnostics.code());
    try testing.expectError(error.InvalidArgument, st.createSnapshot(5, 1, "bad name!"));
    try testing.expectEqual(@as(?agentdb.Error, error.InvalidArgument), diagnostics.err);
    try testing.expectEqualStrings("invalid_argument", diagnostics.code());
    try testing.expect(diagnostics.message().len > 0);
    try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "bad name!") != null);
    try testing.expectError(error.InvalidArgument, st.createSnapshot(5, 1, ""));
    try testing.expectError(error.InvalidArgument, st.createSnapshot(5, 1, "nul\x00inside"));
    try testing.expectError(error.NotFound, st.createSnapshot(5, 9, "no-state"));
    try testing.expectEqualStrings("not_found", diagnostics.code());

    _ = try st.saveState(5, 1, .working_memory, "bad", &.{});
    const restored = try st.restoreSnapshot(5, "before-tool");
    defer restored.deinit();
    try testing.expectEqual(@as(u64, 3), restored.value.version);
    try testing.expectEqualStrings("good", restored.value.data);
    try testing.expectEqual(agentdb.StateType.working_memory, restored.value.state_type);
    try expectMetadata(restored.value.metadata, "mood", "calm");
    try testing.expectError(error.NotFound, st.restoreSnapshot(5, "missing"));

    const latest = try st.loadState(5, 1);
    defer latest.deinit();
    try testing.expectEqualStrings("good", latest.value.data);
    const history = try st.queryHistory(.{ .agent_id = 5, .limit = 10 });
    defer history.deinit();
    try testing.expectEqual(@as(usize, 3), history.value.len); // rollback keeps history

    try testing.expectEqual(@as(u64, 3), try st.createSnapshot(5, 1, "after"));
    const snapshots = try st.listSnapshots(5);
    defer snapshots.deinit();
    try testing.expectEqual(@as(usize, 2), snapshots.value.len);
    try testing.expectEqualStrings("before-tool", snapshots.value[0].name);
    try testing.expectEqual(@as(u64, 5), snapshots.value[0].agent_id);
    try testing.expectEqual(@as(u64, 1), snapshots.value[0].session_id);
    try testing.expectEqual(@as(u64, 1), snapshots.value[0].version);
    try testing.expect(snapshots.value[0].created_at_ms > 1_600_000_000_000);
    try testing.expectEqualStrings("after", snapshots.value[1].name);
    try testing.expectEqual(@as(u64, 3), snapshots.value[1].version);

    _ = try st.saveState(6, 1, .context, "bystander", &.{});
    try st.deleteAgent(5);
    try testing.expectError(error.NotFound, st.deleteAgent(5));
    try testing.expectError(error.NotFound, st.loadState(5, null));
    const none = try st.listSnapshots(5);
    defer none.deinit();
    try testing.expectEqual(@as(usize, 0), none.value.len);
    const bystander = try st.loadState(6, 1);
    defer bystander.deinit();
    try testing.expectEqualStrings("bystander", bystander.value.data);
    try testing.expectEqual(@as(u64, 1), try st.saveState(5, 1, .context, "again", &.{}));
}

const Plan = struct {
    pub const agentdb_state_type: agentdb.StateType = .task_state;

    goal: []const u8,
    step: u32,
    done: bool = false,
    tools: []const []const u8,
    scores: []const f64,
    next: ?Action = null,
    mode: enum { explore, exploit },

    const Action = struct { name: []const u8, args: []const u8 };
};

test "states: typed state round-trips any Zig struct through std.json" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    const plan: Plan = .{
        .goal = "book a table for two",
        .step = 3,
        .tools = &.{ "search", "calendar" },
        .scores = &.{ 0.25, 0.75 },
        .next = .{ .name = "call", .args = "{\"to\":\"bistro\"}" },
        .mode = .exploit,
    };
    try testing.expectEqual(@as(u64, 1), try db.states.saveTyped(Plan, 11, 1, plan));
    var later = plan;
    later.step = 4;
    later.done = true;
    later.next = null;
    try testing.expectEqual(@as(u64, 2), try db.states.saveTyped(Plan, 11, 1, later));

    const loaded = try db.states.loadTyped(Plan, 11, 1);
    defer loaded.deinit();
    try testing.expectEqual(@as(u32, 4), loaded.value.step);
    try testing.expect(loaded.value.done);
    try testing.expectEqual(@as(?Plan.Action, null), loaded.value.next);
    try testing.expectEqualStrings("book a table for two", loaded.value.goal);
    try testing.expectEqualStrings("calendar", loaded.value.tools[1]);
    try testing.expectEqualSlices(f64, &.{ 0.25, 0.75 }, loaded.value.scores);

    const first = try db.states.loadTypedVersion(Plan, 11, 1, 1);
    defer first.deinit();
    try testing.expectEqual(@as(u32, 3), first.value.step);
    try testing.expectEqualStrings("bistro", first.value.next.?.args[7..13]);
    try testing.expectEqual(.exploit, first.value.mode);

    // Stored as JSON, with the type's declared state type.
    const raw = try db.states.loadState(11, 1);
    defer raw.deinit();
    try testing.expectEqual(agentdb.StateType.task_state, raw.value.state_type);
    try testing.expect(std.mem.startsWith(u8, raw.value.data, "{\"goal\":\"book a table for two\""));

    // A narrower view of the same state: unknown fields are ignored; a plain
    // type without the declaration is saved as `.context`.
    const Progress = struct { step: u32, done: bool };
    const progress = try db.states.loadTyped(Progress, 11, null);
    defer progress.deinit();
    try testing.expectEqual(Progress{ .step = 4, .done = true }, progress.value);
    _ = try db.states.saveTyped(Progress, 12, 1, .{ .step = 1, .done = false });
    const plain = try db.states.loadState(12, 1);
    defer plain.deinit();
    try testing.expectEqual(agentdb.StateType.context, plain.value.state_type);

    // Bytes that are not a T's JSON are a parse error, not a crash.
    _ = try db.states.saveState(13, 1, .context, "not json", &.{});
    try testing.expectError(error.SyntaxError, db.states.loadTyped(Progress, 13, 1));
    try testing.expectError(error.NotFound, db.states.loadTyped(Progress, 14, 1));
    try testing.expectError(error.NotFound, db.states.loadTypedVersion(Progress, 11, 1, 3));
}

test "bad input is refused with the library's error and changes nothing" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{ .max_payload_bytes = 16 });
    defer db.deinit();

    try testing.expectError(error.PayloadTooLarge, db.states.saveState(1, 1, .context, "0123456789abcdefX", &.{}));
    try testing.expectError(error.InvalidArgument, db.states.saveState(1, 1, .context, "x", &.{.{ .key = "", .value = "v" }}));
    try testing.expectError(error.InvalidArgument, db.states.saveState(1, 1, .context, "x", &.{.{ .key = "k" ** 129, .value = "v" }}));
    try testing.expectError(error.NotFound, db.states.loadState(1, null));
    try testing.expectEqual(@as(u64, 1), try db.states.saveState(1, 1, .context, "fits", &.{}));
}

test "persistence: everything acknowledged survives close and reopen" {
    var f = try Fixture.init();
    defer f.deinit();
    const memory_id = blk: {
        var db = try f.open(.{ .memory_dimension = 3, .fsync = .always });
        defer db.deinit();
        _ = try db.states.saveState(1, 1, .context, "one", &.{});
        _ = try db.states.saveState(1, 1, .context, "two", &.{.{ .key = "k", .value = "v" }});
        try testing.expectEqual(@as(u64, 2), try db.states.createSnapshot(1, 1, "s1"));
        try db.vectors.createCollection("pts", 2, .l2);
        try db.vectors.insertVector("pts", "a", &.{ 1, 2 }, &.{.{ .key = "tag", .value = "x" }});
        const id = try db.memories.storeMemory(.{
            .agent_id = 1,
            .memory_type = .semantic,
            .content = "likes tea",
            .embedding = &.{ 1, 0, 0 },
        });
        try db.close(); // and, for the second half, without an explicit flush
        db = try f.open(.{ .memory_dimension = 3 });
        _ = try db.states.saveState(1, 1, .context, "three", &.{});
        break :blk id;
    };

    var db = try f.open(.{ .memory_dimension = 3 });
    defer db.deinit();
    const latest = try db.states.loadState(1, 1);
    defer latest.deinit();
    try testing.expectEqual(@as(u64, 3), latest.value.version);
    try testing.expectEqualStrings("three", latest.value.data);
    const second = try db.states.loadStateVersion(1, 1, 2);
    defer second.deinit();
    try expectMetadata(second.value.metadata, "k", "v");
    const snapshots = try db.states.listSnapshots(1);
    defer snapshots.deinit();
    try testing.expectEqual(@as(usize, 1), snapshots.value.len);
    const record = try db.vectors.getVector("pts", "a");
    defer record.deinit();
    try testing.expectEqualSlices(f32, &.{ 1, 2 }, record.value.vector);
    try expectMetadata(record.value.metadata, "tag", "x");
    const memory = try db.memories.getMemory(memory_id);
    defer memory.deinit();
    try testing.expectEqualStrings("likes tea", memory.value.content);
    try testing.expectEqual(@as(u64, 4), try db.states.saveState(1, 1, .context, "four", &.{}));
}

test "one writer: a second writable open is Locked; read-only opens read and refuse writes" {
    var f = try Fixture.init();
    defer f.deinit();

    // A read-only open of a directory with no database.
    try testing.expectError(error.NotFound, f.open(.{ .read_only = true }));

    var db = try f.open(.{});
    _ = try db.states.saveState(3, 1, .context, "written", &.{});

    var diagnostics: agentdb.Diagnostics = .{};
    try testing.expectError(error.Locked, f.open(.{ .diagnostics = &diagnostics }));
    try testing.expectEqualStrings("locked", diagnostics.code());
    try testing.expect(diagnostics.message().len > 0);

    // Read-only beside the live writer: sees what was written before it opened.
    {
        var reader = try f.open(.{ .read_only = true, .diagnostics = &diagnostics });
        defer reader.deinit();
        const state = try reader.states.loadState(3, 1);
        defer state.deinit();
        try testing.expectEqualStrings("written", state.value.data);
        try testing.expectError(error.ReadOnly, reader.states.saveState(3, 1, .context, "no", &.{}));
        try testing.expectEqualStrings("read_only", diagnostics.code());
        try testing.expectError(error.ReadOnly, reader.vectors.createCollection("c", 2, .l2));
        try testing.expectError(error.ReadOnly, reader.states.deleteAgent(3));
    }
    try db.close();

    // The lock goes with the writer.
    var again = try f.open(.{});
    defer again.deinit();
    try testing.expectEqual(@as(u64, 2), try again.states.saveState(3, 1, .context, "next", &.{}));
}

test "open: options reach the library, bad ones are refused" {
    var f = try Fixture.init();
    defer f.deinit();
    var diagnostics: agentdb.Diagnostics = .{};
    try testing.expectError(error.InvalidArgument, f.open(.{ .fsync = .{ .batch_ms = 0 }, .diagnostics = &diagnostics }));
    try testing.expect(diagnostics.message().len > 0);
    try testing.expectError(error.InvalidArgument, AgentDB.open(testing.allocator, "nul\x00path", .{}));

    var db = try f.open(.{
        .fsync = .{ .batch_ms = 5 },
        .flush_interval_ms = 60_000,
        .memory_dimension = 2,
        .chunk_chars = 64,
        .chunk_overlap = 8,
        .ann_index_threshold = 1_000_000,
    });
    defer db.deinit();
    // memory_dimension took effect: a 2-float embedding fits, 3 does not.
    _ = try db.memories.storeMemory(.{ .agent_id = 1, .memory_type = .working, .content = "x", .embedding = &.{ 1, 0 } });
    try testing.expectError(error.DimensionMismatch, db.memories.storeMemory(.{
        .agent_id = 1,
        .memory_type = .working,
        .content = "x",
        .embedding = &.{ 1, 0, 0 },
    }));
    try testing.expectEqualStrings("0.1.0", agentdb.version()[0..5]);
}

test "memories with caller vectors: store, get, update, retrieve, list, forget, delete" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{ .memory_dimension = 4 });
    defer db.deinit();
    const m = db.memories;

    const tea = try m.storeMemory(.{
        .agent_id = 7,
        .memory_type = .semantic,
        .content = "The user prefers green tea",
        .importance = 0.9,
        .embedding = &.{ 1, 0, 0, 0 },
        .metadata = &.{.{ .key = "source", .value = "chat" }},
    });
    const ids = try m.storeMemories(&.{
        .{ .agent_id = 7, .memory_type = .episodic, .content = "Deployed billing on Tuesday", .importance = 0.3, .embedding = &.{ 0, 1, 0, 0 } },
        .{ .agent_id = 7, .memory_type = .procedural, .content = "Restart with systemctl", .embedding = &.{ 0, 0, 1, 0 }, .ttl_ms = 3_600_000 },
    });
    defer testing.allocator.free(ids);
    try testing.expectEqual(@as(usize, 2), ids.len);
    try testing.expect(ids[0] > tea and ids[1] > ids[0]);
    const no_ids = try m.storeMemories(&.{});
    defer testing.allocator.free(no_ids);
    try testing.expectEqual(@as(usize, 0), no_ids.len);

    {
        const got = try m.getMemory(tea);
        defer got.deinit();
        try testing.expectEqual(tea, got.value.memory_id);
        try testing.expectEqual(@as(u64, 7), got.value.agent_id);
        try testing.expectEqual(agentdb.MemoryType.semantic, got.value.memory_type);
        try testing.expectEqualStrings("The user prefers green tea", got.value.content);
        try testing.expectEqualSlices(f32, &.{ 1, 0, 0, 0 }, got.value.embedding);
        try testing.expectApproxEqAbs(@as(f32, 0.9), got.value.importance, 1e-6);
        try testing.expectEqual(@as(?i64, null), got.value.expires_at_ms);
        try testing.expectEqual(@as(u64, 0), got.value.access_count);
        try expectMetadata(got.value.metadata, "source", "chat");
        const expiring = try m.getMemory(ids[1]);
        defer expiring.deinit();
        try testing.expect(expiring.value.expires_at_ms.? > expiring.value.created_at_ms);
        try testing.expectApproxEqAbs(@as(f32, 0.5), expiring.value.importance, 1e-6); // the default
    }

    try m.updateMemoryImportance(ids[0], 0.6);
    {
        const got = try m.getMemory(ids[0]);
        defer got.deinit();
        try testing.expectApproxEqAbs(@as(f32, 0.6), got.value.importance, 1e-6);
    }
    try testing.expectError(error.InvalidArgument, m.updateMemoryImportance(ids[0], 1.5));
    try testing.expectError(error.NotFound, m.updateMemoryImportance(999_999, 0.5));

    {
        const hits = try m.retrieveMemoriesByVector(7, &.{ 1, 0.1, 0, 0 }, 3, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 3), hits.value.len);
        try testing.expectEqual(tea, hits.value[0].memory.memory_id);
        try testing.expect(hits.value[0].relevance > 0.99);
        for (hits.value[1..], hits.value[0 .. hits.value.len - 1]) |hit, better| try testing.expect(better.score >= hit.score);
    }
    {
        const hits = try m.retrieveMemoriesByVector(7, &.{ 1, 0, 0, 0 }, 5, .{ .memory_types = &.{ .episodic, .procedural } });
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 2), hits.value.len);
        for (hits.value) |hit| try testing.expect(hit.memory.memory_type != .semantic);
    }
    {
        const hits = try m.retrieveMemoriesByVector(7, &.{ 0, 1, 0, 0 }, 5, .{
            .metadata = &.{.{ .key = "source", .value = "chat" }},
            .record_access = false,
        });
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 1), hits.value.len);
        try testing.expectEqual(tea, hits.value[0].memory.memory_id);
    }
    {
        // Weights: importance alone ranks the most important first.
        const hits = try m.retrieveMemoriesByVector(7, &.{ 0, 0, 1, 0 }, 1, .{
            .relevance_weight = 0,
            .importance_weight = 1,
            .recency_weight = 0,
            .record_access = false,
        });
        defer hits.deinit();
        try testing.expectEqual(tea, hits.value[0].memory.memory_id);
        try testing.expectApproxEqAbs(@as(f32, 0.9), hits.value[0].score, 1e-5);
    }
    {
        const hits = try m.retrieveMemoriesByVector(7, &.{ 1, 0, 0, 0 }, 5, .{ .created_after_ms = std.time.milliTimestamp() + 60_000 });
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 0), hits.value.len);
    }
    try testing.expectError(error.DimensionMismatch, m.retrieveMemoriesByVector(7, &.{ 1, 0 }, 3, .{}));
    try testing.expectError(error.InvalidArgument, m.retrieveMemoriesByVector(7, &.{ 1, 0, 0, 0 }, 0, .{}));
    try testing.expectError(error.DimensionMismatch, m.storeMemory(.{ .agent_id = 7, .memory_type = .semantic, .content = "x", .embedding = &.{ 1, 0 } }));
    try testing.expectError(error.InvalidArgument, m.storeMemory(.{ .agent_id = 7, .memory_type = .semantic, .content = "", .embedding = &.{ 1, 0, 0, 0 } }));
    try testing.expectError(error.InvalidArgument, m.storeMemory(.{ .agent_id = 7, .memory_type = .semantic, .content = "x", .importance = 1.5, .embedding = &.{ 1, 0, 0, 0 } }));
    try testing.expectError(error.InvalidArgument, m.storeMemory(.{ .agent_id = 7, .memory_type = .semantic, .content = "x", .embedding = &.{ std.math.nan(f32), 0, 0, 0 } }));
    // A batch is all or nothing.
    try testing.expectError(error.DimensionMismatch, m.storeMemories(&.{
        .{ .agent_id = 7, .memory_type = .semantic, .content = "fine", .embedding = &.{ 1, 0, 0, 0 } },
        .{ .agent_id = 7, .memory_type = .semantic, .content = "short", .embedding = &.{1} },
    }));

    {
        const all = try m.listMemories(7);
        defer all.deinit();
        try testing.expectEqual(@as(usize, 3), all.value.len);
        try testing.expectEqual(tea, all.value[0].memory_id); // oldest first
        try testing.expectEqual(@as(u64, 1), all.value[0].access_count); // the first retrieval counted
        const nobody = try m.listMemories(8);
        defer nobody.deinit();
        try testing.expectEqual(@as(usize, 0), nobody.value.len);
    }

    // Nothing is old enough to forget yet; then everything below importance 1 is.
    try testing.expectEqual(@as(u64, 0), try m.forget(7, .{ .older_than_ms = 3_600_000, .min_importance = 1.0, .decay_half_life_ms = 1000 }));
    try testing.expectEqual(@as(u64, 3), try m.forget(7, .{ .older_than_ms = 0, .min_importance = 1.0, .decay_half_life_ms = 1000 }));
    try testing.expectError(error.NotFound, m.getMemory(tea));

    const again = try m.storeMemory(.{ .agent_id = 7, .memory_type = .working, .content = "scratch", .embedding = &.{ 0, 0, 0, 1 } });
    try testing.expect(again > ids[1]); // ids are never reused
    try m.deleteMemory(again);
    try testing.expectError(error.NotFound, m.deleteMemory(again));
    try testing.expectError(error.NotFound, m.getMemory(again));
}

test "text: the built-in model embeds memories, queries and documents" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    const vectors = try db.embed(&.{ "oolong tea", "a neural network" });
    defer vectors.deinit();
    try testing.expectEqual(@as(usize, 2), vectors.value.len);
    try testing.expectEqual(@as(usize, 384), vectors.value[0].len);
    var norm: f32 = 0;
    for (vectors.value[0]) |x| norm += x * x;
    try testing.expectApproxEqAbs(@as(f32, 1), norm, 1e-3);

    // Memories: stored as text, retrieved by text.
    const ids = try db.memories.storeMemories(&.{
        .{ .agent_id = 1, .memory_type = .semantic, .content = "The user prefers green tea", .importance = 0.5 },
        .{ .agent_id = 1, .memory_type = .episodic, .content = "We deployed the billing service on Tuesday", .importance = 0.5 },
    });
    defer testing.allocator.free(ids);
    {
        const hits = try db.memories.retrieveMemories(1, "what does the user like to drink?", 2, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 2), hits.value.len);
        try testing.expectEqual(ids[0], hits.value[0].memory.memory_id);
        try testing.expectEqual(@as(usize, 384), hits.value[0].memory.embedding.len);
    }
    {
        var stream = try db.memories.retrieveMemoriesArrow(1, "billing", 1, .{});
        const shape = try arrowShape(&stream);
        try testing.expectEqual(@as(i64, 1), shape.rows);
    }

    // Documents.
    {
        const info = try db.rag.indexDocument(.{
            .doc_id = "tea",
            .title = "Tea",
            .text = "Green tea is steamed. Black tea is fully oxidised. Oolong sits between them.",
            .metadata = &.{.{ .key = "lang", .value = "en" }},
        });
        defer info.deinit();
        try testing.expectEqualStrings("tea", info.value.doc_id);
        try testing.expectEqualStrings("Tea", info.value.title);
        try testing.expect(info.value.chunk_count >= 1);
        try testing.expectEqual(@as(u64, 76), info.value.char_count);
    }
    {
        const info = try db.rag.indexDocument(.{
            .doc_id = "zh",
            .text = "龙井茶是一种绿茶，产于杭州。神经网络是一种机器学习模型。",
            .metadata = &.{.{ .key = "lang", .value = "zh" }},
        });
        defer info.deinit();
        try testing.expectEqual(@as(u64, 28), info.value.char_count); // characters, not bytes
    }
    {
        const info = try db.rag.getDocument("zh");
        defer info.deinit();
        try testing.expectEqualStrings("", info.value.title);
        try expectMetadata(info.value.metadata, "lang", "zh");
        try testing.expect(info.value.indexed_at_ms > 0);
    }
    {
        const hits = try db.rag.semanticSearch("how is black tea made", 2, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 2), hits.value.len);
        try testing.expectEqualStrings("tea", hits.value[0].doc_id);
        try testing.expect(std.mem.startsWith(u8, hits.value[0].chunk_id, "tea#"));
        try testing.expect(hits.value[0].score >= hits.value[1].score);
    }
    {
        const hits = try db.rag.semanticSearchVector(vectors.value[0], 5, .{ .doc_ids = &.{"tea"} });
        defer hits.deinit();
        try testing.expect(hits.value.len >= 1);
        for (hits.value) |hit| try testing.expectEqualStrings("tea", hit.doc_id);
    }
    {
        const hits = try db.rag.fullTextSearch("oxidised", 5, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 1), hits.value.len);
        const hit = hits.value[0];
        try testing.expectEqualStrings("tea", hit.doc_id);
        try testing.expect(std.mem.indexOf(u8, hit.content, "oxidised") != null);
        try testing.expect(hit.end_char > hit.start_char);
    }
    {
        const hits = try db.rag.fullTextSearch("龙井茶", 5, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 1), hits.value.len);
        try testing.expectEqualStrings("zh", hits.value[0].doc_id);
    }
    {
        const hits = try db.rag.hybridSearch("oolong", vectors.value[0], 3, .{ .weighted = 0.5 }, .{});
        defer hits.deinit();
        try testing.expect(hits.value.len >= 1);
        try testing.expectEqualStrings("tea", hits.value[0].doc_id);
    }
    {
        const hits = try db.rag.hybridSearch("神经网络", null, 3, .reciprocal_rank, .{ .metadata = &.{.{ .key = "lang", .value = "zh" }} });
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 1), hits.value.len);
        try testing.expectEqualStrings("zh", hits.value[0].doc_id);
    }
    {
        var stream = try db.rag.hybridSearchArrow("tea", null, 3, .reciprocal_rank, .{});
        const shape = try arrowShape(&stream);
        try testing.expect(shape.rows >= 1);
        try testing.expectEqual(@as(i64, 7), shape.columns);
    }
    try testing.expectError(error.InvalidArgument, db.rag.hybridSearch("tea", null, 3, .{ .weighted = 2.0 }, .{}));
    try testing.expectError(error.InvalidArgument, db.rag.fullTextSearch("", 3, .{}));
    try testing.expectError(error.DimensionMismatch, db.rag.semanticSearchVector(&.{ 1, 0 }, 3, .{}));
    try testing.expectError(error.InvalidArgument, db.rag.indexDocument(.{ .doc_id = "has#hash", .text = "x" }));
    try testing.expectError(error.InvalidArgument, db.rag.indexDocument(.{ .doc_id = "empty", .text = "" }));

    try db.rag.deleteDocument("zh");
    try testing.expectError(error.NotFound, db.rag.getDocument("zh"));
    try testing.expectError(error.NotFound, db.rag.deleteDocument("zh"));
    {
        const hits = try db.rag.fullTextSearch("龙井茶", 5, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 0), hits.value.len);
    }
}

test "vectors: collections, upserts, k-NN and range search, index" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();
    const v = db.vectors;

    try v.createCollection("items", 8, .l2);
    try v.createCollection("unit", 3, .cosine);
    try testing.expectError(error.AlreadyExists, v.createCollection("items", 8, .l2));
    try testing.expectError(error.InvalidArgument, v.createCollection("bad name", 8, .l2));
    try testing.expectError(error.InvalidArgument, v.createCollection("zero", 0, .l2));
    {
        const collections = try v.listCollections();
        defer collections.deinit();
        try testing.expectEqual(@as(usize, 2), collections.value.len);
        try testing.expectEqualStrings("items", collections.value[0].name);
        try testing.expectEqual(@as(u32, 8), collections.value[0].dimension);
        try testing.expectEqual(agentdb.Metric.l2, collections.value[0].metric);
        try testing.expectEqual(agentdb.Metric.cosine, collections.value[1].metric);
    }

    const count = 300;
    var data: [count][8]f32 = undefined;
    var id_buffers: [count][8]u8 = undefined;
    var records: [count]agentdb.VectorRecord = undefined;
    for (&data, &id_buffers, &records, 0..) |*vector, *id_buffer, *record, i| {
        for (vector, 0..) |*x, j| x.* = @floatFromInt(i * 8 + j);
        record.* = .{
            .id = try std.fmt.bufPrint(id_buffer, "v{d}", .{i}),
            .vector = vector,
            .metadata = if (i % 2 == 1) &.{.{ .key = "parity", .value = "odd" }} else &.{.{ .key = "parity", .value = "even" }},
        };
    }
    try v.insertVectors("items", &records);
    try v.insertVector("items", "origin", &([_]f32{0} ** 8), &.{});
    try testing.expectEqual(@as(u64, count + 1), try v.countVectors("items"));
    try testing.expectError(error.DimensionMismatch, v.insertVector("items", "short", &.{ 1, 2, 3 }, &.{}));
    try testing.expectError(error.NotFound, v.insertVector("nope", "a", &.{ 1, 2 }, &.{}));
    try testing.expectError(error.NotFound, v.countVectors("nope"));
    // A batch is all or nothing.
    try testing.expectError(error.DimensionMismatch, v.insertVectors("items", &.{
        .{ .id = "ok", .vector = &data[0] },
        .{ .id = "bad", .vector = &.{1} },
    }));
    try testing.expectEqual(@as(u64, count + 1), try v.countVectors("items"));

    {
        const record = try v.getVector("items", "v3");
        defer record.deinit();
        try testing.expectEqualStrings("v3", record.value.id);
        try testing.expectEqualSlices(f32, &data[3], record.value.vector);
        try expectMetadata(record.value.metadata, "parity", "odd");
    }
    {
        const hits = try v.searchKNN("items", &data[10], 3, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 3), hits.value.len);
        try testing.expectEqualStrings("v10", hits.value[0].id);
        try testing.expectEqual(@as(f32, 0), hits.value[0].distance);
        try testing.expectEqualSlices(f32, &data[10], hits.value[0].vector);
        // Neighbours differ by 8 in each of 8 components: sqrt(8 * 64).
        try testing.expectApproxEqAbs(@as(f32, @sqrt(512.0)), hits.value[1].distance, 1e-3);
    }
    {
        const hits = try v.searchKNN("items", &data[10], 2, .{ .metadata = &.{.{ .key = "parity", .value = "odd" }} });
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 2), hits.value.len);
        for (hits.value) |hit| try expectMetadata(hit.metadata, "parity", "odd");
        try testing.expect(std.mem.eql(u8, hits.value[0].id, "v9") or std.mem.eql(u8, hits.value[0].id, "v11"));
    }
    {
        const hits = try v.searchRange("items", &data[10], 30, 100, .{});
        defer hits.deinit();
        try testing.expectEqual(@as(usize, 3), hits.value.len);
        const capped = try v.searchRange("items", &data[10], 30, 1, .{});
        defer capped.deinit();
        try testing.expectEqual(@as(usize, 1), capped.value.len);
    }
    try testing.expectError(error.DimensionMismatch, v.searchKNN("items", &.{ 1, 2 }, 3, .{}));
    try testing.expectError(error.InvalidArgument, v.searchKNN("items", &data[0], 0, .{}));
    try testing.expectError(error.InvalidArgument, v.searchRange("items", &data[0], std.math.inf(f32), 10, .{}));
    try testing.expectError(error.NotFound, v.searchKNN("nope", &data[0], 3, .{}));
    {
        var stream = try v.searchKNNArrow("items", &data[0], 5, .{});
        const shape = try arrowShape(&stream);
        try testing.expectEqual(@as(i64, 5), shape.rows);
        try testing.expectEqual(@as(i64, 4), shape.columns);
    }

    // Cosine distances are 1 − cos.
    try v.insertVector("unit", "x", &.{ 1, 0, 0 }, &.{});
    try v.insertVector("unit", "y", &.{ 0, 1, 0 }, &.{});
    {
        const hits = try v.searchKNN("unit", &.{ 1, 0, 0 }, 2, .{});
        defer hits.deinit();
        try testing.expectEqualStrings("x", hits.value[0].id);
        try testing.expectApproxEqAbs(@as(f32, 0), hits.value[0].distance, 1e-5);
        try testing.expectApproxEqAbs(@as(f32, 1), hits.value[1].distance, 1e-5);
    }

    try v.createVectorIndex("items");
    try testing.expectError(error.NotFound, v.createVectorIndex("nope"));
    {
        const hits = try v.searchKNN("items", &data[42], 1, .{ .nprobes = 4, .refine_factor = 2 });
        defer hits.deinit();
        try testing.expectEqualStrings("v42", hits.value[0].id);
    }

    // Upsert by id, then delete.
    try v.insertVector("items", "origin", &([_]f32{1} ** 8), &.{.{ .key = "moved", .value = "yes" }});
    {
        const record = try v.getVector("items", "origin");
        defer record.deinit();
        try testing.expectEqual(@as(f32, 1), record.value.vector[0]);
        try expectMetadata(record.value.metadata, "moved", "yes");
    }
    try testing.expectEqual(@as(u64, count + 1), try v.countVectors("items"));
    try v.deleteVector("items", "origin");
    try testing.expectError(error.NotFound, v.getVector("items", "origin"));
    try testing.expectError(error.NotFound, v.deleteVector("items", "origin"));
    try testing.expectEqual(@as(u64, count), try v.countVectors("items"));
}

test "maintenance: flush, compact and stats keep every read the same" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();
    for (0..5) |i| {
        var buffer: [16]u8 = undefined;
        _ = try db.states.saveState(1, 1, .context, try std.fmt.bufPrint(&buffer, "s{d}", .{i}), &.{});
    }
    try db.flush();
    _ = try db.states.saveState(1, 1, .context, "s5", &.{});
    try db.compact();
    const history = try db.states.queryHistory(.{ .agent_id = 1 });
    defer history.deinit();
    try testing.expectEqual(@as(usize, 6), history.value.len);
    try testing.expectEqualStrings("s5", history.value[0].data);

    const stats = try db.statsJson();
    defer testing.allocator.free(stats);
    const parsed = try std.json.parseFromSlice(std.json.Value, testing.allocator, stats, .{});
    defer parsed.deinit();
    try testing.expect(parsed.value == .object);
    try testing.expect(parsed.value.object.get("tables") != null);
}

test "threads: one handle shared by many threads hands out every version once" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    const thread_count = 4;
    const saves_per_thread = 25;
    const Saver = struct {
        fn run(handle: *const AgentDB, versions: *[saves_per_thread]u64, failed: *bool) void {
            for (versions) |*version| {
                version.* = handle.states.saveState(100, 1, .context, "t", &.{}) catch {
                    failed.* = true;
                    return;
                };
            }
        }
    };
    var versions: [thread_count][saves_per_thread]u64 = undefined;
    var failed = [_]bool{false} ** thread_count;
    var threads: [thread_count]std.Thread = undefined;
    for (&threads, &versions, &failed) |*thread, *v, *fail| thread.* = try std.Thread.spawn(.{}, Saver.run, .{ &db, v, fail });
    for (threads) |thread| thread.join();
    for (failed) |fail| try testing.expect(!fail);

    var seen = [_]bool{false} ** (thread_count * saves_per_thread + 1);
    for (versions) |per_thread| for (per_thread) |version| {
        try testing.expect(version >= 1 and version <= thread_count * saves_per_thread);
        try testing.expect(!seen[version]);
        seen[version] = true;
    };
    const latest = try db.states.loadState(100, 1);
    defer latest.deinit();
    try testing.expectEqual(@as(u64, thread_count * saves_per_thread), latest.value.version);
}

test "text calls without a model are ModelUnavailable; caller vectors still work" {
    var f = try Fixture.init();
    defer f.deinit();
    try f.tmp.dir.makeDir("no-model");
    const model_dir = try std.fs.path.join(testing.allocator, &.{ f.path, "no-model" });
    defer testing.allocator.free(model_dir);
    const db_dir = try std.fs.path.join(testing.allocator, &.{ f.path, "db" });
    defer testing.allocator.free(db_dir);

    var diagnostics: agentdb.Diagnostics = .{};
    var db = try AgentDB.open(testing.allocator, db_dir, .{
        .model_dir = model_dir,
        .memory_dimension = 2,
        .maintenance_interval_ms = 0,
        .diagnostics = &diagnostics,
    });
    defer db.deinit();
    try testing.expectError(error.ModelUnavailable, db.memories.storeMemory(.{ .agent_id = 1, .memory_type = .semantic, .content = "text only" }));
    try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "model") != null);
    try testing.expectError(error.ModelUnavailable, db.embed(&.{"hello"}));
    try testing.expectError(error.ModelUnavailable, db.rag.indexDocument(.{ .doc_id = "d", .text = "some text" }));
    try testing.expectError(error.ModelUnavailable, db.memories.retrieveMemories(1, "query", 1, .{}));
    _ = try db.memories.storeMemory(.{ .agent_id = 1, .memory_type = .semantic, .content = "with a vector", .embedding = &.{ 1, 0 } });
    const hits = try db.memories.retrieveMemoriesByVector(1, &.{ 1, 0 }, 1, .{});
    defer hits.deinit();
    try testing.expectEqualStrings("with a vector", hits.value[0].memory.content);
}

/// Unit vectors of dimension 4 for the memory lifecycle tests: `near_a` has
/// cosine 0.96 with `a` (above the default threshold 0.88, below 0.99).
const lifecycle = struct {
    const a = [_]f32{ 1, 0, 0, 0 };
    const near_a = [_]f32{ 0.96, 0.28, 0, 0 };
    const also_near_a = [_]f32{ 0.96, 0, 0.28, 0 }; // cosine 0.96 with a, 0.9216 with near_a
    const b = [_]f32{ 0, 1, 0, 0 };
    const c = [_]f32{ 0, 0, 1, 0 };
    const d = [_]f32{ 0, 0, 0, 1 };
};

fn semantic(content: []const u8, embedding: []const f32, importance: f32) agentdb.NewMemory {
    return .{ .agent_id = 7, .memory_type = .semantic, .content = content, .embedding = embedding, .importance = importance };
}

test "memories: an exact duplicate refreshes the stored memory; a near-duplicate merges (keep_newest)" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{ .memory_dimension = 4 });
    defer db.deinit();
    const m = db.memories;

    const first = try m.storeMemoryOutcome(semantic("The user likes green tea", &lifecycle.a, 0.3));
    defer first.deinit();
    try testing.expectEqual(agentdb.StoreKind.stored, first.value.kind);
    try testing.expectEqual(@as(usize, 0), first.value.absorbed.len);
    try testing.expectEqual(@as(usize, 0), first.value.evicted.len);
    const tea = first.value.memory_id;

    // The same content after normalisation (case, whitespace), whatever its vector.
    const again = try m.storeMemoryOutcome(semantic("  the user LIKES   green tea ", &lifecycle.d, 0.7));
    defer again.deinit();
    try testing.expectEqual(agentdb.StoreKind.duplicate, again.value.kind);
    try testing.expectEqual(tea, again.value.memory_id);
    try testing.expectEqual(@as(usize, 0), again.value.absorbed.len);
    {
        const got = try m.getMemory(tea);
        defer got.deinit();
        try testing.expectEqualStrings("The user likes green tea", got.value.content);
        try testing.expectEqual(@as(u64, 1), got.value.access_count);
        try testing.expectApproxEqAbs(@as(f32, 0.7), got.value.importance, 1e-6); // max(old, new)
        try testing.expect(!got.value.pinned);
    }
    // storeMemory returns the id that holds the content too.
    try testing.expectEqual(tea, try m.storeMemory(semantic("the user likes green tea", &lifecycle.a, 0.1)));

    // Different text, cosine 0.96: the new memory survives and absorbs the old one.
    const merged = try m.storeMemoryOutcome(semantic("The user enjoys green tea", &lifecycle.near_a, 0.5));
    defer merged.deinit();
    try testing.expectEqual(agentdb.StoreKind.merged, merged.value.kind);
    try testing.expect(merged.value.memory_id > tea);
    try testing.expectEqualSlices(u64, &.{tea}, merged.value.absorbed);
    try testing.expectEqual(@as(usize, 0), merged.value.evicted.len);
    try testing.expectError(error.NotFound, m.getMemory(tea));
    {
        const got = try m.getMemory(merged.value.memory_id);
        defer got.deinit();
        try testing.expectEqualStrings("The user enjoys green tea", got.value.content);
        try testing.expectApproxEqAbs(@as(f32, 0.7), got.value.importance, 1e-6); // the highest
        var buffer: [24]u8 = undefined;
        try expectMetadata(got.value.metadata, "absorbed_ids", try std.fmt.bufPrint(&buffer, "{d}", .{tea}));
    }
    // Another type is never a duplicate.
    const other_type = try m.storeMemoryOutcome(.{ .agent_id = 7, .memory_type = .episodic, .content = "The user enjoys green tea", .embedding = &lifecycle.near_a });
    defer other_type.deinit();
    try testing.expectEqual(agentdb.StoreKind.stored, other_type.value.kind);

    // A pinned memory survives a merge and absorbs the newcomer, whose
    // would-be id is reported as absorbed.
    const survivor = merged.value.memory_id;
    try m.pinMemory(survivor);
    const into_pinned = try m.storeMemoryOutcome(semantic("User likes drinking green tea", &lifecycle.also_near_a, 0.2));
    defer into_pinned.deinit();
    try testing.expectEqual(agentdb.StoreKind.merged, into_pinned.value.kind);
    try testing.expectEqual(survivor, into_pinned.value.memory_id);
    try testing.expectEqual(@as(usize, 1), into_pinned.value.absorbed.len);
    try testing.expect(into_pinned.value.absorbed[0] > other_type.value.memory_id);
    {
        const all = try m.listMemories(7);
        defer all.deinit();
        try testing.expectEqual(@as(usize, 2), all.value.len);
        try testing.expectEqual(survivor, all.value[0].memory_id);
        try testing.expect(all.value[0].pinned);
        try testing.expectEqualStrings("The user enjoys green tea", all.value[0].content);
    }

    // Bad input is still refused.
    try testing.expectError(error.DimensionMismatch, m.storeMemoryOutcome(semantic("short", &.{ 1, 0 }, 0.5)));
    try testing.expectError(error.InvalidArgument, m.storeMemoryOutcome(semantic("", &lifecycle.b, 0.5)));
}

test "memories: a pinned memory survives forget until unpinned" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{ .memory_dimension = 4 });
    defer db.deinit();
    var diagnostics: agentdb.Diagnostics = .{};
    const m = db.memories.withDiagnostics(&diagnostics);

    const keep = try m.storeMemory(semantic("The user's name is Ada", &lifecycle.a, 0.1));
    const drop = try m.storeMemory(semantic("The user is in a hurry today", &lifecycle.b, 0.1));
    try m.pinMemory(keep);
    try m.pinMemory(keep); // idempotent
    {
        const got = try m.getMemory(keep);
        defer got.deinit();
        try testing.expect(got.value.pinned);
        const other = try m.getMemory(drop);
        defer other.deinit();
        try testing.expect(!other.value.pinned);
    }

    const everything: agentdb.ForgetPolicy = .{ .older_than_ms = 0, .min_importance = 1.0, .decay_half_life_ms = 1000 };
    try testing.expectEqual(@as(u64, 1), try m.forget(7, everything));
    try testing.expectError(error.NotFound, m.getMemory(drop));
    {
        const got = try m.getMemory(keep);
        defer got.deinit();
        try testing.expectEqualStrings("The user's name is Ada", got.value.content);
    }

    try m.unpinMemory(keep);
    {
        const got = try m.getMemory(keep);
        defer got.deinit();
        try testing.expect(!got.value.pinned);
    }
    try testing.expectEqual(@as(u64, 1), try m.forget(7, everything));
    try testing.expectError(error.NotFound, m.getMemory(keep));

    try testing.expectError(error.NotFound, m.pinMemory(keep));
    try testing.expectEqualStrings("not_found", diagnostics.code());
    try testing.expectError(error.NotFound, m.unpinMemory(999_999));

    // delete_memory still deletes a pinned memory.
    const pinned = try m.storeMemory(semantic("Pinned but deletable", &lifecycle.c, 0.5));
    try m.pinMemory(pinned);
    try m.deleteMemory(pinned);
    try testing.expectError(error.NotFound, m.getMemory(pinned));
}

test "memories: the per-type limit evicts the lowest-scoring unpinned memory" {
    var f = try Fixture.init();
    defer f.deinit();
    var diagnostics: agentdb.Diagnostics = .{};
    try testing.expectError(error.InvalidArgument, f.open(.{ .max_memories_per_agent_type = 0, .diagnostics = &diagnostics }));
    try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "max_memories_per_agent_type") != null);

    var db = try f.open(.{ .memory_dimension = 4, .max_memories_per_agent_type = 2 });
    defer db.deinit();
    const m = db.memories;

    const important = try m.storeMemory(semantic("The user is allergic to peanuts", &lifecycle.a, 0.9));
    const trivial = try m.storeMemory(semantic("The user said hello", &lifecycle.b, 0.1));
    // Another type does not count against the semantic limit.
    _ = try m.storeMemory(.{ .agent_id = 7, .memory_type = .episodic, .content = "Met the user", .embedding = &lifecycle.d });

    const third = try m.storeMemoryOutcome(semantic("The user lives in Lisbon", &lifecycle.c, 0.5));
    defer third.deinit();
    try testing.expectEqual(agentdb.StoreKind.stored, third.value.kind);
    try testing.expectEqualSlices(u64, &.{trivial}, third.value.evicted);
    try testing.expectError(error.NotFound, m.getMemory(trivial));
    {
        const all = try m.listMemories(7);
        defer all.deinit();
        try testing.expectEqual(@as(usize, 3), all.value.len); // 2 semantic + 1 episodic
    }

    // A pinned memory is never evicted, even when it scores lowest.
    try m.pinMemory(third.value.memory_id);
    const fourth = try m.storeMemoryOutcome(semantic("The user works as a nurse", &lifecycle.d, 0.95));
    defer fourth.deinit();
    try testing.expectEqualSlices(u64, &.{important}, fourth.value.evicted);
    {
        const kept = try m.getMemory(third.value.memory_id);
        defer kept.deinit();
        try testing.expect(kept.value.pinned);
    }
}

test "consolidate: merges existing near-duplicates per type and reports it; options reach the library" {
    var f = try Fixture.init();
    defer f.deinit();
    var ids: [5]u64 = undefined;
    {
        // Threshold 0.99: a cosine of 0.96 is not a near-duplicate.
        var db = try f.open(.{ .memory_dimension = 4, .memory_merge_threshold = 0.99 });
        defer db.deinit();
        const m = db.memories;
        ids[0] = try m.storeMemory(semantic("The user likes green tea", &lifecycle.a, 0.5));
        const near = try m.storeMemoryOutcome(semantic("The user enjoys green tea", &lifecycle.near_a, 0.8));
        defer near.deinit();
        try testing.expectEqual(agentdb.StoreKind.stored, near.value.kind);
        ids[1] = near.value.memory_id;
        ids[2] = try m.storeMemory(semantic("The user lives in Lisbon", &lifecycle.c, 0.5));
        ids[3] = try m.storeMemory(.{ .agent_id = 7, .memory_type = .episodic, .content = "Drank green tea together", .embedding = &lifecycle.a });
        _ = try m.storeMemory(.{ .agent_id = 8, .memory_type = .semantic, .content = "Another agent's tea", .embedding = &lifecycle.a });
        try testing.expectError(error.InvalidArgument, f.open(.{ .memory_merge_threshold = 1.5 }));
    }
    {
        // keep_both: near-duplicates are stored side by side.
        var db = try f.open(.{ .memory_dimension = 4, .memory_merge_policy = .keep_both });
        defer db.deinit();
        const outcome = try db.memories.storeMemoryOutcome(semantic("User drinks green tea", &lifecycle.also_near_a, 0.4));
        defer outcome.deinit();
        try testing.expectEqual(agentdb.StoreKind.stored, outcome.value.kind);
        ids[4] = outcome.value.memory_id;
    }

    // The defaults (0.88, keep_newest): the three tea memories collapse into the newest.
    var db = try f.open(.{ .memory_dimension = 4 });
    defer db.deinit();
    {
        const report = try db.memories.consolidate(7);
        defer report.deinit();
        try testing.expectEqual(@as(u64, 7), report.value.agent_id);
        try testing.expectEqual(@as(u64, 5), report.value.examined);
        try testing.expectEqual(@as(u64, 3), report.value.remaining);
        try testing.expectEqual(@as(usize, 1), report.value.groups.len);
        const group = report.value.groups[0];
        try testing.expectEqual(agentdb.MemoryType.semantic, group.memory_type);
        try testing.expectEqual(ids[4], group.kept);
        var absorbed: [2]u64 = undefined;
        try testing.expectEqual(@as(usize, 2), group.absorbed.len);
        @memcpy(&absorbed, group.absorbed);
        std.mem.sort(u64, &absorbed, {}, std.sort.asc(u64));
        try testing.expectEqualSlices(u64, ids[0..2], &absorbed);
    }
    try testing.expectError(error.NotFound, db.memories.getMemory(ids[0]));
    try testing.expectError(error.NotFound, db.memories.getMemory(ids[1]));
    {
        const kept = try db.memories.getMemory(ids[4]);
        defer kept.deinit();
        try testing.expectApproxEqAbs(@as(f32, 0.8), kept.value.importance, 1e-6);
        const other_type = try db.memories.getMemory(ids[3]);
        defer other_type.deinit();
        const other_agent = try db.memories.listMemories(8);
        defer other_agent.deinit();
        try testing.expectEqual(@as(usize, 1), other_agent.value.len);
    }
    {
        // Nothing left to merge; an unknown agent is an empty report.
        const again = try db.memories.consolidate(7);
        defer again.deinit();
        try testing.expectEqual(@as(u64, 3), again.value.examined);
        try testing.expectEqual(@as(u64, 3), again.value.remaining);
        try testing.expectEqual(@as(usize, 0), again.value.groups.len);
        const nobody = try db.memories.consolidate(404);
        defer nobody.deinit();
        try testing.expectEqual(@as(u64, 404), nobody.value.agent_id);
        try testing.expectEqual(@as(u64, 0), nobody.value.examined);
        try testing.expectEqual(@as(usize, 0), nobody.value.groups.len);
    }
}

test "gc: keeps the latest, snapshot and retained versions; removed ones are NotFound" {
    var f = try Fixture.init();
    defer f.deinit();
    {
        var diagnostics: agentdb.Diagnostics = .{};
        var db = try f.open(.{ .diagnostics = &diagnostics });
        defer db.deinit();

        _ = try db.states.saveState(1, 1, .context, "v1", &.{});
        _ = try db.states.saveState(1, 1, .context, "v2", &.{});
        try testing.expectEqual(@as(u64, 2), try db.states.createSnapshot(1, 1, "keep-me"));
        _ = try db.states.saveState(1, 1, .context, "v3", &.{});
        _ = try db.states.saveState(1, 2, .context, "only version", &.{});
        // The default retention keeps everything (this first run also
        // builds the indexes, so the timed run below is quick).
        try testing.expectEqual(@as(u64, 0), try db.gc(.{}));

        std.Thread.sleep(4000 * std.time.ns_per_ms);
        for ([_][]const u8{ "v4", "v5", "v6" }) |data| _ = try db.states.saveState(1, 1, .context, data, &.{});
        // By age: v1 and v3 are over 4 s old; v2 is a snapshot's; v4..v6 are recent.
        // (States are the first table maintenance visits: the age is judged
        // right after gc's flush, well within 3 s.)
        try testing.expectEqual(@as(u64, 2), try db.gc(.{ .keep_newer_than_ms = 3000 }));
        // By count: the newest two of (1, 1) are v5 and v6; v4 goes.
        try testing.expectEqual(@as(u64, 1), try db.gc(.{ .keep_last = 2 }));
        try testing.expectEqual(@as(u64, 0), try db.gc(.{ .keep_last = 2 }));

        for ([_]u64{ 1, 3, 4 }) |version| try testing.expectError(error.NotFound, db.states.loadStateVersion(1, 1, version));
        for ([_]u64{ 2, 5, 6 }) |version| {
            const state = try db.states.loadStateVersion(1, 1, version);
            defer state.deinit();
            try testing.expectEqual(version, state.value.version);
        }
        const only = try db.states.loadState(1, 2);
        defer only.deinit();
        try testing.expectEqualStrings("only version", only.value.data);
        const history = try db.states.queryHistory(.{ .agent_id = 1, .session_id = 1 });
        defer history.deinit();
        try testing.expectEqual(@as(usize, 3), history.value.len);
        const restored = try db.states.restoreSnapshot(1, "keep-me");
        defer restored.deinit();
        try testing.expectEqual(@as(u64, 7), restored.value.version); // versions keep counting
        try testing.expectEqualStrings("v2", restored.value.data);

        // 0 would mean "no bound" across the C ABI: refused, with a message.
        try testing.expectError(error.InvalidArgument, db.gc(.{ .keep_last = 0 }));
        try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "keep_last") != null);
        try testing.expectError(error.InvalidArgument, db.gc(.{ .keep_last = 3, .keep_newer_than_ms = 0 }));
        try testing.expectEqualStrings("invalid_argument", diagnostics.code());
    }

    // The retention configured at open is what `gc(.{})` applies.
    var diagnostics: agentdb.Diagnostics = .{};
    try testing.expectError(error.InvalidArgument, f.open(.{ .state_retention_keep_last = 0, .diagnostics = &diagnostics }));
    try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "state_retention_keep_last") != null);
    var db = try f.open(.{ .state_retention_keep_last = 1, .state_retention_keep_newer_than_ms = 1 });
    defer db.deinit();
    // Of (1, 1): v2 (the snapshot's) and v7 (the latest) stay; v5, v6 go.
    try testing.expectEqual(@as(u64, 2), try db.gc(.{}));
    try testing.expectError(error.NotFound, db.states.loadStateVersion(1, 1, 6));
    const snapshot = try db.states.loadStateVersion(1, 1, 2);
    defer snapshot.deinit();
    const latest = try db.states.loadState(1, 1);
    defer latest.deinit();
    try testing.expectEqual(@as(u64, 7), latest.value.version);
}

test "items: put, get, replace, delete, batch writes, TTL fields, typed values" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();
    const ns: agentdb.Namespace = &.{ "users", "u1" };

    try testing.expect(try db.items.getItem(ns, "prefs") == null);
    const put = try db.items.putItem(.{
        .namespace = ns,
        .key = "prefs",
        .value_json = "{\"theme\": \"dark\", \"size\": 3}",
        .metadata = &.{.{ .key = "source", .value = "ui" }},
    });
    defer put.deinit();
    try testing.expectEqual(@as(usize, 2), put.value.namespace.len);
    try testing.expectEqualStrings("u1", put.value.namespace[1]);
    try testing.expectEqualStrings("prefs", put.value.key);
    try expectMetadata(put.value.metadata, "source", "ui");
    try testing.expectEqual(@as(?u64, null), put.value.ttl_ms);
    try testing.expectEqual(@as(?i64, null), put.value.expires_at_ms);
    try testing.expect(put.value.created_at_ms > 1_600_000_000_000);
    try testing.expectEqual(put.value.created_at_ms, put.value.updated_at_ms);

    const Prefs = struct { theme: []const u8, size: u32 };
    {
        const got = (try db.items.getItem(ns, "prefs")).?;
        defer got.deinit();
        const prefs = try got.value.parseValue(Prefs, testing.allocator);
        defer prefs.deinit();
        try testing.expectEqualStrings("dark", prefs.value.theme);
        try testing.expectEqual(@as(u32, 3), prefs.value.size);
    }
    // Whole labels: neither a shorter nor a longer namespace is the address.
    try testing.expect(try db.items.getItem(&.{"users"}, "prefs") == null);
    try testing.expect(try db.items.getItem(&.{ "users", "u1", "prefs" }, "") == null);

    // A replace keeps created_at_ms; a TTL sets both TTL fields.
    const replaced = try db.items.putItemTyped(Prefs, ns, "prefs", .{ .theme = "light", .size = 4 }, .{ .ttl_ms = 3_600_000 });
    defer replaced.deinit();
    try testing.expectEqual(put.value.created_at_ms, replaced.value.created_at_ms);
    try testing.expectEqual(@as(?u64, 3_600_000), replaced.value.ttl_ms);
    try testing.expect(replaced.value.expires_at_ms.? >= replaced.value.updated_at_ms + 3_600_000);
    try testing.expectEqual(@as(usize, 0), replaced.value.metadata.len);

    const report = try db.items.writeItems(&.{
        .{ .put = .{ .namespace = ns, .key = "a", .value_json = "1" } },
        .{ .put = .{ .namespace = ns, .key = "", .value_json = "\"empty key\"" } },
        .{ .put = .{ .namespace = &.{ "users", "u2" }, .key = "it's \"quoted\" ' OR 1=1 --", .value_json = "[true, null]" } },
        .{ .delete = .{ .namespace = ns, .key = "a" } },
        .{ .delete = .{ .namespace = ns, .key = "never-there" } },
    });
    try testing.expectEqual(@as(u64, 3), report.put);
    try testing.expectEqual(@as(u64, 1), report.deleted);
    try testing.expect(try db.items.getItem(ns, "a") == null);

    const many = try db.items.getItems(&.{
        .{ .namespace = &.{ "users", "u2" }, .key = "it's \"quoted\" ' OR 1=1 --" },
        .{ .namespace = ns, .key = "a" },
        .{ .namespace = ns, .key = "" },
    }, true);
    defer many.deinit();
    try testing.expectEqual(@as(usize, 3), many.value.len);
    try testing.expectEqualStrings("[true,null]", many.value[0].?.value_json);
    try testing.expect(many.value[1] == null);
    try testing.expectEqualStrings("\"empty key\"", many.value[2].?.value_json);

    try testing.expect(try db.items.deleteItem(ns, ""));
    try testing.expect(!try db.items.deleteItem(ns, ""));
    try testing.expectEqual(@as(u64, 0), try db.items.sweepExpiredItems());
}

test "items: search with prefixes, value filters, metadata and pages; namespace listing" {
    var f = try Fixture.init();
    defer f.deinit();
    var db = try f.open(.{});
    defer db.deinit();

    _ = try db.items.writeItems(&.{
        .{ .put = .{ .namespace = &.{ "users", "u1" }, .key = "a", .value_json = "{\"n\": 1, \"tag\": \"red\"}" } },
        .{ .put = .{ .namespace = &.{ "users", "u1" }, .key = "b", .value_json = "{\"n\": 5, \"tag\": \"blue\"}", .metadata = &.{.{ .key = "m", .value = "x" }} } },
        .{ .put = .{ .namespace = &.{ "users", "u2" }, .key = "a", .value_json = "{\"n\": 7, \"tag\": \"red\"}" } },
        .{ .put = .{ .namespace = &.{ "users", "u2", "notes" }, .key = "z", .value_json = "\"text\"" } },
        .{ .put = .{ .namespace = &.{"teams"}, .key = "t", .value_json = "{\"n\": 2}" } },
    });

    {
        const page = try db.items.searchItems(.{ .prefix = &.{"users"}, .filter_json = "{\"tag\": \"red\"}" });
        defer page.deinit();
        try testing.expectEqual(@as(u64, 2), page.value.total);
        try testing.expectEqualStrings("u1", page.value.items[0].namespace[1]);
        try testing.expectEqualStrings("u2", page.value.items[1].namespace[1]);
    }
    {
        const page = try db.items.searchItems(.{ .filter_json = "{\"n\": {\"$gt\": 1, \"$lte\": 7}}", .limit = 10 });
        defer page.deinit();
        try testing.expectEqual(@as(u64, 3), page.value.total);
    }
    {
        const page = try db.items.searchItems(.{ .prefix = &.{"users"}, .metadata = &.{.{ .key = "m", .value = "x" }} });
        defer page.deinit();
        try testing.expectEqual(@as(usize, 1), page.value.items.len);
        try testing.expectEqualStrings("b", page.value.items[0].key);
    }
    {
        // Pages are exact: `total` counts every match, `limit` and `offset` cut the page.
        const page = try db.items.searchItems(.{ .prefix = &.{"users"}, .limit = 2, .offset = 3 });
        defer page.deinit();
        try testing.expectEqual(@as(u64, 4), page.value.total);
        try testing.expectEqual(@as(usize, 1), page.value.items.len);
    }
    {
        const page = try db.items.searchItems(.{ .prefix = &.{ "users", "u" } });
        defer page.deinit();
        try testing.expectEqual(@as(u64, 0), page.value.total);
    }

    {
        const all = try db.items.listItemNamespaces(.{});
        defer all.deinit();
        try testing.expectEqual(@as(usize, 4), all.value.len);
        try testing.expectEqualStrings("teams", all.value[0][0]);
        try testing.expectEqual(@as(usize, 3), all.value[3].len);
        try testing.expectEqualStrings("notes", all.value[3][2]);
    }
    {
        const cut = try db.items.listItemNamespaces(.{ .prefix = &.{"users"}, .max_depth = 2 });
        defer cut.deinit();
        try testing.expectEqual(@as(usize, 2), cut.value.len);
    }
    {
        const wild = try db.items.listItemNamespaces(.{ .prefix = &.{ "*", "u2" }, .limit = 1, .offset = 1 });
        defer wild.deinit();
        try testing.expectEqual(@as(usize, 1), wild.value.len);
        try testing.expectEqualStrings("notes", wild.value[0][2]);
    }
    {
        const suffix = try db.items.listItemNamespaces(.{ .suffix = &.{"notes"} });
        defer suffix.deinit();
        try testing.expectEqual(@as(usize, 1), suffix.value.len);
    }

    // Everything survives a flush and a reopen.
    try db.flush();
    db.deinit();
    db = try f.open(.{});
    const page = try db.items.searchItems(.{ .limit = 100 });
    defer page.deinit();
    try testing.expectEqual(@as(u64, 5), page.value.total);
}

test "items: bad input is InvalidArgument with the library's message, and changes nothing" {
    var f = try Fixture.init();
    defer f.deinit();
    var diagnostics: agentdb.Diagnostics = .{};
    var db = try f.open(.{ .diagnostics = &diagnostics });
    defer db.deinit();
    const ns: agentdb.Namespace = &.{"a"};

    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = &.{}, .key = "k", .value_json = "1" }));
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = &.{ "a", "" }, .key = "k", .value_json = "1" }));
    // A NUL would cut the string at the C boundary: refused before the call.
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = &.{"a\x00b"}, .key = "k", .value_json = "1" }));
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = ns, .key = "k\x00", .value_json = "1" }));
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = ns, .key = "k", .value_json = "{not json" }));
    try testing.expect(std.mem.indexOf(u8, diagnostics.message(), "JSON") != null);
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = ns, .key = "k", .value_json = "1", .ttl_ms = 0 }));
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = ns, .key = "k" ** 1025, .value_json = "1" }));
    try testing.expectError(error.InvalidArgument, db.items.putItem(.{ .namespace = ns, .key = "k", .value_json = "\"\xff\"" }));
    try testing.expectError(error.InvalidArgument, db.items.writeItems(&.{}));
    try testing.expectError(error.InvalidArgument, db.items.writeItems(&.{
        .{ .put = .{ .namespace = ns, .key = "ok", .value_json = "1" } },
        .{ .put = .{ .namespace = ns, .key = "bad", .value_json = "[" } },
    }));
    try testing.expectError(error.InvalidArgument, db.items.searchItems(.{ .limit = 0 }));
    try testing.expectError(error.InvalidArgument, db.items.searchItems(.{ .filter_json = "{\"n\": {\"$regex\": \"1\"}}" }));
    try testing.expectError(error.InvalidArgument, db.items.searchItems(.{ .filter_json = "[\"n\"]" }));
    try testing.expectError(error.InvalidArgument, db.items.searchItems(.{ .filter_json = "{" }));
    try testing.expectError(error.InvalidArgument, db.items.listItemNamespaces(.{ .max_depth = 0 }));
    try testing.expectError(error.InvalidArgument, db.items.listItemNamespaces(.{ .limit = 0 }));
    try testing.expectError(error.InvalidArgument, db.items.getItems(&.{.{ .namespace = &.{}, .key = "k" }}, false));

    // Nothing of the refused batch was written.
    try testing.expect(try db.items.getItem(ns, "ok") == null);
    const namespaces = try db.items.listItemNamespaces(.{});
    defer namespaces.deinit();
    try testing.expectEqual(@as(usize, 0), namespaces.value.len);
}

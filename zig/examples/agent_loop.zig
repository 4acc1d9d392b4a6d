//! An agent loop on AgentDB: the agent keeps its own Zig type as state
//! (saved every step), remembers what it observes, recalls what is relevant,
//! snapshots before a risky tool call and rolls back when it goes wrong.
//!
//!   zig build example                 (a fresh temp database, removed after)
//!   zig build example -- DB_DIR       (keeps the database in DB_DIR)
const std = @import("std");
const agentdb = @import("agentdb");

/// The agent's own state type: saved as JSON with std.json.
const TripPlanner = struct {
    pub const agentdb_state_type: agentdb.StateType = .task_state;

    goal: []const u8,
    step: u32,
    booked: []const []const u8,
    budget_eur: u32,
    status: enum { planning, booking, done, broken } = .planning,
};

const agent_id = 42;
const session_id = 1;

const observations = [_][]const u8{
    "The user wants a weekend in Lisbon in May",
    "The user is vegetarian and dislikes early flights",
    "Flights on Friday evening cost 180 EUR",
    "A hotel in Alfama has a free room for 95 EUR a night",
};

pub fn main() !void {
    var gpa: std.heap.DebugAllocator(.{}) = .init;
    defer std.debug.assert(gpa.deinit() == .ok); // every result was freed
    const allocator = gpa.allocator();

    var stdout_buffer: [4096]u8 = undefined;
    // Streaming, not positional: stdout may be a file shared with other writers.
    var stdout_writer = std.fs.File.stdout().writerStreaming(&stdout_buffer);
    const out = &stdout_writer.interface;
    defer out.flush() catch {};

    const args = try std.process.argsAlloc(allocator);
    defer std.process.argsFree(allocator, args);
    var temp_path_buffer: [std.fs.max_path_bytes]u8 = undefined;
    const temporary = args.len < 2;
    const path = if (temporary) try std.fmt.bufPrint(&temp_path_buffer, "{s}/agentdb-zig-example-{x}", .{
        std.posix.getenv("TMPDIR") orelse "/tmp",
        std.crypto.random.int(u64),
    }) else args[1];
    defer if (temporary) std.fs.cwd().deleteTree(path) catch {};

    var diagnostics: agentdb.Diagnostics = .{};
    var db = agentdb.AgentDB.open(allocator, path, .{ .diagnostics = &diagnostics }) catch |err| {
        std.debug.print("open {s}: {s}: {s}\n", .{ path, @errorName(err), diagnostics.message() });
        return err;
    };
    defer db.deinit();
    try out.print("AgentDB {s} (Zig) at {s}\n\n", .{ agentdb.version(), path });

    var plan: TripPlanner = .{ .goal = "plan a weekend in Lisbon", .step = 0, .booked = &.{}, .budget_eur = 600 };
    var booked: std.ArrayList([]const u8) = .empty;
    defer booked.deinit(allocator);

    for (observations, 1..) |observation, step| {
        plan.step = @intCast(step);
        // Remember what was observed; the built-in model embeds the text.
        const memory_id = try db.memories.storeMemory(.{
            .agent_id = agent_id,
            .memory_type = .episodic,
            .content = observation,
            .importance = if (std.mem.indexOf(u8, observation, "user") != null) 0.9 else 0.5,
        });
        if (std.mem.indexOf(u8, observation, "Flights") != null) {
            try booked.append(allocator, "flight FRI 19:40");
            plan.budget_eur -= 180;
            plan.status = .booking;
        }
        plan.booked = booked.items;
        const version = try db.states.saveTyped(TripPlanner, agent_id, session_id, plan);
        try out.print("step {d}: observed \"{s}\" (memory {d}); saved state v{d}, budget {d} EUR\n", .{
            step, observation, memory_id, version, plan.budget_eur,
        });
    }

    // Recall: what matters for choosing where to eat?
    const recalled = try db.memories.retrieveMemories(agent_id, "what food does the user eat?", 2, .{});
    defer recalled.deinit();
    try out.print("\nrecall \"what food does the user eat?\":\n", .{});
    for (recalled.value) |hit| {
        try out.print("  {d:.3}  {s}\n", .{ hit.score, hit.memory.content });
    }
    if (recalled.value.len == 0 or std.mem.indexOf(u8, recalled.value[0].memory.content, "vegetarian") == null) {
        return error.RecallMissedTheDietaryPreference;
    }

    // Snapshot before a risky tool call, which then goes wrong.
    const safe_version = try db.states.createSnapshot(agent_id, session_id, "before-hotel-booking");
    try out.print("\nsnapshot \"before-hotel-booking\" names v{d}\n", .{safe_version});
    var broken = plan;
    broken.status = .broken;
    broken.budget_eur = 0;
    broken.booked = &.{ "flight FRI 19:40", "hotel ???", "hotel ???" };
    const broken_version = try db.states.saveTyped(TripPlanner, agent_id, session_id, broken);
    try out.print("step {d}: the booking tool double-booked and spent the budget (saved v{d})\n", .{ plan.step + 1, broken_version });

    // Roll back: the snapshot's state becomes the latest again; history keeps all.
    const restored = try db.states.restoreSnapshot(agent_id, "before-hotel-booking");
    defer restored.deinit();
    const now = try db.states.loadTyped(TripPlanner, agent_id, session_id);
    defer now.deinit();
    try out.print("rolled back: v{d} is the latest, status {s}, budget {d} EUR, booked {d} item(s)\n", .{
        restored.value.version, @tagName(now.value.status), now.value.budget_eur, now.value.booked.len,
    });
    if (now.value.status != .booking or now.value.budget_eur != 420) return error.RollbackDidNotRestore;

    const history = try db.states.queryHistory(.{ .agent_id = agent_id, .session_id = session_id, .limit = 10 });
    defer history.deinit();
    try out.print("\nhistory, newest first:\n", .{});
    for (history.value) |state| {
        const typed = try std.json.parseFromSlice(TripPlanner, allocator, state.data, .{});
        defer typed.deinit();
        try out.print("  v{d}  step {d}  {s}  budget {d}\n", .{
            state.version, typed.value.step, @tagName(typed.value.status), typed.value.budget_eur,
        });
    }

    // A bad snapshot name: a Zig error, with the library's message.
    const states = db.states.withDiagnostics(&diagnostics);
    if (states.createSnapshot(agent_id, session_id, "no spaces allowed")) |_| {
        return error.BadNameAccepted;
    } else |err| {
        try out.print("\ncreateSnapshot(\"no spaces allowed\"): error.{s} ({s}): {s}\n", .{
            @errorName(err), diagnostics.code(), diagnostics.message(),
        });
    }
    try out.print("done\n", .{});
}

const std = @import("std");
const agentdb = @import("agentdb");
test "smoke" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmp.dir.realpathAlloc(std.testing.allocator, ".");
    defer std.testing.allocator.free(path);
    var db = try agentdb.AgentDB.open(std.testing.allocator, path, .{});
    defer db.deinit();
    const v = try db.states.saveState(1, 1, .context, "hello", &.{});
    try std.testing.expectEqual(@as(u64, 1), v);
}

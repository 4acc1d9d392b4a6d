//! Conversion at the C edge: Zig slices to NUL-terminated strings, metadata
//! to and from the ABI's JSON objects, and C results copied into memory the
//! caller owns (`Owned`). No rule of the engine lives here: the library
//! validates every value; this file only changes its representation.
const std = @import("std");
const Allocator = std.mem.Allocator;
const c = @import("c.zig").c;
const errors = @import("errors.zig");
const Error = errors.Error;
const Diagnostics = errors.Diagnostics;

/// One metadata entry. Metadata is a string → string map.
pub const KeyValue = struct {
    key: []const u8,
    value: []const u8,
};

/// Metadata in and out: a slice of key/value pairs. In, it is serialised
/// to a JSON object with std.json (a repeated key: the library keeps the
/// last); out, it is parsed back, in the library's order (sorted by key).
pub const Metadata = []const KeyValue;

/// The value stored under `key`, or null.
pub fn lookup(metadata: Metadata, key: []const u8) ?[]const u8 {
    for (metadata) |entry| {
        if (std.mem.eql(u8, entry.key, key)) return entry.value;
    }
    return null;
}

/// A result whose memory belongs to one arena, freed by `deinit` (the shape
/// of `std.json.Parsed`): every slice in `value` lives until then.
pub fn Owned(comptime T: type) type {
    return struct {
        arena: *std.heap.ArenaAllocator,
        value: T,

        const Self = @This();

        pub fn init(allocator: Allocator) Allocator.Error!Self {
            const arena = try allocator.create(std.heap.ArenaAllocator);
            arena.* = .init(allocator);
            return .{ .arena = arena, .value = undefined };
        }

        pub fn deinit(self: Self) void {
            const allocator = self.arena.child_allocator;
            self.arena.deinit();
            allocator.destroy(self.arena);
        }
    };
}

/// What every subsystem carries: the C handle, the allocator results are
/// copied into, and where failures are described. A value type: copies
/// share the handle; only `AgentDB.deinit` closes it.
pub const Context = struct {
    handle: *c.AgentDb,
    allocator: Allocator,
    diagnostics: ?*Diagnostics,

    pub fn check(ctx: Context, status: c.AgentDbStatus) Error!void {
        return errors.check(status, ctx.diagnostics);
    }

    pub fn fail(ctx: Context, err: Error, text: []const u8) Error {
        return errors.fail(ctx.diagnostics, err, text);
    }

    /// `text` NUL-terminated in `allocator`. A NUL inside would silently
    /// cut the string at the C boundary, so it is refused.
    pub fn cString(ctx: Context, allocator: Allocator, text: []const u8) (Error || Allocator.Error)![:0]const u8 {
        if (std.mem.indexOfScalar(u8, text, 0) != null) {
            return ctx.fail(error.InvalidArgument, "string argument contains a NUL byte");
        }
        return allocator.dupeZ(u8, text);
    }

    /// An optional bound in the ABI's form, where 0 means "none": null
    /// becomes 0, and 0 itself is refused (it would silently mean "none").
    pub fn bound(ctx: Context, value: ?u64, comptime field: []const u8) Error!u64 {
        const v = value orelse return 0;
        if (v == 0) return ctx.fail(error.InvalidArgument, field ++ " must be >= 1 (null: no bound)");
        return v;
    }

    /// NUL-terminated copies of `texts`, as the C array of pointers.
    pub fn cStrings(ctx: Context, allocator: Allocator, texts: []const []const u8) (Error || Allocator.Error)![]const [*c]const u8 {
        const out = try allocator.alloc([*c]const u8, texts.len);
        for (texts, out) |text, *slot| slot.* = (try ctx.cString(allocator, text)).ptr;
        return out;
    }
};

/// Metadata as the ABI's JSON object of strings; NULL when empty.
pub fn metadataJson(allocator: Allocator, metadata: Metadata) Allocator.Error!?[*:0]const u8 {
    if (metadata.len == 0) return null;
    var out: std.Io.Writer.Allocating = .init(allocator);
    defer out.deinit();
    var json: std.json.Stringify = .{ .writer = &out.writer };
    writeMetadata(&json, metadata) catch return error.OutOfMemory;
    return (try out.toOwnedSliceSentinel(0)).ptr;
}

fn writeMetadata(json: *std.json.Stringify, metadata: Metadata) std.json.Stringify.Error!void {
    try json.beginObject();
    for (metadata) |entry| {
        try json.objectField(entry.key);
        try json.write(entry.value);
    }
    try json.endObject();
}

/// The ABI's metadata JSON (`{"k":"v"}`, NULL: none) as key/value pairs in `arena`.
pub fn parseMetadata(arena: Allocator, json: [*c]const u8) (Error || Allocator.Error)!Metadata {
    if (json == null) return &.{};
    const text = std.mem.span(json);
    const value = std.json.parseFromSliceLeaky(std.json.Value, arena, text, .{ .allocate = .alloc_always }) catch |err| switch (err) {
        error.OutOfMemory => return error.OutOfMemory,
        else => return error.Unexpected,
    };
    if (value != .object) return error.Unexpected;
    const entries = try arena.alloc(KeyValue, value.object.count());
    var it = value.object.iterator();
    var i: usize = 0;
    while (it.next()) |entry| : (i += 1) {
        if (entry.value_ptr.* != .string) return error.Unexpected;
        entries[i] = .{ .key = entry.key_ptr.*, .value = entry.value_ptr.string };
    }
    return entries;
}

/// A JSON report of the library (a C string) parsed into a `T` in `arena`.
/// Fields `T` does not declare are ignored (a newer library may add some);
/// JSON that does not fit `T` means the library is not the one this binding
/// knows: `error.Unexpected`.
pub fn parseJson(comptime T: type, arena: Allocator, json: [*c]const u8) (Error || Allocator.Error)!T {
    if (json == null) return error.Unexpected;
    return std.json.parseFromSliceLeaky(T, arena, std.mem.span(json), .{
        .allocate = .alloc_always,
        .ignore_unknown_fields = true,
    }) catch |err| switch (err) {
        error.OutOfMemory => error.OutOfMemory,
        else => error.Unexpected,
    };
}

/// A C string copied into `arena` ("" for NULL).
pub fn dupeString(arena: Allocator, text: [*c]const u8) Allocator.Error![]const u8 {
    if (text == null) return "";
    return arena.dupe(u8, std.mem.span(text));
}

/// `len` items at `ptr` copied into `arena` (empty for NULL or 0).
pub fn dupeItems(comptime T: type, arena: Allocator, ptr: [*c]const T, len: usize) Allocator.Error![]const T {
    if (len == 0 or ptr == null) return &.{};
    return arena.dupe(T, ptr[0..len]);
}

/// `len` items at `ptr` as a slice, not copied: valid while the C result lives.
pub fn view(comptime T: type, ptr: [*c]const T, len: usize) []const T {
    if (len == 0 or ptr == null) return &.{};
    return ptr[0..len];
}

/// A C enum value as a Zig enum; a value the binding does not know means a
/// newer library.
pub fn enumFromC(comptime E: type, raw: anytype) Error!E {
    return std.meta.intToEnum(E, raw) catch error.Unexpected;
}

/// The C pointer for a slice of items: NULL when empty (the ABI's "none").
pub fn itemsPtr(comptime T: type, items: []const T) [*c]const T {
    return if (items.len == 0) null else items.ptr;
}

test "metadata round-trips through the ABI's JSON" {
    const allocator = std.testing.allocator;
    var arena: std.heap.ArenaAllocator = .init(allocator);
    defer arena.deinit();
    var diagnostics: Diagnostics = .{};
    const ctx: Context = .{ .handle = undefined, .allocator = allocator, .diagnostics = &diagnostics };

    try std.testing.expectEqual(@as(?[*:0]const u8, null), try metadataJson(arena.allocator(), &.{}));
    const json = (try metadataJson(arena.allocator(), &.{
        .{ .key = "source", .value = "chat" },
        .{ .key = "quote\"d", .value = "line\nbreak ünï" },
    })).?;
    try std.testing.expectEqualStrings("{\"source\":\"chat\",\"quote\\\"d\":\"line\\nbreak ünï\"}", std.mem.span(json));

    const parsed = try parseMetadata(arena.allocator(), json);
    try std.testing.expectEqual(@as(usize, 2), parsed.len);
    try std.testing.expectEqualStrings("line\nbreak ünï", lookup(parsed, "quote\"d").?);
    try std.testing.expectEqual(@as(?[]const u8, null), lookup(parsed, "absent"));
    try std.testing.expectEqual(@as(usize, 0), (try parseMetadata(arena.allocator(), null)).len);
    try std.testing.expectError(error.Unexpected, parseMetadata(arena.allocator(), "[1]"));
    try std.testing.expectError(error.Unexpected, parseMetadata(arena.allocator(), "{\"k\":1}"));

    const Report = struct { n: u64, ids: []const u64 };
    const report = try parseJson(Report, arena.allocator(), "{\"n\":2,\"ids\":[3,4],\"newer\":true}");
    try std.testing.expectEqual(@as(u64, 2), report.n);
    try std.testing.expectEqualSlices(u64, &.{ 3, 4 }, report.ids);
    try std.testing.expectError(error.Unexpected, parseJson(Report, arena.allocator(), "{\"n\":\"two\"}"));
    try std.testing.expectError(error.Unexpected, parseJson(Report, arena.allocator(), null));

    try std.testing.expectError(error.InvalidArgument, ctx.cString(arena.allocator(), "a\x00b"));
    try std.testing.expectEqual(@as(?errors.Error, error.InvalidArgument), diagnostics.err);
    try std.testing.expectEqualStrings("ab", try ctx.cString(arena.allocator(), "ab"));
}

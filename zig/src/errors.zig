//! Status codes of the C ABI as a Zig error set, and the `Diagnostics` that
//! carries the message a Zig error cannot. `check` is the one place a status
//! becomes an error; `name` gives the stable code every AgentDB surface
//! uses ("not_found", ...), taken from the library itself.
const std = @import("std");
const c = @import("c.zig").c;

/// One error per C status code (SPEC.md's error codes), plus `Unexpected`.
pub const Error = error{
    /// Bad input (NULL, invalid UTF-8, malformed JSON, out-of-range value); nothing changed.
    InvalidArgument,
    PayloadTooLarge,
    NotFound,
    AlreadyExists,
    /// Stored bytes failed their checksum; never served as data.
    Corrupted,
    /// Another handle (this process or another) holds the database open for writing.
    Locked,
    ReadOnly,
    Closed,
    /// A text call needs the embedding model and none is installed.
    ModelUnavailable,
    Embedding,
    DimensionMismatch,
    Io,
    /// An error from the LanceDB storage layer.
    Storage,
    /// A bug in the library; the call had no effect that can be relied on.
    Panic,
    /// The call's cancel token was cancelled before it finished; nothing changed.
    Cancelled,
    /// A status or value this binding does not know: the library is newer than the binding.
    Unexpected,
};

/// Status code ↔ error, in the header's order. Both directions read this table.
const status_errors = [_]struct { status: c.AgentDbStatus, err: Error }{
    .{ .status = c.AGENT_DB_INVALID_ARGUMENT, .err = error.InvalidArgument },
    .{ .status = c.AGENT_DB_PAYLOAD_TOO_LARGE, .err = error.PayloadTooLarge },
    .{ .status = c.AGENT_DB_NOT_FOUND, .err = error.NotFound },
    .{ .status = c.AGENT_DB_ALREADY_EXISTS, .err = error.AlreadyExists },
    .{ .status = c.AGENT_DB_CORRUPTED, .err = error.Corrupted },
    .{ .status = c.AGENT_DB_LOCKED, .err = error.Locked },
    .{ .status = c.AGENT_DB_READ_ONLY, .err = error.ReadOnly },
    .{ .status = c.AGENT_DB_CLOSED, .err = error.Closed },
    .{ .status = c.AGENT_DB_MODEL_UNAVAILABLE, .err = error.ModelUnavailable },
    .{ .status = c.AGENT_DB_EMBEDDING, .err = error.Embedding },
    .{ .status = c.AGENT_DB_DIMENSION_MISMATCH, .err = error.DimensionMismatch },
    .{ .status = c.AGENT_DB_IO, .err = error.Io },
    .{ .status = c.AGENT_DB_STORAGE, .err = error.Storage },
    .{ .status = c.AGENT_DB_PANIC, .err = error.Panic },
    .{ .status = c.AGENT_DB_CANCELLED, .err = error.Cancelled },
};

/// The message of a failed call. Zig errors carry no payload, so a caller
/// who wants the text passes one of these (`Options.diagnostics`, or
/// `withDiagnostics` on a subsystem); it is overwritten by each failure.
/// One per thread: a shared handle is fine, a shared Diagnostics is a race.
pub const Diagnostics = struct {
    /// The error of the last failure reported here; null until one happens.
    err: ?Error = null,
    message_buffer: [message_bytes_max]u8 = undefined,
    message_len: usize = 0,

    /// Longer messages are cut here (they are one line in practice).
    pub const message_bytes_max = 1024;

    /// The failure's message, e.g. "not found: state of agent 7 session 1".
    pub fn message(d: *const Diagnostics) []const u8 {
        return d.message_buffer[0..d.message_len];
    }

    /// The failure's stable code ("not_found"), or "" before any failure.
    pub fn code(d: *const Diagnostics) []const u8 {
        return if (d.err) |err| name(err) else "";
    }

    pub fn record(d: *Diagnostics, err: Error, text: []const u8) void {
        d.err = err;
        d.message_len = @min(text.len, message_bytes_max);
        @memcpy(d.message_buffer[0..d.message_len], text[0..d.message_len]);
    }
};

/// Maps a C status to `Error` (the one place that does), copying the
/// thread's last error message into `diagnostics` on failure.
pub fn check(status: c.AgentDbStatus, diagnostics: ?*Diagnostics) Error!void {
    if (status == c.AGENT_DB_OK) return;
    const err: Error = for (status_errors) |entry| {
        if (entry.status == status) break entry.err;
    } else error.Unexpected;
    if (diagnostics) |d| d.record(err, std.mem.span(c.agent_db_last_error_message()));
    return err;
}

/// Reports a failure found by the binding itself (before any C call).
pub fn fail(diagnostics: ?*Diagnostics, err: Error, text: []const u8) Error {
    if (diagnostics) |d| d.record(err, text);
    return err;
}

/// The stable code of an error ("invalid_argument", ...), as the library
/// names it (`agent_db_status_name`); "unexpected" for `Unexpected`.
pub fn name(err: Error) [:0]const u8 {
    for (status_errors) |entry| {
        if (entry.err == err) return std.mem.span(c.agent_db_status_name(entry.status));
    }
    return "unexpected";
}

test "every status code maps to its own error and back to the library's name" {
    var diagnostics: Diagnostics = .{};
    try check(c.AGENT_DB_OK, &diagnostics);
    try std.testing.expectEqual(@as(?Error, null), diagnostics.err);
    for (status_errors, 1..) |entry, expected_status| {
        try std.testing.expectEqual(@as(c.AgentDbStatus, @intCast(expected_status)), entry.status);
        try std.testing.expectError(entry.err, check(entry.status, &diagnostics));
        try std.testing.expectEqual(@as(?Error, entry.err), diagnostics.err);
        try std.testing.expectEqualStrings(std.mem.span(c.agent_db_status_name(entry.status)), name(entry.err));
    }
    try std.testing.expectEqualStrings("not_found", name(error.NotFound));
    try std.testing.expectEqualStrings("dimension_mismatch", name(error.DimensionMismatch));
    try std.testing.expectEqualStrings("cancelled", name(error.Cancelled));
    try std.testing.expectError(error.Unexpected, check(99, null));
    // The C ABI takes the code as uint32_t: a number that is no status is named, never undefined behaviour.
    for ([_]u32{ 16, 17, 100, 9999, std.math.maxInt(u32) }) |code| {
        try std.testing.expectEqualStrings("unknown_status", std.mem.span(c.agent_db_status_name(code)));
    }
    try std.testing.expectEqualStrings("unexpected", name(error.Unexpected));
}

test "Diagnostics keeps a bounded copy of the message" {
    var diagnostics: Diagnostics = .{};
    const long = "x" ** (Diagnostics.message_bytes_max + 10);
    diagnostics.record(error.Io, long);
    try std.testing.expectEqual(Diagnostics.message_bytes_max, diagnostics.message().len);
    try std.testing.expectEqualStrings("io", diagnostics.code());
}

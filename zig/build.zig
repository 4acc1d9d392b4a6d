//! Builds the AgentDB Zig package over the C ABI (include/agent_db.h,
//! libagentdb.so from `cargo build --workspace`).
//!
//!   zig build test     Zig tests and the conformance cases against the real library
//!   zig build example  runs examples/agent_loop.zig
//!
//! Options: -Dlib-dir=DIR (libagentdb.so; default $CARGO_TARGET_DIR/debug,
//! else $HOME/.cache/agentdb-target/debug), -Dinclude-dir=DIR (default ../include),
//! -Dconformance-dir=DIR (default ../tests/conformance).
const std = @import("std");
const builtin = @import("builtin");

/// The one Zig version this package is written for: Zig's std and build API
/// change every release, so any other version fails here, by name, rather
/// than somewhere deep in the std.
const zig_version_expected = std.SemanticVersion{ .major = 0, .minor = 15, .patch = 2 };

comptime {
    const v = builtin.zig_version;
    if (v.major != zig_version_expected.major or v.minor != zig_version_expected.minor or
        v.patch != zig_version_expected.patch or v.pre != null)
    {
        @compileError(std.fmt.comptimePrint(
            "AgentDB's Zig package needs Zig {f} exactly (scripts/setup_zig.sh installs it); this is Zig {f}",
            .{ zig_version_expected, v },
        ));
    }
}

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    const lib_dir = b.option([]const u8, "lib-dir", "Directory holding libagentdb.so") orelse
        defaultLibDir(b);
    const include_dir: std.Build.LazyPath = if (b.option([]const u8, "include-dir", "Directory holding agent_db.h")) |dir|
        .{ .cwd_relative = dir }
    else
        b.path("../include");

    const agentdb = b.addModule("agentdb", .{
        .root_source_file = b.path("src/agentdb.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    agentdb.addIncludePath(include_dir);
    agentdb.addLibraryPath(.{ .cwd_relative = lib_dir });
    // The debug library sits in cargo's target dir, not on the loader's path.
    agentdb.addRPath(.{ .cwd_relative = lib_dir });
    agentdb.linkSystemLibrary("agentdb", .{ .preferred_link_mode = .dynamic });

    const test_step = b.step("test", "Run the Zig tests and the conformance cases against the real library");
    const conformance_options = b.addOptions();
    const cases_dir: std.Build.LazyPath = if (b.option([]const u8, "conformance-dir", "Directory of the conformance cases (*.json)")) |dir|
        .{ .cwd_relative = dir }
    else
        b.path("../tests/conformance");
    conformance_options.addOptionPath("cases_dir", cases_dir);
    const test_files = [_][]const u8{ "tests/agentdb_test.zig", "tests/conformance_test.zig" };
    for (test_files) |file| {
        const module = b.createModule(.{
            .root_source_file = b.path(file),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "agentdb", .module = agentdb }},
        });
        if (std.mem.eql(u8, file, "tests/conformance_test.zig")) module.addOptions("conformance_options", conformance_options);
        const tests = b.addTest(.{ .name = std.fs.path.stem(file), .root_module = module });
        const run = b.addRunArtifact(tests);
        test_step.dependOn(&run.step);
    }
    // The binding's own unit tests (JSON conversion, error mapping).
    const unit_tests = b.addTest(.{ .name = "agentdb_unit", .root_module = agentdb });
    test_step.dependOn(&b.addRunArtifact(unit_tests).step);

    const example = b.addExecutable(.{
        .name = "agent_loop",
        .root_module = b.createModule(.{
            .root_source_file = b.path("examples/agent_loop.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "agentdb", .module = agentdb }},
        }),
    });
    b.installArtifact(example);
    const run_example = b.addRunArtifact(example);
    if (b.args) |args| run_example.addArgs(args);
    const example_step = b.step("example", "Run the example agent loop (examples/agent_loop.zig)");
    example_step.dependOn(&run_example.step);
}

fn defaultLibDir(b: *std.Build) []const u8 {
    if (b.graph.env_map.get("CARGO_TARGET_DIR")) |dir| return b.pathJoin(&.{ dir, "debug" });
    const home = b.graph.env_map.get("HOME") orelse "/root";
    return b.pathJoin(&.{ home, ".cache", "agentdb-target", "debug" });
}

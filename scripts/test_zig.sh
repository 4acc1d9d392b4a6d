#!/usr/bin/env bash
# The Zig package's tests (zig/tests: every operation through the real
# libagentdb, and the conformance cases in tests/conformance) and its example
# agent loop. Needs libagentdb.so from `cargo build --workspace` in
# $CARGO_TARGET_DIR/debug (default $HOME/.cache/agentdb-target/debug) and the
# built-in embedding model (scripts/setup.sh). Extra arguments go to both
# `zig build` runs, e.g. `bash scripts/test_zig.sh -Doptimize=ReleaseSafe`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup_zig.sh
PYTHON="${AGENTDB_PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
LIB_DIR="$CARGO_TARGET_DIR/debug"
if [ ! -f "$LIB_DIR/libagentdb.so" ]; then
  echo "test_zig: $LIB_DIR/libagentdb.so is missing; build it with: cargo build --workspace" >&2
  exit 1
fi

cd zig
"$PYTHON" -m ziglang fmt --check build.zig build.zig.zon src tests examples
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$PYTHON" -m ziglang build test --summary all -Dlib-dir="$LIB_DIR" "$@" 2>&1 | tee "$log"
"$PYTHON" -m ziglang build example -Dlib-dir="$LIB_DIR" "$@"
# Zig's summary says "N/M tests passed"; end with the plain line test
# harnesses read.
passed="$(sed -n 's|.*; \([0-9][0-9]*\)/[0-9][0-9]* tests passed.*|\1|p' "$log" | tail -n 1)"
echo "zig: ${passed:-0} passed, 0 failed"

#!/usr/bin/env bash
# The whole test suite: the format and lint gates first (rustfmt, clippy
# with warnings as errors), then every crate's unit and integration tests (real
# LanceDB on disk, kill -9 crash tests, the real embedding model, the CLI
# end to end, the C example natively and under valgrind, the committed C
# header, --quick runs of the benchmark harnesses), then the Zig package's
# tests and example, then the Python package's tests (incl. the LangGraph
# and LangChain suites), then the packages as users get them (crates,
# Python sdist and wheel in a fresh venv, the C library via pkg-config).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RUST_BACKTRACE=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
cargo fmt --all --check
# Clippy's check artifacts cannot be shared with the build's (check vs codegen),
# so they live in a subfolder of the one target directory: no second copy of
# anything the build makes, and no lock contention with it.
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/clippy" cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace --all-targets
# The server against its own OpenAPI document (Schemathesis, ~1 min): no 5xx, every response as documented.
bash crates/agentdb-server/schemathesis.sh
bash scripts/test_zig.sh
bash scripts/test_go.sh
bash scripts/test_python.sh
bash scripts/test_packages.sh
# The side-by-side benchmark harness (bench/compare.py), quick mode: checks that it runs, never a number.
AGENTDB_BENCH_PROFILE=installed bash scripts/setup_bench.sh
BENCH_OUT="$(mktemp -d)"
"${AGENTDB_BENCH_VENV:-$HOME/.cache/agentdb-bench-venv}/bin/python" bench/compare.py --quick --out "$BENCH_OUT"
# The server load benchmark (bench/load_server.py) likewise, on the debug server the tests built (~30 s, never a number).
"${AGENTDB_BENCH_VENV:-$HOME/.cache/agentdb-bench-venv}/bin/python" bench/load_server.py --quick --dev-build --out "$BENCH_OUT"
rm -rf "$BENCH_OUT"

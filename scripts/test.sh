#!/usr/bin/env bash
# The whole test suite: every crate's unit and integration tests (real
# LanceDB on disk, kill -9 crash tests, the real embedding model, the CLI
# end to end) and a smoke run of the benchmark harness.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RUST_BACKTRACE=1
cargo test --locked --workspace --all-targets
# The benchmark harness must keep working; its numbers are not checked here.
# Run the binary the test build made: `cargo run -p` would resolve features
# for one package and rebuild part of the tree.
"${CARGO_TARGET_DIR:-target}/debug/agentdb-bench" --quick >/dev/null
echo "benchmark harness smoke run: ok"

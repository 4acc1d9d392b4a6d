#!/usr/bin/env bash
# The whole test suite: every crate's unit and integration tests (real
# LanceDB on disk, kill -9 crash tests, the real embedding model, the CLI
# end to end, and a --quick run of the benchmark harness).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RUST_BACKTRACE=1
cargo test --locked --workspace --all-targets

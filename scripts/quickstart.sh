#!/usr/bin/env bash
# The main job: build and run `agentdb quickstart` on an embedded database.
# Extra arguments go to the quickstart (e.g. --path DIR, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
# Build the whole workspace (as the tests do) so dependencies compile once
# with one feature set, whichever command runs first.
cargo build --locked --quiet --workspace
exec "${CARGO_TARGET_DIR:-target}/debug/agentdb" quickstart "$@"

#!/usr/bin/env bash
# The main job: build and run `agentdb quickstart` on an embedded database.
# Extra arguments go to the quickstart (e.g. --path DIR, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
# The same target directory and the same build as scripts/test.sh (the whole
# workspace, one feature set), so LanceDB compiles once whichever runs first.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
cargo build --locked --quiet --workspace
exec "$CARGO_TARGET_DIR/debug/agentdb" quickstart "$@"

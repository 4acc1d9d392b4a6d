#!/usr/bin/env bash
# The main job: build and run `agentdb quickstart` on an embedded database.
# Extra arguments go to the quickstart (e.g. --path DIR, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
exec cargo run --locked --quiet -p agentdb-cli -- quickstart "$@"

#!/usr/bin/env bash
# The Python binding's tests (bindings/python/tests, real engine on temp dirs).
# Extra arguments go to pytest, e.g. `bash scripts/test_python.sh -k threads`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_python.sh
VENV="${AGENTDB_VENV:-$HOME/.cache/agentdb-venv}"
exec "$VENV/bin/python" -m pytest bindings/python/tests -q "$@"

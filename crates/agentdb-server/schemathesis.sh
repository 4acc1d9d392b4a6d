#!/usr/bin/env bash
# Schemathesis (PyPI, pinned) against the server's own /openapi.json: bounded
# generated requests for every operation; fails on any 5xx or a response
# (status, content type, body) the document does not describe. About a
# minute. Needs the workspace built (`cargo build --workspace --all-targets`).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
VENV="${AGENTDB_SCHEMATHESIS_VENV:-$HOME/.cache/agentdb-schemathesis-venv}"
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${AGENTDB_SCHEMATHESIS_EXAMPLES:-10}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

DATA="$(mktemp -d)"
OUT="$DATA/stdout"
AGENTDB_SERVER__LISTEN=127.0.0.1:0 AGENTDB_SERVER__DATA_DIR="$DATA/db" AGENTDB_LOG__LEVEL=error \
  AGENTDB_ENGINE__MAINTENANCE_INTERVAL_MS=0 "$TARGET/debug/agentdb-server" >"$OUT" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
BASE=""
for _ in $(seq 1 600); do
  BASE="$(sed -n 's/^listening on //p' "$OUT")"
  if [ -n "$BASE" ] && curl -sf "$BASE/readyz" >/dev/null; then break; fi
  sleep 0.1
done
[ -n "$BASE" ] || { echo "server did not start" >&2; exit 1; }
"$VENV/bin/schemathesis" run "$BASE/openapi.json" --no-color \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES"

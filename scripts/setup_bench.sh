#!/usr/bin/env bash
# The side-by-side benchmark's environment (bench/compare.py): its own venv
# (${AGENTDB_BENCH_VENV:-$HOME/.cache/agentdb-bench-venv}) with the pinned
# peers (bench/requirements.txt) and agentdb installed from a wheel built from
# the committed HEAD (not the working tree: the numbers belong to a commit).
# Idempotent: the wheel is rebuilt only when HEAD or the profile changed.
#
#   bash scripts/setup_bench.sh                            # release build: for real numbers
#   AGENTDB_BENCH_PROFILE=dev bash scripts/setup_bench.sh  # dev build: reuses `cargo test`'s
#                                                          # artifacts; for --quick smoke runs only
#                                                          # (a release wheel of HEAD already
#                                                          # installed is kept: it serves both)
#   AGENTDB_BENCH_PROFILE=installed bash scripts/setup_bench.sh
#                                                          # keep whatever agentdb the venv has (any
#                                                          # commit, any profile); a dev build only if
#                                                          # it has none. What scripts/test.sh uses:
#                                                          # its --quick run checks the harness, and
#                                                          # must not swap the wheel under a real run
#
# A release build of LanceDB takes 30-40 minutes on 2 cores the first time;
# later builds recompile only agentdb and the binding. The wheel is a plain
# (non-editable) install, so another venv's `maturin develop` in
# bindings/python cannot swap the extension under a running benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

# protoc (Lance's build) and the fashion-mnist data set (the ANN workload).
bash scripts/setup.sh

VENV="${AGENTDB_BENCH_VENV:-$HOME/.cache/agentdb-bench-venv}"
PROFILE="${AGENTDB_BENCH_PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
case "$PROFILE" in
  release | dev | installed) ;;
  *) echo "setup_bench: AGENTDB_BENCH_PROFILE must be release, dev or installed, not '$PROFILE'" >&2; exit 1 ;;
esac

PYTHON="${AGENTDB_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup_bench: bench/requirements.txt is pinned for Python 3.11; set AGENTDB_PYTHON to a python3.11" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_bench: creating the venv at $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet -r bench/requirements.txt

# agentdb: a wheel of the committed HEAD, built once per (commit, profile).
COMMIT="$(git rev-parse HEAD)"
WANT="profile=$PROFILE commit=$COMMIT"
MARKER="$VENV/agentdb-build.txt"
HAVE="$(cat "$MARKER" 2>/dev/null || true)"
if [ "$HAVE" = "profile=release commit=$COMMIT" ]; then WANT="$HAVE"; fi
if [ "$PROFILE" = installed ]; then
  if [ -n "$HAVE" ] && "$VENV/bin/python" -c 'import agentdb' 2>/dev/null; then
    WANT="$HAVE"
  else
    PROFILE=dev
    WANT="profile=$PROFILE commit=$COMMIT"
  fi
fi
if [ "$HAVE" != "$WANT" ] || ! "$VENV/bin/python" -c 'import agentdb' 2>/dev/null; then
  SRC="$(mktemp -d "${TMPDIR:-/tmp}/agentdb-bench-src.XXXXXX")"
  trap 'rm -rf "$SRC"' EXIT
  git archive --format=tar HEAD | tar -x -C "$SRC"
  FLAGS=()
  if [ "$PROFILE" = release ]; then FLAGS=(--release); fi
  echo "setup_bench: building agentdb ($PROFILE) from $COMMIT; a first release build takes 30-40 min on 2 cores"
  VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/maturin" build --locked "${FLAGS[@]}" --manifest-path "$SRC/bindings/python/Cargo.toml" -o "$SRC/wheels"
  "${PIP[@]}" install --quiet --force-reinstall --no-deps "$SRC"/wheels/agentdb_engine-*.whl
  echo "$WANT" >"$MARKER"
fi
"${PIP[@]}" check
"$VENV/bin/python" -c 'import agentdb; print("setup_bench: agentdb", agentdb.__version__, "from", agentdb.__file__)'
echo "setup_bench: $(cat "$MARKER")"

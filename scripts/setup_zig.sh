#!/usr/bin/env bash
# Installs the pinned Zig compiler (zig/build.zig checks the same version at
# compile time) from PyPI's `ziglang` package into the user's Python, so it
# runs as `python3 -m ziglang`. Idempotent: does nothing when it is there.
set -euo pipefail

ZIG_VERSION=0.15.2
PYTHON="${AGENTDB_PYTHON:-python3}"

have="$("$PYTHON" -m ziglang version 2>/dev/null || true)"
if [ "$have" != "$ZIG_VERSION" ]; then
  echo "setup_zig: installing Zig $ZIG_VERSION (PyPI ziglang==$ZIG_VERSION)${have:+, replacing $have}"
  user_flag=()
  if [ "$(id -u)" != "0" ] && [ -z "${VIRTUAL_ENV:-}" ]; then user_flag=(--user); fi
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${user_flag[@]}" "ziglang==$ZIG_VERSION"
fi
echo "setup_zig: zig $("$PYTHON" -m ziglang version)"

#!/usr/bin/env bash
# Builds libagentdb (the C ABI) and puts it, with its header, where the Go
# package's cgo flags look: bindings/go/lib/ (gitignored). One command, since
# a Go module cannot run cargo:
#
#   bash scripts/build_go_lib.sh && cd bindings/go && go test ./...
#
# The whole workspace is built (never one package alone, so LanceDB is not
# rebuilt with other features) into $CARGO_TARGET_DIR (default
# $HOME/.cache/agentdb-target), debug profile. libagentdb.a is linked
# statically by default; libagentdb.so is there for `-tags agentdb_shared`.
#   AGENTDB_PROFILE=release   the optimised library (cargo build --release
#                             --workspace; a first release build of LanceDB
#                             takes 30+ minutes on 2 cores), for benchmarks
#   AGENTDB_SKIP_CARGO=1      copy what the profile's directory holds, no cargo
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
case "${AGENTDB_PROFILE:-dev}" in
  dev) release=(); src="$CARGO_TARGET_DIR/debug" ;;
  release) release=(--release); src="$CARGO_TARGET_DIR/release" ;;
  *) echo "build_go_lib: AGENTDB_PROFILE must be dev or release" >&2; exit 2 ;;
esac
if [ "${AGENTDB_SKIP_CARGO:-0}" != 1 ]; then
  cargo build --locked "${release[@]}" --workspace
fi
for f in libagentdb.a libagentdb.so; do
  if [ ! -f "$src/$f" ]; then
    echo "build_go_lib: $src/$f is missing after cargo build ${release[*]} --workspace" >&2
    exit 1
  fi
done

dest=bindings/go/lib
mkdir -p "$dest"
# Copies, not links (a running Go test binary keeps using the library it was
# linked with while cargo rebuilds). cp -p keeps size and mtime, so an
# unchanged library (1.2 GB for the debug .a) is not copied again.
same() { [ -f "$2" ] && [ "$(stat -c '%s %Y' "$1")" = "$(stat -c '%s %Y' "$2")" ]; }
for f in libagentdb.a libagentdb.so; do
  if ! same "$src/$f" "$dest/$f"; then
    cp -p "$src/$f" "$dest/$f.tmp"
    mv "$dest/$f.tmp" "$dest/$f"
  fi
done
cmp -s include/agent_db.h "$dest/agent_db.h" || cp include/agent_db.h "$dest/agent_db.h"
echo "build_go_lib: $dest/libagentdb.a ($(du -h "$dest/libagentdb.a" | cut -f1), ${AGENTDB_PROFILE:-dev}), libagentdb.so and agent_db.h are ready"

#!/usr/bin/env bash
# Installs the C library the way a C program consumes it:
#   PREFIX/include/agent_db.h
#   PREFIX/lib/libagentdb.so, PREFIX/lib/libagentdb.a
#   PREFIX/lib/pkgconfig/agentdb-engine.pc   (from crates/agentdb-capi/agentdb-engine.pc.in)
# after which
#   export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
#   cc app.c $(pkg-config --cflags --libs agentdb-engine) -Wl,-rpath,PREFIX/lib
# builds against the installed copy (scripts/test_packages.sh does exactly that).
#
#   bash scripts/install_c.sh PREFIX                          # builds the workspace (dev profile) first
#   AGENTDB_PROFILE=release bash scripts/install_c.sh PREFIX  # optimised library; a first release
#                                                             # build of LanceDB takes 30-40 min on 2 cores
#   AGENTDB_LIB_DIR=DIR bash scripts/install_c.sh PREFIX      # install the libraries already built in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
  echo "usage: scripts/install_c.sh PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
PREFIX="$(cd "$1" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"

LIB_DIR="${AGENTDB_LIB_DIR:-}"
if [ -z "$LIB_DIR" ]; then
  case "${AGENTDB_PROFILE:-dev}" in
    dev) cargo build --locked --quiet --workspace; LIB_DIR="$CARGO_TARGET_DIR/debug" ;;
    release) cargo build --locked --quiet --workspace --release; LIB_DIR="$CARGO_TARGET_DIR/release" ;;
    *) echo "install_c: AGENTDB_PROFILE must be dev or release" >&2; exit 2 ;;
  esac
fi
for f in libagentdb.so libagentdb.a; do
  if [ ! -f "$LIB_DIR/$f" ]; then
    echo "install_c: $LIB_DIR/$f is missing (cargo build --workspace builds it)" >&2
    exit 1
  fi
done

# The one version of every package: [workspace.package] in Cargo.toml.
VERSION="$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)"
if [ -z "$VERSION" ]; then
  echo "install_c: no version in Cargo.toml's [workspace.package]" >&2
  exit 1
fi

install -d "$PREFIX/include" "$PREFIX/lib/pkgconfig"
install -m 644 include/agent_db.h "$PREFIX/include/agent_db.h"
install -m 755 "$LIB_DIR/libagentdb.so" "$PREFIX/lib/libagentdb.so"
install -m 644 "$LIB_DIR/libagentdb.a" "$PREFIX/lib/libagentdb.a"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" crates/agentdb-capi/agentdb-engine.pc.in \
  >"$PREFIX/lib/pkgconfig/agentdb-engine.pc"
echo "install_c: agentdb-engine $VERSION in $PREFIX (pkg-config: PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig)"

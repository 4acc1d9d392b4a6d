#!/usr/bin/env bash
# Installs what a fresh machine (Rust toolchain, gcc, Python 3.11) lacks to
# build and test AgentDB. Idempotent: skips what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

# Lance's build compiles .proto files.
if ! command -v protoc >/dev/null 2>&1; then
  echo "setup: installing protoc (protobuf-compiler)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi
protoc --version

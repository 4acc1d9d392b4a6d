package agentdb_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/agentdb-engine/agentdb-engine/bindings/go/internal/cgocanary"
)

// The cgocheck2 run is only worth something if it would catch a Go pointer
// kept in C memory: this test, in a build with the experiment, runs itself
// in a child that does exactly that and expects the runtime to stop it.
func TestCgocheck2Canary(t *testing.T) {
	if os.Getenv("AGENTDB_CGOCHECK_CANARY") == "1" {
		cgocanary.StoreGoPointerInC()
		return
	}
	if !cgocheck2 {
		t.Skip("not built with GOEXPERIMENT=cgocheck2")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCgocheck2Canary$")
	cmd.Env = append(os.Environ(), "AGENTDB_CGOCHECK_CANARY=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Go pointer stored into non-Go memory") {
		t.Fatalf("cgocheck2 did not stop a Go pointer stored in C memory (err %v):\n%s", err, out)
	}
}

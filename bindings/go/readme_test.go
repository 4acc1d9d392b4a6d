package agentdb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The "Use it from Go" section of the repository's README runs as written:
// its Go block is a whole program, built in a scratch module that points at
// this one and run in a scratch directory.
func TestReadmeGoSection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and links a separate program")
	}
	readme, err := os.ReadFile("../../README.md")
	ok(t, err)
	text := string(readme)
	start := strings.Index(text, "\n## Use it from Go\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Use it from Go" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	open := strings.Index(section, "```go\n")
	if open < 0 {
		t.Fatal("the Go section has no ```go block")
	}
	program := section[open+len("```go\n"):]
	program = program[:strings.Index(program, "```")]

	here, err := filepath.Abs(".")
	ok(t, err)
	dir := t.TempDir()
	goMod := "module readme\n\ngo 1.26\n\nrequire github.com/agentdb-engine/agentdb-engine/bindings/go v0.0.0\n\n" +
		"replace github.com/agentdb-engine/agentdb-engine/bindings/go => " + here + "\n"
	ok(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644))
	ok(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README program failed: %v\n%s\n--- program ---\n%s", err, out, program)
	}
	if !strings.Contains(string(out), "step 1") {
		t.Fatalf("README program printed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "agent-data")); err != nil {
		t.Fatalf("the program's database is not where the README says: %v", err)
	}
	t.Logf("README program output:\n%s", out)
}

package main

import (
	"context"
	"strings"
	"testing"
)

// The example runs as a test: a real database, the built-in model, every
// step checked by run itself.
func TestAgentLoop(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"step 4:", `snapshot "before-hotel-booking" -> v4`, "rolled back: v6", "vegetarian", "v6 task_state"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

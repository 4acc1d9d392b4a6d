package agentdb_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// Save state every step, snapshot before a risky step, roll back after it.
func Example() {
	dir, err := os.MkdirTemp("", "agentdb-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := agentdb.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	type Plan struct {
		Step   int    `json:"step"`
		Status string `json:"status"`
	}
	for step := 1; step <= 2; step++ {
		if _, err := agentdb.SaveTyped(ctx, db, 42, 1, Plan{Step: step, Status: "ok"}, nil); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := db.CreateSnapshot(ctx, 42, 1, "before-tool-call"); err != nil {
		log.Fatal(err)
	}
	if _, err := agentdb.SaveTyped(ctx, db, 42, 1, Plan{Step: 3, Status: "broken"}, nil); err != nil {
		log.Fatal(err)
	}
	if _, err := db.RestoreSnapshot(ctx, 42, "before-tool-call"); err != nil {
		log.Fatal(err)
	}
	plan, version, err := agentdb.LoadTyped[Plan](ctx, db, 42, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("v%d: step %d, %s\n", version, plan.Step, plan.Status)

	for s, err := range db.History(ctx, agentdb.NewHistoryQuery(42).Session(1)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("v%d %s\n", s.Version, s.Data)
	}

	_, err = db.LoadState(ctx, 42, 2)
	fmt.Println(errors.Is(err, agentdb.ErrNotFound))
	// Output:
	// v4: step 2, ok
	// v4 {"step":2,"status":"ok"}
	// v3 {"step":3,"status":"broken"}
	// v2 {"step":2,"status":"ok"}
	// v1 {"step":1,"status":"ok"}
	// true
}

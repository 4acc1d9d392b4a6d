// Command agentloop is an agent loop on AgentDB: the agent keeps its own Go
// type as state (saved every step), remembers what it observes, recalls
// what is relevant, snapshots before a risky tool call and rolls back when
// it goes wrong.
//
//	go run ./examples/agentloop            (a fresh temporary database, removed after)
//	go run ./examples/agentloop DB_DIR     (keeps the database in DB_DIR)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// TripPlanner is the agent's own state, saved as JSON by SaveTyped.
type TripPlanner struct {
	Goal      string   `json:"goal"`
	Step      int      `json:"step"`
	Booked    []string `json:"booked"`
	BudgetEUR int      `json:"budget_eur"`
	Status    string   `json:"status"`
}

// AgentDBStateType stores the plan as a task state.
func (TripPlanner) AgentDBStateType() agentdb.StateType { return agentdb.StateTaskState }

const (
	agentID   = 42
	sessionID = 1
)

var observations = []string{
	"The user wants a weekend in Lisbon in May",
	"The user is vegetarian and dislikes early flights",
	"Flights on Friday evening cost 180 EUR",
	"A hotel in Alfama has a free room for 95 EUR a night",
}

func main() {
	path := ""
	if len(os.Args) > 1 {
		path = os.Args[1]
	} else {
		dir, err := os.MkdirTemp("", "agentdb-go-example-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		path = dir
	}
	if err := run(context.Background(), path, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agentloop:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, out io.Writer) (err error) {
	db, err := agentdb.Open(path, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	fmt.Fprintf(out, "AgentDB %s (Go) at %s\n\n", agentdb.Version(), path)

	plan := TripPlanner{Goal: "plan a weekend in Lisbon", BudgetEUR: 600, Status: "planning"}
	for i, observation := range observations {
		plan.Step = i + 1
		// Remember what was observed; the built-in model embeds the text.
		importance := float32(0.5)
		if strings.Contains(observation, "user") {
			importance = 0.9
		}
		memoryID, err := db.StoreMemory(ctx, agentdb.NewMemory{
			AgentID: agentID, Type: agentdb.MemoryEpisodic, Importance: importance, Content: observation,
		})
		if err != nil {
			return err
		}
		if strings.Contains(observation, "Flights") {
			plan.Booked = append(plan.Booked, "flight FRI 19:40")
			plan.BudgetEUR -= 180
			plan.Status = "booking"
		}
		version, err := agentdb.SaveTyped(ctx, db, agentID, sessionID, plan, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "step %d: observed %q (memory %d); saved state v%d, budget %d EUR\n",
			plan.Step, observation, memoryID, version, plan.BudgetEUR)
	}

	// Before a risky tool call: snapshot, so a bad outcome can be undone.
	snap, err := db.CreateSnapshot(ctx, agentID, sessionID, "before-hotel-booking")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nsnapshot %q -> v%d\n", snap.Name, snap.Version)
	broken := plan
	broken.Booked = append(append([]string(nil), plan.Booked...), "hotel ERROR: card declined twice")
	broken.BudgetEUR = -1
	broken.Status = "broken"
	v, err := agentdb.SaveTyped(ctx, db, agentID, sessionID, broken, map[string]string{"tool": "book_hotel"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tool call went wrong: saved v%d (status %s)\n", v, broken.Status)

	restored, err := db.RestoreSnapshot(ctx, agentID, "before-hotel-booking")
	if err != nil {
		return err
	}
	back, version, err := agentdb.LoadTyped[TripPlanner](ctx, db, agentID, sessionID)
	if err != nil {
		return err
	}
	if version != restored.Version || back.Status != "booking" || back.BudgetEUR != 420 {
		return fmt.Errorf("rollback gave v%d %+v", version, back)
	}
	fmt.Fprintf(out, "rolled back: v%d is the plan of v%d again (status %s, budget %d EUR)\n",
		version, snap.Version, back.Status, back.BudgetEUR)

	// Recall what matters for the next decision.
	hits, err := db.Retrieve(ctx, agentID, "what food does the user eat?", 2, nil)
	if err != nil {
		return err
	}
	if len(hits) == 0 || !strings.Contains(hits[0].Content, "vegetarian") {
		return fmt.Errorf("recall missed the diet: %+v", hits)
	}
	fmt.Fprintln(out, "\nrecall \"what food does the user eat?\":")
	for _, h := range hits {
		fmt.Fprintf(out, "  %.2f  %s\n", h.Score, h.Content)
	}

	fmt.Fprintln(out, "\nhistory (newest first):")
	for s, err := range db.History(ctx, agentdb.NewHistoryQuery(agentID).Session(sessionID).WithLimit(10)) {
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  v%d %-9s %s\n", s.Version, s.Type, s.Data)
	}
	return nil
}

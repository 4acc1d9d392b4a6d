package agentdb_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

func TestStatesVersionsHistorySnapshots(t *testing.T) {
	db, _ := openDB(t, nil)
	_, err := db.LoadState(bg, 7, 1)
	wantCode(t, err, agentdb.ErrNotFound)

	v1 := must(db.SaveState(bg, 7, 1, agentdb.StateContext, []byte(`{"step":1}`), nil))
	v2 := must(db.SaveState(bg, 7, 1, agentdb.StateTaskState, []byte(`{"step":2}`), map[string]string{"tool": "search"}))
	if v1 != 1 || v2 != 2 {
		t.Fatalf("versions %d, %d", v1, v2)
	}
	must(db.SaveState(bg, 7, 2, agentdb.StateContext, []byte("other session"), nil))

	st := must(db.LoadState(bg, 7, 1))
	if st.Version != 2 || string(st.Data) != `{"step":2}` || st.Type != agentdb.StateTaskState ||
		st.Metadata["tool"] != "search" || st.AgentID != 7 || st.SessionID != 1 || st.Checksum == 0 {
		t.Fatalf("load_state: %+v", st)
	}
	if d := time.Since(st.Timestamp); d < 0 || d > time.Hour {
		t.Fatalf("timestamp %v is not about now", st.Timestamp)
	}
	latest := must(db.LoadLatestState(bg, 7))
	if latest.SessionID != 2 || string(latest.Data) != "other session" {
		t.Fatalf("load_latest_state: %+v", latest)
	}
	old := must(db.LoadStateVersion(bg, 7, 1, 1))
	if string(old.Data) != `{"step":1}` || old.Metadata != nil {
		t.Fatalf("load_state_version: %+v", old)
	}
	_, err = db.LoadStateVersion(bg, 7, 1, 3)
	wantCode(t, err, agentdb.ErrNotFound)

	var versions []uint64
	for s, err := range db.History(bg, agentdb.NewHistoryQuery(7).Session(1)) {
		ok(t, err)
		versions = append(versions, s.Version)
	}
	if !slices.Equal(versions, []uint64{2, 1}) {
		t.Fatalf("history %v", versions)
	}
	all := collect(t, db.History(bg, agentdb.NewHistoryQuery(7).WithLimit(2)))
	if len(all) != 2 || string(all[0].Data) != "other session" {
		t.Fatalf("history across sessions: %+v", all)
	}
	// Stopping early is allowed.
	for range db.History(bg, agentdb.NewHistoryQuery(7)) {
		break
	}
	future := time.Now().Add(time.Hour)
	if n := len(collect(t, db.History(bg, agentdb.NewHistoryQuery(7).Between(future, time.Time{})))); n != 0 {
		t.Fatalf("history after now: %d rows", n)
	}
	for _, err := range db.History(bg, agentdb.NewHistoryQuery(7).WithLimit(0)) {
		wantCode(t, err, agentdb.ErrInvalidArgument)
	}

	snap := must(db.CreateSnapshot(bg, 7, 1, "before-tool"))
	if snap.Version != 2 || snap.Name != "before-tool" || snap.SessionID != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	_, err = db.CreateSnapshot(bg, 7, 1, "before-tool")
	wantCode(t, err, agentdb.ErrAlreadyExists)
	_, err = db.CreateSnapshot(bg, 7, 1, "bad name!")
	wantCode(t, err, agentdb.ErrInvalidArgument)
	must(db.SaveState(bg, 7, 1, agentdb.StateContext, []byte("oops"), nil))
	restored := must(db.RestoreSnapshot(bg, 7, "before-tool"))
	if restored.Version != 4 || string(restored.Data) != `{"step":2}` || restored.Metadata["tool"] != "search" {
		t.Fatalf("restore: %+v", restored)
	}
	snaps := collect(t, db.Snapshots(bg, 7))
	if len(snaps) != 1 || snaps[0].Name != "before-tool" {
		t.Fatalf("snapshots %+v", snaps)
	}

	ok(t, db.DeleteAgent(bg, 7))
	wantCode(t, db.DeleteAgent(bg, 7), agentdb.ErrNotFound)
	_, err = db.LoadLatestState(bg, 7)
	wantCode(t, err, agentdb.ErrNotFound)
	if n := len(collect(t, db.Snapshots(bg, 7))); n != 0 {
		t.Fatalf("%d snapshots after delete_agent", n)
	}
}

func TestKeyedStatesAndHistoryPages(t *testing.T) {
	db, dir := openDB(t, nil)
	const quoted = `it's "quoted" ' OR 1=1 --` // compared exactly, never pasted into a filter
	_, err := db.LoadStateByKey(bg, 5, 1, "ck-1")
	wantCode(t, err, agentdb.ErrNotFound)
	if page := must(db.StateHistoryPage(bg, 5, 1, nil, 10)); len(page) != 0 {
		t.Fatalf("page of an unknown session: %+v", page)
	}

	v1 := must(db.SaveStateKeyed(bg, 5, 1, "ck-1", agentdb.StateTaskState, []byte("one"), map[string]string{"step": "1"}))
	v2 := must(db.SaveState(bg, 5, 1, agentdb.StateContext, []byte("two"), nil))
	v3 := must(db.SaveStateKeyed(bg, 5, 1, quoted, agentdb.StateContext, nil, nil))
	if v1 != 1 || v2 != 2 || v3 != 3 {
		t.Fatalf("versions %d, %d, %d", v1, v2, v3)
	}
	must(db.SaveStateKeyed(bg, 5, 2, "ck-1", agentdb.StateContext, []byte("other session"), nil))

	st := must(db.LoadStateByKey(bg, 5, 1, "ck-1"))
	if st.Version != 1 || st.Key != "ck-1" || string(st.Data) != "one" || st.Type != agentdb.StateTaskState || st.Metadata["step"] != "1" {
		t.Fatalf("load_state_by_key: %+v", st)
	}
	if st := must(db.LoadStateByKey(bg, 5, 1, quoted)); st.Version != 3 || st.Key != quoted || len(st.Data) != 0 {
		t.Fatalf("quoted key: %+v", st)
	}
	if st := must(db.LoadState(bg, 5, 1)); st.Key != quoted {
		t.Fatalf("every read carries the key: %+v", st)
	}
	if st := must(db.LoadStateVersion(bg, 5, 1, 2)); st.Key != "" {
		t.Fatalf("unkeyed version has key %q", st.Key)
	}
	for _, key := range []string{"ck-", "CK-1", "ck-1 "} { // exact, bytewise
		_, err = db.LoadStateByKey(bg, 5, 1, key)
		wantCode(t, err, agentdb.ErrNotFound)
	}
	_, err = db.LoadStateByKey(bg, 5, 3, "ck-1")
	wantCode(t, err, agentdb.ErrNotFound)

	page := must(db.StateHistoryPage(bg, 5, 1, nil, 2))
	if len(page) != 2 || page[0].Version != 3 || page[0].Key != quoted || page[1].Version != 2 || page[1].Key != "" {
		t.Fatalf("first page: %+v", page)
	}
	next := must(db.StateHistoryPage(bg, 5, 1, &page[len(page)-1].Version, 2))
	if len(next) != 1 || next[0].Version != 1 || next[0].Key != "ck-1" || string(next[0].Data) != "one" {
		t.Fatalf("second page: %+v", next)
	}
	if rest := must(db.StateHistoryPage(bg, 5, 1, &next[0].Version, 2)); len(rest) != 0 {
		t.Fatalf("past the first version: %+v", rest)
	}

	// Bad input: the library's errors, or refused before the call (a NUL
	// would cut the key in C; a limit beyond uint32 would wrap).
	for _, key := range []string{"", strings.Repeat("k", 1025), "ck\x00evil", "\xff\xfe"} {
		_, err = db.SaveStateKeyed(bg, 5, 1, key, agentdb.StateContext, []byte("x"), nil)
		wantCode(t, err, agentdb.ErrInvalidArgument)
		_, err = db.LoadStateByKey(bg, 5, 1, key)
		wantCode(t, err, agentdb.ErrInvalidArgument)
	}
	_, err = db.SaveStateKeyed(bg, 5, 1, "ck-2", agentdb.StateType(99), nil, nil)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	for _, limit := range []int{0, -1, 100001, 1 << 32} {
		_, err = db.StateHistoryPage(bg, 5, 1, nil, limit)
		wantCode(t, err, agentdb.ErrInvalidArgument)
	}
	longKey := strings.Repeat("k", 1024) // the limit itself
	if v := must(db.SaveStateKeyed(bg, 5, 1, longKey, agentdb.StateContext, nil, nil)); v != 4 {
		t.Fatalf("long key saved as version %d (a refused save wrote something?)", v)
	}

	// From Lance after a flush and across reopen; a reused key finds its newest version.
	ok(t, db.Flush(bg))
	must(db.SaveStateKeyed(bg, 5, 1, "ck-1", agentdb.StateContext, []byte("five"), nil))
	ok(t, db.Close())
	db = must(agentdb.Open(dir, testOptions()))
	defer db.Close()
	if st := must(db.LoadStateByKey(bg, 5, 1, "ck-1")); st.Version != 5 || string(st.Data) != "five" {
		t.Fatalf("reused key after reopen: %+v", st)
	}
	if st := must(db.LoadStateByKey(bg, 5, 1, longKey)); st.Version != 4 || st.Key != longKey {
		t.Fatalf("1024-byte key after reopen: version %d, key of %d bytes", st.Version, len(st.Key))
	}
	var versions []uint64
	for _, s := range must(db.StateHistoryPage(bg, 5, 1, nil, 10)) {
		versions = append(versions, s.Version)
	}
	if !slices.Equal(versions, []uint64{5, 4, 3, 2, 1}) {
		t.Fatalf("history page after reopen: %v", versions)
	}
}

func TestEmptyAndBinaryPayloads(t *testing.T) {
	db, _ := openDB(t, nil)
	must(db.SaveState(bg, 1, 1, agentdb.StateEmbedding, nil, nil))
	st := must(db.LoadState(bg, 1, 1))
	if st.Data == nil || len(st.Data) != 0 {
		t.Fatalf("empty payload came back as %#v", st.Data)
	}
	bin := []byte{0, 1, 2, 0, 255, 0}
	must(db.SaveState(bg, 1, 1, agentdb.StateEmbedding, bin, nil))
	if got := must(db.LoadState(bg, 1, 1)).Data; !bytes.Equal(got, bin) {
		t.Fatalf("binary payload %v", got)
	}
}

type plan struct {
	Goal  string   `json:"goal"`
	Step  int      `json:"step"`
	Tools []string `json:"tools"`
}

func (plan) AgentDBStateType() agentdb.StateType { return agentdb.StateTaskState }

func TestTypedState(t *testing.T) {
	db, _ := openDB(t, nil)
	want := plan{Goal: "book a table", Step: 3, Tools: []string{"search", "call"}}
	v := must(agentdb.SaveTyped(bg, db, 42, 1, want, map[string]string{"by": "go"}))
	got, version, err := agentdb.LoadTyped[plan](bg, db, 42, 1)
	ok(t, err)
	if version != v || got.Goal != want.Goal || got.Step != 3 || !slices.Equal(got.Tools, want.Tools) {
		t.Fatalf("LoadTyped: %+v v%d", got, version)
	}
	if st := must(db.LoadState(bg, 42, 1)); st.Type != agentdb.StateTaskState || st.Metadata["by"] != "go" {
		t.Fatalf("typed state stored as %v %v", st.Type, st.Metadata)
	}
	// A type without AgentDBStateType is context.
	must(agentdb.SaveTyped(bg, db, 42, 2, map[string]int{"n": 1}, nil))
	if st := must(db.LoadState(bg, 42, 2)); st.Type != agentdb.StateContext || string(st.Data) != `{"n":1}` {
		t.Fatalf("untyped: %v %s", st.Type, st.Data)
	}
	// A payload that is not a JSON plan.
	must(db.SaveState(bg, 42, 3, agentdb.StateContext, []byte("not json"), nil))
	_, _, err = agentdb.LoadTyped[plan](bg, db, 42, 3)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatal("the decode error is not wrapped")
	}
	// A value encoding/json cannot encode is refused before any call.
	_, err = agentdb.SaveTyped(bg, db, 42, 4, func() {}, nil)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, _, err = agentdb.LoadTyped[plan](bg, db, 42, 4)
	wantCode(t, err, agentdb.ErrNotFound)
}

func TestConcurrentSaversGetDistinctVersions(t *testing.T) {
	db, _ := openDB(t, nil)
	const goroutines, saves = 8, 25
	var wg sync.WaitGroup
	versions := make(chan uint64, goroutines*saves)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < saves; i++ {
				v, err := db.SaveState(bg, 100, 1, agentdb.StateContext, []byte("t"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				versions <- v
				if _, err := db.LoadState(bg, 100, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(versions)
	var got []uint64
	for v := range versions {
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != uint64(i+1) {
			t.Fatalf("versions handed out: %v", got)
		}
	}
	if len(got) != goroutines*saves {
		t.Fatalf("%d versions", len(got))
	}
}

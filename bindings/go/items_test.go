package agentdb_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// sameJSON reports whether two JSON texts hold the same value (key order
// and spacing aside).
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	ok(t, json.Unmarshal(a, &x))
	ok(t, json.Unmarshal(b, &y))
	return reflect.DeepEqual(x, y)
}

func TestItemsPutGetReplaceDelete(t *testing.T) {
	db, dir := openDB(t, nil)
	ns := []string{"users", "u1"}

	if _, found, err := db.GetItem(bg, ns, "prefs"); err != nil || found {
		t.Fatalf("empty database: found=%v err=%v", found, err)
	}
	type prefs struct {
		Theme string   `json:"theme"`
		Size  int      `json:"size"`
		Tags  []string `json:"tags"`
	}
	put := must(db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "prefs",
		Value: prefs{Theme: "dark \"quoted\" ü", Size: 3, Tags: []string{"a", "b"}}, Metadata: map[string]string{"source": "ui"}}))
	if !slices.Equal(put.Namespace, ns) || put.Key != "prefs" || put.Metadata["source"] != "ui" {
		t.Fatalf("put returned %+v", put)
	}
	if put.TTL != 0 || !put.ExpiresAt.IsZero() || put.CreatedAt.IsZero() || !put.UpdatedAt.Equal(put.CreatedAt) {
		t.Fatalf("times of a fresh put without TTL: %+v", put)
	}
	got, found, err := db.GetItem(bg, ns, "prefs")
	ok(t, err)
	if !found {
		t.Fatal("the item just put is not found")
	}
	var p prefs
	ok(t, json.Unmarshal(got.Value, &p))
	if p.Theme != "dark \"quoted\" ü" || p.Size != 3 || !slices.Equal(p.Tags, []string{"a", "b"}) {
		t.Fatalf("value read back: %+v from %s", p, got.Value)
	}
	// Whole labels: neither a shorter nor a longer namespace is the address.
	for _, addr := range []agentdb.ItemAddress{{Namespace: []string{"users"}, Key: "prefs"}, {Namespace: []string{"users", "u1", "prefs"}, Key: ""}} {
		if _, found, _ := db.GetItem(bg, addr.Namespace, addr.Key); found {
			t.Fatalf("found an item at %v", addr)
		}
	}

	// A replace keeps created_at, moves updated_at, and sets the TTL fields.
	time.Sleep(2 * time.Millisecond)
	replaced := must(db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "prefs", Value: json.RawMessage(`[1, "two", null, {"x": true}]`)}.WithTTL(time.Hour)))
	if !replaced.CreatedAt.Equal(put.CreatedAt) || !replaced.UpdatedAt.After(put.UpdatedAt) {
		t.Fatalf("replace times: %+v after %+v", replaced, put)
	}
	if replaced.TTL != time.Hour || replaced.ExpiresAt.Sub(replaced.UpdatedAt) != time.Hour || replaced.Metadata != nil {
		t.Fatalf("replace TTL and metadata: %+v", replaced)
	}
	if string(replaced.Value) != `[1,"two",null,{"x":true}]` {
		t.Fatalf("a JSON value comes back compact: %s", replaced.Value)
	}

	// Every kind of JSON value round-trips, and the empty key is a key.
	values := []string{`null`, `true`, `0`, `-1.5`, `"text with \"quotes\" and \u0000 NUL"`, `[]`, `{}`, `{"deep":{"x":[1,[2,[3]]]}}`}
	writes := []agentdb.ItemWrite{}
	for i, v := range values {
		writes = append(writes, agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"kinds"}, Key: strings.Repeat("k", i), Value: json.RawMessage(v)}))
	}
	writes = append(writes, agentdb.DeleteWrite(ns, "prefs"), agentdb.DeleteWrite(ns, "never-there"))
	report := must(db.WriteItems(bg, writes))
	if report.Put != len(values) || report.Deleted != 1 {
		t.Fatalf("report %+v", report)
	}
	addresses := []agentdb.ItemAddress{{Namespace: ns, Key: "prefs"}}
	for i := range values {
		addresses = append(addresses, agentdb.ItemAddress{Namespace: []string{"kinds"}, Key: strings.Repeat("k", i)})
	}
	slots := must(db.GetItems(bg, addresses, false))
	if len(slots) != len(addresses) || slots[0] != nil {
		t.Fatalf("slots %v", slots)
	}
	for i, v := range values {
		if slots[i+1] == nil || !sameJSON(t, slots[i+1].Value, []byte(v)) {
			t.Fatalf("value %s came back as %+v", v, slots[i+1])
		}
	}

	// Refreshing a TTL moves the expiry; items without one are untouched.
	must(db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "ttl", Value: 1}.WithTTL(time.Hour)))
	before, _, err := db.GetItem(bg, ns, "ttl")
	ok(t, err)
	time.Sleep(2 * time.Millisecond)
	refreshed := must(db.GetItems(bg, []agentdb.ItemAddress{{Namespace: ns, Key: "ttl"}, {Namespace: []string{"kinds"}, Key: ""}}, true))
	if !refreshed[0].ExpiresAt.After(before.ExpiresAt) || !refreshed[1].ExpiresAt.IsZero() {
		t.Fatalf("refresh: %v -> %+v", before.ExpiresAt, refreshed)
	}

	if deleted := must(db.DeleteItem(bg, []string{"kinds"}, "")); !deleted {
		t.Fatal("a live item was not deleted")
	}
	if deleted := must(db.DeleteItem(bg, []string{"kinds"}, "")); deleted {
		t.Fatal("a second delete deleted something")
	}

	// All of it survives close and reopen.
	ok(t, db.Close())
	db2 := must(agentdb.Open(dir, testOptions()))
	defer db2.Close()
	again, found, err := db2.GetItem(bg, ns, "ttl")
	ok(t, err)
	if !found || again.TTL != time.Hour || !again.ExpiresAt.Equal(refreshed[0].ExpiresAt) {
		t.Fatalf("after reopen: %+v", again)
	}
	page := must(db2.SearchItems(bg, agentdb.NewItemQuery("kinds").WithLimit(100)))
	if page.Total != len(values)-1 {
		t.Fatalf("after reopen: %d kinds", page.Total)
	}
}

func TestItemsSearchAndNamespaces(t *testing.T) {
	db, _ := openDB(t, nil)
	d := must(agentdb.EngineDefaults())
	if q := agentdb.NewItemQuery(); q.Limit != d.ItemSearchLimit || q.Limit < 1 {
		t.Fatalf("NewItemQuery limit %d, engine %d", q.Limit, d.ItemSearchLimit)
	}
	if q := agentdb.NewNamespaceQuery(); q.Limit != d.NamespaceListLimit || q.Limit < 1 || q.HasMaxDepth {
		t.Fatalf("NewNamespaceQuery %+v, engine limit %d", q, d.NamespaceListLimit)
	}
	must(db.WriteItems(bg, []agentdb.ItemWrite{
		agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"users", "u1"}, Key: "a", Value: map[string]any{"n": 1, "tag": "red"}}),
		agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"users", "u1"}, Key: "b", Value: map[string]any{"n": 5, "tag": "blue"}, Metadata: map[string]string{"m": "x"}}),
		agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"users", "u2"}, Key: "a", Value: map[string]any{"n": 7, "tag": "red"}}),
		agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"users", "u2", "notes"}, Key: "z", Value: "text"}),
		agentdb.PutWrite(agentdb.ItemPut{Namespace: []string{"teams"}, Key: "t", Value: map[string]any{"n": 2.0}}),
	}))

	keysOf := func(p agentdb.ItemPage) []string {
		var keys []string
		for _, i := range p.Items {
			keys = append(keys, strings.Join(i.Namespace, "/")+":"+i.Key)
		}
		return keys
	}
	red := must(db.SearchItems(bg, agentdb.NewItemQuery("users").WithFilter(map[string]any{"tag": "red"})))
	if got := keysOf(red); red.Total != 2 || !slices.Equal(got, []string{"users/u1:a", "users/u2:a"}) {
		t.Fatalf("red: %v (total %d)", got, red.Total)
	}
	// A filter may be JSON text too; numbers compare by value (2 == 2.0).
	two := must(db.SearchItems(bg, agentdb.NewItemQuery().WithFilter(json.RawMessage(`{"n": {"$gte": 2, "$lt": 7}}`))))
	if got := keysOf(two); two.Total != 2 || !slices.Contains(got, "teams:t") || !slices.Contains(got, "users/u1:b") {
		t.Fatalf("2 <= n < 7: %v", got)
	}
	q := agentdb.NewItemQuery("users")
	q.Metadata = map[string]string{"m": "x"}
	if got := keysOf(must(db.SearchItems(bg, q))); !slices.Equal(got, []string{"users/u1:b"}) {
		t.Fatalf("metadata: %v", got)
	}
	// Pages are exact: Total counts every match, Limit and Offset cut the page.
	all := must(db.SearchItems(bg, agentdb.NewItemQuery("users").WithLimit(100)))
	page := must(db.SearchItems(bg, agentdb.NewItemQuery("users").WithLimit(2).WithOffset(1)))
	if all.Total != 4 || page.Total != 4 || !slices.Equal(keysOf(page), keysOf(all)[1:3]) {
		t.Fatalf("page %v of %v", keysOf(page), keysOf(all))
	}
	if partial := must(db.SearchItems(bg, agentdb.NewItemQuery("users", "u"))); partial.Total != 0 || partial.Items == nil {
		t.Fatalf("a partial label matched: %+v", partial)
	}

	namespaces := must(db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery()))
	want := [][]string{{"teams"}, {"users", "u1"}, {"users", "u2"}, {"users", "u2", "notes"}}
	if !reflect.DeepEqual(namespaces, want) {
		t.Fatalf("namespaces %v", namespaces)
	}
	if got := must(db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithPrefix("users").WithMaxDepth(1))); !reflect.DeepEqual(got, [][]string{{"users"}}) {
		t.Fatalf("max depth 1: %v", got)
	}
	if got := must(db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithPrefix("*", "u2"))); !reflect.DeepEqual(got, want[2:]) {
		t.Fatalf("wildcard: %v", got)
	}
	nq := agentdb.NewNamespaceQuery().WithSuffix("notes")
	if got := must(db.ListItemNamespaces(bg, nq)); !reflect.DeepEqual(got, want[3:]) {
		t.Fatalf("suffix: %v", got)
	}
	nq = agentdb.NewNamespaceQuery()
	nq.Limit, nq.Offset = 2, 1
	if got := must(db.ListItemNamespaces(bg, nq)); !reflect.DeepEqual(got, want[1:3]) {
		t.Fatalf("limit/offset: %v", got)
	}

	// Expired items are invisible at once and swept on demand.
	must(db.PutItem(bg, agentdb.ItemPut{Namespace: []string{"tmp"}, Key: "x", Value: 1}.WithTTL(time.Millisecond)))
	time.Sleep(20 * time.Millisecond)
	if _, found, _ := db.GetItem(bg, []string{"tmp"}, "x"); found {
		t.Fatal("an expired item is visible")
	}
	if got := must(db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithPrefix("tmp"))); len(got) != 0 {
		t.Fatalf("a namespace of expired items is listed: %v", got)
	}
	if n := must(db.SweepExpiredItems(bg)); n != 1 {
		t.Fatalf("swept %d", n)
	}
	if n := must(db.SweepExpiredItems(bg)); n != 0 {
		t.Fatalf("swept %d again", n)
	}
}

// Bad input of every kind that crosses the C boundary is refused with a
// typed error and changes nothing.
func TestItemsBadInput(t *testing.T) {
	opts := testOptions()
	opts.MaxPayloadBytes = 1 << 16
	db, dir := openDB(t, opts)
	ns := []string{"a"}
	put := func(p agentdb.ItemPut) func() error {
		return func() error { _, err := db.PutItem(bg, p); return err }
	}
	cases := []struct {
		name string
		want *agentdb.Error
		call func() error
	}{
		{"no namespace", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Key: "k", Value: 1})},
		{"empty label", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: []string{"a", ""}, Key: "k", Value: 1})},
		{"NUL in a label", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: []string{"a\x00b"}, Key: "k", Value: 1})},
		{"NUL in a key", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k\x00", Value: 1})},
		{"invalid UTF-8 label", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: []string{"\xff"}, Key: "k", Value: 1})},
		{"invalid UTF-8 key", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "\xfe", Value: 1})},
		{"label of 1025 bytes", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: []string{strings.Repeat("l", 1025)}, Key: "k", Value: 1})},
		{"key of 1025 bytes", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: strings.Repeat("k", 1025), Value: 1})},
		{"65 labels", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: slices.Repeat([]string{"l"}, 65), Key: "k", Value: 1})},
		{"malformed JSON value", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: json.RawMessage(`{"a":`)})},
		{"a value JSON cannot hold", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: make(chan int)})},
		{"invalid UTF-8 in JSON text", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: json.RawMessage("\"\xff\"")})},
		{"TTL 0", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: 1}.WithTTL(0))},
		{"negative TTL", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: 1}.WithTTL(-time.Second))},
		{"bad metadata key", agentdb.ErrInvalidArgument, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: 1, Metadata: map[string]string{"": "v"}})},
		{"huge value", agentdb.ErrPayloadTooLarge, put(agentdb.ItemPut{Namespace: ns, Key: "k", Value: strings.Repeat("x", 1<<17)})},
		{"empty batch", agentdb.ErrInvalidArgument, func() error { _, err := db.WriteItems(bg, nil); return err }},
		{"a bad put in a batch", agentdb.ErrInvalidArgument, func() error {
			_, err := db.WriteItems(bg, []agentdb.ItemWrite{
				agentdb.PutWrite(agentdb.ItemPut{Namespace: ns, Key: "first", Value: 1}),
				agentdb.PutWrite(agentdb.ItemPut{Namespace: ns, Key: "second", Value: json.RawMessage(`[`)}),
			})
			return err
		}},
		{"a bad delete in a batch", agentdb.ErrInvalidArgument, func() error {
			_, err := db.WriteItems(bg, []agentdb.ItemWrite{
				agentdb.PutWrite(agentdb.ItemPut{Namespace: ns, Key: "first", Value: 1}),
				agentdb.DeleteWrite(nil, "k"),
			})
			return err
		}},
		{"get with no namespace", agentdb.ErrInvalidArgument, func() error { _, _, err := db.GetItem(bg, nil, "k"); return err }},
		{"get many with a NUL", agentdb.ErrInvalidArgument, func() error {
			_, err := db.GetItems(bg, []agentdb.ItemAddress{{Namespace: ns, Key: "ok"}, {Namespace: ns, Key: "\x00"}}, false)
			return err
		}},
		{"delete with an empty label", agentdb.ErrInvalidArgument, func() error { _, err := db.DeleteItem(bg, []string{""}, "k"); return err }},
		{"search limit 0", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery().WithLimit(0)); return err }},
		{"search limit 10001", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery().WithLimit(10001)); return err }},
		{"search limit beyond uint32", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery().WithLimit(1<<32)); return err }},
		{"negative offset", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery().WithOffset(-1)); return err }},
		{"offset over 1000000", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery().WithOffset(1_000_001)); return err }},
		{"filter not an object", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SearchItems(bg, agentdb.NewItemQuery().WithFilter([]string{"n"}))
			return err
		}},
		{"unknown filter operator", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SearchItems(bg, agentdb.NewItemQuery().WithFilter(map[string]any{"n": map[string]any{"$regex": "1"}}))
			return err
		}},
		{"ordering against an object", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SearchItems(bg, agentdb.NewItemQuery().WithFilter(map[string]any{"n": map[string]any{"$gt": map[string]any{}}}))
			return err
		}},
		{"malformed filter JSON", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SearchItems(bg, agentdb.NewItemQuery().WithFilter(json.RawMessage(`{"n":`)))
			return err
		}},
		{"NUL in a prefix label", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchItems(bg, agentdb.NewItemQuery("a\x00")); return err }},
		{"max depth 0", agentdb.ErrInvalidArgument, func() error {
			_, err := db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithMaxDepth(0))
			return err
		}},
		{"negative max depth", agentdb.ErrInvalidArgument, func() error {
			_, err := db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithMaxDepth(-1))
			return err
		}},
		{"namespace limit 0", agentdb.ErrInvalidArgument, func() error {
			q := agentdb.NewNamespaceQuery()
			q.Limit = 0
			_, err := db.ListItemNamespaces(bg, q)
			return err
		}},
		{"empty suffix label", agentdb.ErrInvalidArgument, func() error {
			_, err := db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery().WithSuffix(""))
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), c.want) })
	}
	// Nothing of it was written.
	if page := must(db.SearchItems(bg, agentdb.NewItemQuery().WithLimit(100))); page.Total != 0 {
		t.Fatalf("refused writes left %d items", page.Total)
	}
	if got := must(db.ListItemNamespaces(bg, agentdb.NewNamespaceQuery())); len(got) != 0 {
		t.Fatalf("refused writes left namespaces %v", got)
	}

	// Writes to a read-only database and calls on a closed one are refused too.
	must(db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "k", Value: 1}))
	must(db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "ttl", Value: 1}.WithTTL(time.Hour)))
	ro := must(agentdb.Open(dir, &agentdb.Options{ReadOnly: true, FlushInterval: time.Hour, MaintenanceInterval: -1}))
	if _, found, err := ro.GetItem(bg, ns, "k"); err != nil || !found {
		t.Fatalf("a read-only open reads items: found=%v err=%v", found, err)
	}
	_, err := ro.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: "k2", Value: 1})
	wantCode(t, err, agentdb.ErrReadOnly)
	_, err = ro.SweepExpiredItems(bg)
	wantCode(t, err, agentdb.ErrReadOnly)
	// A refreshing read is a plain read unless an item with a TTL comes back.
	if _, err = ro.GetItems(bg, []agentdb.ItemAddress{{Namespace: ns, Key: "k"}}, true); err != nil {
		t.Fatalf("a read-only refresh with nothing to refresh: %v", err)
	}
	_, err = ro.GetItems(bg, []agentdb.ItemAddress{{Namespace: ns, Key: "ttl"}}, true)
	wantCode(t, err, agentdb.ErrReadOnly)
	ok(t, ro.Close())
	_, _, err = ro.GetItem(bg, ns, "k")
	if !errors.Is(err, agentdb.ErrClosed) {
		t.Fatalf("a closed DB: %v", err)
	}
}

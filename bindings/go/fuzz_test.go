package agentdb_test

// Fuzz targets for the values that cross the C boundary: byte payloads,
// strings (names, ids, metadata, text), float vectors. Each property: the
// call either succeeds and reads back exactly what was written, or fails
// with one of the typed errors SPEC.md gives for that input, and never
// panics (CodePanic) or crashes. CI runs each for a bounded time
// (scripts/test_go.sh); plain `go test` runs the seeds and the committed
// corpus in testdata/fuzz.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// fuzzDB opens one database for a fuzz target (per worker process).
func fuzzDB(f *testing.F, dim uint32) *agentdb.DB {
	opts := testOptions()
	opts.MemoryDimension = dim
	opts.MaxPayloadBytes = 64 << 10
	db, err := agentdb.Open(f.TempDir(), opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	return db
}

// allowed fails unless err is an *agentdb.Error of one of the codes.
func allowed(t *testing.T, err error, codes ...*agentdb.Error) {
	t.Helper()
	var e *agentdb.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *agentdb.Error: %#v", err)
	}
	for _, c := range codes {
		if errors.Is(err, c) {
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}

func meta(key, value string) map[string]string {
	if key == "" && value == "" {
		return nil
	}
	return map[string]string{key: value}
}

func FuzzState(f *testing.F) {
	db := fuzzDB(f, 4)
	if _, err := db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("base"), nil); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"step":1}`), "tool", "search", "before-tool")
	f.Add([]byte{}, "", "", "")
	f.Add([]byte{0, 0xff, 0}, "k\x00", "v", "a\x00b")
	f.Add([]byte("x"), "\xff", "\xfe", "\xff")
	f.Add(bytes.Repeat([]byte("p"), 70<<10), "", "", "name.with:all-the_chars")
	f.Fuzz(func(t *testing.T, data []byte, key, value, name string) {
		before, err := db.LoadState(bg, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		m := meta(key, value)
		v, err := db.SaveState(bg, 1, 1, agentdb.StateTaskState, data, m)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrPayloadTooLarge)
			if after, _ := db.LoadState(bg, 1, 1); after == nil || after.Version != before.Version {
				t.Fatalf("a refused save changed the latest version")
			}
		} else {
			if v != before.Version+1 {
				t.Fatalf("version %d after %d", v, before.Version)
			}
			st, err := db.LoadState(bg, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.Data, data) || st.Version != v || !maps.Equal(st.Metadata, m) {
				t.Fatalf("read back %q %v, wrote %q %v", st.Data, st.Metadata, data, m)
			}
		}
		snap, err := db.CreateSnapshot(bg, 1, 1, name)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrAlreadyExists)
			return
		}
		if snap.Name != name {
			t.Fatalf("snapshot named %q, asked %q", snap.Name, name)
		}
		named, err := db.LoadStateVersion(bg, 1, 1, snap.Version)
		if err != nil {
			t.Fatal(err)
		}
		restored, err := db.RestoreSnapshot(bg, 1, name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(restored.Data, named.Data) {
			t.Fatalf("restore gave %q, snapshot holds %q", restored.Data, named.Data)
		}
	})
}

// floatsFrom reads little-endian float32s (any bit pattern: NaN, ±Inf,
// subnormals) from raw.
func floatsFrom(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[i*4:]))
	}
	return out
}

func floatBytes(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[i*4:], math.Float32bits(x))
	}
	return out
}

func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func FuzzVector(f *testing.F) {
	db := fuzzDB(f, 4)
	for _, m := range []agentdb.Metric{agentdb.MetricL2, agentdb.MetricCosine, agentdb.MetricDot} {
		if err := db.CreateCollection(bg, "c-"+m.String(), 4, m); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(floatBytes(1, 2, 3, 4), "a", "k", "v", uint8(0))
	f.Add(floatBytes(float32(math.NaN()), 0, 0, 0), "nan", "", "", uint8(1))
	f.Add(floatBytes(float32(math.Inf(-1)), 0, 0, 0), "inf", "", "", uint8(2))
	f.Add(floatBytes(math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 0), "extreme", "", "", uint8(0))
	f.Add(floatBytes(0, 0, 0, 0), "zero", "", "", uint8(1))
	f.Add(floatBytes(1, 2, 3), "short", "", "", uint8(0))
	f.Add(floatBytes(1, 2, 3, 4), "", "", "", uint8(0))
	f.Add(floatBytes(1, 2, 3, 4), "id\x00", "k", "\xff", uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, id, key, value string, metric uint8) {
		coll := "c-" + agentdb.Metric(metric%3).String()
		vec := floatsFrom(raw)
		m := meta(key, value)
		err := db.InsertVector(bg, coll, id, vec, m)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrDimensionMismatch)
			if len(vec) == 4 && finite(vec) && id != "" && len(id) <= 256 && m == nil && utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
				t.Fatalf("a valid vector was refused: %v", err)
			}
		} else {
			if len(vec) != 4 || !finite(vec) {
				t.Fatalf("accepted %v", vec)
			}
			rec, err := db.GetVector(bg, coll, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.Vector, vec) || !maps.Equal(rec.Metadata, m) || rec.ID != id {
				t.Fatalf("read back %+v, wrote %v %v", rec, vec, m)
			}
		}
		hits, err := db.SearchKNN(bg, coll, vec, 3, &agentdb.SearchOptions{Metadata: m})
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrDimensionMismatch)
			return
		}
		if len(vec) != 4 || !finite(vec) {
			t.Fatalf("searched with %v", vec)
		}
		if len(hits) > 3 {
			t.Fatalf("%d hits for k=3", len(hits))
		}
		if _, err := db.SearchRange(bg, coll, vec, 1, 10, nil); err != nil {
			t.Fatalf("range search with an accepted query: %v", err)
		}
	})
}

func FuzzMemory(f *testing.F) {
	db := fuzzDB(f, 4)
	f.Add("The user prefers green tea", floatBytes(1, 0, 0, 0), float32(0.5), uint8(1))
	f.Add("  the USER prefers green tea ", floatBytes(0, 1, 0, 0), float32(0.9), uint8(1))
	f.Add("", floatBytes(1, 0, 0, 0), float32(0.5), uint8(0))
	f.Add("nul\x00inside", floatBytes(1, 0, 0, 0), float32(0.5), uint8(2))
	f.Add("x", floatBytes(1, 0, 0, 0), float32(math.NaN()), uint8(3))
	f.Add("x", floatBytes(1, 0, 0, 0), float32(1.5), uint8(9))
	f.Add("龙井茶 🍵", floatBytes(0, 0, 0, 0), float32(0), uint8(0))
	f.Fuzz(func(t *testing.T, content string, raw []byte, importance float32, kind uint8) {
		m := agentdb.NewMemory{AgentID: 1, Type: agentdb.MemoryType(kind % 5), Importance: importance, Content: content, Embedding: floatsFrom(raw)}
		if len(m.Embedding) == 0 {
			m.Embedding = []float32{1, 0, 0, 0} // no model in this database: always pass a vector
		}
		out, err := db.StoreMemoryOutcome(bg, m)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrDimensionMismatch, agentdb.ErrPayloadTooLarge)
			return
		}
		got, err := db.GetMemory(bg, out.MemoryID)
		if err != nil {
			t.Fatal(err)
		}
		if out.Kind == agentdb.StoreStored && (got.Content != content || got.Type != m.Type || got.Importance != importance) {
			t.Fatalf("stored %q (%v, %v), read %q (%v, %v)", content, m.Type, importance, got.Content, got.Type, got.Importance)
		}
		hits, err := db.RetrieveSimilar(bg, 1, m.Embedding, 5, nil)
		if err != nil {
			t.Fatalf("retrieve with a vector a store accepted: %v", err)
		}
		for i := 1; i < len(hits); i++ {
			if hits[i-1].Score < hits[i].Score {
				t.Fatalf("not best first: %v", hits)
			}
		}
	})
}

func FuzzFullTextSearch(f *testing.F) {
	// Chunk vectors cannot be passed through the C ABI: this database
	// embeds the document with the built-in model (once per worker).
	docs := fuzzDB(f, 0)
	if _, err := docs.IndexDocument(bg, agentdb.Document{ID: "tea", Text: "Green tea is steamed. 龙井茶产自杭州西湖。Oolong sits between."}); err != nil {
		f.Fatal(err)
	}
	f.Add("green tea", "tea")
	f.Add("", "")
	f.Add("西湖", "")
	f.Add("\x00", "tea")
	f.Add("AND OR NOT \"unbalanced", "t#1")
	f.Add("' OR 1=1 --", "tea' OR '1'='1")
	f.Fuzz(func(t *testing.T, query, docID string) {
		var filter *agentdb.DocFilter
		if docID != "" {
			filter = &agentdb.DocFilter{DocIDs: []string{docID}}
		}
		hits, err := docs.FullTextSearch(bg, query, 5, filter)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument)
			return
		}
		for _, h := range hits {
			if h.DocID != "tea" || (filter != nil && h.DocID != docID) {
				t.Fatalf("hit %+v for filter %q", h, docID)
			}
		}
	})
}

// validItemText is what an item's namespace label or key may be (SPEC.md,
// "Items"): UTF-8 without NUL, at most 1024 bytes; labels not empty.
func validItemText(s string, label bool) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= 1024 && (!label || s != "")
}

// jsonClose reports whether two JSON texts hold the same value, numbers
// within a relative 1e-12 (the engine parses floats with serde_json's
// default, which may round the last bit differently from Go).
func jsonClose(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	var close func(x, y any) bool
	close = func(x, y any) bool {
		switch xv := x.(type) {
		case float64:
			yv, isNum := y.(float64)
			return isNum && (xv == yv || math.Abs(xv-yv) <= 1e-12*math.Max(math.Abs(xv), math.Abs(yv)))
		case []any:
			yv, isArr := y.([]any)
			if !isArr || len(xv) != len(yv) {
				return false
			}
			for i := range xv {
				if !close(xv[i], yv[i]) {
					return false
				}
			}
			return true
		case map[string]any:
			yv, isObj := y.(map[string]any)
			if !isObj || len(xv) != len(yv) {
				return false
			}
			for k, e := range xv {
				if f, found := yv[k]; !found || !close(e, f) {
					return false
				}
			}
			return true
		default:
			return x == y
		}
	}
	return close(x, y)
}

func FuzzItem(f *testing.F) {
	db := fuzzDB(f, 4)
	f.Add("users", "u1", "prefs", []byte(`{"theme":"dark","n":[1,2.5,null]}`), "source", "ui")
	f.Add("a\x00b", "", "k", []byte(`1`), "", "")
	f.Add("*", "\xff", "", []byte(`[true, {"x": null}]`), "", "")
	f.Add("ns", "", "key\x00", []byte(`{"a":`), "", "")
	f.Add("ns", "", "", []byte(`"\u0000 NUL \"quoted\" ' OR 1=1 --"`), "k", "v")
	f.Add("ns", "", "deep", []byte(strings.Repeat("[", 300)+strings.Repeat("]", 300)), "", "")
	f.Add("ns", "", "big", []byte(`1e400`), "", "")
	f.Add("ns", "", "bytes", []byte("\"\xff\""), "", "")
	f.Add(strings.Repeat("l", 1025), "", "k", []byte(`{}`), "", "")
	f.Fuzz(func(t *testing.T, label1, label2, key string, value []byte, mk, mv string) {
		ns := []string{label1}
		if label2 != "" {
			ns = append(ns, label2)
		}
		addressOK := validItemText(label1, true) && (label2 == "" || validItemText(label2, true)) && validItemText(key, false)
		before, foundBefore, err := db.GetItem(bg, ns, key)
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument)
			if addressOK {
				t.Fatalf("a valid address was refused: %v", err)
			}
		}
		m := meta(mk, mv)
		put, err := db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: key, Value: json.RawMessage(value), Metadata: m})
		if err != nil {
			allowed(t, err, agentdb.ErrInvalidArgument, agentdb.ErrPayloadTooLarge)
			if !addressOK {
				return
			}
			after, foundAfter, err := db.GetItem(bg, ns, key)
			if err != nil || foundAfter != foundBefore || (foundAfter && !bytes.Equal(after.Value, before.Value)) {
				t.Fatalf("a refused put changed the item: %v %+v -> %v %+v (%v)", foundBefore, before, foundAfter, after, err)
			}
			return
		}
		if !addressOK {
			t.Fatalf("an invalid address was accepted: %q %q", ns, key)
		}
		if !json.Valid(value) {
			t.Fatalf("invalid JSON was stored: %q", value)
		}
		got, found, err := db.GetItem(bg, ns, key)
		if err != nil || !found {
			t.Fatalf("the item just put: found=%v err=%v", found, err)
		}
		if !jsonClose(got.Value, value) || !bytes.Equal(got.Value, put.Value) || !maps.Equal(got.Metadata, m) || !slices.Equal(got.Namespace, ns) || got.Key != key {
			t.Fatalf("put %q %q = %s %v, read back %+v", ns, key, value, m, got)
		}
		// The stored text is canonical: putting it again stores the same text.
		again, err := db.PutItem(bg, agentdb.ItemPut{Namespace: ns, Key: key, Value: got.Value, Metadata: m})
		if err != nil || !bytes.Equal(again.Value, got.Value) {
			t.Fatalf("re-put of %s: %s (%v)", got.Value, again.Value, err)
		}
	})
}

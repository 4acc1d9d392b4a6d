package agentdb_test

// The language-neutral cases in tests/conformance/*.json (format:
// tests/conformance/README.md) through the Go package, with the same
// operations, defaults and comparisons as the Rust runner
// (crates/agentdb/tests/conformance.rs). A drift between surfaces fails here.
// An argument a case leaves out takes the engine's default
// (agentdb.EngineDefaults, read from the library), never a value written here.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

const conformanceDir = "../../tests/conformance"

type conformanceCase struct {
	Name    string            `json:"name"`
	Options map[string]any    `json:"options"`
	Steps   []conformanceStep `json:"steps"`
}

type conformanceStep struct {
	Op          string         `json:"op"`
	Args        map[string]any `json:"args"`
	Expect      any            `json:"expect"`
	ExpectError *string        `json:"expect_error"`
	As          *string        `json:"as"`
}

// errBadCase is a malformed step: the runner's failure, not the library's.
var errBadCase = errors.New("malformed conformance step")

func TestConformance(t *testing.T) {
	dir := conformanceDir
	if d := os.Getenv("AGENTDB_CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	ok(t, err)
	sort.Strings(files)
	if len(files) < 4 {
		t.Fatalf("conformance cases found: %v", files)
	}
	steps := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { steps += runCase(t, file) })
	}
	if steps < 60 {
		t.Fatalf("only %d steps ran", steps)
	}
}

func runCase(t *testing.T, file string) int {
	raw, err := os.ReadFile(file)
	ok(t, err)
	var c conformanceCase
	ok(t, json.Unmarshal(raw, &c))
	// As the Rust runner: no background flush or maintenance during a case.
	opts := &agentdb.Options{FlushInterval: time.Hour, MaintenanceInterval: -1}
	if v, found := asU64(c.Options["max_payload_bytes"]); found {
		opts.MaxPayloadBytes = v
	}
	if v, found := asU64(c.Options["memory_dimension"]); found {
		opts.MemoryDimension = uint32(v)
	}
	if v, found := asU64(c.Options["chunk_chars"]); found {
		opts.ChunkChars = uint32(v)
	}
	if v, found := asU64(c.Options["chunk_overlap"]); found {
		opts.ChunkOverlap = uint32(v)
	}
	defaults := must(agentdb.EngineDefaults())
	dir := t.TempDir()
	db := must(agentdb.Open(dir, opts))
	defer func() { ok(t, db.Close()) }()
	names := map[string]uint64{}
	for i, step := range c.Steps {
		ctx := fmt.Sprintf("%s step %d (%s)", filepath.Base(file), i, step.Op)
		if step.Op == "reopen" {
			ok(t, db.Close())
			db = must(agentdb.Open(dir, opts))
			continue
		}
		if step.Args == nil {
			step.Args = map[string]any{}
		}
		got, err := runOp(db, step.Op, step.Args, names, &defaults)
		if errors.Is(err, errBadCase) {
			t.Fatalf("%s: %v", ctx, err)
		}
		if step.ExpectError != nil {
			var e *agentdb.Error
			if err == nil {
				t.Fatalf("%s: expected error %s, got %v", ctx, *step.ExpectError, got)
			}
			if !errors.As(err, &e) || e.Code.String() != *step.ExpectError {
				t.Fatalf("%s: expected error %s, got %v", ctx, *step.ExpectError, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: unexpected error %v", ctx, err)
		}
		// Compare as JSON values (numbers by value), as serde_json does for
		// the integers and rounded floats in the cases.
		gotJSON := normalise(t, got)
		if want, isObject := step.Expect.(map[string]any); isObject {
			for k, w := range want {
				if k == "same_as" {
					name, _ := w.(string)
					wantID, found := names[name]
					if gotID, _ := asU64(gotJSON["memory_id"]); !found || gotID != wantID {
						t.Fatalf("%s: same memory as %s: %v vs %d", ctx, name, gotJSON["memory_id"], wantID)
					}
					continue
				}
				if !reflect.DeepEqual(gotJSON[k], w) {
					t.Fatalf("%s: field %s: expected %v, got %v (of %v)", ctx, k, w, gotJSON[k], gotJSON)
				}
			}
		}
		if step.As != nil {
			id, found := asU64(gotJSON["memory_id"])
			if !found {
				t.Fatalf("%s: an op that names a memory returns memory_id", ctx)
			}
			names[*step.As] = id
		}
	}
	return len(c.Steps)
}

// normalise round-trips a result through JSON so it compares with the
// decoded expectations (numbers as float64, maps as map[string]any).
func normalise(t *testing.T, v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	ok(t, err)
	var out map[string]any
	ok(t, json.Unmarshal(b, &out))
	return out
}

// asU64 is serde_json's as_u64: a non-negative integer, else absent.
func asU64(v any) (uint64, bool) {
	f, isNum := v.(float64)
	if !isNum || f < 0 || f != math.Trunc(f) || f > math.MaxUint64 {
		return 0, false
	}
	return uint64(f), true
}

// asI64 is serde_json's as_i64.
func asI64(v any) (int64, bool) {
	f, isNum := v.(float64)
	if !isNum || f != math.Trunc(f) || f < math.MinInt64 || f > math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func str(a map[string]any, k string) string {
	s, _ := a[k].(string) // as_str().unwrap_or_default()
	return s
}

func u(a map[string]any, k string) (uint64, error) {
	v, found := asU64(a[k])
	if !found {
		return 0, fmt.Errorf("%w: arg %s missing", errBadCase, k)
	}
	return v, nil
}

// floats is the Rust runner's floats: an array (non-numbers are NaN), else nil.
func floats(v any) []float32 {
	arr, isArr := v.([]any)
	if !isArr {
		return nil
	}
	out := make([]float32, len(arr))
	for i, x := range arr {
		if f, isNum := x.(float64); isNum {
			out[i] = float32(f)
		} else {
			out[i] = float32(math.NaN())
		}
	}
	return out
}

// metadata is serde_json::from_value::<BTreeMap<String, String>>().unwrap_or_default().
func metadata(v any) map[string]string {
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, x := range obj {
		s, isStr := x.(string)
		if !isStr {
			return nil
		}
		out[k] = s
	}
	return out
}

func numberOr(a map[string]any, k string, def float64) float64 {
	if f, isNum := a[k].(float64); isNum {
		return f
	}
	return def
}

func memoryID(a map[string]any, names map[string]uint64) (uint64, error) {
	if name, isStr := a["memory"].(string); isStr {
		id, found := names[name]
		if !found {
			return 0, fmt.Errorf("%w: no memory named %q", errBadCase, name)
		}
		return id, nil
	}
	return u(a, "memory_id")
}

func stateValue(s *agentdb.State) map[string]any {
	meta := s.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"agent_id": s.AgentID, "session_id": s.SessionID, "version": s.Version,
		"state_type": s.Type.String(), "data": string(s.Data), "metadata": meta, "key": keyValue(s.Key),
	}
}

// keyValue is a state's key as the cases spell it: null when it has none.
func keyValue(key string) any {
	if key == "" {
		return nil
	}
	return key
}

func memoryValue(m *agentdb.Memory) map[string]any {
	meta := m.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"memory_id": m.ID, "content": m.Content, "memory_type": m.Type.String(),
		"importance": math.Round(float64(m.Importance)*1000) / 1000, "access_count": m.AccessCount,
		"pinned": m.Pinned, "metadata": meta,
	}
}

// limitArg is an optional count argument (limit, k, ...), else def.
func limitArg(a map[string]any, k string, def int) int {
	if _, given := a[k]; !given {
		return def
	}
	n, _ := asU64(a[k])
	return int(min(n, math.MaxInt32))
}

func documentValue(d *agentdb.DocumentInfo) map[string]any {
	meta := d.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{"doc_id": d.ID, "title": d.Title, "metadata": meta, "chunk_count": d.ChunkCount, "char_count": d.CharCount}
}

// hitsValue is a search's hits as the cases compare them: ids, positions
// and offsets in order, the sorted distinct documents, never scores.
func hitsValue(hits []agentdb.ChunkHit) map[string]any {
	docIDs, chunkIDs, contents := []string{}, []string{}, []string{}
	positions, starts, ends := []uint64{}, []uint64{}, []uint64{}
	docs := []string{}
	for _, h := range hits {
		docIDs = append(docIDs, h.DocID)
		chunkIDs = append(chunkIDs, h.ChunkID)
		contents = append(contents, h.Content)
		positions = append(positions, uint64(h.Position))
		starts = append(starts, h.StartChar)
		ends = append(ends, h.EndChar)
		if !slices.Contains(docs, h.DocID) {
			docs = append(docs, h.DocID)
		}
	}
	slices.Sort(docs)
	return map[string]any{"count": len(hits), "doc_ids": docIDs, "docs": docs, "chunk_ids": chunkIDs,
		"positions": positions, "starts": starts, "ends": ends, "contents": contents}
}

func runOp(db *agentdb.DB, op string, a map[string]any, names map[string]uint64, d *agentdb.Defaults) (map[string]any, error) {
	switch op {
	case "save_state":
		t, err := agentdb.ParseStateType(stringOr(a, "state_type", d.StateType))
		if err != nil {
			return nil, err
		}
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		session, err := u(a, "session_id")
		if err != nil {
			return nil, err
		}
		data, meta := []byte(str(a, "data")), metadata(a["metadata"])
		var v uint64
		if key, keyed := a["key"].(string); keyed {
			v, err = db.SaveStateKeyed(bg, agent, session, key, t, data, meta)
		} else {
			v, err = db.SaveState(bg, agent, session, t, data, meta)
		}
		return map[string]any{"version": v}, err
	case "load_state_by_key":
		agent, err1 := u(a, "agent_id")
		session, err2 := u(a, "session_id")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		s, err := db.LoadStateByKey(bg, agent, session, str(a, "key"))
		if err != nil {
			return nil, err
		}
		return stateValue(s), nil
	case "state_history_page":
		agent, err1 := u(a, "agent_id")
		session, err2 := u(a, "session_id")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		var before *uint64
		if v, found := asU64(a["before_version"]); found {
			before = &v
		}
		page, err := db.StateHistoryPage(bg, agent, session, before, limitArg(a, "limit", d.HistoryLimit))
		if err != nil {
			return nil, err
		}
		versions, data, keys := []uint64{}, []string{}, []any{}
		for _, s := range page {
			versions = append(versions, s.Version)
			data = append(data, string(s.Data))
			keys = append(keys, keyValue(s.Key))
		}
		return map[string]any{"versions": versions, "data": data, "keys": keys}, nil
	case "load_state":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		var s *agentdb.State
		if session, found := asU64(a["session_id"]); found {
			s, err = db.LoadState(bg, agent, session)
		} else {
			s, err = db.LoadLatestState(bg, agent)
		}
		if err != nil {
			return nil, err
		}
		return stateValue(s), nil
	case "load_state_version":
		agent, err1 := u(a, "agent_id")
		session, err2 := u(a, "session_id")
		version, err3 := u(a, "version")
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		s, err := db.LoadStateVersion(bg, agent, session, version)
		if err != nil {
			return nil, err
		}
		return stateValue(s), nil
	case "query_history":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		q := agentdb.NewHistoryQuery(agent).WithLimit(limitArg(a, "limit", d.HistoryLimit))
		if session, found := asU64(a["session_id"]); found {
			q = q.Session(session)
		}
		if from, found := asI64(a["from_ms"]); found {
			q.From = time.UnixMilli(from)
		}
		if to, found := asI64(a["to_ms"]); found {
			q.To = time.UnixMilli(to)
		}
		versions, data := []uint64{}, []string{}
		for s, err := range db.History(bg, q) {
			if err != nil {
				return nil, err
			}
			versions = append(versions, s.Version)
			data = append(data, string(s.Data))
		}
		return map[string]any{"versions": versions, "data": data}, nil
	case "create_snapshot":
		agent, err1 := u(a, "agent_id")
		session, err2 := u(a, "session_id")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		s, err := db.CreateSnapshot(bg, agent, session, str(a, "name"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"agent_id": s.AgentID, "session_id": s.SessionID, "name": s.Name, "version": s.Version}, nil
	case "list_snapshots":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		list := []string{}
		for s, err := range db.Snapshots(bg, agent) {
			if err != nil {
				return nil, err
			}
			list = append(list, s.Name)
		}
		return map[string]any{"names": list}, nil
	case "restore_snapshot":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		s, err := db.RestoreSnapshot(bg, agent, str(a, "name"))
		if err != nil {
			return nil, err
		}
		return stateValue(s), nil
	case "delete_agent":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		return map[string]any{}, db.DeleteAgent(bg, agent)
	case "flush":
		return map[string]any{}, db.Flush(bg)
	case "compact":
		return map[string]any{}, db.Compact(bg)
	case "store_memory":
		t, err := agentdb.ParseMemoryType(stringOr(a, "memory_type", d.MemoryType))
		if err != nil {
			return nil, err
		}
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		o, err := db.StoreMemoryOutcome(bg, agentdb.NewMemory{
			AgentID: agent, Type: t, Content: str(a, "content"),
			Importance: float32(numberOr(a, "importance", d.Importance)), Embedding: floats(a["embedding"]),
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"stored": true, "memory_id": o.MemoryID, "kind": o.Kind.String(),
			"absorbed_count": len(o.Absorbed), "evicted_count": len(o.Evicted)}, nil
	case "get_memory":
		id, err := memoryID(a, names)
		if err != nil {
			return nil, err
		}
		m, err := db.GetMemory(bg, id)
		if err != nil {
			return nil, err
		}
		return memoryValue(m), nil
	case "pin_memory", "unpin_memory":
		id, err := memoryID(a, names)
		if err != nil {
			return nil, err
		}
		if op == "pin_memory" {
			return map[string]any{}, db.PinMemory(bg, id)
		}
		return map[string]any{}, db.UnpinMemory(bg, id)
	case "forget":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		older, found := asU64(a["older_than_ms"])
		if !found {
			older = d.Forget.OlderThanMs
		}
		halfLife, found := asU64(a["decay_half_life_ms"])
		if !found {
			halfLife = d.Forget.DecayHalfLifeMs
		}
		n, err := db.Forget(bg, agent, agentdb.ForgetPolicy{
			OlderThan:     time.Duration(older) * time.Millisecond,
			MinImportance: float32(numberOr(a, "min_importance", d.Forget.MinImportance)),
			DecayHalfLife: time.Duration(halfLife) * time.Millisecond,
		})
		return map[string]any{"forgotten": n}, err
	case "gc":
		var bounds []agentdb.Retention
		if n, found := asU64(a["keep_last"]); found {
			bounds = append(bounds, agentdb.KeepLast(n))
		}
		if ms, found := asU64(a["keep_newer_than_ms"]); found {
			bounds = append(bounds, agentdb.KeepNewerThan(time.Duration(ms)*time.Millisecond))
		}
		n, err := db.GC(bg, bounds...)
		return map[string]any{"removed": n}, err
	case "retrieve_similar":
		agent, err := u(a, "agent_id")
		if err != nil {
			return nil, err
		}
		opts := agentdb.DefaultRetrieveOptions()
		if list, isArr := a["memory_types"].([]any); isArr {
			for _, x := range list {
				name, _ := x.(string)
				t, err := agentdb.ParseMemoryType(name)
				if err != nil {
					return nil, err
				}
				opts.Types = append(opts.Types, t)
			}
		}
		hits, err := db.RetrieveSimilar(bg, agent, floats(a["vector"]), limitArg(a, "limit", d.RetrieveLimit), &opts)
		if err != nil {
			return nil, err
		}
		contents := []string{}
		for _, h := range hits {
			contents = append(contents, h.Content)
		}
		return map[string]any{"contents": contents, "count": len(hits)}, nil
	case "create_collection":
		metric, err := agentdb.ParseMetric(stringOr(a, "metric", d.Metric))
		if err != nil {
			return nil, err
		}
		dim, err := u(a, "dimension")
		if err != nil {
			return nil, err
		}
		return map[string]any{}, db.CreateCollection(bg, str(a, "name"), int(min(dim, math.MaxInt32)), metric)
	case "insert_vector":
		return map[string]any{}, db.InsertVector(bg, str(a, "collection"), str(a, "id"), floats(a["vector"]), metadata(a["metadata"]))
	case "delete_vector":
		return map[string]any{}, db.DeleteVector(bg, str(a, "collection"), str(a, "id"))
	case "search_knn", "search_range":
		opts := &agentdb.SearchOptions{Metadata: metadata(a["metadata"])}
		var hits []agentdb.VectorHit
		var err error
		if op == "search_knn" {
			hits, err = db.SearchKNN(bg, str(a, "collection"), floats(a["vector"]), limitArg(a, "k", d.KNNK), opts)
		} else {
			hits, err = db.SearchRange(bg, str(a, "collection"), floats(a["vector"]), float32(numberOr(a, "radius", 0)),
				limitArg(a, "max_results", d.RangeMaxResults), opts)
		}
		if err != nil {
			return nil, err
		}
		ids, distances := []string{}, []float64{}
		for _, h := range hits {
			ids = append(ids, h.ID)
			distances = append(distances, math.Round(float64(h.Distance)*1000)/1000)
		}
		return map[string]any{"ids": ids, "distances": distances, "count": len(hits)}, nil
	case "defaults":
		// The typed view this package reads, not the library's raw JSON.
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		return out, json.Unmarshal(b, &out)
	case "index_document":
		info, err := db.IndexDocument(bg, agentdb.Document{ID: str(a, "doc_id"), Title: str(a, "title"), Text: str(a, "text"), Metadata: metadata(a["metadata"])})
		if err != nil {
			return nil, err
		}
		return documentValue(info), nil
	case "get_document":
		info, err := db.GetDocument(bg, str(a, "doc_id"))
		if err != nil {
			return nil, err
		}
		return documentValue(info), nil
	case "delete_document":
		return map[string]any{}, db.DeleteDocument(bg, str(a, "doc_id"))
	case "semantic_search", "full_text_search", "hybrid_search":
		var filter *agentdb.DocFilter
		if ids, isArr := a["doc_ids"].([]any); isArr || a["metadata"] != nil {
			filter = &agentdb.DocFilter{Metadata: metadata(a["metadata"])}
			for _, id := range ids {
				s, _ := id.(string)
				filter.DocIDs = append(filter.DocIDs, s)
			}
		}
		limit := limitArg(a, "limit", d.SearchLimit)
		var hits []agentdb.ChunkHit
		var err error
		switch op {
		case "semantic_search":
			hits, err = db.SemanticSearch(bg, str(a, "query"), limit, filter)
		case "full_text_search":
			hits, err = db.FullTextSearch(bg, str(a, "query"), limit, filter)
		default:
			alpha := float32(numberOr(a, "alpha", d.HybridAlpha))
			var fusion agentdb.Fusion
			switch stringOr(a, "fusion", d.HybridFusion) {
			case "weighted":
				fusion = agentdb.Weighted(alpha)
			case "rrf":
				fusion = agentdb.ReciprocalRank()
			default:
				return nil, fmt.Errorf("%w: unknown fusion %v", errBadCase, a["fusion"])
			}
			hits, err = db.HybridSearch(bg, str(a, "query"), nil, limit, fusion, filter)
		}
		if err != nil {
			return nil, err
		}
		return hitsValue(hits), nil
	}
	if out, handled, err := runItemOp(db, op, a, d); handled {
		return out, err
	}
	return nil, fmt.Errorf("%w: unknown conformance op %q", errBadCase, op)
}

// labels is a list of labels (namespace, prefix, suffix) as
// serde_json::from_value::<Vec<String>>().unwrap_or_default().
func labels(v any) []string {
	arr, isArr := v.([]any)
	if !isArr {
		return nil
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		s, isStr := x.(string)
		if !isStr {
			return nil
		}
		out[i] = s
	}
	return out
}

// itemPut is a case's put; the value goes to the library as the case's JSON.
func itemPut(a map[string]any) (agentdb.ItemPut, error) {
	value, err := json.Marshal(a["value"])
	if err != nil {
		return agentdb.ItemPut{}, fmt.Errorf("%w: value: %v", errBadCase, err)
	}
	p := agentdb.ItemPut{Namespace: labels(a["namespace"]), Key: str(a, "key"), Value: json.RawMessage(value), Metadata: metadata(a["metadata"])}
	if ttl, found := asU64(a["ttl_ms"]); found {
		p = p.WithTTL(time.Duration(ttl) * time.Millisecond)
	}
	return p, nil
}

func itemValue(i agentdb.Item) map[string]any {
	meta := i.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	var ttl any
	if i.TTL != 0 {
		ttl = i.TTL.Milliseconds()
	}
	return map[string]any{"found": true, "namespace": i.Namespace, "key": i.Key, "value": i.Value, "metadata": meta, "ttl_ms": ttl}
}

// namespacesValue is a list of namespaces, never null (as serde_json spells an empty Vec).
func namespacesValue(list [][]string) [][]string {
	if list == nil {
		return [][]string{}
	}
	return list
}

// runItemOp runs the item ops (items.json); handled is false for any other op.
func runItemOp(db *agentdb.DB, op string, a map[string]any, d *agentdb.Defaults) (out map[string]any, handled bool, err error) {
	switch op {
	case "put_item":
		p, err := itemPut(a)
		if err != nil {
			return nil, true, err
		}
		item, err := db.PutItem(bg, p)
		if err != nil {
			return nil, true, err
		}
		return itemValue(item), true, nil
	case "write_items":
		list, isArr := a["writes"].([]any)
		if !isArr {
			return nil, true, fmt.Errorf("%w: writes", errBadCase)
		}
		writes := make([]agentdb.ItemWrite, 0, len(list))
		for _, w := range list {
			obj, _ := w.(map[string]any)
			if put, isPut := obj["put"].(map[string]any); isPut {
				p, err := itemPut(put)
				if err != nil {
					return nil, true, err
				}
				writes = append(writes, agentdb.PutWrite(p))
			} else if del, isDel := obj["delete"].(map[string]any); isDel {
				writes = append(writes, agentdb.DeleteWrite(labels(del["namespace"]), str(del, "key")))
			} else {
				return nil, true, fmt.Errorf("%w: a write is a put or a delete", errBadCase)
			}
		}
		r, err := db.WriteItems(bg, writes)
		return map[string]any{"put": r.Put, "deleted": r.Deleted}, true, err
	case "get_item":
		item, found, err := db.GetItem(bg, labels(a["namespace"]), str(a, "key"))
		if err != nil {
			return nil, true, err
		}
		if !found {
			return map[string]any{"found": false}, true, nil
		}
		return itemValue(item), true, nil
	case "delete_item":
		deleted, err := db.DeleteItem(bg, labels(a["namespace"]), str(a, "key"))
		return map[string]any{"deleted": deleted}, true, err
	case "search_items":
		q := agentdb.NewItemQuery(labels(a["prefix"])...).WithLimit(limitArg(a, "limit", d.ItemSearchLimit)).WithOffset(limitArg(a, "offset", 0))
		if f, given := a["filter"]; given && f != nil {
			q = q.WithFilter(f)
		}
		q.Metadata = metadata(a["metadata"])
		page, err := db.SearchItems(bg, q)
		if err != nil {
			return nil, true, err
		}
		namespaces, keys, values := [][]string{}, []string{}, []json.RawMessage{}
		for _, i := range page.Items {
			namespaces = append(namespaces, i.Namespace)
			keys = append(keys, i.Key)
			values = append(values, i.Value)
		}
		return map[string]any{"namespaces": namespaces, "keys": keys, "values": values, "total": page.Total, "count": len(page.Items)}, true, nil
	case "list_item_namespaces":
		q := agentdb.NewNamespaceQuery().WithPrefix(labels(a["prefix"])...).WithSuffix(labels(a["suffix"])...)
		if depth, found := asU64(a["max_depth"]); found {
			q = q.WithMaxDepth(int(min(depth, math.MaxInt32)))
		}
		q.Limit, q.Offset = limitArg(a, "limit", d.NamespaceListLimit), limitArg(a, "offset", 0)
		list, err := db.ListItemNamespaces(bg, q)
		return map[string]any{"namespaces": namespacesValue(list)}, true, err
	case "sweep_expired_items":
		n, err := db.SweepExpiredItems(bg)
		return map[string]any{"deleted": n}, true, err
	}
	return nil, false, nil
}

func stringOr(a map[string]any, k, def string) string {
	if s, isStr := a[k].(string); isStr {
		return s
	}
	return def
}

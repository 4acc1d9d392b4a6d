package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"math"
	"time"
)

// Items (SPEC.md, "Items"): JSON values addressed by a namespace path (a
// list of labels) and a key, with upsert, TTL, value filters and namespace
// listing. Values and filters cross the C ABI as JSON text: a Go value is
// marshalled with encoding/json (a json.RawMessage passes through as it
// is), and a read value is the library's JSON as a json.RawMessage.

// Item is one stored item.
type Item struct {
	Namespace []string
	Key       string
	// Value is the item's JSON as the library stored it (compact).
	Value     json.RawMessage
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt is when the item stops being visible; the zero Time: never.
	ExpiresAt time.Time
	// TTL is the time to live it was written with (a read with RefreshTTL
	// moves ExpiresAt to now + TTL); 0: none.
	TTL time.Duration
}

// ItemPut inserts an item, or replaces it whole.
type ItemPut struct {
	// Namespace is 1–64 labels, each 1–1024 bytes.
	Namespace []string
	// Key is 0–1024 bytes ("" is a key).
	Key string
	// Value is anything encoding/json marshals (nil is JSON null); pass
	// JSON text as a json.RawMessage ([]byte would become a base64 string).
	Value    any
	Metadata map[string]string
	// TTL, when HasTTL, makes the item expire this long after the put
	// (at least 1 ms); without it the item never expires. See WithTTL.
	TTL    time.Duration
	HasTTL bool
}

// WithTTL makes the put's item expire d after it is written.
func (p ItemPut) WithTTL(d time.Duration) ItemPut {
	p.TTL, p.HasTTL = d, true
	return p
}

// ItemAddress is where an item lives: its namespace and key.
type ItemAddress struct {
	Namespace []string
	Key       string
}

// ItemWrite is one operation of WriteItems: a put of Put, or, when Delete
// is set, a delete of (Put.Namespace, Put.Key). Make one with PutWrite or
// DeleteWrite.
type ItemWrite struct {
	Delete bool
	Put    ItemPut
}

// PutWrite is a put in a WriteItems batch.
func PutWrite(p ItemPut) ItemWrite {
	return ItemWrite{Put: p}
}

// DeleteWrite is a delete in a WriteItems batch (an absent item: nothing happens).
func DeleteWrite(namespace []string, key string) ItemWrite {
	return ItemWrite{Delete: true, Put: ItemPut{Namespace: namespace, Key: key}}
}

// ItemWriteReport is what WriteItems did.
type ItemWriteReport struct {
	// Put counts the puts applied.
	Put int
	// Deleted counts the live items deleted.
	Deleted int
}

// ItemQuery selects items for SearchItems. Make one with NewItemQuery
// (no filters, the library's default limit, 10).
type ItemQuery struct {
	// Prefix is the labels the namespace starts with, whole labels only;
	// empty: every item.
	Prefix []string
	// Filter is a value filter (SPEC.md, "Value filters"): anything
	// encoding/json marshals to a JSON object, e.g.
	// map[string]any{"n": map[string]any{"$gt": 1}}; nil: none.
	Filter any
	// Metadata entries must each equal the item's metadata value.
	Metadata map[string]string
	// Limit is 1–10000; Offset (0–1000000) matches are skipped first.
	Limit  int
	Offset int
	// RefreshTTL moves each returned item's expiry to now + its TTL (a write).
	RefreshTTL bool
}

// NewItemQuery is every item under prefix, no filters, the library's
// default limit (agent_db_item_query_init).
func NewItemQuery(prefix ...string) ItemQuery {
	var c C.AgentDbItemQuery
	// Cannot fail: the only pointer is this non-NULL one.
	_ = cCall(func() C.AgentDbStatus { return C.agent_db_item_query_init(&c) })
	return ItemQuery{Prefix: prefix, Limit: int(c.limit), Offset: int(c.offset)}
}

// WithFilter sets the value filter.
func (q ItemQuery) WithFilter(filter any) ItemQuery {
	q.Filter = filter
	return q
}

// WithLimit sets the number of items returned at most.
func (q ItemQuery) WithLimit(n int) ItemQuery {
	q.Limit = n
	return q
}

// WithOffset skips the first n matches.
func (q ItemQuery) WithOffset(n int) ItemQuery {
	q.Offset = n
	return q
}

// ItemPage is one page of SearchItems: the items, most recently updated
// first (ties by namespace, then key), and the number of matches in all.
type ItemPage struct {
	Items []Item
	Total int
}

// NamespaceQuery selects namespaces for ListItemNamespaces. Make one with
// NewNamespaceQuery (whole namespaces, the library's default limit, 100).
// A "*" label in Prefix or Suffix matches any label.
type NamespaceQuery struct {
	Prefix []string
	Suffix []string
	// MaxDepth, when HasMaxDepth, cuts each namespace to its first MaxDepth
	// labels (at least 1), then drops duplicates. See WithMaxDepth.
	MaxDepth    int
	HasMaxDepth bool
	// Limit is 1–10000; Offset namespaces are skipped first.
	Limit  int
	Offset int
}

// NewNamespaceQuery is every namespace, whole, the library's default limit
// (agent_db_namespace_query_init).
func NewNamespaceQuery() NamespaceQuery {
	var c C.AgentDbNamespaceQuery
	// Cannot fail: the only pointer is this non-NULL one.
	_ = cCall(func() C.AgentDbStatus { return C.agent_db_namespace_query_init(&c) })
	return NamespaceQuery{Limit: int(c.limit), Offset: int(c.offset)}
}

// WithPrefix keeps the namespaces that start with these labels.
func (q NamespaceQuery) WithPrefix(labels ...string) NamespaceQuery {
	q.Prefix = labels
	return q
}

// WithSuffix keeps the namespaces that end with these labels.
func (q NamespaceQuery) WithSuffix(labels ...string) NamespaceQuery {
	q.Suffix = labels
	return q
}

// WithMaxDepth cuts each namespace to its first d labels.
func (q NamespaceQuery) WithMaxDepth(d int) NamespaceQuery {
	q.MaxDepth, q.HasMaxDepth = d, true
	return q
}

// valueJSON is v as the ABI's JSON text (Go memory, pinned by p).
func (p *pins) valueJSON(v any, what string) (*C.char, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("%s: %v", what, err)
	}
	return p.str(string(b), what)
}

// putToC fills a C write from a put (op aside); its memory is pinned by p.
func (p *pins) putToC(w *C.AgentDbItemWrite, put ItemPut, valueToo bool) error {
	var err error
	if w.namespace_labels, err = p.strArray(put.Namespace, "namespace label"); err != nil {
		return err
	}
	w.namespace_len = C.size_t(len(put.Namespace))
	if w.key, err = p.str(put.Key, "key"); err != nil {
		return err
	}
	if !valueToo {
		return nil
	}
	if w.value_json, err = p.valueJSON(put.Value, "value"); err != nil {
		return err
	}
	if w.metadata_json, err = p.metadata(put.Metadata, "metadata"); err != nil {
		return err
	}
	if put.HasTTL {
		if w.ttl_ms, err = millis(put.TTL, "TTL"); err != nil {
			return err
		}
		w.has_ttl = true
	}
	return nil
}

// WriteItems applies the puts and deletes in order as one atomic write:
// all or nothing. The last operation on an address wins.
func (db *DB) WriteItems(ctx context.Context, writes []ItemWrite) (ItemWriteReport, error) {
	var p pins
	defer p.done()
	cw := make([]C.AgentDbItemWrite, len(writes))
	for i, w := range writes {
		cw[i].op = C.AGENT_DB_ITEM_PUT
		if w.Delete {
			cw[i].op = C.AGENT_DB_ITEM_DELETE
		}
		if err := p.putToC(&cw[i], w.Put, !w.Delete); err != nil {
			return ItemWriteReport{}, err
		}
	}
	var first *C.AgentDbItemWrite
	if len(cw) > 0 {
		first = &cw[0]
	}
	var report C.AgentDbItemWriteReport
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_write_items(h, first, C.size_t(len(cw)), &report)
	})
	if err != nil {
		return ItemWriteReport{}, err
	}
	return ItemWriteReport{Put: int(report.put), Deleted: int(report.deleted)}, nil
}

// PutItem inserts or replaces one item and returns it as stored.
func (db *DB) PutItem(ctx context.Context, put ItemPut) (Item, error) {
	var p pins
	defer p.done()
	var w C.AgentDbItemWrite
	if err := p.putToC(&w, put, true); err != nil {
		return Item{}, err
	}
	var item *C.AgentDbItem
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_put_item(h, w.namespace_labels, w.namespace_len, w.key, w.value_json, w.metadata_json,
			w.has_ttl, w.ttl_ms, &item)
	})
	if err != nil {
		return Item{}, err
	}
	defer C.agent_db_item_free(item)
	return goItem(item), nil
}

// DeleteItem deletes one item; it reports whether a live item was deleted
// (an absent one is not an error).
func (db *DB) DeleteItem(ctx context.Context, namespace []string, key string) (bool, error) {
	var p pins
	defer p.done()
	var w C.AgentDbItemWrite
	if err := p.putToC(&w, ItemPut{Namespace: namespace, Key: key}, false); err != nil {
		return false, err
	}
	var deleted C.bool
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_delete_item(h, w.namespace_labels, w.namespace_len, w.key, &deleted)
	})
	return bool(deleted), err
}

// GetItem is the live item at (namespace, key); found is false when there
// is none (absent, deleted or expired), which is not an error.
func (db *DB) GetItem(ctx context.Context, namespace []string, key string) (item Item, found bool, err error) {
	var p pins
	defer p.done()
	var w C.AgentDbItemWrite
	if err := p.putToC(&w, ItemPut{Namespace: namespace, Key: key}, false); err != nil {
		return Item{}, false, err
	}
	var raw *C.AgentDbItem
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_get_item(h, w.namespace_labels, w.namespace_len, w.key, &raw)
	})
	if err != nil || raw == nil {
		return Item{}, false, err
	}
	defer C.agent_db_item_free(raw)
	return goItem(raw), true, nil
}

// GetItems is the live item at each address, in order: nil where there is
// none. With refreshTTL, each found item with a TTL gets a new expiry.
func (db *DB) GetItems(ctx context.Context, addresses []ItemAddress, refreshTTL bool) ([]*Item, error) {
	var p pins
	defer p.done()
	ca := make([]C.AgentDbItemAddress, len(addresses))
	for i, a := range addresses {
		var w C.AgentDbItemWrite
		if err := p.putToC(&w, ItemPut{Namespace: a.Namespace, Key: a.Key}, false); err != nil {
			return nil, err
		}
		ca[i] = C.AgentDbItemAddress{namespace_labels: w.namespace_labels, namespace_len: w.namespace_len, key: w.key}
	}
	var first *C.AgentDbItemAddress
	if len(ca) > 0 {
		first = &ca[0]
	}
	var slots *C.AgentDbItemSlots
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_get_items(h, first, C.size_t(len(ca)), C.bool(refreshTTL), &slots)
	})
	if err != nil {
		return nil, err
	}
	defer C.agent_db_item_slots_free(slots)
	out := make([]*Item, len(addresses))
	for i, raw := range items(slots.items, slots.len) {
		if raw != nil {
			item := goItem(raw)
			out[i] = &item
		}
	}
	return out, nil
}

// SearchItems is the live items under q.Prefix that pass the value filter
// and the metadata, most recently updated first; Total counts every match.
func (db *DB) SearchItems(ctx context.Context, q ItemQuery) (ItemPage, error) {
	var p pins
	defer p.done()
	var cq C.AgentDbItemQuery
	var err error
	if cq.prefix, err = p.strArray(q.Prefix, "prefix label"); err != nil {
		return ItemPage{}, err
	}
	cq.prefix_len = C.size_t(len(q.Prefix))
	if q.Filter != nil {
		if cq.filter_json, err = p.valueJSON(q.Filter, "filter"); err != nil {
			return ItemPage{}, err
		}
	}
	if cq.metadata_json, err = p.metadata(q.Metadata, "metadata"); err != nil {
		return ItemPage{}, err
	}
	if cq.limit, err = u32(q.Limit, "limit"); err != nil {
		return ItemPage{}, err
	}
	if cq.offset, err = u32(q.Offset, "offset"); err != nil {
		return ItemPage{}, err
	}
	cq.refresh_ttl = C.bool(q.RefreshTTL)
	var page *C.AgentDbItemPage
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_search_items(h, &cq, &page) }); err != nil {
		return ItemPage{}, err
	}
	defer C.agent_db_item_page_free(page)
	out := ItemPage{Items: make([]Item, 0, int(page.len)), Total: int(min(uint64(page.total), math.MaxInt))}
	all := items(page.items, page.len)
	for i := range all {
		out.Items = append(out.Items, goItem(&all[i]))
	}
	return out, nil
}

// ListItemNamespaces is the namespaces holding at least one live item that
// match q, sorted label by label (bytewise).
func (db *DB) ListItemNamespaces(ctx context.Context, q NamespaceQuery) ([][]string, error) {
	var p pins
	defer p.done()
	var cq C.AgentDbNamespaceQuery
	var err error
	if cq.prefix, err = p.strArray(q.Prefix, "prefix label"); err != nil {
		return nil, err
	}
	cq.prefix_len = C.size_t(len(q.Prefix))
	if cq.suffix, err = p.strArray(q.Suffix, "suffix label"); err != nil {
		return nil, err
	}
	cq.suffix_len = C.size_t(len(q.Suffix))
	if q.HasMaxDepth {
		if cq.max_depth, err = u32(q.MaxDepth, "max depth"); err != nil {
			return nil, err
		}
		cq.has_max_depth = true
	}
	if cq.limit, err = u32(q.Limit, "limit"); err != nil {
		return nil, err
	}
	if cq.offset, err = u32(q.Offset, "offset"); err != nil {
		return nil, err
	}
	var list *C.AgentDbNamespaceList
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_list_item_namespaces(h, &cq, &list) }); err != nil {
		return nil, err
	}
	defer C.agent_db_namespace_list_free(list)
	out := make([][]string, 0, int(list.len))
	for _, ns := range items(list.items, list.len) {
		out = append(out, goLabels(ns.labels, ns.len))
	}
	return out, nil
}

// SweepExpiredItems deletes every expired item and returns how many.
func (db *DB) SweepExpiredItems(ctx context.Context) (int, error) {
	var n C.uint64_t
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_sweep_expired_items(h, &n) })
	return int(min(uint64(n), math.MaxInt)), err
}

func goLabels(p **C.char, n C.size_t) []string {
	labels := items(p, n)
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = C.GoString(l)
	}
	return out
}

func goItem(i *C.AgentDbItem) Item {
	item := Item{
		Namespace: goLabels(i.namespace_labels, i.namespace_len),
		Key:       C.GoString(i.key),
		Value:     json.RawMessage(C.GoString(i.value_json)),
		Metadata:  parseMetadata(i.metadata_json),
		CreatedAt: goTime(i.created_at_ms),
		UpdatedAt: goTime(i.updated_at_ms),
	}
	if i.has_expiry {
		item.ExpiresAt = goTime(i.expires_at_ms)
	}
	if i.has_ttl {
		item.TTL = time.Duration(min(uint64(i.ttl_ms), uint64(math.MaxInt64/int64(time.Millisecond)))) * time.Millisecond
	}
	return item
}

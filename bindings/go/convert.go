package agentdb

/*
#include <stdint.h>
#include "agent_db.h"
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Conversion at the C edge, and nothing else: the library validates every
// value. Go memory handed to C follows the cgo pointer rules: a pointer
// passed as an argument may point at Go memory without Go pointers in it
// (strings copied into NUL-terminated byte slices, float slices, out
// variables); a C struct in Go memory that holds pointers (NewMemory,
// filters, records) gets its pointees pinned with a runtime.Pinner for the
// duration of the call. C never keeps any of them after the call returns.

// cString is s NUL-terminated in Go memory. A NUL inside s would silently cut
// the string at the C boundary, so it is refused.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, invalid("%s contains a NUL byte", what)
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0])), nil
}

// optCString is cString, with "" as NULL (the ABI's "none").
func optCString(s, what string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return cString(s, what)
}

// isEmptyObject reports whether the C string is "{}", reading no byte past
// its NUL.
func isEmptyObject(p *C.char) bool {
	b := (*[3]byte)(unsafe.Pointer(p))
	return b[0] == '{' && b[1] == '}' && b[2] == 0
}

// metadataJSON is the ABI's metadata: a JSON object of strings, NULL when empty.
func metadataJSON(m map[string]string, what string) (*C.char, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k, v := range m {
		// encoding/json would silently replace invalid UTF-8 with U+FFFD;
		// the library refuses it, so refuse it here too.
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, invalid("%s is not valid UTF-8", what)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		// map[string]string always marshals (invalid UTF-8 becomes U+FFFD).
		return nil, invalid("%s: %v", what, err)
	}
	return cString(string(b), what)
}

// parseMetadata reads the library's metadata JSON; empty gives nil.
func parseMetadata(p *C.char) map[string]string {
	// The common empty map is "{}" (a static string in the library): no
	// JSON decoding on the hot path.
	if p == nil || isEmptyObject(p) {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(C.GoString(p)), &m); err != nil || len(m) == 0 {
		// The library only ever writes a JSON object of strings.
		return nil
	}
	return m
}

// floatsPtr points C at v in place (Go memory without pointers); NULL when empty.
func floatsPtr(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

// goFloats copies n floats from C memory.
func goFloats(p *C.float, n C.size_t) []float32 {
	if p == nil || n == 0 {
		return nil
	}
	return append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(p)), int(n))...)
}

func goIDs(p *C.uint64_t, n C.size_t) []uint64 {
	if p == nil || n == 0 {
		return nil
	}
	return append([]uint64(nil), unsafe.Slice((*uint64)(unsafe.Pointer(p)), int(n))...)
}

// items views a C array of n T (owned by a library result) as a slice.
func items[T any](p *T, n C.size_t) []T {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice(p, int(n))
}

// u32 is a count the ABI takes as uint32. Out-of-range values are refused
// rather than truncated (2^32 would otherwise become 0).
func u32(n int, what string) (C.uint32_t, error) {
	if n < 0 || uint64(n) > math.MaxUint32 {
		return 0, invalid("%s %d is out of range", what, n)
	}
	return C.uint32_t(n), nil
}

// millis is a non-negative duration in whole ms, rounded up so that a
// positive duration never becomes the ABI's 0 ("none").
func millis(d time.Duration, what string) (C.uint64_t, error) {
	if d < 0 {
		return 0, invalid("%s must not be negative", what)
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return C.uint64_t(ms), nil
}

// timeMs is a bound in ms since the epoch; the zero Time is unbounded (def).
func timeMs(t time.Time, def int64) C.int64_t {
	if t.IsZero() {
		return C.int64_t(def)
	}
	return C.int64_t(t.UnixMilli())
}

func goTime(ms C.int64_t) time.Time {
	return time.UnixMilli(int64(ms))
}

// pins keeps the Go memory a C struct points into in place during a call.
type pins struct {
	p runtime.Pinner
}

func (p *pins) str(s, what string) (*C.char, error) {
	c, err := cString(s, what)
	if err == nil {
		p.p.Pin(c)
	}
	return c, err
}

func (p *pins) optStr(s, what string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return p.str(s, what)
}

func (p *pins) metadata(m map[string]string, what string) (*C.char, error) {
	c, err := metadataJSON(m, what)
	if c != nil {
		p.p.Pin(c)
	}
	return c, err
}

func (p *pins) floats(v []float32) *C.float {
	f := floatsPtr(v)
	if f != nil {
		p.p.Pin(f)
	}
	return f
}

func (p *pins) done() {
	p.p.Unpin()
}

// strArray is texts as a C array of NUL-terminated strings in Go memory.
func (p *pins) strArray(texts []string, what string) (**C.char, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	arr := make([]*C.char, len(texts))
	for i, t := range texts {
		c, err := p.str(t, what)
		if err != nil {
			return nil, err
		}
		arr[i] = c
	}
	p.p.Pin(&arr[0])
	return &arr[0], nil
}

// Package cgocanary breaks the cgo pointer rules on purpose, so a test can
// prove that the GOEXPERIMENT=cgocheck2 run would notice a Go pointer kept
// in C memory (as the C tests' leak canary proves valgrind would notice a
// missing free).
package cgocanary

// #include <stdlib.h>
import "C"

import "unsafe"

var sink *int

// StoreGoPointerInC writes a Go pointer into C memory, which the rules
// forbid; with cgocheck2 the runtime stops the program with "Go pointer
// stored into non-Go memory".
func StoreGoPointerInC() {
	slot := (*unsafe.Pointer)(C.malloc(C.size_t(unsafe.Sizeof(uintptr(0)))))
	sink = new(int)
	*slot = unsafe.Pointer(sink)
	C.free(unsafe.Pointer(slot))
}

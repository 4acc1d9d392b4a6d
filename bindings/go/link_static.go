//go:build !agentdb_shared && !agentdb_external

package agentdb

// The default: libagentdb.a linked into the Go binary, so the program needs
// no shared library at run time. scripts/build_go_lib.sh builds it and puts
// it with the header in lib/ (gitignored). The system libraries are those
// Rust's staticlib needs on Linux (`--print native-static-libs`).

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: ${SRCDIR}/lib/libagentdb.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
*/
import "C"

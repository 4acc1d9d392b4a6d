//go:build agentdb_shared && !agentdb_external

package agentdb

// -tags agentdb_shared: link lib/libagentdb.so instead (faster links while
// developing); the binary finds it through an rpath to lib/.

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: -L${SRCDIR}/lib -lagentdb -Wl,-rpath,${SRCDIR}/lib
*/
import "C"

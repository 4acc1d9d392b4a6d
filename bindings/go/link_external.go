//go:build agentdb_external

package agentdb

// -tags agentdb_external: no flags from this package; the caller says where
// the header and library are, e.g. when the module is read from the module
// cache (where lib/ cannot be written):
//
//	CGO_CFLAGS="-I/path/to/include" \
//	CGO_LDFLAGS="/path/to/libagentdb.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc" \
//	go build -tags agentdb_external ./...

import "C"

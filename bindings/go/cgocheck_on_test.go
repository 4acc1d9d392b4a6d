//go:build goexperiment.cgocheck2

package agentdb_test

const cgocheck2 = true

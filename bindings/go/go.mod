module github.com/agentdb-engine/agentdb-engine/bindings/go

go 1.26

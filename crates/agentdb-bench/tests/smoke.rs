//! The benchmark harness keeps working: a `--quick` run completes and prints
//! every row of its table. Numbers are never checked here (timing belongs in
//! benchmarks, not tests).

use std::process::Command;

#[test]
fn quick_run_prints_the_full_table() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_agentdb-bench")).args(["--quick", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    for row in [
        "save_state, 1 writer, fsync=batch",
        "save_state, 2 writers, fsync=always",
        "lancedb per-record append (baseline)",
        "ratio AgentDB(batch, 1 writer) ÷ lancedb per-record",
        "lancedb MemWAL durable upsert",
        "open database with 20000 records",
        "load_state latest, cold (from Lance) p99",
        "load_state latest, hot (cache) p50",
        "query_history (limit 10) p50",
        "resident memory growth, writer with 20000 records",
        "store 3000 memories (caller vectors)",
        "store_memory single, default policy, 3000 memories p50",
        "store_memory, first after reopen, 3000 memories",
        "store 3000 memories, keep_both (caller vectors)",
        "retrieve_similar top-10 with 3000 memories p50",
        "hybrid_search top-10 over 2000 chunks p50",
        "ingest chunks, built-in model",
        "fashion-mnist k=10, flat (no index)",
        "load_state hot, C ABI, 256 B payload",
        "ratio C ABI ÷ Rust, 65536 B payload",
    ] {
        assert!(table.contains(row), "missing row {row:?} in:\n{table}");
    }
    assert!(!table.contains("| failed |"), "a side of the comparison failed:\n{table}");
}

//! The cost of the C ABI on the hottest call: `load_state` served from the
//! latest-state cache, in Rust and through `agent_db_load_state` from C (the
//! path every C, Zig, Go and Bun caller takes), same build, same run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use agentdb::{AgentDb, Options, StateType};

use crate::Row;

fn rust_ns_per_call(dir: &Path, calls: u64, payload: usize) -> f64 {
    let db = AgentDb::open(dir, Options { maintenance_interval: None, ..Options::default() }).expect("open");
    db.save_state(1, 1, StateType::Context, &vec![0u8; payload]).expect("save");
    db.load_state(1, Some(1)).expect("warm");
    let start = Instant::now();
    let mut sum = 0usize;
    for _ in 0..calls {
        sum += std::hint::black_box(db.load_state(1, Some(1)).expect("load")).data.len();
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    assert_eq!(sum, calls as usize * payload);
    ns
}

/// The cdylib next to this binary (target/<profile>/libagentdb.so).
fn lib_dir() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    dir.join("libagentdb.so").exists().then_some(dir)
}

fn c_ns_per_call(dir: &Path, calls: u64, payload: usize) -> Result<f64, String> {
    let lib =
        lib_dir().ok_or("libagentdb.so not built next to the bench (cargo build --workspace in the same profile)")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = dir.join("bench_load_state");
    let cc = Command::new("cc")
        .args(["-O2", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/bench_load_state.c"))
        .arg("-L")
        .arg(&lib)
        .arg("-lagentdb")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&exe)
        .status()
        .map_err(|e| format!("cc: {e}"))?;
    if !cc.success() {
        return Err("cc failed".into());
    }
    let out = Command::new(&exe)
        .arg(dir.join("db"))
        .arg(calls.to_string())
        .arg(payload.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("ns_per_call=")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("C bench failed: {text} {}", String::from_utf8_lossy(&out.stderr)))
}

pub fn ffi(base: &Path, calls: u64, rows: &mut Vec<Row>) {
    for payload in [256usize, 64 * 1024] {
        let rust = rust_ns_per_call(&base.join(format!("ffi-rust-{payload}")), calls, payload);
        rows.push(Row::new(
            &format!("load_state hot, Rust API, {payload} B payload"),
            format!("{rust:.0} ns/call"),
            String::new(),
        ));
        let c_dir = base.join(format!("ffi-c-{payload}"));
        std::fs::create_dir_all(&c_dir).expect("c bench dir");
        match c_ns_per_call(&c_dir, calls, payload) {
            Ok(c) => {
                rows.push(Row::new(
                    &format!("load_state hot, C ABI, {payload} B payload"),
                    format!("{c:.0} ns/call"),
                    "incl. agent_db_state_free".into(),
                ));
                rows.push(Row::new(
                    &format!("ratio C ABI ÷ Rust, {payload} B payload"),
                    format!("{:.2}×", c / rust),
                    format!("FFI overhead {:.0} ns/call", c - rust),
                ));
            }
            Err(e) => rows.push(Row::new(&format!("load_state hot, C ABI, {payload} B payload"), "failed".into(), e)),
        }
    }
}

//! The committed include/agent_db.h must be exactly what the pinned cbindgen
//! generates from this crate: a stale header is a broken ABI for C and Zig.

use std::path::Path;
use std::process::Command;

const CBINDGEN_VERSION: &str = "0.29.4";

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.join("../..");
    let version = Command::new("cbindgen").arg("--version").output().unwrap_or_else(|e| {
        panic!("cbindgen not found ({e}); run scripts/setup.sh (cargo install cbindgen --version {CBINDGEN_VERSION})")
    });
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.contains(CBINDGEN_VERSION), "cbindgen {CBINDGEN_VERSION} expected, found {version}");

    let fresh = tempfile::NamedTempFile::new().expect("temp file");
    let status = Command::new("cbindgen")
        .current_dir(&root)
        .args([
            "--quiet",
            "--config",
            "crates/agentdb-capi/cbindgen.toml",
            "--crate",
            "agentdb-engine-capi",
            "--output",
        ])
        .arg(fresh.path())
        .status()
        .expect("run cbindgen");
    assert!(status.success(), "cbindgen failed");
    let fresh = std::fs::read_to_string(fresh.path()).expect("read generated header");
    let committed = std::fs::read_to_string(root.join("include/agent_db.h")).expect("read include/agent_db.h");
    assert!(
        fresh == committed,
        "include/agent_db.h is stale: regenerate it with\n  cbindgen --config crates/agentdb-capi/cbindgen.toml --crate agentdb-engine-capi --output include/agent_db.h"
    );
}

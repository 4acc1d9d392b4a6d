//! Build-time information for AgentDB's binaries, called from their build
//! scripts: `emit_build_commit()` sets `AGENTDB_BUILD_COMMIT`, the commit
//! `agentdb --version` and `agentdb-server --version` print: the short hash
//! of the git checkout being built, or, in a crate unpacked from crates.io
//! (no checkout), the commit `cargo package` recorded in
//! `.cargo_vcs_info.json`; "unknown" when neither exists. A commit must be
//! read where the binary is built, so each binary's build script calls this.

#![deny(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const SHORT_HASH_CHARS: usize = 9;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// `{"git": {"sha1": "<40 hex>", ...}, ...}`: the one field needed, without a JSON parser.
fn packaged_commit(manifest_dir: &Path) -> Option<String> {
    let info = std::fs::read_to_string(manifest_dir.join(".cargo_vcs_info.json")).ok()?;
    let after = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let start = after.find('"')? + 1;
    let sha: String = after[start..].chars().take_while(char::is_ascii_hexdigit).collect();
    (sha.len() >= SHORT_HASH_CHARS).then(|| sha[..SHORT_HASH_CHARS].to_string())
}

/// Prints the cargo directives that set `AGENTDB_BUILD_COMMIT` for the
/// crate whose build script calls it.
pub fn emit_build_commit() {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        println!("cargo:rustc-env=AGENTDB_BUILD_COMMIT=unknown");
        return;
    };
    println!("cargo:rerun-if-changed=build.rs");
    let commit = match packaged_commit(&manifest_dir) {
        Some(sha) => sha,
        None => {
            let short = format!("--short={SHORT_HASH_CHARS}");
            let commit = git(&manifest_dir, &["rev-parse", &short, "HEAD"]);
            // Rebuild when HEAD moves: HEAD itself (checkout) and the ref it names (commit).
            for args in [&["rev-parse", "--git-path", "HEAD"][..], &["rev-parse", "--git-path", "packed-refs"]] {
                if let Some(p) = git(&manifest_dir, args) {
                    rerun_if_exists(&manifest_dir.join(p));
                }
            }
            if let Some(head_ref) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
                if let Some(p) = git(&manifest_dir, &["rev-parse", "--git-path", &head_ref]) {
                    rerun_if_exists(&manifest_dir.join(p));
                }
            }
            commit.unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=AGENTDB_BUILD_COMMIT={commit}");
}

/// A missing path would make cargo rerun the script on every build.
fn rerun_if_exists(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

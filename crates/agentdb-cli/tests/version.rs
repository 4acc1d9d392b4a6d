//! `agentdb --version` names the engine's version and the commit the binary
//! was built from (crates/agentdb-cli/build.rs).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<std::process::Output> {
    Command::new("git").arg("-C").arg(env!("CARGO_MANIFEST_DIR")).args(args).output().ok()
}

#[test]
fn version_prints_the_engine_version_and_the_build_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_agentdb")).arg("--version").output().expect("run agentdb --version");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).expect("utf-8");
    let rest = line.strip_prefix("agentdb ").unwrap_or_else(|| panic!("unexpected output: {line:?}"));
    let (version, commit) = rest.trim_end().split_once(" (commit ").unwrap_or_else(|| panic!("no commit in {line:?}"));
    assert_eq!(version, agentdb::VERSION);
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "the CLI and the engine share the workspace version");
    let commit = commit.strip_suffix(')').unwrap_or_else(|| panic!("unterminated: {line:?}"));

    let in_checkout = git(&["rev-parse", "--git-dir"]).is_some_and(|o| o.status.success());
    if !in_checkout {
        // Built from a crate without a checkout (and no .cargo_vcs_info.json).
        let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cargo_vcs_info.json").exists();
        assert!(packaged || commit == "unknown", "{line:?}");
        return;
    }
    assert!(commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()), "not a short hash: {commit:?}");
    // HEAD may have moved on since the build (other commits); the build's
    // commit must still be this checkout's HEAD or one of its ancestors.
    let spec = format!("{commit}^{{commit}}");
    let full = git(&["rev-parse", "--verify", "--quiet", &spec]).expect("git rev-parse");
    assert!(full.status.success(), "{commit} is not a commit of this checkout");
    let ancestor = git(&["merge-base", "--is-ancestor", commit, "HEAD"]).expect("git merge-base");
    assert!(ancestor.status.success(), "{commit} is not HEAD or an ancestor of it");
}

#[test]
fn short_flag_prints_the_same_line() {
    let long = Command::new(env!("CARGO_BIN_EXE_agentdb")).arg("--version").output().expect("run --version");
    let short = Command::new(env!("CARGO_BIN_EXE_agentdb")).arg("-V").output().expect("run -V");
    assert_eq!(long.stdout, short.stdout);
}

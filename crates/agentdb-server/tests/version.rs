//! `agentdb-server --version` names the engine's version and the commit the
//! binary was built from (agentdb-engine-build-info, as the CLI does).

use std::process::Command;

#[test]
fn version_prints_the_engine_version_and_the_build_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_agentdb-server")).arg("--version").output().expect("run --version");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).expect("utf-8");
    let rest = line.trim_end().strip_prefix("agentdb-server ").unwrap_or_else(|| panic!("unexpected: {line:?}"));
    let (version, commit) = rest.split_once(" (commit ").unwrap_or_else(|| panic!("no commit in {line:?}"));
    assert_eq!(version, agentdb::VERSION);
    let commit = commit.strip_suffix(')').unwrap_or_else(|| panic!("unterminated: {line:?}"));
    let in_checkout = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--git-dir"])
        .output()
        .is_ok_and(|o| o.status.success());
    if in_checkout {
        assert!(commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()), "not a short hash: {commit:?}");
        let known = Command::new("git")
            .args(["-C", env!("CARGO_MANIFEST_DIR"), "merge-base", "--is-ancestor", commit, "HEAD"])
            .status()
            .expect("git merge-base");
        assert!(known.success(), "{commit} is not HEAD or an ancestor of it");
    } else {
        assert_eq!(commit, "unknown");
    }
}

//! The C surface's tests: examples/c/agent_db_example.c (every function of
//! the header) is compiled with `cc -Werror` against include/agent_db.h and
//! the freshly built libagentdb.so, then run natively and under valgrind
//! (zero errors, nothing definitely lost). A leak canary proves valgrind
//! would notice a missing free.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// target/<profile>/ : this test binary lives in target/<profile>/deps/.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    assert!(dir.join("libagentdb.so").exists(), "libagentdb.so not found in {}", dir.display());
    dir
}

fn compile(source: &str, out: &Path) {
    let lib = lib_dir();
    let status = Command::new("cc")
        .args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
        .arg(root().join("include"))
        .arg(root().join(source))
        .arg("-L")
        .arg(&lib)
        .arg("-lagentdb")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lpthread", "-lm", "-o"])
        .arg(out)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed for {source}");
}

fn show(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr (tail):\n{}",
        String::from_utf8_lossy(&o.stdout),
        tail(&String::from_utf8_lossy(&o.stderr), 60)
    )
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn valgrind_available() -> bool {
    let found = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("AGENTDB_SKIP_VALGRIND").is_none() {
        panic!("valgrind not found: run scripts/setup.sh (or set AGENTDB_SKIP_VALGRIND=1 to skip)");
    }
    found
}

const VALGRIND_ERROR_EXIT: i32 = 97;

fn valgrind(program: &Path, db_dir: &Path) -> Output {
    Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            &format!("--error-exitcode={VALGRIND_ERROR_EXIT}"),
            "--num-callers=40",
        ])
        .arg(program)
        .arg(db_dir)
        .output()
        .expect("run valgrind")
}

#[test]
fn c_example_passes_natively() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("agent_db_example");
    compile("examples/c/agent_db_example.c", &exe);
    let out = Command::new(&exe).arg(dir.path().join("db")).output().expect("run example");
    assert!(out.status.success(), "C example failed\n{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checks passed"));
}

#[test]
fn c_example_is_valgrind_clean() {
    if !valgrind_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("agent_db_example");
    compile("examples/c/agent_db_example.c", &exe);
    let out = valgrind(&exe, &dir.path().join("db"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "valgrind found errors or the example failed\n{}", show(&out));
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{}", show(&out));
    assert!(
        stderr.contains("definitely lost: 0 bytes") || stderr.contains("All heap blocks were freed"),
        "{}",
        show(&out)
    );
}

#[test]
fn valgrind_catches_a_missing_free() {
    if !valgrind_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("leak_canary");
    compile("examples/c/leak_canary.c", &exe);
    let out = valgrind(&exe, &dir.path().join("db"));
    assert_eq!(out.status.code(), Some(VALGRIND_ERROR_EXIT), "the leaked state went unnoticed\n{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("agent_db_load_state"), "{}", show(&out));
}

//! A handle used in a forked child fails fast with a clear error instead of
//! hanging on threads that fork() did not copy, and dropping it returns at
//! once; the parent's handle is unaffected. (Opening a new handle in the
//! child is an exec-or-spawn matter: after fork() in a multithreaded process
//! only async-signal-safe calls are defined, so the test does not do it.)
#![allow(unsafe_code)]

use std::time::Duration;

use agentdb::{AgentDb, Error, Options, StateType};

#[test]
fn forked_child_gets_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { flush_interval: Duration::from_millis(50), ..Options::default() };
    let db = AgentDb::open(dir.path(), opts).unwrap();
    db.save_state(1, 1, StateType::Context, b"before fork").unwrap();

    // SAFETY: the child only calls into AgentDB paths that fail before taking
    // locks or touching threads, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = (|| {
            let err = match db.load_state(1, Some(1)) {
                Err(Error::InvalidArgument(m)) if m.contains("fork") => 0,
                _ => return 10,
            };
            if !matches!(db.close(), Err(Error::InvalidArgument(_))) {
                return 11;
            }
            drop(db); // leaked, not closed: must return at once
            err
        })();
        // SAFETY: _exit ends the child at once without running the parent's atexit handlers or
        // destructors, which must not run twice; it takes no pointers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting on our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child did not exit normally: {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child check failed");

    // The parent's handle is untouched.
    assert_eq!(db.save_state(1, 1, StateType::Context, b"after fork").unwrap(), 2);
    db.close().unwrap();
}

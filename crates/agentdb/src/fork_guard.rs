//! `fork()` copies a process's memory but only the forking thread: in the
//! child, an open handle's WAL syncer, flusher and tokio workers do not
//! exist, so any call that waits on them hangs (LanceDB's Python binding hit
//! exactly this). A child-side `pthread_atfork` handler bumps a generation
//! counter; a handle remembers the generation it was opened in and refuses
//! calls from a later one, and is leaked rather than closed there (closing
//! would join threads that are not there and flush into the parent's files).
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child_after_fork() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current process generation (0 until a fork); registers the handler once.
pub(crate) fn generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: pthread_atfork takes two NULL handlers and one `extern "C" fn()` that lives for the
        // whole program; that handler runs in the child where only async-signal-safe work is allowed,
        // and it only increments an atomic.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child_after_fork)) };
        if rc != 0 {
            tracing::warn!(rc, "pthread_atfork failed; handles will not detect use after fork()");
        }
    });
    GENERATION.load(Ordering::Relaxed)
}

/// Whether a handle opened in `opened_in` is being used in a forked child.
pub(crate) fn forked_since(opened_in: u64) -> bool {
    GENERATION.load(Ordering::Relaxed) != opened_in
}

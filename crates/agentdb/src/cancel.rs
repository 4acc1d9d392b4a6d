//! Cancel tokens for long read-only calls (searches and retrievals).
//!
//! A `CancelToken` is a shared flag: cloning it is one `Arc` increment, and
//! `cancel()` may be called from any thread, any number of times. A call
//! made through `AgentDb::with_cancel(&token)` checks the token before it
//! starts and between its stages, and races each LanceDB query against it,
//! so it returns `Error::Cancelled` promptly once the token fires. Only
//! calls that change nothing are cancellable, or the part of a call before
//! it writes: a retrieval that records accesses checks the token before its
//! one WAL record and never after, so a cancelled call has changed nothing
//! and a call that wrote anything returns its result.
//!
//! A token stays cancelled: every later call given it fails at once. Use a
//! new token per call (or per group of calls to stop together).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{AgentDb, Error, Result};

/// A cancellation flag shared between a caller and its long calls.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    /// Wakes the calls waiting on this token (a query raced against it).
    notify: tokio::sync::Notify,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every call that holds this token, now and later. Idempotent;
    /// safe from any thread (a Go `context.AfterFunc` callback, say); it
    /// returns at once, without waiting for the calls to stop.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// `Err(Error::Cancelled)` once the token is cancelled.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Completes once the token is cancelled.
    pub(crate) async fn cancelled(&self) {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read: a `cancel()` between the two
        // still wakes this waiter (notify_waiters wakes only those enabled).
        notified.as_mut().enable();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// The long read-only calls of a database, stopped by a token (made by
/// `AgentDb::with_cancel`): `retrieve`, `retrieve_similar`,
/// `semantic_search`, `semantic_search_vector`, `full_text_search`,
/// `hybrid_search`, `search_knn` and `search_range`, with the same
/// arguments and results as on `AgentDb`, plus `Error::Cancelled`.
/// `AgentDb`'s own methods are these with no token.
#[derive(Clone, Copy)]
pub struct Cancellable<'a> {
    pub(crate) db: &'a AgentDb,
    pub(crate) cancel: Cancel<'a>,
}

impl<'a> Cancellable<'a> {
    pub(crate) fn new(db: &'a AgentDb, cancel: Cancel<'a>) -> Cancellable<'a> {
        Cancellable { db, cancel }
    }

    /// The engine behind the database.
    pub(crate) fn engine(&self) -> &'a crate::engine::Engine {
        &self.db.engine
    }
}

/// The token of one call, if it has one.
pub(crate) type Cancel<'a> = Option<&'a CancelToken>;

/// `Err(Error::Cancelled)` if the call's token is cancelled: the check
/// between stages.
pub(crate) fn check(cancel: Cancel<'_>) -> Result<()> {
    cancel.map_or(Ok(()), CancelToken::check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_shared_by_clones_idempotent_and_sticky() {
        let a = CancelToken::new();
        let b = a.clone();
        assert!(check(Some(&b)).is_ok());
        a.cancel();
        a.cancel();
        assert!(b.is_cancelled());
        assert!(matches!(check(Some(&b)), Err(Error::Cancelled)));
        assert!(check(None).is_ok());
    }

    #[test]
    fn a_waiter_wakes_on_cancel_from_another_thread_and_after_it() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let t = CancelToken::new();
        let t2 = t.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            t2.cancel();
        });
        rt.block_on(t.cancelled());
        h.join().expect("canceller");
        // Already cancelled: completes at once.
        rt.block_on(t.cancelled());
    }
}

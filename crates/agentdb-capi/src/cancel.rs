//! Cancel tokens: a caller stops a long read-only call (a retrieval or a
//! search, the `*_cancellable` functions) from another thread. The call
//! returns AGENT_DB_CANCELLED, having changed nothing.
//!
//! Ownership: an `AgentDbCancelToken*` is a `Box<AgentDbCancelToken>` made
//! by `agent_db_cancel_token_new` and consumed by
//! `agent_db_cancel_token_free`; every other function borrows it. The engine
//! token inside is an `Arc`, so cancelling is safe from any thread while
//! calls hold it.

use crate::convert::out_ptr;
use crate::{boundary, AgentDbStatus};

/// A cancel token for the `*_cancellable` calls. Thread-safe: cancel it from
/// any thread while calls given it run. It stays cancelled: every later call
/// given it returns AGENT_DB_CANCELLED at once, so use a new token per call.
pub struct AgentDbCancelToken {
    inner: agentdb::CancelToken,
}

/// The engine token behind a token argument; NULL is "not cancellable".
///
/// # Safety
/// `token` is NULL or a token from `agent_db_cancel_token_new` not freed
/// before `'a` ends.
pub(crate) unsafe fn cancel_ref<'a>(token: *const AgentDbCancelToken) -> Option<&'a agentdb::CancelToken> {
    // SAFETY: a non-NULL `token` is a live Box<AgentDbCancelToken> (this function's contract); the
    // engine token is Sync, so a shared borrow from any thread is sound.
    unsafe { token.as_ref() }.map(|t| &t.inner)
}

/// Makes a new, uncancelled token. Free it with `agent_db_cancel_token_free`
/// once no call given it is running.
///
/// # Safety
/// `out_token` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_cancel_token_new(out_token: *mut *mut AgentDbCancelToken) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_token` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_token, "out_token") }?;
        out.write(Box::into_raw(Box::new(AgentDbCancelToken { inner: agentdb::CancelToken::new() })));
        Ok(())
    })
}

/// Cancels the token: every call given it returns AGENT_DB_CANCELLED as
/// soon as it notices (at once if not started, within a LanceDB query
/// otherwise). Safe from any thread, any number of times; it returns at
/// once, without waiting for the calls to stop. NULL is a no-op.
///
/// # Safety
/// `token` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_cancel_token_cancel(token: *const AgentDbCancelToken) {
    // SAFETY: `token` is NULL or live, per this function's contract.
    if let Some(t) = unsafe { cancel_ref(token) } {
        t.cancel();
    }
}

/// Whether the token has been cancelled. NULL: false.
///
/// # Safety
/// `token` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_cancel_token_is_cancelled(token: *const AgentDbCancelToken) -> bool {
    // SAFETY: `token` is NULL or live, per this function's contract.
    unsafe { cancel_ref(token) }.is_some_and(agentdb::CancelToken::is_cancelled)
}

/// Frees the token. NULL is a no-op.
///
/// # Safety
/// `token` is NULL or a token from `agent_db_cancel_token_new` not yet freed;
/// no call given it is still running and no thread cancels it during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn agent_db_cancel_token_free(token: *mut AgentDbCancelToken) {
    if !token.is_null() {
        // SAFETY: a non-NULL `token` is the Box leaked by agent_db_cancel_token_new, not yet freed
        // and no longer shared (this function's contract).
        drop(unsafe { Box::from_raw(token) });
    }
}

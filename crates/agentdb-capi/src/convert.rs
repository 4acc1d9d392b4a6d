//! Argument checking and result ownership at the C edge: NULL checks, UTF-8
//! checks, metadata JSON, and the boxed owners behind every returned pointer.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::mem::MaybeUninit;

use crate::AgentDbStatus;

pub(crate) struct Failure {
    pub status: AgentDbStatus,
    pub message: String,
}

impl Failure {
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure { status: AgentDbStatus::AGENT_DB_INVALID_ARGUMENT, message: message.into() }
    }
    pub fn null(name: &str) -> Failure {
        Failure::invalid(format!("argument `{name}` is NULL"))
    }
}

impl From<agentdb::Error> for Failure {
    fn from(e: agentdb::Error) -> Failure {
        Failure { status: AgentDbStatus::from_code(e.code()), message: e.to_string() }
    }
}

/// A required, NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string that stays readable and
/// unchanged for `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: not NULL (checked above); NUL-terminated and live for 'a by this function's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| Failure::invalid(format!("argument `{name}` is not valid UTF-8")))
}

/// An optional string argument: NULL means absent.
///
/// # Safety
/// As [`c_str`].
pub(crate) unsafe fn opt_c_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's guarantee for `p` is exactly c_str's.
        unsafe { c_str(p, name) }.map(Some)
    }
}

/// `count` required strings.
///
/// # Safety
/// `p` is NULL or points at `count` readable pointers, each of which
/// satisfies [`c_str`]'s contract, all live for `'a`.
pub(crate) unsafe fn c_str_array<'a>(
    p: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<&'a str>, Failure> {
    // SAFETY: the caller guarantees `count` readable pointers at a non-NULL `p` (slice checks NULL).
    let ptrs = unsafe { slice(p, count, name) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is NULL or a live NUL-terminated string (this function's contract).
        .map(|(i, s)| unsafe { c_str(*s, &format!("{name}[{i}]")) })
        .collect()
}

/// A required out-pointer, checked before any work so nothing is done for a
/// call that cannot report its result. The target may be uninitialised C
/// memory, hence `MaybeUninit`: write it with `.write(value)` (no drop of
/// the old bytes, no claim that they form a valid `T`).
///
/// # Safety
/// `p` is NULL or aligned and valid for one write of a `T`, not accessed by
/// anything else during `'a`.
pub(crate) unsafe fn out_ptr<'a, T>(p: *mut T, name: &str) -> Result<&'a mut MaybeUninit<T>, Failure> {
    // SAFETY: MaybeUninit<T> has T's layout and no validity invariant, so a non-NULL `p` the caller
    // guarantees aligned, writable and unaliased (this function's contract) may be borrowed as one.
    unsafe { p.cast::<MaybeUninit<T>>().as_mut() }.ok_or_else(|| Failure::null(name))
}

/// An optional out-pointer (NULL: the caller does not want that result).
///
/// # Safety
/// As [`out_ptr`].
pub(crate) unsafe fn opt_out<'a, T>(p: *mut T) -> Option<&'a mut MaybeUninit<T>> {
    // SAFETY: as in out_ptr; the caller's guarantee is the same.
    unsafe { p.cast::<MaybeUninit<T>>().as_mut() }
}

/// `len` elements at `p`; NULL is allowed only when `len` is 0.
///
/// # Safety
/// `p` is NULL or aligned and points at `len` initialised `T`s that stay
/// readable and unchanged for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, name: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: not NULL, len > 0 (checked above); `len` readable, initialised elements live for 'a by
    // this function's contract (a C array of `len` elements cannot exceed isize::MAX bytes).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Metadata is passed as a JSON object of string values; NULL or "" is empty.
///
/// # Safety
/// As [`c_str`].
pub(crate) unsafe fn metadata(p: *const c_char, name: &str) -> Result<BTreeMap<String, String>, Failure> {
    // SAFETY: the caller's guarantee for `p` is exactly opt_c_str's.
    match unsafe { opt_c_str(p, name) }? {
        None => Ok(BTreeMap::new()),
        Some(s) if s.trim().is_empty() => Ok(BTreeMap::new()),
        Some(s) => serde_json::from_str(s)
            .map_err(|e| Failure::invalid(format!("`{name}` must be a JSON object of string values: {e}"))),
    }
}

/// Strings from the engine never contain NUL (they are validated UTF-8 text
/// without NUL on the way in for keys; contents may, so NULs are replaced).
pub(crate) fn owned_c_string(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let bytes: Vec<u8> = e.into_vec().into_iter().map(|b| if b == 0 { b' ' } else { b }).collect();
        CString::new(bytes).unwrap_or_default()
    })
}

pub(crate) fn metadata_c_string(m: &BTreeMap<String, String>) -> CString {
    owned_c_string(serde_json::to_string(m).unwrap_or_else(|_| "{}".into()))
}

/// A float buffer handed to C; `floats_free` gets the same length back.
pub(crate) fn floats_into_raw(v: Vec<f32>) -> *mut f32 {
    Box::into_raw(v.into_boxed_slice()) as *mut f32
}

/// # Safety
/// `ptr` is NULL or came from [`floats_into_raw`] with a vector of exactly
/// `len` floats, and is not used afterwards.
pub(crate) unsafe fn floats_free(ptr: *mut f32, len: usize) {
    if !ptr.is_null() {
        // SAFETY: `ptr`/`len` are the pointer and length of a Box<[f32]> leaked by floats_into_raw
        // (this function's contract), so rebuilding that Box frees it with the allocator that made it.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// A list result: `items` is a C array of `T`; `keep` owns everything the items point into.
#[repr(C)]
pub(crate) struct ListOwner<H, T, K> {
    pub head: H,
    pub items: Vec<T>,
    pub keep: K,
}

/// Boxes a list result: the C-visible head (first field) points at `items`,
/// which with `keep` lives until the list's `_free` turns the pointer back into the Box.
pub(crate) fn list_into_raw<H, T, K>(items: Vec<T>, keep: K, head: impl Fn(*const T, usize) -> H) -> *mut H {
    let mut owner = Box::new(ListOwner { head: head(std::ptr::null(), 0), items, keep });
    owner.head = head(owner.items.as_ptr(), owner.items.len());
    Box::into_raw(owner) as *mut H
}

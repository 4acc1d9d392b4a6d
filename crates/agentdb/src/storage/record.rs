//! The on-disk record envelope: what a WAL frame's payload is.
//!
//! ```text
//! kind: u8 | version: u8 | body (kind- and version-specific bytes)
//! ```
//!
//! The storage layer knows only this envelope. Each subsystem owns its
//! record kinds (numbers from its own range, see `RecordKind`) and the body
//! structs of every version it ever wrote, kept apart from its public API
//! types: changing a public type never changes how an existing log decodes.
//!
//! Versioning rule: a body layout, once released, is frozen. A change adds
//! a new version number for that kind; the decoder keeps every old version
//! and the encoder writes the newest — except that a version which only adds
//! an optional field may be written only for records that set it (so a
//! database that never uses the field keeps logs the previous release
//! reads; `SAVE_STATE` version 2, the state key, is the one case).
//! Golden-byte tests pin each (kind, version).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::limits::MAX_RECORD_BYTES;
use crate::{Error, Result};

/// A record kind: one number per kind of logical write, unique across the
/// database. Each subsystem owns a block of 16 (its `LogRecord::BLOCK`, the
/// high nibble; the memtable refuses two parts with one block), so adding a
/// kind touches only the subsystem that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKind(pub u8);

/// Encodes a record: the envelope, then the body in postcard. Refuses a
/// record over `MAX_RECORD_BYTES` before anything reaches the log.
pub fn encode<T: Serialize>(kind: RecordKind, version: u8, body: &T) -> Result<Vec<u8>> {
    // One pass: a record over the limit is built, then refused before
    // anything reaches the log (a size-only pass first doubled the
    // encoding cost of every write).
    let out = postcard::serialize_with_flavor(body, RecordBuf(vec![kind.0, version]))
        .map_err(|e| Error::invalid(format!("cannot encode record kind {}: {e}", kind.0)))?;
    if out.len() > MAX_RECORD_BYTES {
        return Err(Error::PayloadTooLarge { size: out.len(), limit: MAX_RECORD_BYTES });
    }
    Ok(out)
}

/// postcard output into a `Vec` that already holds the envelope. postcard's
/// own `to_extend` goes through `Extend` one byte at a time (a memory's
/// 384-float embedding is 1,536 of them), which made every write's encoding
/// ~13% more instructions than `to_stdvec`'s push/extend_from_slice (measured
/// with callgrind on the memory store path); this is the latter, with the
/// envelope written first instead of copied in afterwards.
struct RecordBuf(Vec<u8>);

impl postcard::ser_flavors::Flavor for RecordBuf {
    type Output = Vec<u8>;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// Splits a payload into kind, version and body.
pub fn split(payload: &[u8]) -> Result<(RecordKind, u8, &[u8])> {
    match payload {
        [kind, version, body @ ..] => Ok((RecordKind(*kind), *version, body)),
        _ => Err(Error::corrupted(format!("WAL record of {} bytes has no envelope", payload.len()))),
    }
}

/// Decodes a body that must be consumed exactly.
pub fn decode_body<T: DeserializeOwned>(kind: RecordKind, version: u8, body: &[u8]) -> Result<T> {
    let (value, rest) = postcard::take_from_bytes(body)
        .map_err(|e| Error::corrupted(format!("undecodable record kind {} version {version}: {e}", kind.0)))?;
    if !rest.is_empty() {
        return Err(Error::corrupted(format!(
            "record kind {} version {version} has {} trailing bytes",
            kind.0,
            rest.len()
        )));
    }
    Ok(value)
}

pub fn unknown(kind: RecordKind, version: u8) -> Error {
    Error::corrupted(format!("unknown WAL record kind {} version {version} (written by a newer AgentDB?)", kind.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_refuses_trailing_bytes() {
        let bytes = encode(RecordKind(0x11), 1, &(7u64, "x".to_string())).unwrap();
        assert_eq!(bytes, [0x11, 1, 7, 1, b'x']);
        let (kind, version, body) = split(&bytes).unwrap();
        assert_eq!((kind, version), (RecordKind(0x11), 1));
        let v: (u64, String) = decode_body(kind, version, body).unwrap();
        assert_eq!(v, (7, "x".to_string()));
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(matches!(decode_body::<(u64, String)>(kind, version, &longer), Err(Error::Corrupted(_))));
        assert!(matches!(split(&[1]), Err(Error::Corrupted(_))));
    }
}

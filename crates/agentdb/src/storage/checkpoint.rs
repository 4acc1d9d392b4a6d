//! The checkpoint: which WAL records are already durable in Lance.
//!
//! `flushed_lsn` is the last LSN whose effects every Lance table holds; WAL
//! segments at or below it may be deleted and replay starts after it.
//! `table_versions` are the Lance versions written right after that point:
//! if a table is at a different version on open, a flush (or maintenance)
//! commit happened after the checkpoint, and rows with `lsn > flushed_lsn`
//! are removed from it before the WAL is replayed, so a crash mid-flush can
//! never duplicate records.
//!
//! Written with write-temp → fsync → rename → fsync(dir), so it is always
//! either the old or the new file.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::storage::wal::sync_dir;
use crate::{Error, Result};

const FILE_NAME: &str = "CHECKPOINT";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format_version: u32,
    pub flushed_lsn: u64,
    pub table_versions: BTreeMap<String, u64>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

pub fn load(dir: &Path) -> Result<Option<Checkpoint>> {
    let p = path(dir);
    let bytes = match fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let (body, crc_line) = split_crc(&bytes).ok_or_else(|| Error::corrupted("checkpoint file has no checksum line"))?;
    if crc32c::crc32c(body) != crc_line {
        return Err(Error::corrupted("checkpoint checksum mismatch"));
    }
    let ckpt: Checkpoint =
        serde_json::from_slice(body).map_err(|e| Error::corrupted(format!("checkpoint is not valid JSON: {e}")))?;
    if ckpt.format_version != FORMAT_VERSION {
        return Err(Error::corrupted(format!(
            "checkpoint format {} is not supported (expected {FORMAT_VERSION})",
            ckpt.format_version
        )));
    }
    Ok(Some(ckpt))
}

/// Body, then a final line `crc32c:XXXXXXXX`.
fn split_crc(bytes: &[u8]) -> Option<(&[u8], u32)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (body, last) = text.trim_end_matches('\n').rsplit_once('\n')?;
    let hex = last.strip_prefix("crc32c:")?;
    Some((body.as_bytes(), u32::from_str_radix(hex, 16).ok()?))
}

pub fn store(dir: &Path, ckpt: &Checkpoint) -> Result<()> {
    debug_assert_eq!(ckpt.format_version, FORMAT_VERSION);
    let body = serde_json::to_vec_pretty(ckpt).map_err(|e| Error::corrupted(e.to_string()))?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&body)?;
        writeln!(f, "\ncrc32c:{:08x}", crc32c::crc32c(&body))?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path(dir))?;
    sync_dir(dir)
}

impl Checkpoint {
    pub fn new() -> Self {
        Checkpoint { format_version: FORMAT_VERSION, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let mut c = Checkpoint::new();
        c.flushed_lsn = 42;
        c.table_versions.insert("states".into(), 7);
        store(dir.path(), &c).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(c));
        let mut bytes = fs::read(path(dir.path())).unwrap();
        let i = bytes.iter().position(|b| *b == b'4').unwrap();
        bytes[i] = b'5';
        fs::write(path(dir.path()), bytes).unwrap();
        assert!(matches!(load(dir.path()), Err(Error::Corrupted(_))));
    }
}

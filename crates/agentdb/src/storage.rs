//! The storage layer: bytes, LSNs and tables. It knows the durable log
//! (`log`, `wal`), the record envelope (`record`), the checkpoint, the
//! memtable container and Lance table access (`tables`); subsystems reach
//! LanceDB through it.

pub mod checkpoint;
pub mod log;
pub mod memtable;
pub mod read;
pub mod record;
pub mod tables;
pub mod wal;

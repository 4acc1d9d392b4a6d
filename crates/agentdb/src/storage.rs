//! The storage layer: the only code that knows LanceDB and the on-disk format.

pub mod checkpoint;
pub mod memtable;
pub mod tables;
pub mod wal;

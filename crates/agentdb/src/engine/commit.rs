//! The write path: encode (refusing records over the limit), wait for
//! memtable room (backpressure), append to the durable log and apply to the
//! memtable under the log's ordering lock, return once durable per policy.

use super::*;

impl Engine {
    /// The write path: frame into the WAL, apply to the memtable under the
    /// WAL lock, return once durable per the fsync policy.
    pub fn commit<P: MemPart>(&self, record: P::Record) -> Result<u64> {
        let wal = self.check_writable()?;
        // Encoding refuses a record over `MAX_RECORD_BYTES` before anything is logged.
        let payload = record.encode()?;
        self.wait_for_memtable_room()?;
        let mut record = Some(record);
        let mut due = false;
        let lsn = wal.append(&[&payload], &mut |lsn| {
            let mut m = self.mem.write();
            if let Some(record) = record.take() {
                m.apply::<P>(lsn, record);
            }
            due = m.records >= self.opts.memtable_flush_records || m.bytes >= self.opts.memtable_flush_bytes;
        })?;
        if due {
            self.wake_flusher();
        }
        Ok(lsn)
    }

    /// Backpressure: a writer waits while the memtable is over its hard limit.
    pub(super) fn wait_for_memtable_room(&self) -> Result<()> {
        if self.mem.read().bytes <= self.opts.memtable_stall_bytes {
            return Ok(());
        }
        self.wake_flusher();
        let mut g = self.flushed_mx.lock();
        while self.mem.read().bytes > self.opts.memtable_stall_bytes {
            self.check_open()?;
            self.flushed_cv.wait_for(&mut g, Duration::from_millis(100));
        }
        Ok(())
    }
}

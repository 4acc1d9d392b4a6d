//! Background threads: the `batch` fsync timer, and the flusher that also
//! runs maintenance every `Options::maintenance_interval`.

use super::*;

pub(super) const FLUSHER_TICK_MS: u64 = 50;

impl Engine {
    pub(super) fn start_background(self: &Arc<Self>) -> Result<()> {
        let mut threads = self.threads.lock();
        if let FsyncPolicy::Batch(interval) = self.opts.fsync {
            let me = Arc::downgrade(self);
            threads.push(std::thread::Builder::new().name("agentdb-wal-sync".into()).spawn(move || loop {
                let Some(engine) = me.upgrade() else { return };
                if engine.wait_signal(interval) {
                    return;
                }
                if let Some(wal) = &engine.wal {
                    if let Err(e) = wal.sync() {
                        tracing::error!(error = %e, "background WAL fsync failed");
                    }
                }
            })?);
        }
        let me = Arc::downgrade(self);
        threads.push(std::thread::Builder::new().name("agentdb-flush".into()).spawn(move || {
            let mut last_maintenance = Instant::now();
            loop {
                let Some(engine) = me.upgrade() else { return };
                if engine.wait_signal(Duration::from_millis(FLUSHER_TICK_MS)) {
                    return;
                }
                if engine.flush_due() {
                    match engine.flush() {
                        Ok(_) => *engine.last_flush_error.lock() = None,
                        Err(e) => {
                            tracing::error!(error = %e, "background flush failed; will retry");
                            *engine.last_flush_error.lock() = Some(e.to_string());
                        }
                    }
                }
                if let Some(every) = engine.opts.maintenance_interval {
                    if last_maintenance.elapsed() >= every {
                        last_maintenance = Instant::now();
                        if let Err(e) = engine.maintain() {
                            tracing::error!(error = %e, "background maintenance failed");
                        }
                    }
                }
            }
        })?);
        Ok(())
    }

    /// Sleeps up to `timeout` or until woken; true means shut down.
    pub(super) fn wait_signal(&self, timeout: Duration) -> bool {
        let mut s = self.signal.lock();
        if !s.shutdown && !s.wake {
            self.signal_cv.wait_for(&mut s, timeout);
        }
        s.wake = false;
        s.shutdown
    }

    pub(super) fn wake_flusher(&self) {
        self.signal.lock().wake = true;
        self.signal_cv.notify_all();
    }

    pub(super) fn flush_due(&self) -> bool {
        let m = self.mem.read();
        m.records >= self.opts.memtable_flush_records
            || m.bytes >= self.opts.memtable_flush_bytes
            || m.oldest.is_some_and(|t| t.elapsed() >= self.opts.flush_interval)
    }
}

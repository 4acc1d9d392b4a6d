//! A real `agentdb serve` for the CLI's remote-mode tests: the server
//! library in this test process, on its own tokio runtime, on an ephemeral
//! loopback port with a temp data dir; the CLI binary talks to it over HTTP.

use agentdb_server::config::Config;

/// A server on its own runtime, stopped when dropped.
pub struct Server {
    pub url: String,
    rt: tokio::runtime::Runtime,
    server: Option<agentdb_server::RunningServer>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `tune` adjusts the config (engine options, keys) before the start.
    pub fn start(tune: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = Config::default();
        c.server.listen = "127.0.0.1:0".into();
        c.server.data_dir = dir.path().join("data");
        c.engine.maintenance_interval_ms = 0;
        tune(&mut c);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let server = rt.block_on(agentdb_server::start(c)).expect("server starts");
        let url = format!("http://{}", server.addr);
        let srv = Server { url, rt, server: Some(server), _dir: dir };
        // Ready once /readyz says so (the database is open, recovery done).
        for _ in 0..600 {
            let ready = srv.rt.block_on(async {
                let resp = reqwest::Client::new().get(format!("{}/readyz", srv.url)).send().await.ok()?;
                Some(resp.status().is_success())
            });
            if ready == Some(true) {
                return srv;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("server never became ready");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.stop());
        }
    }
}

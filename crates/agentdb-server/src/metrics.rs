//! Prometheus metrics: per-route request counts and latency histograms
//! (recorded by a middleware on the matched route template, never the raw
//! path, so ids do not explode the label space), and at scrape time the
//! engine figures its public API offers (`AgentDb::stats`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::AppState;

/// Seconds; from a memtable hit (~50 µs) to a slow maintenance call.
const LATENCY_BUCKETS_S: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
    engine: GaugeVec,
    tables: GaugeVec,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Only fails on a malformed metric name or a duplicate registration,
    // both fixed at compile time here.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new("agentdb_http_requests_total", "HTTP requests by route template, method and status"),
            &["route", "method", "status"],
        ));
        let latency = must(HistogramVec::new(
            HistogramOpts::new(
                "agentdb_http_request_duration_seconds",
                "HTTP request latency by route template and method",
            )
            .buckets(LATENCY_BUCKETS_S.to_vec()),
            &["route", "method"],
        ));
        let in_flight = must(IntGauge::new("agentdb_http_requests_in_flight", "HTTP requests being served"));
        let engine = must(GaugeVec::new(
            Opts::new("agentdb_engine", "Engine figures from AgentDb::stats, by name"),
            &["figure"],
        ));
        let tables = must(GaugeVec::new(
            Opts::new("agentdb_table", "Per-table figures from AgentDb::stats"),
            &["table", "figure"],
        ));
        must(registry.register(Box::new(requests.clone())));
        must(registry.register(Box::new(latency.clone())));
        must(registry.register(Box::new(in_flight.clone())));
        must(registry.register(Box::new(engine.clone())));
        must(registry.register(Box::new(tables.clone())));
        Metrics { registry, requests, latency, in_flight, engine, tables }
    }

    /// Copies `stats` into the engine gauges (called at scrape time).
    pub fn set_engine(&self, s: &agentdb::Stats) {
        let figures: [(&str, f64); 10] = [
            ("last_lsn", s.last_lsn as f64),
            ("flushed_lsn", s.flushed_lsn as f64),
            ("memtable_records", s.memtable_records as f64),
            ("memtable_bytes", s.memtable_bytes as f64),
            ("wal_segments", s.wal_segments as f64),
            ("latest_cache_entries", s.latest_cache_entries as f64),
            ("latest_cache_bytes", s.latest_cache_bytes as f64),
            ("flushes", s.flushes as f64),
            ("open_ms", s.open_ms),
            ("flush_error", f64::from(u8::from(s.last_flush_error.is_some()))),
        ];
        for (name, v) in figures {
            self.engine.with_label_values(&[name]).set(v);
        }
        if let Some(m) = &s.last_maintenance {
            self.engine.with_label_values(&["last_maintenance_ms"]).set(m.duration_ms);
            self.engine.with_label_values(&["last_maintenance_finished_at_ms"]).set(m.finished_at_ms as f64);
        }
        for t in &s.tables {
            for (name, v) in [
                ("rows", t.rows as f64),
                ("fragments", t.fragments as f64),
                ("versions", t.versions as f64),
                ("disk_bytes", t.disk_bytes as f64),
                ("indices", t.indices as f64),
            ] {
                self.tables.with_label_values(&[t.name.as_str(), name]).set(v);
            }
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            return format!("# encoding metrics failed: {e}\n");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().as_str().to_string();
    let m = &state.inner.metrics;
    m.in_flight.inc();
    let started = Instant::now();
    let resp = next.run(req).await;
    m.in_flight.dec();
    m.latency.with_label_values(&[route.as_str(), method.as_str()]).observe(started.elapsed().as_secs_f64());
    m.requests.with_label_values(&[route.as_str(), method.as_str(), resp.status().as_str()]).inc();
    resp
}

//! AgentDB over HTTP (`agentdb serve`): a surface like the CLI and the C
//! ABI — routing, auth, limits, metrics and config — over the engine's
//! public API, with no storage rule of its own.
//!
//! The engine is synchronous, so every engine call runs on tokio's blocking
//! pool. A semaphore bounds the calls running at once; the permit travels
//! into the blocking closure, so a call whose request timed out still holds
//! its slot until the engine returns (the pool cannot grow without bound
//! behind a stalled engine). Retrievals and searches go through
//! `call_cancellable` instead: their cancel token fires when the request
//! times out or its client goes away, so a slow search gives its slot back
//! at once. Shutdown: stop accepting, drain connections, wait for every
//! slot, then close the database.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod arrow;
pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agentdb::AgentDb;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::{oneshot, Semaphore, TryAcquireError};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use utoipa::ToSchema;

pub use config::Config;
use error::{ApiError, ApiResult};

/// The response header carrying the request id (a client's own is kept).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the database at {path}: {source}")]
    Open { path: PathBuf, source: agentdb::Error },
    #[error("closing the database: {0}")]
    Close(agentdb::Error),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) keys: auth::Keys,
    pub(crate) metrics: metrics::Metrics,
    db: OnceLock<Arc<Db>>,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    draining: AtomicBool,
}

/// The open database. Dropping an `AgentDb` drops the engine's own tokio
/// runtime, which panics inside an async context; the last reference may be
/// released by any task, so the drop itself moves to a plain thread.
pub(crate) struct Db(Option<AgentDb>);

impl std::ops::Deref for Db {
    type Target = AgentDb;
    fn deref(&self) -> &AgentDb {
        // Some from construction until drop.
        self.0.as_ref().unwrap_or_else(|| unreachable!("Db is only emptied by drop"))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(db)).join();
            }
        }
    }
}

/// Decrements the queue count however the wait ends.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AppState {
    fn new(config: Config) -> AppState {
        let keys = auth::Keys::new(&config.auth);
        let slots = Arc::new(Semaphore::new(config.limits.max_concurrent_requests));
        AppState {
            inner: Arc::new(Inner {
                config,
                keys,
                metrics: metrics::Metrics::new(),
                db: OnceLock::new(),
                slots,
                queued: AtomicUsize::new(0),
                draining: AtomicBool::new(false),
            }),
        }
    }

    fn ready(&self) -> bool {
        self.inner.db.get().is_some() && !self.inner.draining.load(Ordering::Acquire)
    }

    /// Runs `f` on the blocking pool within the request's time and slot limits.
    pub(crate) async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AgentDb) -> agentdb::Result<T> + Send + 'static,
    {
        let inner = &self.inner;
        if inner.draining.load(Ordering::Acquire) {
            return Err(ApiError::unavailable("shutting_down", "the server is shutting down"));
        }
        let db = inner
            .db
            .get()
            .cloned()
            .ok_or_else(|| ApiError::unavailable("not_ready", "the database is still opening (recovery)"))?;
        let limits = &inner.config.limits;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(limits.request_timeout_ms);
        let permit = match inner.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => {
                return Err(ApiError::unavailable("shutting_down", "the server is shutting down"))
            }
            Err(TryAcquireError::NoPermits) => {
                let waiting = inner.queued.fetch_add(1, Ordering::AcqRel);
                let _queued = Queued(&inner.queued);
                if waiting >= limits.max_queued_requests {
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_requests",
                        format!("{} requests are already waiting for the engine", limits.max_queued_requests),
                    ));
                }
                match tokio::time::timeout_at(deadline, inner.slots.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(ApiError::unavailable("shutting_down", "the server is shutting down")),
                    Err(_) => {
                        return Err(ApiError::unavailable(
                            "overloaded",
                            format!(
                                "no engine slot within limits.request_timeout_ms ({} ms); nothing was done",
                                limits.request_timeout_ms
                            ),
                        ))
                    }
                }
            }
        };
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&db)
        });
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(result)) => result.map_err(ApiError::from),
            Ok(Err(join)) => {
                Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("engine call failed: {join}")))
            }
            Err(_) => Err(ApiError::unavailable(
                "timeout",
                format!(
                    "the engine did not answer within limits.request_timeout_ms ({} ms); the call continues, \
                     so a write may still be applied",
                    limits.request_timeout_ms
                ),
            )),
        }
    }
}

impl AppState {
    /// The open database's memory dimension (the width of the memory
    /// layout's `embedding` column): a setting read, not an engine call.
    pub(crate) fn memory_dimension(&self) -> ApiResult<usize> {
        self.inner
            .db
            .get()
            .map(|db| db.memory_dimension())
            .ok_or_else(|| ApiError::unavailable("not_ready", "the database is still opening (recovery)"))
    }
}

impl AppState {
    /// `call` for a long read-only engine call (a retrieval or a search),
    /// given a cancel token that fires when the request ends early: on its
    /// timeout (answered 503 `timeout`, as any call) or when the handler is
    /// dropped because the client went away. The engine then stops the call
    /// with `Cancelled`, having changed nothing, and the slot is free again.
    pub(crate) async fn call_cancellable<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(agentdb::Cancellable<'_>) -> agentdb::Result<T> + Send + 'static,
    {
        let token = agentdb::CancelToken::new();
        let _cancel_when_done = CancelOnDrop(token.clone());
        self.call(move |db| f(db.with_cancel(&token))).await.map_err(|mut e| {
            if e.code == "timeout" {
                e.message = format!("{}; the read was cancelled, nothing changed", e.message);
            }
            e
        })
    }
}

/// Cancels its token when dropped: at the end of a request, or when its
/// handler future is dropped mid-call. Cancelling a finished call is a no-op.
struct CancelOnDrop(agentdb::CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[derive(Serialize, ToSchema)]
pub struct HealthDto {
    pub status: String,
}

/// Alive (the process answers), whether or not the database is open yet.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, body = HealthDto)))]
pub async fn healthz() -> Json<HealthDto> {
    Json(HealthDto { status: "ok".into() })
}

/// Ready: the database is open (recovery done) and the server is not draining.
#[utoipa::path(get, path = "/readyz", tag = "service", security(()),
    responses((status = 200, body = HealthDto), (status = 503, body = error::ErrorBody, description = "opening or shutting down")))]
pub async fn readyz(State(st): State<AppState>) -> Response {
    if st.ready() {
        Json(HealthDto { status: "ready".into() }).into_response()
    } else {
        ApiError::unavailable("not_ready", "the database is opening or the server is shutting down").into_response()
    }
}

/// Prometheus text format. Needs a key (any role) when keys are configured,
/// unless `metrics.public`.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, body = String, content_type = "text/plain"), (status = "default", body = error::ErrorBody, description = "error")))]
pub async fn metrics_text(State(st): State<AppState>, req: Request) -> Response {
    let cfg = &st.inner.config.metrics;
    if !cfg.enabled {
        return ApiError::not_found("metrics are disabled (metrics.enabled = false)").into_response();
    }
    if !cfg.public {
        let (parts, _) = req.into_parts();
        if let Err(e) = auth::authenticate(&st.inner.keys, &parts) {
            return e.into_response();
        }
    }
    if st.ready() {
        match st.call(|db| db.stats()).await {
            Ok(s) => st.inner.metrics.set_engine(&s),
            Err(e) => tracing::warn!(code = e.code, "engine stats for /metrics: {}", e.message),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.inner.metrics.render()).into_response()
}

async fn openapi_json() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let doc = DOC.get_or_init(openapi::document_json).clone();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

fn router(state: AppState) -> Router {
    let max_body = state.inner.config.limits.max_body_bytes;
    routes::v1()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_json))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// A server running on the current tokio runtime (tests, embedding).
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningServer {
    /// Graceful stop: drain, close the database; returns the serve result.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.map_err(|e| ServeError::Io(std::io::Error::other(e)))?
    }
}

/// Binds, then opens the database in the background (`/readyz` turns 200
/// once it is open) and serves until `stop`.
pub async fn start(config: Config) -> Result<RunningServer, ServeError> {
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_until(listener, config, async move {
        let _ = rx.await;
    }));
    Ok(RunningServer { addr, stop: Some(tx), task })
}

async fn serve_until(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let options = config.engine.to_options()?;
    let path = config.server.data_dir.clone();
    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    let max_slots = config.limits.max_concurrent_requests;
    let state = AppState::new(config);
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            })
            .into_future(),
    );

    let open_path = path.clone();
    let opening = tokio::task::spawn_blocking(move || AgentDb::open(open_path, options));
    tokio::pin!(shutdown);
    let mut failure = None;
    tokio::select! {
        _ = &mut shutdown => {}
        opened = opening => match opened {
            Ok(Ok(db)) => {
                let _ = state.inner.db.set(Arc::new(Db(Some(db))));
                tracing::info!(path = %path.display(), "database open; ready");
                shutdown.await;
            }
            Ok(Err(source)) => failure = Some(ServeError::Open { path: path.clone(), source }),
            Err(e) => failure = Some(ServeError::Io(std::io::Error::other(e))),
        },
    }

    tracing::info!("shutting down: no new requests, draining in-flight ones");
    state.inner.draining.store(true, Ordering::Release);
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    match tokio::time::timeout_at(deadline, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "server error while draining"),
        Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
        Err(_) => {
            tracing::warn!("connections still open after server.shutdown_grace_ms; closing anyway")
        }
    }
    // Engine calls outlive their requests (see `AppState::call`): the database
    // closes only once every slot is back, or the grace period is over.
    let slots = u32::try_from(max_slots).unwrap_or(u32::MAX);
    if tokio::time::timeout_at(deadline, state.inner.slots.acquire_many(slots)).await.is_err() {
        tracing::warn!("engine calls still running after server.shutdown_grace_ms; closing the database under them");
    }
    state.inner.slots.close();
    if let Some(db) = state.inner.db.get().cloned() {
        tokio::task::spawn_blocking(move || db.close())
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e)))?
            .map_err(ServeError::Close)?;
        tracing::info!("database closed");
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn init_logging(cfg: &config::LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (an embedding program already set a subscriber) keeps theirs.
    let _ = match cfg.format {
        config::LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
        config::LogFormat::Pretty => builder.try_init(),
    };
}

async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves until SIGTERM/SIGINT (the `agentdb serve` command).
pub fn serve(config: Config) -> Result<(), ServeError> {
    init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("agentdb-http").build()?;
    runtime.block_on(async move {
        let addr = config.listen_addr()?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let local = listener.local_addr()?;
        let auth = if config.auth.keys.is_empty() { "no API keys (loopback clients only)" } else { "API keys" };
        tracing::info!(addr = %local, data_dir = %config.server.data_dir.display(), auth, "listening");
        // The bound address on stdout, one line, for scripts and tests that use port 0.
        println!("listening on http://{local}");
        serve_until(listener, config, terminate_signal()).await
    })
}

/// Entry point of `agentdb serve`: `--print-config` prints the effective
/// config (key hashes redacted); `--hash-key` reads a key on stdin and
/// prints the `sha256` to put in the config.
pub fn main(config_file: Option<PathBuf>, print_config: bool, hash_key: bool) -> ExitCode {
    if hash_key {
        let mut key = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut key) {
            eprintln!("error: reading the key from stdin: {e}");
            return ExitCode::from(1);
        }
        let key = key.trim_end_matches(['\r', '\n']);
        if key.is_empty() {
            eprintln!("error: give the key on stdin");
            return ExitCode::from(2);
        }
        println!("{}", auth::hash_key(key));
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(config_file.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if print_config {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                ServeError::Config(_) => 2,
                ServeError::Open { source: agentdb::Error::Locked { .. }, .. } => 4,
                _ => 1,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A held slot, a full queue and a stalled engine call: 429 at once for
    /// the request beyond the queue, 503 `overloaded` for the one that waited
    /// its whole timeout, 503 `timeout` for the stalled call itself, which
    /// keeps its slot until the engine returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slots_queue_and_timeouts_answer_429_and_503() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.limits.max_concurrent_requests = 1;
        config.limits.max_queued_requests = 1;
        config.limits.request_timeout_ms = 300;
        config.engine.maintenance_interval_ms = 0;
        let options = config.engine.to_options().expect("options");
        let state = AppState::new(config);
        let path = dir.path().to_path_buf();
        let db = tokio::task::spawn_blocking(move || AgentDb::open(path, options)).await.expect("join").expect("open");
        assert!(state.inner.db.set(Arc::new(Db(Some(db)))).is_ok());

        let (release, stalled) = std::sync::mpsc::channel::<()>();
        let holder = {
            let state = state.clone();
            tokio::spawn(async move {
                state
                    .call(move |db| {
                        let _ = stalled.recv();
                        db.stats().map(|_| ())
                    })
                    .await
            })
        };
        while state.inner.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let waiter = {
            let state = state.clone();
            tokio::spawn(async move { state.call(|db| db.stats().map(|_| ())).await })
        };
        while state.inner.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = state.call(|db| db.stats().map(|_| ())).await.expect_err("queue is full");
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
        let waited = waiter.await.expect("join").expect_err("no slot in time");
        assert_eq!((waited.status, waited.code), (StatusCode::SERVICE_UNAVAILABLE, "overloaded"));
        let timed_out = holder.await.expect("join").expect_err("stalled");
        assert_eq!((timed_out.status, timed_out.code), (StatusCode::SERVICE_UNAVAILABLE, "timeout"));
        assert_eq!(state.inner.slots.available_permits(), 0, "the stalled call still holds its slot");
        release.send(()).expect("release");
        while state.inner.slots.available_permits() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        state.call(|db| db.stats().map(|_| ())).await.expect("a free slot serves again");
    }
}

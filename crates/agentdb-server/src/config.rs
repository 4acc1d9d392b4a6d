//! Server configuration: a TOML file, then `AGENTDB_<SECTION>__<KEY>`
//! environment overrides, then validation. Anything unknown or malformed is
//! refused at start with the key named, so a typo never silently runs a
//! server with a default.
//!
//! Only variables with a `__` are overrides: `AGENTDB_MODEL_DIR`,
//! `AGENTDB_PATH` and friends belong to the engine and the other tools, and a
//! lone section name is never a setting. An override's value is read as a
//! TOML value when it parses as one (`8`, `true`, `0.9`, `[1, 2]`,
//! `[{name = "a", ...}]`), otherwise as a string (`always`, `127.0.0.1:7878`);
//! quote a string that looks like a number (`'"1234"'`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentdb::{FsyncPolicy, MergePolicy, Options, StateRetention};
use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
pub const ENV_PREFIX: &str = "AGENTDB_";
/// Lance logs every commit at info; the server's own info lines are the useful ones.
pub const DEFAULT_LOG_LEVEL: &str = "info,lance=warn,lance_core=warn,lancedb=warn";
/// Printed instead of a key hash by `--print-config`.
pub const REDACTED: &str = "<redacted>";
/// Namespaces prefix document ids and collection names (`<ns>-...`), and
/// collection names allow only `[A-Za-z0-9_-]`: a namespace without `-`
/// makes the prefixes of two namespaces disjoint.
pub const MAX_NAMESPACE_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.into(), message: message.into() }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub engine: EngineConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `IP:PORT`; port 0 picks a free port (tests).
    pub listen: String,
    pub data_dir: PathBuf,
    /// On SIGTERM/SIGINT, in-flight requests get this long to finish before
    /// the database is closed anyway.
    pub shutdown_grace_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: DEFAULT_LISTEN.into(), data_dir: "agentdb-data".into(), shutdown_grace_ms: 30_000 }
    }
}

/// Every field of `agentdb::Options` that can be written down (the embedder
/// is a Rust trait object: the server always uses the built-in model).
/// Durations are in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub read_only: bool,
    /// `always`, `never`, `batch` or `batch:MS`.
    pub fsync: String,
    pub max_payload_bytes: usize,
    pub memtable_flush_bytes: usize,
    pub memtable_flush_records: usize,
    pub flush_interval_ms: u64,
    pub memtable_stall_bytes: usize,
    pub latest_cache_entries: usize,
    pub latest_cache_bytes: usize,
    /// 0 disables background maintenance.
    pub maintenance_interval_ms: u64,
    pub version_retention_ms: u64,
    pub state_retention: RetentionConfig,
    pub wal_segment_bytes: u64,
    pub memory_dimension: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    pub ann_index_threshold: usize,
    pub chunk_chars: usize,
    pub chunk_overlap: usize,
    pub memory_merge_threshold: f32,
    /// `keep_newest`, `keep_most_important` or `keep_both`.
    pub memory_merge_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memories_per_agent_type: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_newer_than_ms: Option<u64>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for EngineConfig {
    fn default() -> Self {
        let o = Options::default();
        EngineConfig {
            read_only: o.read_only,
            fsync: match o.fsync {
                FsyncPolicy::Always => "always".into(),
                FsyncPolicy::Never => "never".into(),
                FsyncPolicy::Batch(d) => format!("batch:{}", ms(d)),
            },
            max_payload_bytes: o.max_payload_bytes,
            memtable_flush_bytes: o.memtable_flush_bytes,
            memtable_flush_records: o.memtable_flush_records,
            flush_interval_ms: ms(o.flush_interval),
            memtable_stall_bytes: o.memtable_stall_bytes,
            latest_cache_entries: o.latest_cache_entries,
            latest_cache_bytes: o.latest_cache_bytes,
            maintenance_interval_ms: o.maintenance_interval.map_or(0, ms),
            version_retention_ms: ms(o.version_retention),
            state_retention: RetentionConfig {
                keep_last: o.state_retention.keep_last,
                keep_newer_than_ms: o.state_retention.keep_newer_than.map(ms),
            },
            wal_segment_bytes: o.wal_segment_bytes,
            memory_dimension: o.memory_dimension,
            model_dir: o.model_dir,
            ann_index_threshold: o.ann_index_threshold,
            chunk_chars: o.chunk_chars,
            chunk_overlap: o.chunk_overlap,
            memory_merge_threshold: o.memory_merge_threshold,
            memory_merge_policy: o.memory_merge_policy.as_str().into(),
            max_memories_per_agent_type: o.max_memories_per_agent_type,
        }
    }
}

impl EngineConfig {
    /// The engine's own validation runs at open; this names the config key
    /// for the values only the config can get wrong (strings to parse).
    pub fn to_options(&self) -> Result<Options, ConfigError> {
        let fsync: FsyncPolicy =
            self.fsync.parse().map_err(|e: agentdb::Error| key_err("engine.fsync", e.to_string()))?;
        let memory_merge_policy: MergePolicy = self
            .memory_merge_policy
            .parse()
            .map_err(|e: agentdb::Error| key_err("engine.memory_merge_policy", e.to_string()))?;
        Ok(Options {
            read_only: self.read_only,
            fsync,
            max_payload_bytes: self.max_payload_bytes,
            memtable_flush_bytes: self.memtable_flush_bytes,
            memtable_flush_records: self.memtable_flush_records,
            flush_interval: Duration::from_millis(self.flush_interval_ms),
            memtable_stall_bytes: self.memtable_stall_bytes,
            latest_cache_entries: self.latest_cache_entries,
            latest_cache_bytes: self.latest_cache_bytes,
            maintenance_interval: (self.maintenance_interval_ms > 0)
                .then(|| Duration::from_millis(self.maintenance_interval_ms)),
            version_retention: Duration::from_millis(self.version_retention_ms),
            state_retention: StateRetention {
                keep_last: self.state_retention.keep_last,
                keep_newer_than: self.state_retention.keep_newer_than_ms.map(Duration::from_millis),
            },
            wal_segment_bytes: self.wal_segment_bytes,
            memory_dimension: self.memory_dimension,
            model_dir: self.model_dir.clone(),
            embedder: None,
            ann_index_threshold: self.ann_index_threshold,
            chunk_chars: self.chunk_chars,
            chunk_overlap: self.chunk_overlap,
            memory_merge_threshold: self.memory_merge_threshold,
            memory_merge_policy,
            max_memories_per_agent_type: self.max_memories_per_agent_type,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body; larger ones get 413 before any of it is parsed.
    pub max_body_bytes: usize,
    /// Per request, from arrival to response. A request past it gets 503
    /// `timeout`; an engine write already running still finishes (it may
    /// then be applied: `timeout` means "outcome unknown"), while a
    /// retrieval or search is cancelled and gives its slot back.
    pub request_timeout_ms: u64,
    /// Engine calls running at once (each holds a blocking thread).
    pub max_concurrent_requests: usize,
    /// Requests waiting for a slot; beyond it, 429 at once.
    pub max_queued_requests: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 32 * 1024 * 1024,
            request_timeout_ms: 30_000,
            max_concurrent_requests: 64,
            max_queued_requests: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads, searches and retrievals only.
    ReadOnly,
    /// Everything but `/v1/admin`.
    ReadWrite,
    /// Everything.
    Admin,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// With no keys, requests are only accepted from loopback addresses
    /// unless this is set (and the listen address must be loopback too).
    pub allow_unauthenticated_remote: bool,
    pub keys: Vec<KeyConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Shown in logs; never the key.
    pub name: String,
    /// Lowercase hex SHA-256 of the key (`agentdb serve --hash-key`).
    pub sha256: String,
    pub role: Role,
    /// Agent ids this key may touch. With `agent_ranges` and `namespace`
    /// absent too, the key is unscoped (every agent, document, collection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<u64>>,
    /// Inclusive `[first, last]` agent id ranges this key may touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_ranges: Option<Vec<[u64; 2]>>,
    /// Documents and collections this key may touch: ids/names starting
    /// with `<namespace>-`; and items whose namespace's first label is
    /// `<namespace>` (or `agent:<id>` for one of its agents). A scoped key
    /// without one touches no document or collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing EnvFilter directive (`info`, `agentdb_server=debug,info`).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Pretty, level: DEFAULT_LOG_LEVEL.into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Serve it without a key even when keys are configured.
    pub public: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true, public: false }
    }
}

impl Config {
    /// The file (if any), then the `AGENTDB_*__*` variables of `env`, validated.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?
            }
            None => toml::Table::new(),
        };
        let mut overrides: Vec<(String, String)> =
            env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__")).collect();
        overrides.sort();
        for (var, value) in overrides {
            apply_override(&mut table, &var, &value)?;
        }
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            key_err(if path == "." { "(root)".to_string() } else { path }, e.into_inner().message().to_string())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML text (no environment): for tests and the example file.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Parse { path: PathBuf::from("<text>"), message: e.to_string() })?;
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| key_err(e.path().to_string(), e.into_inner().message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|e| key_err("server.listen", format!("{:?} is not IP:PORT ({e})", self.server.listen)))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let addr = self.listen_addr()?;
        self.engine.to_options()?;
        if self.limits.max_body_bytes == 0 {
            return Err(key_err("limits.max_body_bytes", "must be > 0"));
        }
        if self.limits.request_timeout_ms == 0 {
            return Err(key_err("limits.request_timeout_ms", "must be > 0"));
        }
        if self.limits.max_concurrent_requests == 0 || self.limits.max_concurrent_requests > 4096 {
            return Err(key_err("limits.max_concurrent_requests", "must be in 1..=4096"));
        }
        if self.auth.keys.is_empty() && !addr.ip().is_loopback() && !self.auth.allow_unauthenticated_remote {
            return Err(key_err(
                "server.listen",
                format!(
                    "{addr} is not a loopback address and no API keys are configured: add [[auth.keys]] \
                     or set auth.allow_unauthenticated_remote = true"
                ),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(key_err("log.level", e.to_string()));
        }
        let mut names = BTreeSet::new();
        let mut hashes = BTreeSet::new();
        for (i, k) in self.auth.keys.iter().enumerate() {
            let at = |f: &str| format!("auth.keys[{i}].{f}");
            if k.name.is_empty() || !names.insert(k.name.clone()) {
                return Err(key_err(at("name"), "must be non-empty and unique"));
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(key_err(at("sha256"), "must be 64 hex digits (the SHA-256 of the key)"));
            }
            if !hashes.insert(k.sha256.to_ascii_lowercase()) {
                return Err(key_err(at("sha256"), "the same key is configured twice"));
            }
            let scoped = k.agents.is_some() || k.agent_ranges.is_some() || k.namespace.is_some();
            if scoped && k.role == Role::Admin {
                return Err(key_err(at("role"), "an admin key is database-wide; it cannot have a scope"));
            }
            if let Some(r) = k.agent_ranges.iter().flatten().find(|r| r[0] > r[1]) {
                return Err(key_err(at("agent_ranges"), format!("range [{}, {}] is empty", r[0], r[1])));
            }
            if let Some(ns) = &k.namespace {
                if ns.is_empty()
                    || ns.len() > MAX_NAMESPACE_BYTES
                    || !ns.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(key_err(
                        at("namespace"),
                        format!("must be 1..={MAX_NAMESPACE_BYTES} characters of ASCII letters, digits and '_'"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The effective config as TOML, key hashes replaced by `<redacted>`.
    pub fn to_redacted_toml(&self) -> String {
        let mut c = self.clone();
        for k in &mut c.auth.keys {
            k.sha256 = REDACTED.to_string();
        }
        toml::to_string_pretty(&c).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }
}

/// `AGENTDB_ENGINE__FSYNC=always` → `engine.fsync = "always"`.
fn apply_override(table: &mut toml::Table, var: &str, raw: &str) -> Result<(), ConfigError> {
    let rest = &var[ENV_PREFIX.len()..];
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    let dotted = path.join(".");
    if path.iter().any(String::is_empty) {
        return Err(key_err(var, "empty key segment in the variable name"));
    }
    let value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let (last, parents) = path.split_last().ok_or_else(|| key_err(var, "no key"))?;
    let mut cur = table;
    for p in parents {
        let entry = cur.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(key_err(&dotted, format!("{var}: `{p}` is not a section"))),
        };
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = Config::load(None, Vec::new()).expect("defaults");
        assert_eq!(c.server.listen, DEFAULT_LISTEN);
        assert!(c.listen_addr().expect("addr").ip().is_loopback());
        c.engine.to_options().expect("options");
    }

    #[test]
    fn env_overrides_nested_keys_and_ignores_other_agentdb_variables() {
        let c = Config::load(
            None,
            env(&[
                ("AGENTDB_ENGINE__FSYNC", "always"),
                ("AGENTDB_LIMITS__REQUEST_TIMEOUT_MS", "1500"),
                ("AGENTDB_ENGINE__STATE_RETENTION__KEEP_LAST", "3"),
                ("AGENTDB_MODEL_DIR", "/somewhere"),
                ("AGENTDB_PATH", "x"),
                ("HOME", "/root"),
            ]),
        )
        .expect("load");
        assert_eq!(c.engine.fsync, "always");
        assert_eq!(c.limits.request_timeout_ms, 1500);
        assert_eq!(c.engine.state_retention.keep_last, Some(3));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = Config::from_toml("[engine]\nfsnyc = \"always\"\n").expect_err("typo");
        assert!(e.to_string().contains("engine") && e.to_string().contains("fsnyc"), "{e}");
        let e = Config::from_toml("[engine]\nfsync = \"sometimes\"\n").expect_err("bad");
        assert!(e.to_string().contains("engine.fsync"), "{e}");
        let e = Config::from_toml("[limits]\nmax_body_bytes = \"big\"\n").expect_err("type");
        assert!(e.to_string().contains("limits.max_body_bytes"), "{e}");
        let e = Config::load(None, env(&[("AGENTDB_SERVR__LISTEN", "x")])).expect_err("section");
        assert!(e.to_string().contains("servr"), "{e}");
        let e = Config::from_toml("[server]\nlisten = \"0.0.0.0:80\"\n").expect_err("open");
        assert!(e.to_string().contains("server.listen"), "{e}");
        let e = Config::from_toml("[log]\nformat = \"xml\"\n").expect_err("format");
        assert!(e.to_string().contains("log.format"), "{e}");
    }

    #[test]
    fn keys_are_validated_and_redacted() {
        let h = "a".repeat(64);
        let ok = format!("[[auth.keys]]\nname = \"k\"\nsha256 = \"{h}\"\nrole = \"read_only\"\nagents = [1]\n");
        let c = Config::from_toml(&ok).expect("key");
        let printed = c.to_redacted_toml();
        assert!(!printed.contains(&h) && printed.contains(REDACTED), "{printed}");
        let admin_scoped = format!("[[auth.keys]]\nname = \"k\"\nsha256 = \"{h}\"\nrole = \"admin\"\nagents = [1]\n");
        assert!(Config::from_toml(&admin_scoped).expect_err("admin").to_string().contains("auth.keys[0].role"));
        let bad_ns =
            format!("[[auth.keys]]\nname = \"k\"\nsha256 = \"{h}\"\nrole = \"read_write\"\nnamespace = \"a-b\"\n");
        assert!(Config::from_toml(&bad_ns).expect_err("ns").to_string().contains("auth.keys[0].namespace"));
        let short = "[[auth.keys]]\nname = \"k\"\nsha256 = \"abc\"\nrole = \"admin\"\n";
        assert!(Config::from_toml(short).expect_err("hash").to_string().contains("auth.keys[0].sha256"));
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../agentdb.example.toml");
        let c = Config::from_toml(text).expect("example config");
        assert!(!c.auth.keys.is_empty());
    }
}

//! API keys, roles and scopes.
//!
//! Keys are configured as SHA-256 hashes; a presented key is hashed and
//! compared with every configured hash in constant time. A request carries
//! its key as `Authorization: Bearer KEY` or `api-key: KEY`.
//!
//! Scopes are enforced before the engine is called, on the ids the request
//! names: the agent id of a state/memory route (for a memory addressed by
//! id, the agent id stored in it); for documents and collections, the
//! `<namespace>-` prefix of the id or name, and for document searches a
//! metadata filter on `agentdb_namespace` that the engine applies. Items
//! belong to no agent: a scoped key reaches the item namespaces whose first
//! label is its namespace or `agent:<id>` for one of its agents
//! (`check_item_namespace`), and no route acting on every namespace. With no
//! keys configured every caller is an unscoped admin, from loopback only
//! unless `auth.allow_unauthenticated_remote`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, KeyConfig, Role};
use crate::error::ApiError;
use crate::AppState;

/// Metadata key the server sets on documents indexed by a namespaced key,
/// and filters on for that key's searches.
pub const NAMESPACE_METADATA_KEY: &str = "agentdb_namespace";

/// The first item-namespace label that belongs to one agent: `agent:<id>`,
/// the id in decimal without leading zeros (one spelling per agent).
pub const AGENT_ITEM_LABEL_PREFIX: &str = "agent:";

#[derive(Debug, Clone)]
pub struct Scope {
    agents: BTreeSet<u64>,
    ranges: Vec<(u64, u64)>,
    namespace: Option<String>,
}

impl Scope {
    fn of(k: &KeyConfig) -> Option<Scope> {
        if k.agents.is_none() && k.agent_ranges.is_none() && k.namespace.is_none() {
            return None;
        }
        Some(Scope {
            agents: k.agents.iter().flatten().copied().collect(),
            ranges: k.agent_ranges.iter().flatten().map(|r| (r[0], r[1])).collect(),
            namespace: k.namespace.clone(),
        })
    }

    fn allows_agent(&self, agent_id: u64) -> bool {
        self.agents.contains(&agent_id) || self.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&agent_id))
    }

    /// Whether an item namespace whose first label is `label` is in reach:
    /// the key's namespace, or `agent:<id>` for one of its agents. `*` is
    /// neither (namespaces are `[A-Za-z0-9_]`), so a wildcard never widens a scope.
    fn allows_item_label(&self, label: &str) -> bool {
        if self.namespace.as_deref() == Some(label) {
            return true;
        }
        label
            .strip_prefix(AGENT_ITEM_LABEL_PREFIX)
            .and_then(|id| id.parse::<u64>().ok().filter(|n| n.to_string() == id))
            .is_some_and(|id| self.allows_agent(id))
    }
}

struct Key {
    name: String,
    hash: [u8; 32],
    role: Role,
    scope: Option<Scope>,
}

/// The configured keys, hashed once at start.
pub struct Keys {
    keys: Vec<Key>,
    allow_unauthenticated_remote: bool,
}

impl Keys {
    pub fn new(cfg: &AuthConfig) -> Keys {
        let keys = cfg
            .keys
            .iter()
            .filter_map(|k| {
                // Config validation guarantees 64 hex digits; a key that still fails
                // to decode can never match, which is the safe outcome.
                let bytes = hex::decode(&k.sha256).ok()?;
                let hash: [u8; 32] = bytes.try_into().ok()?;
                Some(Key { name: k.name.clone(), hash, role: k.role, scope: Scope::of(k) })
            })
            .collect();
        Keys { keys, allow_unauthenticated_remote: cfg.allow_unauthenticated_remote }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every configured hash is compared (no early exit), so the time taken
    /// does not tell how close a guess came.
    fn find(&self, presented: &str) -> Option<&Key> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for k in &self.keys {
            if bool::from(k.hash.ct_eq(&digest)) {
                found = Some(k);
            }
        }
        found
    }
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Who is calling: extracted from the request's key (or its address when no
/// keys are configured). Handlers ask it before they call the engine.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_name: Option<String>,
    pub role: Role,
    scope: Option<Scope>,
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "key {:?} has role {:?}; this route needs {:?}",
            self.key_name.as_deref().unwrap_or(""),
            self.role,
            role
        )))
    }

    pub fn is_unscoped(&self) -> bool {
        self.scope.is_none()
    }

    pub fn is_read_only(&self) -> bool {
        self.role == Role::ReadOnly
    }

    pub fn check_agent(&self, agent_id: u64) -> Result<(), ApiError> {
        match &self.scope {
            Some(s) if !s.allows_agent(agent_id) => Err(ApiError::forbidden(format!(
                "key {:?} is not scoped to agent {agent_id}",
                self.key_name.as_deref().unwrap_or("")
            ))),
            _ => Ok(()),
        }
    }

    /// `None`: unscoped (every document and collection); `Some(ns)`: only
    /// ids/names starting with `ns-`.
    pub fn namespace(&self) -> Result<Option<&str>, ApiError> {
        match &self.scope {
            None => Ok(None),
            Some(Scope { namespace: Some(ns), .. }) => Ok(Some(ns)),
            Some(_) => Err(ApiError::forbidden(format!(
                "key {:?} has an agent scope and no namespace: documents and collections are out of its reach",
                self.key_name.as_deref().unwrap_or("")
            ))),
        }
    }

    /// Refuses a document id or collection name outside the caller's namespace.
    pub fn check_name(&self, kind: &str, name: &str) -> Result<(), ApiError> {
        if let Some(ns) = self.namespace()? {
            if !in_namespace(ns, name) {
                return Err(ApiError::forbidden(format!(
                    "{kind} {name:?} is outside namespace {ns:?} (names must start with \"{ns}-\")"
                )));
            }
        }
        Ok(())
    }
}

impl Caller {
    /// Refuses an item namespace, or a namespace prefix of a search or a
    /// listing, outside the caller's reach: for a scoped key its first label
    /// must be the key's namespace or `agent:<id>` for one of its agents. An
    /// empty prefix would reach every namespace, so a scoped key must name one.
    pub fn check_item_namespace(&self, labels: &[String]) -> Result<(), ApiError> {
        let Some(scope) = &self.scope else { return Ok(()) };
        match labels.first() {
            Some(first) if scope.allows_item_label(first) => Ok(()),
            first => {
                let mut reach: Vec<String> = scope.namespace.iter().map(|n| format!("{n:?}")).collect();
                if !scope.agents.is_empty() || !scope.ranges.is_empty() {
                    reach.push(format!("\"{AGENT_ITEM_LABEL_PREFIX}<id>\" for its agents"));
                }
                if reach.is_empty() {
                    reach.push("nothing (it has neither a namespace nor agents)".to_string());
                }
                Err(ApiError::forbidden(format!(
                    "key {:?} reaches only item namespaces whose first label is {}; got {}",
                    self.key_name.as_deref().unwrap_or(""),
                    reach.join(" or "),
                    first.map_or_else(|| "no label".to_string(), |f| format!("{f:?}"))
                )))
            }
        }
    }

    /// Refuses a scoped key on a route that acts on the whole database.
    pub fn require_unscoped(&self, why: &str) -> Result<(), ApiError> {
        match self.scope {
            None => Ok(()),
            Some(_) => Err(ApiError::forbidden(format!(
                "key {:?} is scoped: {why}, so it needs an unscoped key",
                self.key_name.as_deref().unwrap_or("")
            ))),
        }
    }
}

pub fn in_namespace(ns: &str, name: &str) -> bool {
    name.strip_prefix(ns).is_some_and(|rest| rest.starts_with('-'))
}

fn presented_key(parts: &Parts) -> Result<Option<&str>, ApiError> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let s = v.to_str().map_err(|_| ApiError::unauthenticated("Authorization header is not ASCII"))?;
        return match s.strip_prefix("Bearer ").or_else(|| s.strip_prefix("bearer ")) {
            Some(k) if !k.trim().is_empty() => Ok(Some(k.trim())),
            _ => Err(ApiError::unauthenticated("Authorization must be `Bearer <key>`")),
        };
    }
    if let Some(v) = parts.headers.get("api-key") {
        let s = v.to_str().map_err(|_| ApiError::unauthenticated("api-key header is not ASCII"))?;
        return Ok(Some(s.trim()));
    }
    Ok(None)
}

pub fn authenticate(keys: &Keys, parts: &Parts) -> Result<Caller, ApiError> {
    if keys.is_empty() {
        if !keys.allow_unauthenticated_remote {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
            if !peer.is_some_and(|p| p.ip().is_loopback()) {
                return Err(ApiError::forbidden("no API keys are configured: only loopback clients are served"));
            }
        }
        return Ok(Caller { key_name: None, role: Role::Admin, scope: None });
    }
    let Some(presented) = presented_key(parts)? else {
        return Err(ApiError::unauthenticated("an API key is required (Authorization: Bearer KEY or api-key: KEY)"));
    };
    match keys.find(presented) {
        Some(k) => Ok(Caller { key_name: Some(k.name.clone()), role: k.role, scope: k.scope.clone() }),
        None => Err(ApiError::unauthenticated("unknown API key")),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(&state.inner.keys, parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_prefixes_with_a_dash() {
        assert!(in_namespace("a", "a-doc"));
        assert!(!in_namespace("a", "ab-doc"));
        assert!(!in_namespace("a", "a_b-doc"));
        assert!(!in_namespace("a", "a"));
        assert!(!in_namespace("a_b", "a-doc"));
    }

    #[test]
    fn scope_allows_listed_agents_and_ranges_only() {
        let k = KeyConfig {
            name: "k".into(),
            sha256: hash_key("secret"),
            role: Role::ReadWrite,
            agents: Some(vec![7]),
            agent_ranges: Some(vec![[100, 199]]),
            namespace: None,
        };
        let s = Scope::of(&k).expect("scoped");
        assert!(s.allows_agent(7) && s.allows_agent(100) && s.allows_agent(199));
        assert!(!s.allows_agent(8) && !s.allows_agent(200) && !s.allows_agent(99));
    }

    #[test]
    fn item_scope_is_the_first_label() {
        let k = KeyConfig {
            name: "k".into(),
            sha256: hash_key("secret"),
            role: Role::ReadWrite,
            agents: Some(vec![7]),
            agent_ranges: Some(vec![[100, 199]]),
            namespace: Some("ns1".into()),
        };
        let caller = Caller { key_name: Some("k".into()), role: Role::ReadWrite, scope: Scope::of(&k) };
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for ok in [&["ns1"][..], &["ns1", "x/y"], &["agent:7"], &["agent:150", "memories"], &["agent:199"]] {
            assert!(caller.check_item_namespace(&labels(ok)).is_ok(), "{ok:?}");
        }
        for refused in [
            &[][..],
            &["*"],
            &["*", "ns1"],
            &["ns1x"],
            &["x", "ns1"],
            &["NS1"],
            &["agent:8"],
            &["agent:07"],
            &["agent:+7"],
            &["agent:200"],
            &["agent:"],
            &["agent:7 "],
            &["agent:18446744073709551616"],
        ] {
            let e = caller.check_item_namespace(&labels(refused)).expect_err("out of scope");
            assert_eq!(e.code, "forbidden", "{refused:?}");
        }
        let agent_only = KeyConfig { namespace: None, ..k.clone() };
        let caller = Caller { key_name: None, role: Role::ReadWrite, scope: Scope::of(&agent_only) };
        assert!(caller.check_item_namespace(&labels(&["agent:7"])).is_ok());
        assert!(caller.check_item_namespace(&labels(&["ns1"])).is_err());
        assert!(caller.require_unscoped("x").is_err());
        let unscoped = Caller { key_name: None, role: Role::ReadOnly, scope: None };
        assert!(unscoped.check_item_namespace(&[]).is_ok() && unscoped.require_unscoped("x").is_ok());
    }

    #[test]
    fn keys_match_by_hash_only() {
        let cfg = AuthConfig {
            allow_unauthenticated_remote: false,
            keys: vec![KeyConfig {
                name: "k".into(),
                sha256: hash_key("secret"),
                role: Role::Admin,
                agents: None,
                agent_ranges: None,
                namespace: None,
            }],
        };
        let keys = Keys::new(&cfg);
        assert!(keys.find("secret").is_some());
        assert!(keys.find("secret ").is_none());
        assert!(keys.find(&hash_key("secret")).is_none());
    }
}

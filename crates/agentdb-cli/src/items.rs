//! `agentdb item …`: the item (key-value) commands. A namespace is given
//! label by label (`--ns users --ns "a/b"`: never split on a separator) or
//! as one JSON array (`--ns-json '["users","a/b"]'`); values and filters
//! are JSON text. Every command also takes `--request FILE` ("-": stdin):
//! the JSON body of the matching HTTP route (`POST /v1/items/<route>`), the
//! only way to pass text argv cannot carry (a NUL); with it the command
//! prints that route's response. The JSON shapes are the server's own types.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use agentdb::Error;
use agentdb_server::routes::items::{
    DeleteItemResponse, GetItemsRequest, GetItemsResponse, ItemAddress, ItemDto, ListNamespacesRequest,
    ListNamespacesResponse, PutItemRequest, SearchItemsRequest, SearchItemsResponse, SweepItemsResponse,
    WriteItemsRequest, WriteItemsResponse,
};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::backend::CliError;
use crate::{connect, parse_kv, Global};

/// A namespace (or prefix, or suffix) as labels, or as one JSON array.
#[derive(Args, Clone, Default)]
pub(crate) struct NsArgs {
    /// One label of the namespace, in order (repeatable; a label may hold '/', spaces, quotes).
    #[arg(long = "ns", value_name = "LABEL", allow_hyphen_values = true, conflicts_with = "ns_json")]
    ns: Vec<String>,
    /// The whole namespace as a JSON array of labels.
    #[arg(long = "ns-json", value_name = "JSON")]
    ns_json: Option<String>,
}

#[derive(Args, Clone, Default)]
pub(crate) struct PrefixArgs {
    /// One label of the namespace prefix, in order (repeatable).
    #[arg(long = "prefix", value_name = "LABEL", allow_hyphen_values = true, conflicts_with = "prefix_json")]
    prefix: Vec<String>,
    /// The prefix as a JSON array of labels.
    #[arg(long = "prefix-json", value_name = "JSON")]
    prefix_json: Option<String>,
}

#[derive(Args, Clone, Default)]
pub(crate) struct SuffixArgs {
    /// One label of the namespace suffix, in order (repeatable).
    #[arg(long = "suffix", value_name = "LABEL", allow_hyphen_values = true, conflicts_with = "suffix_json")]
    suffix: Vec<String>,
    /// The suffix as a JSON array of labels.
    #[arg(long = "suffix-json", value_name = "JSON")]
    suffix_json: Option<String>,
}

fn labels(flags: Vec<String>, json: Option<String>, what: &str) -> Result<Vec<String>, Error> {
    match json {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| Error::InvalidArgument(format!("{what} must be a JSON array of strings: {e}"))),
        None => Ok(flags),
    }
}

impl NsArgs {
    fn labels(self) -> Result<Vec<String>, Error> {
        labels(self.ns, self.ns_json, "--ns-json")
    }
}

impl PrefixArgs {
    fn labels(self) -> Result<Vec<String>, Error> {
        labels(self.prefix, self.prefix_json, "--prefix-json")
    }
}

impl SuffixArgs {
    fn labels(self) -> Result<Vec<String>, Error> {
        labels(self.suffix, self.suffix_json, "--suffix-json")
    }
}

#[derive(Subcommand)]
pub(crate) enum ItemCmd {
    /// Insert or replace an item: --ns LABEL… --key KEY --value JSON.
    Put {
        #[command(flatten)]
        ns: NsArgs,
        #[arg(long, required_unless_present = "request", allow_hyphen_values = true)]
        key: Option<String>,
        /// The value as JSON text (`'"a string"'`, `'{"a": 1}'`, `3`).
        #[arg(long, allow_hyphen_values = true, conflicts_with = "value_file")]
        value: Option<String>,
        /// Read the value's JSON from a file ("-": stdin).
        #[arg(long)]
        value_file: Option<PathBuf>,
        /// Metadata entries, KEY=VALUE (repeatable).
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
        /// Time to live in milliseconds (absent: forever).
        #[arg(long)]
        ttl_ms: Option<u64>,
        /// The body of POST /v1/items/put as JSON, from a file ("-": stdin), instead of the flags.
        #[arg(long, conflicts_with_all = ["ns", "ns_json", "key", "value", "value_file", "meta", "ttl_ms"])]
        request: Option<PathBuf>,
    },
    /// The live item at an address (`null` with --json when there is none).
    Get {
        #[command(flatten)]
        ns: NsArgs,
        #[arg(long, required_unless_present = "request", allow_hyphen_values = true)]
        key: Option<String>,
        /// Move the item's expiry to now + its TTL.
        #[arg(long)]
        refresh_ttl: bool,
        /// The body of POST /v1/items/get (several addresses) instead of the flags; prints its response.
        #[arg(long, conflicts_with_all = ["ns", "ns_json", "key", "refresh_ttl"])]
        request: Option<PathBuf>,
    },
    /// Delete an item; prints whether a live item was deleted.
    Delete {
        #[command(flatten)]
        ns: NsArgs,
        #[arg(long, required_unless_present = "request", allow_hyphen_values = true)]
        key: Option<String>,
        /// The body of POST /v1/items/delete instead of the flags.
        #[arg(long, conflicts_with_all = ["ns", "ns_json", "key"])]
        request: Option<PathBuf>,
    },
    /// Apply puts and deletes from JSON as one all-or-nothing batch.
    ///
    /// FILE ("-": stdin) holds `{"writes": [...]}` (the body of POST
    /// /v1/items/write) or just the array; each operation is `{"put":
    /// {"namespace", "key", "value", "metadata"?, "ttl_ms"?}}` or `{"delete":
    /// {"namespace", "key"}}`.
    Write { file: PathBuf },
    /// Live items under a namespace prefix that pass a value filter, newest first.
    Search {
        #[command(flatten)]
        prefix: PrefixArgs,
        /// A value filter, JSON: `{"tag": "red", "n": {"$gt": 1}}` (SPEC.md, "Value filters").
        #[arg(long, allow_hyphen_values = true)]
        filter: Option<String>,
        /// Only items whose metadata has KEY=VALUE (repeatable).
        #[arg(long = "meta", value_parser = parse_kv)]
        meta: Vec<(String, String)>,
        #[arg(long, default_value_t = agentdb::defaults::ITEM_SEARCH_LIMIT)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Move each returned item's expiry to now + its TTL.
        #[arg(long)]
        refresh_ttl: bool,
        /// The body of POST /v1/items/search instead of the flags.
        #[arg(long, conflicts_with_all = ["prefix", "prefix_json", "filter", "meta", "limit", "offset", "refresh_ttl"])]
        request: Option<PathBuf>,
    },
    /// Namespaces holding live items, matching --prefix / --suffix labels (`*`: any label).
    Namespaces {
        #[command(flatten)]
        prefix: PrefixArgs,
        #[command(flatten)]
        suffix: SuffixArgs,
        /// Cut each namespace to its first N labels (then deduplicated).
        #[arg(long)]
        max_depth: Option<usize>,
        #[arg(long, default_value_t = agentdb::defaults::NAMESPACE_LIST_LIMIT)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// The body of POST /v1/items/namespaces instead of the flags.
        #[arg(long, conflicts_with_all = ["prefix", "prefix_json", "suffix", "suffix_json", "max_depth", "limit", "offset"])]
        request: Option<PathBuf>,
    },
    /// Delete every expired item now.
    Sweep,
}

/// The text of FILE, or of stdin for "-".
fn read_input(path: &Path) -> Result<String, Error> {
    if path == Path::new("-") {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf)?;
        Ok(buf)
    } else {
        Ok(std::fs::read_to_string(path)?)
    }
}

fn parse_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))
}

fn request<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    parse_json(&read_input(path)?, &format!("--request {}", path.display()))
}

fn print_json<T: Serialize>(v: &T) {
    println!("{}", serde_json::to_string(v).expect("serialisable"));
}

/// Labels as one JSON array: unambiguous whatever they hold.
fn ns_text(ns: &[String]) -> String {
    serde_json::to_string(ns).expect("serialisable")
}

fn item_line(i: &ItemDto) -> String {
    let expiry = i.expires_at_ms.map(|e| format!(" expires at {e}ms")).unwrap_or_default();
    format!("{} {:?} = {} (updated at {}ms{expiry})", ns_text(&i.namespace), i.key, i.value, i.updated_at_ms)
}

pub(crate) fn run(g: &Global, cmd: ItemCmd) -> Result<(), CliError> {
    match cmd {
        ItemCmd::Put { ns, key, value, value_file, meta, ttl_ms, request: req } => {
            let put: PutItemRequest = match req {
                Some(path) => request(&path)?,
                None => {
                    let text = match (value, value_file) {
                        (Some(v), _) => v,
                        (None, Some(f)) => read_input(&f)?,
                        (None, None) => {
                            return Err(Error::InvalidArgument("give --value JSON or --value-file".into()).into())
                        }
                    };
                    PutItemRequest {
                        namespace: ns.labels()?,
                        key: key.unwrap_or_default(),
                        value: parse_json(&text, "--value must be JSON")?,
                        metadata: meta.into_iter().collect(),
                        ttl_ms,
                    }
                }
            };
            let item = connect(g, false)?.put_item(put)?;
            if g.json {
                print_json(&item);
            } else {
                println!("put {}", item_line(&item));
            }
        }
        ItemCmd::Get { ns, key, refresh_ttl, request: req } => {
            if let Some(path) = req {
                let r: GetItemsRequest = request(&path)?;
                let resp: GetItemsResponse = connect(g, !r.refresh_ttl)?.get_items(r)?;
                if g.json {
                    print_json(&resp);
                } else {
                    for i in &resp.items {
                        println!("{}", i.as_ref().map_or_else(|| "(none)".to_string(), item_line));
                    }
                }
                return Ok(());
            }
            let address = ItemAddress { namespace: ns.labels()?, key: key.unwrap_or_default() };
            let r = GetItemsRequest { addresses: vec![address.clone()], refresh_ttl };
            let item = connect(g, !refresh_ttl)?.get_items(r)?.items.pop().flatten();
            let address = (address.namespace, address.key);
            if g.json {
                print_json(&item);
            } else {
                match &item {
                    Some(i) => println!("{}", item_line(i)),
                    None => println!("no item at {} {:?}", ns_text(&address.0), address.1),
                }
            }
        }
        ItemCmd::Delete { ns, key, request: req } => {
            let a: ItemAddress = match req {
                Some(path) => request(&path)?,
                None => ItemAddress { namespace: ns.labels()?, key: key.unwrap_or_default() },
            };
            let deleted = connect(g, false)?.delete_item(a.clone())?;
            if g.json {
                print_json(&DeleteItemResponse { deleted });
            } else if deleted {
                println!("deleted {} {:?}", ns_text(&a.namespace), a.key);
            } else {
                println!("no live item at {} {:?}", ns_text(&a.namespace), a.key);
            }
        }
        ItemCmd::Write { file } => {
            let text = read_input(&file)?;
            let what = format!("{} must hold {{\"writes\": [...]}} or an array of operations", file.display());
            let body: Value = parse_json(&text, &what)?;
            let body = if body.is_array() { serde_json::json!({ "writes": body }) } else { body };
            let writes: WriteItemsRequest =
                serde_json::from_value(body).map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))?;
            let report: WriteItemsResponse = connect(g, false)?.write_items(writes)?;
            if g.json {
                print_json(&report);
            } else {
                println!("{} put, {} deleted", report.put, report.deleted);
            }
        }
        ItemCmd::Search { prefix, filter, meta, limit, offset, refresh_ttl, request: req } => {
            let query: SearchItemsRequest = match req {
                Some(path) => request(&path)?,
                None => SearchItemsRequest {
                    prefix: prefix.labels()?,
                    filter: filter.map(|f| parse_json(&f, "--filter must be JSON")).transpose()?,
                    metadata: meta.into_iter().collect::<BTreeMap<_, _>>(),
                    limit,
                    offset,
                    refresh_ttl,
                },
            };
            let page: SearchItemsResponse = connect(g, !query.refresh_ttl)?.search_items(query)?;
            if g.json {
                print_json(&page);
            } else {
                page.items.iter().for_each(|i| println!("{}", item_line(i)));
                println!("{} of {} match(es)", page.items.len(), page.total);
            }
        }
        ItemCmd::Namespaces { prefix, suffix, max_depth, limit, offset, request: req } => {
            let query: ListNamespacesRequest = match req {
                Some(path) => request(&path)?,
                None => ListNamespacesRequest {
                    prefix: prefix.labels()?,
                    suffix: suffix.labels()?,
                    max_depth,
                    limit,
                    offset,
                },
            };
            let namespaces = connect(g, true)?.list_item_namespaces(query)?;
            if g.json {
                print_json(&ListNamespacesResponse { namespaces });
            } else {
                namespaces.iter().for_each(|ns| println!("{}", ns_text(ns)));
            }
        }
        ItemCmd::Sweep => {
            let deleted = connect(g, false)?.sweep_expired_items()?;
            if g.json {
                print_json(&SweepItemsResponse { deleted });
            } else {
                println!("swept {deleted} expired item(s)");
            }
        }
    }
    Ok(())
}

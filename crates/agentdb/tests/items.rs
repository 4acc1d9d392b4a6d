//! Items on real LanceDB: puts, deletes, gets, searches with value and
//! metadata filters, namespace listings and TTL, checked against a plain
//! in-memory model after every phase (memtable only, flushed, compacted
//! with indexes, reopened), plus bad input and read-only opens.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use agentdb::{AgentDb, Error, ItemPut, ItemQuery, ItemWrite, NamespaceQuery, Options};
use serde_json::{json, Value};

fn quiet() -> Options {
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

fn ns(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|s| s.to_string()).collect()
}

/// A tiny deterministic generator (no dependency, same sequence everywhere).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What the engine must agree with: address → (value, metadata).
type Model = BTreeMap<(Vec<String>, String), (Value, BTreeMap<String, String>)>;

fn namespaces() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for a in ["users", "teams", "a"] {
        for b in ["u1", "u2", "日本", "x y"] {
            out.push(ns(&[a, b]));
            out.push(ns(&[a, b, "prefs"]));
        }
    }
    out.push(ns(&["users"]));
    out.push(ns(&["a", "u1\u{1}"]));
    out
}

fn random_writes(rng: &mut Lcg, model: &mut Model, n: usize) -> Vec<ItemWrite> {
    let spaces = namespaces();
    let mut writes = Vec::new();
    for _ in 0..n {
        let namespace = spaces[rng.next(spaces.len() as u64) as usize].clone();
        let key = format!("k{}", rng.next(12));
        if rng.next(5) == 0 {
            model.remove(&(namespace.clone(), key.clone()));
            writes.push(ItemWrite::Delete { namespace, key });
        } else {
            let tag = ["red", "green", "blue"][rng.next(3) as usize];
            let value =
                json!({"n": rng.next(10), "tag": tag, "nested": {"deep": rng.next(3)}, "list": [1, rng.next(2)]});
            let metadata = BTreeMap::from([("m".to_string(), (rng.next(2)).to_string())]);
            model.insert((namespace.clone(), key.clone()), (value.clone(), metadata.clone()));
            writes.push(ItemWrite::Put(ItemPut { namespace, key, value, metadata, ttl_ms: None }));
        }
    }
    writes
}

fn model_search(model: &Model, prefix: &[String], keep: impl Fn(&Value) -> bool) -> BTreeSet<(Vec<String>, String)> {
    model
        .iter()
        .filter(|((n, _), (v, _))| n.starts_with(prefix) && keep(v))
        .map(|((n, k), _)| (n.clone(), k.clone()))
        .collect()
}

fn check_against_model(db: &AgentDb, model: &Model) {
    // Every address: present with the model's value, or absent.
    for namespace in namespaces() {
        for k in 0..12 {
            let key = format!("k{k}");
            let got = db.get_item(&namespace, &key).unwrap();
            match model.get(&(namespace.clone(), key.clone())) {
                Some((v, m)) => {
                    let item = got.unwrap_or_else(|| panic!("{namespace:?}/{key} missing"));
                    assert_eq!((&item.value, &item.metadata), (v, m), "{namespace:?}/{key}");
                }
                None => assert!(got.is_none(), "{namespace:?}/{key} should be absent"),
            }
        }
    }
    // Searches: exact sets and totals, with and without filters, under prefixes.
    // A filter and the model's predicate for it.
    type FilterCase = (Value, Box<dyn Fn(&Value) -> bool>);
    let filters: Vec<FilterCase> = vec![
        (json!({}), Box::new(|_: &Value| true)),
        (json!({"tag": "red"}), Box::new(|v: &Value| v["tag"] == "red")),
        (json!({"n": {"$gte": 3, "$lt": 7}}), Box::new(|v: &Value| (3..7).contains(&v["n"].as_u64().unwrap()))),
        (json!({"nested": {"deep": 1}}), Box::new(|v: &Value| v["nested"]["deep"] == 1)),
        (json!({"list": [1, 0]}), Box::new(|v: &Value| v["list"] == json!([1, 0]))),
        (json!({"tag": {"$ne": "blue"}, "n": 2.0}), Box::new(|v: &Value| v["tag"] != "blue" && v["n"] == 2)),
    ];
    for prefix in [ns(&[]), ns(&["users"]), ns(&["a", "u1"]), ns(&["teams", "x y", "prefs"]), ns(&["nope"])] {
        for (f, keep) in &filters {
            let want = model_search(model, &prefix, keep);
            let q = ItemQuery { prefix: prefix.clone(), filter: Some(f.clone()), limit: 10_000, ..ItemQuery::new(&[]) };
            let page = db.search_items(&q).unwrap();
            let got: BTreeSet<_> = page.items.iter().map(|i| (i.namespace.clone(), i.key.clone())).collect();
            assert_eq!(got, want, "prefix {prefix:?} filter {f}");
            assert_eq!(page.total, want.len());
            // Paging: the same order, cut exactly.
            let q2 = ItemQuery { limit: 3, offset: 2, ..q.clone() };
            let p2 = db.search_items(&q2).unwrap();
            assert_eq!(p2.total, want.len());
            assert_eq!(p2.items, page.items.iter().skip(2).take(3).cloned().collect::<Vec<_>>());
            for w in page.items.windows(2) {
                assert!(w[0].updated_at_ms >= w[1].updated_at_ms, "newest first");
            }
        }
        // Metadata filter.
        let q = ItemQuery { prefix: prefix.clone(), limit: 10_000, ..ItemQuery::new(&[]) };
        let q = ItemQuery { metadata: BTreeMap::from([("m".to_string(), "1".to_string())]), ..q };
        let want: BTreeSet<_> = model
            .iter()
            .filter(|((n, _), (_, m))| n.starts_with(&prefix) && m["m"] == "1")
            .map(|((n, k), _)| (n.clone(), k.clone()))
            .collect();
        let got: BTreeSet<_> =
            db.search_items(&q).unwrap().items.iter().map(|i| (i.namespace.clone(), i.key.clone())).collect();
        assert_eq!(got, want);
    }
    // Namespaces: exactly those holding an item, by prefix, suffix, depth.
    let live: BTreeSet<Vec<String>> = model.keys().map(|(n, _)| n.clone()).collect();
    let list = |q: NamespaceQuery| db.list_item_namespaces(&NamespaceQuery { limit: 10_000, ..q }).unwrap();
    assert_eq!(list(NamespaceQuery::default()), live.iter().cloned().collect::<Vec<_>>());
    let users: Vec<_> = live.iter().filter(|n| n[0] == "users").cloned().collect();
    assert_eq!(list(NamespaceQuery { prefix: ns(&["users"]), ..Default::default() }), users);
    let prefs: Vec<_> = live.iter().filter(|n| n.last().unwrap() == "prefs").cloned().collect();
    assert_eq!(list(NamespaceQuery { suffix: ns(&["prefs"]), ..Default::default() }), prefs);
    let wild: Vec<_> = live.iter().filter(|n| n.len() >= 2 && n[1] == "u2").cloned().collect();
    assert_eq!(list(NamespaceQuery { prefix: ns(&["*", "u2"]), ..Default::default() }), wild);
    let depth1: BTreeSet<Vec<String>> = live.iter().map(|n| n[..1].to_vec()).collect();
    assert_eq!(
        list(NamespaceQuery { max_depth: Some(1), ..Default::default() }),
        depth1.into_iter().collect::<Vec<_>>()
    );
    let all = list(NamespaceQuery::default());
    assert_eq!(
        db.list_item_namespaces(&NamespaceQuery { limit: 2, offset: 1, ..Default::default() }).unwrap(),
        all.iter().skip(1).take(2).cloned().collect::<Vec<_>>()
    );
}

#[test]
fn items_agree_with_a_model_through_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let mut rng = Lcg(42);
    {
        let db = AgentDb::open(dir.path(), quiet()).unwrap();
        // The catalog is built before any write (empty) and kept current after.
        assert!(db.list_item_namespaces(&NamespaceQuery::default()).unwrap().is_empty());
        for _ in 0..20 {
            let w = random_writes(&mut rng, &mut model, 10);
            db.write_items(w).unwrap();
        }
        check_against_model(&db, &model);
        db.flush().unwrap();
        check_against_model(&db, &model);
        // Half in Lance, half in the memtable, with deletes of flushed rows.
        for _ in 0..10 {
            let w = random_writes(&mut rng, &mut model, 10);
            db.write_items(w).unwrap();
        }
        check_against_model(&db, &model);
        db.compact().unwrap(); // builds the ns/ns_key B-trees
        for _ in 0..5 {
            let w = random_writes(&mut rng, &mut model, 10);
            db.write_items(w).unwrap();
        }
        check_against_model(&db, &model);
        db.close().unwrap();
    }
    // Reopen: the unflushed tail comes back from the WAL; the catalog is rebuilt.
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    check_against_model(&db, &model);
    db.flush().unwrap();
    check_against_model(&db, &model);
    db.close().unwrap();
    let ro = AgentDb::open(dir.path(), Options { read_only: true, ..quiet() }).unwrap();
    check_against_model(&ro, &model);
    // A refreshing read is a read where no item has a TTL.
    let q = ItemQuery { refresh_ttl: true, ..ItemQuery::new(&["users"]) };
    assert!(ro.search_items(&q).is_ok());
    assert!(ro.get_items(&[(ns(&["users"]), "k1".into())], true).is_ok());
    assert!(matches!(ro.write_items(vec![ItemWrite::Put(ItemPut::new(&["a"], "k", json!(1)))]), Err(Error::ReadOnly)));
}

#[test]
fn a_put_keeps_the_created_time_and_batches_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let first = db.put_item(ItemPut::new(&["u"], "k", json!({"v": 1}))).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let second = db.put_item(ItemPut::new(&["u"], "k", json!({"v": 2}))).unwrap();
    assert_eq!(second.created_at_ms, first.created_at_ms);
    assert!(second.updated_at_ms > first.updated_at_ms);
    db.flush().unwrap();
    // After a delete, a put is a new item.
    assert!(db.delete_item(&ns(&["u"]), "k").unwrap());
    assert!(!db.delete_item(&ns(&["u"]), "k").unwrap(), "a second delete deletes nothing");
    std::thread::sleep(Duration::from_millis(5));
    let third = db.put_item(ItemPut::new(&["u"], "k", json!({"v": 3}))).unwrap();
    assert!(third.created_at_ms > first.created_at_ms);
    // In one batch the last operation on an address wins.
    let r = db
        .write_items(vec![
            ItemWrite::Put(ItemPut::new(&["u"], "a", json!(1))),
            ItemWrite::Delete { namespace: ns(&["u"]), key: "a".into() },
            ItemWrite::Put(ItemPut::new(&["u"], "b", json!(1))),
            ItemWrite::Put(ItemPut::new(&["u"], "b", json!(2))),
            ItemWrite::Delete { namespace: ns(&["u"]), key: "never".into() },
        ])
        .unwrap();
    assert_eq!((r.put, r.deleted), (3, 1));
    assert_eq!(db.get_item(&ns(&["u"]), "a").unwrap(), None);
    assert_eq!(db.get_item(&ns(&["u"]), "b").unwrap().unwrap().value, json!(2));
    // Keys may be empty and hold any non-NUL text; values any JSON.
    for (key, value) in
        [("", json!(null)), ("'; DROP TABLE items; --", json!("x")), ("a/b\\c\"d", json!([1, {"z": 2}]))]
    {
        db.put_item(ItemPut::new(&["u", "odd"], key, value.clone())).unwrap();
        assert_eq!(db.get_item(&ns(&["u", "odd"]), key).unwrap().unwrap().value, value);
    }
    db.flush().unwrap();
    assert_eq!(db.search_items(&ItemQuery::new(&["u", "odd"])).unwrap().total, 3);
    assert_eq!(db.get_items(&[(ns(&["u"]), "b".into()), (ns(&["u"]), "a".into())], false).unwrap().len(), 2);
}

#[test]
fn ttl_hides_refreshes_and_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    db.put_item(ItemPut::new(&["t"], "short", json!(1)).ttl_ms(300)).unwrap();
    db.put_item(ItemPut::new(&["t"], "long", json!(2)).ttl_ms(3_600_000)).unwrap();
    db.put_item(ItemPut::new(&["only-ttl"], "x", json!(3)).ttl_ms(300)).unwrap();
    db.put_item(ItemPut::new(&["t"], "forever", json!(4))).unwrap();
    let listed = |db: &AgentDb| db.list_item_namespaces(&NamespaceQuery::default()).unwrap();
    assert_eq!(listed(&db), vec![ns(&["only-ttl"]), ns(&["t"])]);
    // A refreshing read moves the expiry.
    let before = db.get_item(&ns(&["t"]), "long").unwrap().unwrap().expires_at_ms.unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let got = db.get_items(&[(ns(&["t"]), "long".into())], true).unwrap();
    let after = got[0].as_ref().unwrap().expires_at_ms.unwrap();
    assert!(after > before);
    assert_eq!(db.get_item(&ns(&["t"]), "long").unwrap().unwrap().expires_at_ms, Some(after));
    db.flush().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(db.get_item(&ns(&["t"]), "short").unwrap(), None, "expired");
    assert_eq!(db.search_items(&ItemQuery::new(&["t"])).unwrap().total, 2);
    assert_eq!(listed(&db), vec![ns(&["t"])], "a namespace of expired items is not listed");
    assert_eq!(db.sweep_expired_items().unwrap(), 2);
    assert_eq!(db.sweep_expired_items().unwrap(), 0);
    // A put over an expired item is a new item.
    let again = db.put_item(ItemPut::new(&["t"], "short", json!(5))).unwrap();
    assert!(again.created_at_ms > before - 3_600_000 && again.expires_at_ms.is_none());
    db.close().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    assert_eq!(listed(&db), vec![ns(&["t"])]);
    assert_eq!(db.search_items(&ItemQuery::new(&["t"])).unwrap().total, 3);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { max_payload_bytes: 1000, ..quiet() }).unwrap();
    db.put_item(ItemPut::new(&["ok"], "k", json!(1))).unwrap();
    let lsn = db.stats().unwrap().last_lsn;
    let long = "x".repeat(agentdb::items::MAX_NAMESPACE_LABEL_BYTES + 1);
    let deep: Vec<&str> = vec!["d"; agentdb::items::MAX_NAMESPACE_DEPTH + 1];
    let bad_puts = vec![
        ItemPut::new(&[], "k", json!(1)),
        ItemPut::new(&[""], "k", json!(1)),
        ItemPut::new(&["a\0b"], "k", json!(1)),
        ItemPut::new(&[&long], "k", json!(1)),
        ItemPut::new(&deep, "k", json!(1)),
        ItemPut::new(&["a"], "k\0", json!(1)),
        ItemPut::new(&["a"], "k".repeat(agentdb::items::MAX_ITEM_KEY_BYTES + 1), json!(1)),
        ItemPut::new(&["a"], "k", json!(1)).ttl_ms(0),
    ];
    for p in bad_puts {
        // Valid first write in the same batch: all or nothing.
        let w = vec![ItemWrite::Put(ItemPut::new(&["ok"], "k2", json!(1))), ItemWrite::Put(p.clone())];
        assert!(matches!(db.write_items(w), Err(Error::InvalidArgument(_))), "{p:?}");
    }
    // Nested deeper than JSON parsers read back (serde_json: 128).
    let mut deep_value = json!(1);
    for _ in 0..128 {
        deep_value = json!([deep_value]);
    }
    assert!(matches!(
        db.write_items(vec![ItemWrite::Put(ItemPut::new(&["a"], "k", deep_value))]),
        Err(Error::InvalidArgument(_))
    ));
    let big = ItemPut::new(&["a"], "k", json!("y".repeat(1000)));
    assert!(matches!(db.write_items(vec![ItemWrite::Put(big)]), Err(Error::PayloadTooLarge { .. })));
    assert!(matches!(db.write_items(vec![]), Err(Error::InvalidArgument(_))));
    for q in [
        ItemQuery::new(&["a"]).limit(0),
        ItemQuery::new(&["a"]).limit(agentdb::limits::MAX_SEARCH_K + 1),
        ItemQuery::new(&["a\0"]),
        ItemQuery::new(&["a"]).filter(json!([1])),
        ItemQuery::new(&["a"]).filter(json!({"x": {"$regex": "."}})),
        ItemQuery::new(&["a"]).filter(json!({"x": {"$gt": null}})),
    ] {
        assert!(matches!(db.search_items(&q), Err(Error::InvalidArgument(_))), "{q:?}");
    }
    for q in [
        NamespaceQuery { max_depth: Some(0), ..Default::default() },
        NamespaceQuery { limit: 0, ..Default::default() },
        NamespaceQuery { prefix: ns(&[""]), ..Default::default() },
    ] {
        assert!(matches!(db.list_item_namespaces(&q), Err(Error::InvalidArgument(_))), "{q:?}");
    }
    assert_eq!(db.stats().unwrap().last_lsn, lsn, "nothing was logged");
    assert_eq!(db.get_item(&ns(&["ok"]), "k2").unwrap(), None);
    // A filter is data: quotes and SQL in values and keys match literally.
    db.put_item(ItemPut::new(&["q"], "k", json!({"s": "' OR 1=1 --"}))).unwrap();
    let hit = db.search_items(&ItemQuery::new(&["q"]).filter(json!({"s": "' OR 1=1 --"}))).unwrap();
    assert_eq!(hit.total, 1);
    assert_eq!(db.search_items(&ItemQuery::new(&["q"]).filter(json!({"s": "x"}))).unwrap().total, 0);
}

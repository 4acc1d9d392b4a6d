//! Many threads at once, and a randomized comparison against a plain
//! in-memory reference model (redb's fuzzing approach, without the fuzzer).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agentdb::{AgentDb, Error, HistoryQuery, Options, StateType};

#[test]
fn concurrent_writers_and_readers_keep_versions_dense() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { memtable_flush_records: 200, flush_interval: Duration::from_millis(10), ..Options::default() };
    let db = Arc::new(AgentDb::open(dir.path(), opts).unwrap());
    const WRITERS: u64 = 4;
    const PER_WRITER: u64 = 300;
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..PER_WRITER {
                    // Every writer hits the shared agent 0 and its own agent.
                    let agent = if i % 2 == 0 { 0 } else { 100 + t };
                    let v = db.save_state(agent, 1, StateType::TaskState, format!("{t}:{i}").as_bytes()).unwrap();
                    mine.push((agent, v, format!("{t}:{i}")));
                }
                mine
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..300 {
                    match db.load_state(0, Some(1)) {
                        Ok(s) => {
                            assert!(s.version >= last, "latest version went backwards: {} < {last}", s.version);
                            last = s.version;
                        }
                        Err(Error::NotFound(_)) => assert_eq!(last, 0),
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.join().unwrap());
    }
    for r in readers {
        r.join().unwrap();
    }
    let shared: Vec<u64> = written.iter().filter(|w| w.0 == 0).map(|w| w.1).collect();
    let mut sorted = shared.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=WRITERS * PER_WRITER / 2).collect::<Vec<_>>(), "no version handed out twice");
    for (agent, v, data) in &written {
        assert_eq!(db.load_state_version(*agent, 1, *v).unwrap().data, data.as_bytes());
    }
}

#[derive(Clone, Debug)]
struct ModelState {
    version: u64,
    data: Vec<u8>,
    state_type: StateType,
}

#[derive(Default)]
struct Model {
    states: BTreeMap<(u64, u64), Vec<ModelState>>, // (agent, session) → versions in order
    order: Vec<(u64, u64, u64)>,                   // save order: agent, session, version
    snapshots: BTreeMap<(u64, String), (u64, u64)>, // → session, version
}

impl Model {
    fn save(&mut self, agent: u64, session: u64, t: StateType, data: Vec<u8>) -> u64 {
        let list = self.states.entry((agent, session)).or_default();
        let version = list.last().map_or(1, |s| s.version + 1);
        list.push(ModelState { version, data, state_type: t });
        self.order.push((agent, session, version));
        version
    }
    fn delete(&mut self, agent: u64) -> bool {
        let had = self.states.keys().any(|k| k.0 == agent);
        self.states.retain(|k, _| k.0 != agent);
        self.order.retain(|k| k.0 != agent);
        self.snapshots.retain(|k, _| k.0 != agent);
        had
    }
}

#[test]
fn randomized_operations_match_reference_model() {
    let seed =
        std::env::var("AGENTDB_MODEL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("model test seed {seed} (rerun with AGENTDB_MODEL_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let opts =
        || Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() };
    let mut db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut model = Model::default();
    for step in 0..1500 {
        let agent = rng.u64(0..5);
        let session = rng.u64(0..3);
        match rng.u32(0..100) {
            0..=44 => {
                let t = StateType::ALL[rng.usize(0..6)];
                let data: Vec<u8> = (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect();
                let v = db.save_state(agent, session, t, &data).unwrap();
                assert_eq!(v, model.save(agent, session, t, data), "step {step}");
            }
            45..=59 => {
                let got = db.load_state(agent, Some(session));
                match model.states.get(&(agent, session)).and_then(|l| l.last()) {
                    Some(m) => {
                        let s = got.unwrap();
                        assert_eq!(
                            (s.version, &s.data[..], s.state_type),
                            (m.version, &m.data[..], m.state_type),
                            "step {step}"
                        );
                    }
                    None => assert!(matches!(got, Err(Error::NotFound(_))), "step {step}"),
                }
            }
            60..=64 => {
                let got = db.load_state(agent, None);
                match model.order.iter().rev().find(|k| k.0 == agent) {
                    Some(&(_, s, v)) => {
                        let st = got.unwrap();
                        assert_eq!((st.session_id, st.version), (s, v), "step {step}");
                    }
                    None => assert!(matches!(got, Err(Error::NotFound(_))), "step {step}"),
                }
            }
            65..=72 => {
                let limit = rng.usize(1..10);
                let got = db.query_history(&HistoryQuery::new(agent).session(session).limit(limit)).unwrap();
                let want: Vec<u64> = model
                    .states
                    .get(&(agent, session))
                    .map(|l| l.iter().rev().take(limit).map(|s| s.version).collect())
                    .unwrap_or_default();
                assert_eq!(got.iter().map(|s| s.version).collect::<Vec<_>>(), want, "step {step}");
            }
            73..=78 => {
                let name = format!("s{}", rng.u32(0..4));
                let got = db.create_snapshot(agent, session, &name);
                if model.snapshots.contains_key(&(agent, name.clone())) {
                    assert!(matches!(got, Err(Error::AlreadyExists(_))), "step {step}");
                } else if let Some(m) = model.states.get(&(agent, session)).and_then(|l| l.last()) {
                    assert_eq!(got.unwrap().version, m.version, "step {step}");
                    model.snapshots.insert((agent, name), (session, m.version));
                } else {
                    assert!(matches!(got, Err(Error::NotFound(_))), "step {step}");
                }
            }
            79..=83 => {
                let name = format!("s{}", rng.u32(0..4));
                let got = db.restore_snapshot(agent, &name);
                match model.snapshots.get(&(agent, name.clone())).cloned() {
                    Some((s, v)) => {
                        let old = model.states[&(agent, s)].iter().find(|m| m.version == v).unwrap().clone();
                        let nv = model.save(agent, s, old.state_type, old.data.clone());
                        let st = got.unwrap();
                        assert_eq!((st.version, &st.data[..]), (nv, &old.data[..]), "step {step}");
                    }
                    None => assert!(matches!(got, Err(Error::NotFound(_))), "step {step}"),
                }
            }
            84..=86 => {
                let got = db.delete_agent(agent);
                if model.delete(agent) {
                    got.unwrap();
                } else {
                    assert!(matches!(got, Err(Error::NotFound(_))), "step {step}: {got:?}");
                }
            }
            87..=93 => {
                db.flush().unwrap();
            }
            94..=96 => {
                drop(db);
                db = AgentDb::open(dir.path(), opts()).unwrap();
            }
            _ => {
                let names: Vec<String> = db.list_snapshots(agent).unwrap().into_iter().map(|s| s.name).collect();
                let mut want: Vec<String> =
                    model.snapshots.keys().filter(|k| k.0 == agent).map(|k| k.1.clone()).collect();
                let mut got = names.clone();
                got.sort();
                want.sort();
                assert_eq!(got, want, "step {step}");
            }
        }
    }
    // Final full comparison after a compaction.
    db.compact().unwrap();
    for ((agent, session), list) in &model.states {
        let hist = db.query_history(&HistoryQuery::new(*agent).session(*session).limit(100_000)).unwrap();
        assert_eq!(hist.len(), list.len());
        for (h, m) in hist.iter().rev().zip(list) {
            assert_eq!((h.version, &h.data[..]), (m.version, &m.data[..]));
        }
    }
}

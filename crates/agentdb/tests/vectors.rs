//! Vector collections on real LanceDB, checked against brute force.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{AgentDb, Error, Metric, Options, SearchOptions, VectorRecord};

fn quiet() -> Options {
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

fn random_vectors(rng: &mut fastrand::Rng, n: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..n).map(|_| (0..dim).map(|_| rng.f32() * 2.0 - 1.0).collect()).collect()
}

fn brute_force(metric: Metric, data: &[(String, Vec<f32>)], q: &[f32], k: usize) -> Vec<(String, f32)> {
    let mut all: Vec<(String, f32)> = data.iter().map(|(id, v)| (id.clone(), metric.distance(q, v))).collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn rows(data: &[(String, Vec<f32>)], tag: impl Fn(usize) -> String) -> Vec<VectorRecord> {
    data.iter()
        .enumerate()
        .map(|(i, (id, v))| VectorRecord {
            id: id.clone(),
            vector: v.clone(),
            metadata: BTreeMap::from([("tag".to_string(), tag(i))]),
        })
        .collect()
}

#[test]
fn knn_and_range_are_exact_across_memtable_flush_and_reopen() {
    for metric in [Metric::L2, Metric::Cosine, Metric::Dot] {
        let dir = tempfile::tempdir().unwrap();
        let mut db = AgentDb::open(dir.path(), quiet()).unwrap();
        db.create_collection("docs", 16, metric).unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let data: Vec<(String, Vec<f32>)> =
            random_vectors(&mut rng, 400, 16).into_iter().enumerate().map(|(i, v)| (format!("v{i}"), v)).collect();
        db.insert_vectors("docs", rows(&data[..250], |i| (i % 5).to_string())).unwrap();
        db.flush().unwrap();
        db.insert_vectors("docs", rows(&data[250..], |i| ((i + 250) % 5).to_string())).unwrap(); // memtable
        for round in 0..2 {
            for q in random_vectors(&mut rng, 5, 16) {
                let want = brute_force(metric, &data, &q, 10);
                let got = db.search_knn("docs", &q, 10, &SearchOptions::default()).unwrap();
                assert_eq!(
                    got.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
                    want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
                    "{metric:?} round {round}"
                );
                for (h, w) in got.iter().zip(&want) {
                    assert!((h.distance - w.1).abs() < 1e-3, "{metric:?}: distance {} vs {}", h.distance, w.1);
                }
                // Range: exactly the vectors within the radius of the 7th nearest.
                let radius = want[6].1 + 1e-4;
                let range = db.search_range("docs", &q, radius, 1000, &SearchOptions::default()).unwrap();
                let in_range: Vec<String> = brute_force(metric, &data, &q, data.len())
                    .into_iter()
                    .filter(|(_, d)| *d <= radius)
                    .map(|(id, _)| id)
                    .collect();
                assert_eq!(range.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), in_range, "{metric:?} range");
                // A selective metadata filter still yields the exact filtered top-k.
                let filtered_data: Vec<(String, Vec<f32>)> =
                    data.iter().enumerate().filter(|(i, _)| i % 5 == 3).map(|(_, d)| d.clone()).collect();
                let want = brute_force(metric, &filtered_data, &q, 10);
                let got = db.search_knn("docs", &q, 10, &SearchOptions::default().metadata("tag", "3")).unwrap();
                assert_eq!(
                    got.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
                    want.iter().map(|w| w.0.clone()).collect::<Vec<_>>()
                );
            }
            drop(db);
            db = AgentDb::open(dir.path(), quiet()).unwrap();
        }
        assert_eq!(db.count_vectors("docs").unwrap(), 400);
    }
}

#[test]
fn upsert_get_delete_and_collections_persist() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let info = db.create_collection("notes", 3, Metric::L2).unwrap();
    assert_eq!((info.dimension, info.metric), (3, Metric::L2));
    assert!(matches!(db.create_collection("notes", 3, Metric::L2), Err(Error::AlreadyExists(_))));
    db.insert_vector("notes", "a", &[0.0, 0.0, 0.0], BTreeMap::new()).unwrap();
    db.insert_vector("notes", "b", &[3.0, 4.0, 0.0], BTreeMap::new()).unwrap();
    let hits = db.search_knn("notes", &[0.0, 0.0, 0.0], 2, &SearchOptions::default()).unwrap();
    assert_eq!((hits[1].id.as_str(), hits[1].distance), ("b", 5.0), "L2 is reported as Euclidean distance");
    db.flush().unwrap();
    let hits = db.search_knn("notes", &[0.0, 0.0, 0.0], 2, &SearchOptions::default()).unwrap();
    assert!((hits[1].distance - 5.0).abs() < 1e-5, "after flush too: {}", hits[1].distance);
    // Upsert replaces, in the memtable over a flushed row.
    db.insert_vector("notes", "b", &[1.0, 0.0, 0.0], BTreeMap::from([("v".into(), "2".into())])).unwrap();
    assert_eq!(db.get_vector("notes", "b").unwrap().vector, vec![1.0, 0.0, 0.0]);
    assert_eq!(db.count_vectors("notes").unwrap(), 2);
    db.flush().unwrap();
    assert_eq!(db.count_vectors("notes").unwrap(), 2, "one row per id after the flush");
    db.delete_vector("notes", "a").unwrap();
    assert!(matches!(db.get_vector("notes", "a"), Err(Error::NotFound(_))));
    assert!(matches!(db.delete_vector("notes", "a"), Err(Error::NotFound(_))));
    assert_eq!(db.search_knn("notes", &[0.0; 3], 5, &SearchOptions::default()).unwrap().len(), 1);
    db.create_collection("other", 2, Metric::Cosine).unwrap();
    drop(db);
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let names: Vec<_> = db.list_collections().unwrap().into_iter().map(|c| (c.name, c.dimension, c.metric)).collect();
    assert_eq!(names, vec![("notes".into(), 3, Metric::L2), ("other".into(), 2, Metric::Cosine)]);
    assert_eq!(db.get_vector("notes", "b").unwrap().metadata["v"], "2");
    assert!(matches!(db.get_vector("notes", "a"), Err(Error::NotFound(_))));
    db.flush().unwrap();
    assert_eq!(db.count_vectors("notes").unwrap(), 1);
}

#[test]
fn bad_vector_input_is_rejected_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    assert!(matches!(db.create_collection("bad name", 3, Metric::L2), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.create_collection("x", 0, Metric::L2), Err(Error::InvalidArgument(_))));
    assert!(matches!("manhattan".parse::<Metric>(), Err(Error::InvalidArgument(_))));
    db.create_collection("c", 3, Metric::Cosine).unwrap();
    let none = BTreeMap::new();
    assert!(matches!(
        db.insert_vector("c", "a", &[1.0, 2.0], none.clone()),
        Err(Error::DimensionMismatch { expected: 3, got: 2 })
    ));
    assert!(matches!(db.insert_vector("c", "a", &[1.0, f32::NAN, 0.0], none.clone()), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.insert_vector("c", "", &[1.0, 0.0, 0.0], none.clone()), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.insert_vector("nope", "a", &[1.0, 0.0, 0.0], none.clone()), Err(Error::NotFound(_))));
    // One bad row fails the whole batch.
    let batch = vec![
        VectorRecord { id: "ok".into(), vector: vec![1.0, 0.0, 0.0], metadata: none.clone() },
        VectorRecord { id: "bad".into(), vector: vec![f32::INFINITY, 0.0, 0.0], metadata: none.clone() },
    ];
    assert!(db.insert_vectors("c", batch).is_err());
    assert_eq!(db.count_vectors("c").unwrap(), 0);
    assert!(matches!(
        db.search_knn("c", &[1.0, 0.0, 0.0], 0, &SearchOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.search_knn("c", &[1.0, 0.0], 1, &SearchOptions::default()),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(db.search_range("c", &[1.0, 0.0, 0.0], -1.0, 10, &SearchOptions::default()).unwrap().is_empty());
    assert!(matches!(
        db.search_range("c", &[1.0, 0.0, 0.0], 1.0, 0, &SearchOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.search_range("c", &[1.0, 0.0, 0.0], f32::NAN, 10, &SearchOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    // An id with quotes is data, not SQL.
    db.insert_vector("c", "x' OR '1'='1", &[1.0, 0.0, 0.0], none.clone()).unwrap();
    db.insert_vector("c", "y", &[0.0, 1.0, 0.0], none).unwrap();
    db.flush().unwrap();
    assert_eq!(db.get_vector("c", "x' OR '1'='1").unwrap().vector, vec![1.0, 0.0, 0.0]);
    db.delete_vector("c", "x' OR '1'='1").unwrap();
    db.flush().unwrap();
    assert_eq!(db.count_vectors("c").unwrap(), 1, "the quoted id deleted only itself");
}

#[test]
fn maintenance_builds_an_ann_index_and_new_rows_stay_visible() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { ann_index_threshold: 2000, ..quiet() }).unwrap();
    db.create_collection("big", 32, Metric::L2).unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    let data: Vec<(String, Vec<f32>)> =
        random_vectors(&mut rng, 3000, 32).into_iter().enumerate().map(|(i, v)| (format!("v{i}"), v)).collect();
    for chunk in data.chunks(1000) {
        db.insert_vectors("big", rows(chunk, |_| "x".into())).unwrap();
    }
    let report = db.compact().unwrap();
    let t = report.tables.iter().find(|t| t.table == "vec_big").unwrap();
    assert!(t.index_created, "{report:?}");
    let stats = db.stats().unwrap();
    assert!(stats.tables.iter().find(|t| t.name == "vec_big").unwrap().indices >= 2, "vector + id indexes");
    // A row written after the index is still found (flat search over unindexed rows).
    let newcomer = vec![0.5f32; 32];
    db.insert_vector("big", "newcomer", &newcomer, BTreeMap::new()).unwrap();
    db.flush().unwrap();
    assert_eq!(db.search_knn("big", &newcomer, 1, &SearchOptions::default()).unwrap()[0].id, "newcomer");
    // Recall of the indexed search against brute force.
    let mut all = data.clone();
    all.push(("newcomer".into(), newcomer));
    let mut found = 0;
    let queries = random_vectors(&mut rng, 20, 32);
    for q in &queries {
        let want: Vec<String> = brute_force(Metric::L2, &all, q, 10).into_iter().map(|w| w.0).collect();
        let opts = SearchOptions { nprobes: Some(20), refine_factor: Some(5), ..Default::default() };
        let got = db.search_knn("big", q, 10, &opts).unwrap();
        found += got.iter().filter(|h| want.contains(&h.id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.9, "recall@10 = {recall}");
}

/// A batch is one WAL record: one just over `MAX_RECORD_BYTES` is refused
/// before anything is logged, and a batch over `MAX_BATCH_ITEMS` likewise.
#[test]
fn a_batch_over_the_record_limit_is_refused_before_anything_is_logged() {
    use agentdb::limits::{MAX_BATCH_ITEMS, MAX_DIMENSION, MAX_RECORD_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    db.create_collection("big", MAX_DIMENSION, Metric::L2).unwrap();
    let lsn_before = db.stats().unwrap().last_lsn;
    let row_bytes = MAX_DIMENSION * 4;
    let rows_needed = MAX_RECORD_BYTES / row_bytes + 1;
    let vector = vec![0.5f32; MAX_DIMENSION];
    let batch: Vec<VectorRecord> = (0..rows_needed)
        .map(|i| VectorRecord { id: format!("v{i}"), vector: vector.clone(), metadata: BTreeMap::new() })
        .collect();
    match db.insert_vectors("big", batch) {
        Err(Error::PayloadTooLarge { size, limit }) => {
            assert_eq!(limit, MAX_RECORD_BYTES);
            assert!(size > limit && size < limit + 2 * row_bytes, "just over: {size}");
        }
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
    // A small batch of the same rows fits, and is logged as one record.
    let small: Vec<VectorRecord> = (0..3)
        .map(|i| VectorRecord { id: format!("s{i}"), vector: vector.clone(), metadata: BTreeMap::new() })
        .collect();
    assert_eq!(db.stats().unwrap().last_lsn, lsn_before, "nothing was logged");
    db.insert_vectors("big", small).unwrap();
    assert_eq!(db.stats().unwrap().last_lsn, lsn_before + 1);
    assert_eq!(db.count_vectors("big").unwrap(), 3);

    db.create_collection("many", 1, Metric::L2).unwrap();
    let too_many: Vec<VectorRecord> = (0..=MAX_BATCH_ITEMS)
        .map(|i| VectorRecord { id: format!("m{i}"), vector: vec![1.0], metadata: BTreeMap::new() })
        .collect();
    assert!(matches!(db.insert_vectors("many", too_many), Err(Error::InvalidArgument(_))));
    assert_eq!(db.count_vectors("many").unwrap(), 0);
    assert_eq!(db.stats().unwrap().last_lsn, lsn_before + 1);
}

//! RAG on real LanceDB with the real model: a small mixed English/Chinese corpus.

use std::time::Duration;

use agentdb::{AgentDb, DocFilter, Error, Fusion, NewDocument, Options};

fn quiet() -> Options {
    Options { flush_interval: Duration::from_secs(3600), maintenance_interval: None, ..Options::default() }
}

const CORPUS: [(&str, &str, &str); 5] = [
    ("allergy", "en", "Peanut allergy is one of the most common food allergies. People with a peanut allergy must avoid peanuts and foods cooked in peanut oil. An epinephrine auto-injector treats severe reactions."),
    ("trains", "en", "High-speed trains connect Paris and Lyon in about two hours. Window seats are popular; book early for the best fares. Trains leave from Gare de Lyon every hour."),
    ("ml-zh", "zh", "机器学习是人工智能的一个分支。它让计算机从数据中学习规律，而不需要明确的编程。深度学习使用多层神经网络来处理图像和语音。"),
    ("tea-zh", "zh", "绿茶是中国最受欢迎的饮品之一。龙井茶产自杭州西湖，味道清香。泡茶的水温最好在八十度左右。"),
    ("hiking", "en", "Hiking in the Alps in summer requires good boots, water and a map. Mountain weather changes quickly, so bring a rain jacket."),
];

fn load(db: &AgentDb) {
    for (id, lang, text) in CORPUS {
        db.index_document(NewDocument::new(id, text).title(id).metadata("lang", lang)).unwrap();
    }
}

fn top_doc(hits: &[agentdb::ChunkHit]) -> &str {
    hits.first().map(|h| h.doc_id.as_str()).unwrap_or("<none>")
}

#[test]
fn semantic_full_text_and_hybrid_search_in_english_and_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    load(&db);
    let any = DocFilter::default();
    // Semantic search sees the documents before any flush (memtable).
    assert_eq!(db.stats().unwrap().tables.iter().find(|t| t.name == "chunks").unwrap().rows, 0);
    assert_eq!(
        top_doc(&db.semantic_search("what should someone with a nut allergy avoid?", 3, &any).unwrap()),
        "allergy"
    );
    assert_eq!(top_doc(&db.semantic_search("how long is the train from Paris to Lyon", 3, &any).unwrap()), "trains");
    // Full text: English with stemming, Chinese by word segmentation.
    assert_eq!(top_doc(&db.full_text_search("peanuts", 3, &any).unwrap()), "allergy");
    assert_eq!(top_doc(&db.full_text_search("trains window seats", 3, &any).unwrap()), "trains");
    let zh = db.full_text_search("神经网络", 3, &any).unwrap();
    assert_eq!(top_doc(&zh), "ml-zh", "{zh:?}");
    assert_eq!(top_doc(&db.full_text_search("龙井茶", 3, &any).unwrap()), "tea-zh");
    assert!(db.full_text_search("zeppelin", 3, &any).unwrap().is_empty());
    // Hybrid, both fusions.
    for fusion in [Fusion::Weighted { alpha: 0.5 }, Fusion::ReciprocalRank] {
        let hits = db.hybrid_search("mountain boots rain jacket", None, 3, fusion, &any).unwrap();
        assert_eq!(top_doc(&hits), "hiking", "{fusion:?}");
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
    let zh = db.hybrid_search("杭州 绿茶", None, 2, Fusion::Weighted { alpha: 0.3 }, &any).unwrap();
    assert_eq!(top_doc(&zh), "tea-zh");
    // Filters: by document id and by document metadata.
    let only = DocFilter { doc_ids: vec!["trains".into()], ..Default::default() };
    let hits = db.semantic_search("peanut allergy", 5, &only).unwrap();
    assert!(hits.iter().all(|h| h.doc_id == "trains") && !hits.is_empty());
    let zh_only = DocFilter { metadata: [("lang".to_string(), "zh".to_string())].into(), ..Default::default() };
    let hits = db.semantic_search("food and drink", 5, &zh_only).unwrap();
    assert!(hits.iter().all(|h| h.doc_id.ends_with("-zh")), "{hits:?}");
    let hits = db.full_text_search("peanuts", 5, &zh_only).unwrap();
    assert!(hits.is_empty());
    // Results carry positions that point into the document.
    let h = &db.full_text_search("epinephrine", 1, &any).unwrap()[0];
    assert_eq!((h.chunk_id.as_str(), h.position), ("allergy#0", 0));
    assert!(h.content.contains("epinephrine"));
}

#[test]
fn reindex_replaces_chunks_and_delete_removes_them_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), Options { chunk_chars: 80, chunk_overlap: 10, ..quiet() }).unwrap();
    let long = "Lance is a columnar format. ".repeat(20);
    let info = db.index_document(NewDocument::new("doc", long.clone())).unwrap();
    assert!(info.chunk_count > 5, "{info:?}");
    db.flush().unwrap();
    let info2 =
        db.index_document(NewDocument::new("doc", "Now the document is about penguins in Antarctica.")).unwrap();
    assert_eq!(info2.chunk_count, 1);
    assert_eq!(db.get_document("doc").unwrap().chunk_count, 1);
    assert!(db.full_text_search("columnar", 10, &DocFilter::default()).unwrap().is_empty(), "old chunks gone");
    assert_eq!(top_doc(&db.full_text_search("penguins", 10, &DocFilter::default()).unwrap()), "doc");
    drop(db);
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    assert_eq!(db.get_document("doc").unwrap().chunk_count, 1);
    assert_eq!(db.stats().unwrap().tables.iter().find(|t| t.name == "chunks").unwrap().rows, 1);
    db.delete_document("doc").unwrap();
    assert!(matches!(db.get_document("doc"), Err(Error::NotFound(_))));
    assert!(db.semantic_search("penguins", 5, &DocFilter::default()).unwrap().is_empty(), "hidden before flush");
    db.flush().unwrap();
    assert!(db.full_text_search("penguins", 5, &DocFilter::default()).unwrap().is_empty());
    assert!(matches!(db.delete_document("doc"), Err(Error::NotFound(_))));
}

#[test]
fn bad_rag_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), quiet()).unwrap();
    let any = DocFilter::default();
    assert!(matches!(db.index_document(NewDocument::new("d", "   ")), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.index_document(NewDocument::new("", "text")), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.index_document(NewDocument::new("a#b", "text")), Err(Error::InvalidArgument(_))));
    let mut wrong = NewDocument::new("d", "one chunk only");
    wrong.chunk_vectors = Some(vec![vec![0.1; 384], vec![0.1; 384]]);
    assert!(matches!(db.index_document(wrong), Err(Error::InvalidArgument(_))));
    let mut bad_dim = NewDocument::new("d", "one chunk only");
    bad_dim.chunk_vectors = Some(vec![vec![0.1; 3]]);
    assert!(matches!(db.index_document(bad_dim), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(db.full_text_search("", 3, &any), Err(Error::InvalidArgument(_))));
    assert!(matches!(db.semantic_search("x", 0, &any), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        db.hybrid_search("x", None, 3, Fusion::Weighted { alpha: 1.5 }, &any),
        Err(Error::InvalidArgument(_))
    ));
    assert!(db.full_text_search("anything", 3, &any).unwrap().is_empty(), "empty corpus: no results, no error");
    // Caller-supplied vectors need no model.
    let mut own = NewDocument::new("own", "caller embedded this");
    own.chunk_vectors = Some(vec![vec![0.05; 384]]);
    db.index_document(own).unwrap();
    assert_eq!(db.semantic_search_vector(&[0.05; 384], 1, &any).unwrap()[0].doc_id, "own");
    assert!(matches!(
        AgentDb::open(dir.path().join("o"), Options { chunk_chars: 10, chunk_overlap: 10, ..quiet() }),
        Err(Error::InvalidArgument(_))
    ));
}

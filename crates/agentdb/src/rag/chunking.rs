//! Splitting text into overlapping chunks, counted in characters (Unicode
//! scalar values), never inside a code point. Near the size limit a chunk
//! prefers to end at a paragraph break, then a sentence end (Latin or CJK
//! punctuation), then whitespace; only text with none of those is cut hard.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub position: u32,
    /// Character offsets into the document: `[start_char, end_char)`.
    pub start_char: u64,
    pub end_char: u64,
    pub text: String,
}

/// A break is searched for in the last this fraction of a chunk.
const BREAK_WINDOW_NUM: usize = 2;
const BREAK_WINDOW_DEN: usize = 5;

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | ';' | '…')
}

/// Chunks of at most `size` characters; consecutive chunks share `overlap`
/// characters (less when a chunk ended early at a boundary). `overlap < size`.
pub fn chunk_text(text: &str, size: usize, overlap: usize) -> Vec<Chunk> {
    assert!(size > 0 && overlap < size, "validated by the caller");
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut start = 0usize;
    while start < n {
        let hard_end = (start + size).min(n);
        let end = if hard_end == n { n } else { best_break(&chars, start, hard_end, size) };
        let piece: String = chars[start..end].iter().collect();
        if !piece.trim().is_empty() {
            out.push(Chunk { position: out.len() as u32, start_char: start as u64, end_char: end as u64, text: piece });
        }
        if end == n {
            break;
        }
        // Always move forward, even when the break left less than `overlap` behind.
        start = end.saturating_sub(overlap).max(start + 1);
    }
    out
}

fn best_break(chars: &[char], start: usize, hard_end: usize, size: usize) -> usize {
    let window_start = (hard_end - size * BREAK_WINDOW_NUM / BREAK_WINDOW_DEN).max(start + 1);
    let range = window_start..hard_end;
    // Paragraph break: end after "\n\n".
    if let Some(i) = range.clone().rev().find(|&i| chars[i] == '\n' && i > 0 && chars[i - 1] == '\n') {
        return i + 1;
    }
    // Sentence end: after the punctuation (and CJK needs no following space).
    if let Some(i) = range.clone().rev().find(|&i| {
        is_sentence_end(chars[i]) && (chars.get(i + 1).is_none_or(|c| c.is_whitespace()) || !chars[i].is_ascii())
    }) {
        return i + 1;
    }
    if let Some(i) = range.rev().find(|&i| chars[i].is_whitespace()) {
        return i + 1;
    }
    hard_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        let c = chunk_text("hello world", 512, 50);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].start_char, c[0].end_char, c[0].text.as_str()), (0, 11, "hello world"));
        assert!(chunk_text("", 512, 50).is_empty());
        assert!(chunk_text("   \n ", 512, 50).is_empty());
    }

    #[test]
    fn prefers_paragraph_then_sentence_boundaries() {
        let text = format!("{}\n\n{}", "a".repeat(80), "b".repeat(80));
        let c = chunk_text(&text, 100, 10);
        assert!(c[0].text.ends_with("\n\n"), "{:?}", c[0].text);
        let text = format!("{}. {}", "word ".repeat(18).trim(), "next sentence goes on and on and on");
        let c = chunk_text(&text, 100, 10);
        assert!(c[0].text.ends_with('.'), "{:?}", c[0].text);
        let zh = "这是第一句话。".repeat(20);
        let c = chunk_text(&zh, 50, 5);
        assert!(c.iter().take(c.len() - 1).all(|ch| ch.text.ends_with('。')), "{c:?}");
    }

    /// Property check over random mixed-script texts: bounded size, full
    /// coverage in order, overlaps within bounds, offsets match the text.
    #[test]
    fn random_texts_keep_every_invariant() {
        let alphabet: Vec<char> = "abc xyz.\n!?,é中文字。，😀 ".chars().collect();
        let mut rng = fastrand::Rng::with_seed(42);
        for _ in 0..300 {
            let len = rng.usize(0..700);
            let text: String = (0..len).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
            let size = rng.usize(5..120);
            let overlap = rng.usize(0..size);
            let chars: Vec<char> = text.chars().collect();
            let chunks = chunk_text(&text, size, overlap);
            let mut covered_to = 0u64;
            for (i, c) in chunks.iter().enumerate() {
                assert_eq!(c.position as usize, i);
                assert!(c.end_char - c.start_char <= size as u64);
                assert!(
                    c.start_char <= covered_to
                        || chars[covered_to as usize..c.start_char as usize].iter().all(|ch| ch.is_whitespace())
                );
                let expected: String = chars[c.start_char as usize..c.end_char as usize].iter().collect();
                assert_eq!(c.text, expected);
                if i > 0 {
                    assert!(c.start_char > chunks[i - 1].start_char, "progress");
                    assert!(chunks[i - 1].end_char - c.start_char.min(chunks[i - 1].end_char) <= overlap as u64);
                }
                covered_to = covered_to.max(c.end_char);
            }
            if text.trim().is_empty() {
                assert!(chunks.is_empty());
            } else {
                let last_non_ws = chars.iter().rposition(|c| !c.is_whitespace()).unwrap() as u64;
                assert!(covered_to > last_non_ws, "all text covered");
            }
        }
    }
}

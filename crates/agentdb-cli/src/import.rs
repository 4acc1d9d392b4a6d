//! `agentdb import FILE.jsonl`: one JSON object per line, each with a
//! `kind`. Lines are applied in order; the first bad line stops the import
//! with its line number (the lines before it stay imported).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use agentdb::{Error, MemoryType, NewDocument, NewMemory, StateType};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::backend::{Backend, CliError};

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    State {
        agent_id: u64,
        #[serde(default = "default_session_id")]
        session_id: u64,
        #[serde(default = "default_state_type")]
        state_type: String,
        data: String,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        /// The version's key (`save_state_keyed`); absent or null: unkeyed.
        #[serde(default)]
        key: Option<String>,
    },
    Memory {
        agent_id: u64,
        #[serde(default = "default_memory_type")]
        memory_type: String,
        content: String,
        #[serde(default = "default_importance")]
        importance: f32,
        embedding: Option<Vec<f32>>,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
    Document {
        doc_id: String,
        #[serde(default)]
        title: String,
        text: String,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
    Vector {
        collection: String,
        id: String,
        vector: Vec<f32>,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
}

fn default_session_id() -> u64 {
    agentdb::defaults::SESSION_ID
}
fn default_state_type() -> String {
    agentdb::defaults::STATE_TYPE.as_str().into()
}
fn default_memory_type() -> String {
    agentdb::defaults::MEMORY_TYPE.as_str().into()
}
fn default_importance() -> f32 {
    agentdb::defaults::importance()
}

#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub lines: usize,
    pub states: usize,
    pub memories: usize,
    pub documents: usize,
    pub vectors: usize,
}

pub fn run(db: &dyn Backend, file: &Path) -> Result<ImportReport, CliError> {
    let (reader, total): (Box<dyn Read>, u64) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), 0)
    } else {
        let f = std::fs::File::open(file)?;
        let len = f.metadata()?.len();
        (Box::new(f), len)
    };
    let bar = if total > 0 { ProgressBar::new(total) } else { ProgressBar::new_spinner() };
    bar.set_style(
        ProgressStyle::with_template("  importing {bar:30} {bytes}/{total_bytes} {msg}").expect("valid template"),
    );
    let mut report = ImportReport::default();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        // A bad line is bad input, named by its number; a server's refusal
        // keeps its code (an auth or availability error is not the line's fault).
        let at = |e: CliError| match e {
            CliError::Engine(e) => CliError::Engine(Error::InvalidArgument(format!("line {}: {e}", i + 1))),
            CliError::Server { code, message } => {
                CliError::Server { code, message: format!("line {}: {message}", i + 1) }
            }
            other => other,
        };
        let parsed: Line =
            serde_json::from_str(&line).map_err(|e| Error::InvalidArgument(format!("line {}: {e}", i + 1)))?;
        match parsed {
            Line::State { agent_id, session_id, state_type, data, metadata, key } => {
                let t: StateType = state_type.parse().map_err(|e: Error| at(e.into()))?;
                db.save_state(agent_id, session_id, t, data.as_bytes(), metadata, key.as_deref()).map_err(at)?;
                report.states += 1;
            }
            Line::Memory { agent_id, memory_type, content, importance, embedding, metadata } => {
                let t: MemoryType = memory_type.parse().map_err(|e: Error| at(e.into()))?;
                let mut m = NewMemory::new(agent_id, t, content).importance(importance);
                m.embedding = embedding;
                m.metadata = metadata;
                db.store_memory_outcome(m).map_err(at)?;
                report.memories += 1;
            }
            Line::Document { doc_id, title, text, metadata } => {
                let mut d = NewDocument::new(doc_id, text).title(title);
                d.metadata = metadata;
                db.index_document(d).map_err(at)?;
                report.documents += 1;
            }
            Line::Vector { collection, id, vector, metadata } => {
                db.insert_vector(&collection, &id, &vector, metadata).map_err(at)?;
                report.vectors += 1;
            }
        }
        report.lines += 1;
    }
    bar.finish_and_clear();
    Ok(report)
}

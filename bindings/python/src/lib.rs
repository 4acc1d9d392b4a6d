//! `agentdb._native`: the Python surface of the AgentDB engine, built with
//! PyO3. Conversion and error mapping only — every rule lives in the engine.
//! Every engine call runs with the GIL released, so other Python threads
//! (and asyncio's worker threads) run while the engine works.
//!
//! The public API is the pure-Python package around this module
//! (`bindings/python/agentdb`, contract in `bindings/python/API.md`).

#![deny(clippy::unwrap_used)]
#![deny(unsafe_op_in_unsafe_fn)]

mod arrow;
mod convert;
mod database;
mod errors;
mod results;

use pyo3::prelude::*;

/// Every default of the engine (`agentdb::defaults`): what an argument left
/// out becomes on every surface, and `options`, the values of
/// `Options::default()` under `connect()`'s names. The package's signatures
/// read their defaults from here.
#[pyfunction]
fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    convert::report_to_py(py, serde_json::to_value(agentdb::defaults::defaults()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::Database>()?;
    m.add_class::<arrow::ArrowStream>()?;
    results::register(m)?;
    m.add_function(wrap_pyfunction!(database::_vector_is_borrowed, m)?)?;
    m.add_function(wrap_pyfunction!(database::_item_filter_matches, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::_arrow_of, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

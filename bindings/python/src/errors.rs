//! Engine errors become the Python exceptions of `agentdb.errors`, chosen by
//! `Error::code()` — the same stable names the C ABI and the CLI use, so the
//! surfaces never drift. The classes are defined in Python (some need two
//! bases, e.g. `InvalidArgumentError(AgentDBError, ValueError)`, which a
//! PyO3-created exception cannot have).

use pyo3::exceptions::PyRuntimeError;
use pyo3::marker::Ungil;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static FROM_ENGINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for an engine error (`agentdb.errors._from_engine`).
pub fn to_py(py: Python<'_>, e: agentdb::Error) -> PyErr {
    coded(py, e.code(), &e.to_string())
}

/// The exception class of an engine error code, with this message.
pub fn coded(py: Python<'_>, code: &str, message: &str) -> PyErr {
    let made = FROM_ENGINE.import(py, "agentdb.errors", "_from_engine").and_then(|make| make.call1((code, message)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        // Only reachable if agentdb.errors itself is broken; keep the message.
        Err(import_failed) => {
            let err = PyRuntimeError::new_err(format!("{code} ({message})"));
            err.set_cause(py, Some(import_failed));
            err
        }
    }
}

/// `InvalidArgumentError` for input the binding rejects while converting it.
pub fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_py(py, agentdb::Error::InvalidArgument(message.into()))
}

/// Runs engine work with the GIL released and maps its error.
pub fn run<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Ungil + FnOnce() -> agentdb::Result<T>,
    T: Ungil + Send,
{
    py.detach(work).map_err(|e| to_py(py, e))
}

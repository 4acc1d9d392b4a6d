//! Python values in, engine values out. Only shapes and Python types are
//! checked here; every rule on the values (dimensions, finiteness, ranges)
//! is the engine's, so each surface reports the same error for the same
//! input.

use std::ptr::NonNull;

use pyo3::buffer::{PyBuffer, PyUntypedBuffer};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::invalid;

/// A non-negative Python int for ids, versions and counts. Out-of-range
/// values (negative, ≥ 2**64) are `InvalidArgumentError`, not
/// `OverflowError`; a non-int stays a `TypeError`.
pub struct Int<T>(pub T);

macro_rules! int_arg {
    ($t:ty, $range:literal) => {
        impl<'a, 'py> FromPyObject<'a, 'py> for Int<$t> {
            type Error = PyErr;
            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                match obj.extract::<$t>() {
                    Ok(v) => Ok(Int(v)),
                    Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                        Err(invalid(obj.py(), format!("{} is outside {}", &*obj, $range)))
                    }
                    Err(e) => Err(e),
                }
            }
        }
    };
}

int_arg!(u64, "0..=2**64-1");
int_arg!(u32, "0..=2**32-1");
int_arg!(usize, "0..=2**64-1");
int_arg!(i64, "-2**63..=2**63-1");

pub fn opt<T>(v: Option<Int<T>>) -> Option<T> {
    v.map(|i| i.0)
}

/// Text and bytes are sequences in Python, but never vectors.
fn reject_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<()> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a sequence of floats or a numpy float32 array, not {}",
            obj.get_type().name()?
        )));
    }
    Ok(())
}

/// One vector: a C-contiguous float32 buffer (numpy, array.array('f'),
/// memoryview) is read in place; anything else is copied once.
pub enum Vector {
    /// Borrowed from the exporter; the buffer keeps its memory alive and its
    /// shape fixed until dropped.
    Shared(PyBuffer<f32>, NonNull<[f32]>),
    Owned(Vec<f32>),
}

impl Vector {
    pub fn as_slice(&self) -> &[f32] {
        match self {
            // SAFETY: `ptr` points at the C-contiguous, aligned f32 memory of
            // `_buf` (checked by PyBuffer<f32> and as_slice_ptr), which stays
            // valid and fixed in size while `_buf` holds the export. Python
            // code writing into the array from another thread while the GIL
            // is released can change the values read, never their memory.
            Vector::Shared(_buf, ptr) => unsafe { ptr.as_ref() },
            Vector::Owned(v) => v,
        }
    }

    pub fn into_vec(self) -> Vec<f32> {
        match self {
            Vector::Shared(..) => self.as_slice().to_vec(),
            Vector::Owned(v) => v,
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Vector::Shared(..))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Vector {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        reject_text(&obj, "a vector")?;
        if let Ok(buf) = PyUntypedBuffer::get(&obj) {
            if buf.dimensions() != 1 {
                return Err(invalid(obj.py(), format!("a vector must be 1-dimensional, got shape {:?}", buf.shape())));
            }
            if let Some(v) = from_float_buffer(obj.py(), buf)? {
                return Ok(v);
            }
        }
        let values: Vec<f64> = obj.extract()?;
        Ok(Vector::Owned(values.into_iter().map(|x| x as f32).collect()))
    }
}

/// Whether the buffer's elements are in this machine's byte order. PyO3
/// 0.30's format check takes `>` (big-endian) for native on little-endian
/// machines, so a byte-swapped array would be read as garbage; such buffers
/// take the sequence path instead (numpy converts each element).
fn native_byte_order(buf: &PyUntypedBuffer) -> bool {
    match buf.format().to_bytes().first() {
        Some(b'>' | b'!') => cfg!(target_endian = "big"),
        Some(b'<') => cfg!(target_endian = "little"),
        _ => true,
    }
}

/// A float32 or float64 buffer as a vector; `None` for other element types
/// (ints, …) and foreign byte orders, which take the sequence path.
fn from_float_buffer(py: Python<'_>, buf: PyUntypedBuffer) -> PyResult<Option<Vector>> {
    if !native_byte_order(&buf) {
        return Ok(None);
    }
    if let Ok(f) = buf.as_typed::<f32>() {
        if let Some(ptr) = f.as_slice_ptr() {
            let typed = buf.into_typed::<f32>()?;
            return Ok(Some(Vector::Shared(typed, ptr)));
        }
        return Ok(Some(Vector::Owned(f.to_vec(py)?)));
    }
    if let Ok(d) = buf.as_typed::<f64>() {
        return Ok(Some(Vector::Owned(d.to_vec(py)?.into_iter().map(|x| x as f32).collect())));
    }
    Ok(None)
}

/// Many vectors: a 2-D float buffer (numpy `(n, dim)`) or a sequence of vectors.
pub struct Matrix(pub Vec<Vec<f32>>);

impl<'a, 'py> FromPyObject<'a, 'py> for Matrix {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        let py = obj.py();
        reject_text(&obj, "vectors")?;
        if let Ok(buf) = PyUntypedBuffer::get(&obj) {
            if buf.dimensions() == 2 {
                let (rows, dim) = (buf.shape()[0], buf.shape()[1]);
                let flat: Option<Vec<f32>> = if !native_byte_order(&buf) {
                    None
                } else if let Ok(f) = buf.as_typed::<f32>() {
                    Some(f.to_vec(py)?)
                } else if let Ok(d) = buf.as_typed::<f64>() {
                    Some(d.to_vec(py)?.into_iter().map(|x| x as f32).collect())
                } else {
                    None
                };
                if let Some(flat) = flat {
                    if dim == 0 {
                        return Ok(Matrix(vec![Vec::new(); rows]));
                    }
                    return Ok(Matrix(flat.chunks_exact(dim).map(<[f32]>::to_vec).collect()));
                }
            } else if buf.dimensions() != 1 || buf.item_count() > 0 {
                return Err(invalid(py, format!("vectors must be 2-dimensional, got shape {:?}", buf.shape())));
            }
        }
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(item?.extract::<Vector>()?.into_vec());
        }
        Ok(Matrix(out))
    }
}

/// State payloads: `bytes` is read in place; other bytes-like objects
/// (bytearray, memoryview, numpy uint8) are copied once.
pub enum Data<'py> {
    Bytes(Bound<'py, PyBytes>),
    Copied(Vec<u8>),
}

impl Data<'_> {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Data::Bytes(b) => b.as_bytes(),
            Data::Copied(v) => v,
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Data<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Data::Bytes(b.to_owned()));
        }
        let type_error = || -> PyResult<PyErr> {
            Ok(PyTypeError::new_err(format!(
                "state data must be bytes-like (bytes, bytearray, memoryview), not {}",
                obj.get_type().name()?
            )))
        };
        if obj.is_instance_of::<PyString>() {
            return Err(type_error()?);
        }
        match PyBuffer::<u8>::get(&obj) {
            Ok(buf) => Ok(Data::Copied(buf.to_vec(obj.py())?)),
            Err(_) => Err(type_error()?),
        }
    }
}

/// A JSON-shaped engine report (stats, flush, compact) as Python dicts/lists.
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `report` is `serde_json::to_value(&engine_report)`.
pub fn report_to_py<'py>(
    py: Python<'py>,
    report: serde_json::Result<serde_json::Value>,
) -> PyResult<Bound<'py, PyAny>> {
    match report {
        Ok(v) => json_to_py(py, &v),
        Err(e) => Err(crate::errors::to_py(py, agentdb::Error::Io(std::io::Error::other(e)))),
    }
}

/// How many containers (dicts, lists, tuples) deep a Python value may nest to
/// become JSON: a guard for this conversion's stack, which recurses once per
/// level. serde_json, which reads stored values back, refuses 128 levels.
const MAX_JSON_DEPTH: usize = 127;

/// A JSON-able Python value (dict with str keys, list, tuple, str, int,
/// float, bool, None) as JSON, converted in one pass. Other types are a
/// `TypeError`, as for `json.dumps`; NaN, infinities and ints outside
/// -2**63..2**64-1 have no JSON form and are `InvalidArgumentError`.
pub fn py_to_json(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    to_json(obj, what, 0)
}

fn to_json(obj: &Bound<'_, PyAny>, what: &str, depth: usize) -> PyResult<serde_json::Value> {
    use serde_json::{Map, Number, Value};
    let py = obj.py();
    let nest = || {
        if depth >= MAX_JSON_DEPTH {
            return Err(invalid(py, format!("{what} nests more than {MAX_JSON_DEPTH} containers deep")));
        }
        Ok(depth + 1)
    };
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid(py, format!("{what}: the integer {obj} is outside JSON's range (-2**63..2**64-1)")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| invalid(py, format!("{what}: {x} is not a JSON number")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let inner = nest()?;
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Ok(k) = k.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "{what}: JSON object keys must be str, not {}",
                    k.get_type().name()?
                )));
            };
            map.insert(k.to_str()?.to_owned(), to_json(&v, what, inner)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let inner = nest()?;
        return l.iter().map(|v| to_json(&v, what, inner)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let inner = nest()?;
        return t.iter().map(|v| to_json(&v, what, inner)).collect::<PyResult<_>>().map(Value::Array);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be JSON-able (dict, list, tuple, str, int, float, bool, None), not {}",
        obj.get_type().name()?
    )))
}

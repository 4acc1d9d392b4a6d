//! Value filters of an item search, evaluated in the engine on each
//! candidate's decoded JSON (after the namespace range and metadata
//! prefilter narrowed the rows Lance returns), before offset and limit: a
//! page and its `total` are exact.
//!
//! The language is LangGraph's store filter (what `InMemoryStore` and
//! `SqliteStore` accept), defined here once:
//!
//! - A filter is a JSON object; every entry must hold. An entry's key names
//!   a top-level field of the item's value (a missing field reads as null).
//! - A condition that is an object with `$`-keys applies each operator:
//!   `$eq`, `$ne` (any JSON), `$gt`, `$gte`, `$lt`, `$lte` (numbers compare
//!   as numbers, strings by code point; any other pairing never matches).
//! - A condition that is an object without `$`-keys matches an object value
//!   field by field (recursively, extra fields allowed).
//! - An array matches an array of the same length, element by element.
//! - Anything else is equality; numbers compare by value (1 equals 1.0).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::{Error, Result};

const OPERATORS: [&str; 6] = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"];

/// Checks a filter's shape once, before any row is read: bad input is a
/// typed error, never "no match".
pub fn validate(filter: &Value) -> Result<()> {
    let Value::Object(entries) = filter else {
        return Err(Error::invalid("an item filter must be a JSON object"));
    };
    for cond in entries.values() {
        validate_condition(cond)?;
    }
    Ok(())
}

fn validate_condition(cond: &Value) -> Result<()> {
    match cond {
        Value::Object(m) if has_operators(m) => {
            for (op, operand) in m {
                if !OPERATORS.contains(&op.as_str()) {
                    return Err(Error::invalid(format!(
                        "unknown filter operator {op:?} (expected one of {})",
                        OPERATORS.join(", ")
                    )));
                }
                if op != "$eq" && op != "$ne" && !matches!(operand, Value::Number(_) | Value::String(_)) {
                    return Err(Error::invalid(format!("filter operator {op} takes a number or a string")));
                }
            }
            Ok(())
        }
        Value::Object(m) => m.values().try_for_each(validate_condition),
        Value::Array(items) => items.iter().try_for_each(validate_condition),
        _ => Ok(()),
    }
}

fn has_operators(m: &Map<String, Value>) -> bool {
    m.keys().any(|k| k.starts_with('$'))
}

/// Whether `value` (an item's value) passes `filter` (validated).
pub fn matches(value: &Value, filter: &Value) -> bool {
    let Value::Object(entries) = filter else { return false };
    entries.iter().all(|(field, cond)| condition(value.get(field).unwrap_or(&Value::Null), cond))
}

fn condition(value: &Value, cond: &Value) -> bool {
    match cond {
        Value::Object(m) if has_operators(m) => m.iter().all(|(op, operand)| operator(value, op, operand)),
        Value::Object(m) => match value {
            Value::Object(v) => m.iter().all(|(k, c)| condition(v.get(k).unwrap_or(&Value::Null), c)),
            _ => false,
        },
        Value::Array(cs) => match value {
            Value::Array(vs) => vs.len() == cs.len() && vs.iter().zip(cs).all(|(v, c)| condition(v, c)),
            _ => false,
        },
        _ => equal(value, cond),
    }
}

fn operator(value: &Value, op: &str, operand: &Value) -> bool {
    match op {
        "$eq" => equal(value, operand),
        "$ne" => !equal(value, operand),
        _ => match compare(value, operand) {
            Some(o) => match op {
                "$gt" => o == Ordering::Greater,
                "$gte" => o != Ordering::Less,
                "$lt" => o == Ordering::Less,
                "$lte" => o != Ordering::Greater,
                _ => false,
            },
            None => false,
        },
    }
}

/// JSON equality with numbers compared by value (serde_json's own `==`
/// tells the integer 1 from the float 1.0).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare(a, b) == Some(Ordering::Equal) || x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return Some(x.cmp(&y));
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return Some(x.cmp(&y));
            }
            x.as_f64()?.partial_cmp(&y.as_f64()?)
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_filter_language() {
        let v = json!({"n": 3, "f": 2.5, "s": "b", "tags": ["x", "y"], "o": {"a": 1, "b": {"c": true}}, "z": null});
        let yes = [
            json!({}),
            json!({"n": 3}),
            json!({"n": 3.0}),
            json!({"n": {"$gt": 2, "$lte": 3}}),
            json!({"f": {"$gte": 2.5}}),
            json!({"s": {"$lt": "c"}}),
            json!({"s": {"$ne": "a"}}),
            json!({"missing": {"$ne": 1}}),
            json!({"missing": null}),
            json!({"z": null}),
            json!({"tags": ["x", "y"]}),
            json!({"o": {"b": {"c": true}}}),
            json!({"o": {"a": {"$eq": 1}}}),
        ];
        for f in yes {
            validate(&f).unwrap();
            assert!(matches(&v, &f), "{f} should match");
        }
        let no = [
            json!({"n": 4}),
            json!({"n": {"$gt": 3}}),
            json!({"n": {"$gt": "3"}}),
            json!({"s": {"$gt": 1}}),
            json!({"tags": ["x"]}),
            json!({"tags": ["y", "x"]}),
            json!({"o": {"a": 2}}),
            json!({"o": 1}),
            json!({"missing": 1}),
            json!({"missing": {"$gt": 0}}),
        ];
        for f in no {
            validate(&f).unwrap();
            assert!(!matches(&v, &f), "{f} should not match");
        }
    }

    #[test]
    fn bad_filters_are_typed_errors() {
        for f in [
            json!([1]),
            json!("x"),
            json!({"a": {"$regex": "x"}}),
            json!({"a": {"$gt": [1]}}),
            json!({"a": {"$lt": null}}),
        ] {
            assert!(matches!(validate(&f), Err(Error::InvalidArgument(_))), "{f}");
        }
    }
}

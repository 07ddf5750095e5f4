//! Reading user JSON files (annotations, detection results, classifier scores) so that every
//! failure names the file and the JSON path (`database.<id>.annotations[3].segment`).
//!
//! Relies on `serde_json` for the syntax and on `serde_path_to_error` for the path of a failing value.
//! It also holds [`Ordered`], a JSON object kept in file order: `serde_json::Map` sorts its keys, but
//! the order of a result file decides how equal scores are ranked, so lofi keeps it.
//! It does not validate meaning (segment order, known labels): the format modules do that.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::{Error, Result};

/// Reads and parses a whole JSON file into `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_json(path, &bytes)
}

/// Parses `bytes` (the content of `path`, which is only used in errors) into `T`.
pub fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let location = match e.path().to_string().as_str() {
            "." => "top level".to_string(),
            p => p.to_string(),
        };
        parse_error(path, location, e.into_inner().to_string())
    })?;
    de.end()
        .map_err(|e| parse_error(path, "end of file".into(), e.to_string()))?;
    Ok(value)
}

/// An error about the value at `location` in the JSON file `path`.
pub fn parse_error(path: &Path, location: String, msg: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        location,
        msg: msg.into(),
    }
}

/// A JSON object whose entries stay in file order. Duplicate keys are an error: Python's `json`
/// silently keeps the last one, which would hide a broken file.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

struct OrderedVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
    type Value = Ordered<V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Ordered(entries))
    }
}

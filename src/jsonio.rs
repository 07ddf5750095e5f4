//! Reading user JSON files (annotations, detection results, classifier scores) so that every
//! failure names the file and the JSON path (`database.<id>.annotations[3].segment`).
//!
//! Relies on `serde_json` for the syntax and on `serde_path_to_error` for the path of a failing value.
//! It also holds [`Ordered`] (read) and [`InOrder`] (write), a JSON object kept in file order: `serde_json::Map` sorts its keys, but
//! the order of a result file decides how equal scores are ranked, so lofi keeps it.
//! Keys a format does not know are collected as [`UnknownKey`]s (through `serde_ignored`) rather
//! than dropped in silence: a misspelt `annotations` would otherwise empty a video. Messages quote
//! at most [`EXCERPT_BYTES`] of the offending input ([`excerpt`]), so a 1 MB string in a file never
//! becomes a 1 MB error line.
//! It does not validate meaning (segment order, known labels): the format modules do that.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// Reads and parses a whole JSON file into `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_json(path, &bytes)
}

/// Parses `bytes` (the content of `path`, which is only used in errors) into `T`; keys that `T`
/// does not know are ignored (see [`parse_json_reporting`] to hear about them).
pub fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    parse_json_reporting(path, bytes).map(|(value, _)| value)
}

/// Parses like [`parse_json`] and also returns every key that `T` does not know, in file order.
pub fn parse_json_reporting<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<(T, Vec<UnknownKey>)> {
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut note = |p: serde_ignored::Path| unknown.push(UnknownKey::from_path(&p));
    let value =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(&mut de, &mut note)).map_err(|e| {
            let location = match e.path().to_string().as_str() {
                "." => "top level".to_string(),
                p => p.to_string(),
            };
            parse_error(path, location, e.into_inner().to_string())
        })?;
    de.end().map_err(|e| parse_error(path, "end of file".into(), e.to_string()))?;
    Ok((value, unknown))
}

/// An error about the value at `location` in the JSON file `path`. Both texts are cut to an
/// excerpt: they may quote the file (a key, a string value).
pub fn parse_error(path: &Path, location: String, msg: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), location: excerpt(&location), msg: excerpt(&msg.into()) }
}

/// The most bytes of user input a message quotes.
pub const EXCERPT_BYTES: usize = 300;

/// `text` itself when short, else its first [`EXCERPT_BYTES`] (cut at a character boundary) and
/// how much was left out.
pub fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT_BYTES {
        return text.to_string();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

/// `text` itself when at most `2 * EXCERPT_BYTES` long, else its first and last
/// [`EXCERPT_BYTES`] with how much was left out between them. For whole error messages: they may
/// quote long user input (paths, values) in the middle, and the advice they end with must survive.
pub fn excerpt_middle(text: &str) -> String {
    if text.len() <= 2 * EXCERPT_BYTES {
        return text.to_string();
    }
    let mut head = EXCERPT_BYTES;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - EXCERPT_BYTES;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} … ({} bytes left out) … {}", &text[..head], tail - head, &text[tail..])
}

#[cfg(test)]
mod excerpt_tests {
    use super::*;

    #[test]
    fn a_middle_excerpt_keeps_both_ends_and_is_bounded() {
        let text = format!("start {} end: pass --force", "é".repeat(400));
        let cut = excerpt_middle(&text);
        assert!(cut.starts_with("start ") && cut.ends_with("pass --force"), "{cut}");
        assert!(cut.len() < 2 * EXCERPT_BYTES + 60, "{}", cut.len());
        assert!(cut.contains("bytes left out"));
        assert_eq!(excerpt_middle("short"), "short");
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// A key that the reader does not know, with the path of the object holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Steps from the top level to the object that holds the key.
    pub parent: Vec<PathPart>,
    pub key: String,
}

impl UnknownKey {
    fn from_path(path: &serde_ignored::Path) -> Self {
        let mut parts = Vec::new();
        let mut at = path;
        loop {
            match at {
                serde_ignored::Path::Root => break,
                serde_ignored::Path::Seq { parent, index } => {
                    parts.push(PathPart::Index(*index));
                    at = parent;
                }
                serde_ignored::Path::Map { parent, key } => {
                    parts.push(PathPart::Key(key.clone()));
                    at = parent;
                }
                serde_ignored::Path::Some { parent }
                | serde_ignored::Path::NewtypeStruct { parent }
                | serde_ignored::Path::NewtypeVariant { parent } => at = parent,
            }
        }
        parts.reverse();
        let key = match parts.pop() {
            Some(PathPart::Key(k)) => k,
            Some(PathPart::Index(i)) => i.to_string(),
            None => String::new(),
        };
        UnknownKey { parent: parts, key }
    }

    /// The holding object's path (`database.v1.annotations[0]`, or `top level`), as an excerpt.
    pub fn location(&self) -> String {
        let mut out = String::new();
        for part in &self.parent {
            match part {
                PathPart::Key(k) if out.is_empty() => out.push_str(k),
                PathPart::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                PathPart::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("top level");
        }
        excerpt(&out)
    }

    /// The key that follows `top` at the start of the path: the video id of a key found under
    /// `database.<id>` (annotations) or `results.<id>` (result files).
    pub fn entry_under(&self, top: &str) -> Option<&str> {
        match self.parent.as_slice() {
            [PathPart::Key(t), PathPart::Key(id), ..] if t == top => Some(id),
            _ => None,
        }
    }

    /// `unknown key "segmnt" in database.v1.annotations[0]`.
    pub fn describe(&self) -> String {
        format!("unknown key {:?} in {}", excerpt(&self.key), self.location())
    }
}

/// `Err` naming the first unknown key (and how many there are) when `keys` is not empty: what
/// `--strict` makes of them.
pub fn refuse_unknown_keys(path: &Path, keys: &[UnknownKey]) -> Result<()> {
    match keys.first() {
        None => Ok(()),
        Some(first) => Err(parse_error(
            path,
            first.location(),
            format!(
                "unknown key {:?} ({} unknown key{} in the file; --strict refuses them)",
                excerpt(&first.key),
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            ),
        )),
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

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
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

/// Writes `(key, value)` pairs as a JSON object in the given order.
pub struct InOrder<'a, V>(pub &'a [(String, V)]);

impl<V: Serialize> Serialize for InOrder<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

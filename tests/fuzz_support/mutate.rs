//! Structure-aware mutation for the fuzz driver: `arbitrary::Unstructured` over random bytes
//! chooses, per input, between byte-level edits of a valid seed (bit flips, interesting values,
//! tokens of the format, deletions, duplications, truncation, splices) and edits of the seed's
//! structure — a JSON tree's keys and values, an `.npy` header's fields, a safetensors header, a
//! JPEG's marker segments — so that most inputs get past the first check of the reader and reach
//! the code behind it.

use arbitrary::{Result, Unstructured};
use serde_json::{json, Map, Value};

/// What the inputs of a reader look like.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// JSON whose objects use `keys` (the format's vocabulary).
    Json {
        keys: &'static [&'static str],
    },
    Npy,
    Safetensors {
        names: &'static [&'static str],
    },
    Jpeg,
    /// TOML whose tables and keys use `keys` (a configuration's vocabulary).
    Toml {
        keys: &'static [&'static str],
    },
}

const JSON_TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"1e400",
    b"-1e400",
    b"-0",
    b"1e-400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"NaN",
    b"Infinity",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"\\",
    b"0.30000000000000004",
    b"4.9e-324",
    b"[[[[[[[[[[[[[[[[",
    b"\xff\xfe",
    b"\"..\"",
    b"\"/\"",
];
const TOML_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"=",
    b"\"",
    b"'''",
    b"\"\"\"",
    b"\n",
    b"#",
    b".",
    b"inf",
    b"-inf",
    b"nan",
    b"1e400",
    b"0x7fffffffffffffff",
    b"18446744073709551616",
    b"-1",
    b"1979-05-27T07:32:00Z",
    b"{ a = 1 }",
    b"\\u0000",
    b"\xff",
];
const BIN_TOKENS: &[&[u8]] = &[
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x80",
    b"\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x93NUMPY",
    b"\xff\xd8",
    b"\xff\xd9",
    b"\xff\xc0",
    b"\xff\xc2",
    b"\xff\xc4",
    b"\xff\xda",
    b"\xff\xdb",
    b"'descr'",
    b"(",
    b")",
    b"{\"",
    b"\"dtype\"",
    b"\"shape\"",
    b"\"data_offsets\"",
];
const INTERESTING_U64: &[u64] = &[0, 1, 2, 127, 255, 256, 65535, 65536, 1 << 31, 1 << 32, 1 << 53, 1 << 63, u64::MAX];
const INTERESTING_F64: &[f64] = &[0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, 1e-300, 9007199254740993.0, 100.0];

/// One input for a reader: a mutation of one of `seeds` (or of several) under `shape`.
pub fn mutate(shape: Shape, seeds: &[Vec<u8>], u: &mut Unstructured) -> Result<Vec<u8>> {
    let seed = u.choose(seeds)?.clone();
    let mut input = match u.int_in_range(0u8..=9)? {
        0..=3 => bytes(shape, seed, u)?,
        4..=7 => structure(shape, &seed, u)?,
        8 => {
            let other = u.choose(seeds)?;
            splice(&seed, other, u)?
        }
        _ => u.arbitrary::<Vec<u8>>()?,
    };
    // Sometimes stack a second round of byte edits on a structural mutation.
    if u.ratio(1u8, 4)? {
        input = bytes(shape, input, u)?;
    }
    Ok(input)
}

fn tokens(shape: Shape) -> &'static [&'static [u8]] {
    match shape {
        Shape::Json { .. } => JSON_TOKENS,
        Shape::Toml { .. } => TOML_TOKENS,
        _ => BIN_TOKENS,
    }
}

/// 1–8 byte-level edits.
pub fn bytes(shape: Shape, mut b: Vec<u8>, u: &mut Unstructured) -> Result<Vec<u8>> {
    for _ in 0..u.int_in_range(1u8..=8)? {
        let len = b.len();
        let at = if len == 0 { 0 } else { u.int_in_range(0..=len - 1)? };
        match u.int_in_range(0u8..=7)? {
            0 if len > 0 => b[at] ^= 1 << u.int_in_range(0u8..=7)?,
            1 if len > 0 => b[at] = *u.choose(&[0u8, 0xff, 0x7f, 0x80, b'"', b'{', b'[', b'-', b'9', b'e', b'.'])?,
            2 => {
                let t = u.choose(tokens(shape))?;
                b.splice(at..at, t.iter().copied());
            }
            3 if len > 0 => {
                let end = u.int_in_range(at..=len.min(at + 64))?;
                b.drain(at..end);
            }
            4 if len > 0 => {
                let end = u.int_in_range(at..=len.min(at + 256))?;
                let piece = b[at..end].to_vec();
                let n = u.int_in_range(1usize..=8)?;
                for _ in 0..n {
                    b.splice(at..at, piece.iter().copied());
                }
            }
            5 => b.truncate(at),
            6 if len >= 8 => {
                let at = u.int_in_range(0..=len - 8)?;
                let v = *u.choose(INTERESTING_U64)?;
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                let extra: Vec<u8> = u.arbitrary()?;
                b.splice(at..at, extra.into_iter().take(32));
            }
        }
    }
    Ok(b)
}

fn splice(a: &[u8], b: &[u8], u: &mut Unstructured) -> Result<Vec<u8>> {
    let cut_a = u.int_in_range(0..=a.len())?;
    let cut_b = u.int_in_range(0..=b.len())?;
    Ok([&a[..cut_a], &b[cut_b..]].concat())
}

fn structure(shape: Shape, seed: &[u8], u: &mut Unstructured) -> Result<Vec<u8>> {
    match shape {
        Shape::Json { keys } => json_tree(seed, keys, u),
        Shape::Npy => npy(u),
        Shape::Safetensors { names } => safetensors(names, u),
        Shape::Jpeg => jpeg(seed, u),
        Shape::Toml { keys } => toml_tree(seed, keys, u),
    }
}

// ---- TOML ----------------------------------------------------------------------------------------

/// The JSON tree edits of `json_tree` on a TOML document: read as a tree, edited, written back as
/// TOML (or, when the edit made it unrepresentable in TOML — a null, a mixed array — as the JSON
/// text, which is then one more malformed input).
fn toml_tree(seed: &[u8], keys: &'static [&'static str], u: &mut Unstructured) -> Result<Vec<u8>> {
    let tree: Option<Value> = std::str::from_utf8(seed).ok().and_then(|t| toml::from_str(t).ok());
    let json = serde_json::to_vec(&tree.unwrap_or(Value::Null)).unwrap_or_default();
    let edited = json_tree(&json, keys, u)?;
    Ok(match serde_json::from_slice::<Value>(&edited).ok().and_then(|v| toml::to_string(&v).ok()) {
        Some(text) => text.into_bytes(),
        None => edited,
    })
}

// ---- JSON ----------------------------------------------------------------------------------------

fn arbitrary_number(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => json!(*u.choose(INTERESTING_F64)?),
        1 => json!(*u.choose(INTERESTING_U64)?),
        2 => json!(u.arbitrary::<i64>()?),
        _ => serde_json::Number::from_f64(u.arbitrary::<f64>()?).map(Value::Number).unwrap_or(Value::Null),
    })
}

fn arbitrary_string(keys: &[&str], u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => u.choose(keys)?.to_string(),
        1 => "x".repeat(u.int_in_range(0usize..=5000)?),
        2 => u.choose(&["", ".", "..", "a/b", "\u{0}", "92.5", " 1e3 ", "nan", "inf", "-1", "é"])?.to_string(),
        3 => u.arbitrary::<String>()?,
        _ => format!("{}", u.arbitrary::<f64>()?),
    })
}

fn arbitrary_value(keys: &[&str], depth: u8, u: &mut Unstructured) -> Result<Value> {
    let leaf = depth == 0 || u.ratio(1u8, 2)?;
    Ok(match u.int_in_range(0u8..=if leaf { 3 } else { 5 })? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => arbitrary_number(u)?,
        3 => Value::String(arbitrary_string(keys, u)?),
        4 => {
            let n = u.int_in_range(0usize..=4)?;
            Value::Array((0..n).map(|_| arbitrary_value(keys, depth - 1, u)).collect::<Result<_>>()?)
        }
        _ => {
            let mut m = Map::new();
            for _ in 0..u.int_in_range(0usize..=4)? {
                m.insert(arbitrary_string(keys, u)?, arbitrary_value(keys, depth - 1, u)?);
            }
            Value::Object(m)
        }
    })
}

/// JSON pointers of every node of `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    if out.len() > 2000 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                pointers(child, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Edits of the seed's JSON tree: a node replaced, removed or duplicated, a key misspelt or
/// swapped for another key of the format, a number made extreme.
fn json_tree(seed: &[u8], keys: &'static [&'static str], u: &mut Unstructured) -> Result<Vec<u8>> {
    let Ok(mut root) = serde_json::from_slice::<Value>(seed) else {
        return Ok(serde_json::to_vec(&arbitrary_value(keys, 4, u)?).unwrap_or_default());
    };
    for _ in 0..u.int_in_range(1u8..=4)? {
        let mut all = Vec::new();
        pointers(&root, String::new(), &mut all);
        let target = u.choose(&all)?.clone();
        let (parent, last) = match target.rfind('/') {
            Some(i) => (target[..i].to_string(), target[i + 1..].replace("~1", "/").replace("~0", "~")),
            None => (String::new(), String::new()),
        };
        match u.int_in_range(0u8..=4)? {
            0 => {
                if let Some(node) = root.pointer_mut(&target) {
                    *node = arbitrary_value(keys, 3, u)?;
                }
            }
            1 => {
                if let Some(node) = root.pointer_mut(&target) {
                    if node.is_number() || node.is_string() {
                        *node = arbitrary_number(u)?;
                    }
                }
            }
            2 => match root.pointer_mut(&parent) {
                Some(Value::Object(m)) => {
                    if let Some(v) = m.remove(&last) {
                        if u.arbitrary()? {
                            let renamed = if u.arbitrary()? {
                                u.choose(keys)?.to_string()
                            } else {
                                format!("{last}{}", u.choose(&["s", "_", "x"])?)
                            };
                            m.insert(renamed, v);
                        }
                    }
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            },
            3 => {
                if let Some(Value::Array(a)) = root.pointer_mut(&parent) {
                    if let Some(first) = a.first().cloned() {
                        for _ in 0..u.int_in_range(1usize..=50)? {
                            a.push(first.clone());
                        }
                    }
                }
            }
            _ => {
                if let Some(Value::Object(m)) = root.pointer_mut(&parent) {
                    m.insert(arbitrary_string(keys, u)?, arbitrary_value(keys, 2, u)?);
                }
            }
        }
    }
    Ok(serde_json::to_vec(&root).unwrap_or_default())
}

// ---- npy -----------------------------------------------------------------------------------------

/// An `.npy` file built field by field: version, header length (consistent or not), descr,
/// order and shape (small, huge, or overflowing), and data of a plausible or arbitrary length.
fn npy(u: &mut Unstructured) -> Result<Vec<u8>> {
    let descr = u.choose(&["'|u1'", "'<u1'", "'<f4'", "'|b1'", "'<u8'", "'|u1", "u1", "'|V3'"])?;
    let order = u.choose(&["False", "True", "0", "None"])?;
    let rank = u.int_in_range(0usize..=6)?;
    let mut shape = Vec::new();
    for _ in 0..rank {
        shape.push(match u.int_in_range(0u8..=3)? {
            0 => *u.choose(INTERESTING_U64)?,
            1 => u.arbitrary::<u64>()?,
            _ => u.int_in_range(0u64..=8)?,
        });
    }
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': {descr}, 'fortran_order': {order}, 'shape': {tuple}, }}");
    if u.ratio(1u8, 8)? {
        header = arbitrary_string(&["descr", "shape"], u)?;
    }
    let version = *u.choose(&[1u8, 2, 3, 0, 9])?;
    let prefix = 6 + 2 + if version == 1 { 2 } else { 4 };
    let pad = (64 - (prefix + header.len() + 1) % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    let len = if u.ratio(1u8, 6)? { u.arbitrary::<u32>()? } else { header.len() as u32 };
    if version == 1 {
        out.extend((len as u16).to_le_bytes());
    } else {
        out.extend(len.to_le_bytes());
    }
    out.extend(header.as_bytes());
    let plausible = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).filter(|&n| n <= 4096);
    let data_len = match plausible {
        Some(n) if u.ratio(3u8, 4)? => n as usize,
        _ => u.int_in_range(0usize..=4096)?,
    };
    out.extend(std::iter::repeat_n(7u8, data_len));
    Ok(out)
}

// ---- safetensors ---------------------------------------------------------------------------------

/// A safetensors file built field by field: header length (consistent or not), tensors with
/// names of the model or not, dtypes, shapes and data offsets (consistent, overlapping,
/// reversed, beyond the data), optional metadata.
fn safetensors(names: &'static [&'static str], u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut header = Map::new();
    let mut offset = 0u64;
    for _ in 0..u.int_in_range(0usize..=4)? {
        let name = if u.ratio(3u8, 4)? { u.choose(names)?.to_string() } else { arbitrary_string(names, u)? };
        let dtype = *u.choose(&["F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F8_E4M3", "Q4"])?;
        let rank = u.int_in_range(0usize..=4)?;
        let shape: Vec<u64> = (0..rank)
            .map(|_| if u.ratio(1u8, 6)? { u.choose(INTERESTING_U64).copied() } else { u.int_in_range(0u64..=6) })
            .collect::<Result<_>>()?;
        let size = shape.iter().try_fold(4u64, |n, &d| n.checked_mul(d)).unwrap_or(u64::MAX);
        let (a, b) = match u.int_in_range(0u8..=5)? {
            0 => (u.arbitrary()?, u.arbitrary()?),
            1 => (offset + size, offset),
            _ => (offset, offset.saturating_add(size)),
        };
        offset = b.min(1 << 20);
        header.insert(name, json!({"dtype": dtype, "shape": shape, "data_offsets": [a, b]}));
    }
    if u.ratio(1u8, 4)? {
        header.insert("__metadata__".into(), arbitrary_value(&["format"], 2, u)?);
    }
    let text = serde_json::to_vec(&Value::Object(header)).unwrap_or_default();
    let len = if u.ratio(1u8, 6)? { *u.choose(INTERESTING_U64)? } else { text.len() as u64 };
    let mut out = len.to_le_bytes().to_vec();
    out.extend(&text);
    let data_len = if u.ratio(3u8, 4)? { offset.min(1 << 16) as usize } else { u.int_in_range(0usize..=4096)? };
    out.extend(std::iter::repeat_n(0x3fu8, data_len));
    Ok(out)
}

// ---- JPEG ----------------------------------------------------------------------------------------

/// Offsets of the marker segments (FFxx + 2-byte length) before the scan data.
fn segments(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xff {
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        out.push((i, len + 2));
        if b[i + 1] == 0xda {
            break;
        }
        i += len + 2;
    }
    out
}

/// Edits of the JPEG's structure: the frame size in SOF, a segment's length or one of its
/// bytes, a segment repeated or removed, the scan data cut or corrupted.
fn jpeg(seed: &[u8], u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut b = seed.to_vec();
    let segs = segments(&b);
    if segs.is_empty() {
        return bytes(Shape::Jpeg, b, u);
    }
    let &(at, len) = u.choose(&segs)?;
    match u.int_in_range(0u8..=5)? {
        0 => {
            // SOFn: marker, length, precision, height, width.
            if let Some(&(s, _)) = segs.iter().find(|(s, _)| matches!(b[s + 1], 0xc0..=0xc3)) {
                if s + 9 <= b.len() {
                    let h: u16 = if u.arbitrary()? { u.arbitrary()? } else { *u.choose(&[0u16, 1, 65535, 16, 17])? };
                    let w: u16 = if u.arbitrary()? { u.arbitrary()? } else { *u.choose(&[0u16, 1, 65535, 16, 17])? };
                    b[s + 5..s + 7].copy_from_slice(&h.to_be_bytes());
                    b[s + 7..s + 9].copy_from_slice(&w.to_be_bytes());
                }
            }
        }
        1 if at + 4 <= b.len() => {
            let l: u16 = u.arbitrary()?;
            b[at + 2..at + 4].copy_from_slice(&l.to_be_bytes());
        }
        2 if at + len <= b.len() && len > 4 => {
            let i = u.int_in_range(at + 4..=at + len - 1)?;
            b[i] = u.arbitrary()?;
        }
        3 if at + len <= b.len() => {
            let piece = b[at..at + len].to_vec();
            b.splice(at..at, piece);
        }
        4 if at + len <= b.len() => {
            b.drain(at..at + len);
        }
        _ => {
            let end = b.len();
            let cut = u.int_in_range((at + len).min(end)..=end)?;
            b.truncate(cut);
            if u.arbitrary()? {
                b.extend([0xff, 0xd9]);
            }
        }
    }
    Ok(b)
}

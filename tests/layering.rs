//! The layer rule of docs/architecture.md, checked on the source: a module of the library uses
//! only modules below it. Every `crate::…` path in `src/**/*.rs` (in `use` lines and inline, with
//! `use crate::{a, b::c}` groups expanded) names the top-level module it reaches; that module must
//! be the importer's own, the foundation, or one the table below allows. A second check forbids
//! import cycles between the files of one directory (`super::x` references).
//!
//! The layer order is written once, here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules everyone may use: errors, seeded randomness, plain value types, JSON reading.
const FOUNDATION: &[&str] = &["error", "rng", "fidelity", "normalization", "jsonio"];

/// The tensor stack, bottom-up; each entry may use every entry before it. `train` and what sits
/// above it may also use the data/post/eval column.
const STACK: &[&[&str]] = &[
    &["memory"],
    &["tensor"],
    &["backend"],
    &["autograd"],
    &["ops"],
    &["nn", "loss"],
    &["train"],
    &["plan"],
    &["pipeline"],
];

/// Beside the stack, bottom-up: data and post-processing rely on no tensor code; the evaluator
/// reads annotations and result files.
const SIDE: &[&[&str]] = &[&["data", "post"], &["eval"]];

/// The first stack layer that may use the side column.
const SIDE_USERS_FROM: &str = "train";

/// Names re-exported at the crate root (`crate::Result`) and the module they come from.
const ROOT_REEXPORTS: &[(&str, &str)] = &[
    ("Result", "error"),
    ("Error", "error"),
    ("Tensor", "tensor"),
    ("DType", "tensor"),
    ("Device", "tensor"),
    ("DeviceKind", "tensor"),
    ("Shape", "tensor"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Foundation,
    Stack(usize),
    Side(usize),
}

fn place(module: &str) -> Option<Place> {
    if FOUNDATION.contains(&module) {
        return Some(Place::Foundation);
    }
    let find = |layers: &[&[&str]]| layers.iter().position(|l| l.contains(&module));
    find(STACK).map(Place::Stack).or_else(|| find(SIDE).map(Place::Side))
}

/// Whether `from` may use `to` (both top-level module names, distinct).
fn allowed(from: &str, to: &str) -> Result<bool, String> {
    let (Some(a), Some(b)) = (place(from), place(to)) else {
        return Err(format!("module {from} or {to} is not in the layer table of tests/layering.rs"));
    };
    let side_users = STACK.iter().position(|l| l.contains(&SIDE_USERS_FROM)).unwrap_or(usize::MAX);
    Ok(match (a, b) {
        (_, Place::Foundation) => true,
        (Place::Foundation, _) => false,
        (Place::Stack(i), Place::Stack(j)) | (Place::Side(i), Place::Side(j)) => j < i,
        (Place::Stack(i), Place::Side(_)) => i >= side_users,
        (Place::Side(_), Place::Stack(_)) => false,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `//` comments (doc comments included), so prose naming a path is no import.
fn strip_comments(text: &str) -> String {
    text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of every item of a `{…}` group starting just after its `{`.
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expect_head = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_head = true,
            c if expect_head && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident_at(&s[i..]).to_string());
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Top-level modules reached through `crate::` in `text`.
fn crate_targets(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let after = rest[at + "crate::".len()..].trim_start();
        let heads =
            if let Some(group) = after.strip_prefix('{') { group_heads(group) } else { vec![ident_at(after).into()] };
        for head in heads {
            let module =
                ROOT_REEXPORTS.iter().find(|(name, _)| *name == head).map_or(head.clone(), |(_, m)| m.to_string());
            if !module.is_empty() {
                out.insert(module);
            }
        }
        rest = &rest[at + "crate::".len()..];
    }
    out
}

/// The top-level module a file under `src/` belongs to (`None` for the crate root and the binary).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    // cli/ and main.rs are the binary (they reach the library as `lofi::`); lib.rs only declares.
    (!matches!(name.as_str(), "lib" | "main" | "cli")).then_some(name)
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_library_import_points_down() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else { continue };
        let text = strip_comments(&std::fs::read_to_string(file).expect("read source"));
        for to in crate_targets(&text) {
            if to == from {
                continue;
            }
            match allowed(&from, &to) {
                Ok(true) => {}
                Ok(false) => {
                    violations.push(format!("{}: {from} uses {to}", file.strip_prefix(&src).unwrap().display()))
                }
                Err(msg) => violations.push(format!("{}: {msg}", file.display())),
            }
        }
    }
    assert!(violations.is_empty(), "imports against the layer order:\n  {}", violations.join("\n  "));
}

/// Files of one directory referenced through `super::name`.
fn sibling_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("super::") {
        let after = rest[at + "super::".len()..].trim_start();
        let heads =
            if let Some(group) = after.strip_prefix('{') { group_heads(group) } else { vec![ident_at(after).into()] };
        out.extend(heads.into_iter().filter(|h| !h.is_empty() && h != "super"));
        rest = &rest[at + "super::".len()..];
    }
    out
}

#[test]
fn no_import_cycles_between_sibling_files() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // directory → file stem → siblings it references
    let mut graph: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if stem == "mod" || stem == "lib" || stem == "main" {
            continue; // a mod.rs is the parent, not a sibling
        }
        let text = strip_comments(&std::fs::read_to_string(file).expect("read source"));
        // Only a file's own code counts: `mod tests { use super::*; }` reaches the file itself.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let dir = file.parent().expect("parent").to_path_buf();
        graph.entry(dir).or_default().insert(stem, sibling_refs(code));
    }
    let mut cycles = Vec::new();
    for (dir, edges) in &graph {
        for start in edges.keys() {
            // Depth-first search for a path back to `start` through siblings of this directory.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in edges.get(&node).into_iter().flatten().filter(|n| edges.contains_key(*n)) {
                    if next == start {
                        let mut cycle = path.clone();
                        cycle.push(start.clone());
                        cycles.push(format!(
                            "{}: {}",
                            dir.strip_prefix(&src).unwrap_or(dir).display(),
                            cycle.join(" → ")
                        ));
                    } else if seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(cycles.is_empty(), "import cycles between files:\n  {}", cycles.join("\n  "));
}

#[test]
fn the_checker_sees_grouped_inline_and_reexported_paths() {
    let text = "use crate::{Error, backend::cpu, nn::{Param, Module}};\nlet x = crate::ops::add(a);";
    let got: Vec<String> = crate_targets(text).into_iter().collect();
    assert_eq!(got, ["backend", "error", "nn", "ops"]);
    assert!(crate_targets(&strip_comments("// see crate::nn::Param\nfn f() {}")).is_empty());
    assert_eq!(allowed("tensor", "backend"), Ok(false));
    assert_eq!(allowed("train", "data"), Ok(true));
    assert_eq!(allowed("data", "nn"), Ok(false));
    assert_eq!(allowed("autograd", "ops"), Ok(false));
    assert_eq!(allowed("ops", "autograd"), Ok(true));
}

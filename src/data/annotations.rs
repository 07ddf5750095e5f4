//! Ground-truth annotations in the ActivityNet-1.3 layout (`activity_net.v1-3.min.json`) and the
//! HACS-1.1 layout (the same `database`, but `duration` is a string and there is no `resolution`):
//! videos with their subset and duration, labelled segments in seconds, the label set with a stable
//! class index, and a count of flawed segments under an explicit [`SegmentPolicy`].
//!
//! Relies on `crate::jsonio` for file-order objects and errors that name the file and JSON path.
//! Video ids are kept exactly as the file writes them: no `v_` prefix is added or removed.
//! It does not read frames or features, and it does not evaluate anything.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

use crate::jsonio::{parse_error, parse_json_reporting, Ordered, UnknownKey};
use crate::{Error, Result};

/// What to do with a ground-truth segment that is reversed, empty, starts before 0 or ends after the
/// video's duration. Every such flaw is counted in [`SegmentReport`] whatever the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentPolicy {
    /// Keep the segment as written. This is what the official ActivityNet evaluator does, so
    /// `lofi eval` uses it: its numbers then agree with the official code.
    Keep,
    /// Clip to [0, duration]; drop the segment if nothing is left (end ≤ start after clipping).
    Clip,
    /// Drop every flawed segment.
    Drop,
}

impl FromStr for SegmentPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "keep" => Ok(Self::Keep),
            "clip" => Ok(Self::Clip),
            "drop" => Ok(Self::Drop),
            _ => Err(Error::Config {
                flag: "segment policy".into(),
                msg: format!("{s:?} is not one of keep, clip, drop"),
            }),
        }
    }
}

/// Counts of flawed ground-truth segments. A segment may have several flaws; it is counted once
/// under `clipped` or `dropped` for what the policy did to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentReport {
    pub reversed: usize,
    pub zero_length: usize,
    pub negative_start: usize,
    pub beyond_duration: usize,
    pub clipped: usize,
    pub dropped: usize,
    /// JSON paths of the first few flawed segments, for messages.
    pub examples: Vec<String>,
}

impl SegmentReport {
    const MAX_EXAMPLES: usize = 5;

    /// True when no segment had a flaw.
    pub fn is_clean(&self) -> bool {
        self.reversed + self.zero_length + self.negative_start + self.beyond_duration == 0
    }
}

/// One labelled ground-truth segment, in seconds. `class` indexes [`Annotations::classes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub class: usize,
}

/// One video of the database, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    pub id: String,
    pub subset: String,
    /// Seconds; finite and > 0.
    pub duration: f64,
    pub segments: Vec<Segment>,
}

impl Video {
    /// The segments as `(start, end, class)` divided by the duration, i.e. in [0, 1] for segments
    /// inside the video (a `Keep` policy can leave values outside).
    pub fn normalized_segments(&self) -> impl Iterator<Item = (f64, f64, usize)> + '_ {
        self.segments.iter().map(|s| (s.start / self.duration, s.end / self.duration, s.class))
    }
}

/// A parsed annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotations {
    pub version: Option<String>,
    /// Class names; a class id is an index here. Taxonomy leaf order when the file has a taxonomy,
    /// else the sorted set of labels, so the index does not depend on which videos are present.
    pub classes: Vec<String>,
    pub videos: Vec<Video>,
    pub report: SegmentReport,
    /// Keys of the file that the layout does not define (a misspelt `annotations` would otherwise
    /// empty a video in silence), in file order. `lofi eval` warns about each, or refuses the file
    /// under `--strict`; see [`UnknownKey::entry_under`]`("database")` for the video.
    pub unknown_keys: Vec<UnknownKey>,
    class_ids: HashMap<String, usize>,
    video_ids: HashMap<String, usize>,
}

impl Annotations {
    /// Reads and parses an annotation file.
    pub fn load(path: &Path, policy: SegmentPolicy) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &bytes, policy)
    }

    /// Parses the content of an annotation file; `path` is only used in error messages.
    pub fn parse(path: &Path, bytes: &[u8], policy: SegmentPolicy) -> Result<Self> {
        let (raw, unknown_keys): (RawFile, _) = parse_json_reporting(path, bytes)?;
        let classes = class_list(path, &raw)?;
        let class_ids: HashMap<String, usize> = classes.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
        let mut report = SegmentReport::default();
        let mut videos = Vec::with_capacity(raw.database.0.len());
        for (id, v) in raw.database.0 {
            let at = format!("database.{id}");
            let duration = v.duration;
            if !(duration.is_finite() && duration > 0.0) {
                return Err(parse_error(
                    path,
                    format!("{at}.duration"),
                    format!("duration {duration} is not a positive number"),
                ));
            }
            let mut segments = Vec::with_capacity(v.annotations.len());
            for (k, ann) in v.annotations.into_iter().enumerate() {
                let seg_at = format!("{at}.annotations[{k}]");
                let class = *class_ids.get(&ann.label).ok_or_else(|| {
                    parse_error(
                        path,
                        format!("{seg_at}.label"),
                        format!("label {:?} is not a class of the taxonomy", crate::jsonio::excerpt(&ann.label)),
                    )
                })?;
                let [start, end] = ann.segment;
                if !(end - start).is_finite() {
                    return Err(parse_error(
                        path,
                        format!("{seg_at}.segment"),
                        format!("segment [{start}, {end}] has no finite length"),
                    ));
                }
                let seg = Segment { start, end, class };
                if let Some(kept) = apply_policy(seg, duration, policy, &mut report, || format!("{seg_at}.segment")) {
                    segments.push(kept);
                }
            }
            videos.push(Video { id, subset: v.subset, duration, segments });
        }
        let video_ids = videos.iter().enumerate().map(|(i, v)| (v.id.clone(), i)).collect();
        Ok(Self { version: raw.version, classes, videos, report, unknown_keys, class_ids, video_ids })
    }

    /// The class id of a label, if it is a class.
    pub fn class_id(&self, label: &str) -> Option<usize> {
        self.class_ids.get(label).copied()
    }

    /// The video with this exact id.
    pub fn video(&self, id: &str) -> Option<&Video> {
        self.video_index(id).and_then(|i| self.videos.get(i))
    }

    /// The position in [`Annotations::videos`] of the video with this exact id.
    pub fn video_index(&self, id: &str) -> Option<usize> {
        self.video_ids.get(id).copied()
    }

    /// The videos of one subset (`training`, `validation`, `testing`), in file order.
    pub fn subset<'a>(&'a self, subset: &'a str) -> impl Iterator<Item = &'a Video> + 'a {
        self.videos.iter().filter(move |v| v.subset == subset)
    }

    /// The distinct subset names, in order of first appearance.
    pub fn subsets(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.videos.iter().map(|v| v.subset.as_str()).filter(|s| seen.insert(*s)).collect()
    }
}

/// Counts the flaws of one segment and applies the policy; `None` means dropped.
fn apply_policy(
    seg: Segment,
    duration: f64,
    policy: SegmentPolicy,
    report: &mut SegmentReport,
    location: impl Fn() -> String,
) -> Option<Segment> {
    let flaws = [
        (seg.end < seg.start, &mut report.reversed),
        (seg.end == seg.start, &mut report.zero_length),
        (seg.start < 0.0, &mut report.negative_start),
        (seg.end > duration, &mut report.beyond_duration),
    ];
    let mut flawed = false;
    for (has, count) in flaws {
        if has {
            *count += 1;
            flawed = true;
        }
    }
    if !flawed {
        return Some(seg);
    }
    if report.examples.len() < SegmentReport::MAX_EXAMPLES {
        report.examples.push(location());
    }
    match policy {
        SegmentPolicy::Keep => Some(seg),
        SegmentPolicy::Drop => {
            report.dropped += 1;
            None
        }
        SegmentPolicy::Clip => {
            let clipped = Segment { start: seg.start.max(0.0), end: seg.end.min(duration), ..seg };
            if clipped.end > clipped.start {
                report.clipped += 1;
                Some(clipped)
            } else {
                report.dropped += 1;
                None
            }
        }
    }
}

/// Taxonomy leaves in taxonomy order (a leaf is a node that is no other node's parent), else the
/// sorted set of all labels of the file.
fn class_list(path: &Path, raw: &RawFile) -> Result<Vec<String>> {
    let nodes = raw.taxonomy.as_deref().unwrap_or(&[]);
    if nodes.is_empty() {
        let mut labels: Vec<String> = raw
            .database
            .0
            .iter()
            .flat_map(|(_, v)| v.annotations.iter().map(|a| a.label.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        labels.sort();
        return Ok(labels);
    }
    let parents: HashSet<&str> =
        nodes.iter().filter_map(|n| n.parent_name.as_deref().filter(|p| *p != n.node_name)).collect();
    let mut seen = HashSet::new();
    let leaves: Vec<String> = nodes
        .iter()
        .filter(|n| !parents.contains(n.node_name.as_str()) && seen.insert(n.node_name.as_str()))
        .map(|n| n.node_name.clone())
        .collect();
    if leaves.is_empty() {
        return Err(parse_error(path, "taxonomy".into(), "the taxonomy has no leaf node"));
    }
    Ok(leaves)
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    taxonomy: Option<Vec<RawNode>>,
    database: Ordered<RawVideo>,
}

// Keys of the layouts that lofi does not use are declared (as small `Value`s: `IgnoredAny` would be
// reported as ignored), so they are known and raise no unknown-key warning.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    node_name: String,
    #[serde(default)]
    parent_name: Option<String>,
    #[serde(default, rename = "nodeId")]
    _node_id: Option<serde_json::Value>,
    #[serde(default, rename = "parentId")]
    _parent_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawVideo {
    subset: String,
    #[serde(deserialize_with = "seconds")]
    duration: f64,
    #[serde(default)]
    annotations: Vec<RawAnnotation>,
    #[serde(default, rename = "url")]
    _url: Option<serde_json::Value>,
    #[serde(default, rename = "resolution")]
    _resolution: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAnnotation {
    segment: [f64; 2],
    label: String,
}

/// A duration given as a JSON number (ActivityNet) or as a decimal string (HACS, "92.166667").
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<f64, D::Error> {
    struct Seconds;
    impl Visitor<'_> for Seconds {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number of seconds or a string holding one")
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<f64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<f64, E> {
            v.trim()
                .parse::<f64>()
                .map_err(|_| E::custom(format!("duration {:?} is not a number", crate::jsonio::excerpt(v))))
        }
    }
    deserializer.deserialize_any(Seconds)
}

//! Tests of `data::annotations`: the ActivityNet-1.3 and HACS-1.1 layouts, the class index, the
//! segment policies and their counts, and errors that name the file and the JSON path.

use std::path::Path;

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::Error;

const ANET: &str = r#"{
  "version": "VERSION 1.3",
  "taxonomy": [
    {"nodeName": "Root", "nodeId": 0, "parentName": null, "parentId": null},
    {"nodeName": "Sports", "nodeId": 1, "parentName": "Root", "parentId": 0},
    {"nodeName": "Surfing", "nodeId": 2, "parentName": "Sports", "parentId": 1},
    {"nodeName": "Archery", "nodeId": 3, "parentName": "Sports", "parentId": 1},
    {"nodeName": "Zumba", "nodeId": 4, "parentName": "Root", "parentId": 0}
  ],
  "database": {
    "zz9": {"subset": "validation", "duration": 100.0, "resolution": "640x360", "url": "u",
            "annotations": [{"segment": [10.0, 30.0], "label": "Zumba"},
                            {"segment": [50.5, 75.0], "label": "Surfing"}]},
    "v_a1": {"subset": "training", "duration": 20, "resolution": "640x360", "url": "u",
             "annotations": [{"segment": [1.0, 2.0], "label": "Archery"}]},
    "b2": {"subset": "testing", "duration": 12.5, "resolution": "640x360", "url": "u", "annotations": []}
  }
}"#;

const HACS: &str = r#"{
  "database": {
    "q1": {"subset": "validation", "duration": "92.166667", "url": "u",
           "annotations": [{"segment": [0.5, 9.0], "label": "Yoga"}, {"segment": [3.0, 4.0], "label": "Archery"}]},
    "q0": {"subset": "training", "duration": "10", "url": "u",
           "annotations": [{"segment": [1.0, 2.0], "label": "Yoga"}]}
  }
}"#;

fn parse(text: &str, policy: SegmentPolicy) -> lofi::Result<Annotations> {
    Annotations::parse(Path::new("gt.json"), text.as_bytes(), policy)
}

/// The error's JSON path, or a description of the unexpected error.
fn error_location(text: &str) -> String {
    match parse(text, SegmentPolicy::Keep) {
        Err(Error::Parse { path, location, .. }) => {
            assert_eq!(path, Path::new("gt.json"));
            location
        }
        other => format!("not a parse error: {other:?}"),
    }
}

#[test]
fn activitynet_layout_keeps_file_order_ids_and_taxonomy_leaf_order() -> lofi::Result<()> {
    let a = parse(ANET, SegmentPolicy::Keep)?;
    assert_eq!(a.version.as_deref(), Some("VERSION 1.3"));
    // Leaves in taxonomy order; inner nodes (Root, Sports) are not classes.
    assert_eq!(a.classes, ["Surfing", "Archery", "Zumba"]);
    let ids: Vec<&str> = a.videos.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["zz9", "v_a1", "b2"]);
    assert_eq!(a.subsets(), ["validation", "training", "testing"]);
    let val: Vec<&str> = a.subset("validation").map(|v| v.id.as_str()).collect();
    assert_eq!(val, ["zz9"]);
    let v = a
        .video("zz9")
        .ok_or_else(|| Error::data("test", "zz9 missing"))?;
    assert_eq!(v.segments.len(), 2);
    assert_eq!((v.segments[1].start, v.segments[1].end), (50.5, 75.0));
    assert_eq!(a.class_id("Zumba"), Some(2));
    assert_eq!(v.segments[0].class, 2);
    let norm: Vec<(f64, f64, usize)> = v.normalized_segments().collect();
    assert_eq!(norm, [(0.1, 0.3, 2), (0.505, 0.75, 0)]);
    // The `v_` prefix is neither added nor removed.
    assert!(a.video("a1").is_none() && a.video("v_a1").is_some() && a.video("v_zz9").is_none());
    assert_eq!(a.video("v_a1").map(|v| v.duration), Some(20.0));
    assert!(a.report.is_clean());
    Ok(())
}

#[test]
fn hacs_layout_reads_string_durations_and_sorts_labels_without_taxonomy() -> lofi::Result<()> {
    let a = parse(HACS, SegmentPolicy::Keep)?;
    assert_eq!(a.classes, ["Archery", "Yoga"]);
    assert_eq!(a.videos[0].id, "q1");
    assert_eq!(a.videos[0].duration, 92.166667);
    assert_eq!(a.videos[1].duration, 10.0);
    assert_eq!(a.videos[0].segments[0].class, 1);
    assert_eq!(a.version, None);
    Ok(())
}

fn flawed(policy: SegmentPolicy) -> lofi::Result<Annotations> {
    parse(
        r#"{"database": {"v": {"subset": "validation", "duration": 10.0, "annotations": [
            {"segment": [1.0, 2.0], "label": "A"},
            {"segment": [5.0, 3.0], "label": "A"},
            {"segment": [4.0, 4.0], "label": "A"},
            {"segment": [-1.0, 2.0], "label": "A"},
            {"segment": [8.0, 12.0], "label": "A"},
            {"segment": [-2.0, 11.0], "label": "A"},
            {"segment": [11.0, 12.0], "label": "A"}]}}}"#,
        policy,
    )
}

#[test]
fn every_policy_counts_the_same_flaws() -> lofi::Result<()> {
    for policy in [
        SegmentPolicy::Keep,
        SegmentPolicy::Clip,
        SegmentPolicy::Drop,
    ] {
        let r = flawed(policy)?.report;
        assert_eq!(
            (
                r.reversed,
                r.zero_length,
                r.negative_start,
                r.beyond_duration
            ),
            (1, 1, 2, 3),
            "{policy:?}"
        );
        assert_eq!(
            r.examples.first().map(String::as_str),
            Some("database.v.annotations[1].segment")
        );
        assert_eq!(r.examples.len(), 5);
    }
    Ok(())
}

#[test]
fn keep_clip_and_drop_do_what_they_say() -> lofi::Result<()> {
    let spans = |a: &Annotations| -> Vec<(f64, f64)> {
        a.videos[0]
            .segments
            .iter()
            .map(|s| (s.start, s.end))
            .collect()
    };
    let keep = flawed(SegmentPolicy::Keep)?;
    assert_eq!(spans(&keep).len(), 7);
    assert_eq!((keep.report.clipped, keep.report.dropped), (0, 0));

    let clip = flawed(SegmentPolicy::Clip)?;
    // Reversed, empty, and [11, 12] (empty once clipped to [0, 10]) are dropped.
    assert_eq!(
        spans(&clip),
        [(1.0, 2.0), (0.0, 2.0), (8.0, 10.0), (0.0, 10.0)]
    );
    assert_eq!((clip.report.clipped, clip.report.dropped), (3, 3));

    let drop = flawed(SegmentPolicy::Drop)?;
    assert_eq!(spans(&drop), [(1.0, 2.0)]);
    assert_eq!((drop.report.clipped, drop.report.dropped), (0, 6));
    Ok(())
}

#[test]
fn policy_names_parse_and_bad_names_are_config_errors() {
    assert_eq!(
        "clip".parse::<SegmentPolicy>().ok(),
        Some(SegmentPolicy::Clip)
    );
    assert!(matches!(
        "Clip".parse::<SegmentPolicy>(),
        Err(Error::Config { .. })
    ));
}

#[test]
fn malformed_input_names_the_json_path() {
    let video = |ann: &str| {
        format!(
            r#"{{"database": {{"vid": {{"subset": "validation", "duration": 10, "annotations": [{{"segment": [1, 2], "label": "A"}}, {ann}]}}}}}}"#
        )
    };
    assert_eq!(
        error_location(&video(r#"{"segment": [1, "x"], "label": "A"}"#)),
        "database.vid.annotations[1].segment[1]"
    );
    assert_eq!(
        error_location(&video(r#"{"segment": [1, 2, 3], "label": "A"}"#)),
        "database.vid.annotations[1].segment"
    );
    assert_eq!(
        error_location(&video(r#"{"segment": [1, 2], "label": 7}"#)),
        "database.vid.annotations[1].label"
    );
    assert_eq!(
        error_location(&video(r#"{"label": "A"}"#)),
        "database.vid.annotations[1]"
    );
    assert_eq!(
        error_location(&video(r#"{"segment": [-1e308, 1e308], "label": "A"}"#)),
        "database.vid.annotations[1].segment"
    );
    assert_eq!(
        error_location(r#"{"database": {"vid": {"subset": "validation", "duration": "ten"}}}"#),
        "database.vid.duration"
    );
    assert_eq!(
        error_location(r#"{"database": {"vid": {"subset": "validation", "duration": -3}}}"#),
        "database.vid.duration"
    );
    assert_eq!(
        error_location(r#"{"database": {"vid": {"subset": "validation", "duration": "nan"}}}"#),
        "database.vid.duration"
    );
    assert_eq!(
        error_location(r#"{"database": {"vid": {"duration": 3}}}"#),
        "database.vid"
    );
    assert_eq!(error_location(r#"{"database": [1, 2]}"#), "database");
    assert_eq!(error_location(r#"{"version": "x"}"#), "top level");
    assert_eq!(
        error_location(
            r#"{"database": {"a": {"subset": "t", "duration": 1}, "a": {"subset": "t", "duration": 1}}}"#
        ),
        "database"
    );
    // Truncated and trailing garbage.
    assert!(error_location(&ANET[..ANET.len() / 2]).starts_with("database."));
    assert_eq!(error_location(&format!("{ANET} x")), "end of file");
}

#[test]
fn a_label_outside_the_taxonomy_is_an_error_at_its_path() {
    let text = ANET.replace(r#""label": "Surfing""#, r#""label": "Surfing!""#);
    assert_eq!(error_location(&text), "database.zz9.annotations[1].label");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = Annotations::load(Path::new("/nonexistent/gt.json"), SegmentPolicy::Keep);
    assert!(
        matches!(&err, Err(Error::Io { path, .. }) if path == Path::new("/nonexistent/gt.json")),
        "{err:?}"
    );
}

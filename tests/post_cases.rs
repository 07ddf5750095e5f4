//! Hand-worked cases for post-processing beyond the golden G-TAD run: the OpenTAD candidate and
//! proposal variant, the soft-NMS "last candidate" quirk and its fix, the single-proposal guard,
//! class ranking, fusion order and clipping, and the classifier and result file formats.

use std::path::{Path, PathBuf};

use lofi::post::boundary::{boundary_candidates, Boundary};
use lofi::post::classifier::{top_k, VideoClassScores};
use lofi::post::detections::{Detection, ResultFile};
use lofi::post::fusion::{fuse, suppress};
use lofi::post::{generate_proposals, Pick, ProposalStyle, SoftNms};
use lofi::Error;

fn flags(v: &[bool]) -> Vec<u8> {
    v.iter().map(|&b| u8::from(b)).collect()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("post_cases");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

#[test]
fn gtad_candidates_are_strict_peaks_or_high_and_skip_the_far_ends() {
    // max 0.9, so "high" means > 0.45. Peaks at 1 (0.9) and 3 (0.3 > 0.2, 0.25).
    let s = [0.1, 0.9, 0.2, 0.3, 0.25];
    // start[0] forced; start[4] never (quirk). end[4] forced; end[0] never (quirk).
    assert_eq!(flags(&boundary_candidates(&s, Boundary::Start, ProposalStyle::Gtad)), [1, 1, 0, 1, 0]);
    assert_eq!(flags(&boundary_candidates(&s, Boundary::End, ProposalStyle::Gtad)), [0, 1, 0, 1, 1]);
    // A plateau is not a strict peak.
    let plateau = [0.5, 0.1, 0.2, 0.2, 0.1];
    assert_eq!(flags(&boundary_candidates(&plateau, Boundary::Start, ProposalStyle::Gtad)), [1, 0, 0, 0, 0]);
}

#[test]
fn opentad_candidates_use_a_3_wide_max_pool_over_every_position() {
    // Position 0 (0.6 ≥ 0.1) and 4 (0.3 ≥ 0.2) are pool maxima; so is the plateau 0.2, 0.2.
    let s = [0.6, 0.1, 0.2, 0.2, 0.1];
    assert_eq!(flags(&boundary_candidates(&s, Boundary::End, ProposalStyle::OpenTad)), [1, 0, 1, 1, 1]);
    let s = [0.1, 0.9, 0.2, 0.3, 0.25];
    assert_eq!(flags(&boundary_candidates(&s, Boundary::Start, ProposalStyle::OpenTad)), [1, 1, 0, 1, 0]);
}

/// L = 3, D = 3, every position a candidate; reg = 1 and cls(d, s) = 10·d + s.
fn all_candidate_proposals(style: ProposalStyle) -> Vec<(usize, usize, f64)> {
    let ones = [1.0f32; 3];
    let mut map = vec![1.0f32; 9];
    map.extend((0..9).map(|i| (10 * (i / 3) + i % 3) as f32));
    let p = generate_proposals(&ones, &ones, &map, 3, style).unwrap_or_else(|e| panic!("{e}"));
    p.proposals.iter().map(|q| (q.start_index, q.end_index, q.score)).collect()
}

#[test]
fn gtad_proposals_never_end_at_1_and_opentad_ones_do() {
    // G-TAD: e = s+d+1 < 3 → (d0: s0→1, s1→2), (d1: s0→2). Scores cls = 10d + s.
    assert_eq!(all_candidate_proposals(ProposalStyle::Gtad), [(0, 1, 0.0), (1, 2, 1.0), (0, 2, 10.0)]);
    // OpenTAD: s+d < 3, end s+d+1 → (d0: 0→1, 1→2, 2→3), (d1: 0→2, 1→3), (d2: 0→3).
    assert_eq!(
        all_candidate_proposals(ProposalStyle::OpenTad),
        [(0, 1, 0.0), (1, 2, 1.0), (2, 3, 2.0), (0, 2, 10.0), (1, 3, 11.0), (0, 3, 20.0)]
    );
}

#[test]
fn proposals_reject_inconsistent_shapes() {
    let r = generate_proposals(&[0.5; 4], &[0.5; 4], &[0.0; 2 * 4 * 3], 4, ProposalStyle::Gtad);
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
    let r = generate_proposals(&[], &[], &[], 1, ProposalStyle::Gtad);
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
}

#[test]
fn soft_nms_decays_overlaps_and_drops_the_last_candidate_unless_fixed() {
    // [0, .4] (0.9) and [.2, .6] (0.8) overlap by .2 over a hull of .6 → IoU 1/3; the second
    // decays to 0.8·exp(−(1/9)/0.84). [.9, 1] (0.1) overlaps nothing.
    let segments = [[0.2, 0.6], [0.9, 1.0], [0.0, 0.4]];
    let scores = [0.8, 0.1, 0.9];
    let decayed = 0.8 * (-(1.0f64 / 9.0) / 0.84).exp();
    let quirk = SoftNms::default().run(&segments, &scores);
    let picked: Vec<(usize, f64)> = quirk.iter().map(|p| (p.index, p.score)).collect();
    assert_eq!(picked, [(2, 0.9), (0, decayed)]);
    let fixed = SoftNms { emit_last: true, ..SoftNms::default() }.run(&segments, &scores);
    let picked: Vec<(usize, f64)> = fixed.iter().map(|p| (p.index, p.score)).collect();
    assert_eq!(picked, [(2, 0.9), (0, decayed), (1, 0.1)]);
    // top_k bounds the picks; a non-positive maximum stops.
    assert_eq!(SoftNms { top_k: 1, ..SoftNms::default() }.run(&segments, &scores).len(), 1);
    assert!(SoftNms::default().run(&segments, &[0.0, -1.0, 0.0]).is_empty());
}

#[test]
fn a_lone_proposal_skips_soft_nms_as_in_the_reference() {
    let ones = [1.0f32; 2];
    let map = [0.5f32, 0.5, 0.5, 0.5, 0.8, 0.8, 0.8, 0.8];
    let p = generate_proposals(&ones, &ones, &map, 2, ProposalStyle::Gtad).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.proposals.len(), 1);
    let picks = suppress(&p.proposals, &SoftNms::default());
    // cls = map[1, 0, 0] = 0.8f32, reg = map[0, 0, 0] = 0.5.
    assert_eq!(picks, [Pick { index: 0, score: f64::from(0.8f32) * 0.5, segment: [0.0, 0.5] }]);
    assert!(suppress(&[], &SoftNms::default()).is_empty());
}

#[test]
fn top_k_prefers_the_lower_index_on_ties() {
    assert_eq!(top_k(&[0.2, 0.5, 0.5, 0.1], 2), [(1, 0.5), (2, 0.5)]);
    assert_eq!(top_k(&[0.3], 2), [(0, 0.3)]);
}

#[test]
fn fusion_emits_all_picks_per_class_and_clips_to_the_video() {
    let picks =
        [Pick { index: 0, score: 0.5, segment: [0.5, 1.2] }, Pick { index: 1, score: 0.8, segment: [-0.1, 0.25] }];
    let classes = [("Yoga".to_string(), 0.9), ("Zumba".to_string(), 0.1)];
    let dets = fuse(&picks, &classes, 200.0, 100);
    let got: Vec<(&str, f64, [f64; 2])> = dets.iter().map(|d| (d.label.as_str(), d.score, d.segment)).collect();
    assert_eq!(
        got,
        [
            ("Yoga", 0.8 * 0.9, [0.0, 50.0]),
            ("Yoga", 0.5 * 0.9, [100.0, 200.0]),
            ("Zumba", 0.8 * 0.1, [0.0, 50.0]),
            ("Zumba", 0.5 * 0.1, [100.0, 200.0])
        ]
    );
    assert_eq!(fuse(&picks, &classes, 200.0, 1).len(), 2);
}

#[test]
fn classifier_file_round_trips_and_bad_files_name_the_path() {
    let table = VideoClassScores::new(
        vec!["A".into(), "B".into(), "C".into()],
        vec![("zz".into(), vec![0.1, 0.7, 0.2]), ("aa".into(), vec![0.5, 0.2, 0.3])],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = tmp("cls.json");
    std::fs::write(&path, table.to_json().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_else(|e| panic!("{e}"));
    let back = VideoClassScores::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.top_k("zz", 2), Some(vec![(1, 0.7), (2, 0.2)]));
    assert_eq!(back.top_k("v_zz", 2), None, "ids are kept exactly as written");
    assert_eq!(back.results.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["zz", "aa"], "file order is kept");

    std::fs::write(&path, r#"{"results": {"x": [0.1, 0.2]}, "class": ["A", "B", "C"]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let err = VideoClassScores::load(&path);
    assert!(matches!(&err, Err(Error::Parse { location, .. }) if location == "results.x"), "{err:?}");
    std::fs::write(&path, r#"{"results": {"x": [0.1, "y"]}, "class": ["A", "B"]}"#).unwrap_or_else(|e| panic!("{e}"));
    let err = VideoClassScores::load(&path);
    assert!(matches!(&err, Err(Error::Parse { location, .. }) if location == "results.x[1]"), "{err:?}");
    assert!(VideoClassScores::new(vec!["A".into()], vec![("x".into(), vec![])]).is_err());
}

#[test]
fn result_file_round_trips_in_order_and_refuses_non_finite_values() {
    let mut file = ResultFile::new("VERSION 1.3");
    let det = |label: &str, score: f64| Detection { label: label.into(), score, segment: [1.5, 7.25] };
    file.results.push(("zz".into(), vec![det("B", 0.25), det("A", 0.5)]));
    file.results.push(("aa".into(), vec![]));
    let path = tmp("result.json");
    file.write(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!Path::new(&format!("{}.tmp", path.display())).exists());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.starts_with(r#"{"version":"VERSION 1.3","results":{"zz":"#), "{text}");
    assert!(text.ends_with(r#""external_data":{}}"#), "{text}");
    assert_eq!(ResultFile::load(&path).unwrap_or_else(|e| panic!("{e}")), file);

    file.results[0].1[0].score = f64::NAN;
    let err = file.to_json();
    assert!(matches!(&err, Err(Error::Data { what, .. }) if what == "results.zz[0]"), "{err:?}");
}

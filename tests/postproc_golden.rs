//! The golden `postproc` case (official G-TAD `gtad_inference.py` + `Soft_NMS` +
//! `_gen_detection_video`): candidate bins, proposals, soft-NMS picks for every σ in the case and
//! the top-2 classifier fusion. Integers must match exactly, floats within the golden README's
//! rule with tol 1e-5. Every `output.*` tensor of the file must be compared. Shapes and
//! hyper-parameters come from `postproc.safetensors` and `postproc.json` (`LOFI_GOLDEN_DIR`
//! overrides the directory).

mod common;

use common::golden::Case;
use lofi::post::classifier::top_k;
use lofi::post::fusion::{fuse, suppress};
use lofi::post::{generate_proposals, ProposalStyle, SoftNms};
use serde_json::Value;

const TOL: f64 = 1e-5;

fn as_i64(flags: &[bool]) -> Vec<i64> {
    flags.iter().map(|&f| i64::from(f)).collect()
}

#[test]
fn postproc_matches_official_gtad() {
    let case = Case::load("postproc");
    let hyper = &case.json["hyper"];
    let sigmas: Vec<f64> =
        hyper["sigmas"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    let top = hyper["top_k"].as_u64().unwrap_or_else(|| panic!("hyper.top_k")) as usize;
    let duration = hyper["video_info"]["duration_second"].as_f64().unwrap_or_else(|| panic!("duration_second"));
    let class_names: Vec<String> = hyper["class_names"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    assert!(!sigmas.is_empty() && !class_names.is_empty(), "postproc.json lacks sigmas or class names");

    let (start, start_shape) = (case.f32("input.start"), case.shape("input.start"));
    let end = case.f32("input.end");
    let (map, map_shape) = (case.f32("input.confidence_map"), case.shape("input.confidence_map"));
    let cls_scores = case.f32("input.cls_scores");
    assert_eq!((map_shape.len(), map_shape[0], map_shape[2]), (3, 2, start_shape[0]), "map shape {map_shape:?}");
    let props =
        generate_proposals(&start, &end, &map, map_shape[1], ProposalStyle::Gtad).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(as_i64(&props.start_candidates), case.output_i64("output.start_bins"), "start_bins");
    assert_eq!(as_i64(&props.end_candidates), case.output_i64("output.end_bins"), "end_bins");
    let se: Vec<i64> = props.proposals.iter().flat_map(|p| [p.start_index as i64, p.end_index as i64]).collect();
    assert_eq!(se, case.output_i64("output.proposal_se"), "proposal_se");
    let d: Vec<i64> = props.proposals.iter().map(|p| p.duration_index as i64).collect();
    assert_eq!(d, case.output_i64("output.proposal_d"), "proposal_d");
    let rows: Vec<f64> = props.proposals.iter().flat_map(|p| [p.segment[0], p.segment[1], p.cls, p.reg]).collect();
    case.check_values("output.proposals", &rows, TOL);
    let scores: Vec<f64> = props.proposals.iter().map(|p| p.score).collect();
    case.check_values("output.proposal_score", &scores, TOL);

    let class_scores: Vec<f64> = cls_scores.iter().map(|&s| f64::from(s)).collect();
    let top2: Vec<(String, f64)> = top_k(&class_scores, 2)
        .into_iter()
        .map(|(k, s)| (class_names.get(k).cloned().unwrap_or_else(|| panic!("class {k}")), s))
        .collect();
    for sigma in sigmas {
        let tag = format!("s{:03}", (sigma * 100.0).round() as i64);
        let nms = SoftNms { sigma, top_k: top, emit_last: false };
        let picks = suppress(&props.proposals, &nms);
        let index: Vec<i64> = picks.iter().map(|p| p.index as i64).collect();
        assert_eq!(index, case.output_i64(&format!("output.nms_{tag}.index")), "nms_{tag}.index");
        let score: Vec<f64> = picks.iter().map(|p| p.score).collect();
        case.check_values(&format!("output.nms_{tag}.score"), &score, TOL);
        let segment: Vec<f64> = picks.iter().flat_map(|p| p.segment).collect();
        case.check_values(&format!("output.nms_{tag}.segment"), &segment, TOL);

        let dets = fuse(&picks, &top2, duration, top);
        let labels: Vec<String> = case
            .output_i64(&format!("output.det_{tag}.label"))
            .iter()
            .map(|&k| class_names.get(k as usize).cloned().unwrap_or_else(|| panic!("label {k}")))
            .collect();
        let got_labels: Vec<String> = dets.iter().map(|d| d.label.clone()).collect();
        assert_eq!(got_labels, labels, "det_{tag}.label");
        let score: Vec<f64> = dets.iter().map(|d| d.score).collect();
        case.check_values(&format!("output.det_{tag}.score"), &score, TOL);
        let segment: Vec<f64> = dets.iter().flat_map(|d| d.segment).collect();
        case.check_values(&format!("output.det_{tag}.segment"), &segment, TOL);
    }
    case.finish();
}

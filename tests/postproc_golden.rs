//! The golden `postproc` case (official G-TAD `gtad_inference.py` + `Soft_NMS` +
//! `_gen_detection_video`): candidate bins, proposals, soft-NMS picks for every σ in the case and
//! the top-2 classifier fusion. Integers must match exactly, floats within the golden README's
//! rule with tol 1e-5. Every `output.*` tensor of the file must be compared. Shapes and
//! hyper-parameters come from `postproc.safetensors` and `postproc.json` (`LOFI_GOLDEN_DIR`
//! overrides the directory).

mod common_eval;

use common_eval::{assert_close, golden_root, Case};
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
    let root = golden_root();
    let mut case = Case::load(&root.join("postproc.safetensors"));
    let meta: Value = std::fs::read_to_string(root.join("postproc.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("cannot read {}/postproc.json", root.display()));
    let hyper = &meta["hyper"];
    let sigmas: Vec<f64> =
        hyper["sigmas"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    let top = hyper["top_k"].as_u64().unwrap_or_else(|| panic!("hyper.top_k")) as usize;
    let duration = hyper["video_info"]["duration_second"].as_f64().unwrap_or_else(|| panic!("duration_second"));
    let class_names: Vec<String> = hyper["class_names"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    assert!(!sigmas.is_empty() && !class_names.is_empty(), "postproc.json lacks sigmas or class names");

    let (start, start_shape) = case.f32("input.start");
    let (end, _) = case.f32("input.end");
    let (map, map_shape) = case.f32("input.confidence_map");
    let (cls_scores, _) = case.f32("input.cls_scores");
    assert_eq!((map_shape.len(), map_shape[0], map_shape[2]), (3, 2, start_shape[0]), "map shape {map_shape:?}");
    let props =
        generate_proposals(&start, &end, &map, map_shape[1], ProposalStyle::Gtad).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(as_i64(&props.start_candidates), case.i64("output.start_bins").0, "start_bins");
    assert_eq!(as_i64(&props.end_candidates), case.i64("output.end_bins").0, "end_bins");
    let se: Vec<i64> = props.proposals.iter().flat_map(|p| [p.start_index as i64, p.end_index as i64]).collect();
    assert_eq!(se, case.i64("output.proposal_se").0, "proposal_se");
    let d: Vec<i64> = props.proposals.iter().map(|p| p.duration_index as i64).collect();
    assert_eq!(d, case.i64("output.proposal_d").0, "proposal_d");
    let rows: Vec<f64> = props.proposals.iter().flat_map(|p| [p.segment[0], p.segment[1], p.cls, p.reg]).collect();
    assert_close("proposals", &rows, &case.f32("output.proposals").0, TOL);
    let scores: Vec<f64> = props.proposals.iter().map(|p| p.score).collect();
    assert_close("proposal_score", &scores, &case.f32("output.proposal_score").0, TOL);

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
        assert_eq!(index, case.i64(&format!("output.nms_{tag}.index")).0, "nms_{tag}.index");
        let score: Vec<f64> = picks.iter().map(|p| p.score).collect();
        assert_close(&format!("nms_{tag}.score"), &score, &case.f32(&format!("output.nms_{tag}.score")).0, TOL);
        let segment: Vec<f64> = picks.iter().flat_map(|p| p.segment).collect();
        assert_close(&format!("nms_{tag}.segment"), &segment, &case.f32(&format!("output.nms_{tag}.segment")).0, TOL);

        let dets = fuse(&picks, &top2, duration, top);
        let labels: Vec<String> = case
            .i64(&format!("output.det_{tag}.label"))
            .0
            .iter()
            .map(|&k| class_names.get(k as usize).cloned().unwrap_or_else(|| panic!("label {k}")))
            .collect();
        let got_labels: Vec<String> = dets.iter().map(|d| d.label.clone()).collect();
        assert_eq!(got_labels, labels, "det_{tag}.label");
        let score: Vec<f64> = dets.iter().map(|d| d.score).collect();
        assert_close(&format!("det_{tag}.score"), &score, &case.f32(&format!("output.det_{tag}.score")).0, TOL);
        let segment: Vec<f64> = dets.iter().flat_map(|d| d.segment).collect();
        assert_close(&format!("det_{tag}.segment"), &segment, &case.f32(&format!("output.det_{tag}.segment")).0, TOL);
    }
    case.assert_all_outputs_checked();
}

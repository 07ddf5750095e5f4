//! Golden test of the G-TAD training targets against the official code's output (`gtad_labels`):
//! every output tensor with atol 1e-6. The JSON's `hyper.videos` is the input; shapes and L are
//! read from the files. `LOFI_GOLDEN_DIR` points the test at another golden set.

use lofi::data::labels::{gtad_corrected_second, gtad_labels, valid_mask};
use safetensors::SafeTensors;
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var("LOFI_GOLDEN_DIR") {
        Ok(dir) => root.join(dir), // join keeps an absolute path as it is
        Err(_) => root.join("tests/golden"),
    }
}

fn read_case(case: &str) -> (Value, Vec<u8>) {
    let dir = golden_dir();
    let json_path = dir.join(format!("{case}.json"));
    let st_path = dir.join(format!("{case}.safetensors"));
    let json = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("golden case {case} missing: {}: {e}", json_path.display()));
    let bytes =
        std::fs::read(&st_path).unwrap_or_else(|e| panic!("golden case {case} missing: {}: {e}", st_path.display()));
    (serde_json::from_str(&json).expect("golden JSON parses"), bytes)
}

/// The tensor's f32 values and shape.
fn tensor(st: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let view = st.tensor(name).unwrap_or_else(|e| panic!("golden tensor {name}: {e}"));
    assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name} dtype");
    let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (values, view.shape().to_vec())
}

fn assert_close(name: &str, got: &[f32], want: &[f32], atol: f32) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
    println!("{name}: max |diff| = {worst:.3e}");
    assert!(worst <= atol, "{name}: max |diff| {worst} > {atol}");
}

#[test]
fn gtad_labels_match_golden() {
    let (json, bytes) = read_case("gtad_labels");
    let st = SafeTensors::deserialize(&bytes).expect("safetensors parses");
    let l = json["hyper"]["L"].as_u64().expect("hyper.L") as usize;
    let videos = json["hyper"]["videos"].as_array().expect("hyper.videos");

    let (iou_want, iou_shape) = tensor(&st, "output.gt_iou_map");
    let (start_want, start_shape) = tensor(&st, "output.gt_start");
    let (end_want, _) = tensor(&st, "output.gt_end");
    let (mask_want, mask_shape) = tensor(&st, "output.mask");
    assert_eq!(iou_shape, vec![videos.len(), l, l]);
    assert_eq!(start_shape, vec![videos.len(), l]);
    assert_eq!(mask_shape, vec![l, l]);

    let normalized = json["hyper"]["normalized"].as_array().expect("hyper.normalized");
    for (b, video) in videos.iter().enumerate() {
        let num = |key: &str| video[key].as_f64().unwrap_or_else(|| panic!("video {b}: {key}"));
        let cs = gtad_corrected_second(num("duration_second"), num("duration_frame"), num("feature_frame"));
        let segments: Vec<[f64; 2]> = video["annotations"]
            .as_array()
            .expect("annotations")
            .iter()
            .map(|a| {
                let s = &a["segment"];
                let (s0, s1) = (s[0].as_f64().expect("segment"), s[1].as_f64().expect("segment"));
                [(s0 / cs).clamp(0.0, 1.0), (s1 / cs).clamp(0.0, 1.0)]
            })
            .collect();
        // The normalisation itself is pinned by the JSON.
        let want_norm = normalized[b]["gt_normalized"].as_array().expect("gt_normalized");
        for (got, want) in segments.iter().zip(want_norm) {
            for k in 0..2 {
                let w = want[k].as_f64().expect("normalized value");
                assert!((got[k] - w).abs() < 1e-12, "video {b}: normalized {got:?} vs {want}");
            }
        }
        let labels = gtad_labels(&segments, l);
        assert_close(&format!("gt_iou_map[{b}]"), &labels.iou_map, &iou_want[b * l * l..(b + 1) * l * l], 1e-6);
        assert_close(&format!("gt_start[{b}]"), &labels.start, &start_want[b * l..(b + 1) * l], 1e-6);
        assert_close(&format!("gt_end[{b}]"), &labels.end, &end_want[b * l..(b + 1) * l], 1e-6);
    }
    assert_close("mask", &valid_mask(l), &mask_want, 0.0);
}

/// The thresholds of the loss compare f32 targets: IoUs of exactly 3/10, 7/10 and 9/10 must come
/// out as the f32 nearest those values (golden README, "Semantics" item 3, video v_golden_a2).
#[test]
fn exact_iou_fractions_round_to_nearest_f32() {
    let labels = gtad_labels(&[[0.0, 0.625]], 16);
    let values: Vec<f32> = labels.iou_map.clone();
    for frac in [0.3f64, 0.7, 0.9] {
        assert!(values.contains(&(frac as f32)), "IoU {frac} missing");
    }
}

//! Snippet sampler: frame indices (video ends, L = 25/50/100, short videos), spatial sizes
//! 112/158/224 with resize + crop checked against a direct reference, train/eval crops, and the
//! segment mapping round trips.

mod data_common;

use data_common::{pattern_frame, write_npy_video};
use lofi::data::frames::open_video;
use lofi::data::resize::{resize_crop, CropWindow};
use lofi::data::sampler::{
    crop_window, frame_indices, resized_size, sample_video, segments_to_unit, snippets_to_unit, unit_to_seconds,
    unit_to_snippets, Mode, SamplerConfig,
};
use lofi::data::stream_rng::stream_rng;
use lofi::fidelity::{Fidelity, SnippetFrames};

const PAPER: SnippetFrames = SnippetFrames::PAPER;
const SYNTH: SnippetFrames = SnippetFrames::SYNTHETIC;

#[test]
fn indices_match_hand_computed_values_at_the_video_ends() {
    // F = 1000, L = 100: c_0 = 5, offsets 8·(i − 3.5) = −28 … +28.
    let idx = frame_indices(1000, 100, PAPER).unwrap();
    assert_eq!(&idx[..8], &[0, 0, 0, 1, 9, 17, 25, 33]);
    assert_eq!(&idx[99 * 8..], &[967, 975, 983, 991, 999, 999, 999, 999]);
    // Synthetic: F = 160, L = 32, c_k = 5k + 2.5, offsets (−3, −1, +1, +3).
    let idx = frame_indices(160, 32, SYNTH).unwrap();
    assert_eq!(&idx[..8], &[0, 1, 3, 5, 4, 6, 8, 10]);
    assert_eq!(&idx[31 * 4..], &[154, 156, 158, 159]);
}

#[test]
fn indices_follow_the_formula_for_every_fidelity() {
    for &frames in &[3000usize, 2999, 801, 257] {
        for &l in &[25usize, 50, 100] {
            for snippet in [PAPER, SYNTH] {
                let idx = frame_indices(frames, l, snippet).unwrap();
                assert_eq!(idx.len(), l * snippet.frames);
                // Within a snippet frames never go backwards (snippets may overlap each other).
                for snip in idx.chunks(snippet.frames) {
                    assert!(snip.windows(2).all(|w| w[0] <= w[1]), "F={frames} L={l}: {snip:?}");
                }
                assert!(*idx.last().unwrap() < frames);
                for k in 0..l {
                    let centre = (k as f64 + 0.5) * frames as f64 / l as f64;
                    for i in 0..snippet.frames {
                        let offset = snippet.stride as f64 * (i as f64 - snippet.frames as f64 / 2.0 + 0.5);
                        let want = (centre + offset).floor().clamp(0.0, frames as f64 - 1.0) as usize;
                        assert_eq!(idx[k * snippet.frames + i], want, "F={frames} L={l} k={k} i={i}");
                    }
                }
            }
        }
    }
}

#[test]
fn short_videos_repeat_frames_and_stay_in_range() {
    assert!(frame_indices(1, 100, PAPER).unwrap().iter().all(|&i| i == 0));
    let idx = frame_indices(5, 100, PAPER).unwrap();
    assert!(idx.iter().all(|&i| i < 5));
    assert_eq!((idx[0], idx[idx.len() - 1]), (0, 4));
    // Shorter than one snippet's span (8 frames at stride 8 = 64).
    let idx = frame_indices(40, 25, PAPER).unwrap();
    assert!(idx.iter().all(|&i| i < 40));
    assert!(frame_indices(0, 25, PAPER).is_err());
    assert!(frame_indices(10, 0, PAPER).is_err());
}

#[test]
fn sampled_frames_are_the_indexed_frames_for_short_and_long_videos() {
    let dir = tempfile::tempdir().unwrap();
    for &frames in &[1usize, 3, 37, 300] {
        let id = format!("v{frames}");
        write_npy_video(dir.path(), &id, frames, 32, 32);
        let store = open_video(dir.path(), &id).unwrap();
        let cfg = SamplerConfig::synthetic(Fidelity::new(16, 32, 32));
        let mut out = vec![0u8; cfg.bytes_per_video()];
        sample_video(store.as_ref(), &cfg, Mode::Eval, &mut stream_rng(0, "t", 0), &mut out).unwrap();
        let idx = frame_indices(frames, 16, SYNTH).unwrap();
        let frame_bytes = 32 * 32 * 3;
        for (slot, &t) in idx.iter().enumerate() {
            assert_eq!(
                &out[slot * frame_bytes..(slot + 1) * frame_bytes],
                &pattern_frame(t, 32, 32)[..],
                "slot {slot}"
            );
        }
    }
}

/// Direct 2-D evaluation of the antialiased triangle filter for one output pixel.
fn reference_pixel(src: &[u8], sh: usize, sw: usize, win: &CropWindow, y: usize, x: usize, c: usize) -> f64 {
    let axis = |src_n: usize, dst_n: usize, pos: usize| -> Vec<(usize, f64)> {
        let scale = src_n as f64 / dst_n as f64;
        let support = scale.max(1.0);
        let centre = (pos as f64 + 0.5) * scale;
        let taps: Vec<(usize, f64)> = (0..src_n)
            .map(|j| (j, (1.0 - ((j as f64 + 0.5 - centre) / support).abs()).max(0.0)))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        let total: f64 = taps.iter().map(|t| t.1).sum();
        taps.into_iter().map(|(j, w)| (j, w / total)).collect()
    };
    let xs = if win.flip { win.left + win.width - 1 - x } else { win.left + x };
    let wy = axis(sh, win.resized_h, win.top + y);
    let wx = axis(sw, win.resized_w, xs);
    let mut acc = 0.0;
    for &(j, a) in &wy {
        for &(i, b) in &wx {
            acc += a * b * src[(j * sw + i) * 3 + c] as f64;
        }
    }
    acc
}

#[test]
fn resize_and_crop_match_a_direct_reference_at_112_158_224() {
    let (sh, sw) = (256, 341);
    let mut rng = stream_rng(7, "resize-test", 0);
    let src: Vec<u8> = (0..sh * sw * 3).map(|_| rand::Rng::random::<u8>(&mut rng)).collect();
    for &size in &[112usize, 158, 224] {
        for mode in [Mode::Eval, Mode::Train] {
            let cfg = SamplerConfig::paper(Fidelity::new(25, size, size));
            let win = crop_window(&cfg, sh, sw, mode, &mut rng);
            assert_eq!((win.height, win.width), (size, size));
            assert_eq!(win.resized_h.min(win.resized_w), (size as f64 * 256.0 / 224.0).round() as usize);
            let mut out = vec![0u8; size * size * 3];
            resize_crop(&src, sh, sw, &win, &mut out, &mut Vec::new());
            for &(y, x) in &[(0, 0), (size - 1, size - 1), (size / 2, 3), (7, size - 2), (size / 3, size / 2)] {
                for c in 0..3 {
                    let want = reference_pixel(&src, sh, sw, &win, y, x, c);
                    let got = out[(y * size + x) * 3 + c] as f64;
                    assert!((got - want).abs() <= 0.51, "size {size} {mode:?} ({y},{x},{c}): {got} vs {want:.3}");
                }
            }
        }
    }
}

#[test]
fn unscaled_crops_copy_pixels_and_flip_mirrors_them() {
    let (h, w) = (40, 50);
    let src = pattern_frame(9, h, w);
    let win = CropWindow { resized_h: h, resized_w: w, top: 3, left: 5, height: 32, width: 32, flip: false };
    let mut out = vec![0u8; 32 * 32 * 3];
    resize_crop(&src, h, w, &win, &mut out, &mut Vec::new());
    let mut flipped = vec![0u8; 32 * 32 * 3];
    resize_crop(&src, h, w, &CropWindow { flip: true, ..win }, &mut flipped, &mut Vec::new());
    for y in 0..32 {
        for x in 0..32 {
            let s = ((y + 3) * w + x + 5) * 3;
            assert_eq!(&out[(y * 32 + x) * 3..][..3], &src[s..s + 3]);
            assert_eq!(&flipped[(y * 32 + 31 - x) * 3..][..3], &src[s..s + 3]);
        }
    }
}

#[test]
fn crops_fit_any_aspect_ratio() {
    // Portrait, landscape and very wide sources; the crop must always fit inside the resized frame.
    for &(sh, sw) in &[(480usize, 360usize), (360, 480), (100, 1000), (50, 60)] {
        for &size in &[112usize, 158, 224] {
            let (rh, rw) = resized_size(sh, sw, 256, size, size);
            assert!(rh >= size && rw >= size, "{sh}x{sw} → {rh}x{rw} for {size}");
            let cfg = SamplerConfig::paper(Fidelity::new(25, size, size));
            let win = crop_window(&cfg, sh, sw, Mode::Train, &mut stream_rng(1, "fit", 0));
            assert!(win.top + size <= win.resized_h && win.left + size <= win.resized_w);
        }
    }
}

#[test]
fn train_crops_vary_with_the_seed_and_eval_crops_do_not() {
    let cfg = SamplerConfig::paper(Fidelity::new(25, 224, 224));
    let wins: Vec<CropWindow> =
        (0..64).map(|i| crop_window(&cfg, 256, 341, Mode::Train, &mut stream_rng(3, "crop", i))).collect();
    let flips = wins.iter().filter(|w| w.flip).count();
    assert!((16..=48).contains(&flips), "flip rate {flips}/64");
    assert!(wins.iter().any(|w| w.left != wins[0].left));
    let eval = crop_window(&cfg, 256, 341, Mode::Eval, &mut stream_rng(3, "crop", 0));
    assert_eq!((eval.top, eval.left, eval.flip), (16, (341 - 224) / 2, false));
    // The synthetic preset never flips: a mirror would turn orbit_cw into orbit_ccw.
    let synth = SamplerConfig::synthetic(Fidelity::new(16, 32, 32));
    assert!((0..64).all(|i| !crop_window(&synth, 32, 32, Mode::Train, &mut stream_rng(3, "crop", i)).flip));
}

#[test]
fn segment_mapping_round_trips() {
    let duration = 123.4;
    let seconds = vec![[0.0, 12.5], [30.25, 99.0], [100.0, 123.4]];
    for &l in &[25usize, 50, 100] {
        let unit = segments_to_unit(&seconds, duration);
        let snippets = unit_to_snippets(&unit, l);
        let back = unit_to_seconds(&snippets_to_unit(&snippets, l), duration);
        for (a, b) in seconds.iter().zip(&back) {
            assert!((a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9, "{a:?} vs {b:?}");
        }
        assert!((snippets[2][1] - l as f64).abs() < 1e-9, "the video end maps to L");
    }
    // Out-of-range segments are clipped to the video.
    assert_eq!(segments_to_unit(&[[-5.0, 200.0]], 100.0), vec![[0.0, 1.0]]);
}

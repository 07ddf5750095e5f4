//! Synthetic benchmark properties (SYNTHETIC.md §2): gaps, durations, class balance, continuity of
//! the actor at action boundaries, clip statistics shifted as specified, and `lofi synth`
//! determinism (byte-identical output for one seed, whatever the thread count).

use lofi::data::annotations::{Annotations, SegmentPolicy};
use lofi::data::frames::open_video;
use lofi::data::synth::clips::{clip_bytes, render_clip};
use lofi::data::synth::video::render_video;
use lofi::data::synth::{plan_video, Motion, SynthConfig, VideoPlan, FPS, SIZE};
use lofi::data::synth::{BgMode, Split};
use std::path::Path;
use std::process::Command;

fn plans(cfg: &SynthConfig) -> Vec<VideoPlan> {
    [Split::Training, Split::Validation]
        .iter()
        .flat_map(|&split| (0..cfg.videos_per_split).map(move |i| plan_video(cfg, split, i)))
        .collect()
}

fn small_cfg(seed: u64, videos: usize) -> SynthConfig {
    SynthConfig { seed, videos_per_split: videos, ..SynthConfig::default() }
}

#[test]
fn durations_gaps_and_action_counts_follow_the_design() {
    let fps = FPS;
    let mut counts = [0usize; 4];
    for plan in plans(&small_cfg(3, 120)) {
        assert!((20 * fps..=36 * fps).contains(&plan.frames), "{}: {} frames", plan.id, plan.frames);
        assert!((1..=3).contains(&plan.actions.len()), "{}: {} actions", plan.id, plan.actions.len());
        counts[plan.actions.len()] += 1;
        let mut previous_end = 0;
        for a in &plan.actions {
            let len = a[1] - a[0];
            assert!((3 * fps..=10 * fps).contains(&len), "{}: action of {len} frames", plan.id);
            // ≥ 1.5 s = 12 frames of background before each action (and after the last one).
            assert!(a[0] >= previous_end + 12, "{}: gap {} → {}", plan.id, previous_end, a[0]);
            previous_end = a[1];
        }
        assert!(
            plan.frames >= previous_end + 12,
            "{}: {} frames after the last action",
            plan.id,
            plan.frames - previous_end
        );
        // Boundaries are whole frames, so the seconds are multiples of 1/8.
        for s in plan.segments() {
            assert_eq!((s[0] * 8.0).fract(), 0.0);
            assert_eq!((s[1] * 8.0).fract(), 0.0);
        }
    }
    assert!(counts[1] > 0 && counts[2] > 0 && counts[3] > 0, "action counts {counts:?}");
}

#[test]
fn classes_are_balanced_within_each_split() {
    let cfg = small_cfg(4, 60);
    for split in [Split::Training, Split::Validation] {
        let mut per_class = [0usize; 6];
        for i in 0..cfg.videos_per_split {
            per_class[plan_video(&cfg, split, i).motion.label()] += 1;
        }
        assert_eq!(per_class, [10; 6], "{split:?}");
    }
}

fn step(track: &[([f64; 2], f64)], t: usize) -> f64 {
    let (a, b) = (track[t - 1].0, track[t].0);
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[test]
fn the_actor_never_jumps_at_action_boundaries() {
    let mut ends = 0;
    let mut far_from_wander = 0;
    for plan in plans(&small_cfg(5, 90)) {
        let actor = &plan.tracks[0];
        // The fastest action motion is A·ω px/s; wander steps are far below it.
        let max_step = plan.amplitude * 2.0 * std::f64::consts::PI / plan.period / FPS as f64 + 0.6;
        for a in &plan.actions {
            for &b in &[a[0], a[1]] {
                if b < plan.frames {
                    assert!(
                        step(actor, b) <= max_step,
                        "{} boundary {b}: step {:.2} > {max_step:.2}",
                        plan.id,
                        step(actor, b)
                    );
                }
            }
            if a[1] < plan.frames {
                ends += 1;
                // At the end the actor is usually far from its wander path: returning there at once
                // would be a jump; instead the offset decays (τ = 2 s).
                let [x, y] = actor[a[1]].0;
                let [wx, wy] = plan.actor_wander[a[1]];
                if ((x - wx).powi(2) + (y - wy).powi(2)).sqrt() > max_step {
                    far_from_wander += 1;
                }
            }
        }
        // The actor stays inside the walls [r+0.5, H−r−0.5] that actions reflect at.
        let r0 = plan.looks[0].radius;
        let (lo, hi) = (r0 + 0.5 - 1e-9, SIZE as f64 - r0 - 0.5 + 1e-9);
        for (t, (pos, _)) in actor.iter().enumerate() {
            assert!(pos.iter().all(|&p| (lo..=hi).contains(&p)), "{} frame {t}: {pos:?}", plan.id);
        }
    }
    assert!(far_from_wander * 4 >= ends, "only {far_from_wander} of {ends} action ends are away from the wander path");
}

#[test]
fn the_actor_returns_to_its_wander_path_after_an_action() {
    let cfg = small_cfg(6, 30);
    for plan in plans(&cfg) {
        let Some(last) = plan.actions.last() else { continue };
        // 5τ = 10 s after the end the offset has decayed below e^-5 of at most ~30 px.
        let t = last[1] + 10 * FPS;
        if t < plan.frames {
            let [x, y] = plan.tracks[0][t].0;
            let [wx, wy] = plan.actor_wander[t];
            assert!(((x - wx).powi(2) + (y - wy).powi(2)).sqrt() < 0.25, "{} frame {t}", plan.id);
        }
    }
}

#[test]
fn static_background_mode_keeps_the_actor_still_outside_actions() {
    let cfg = SynthConfig { bg_mode: BgMode::Static, ..small_cfg(7, 6) };
    for plan in plans(&cfg) {
        let first = plan.actions[0][0];
        assert!((1..first).all(|t| step(&plan.tracks[0], t) == 0.0), "{}", plan.id);
    }
}

/// Robust estimate of the pixel noise σ (in [0, 1] units) from frame-to-frame differences: the
/// background is static, so most differences are noise − noise, of σ·√2.
fn noise_sigma(frames: &[u8], n_frames: usize) -> f64 {
    let fb = SIZE * SIZE * 3;
    let mut diffs: Vec<f64> = (1..n_frames)
        .flat_map(|t| (0..fb).map(move |i| (t, i)))
        .map(|(t, i)| (frames[t * fb + i] as f64 - frames[(t - 1) * fb + i] as f64).abs())
        .collect();
    diffs.sort_by(f64::total_cmp);
    diffs[diffs.len() / 2] / 0.6745 / std::f64::consts::SQRT_2 / 255.0
}

#[test]
fn clips_come_from_the_shifted_distribution() {
    let cfg = small_cfg(8, 2);
    let mut sigmas = Vec::new();
    let mut per_class = [0usize; 6];
    let mut buf = vec![0u8; clip_bytes(&cfg)];
    for i in 0..120 {
        let info = render_clip(&cfg, i, &mut buf);
        per_class[info.label] += 1;
        assert!((4.0..=6.0).contains(&info.amplitude), "clip {i}: A {}", info.amplitude);
        assert!((1.2..=2.0).contains(&info.period), "clip {i}: P {}", info.period);
        assert!((3.0..=5.0).contains(&info.radius), "clip {i}: r {}", info.radius);
        assert!((0.0..=3.0).contains(&info.phase));
        sigmas.push(noise_sigma(&buf, cfg.clip_frames));
    }
    assert_eq!(per_class, [20; 6]);
    let clip_sigma = sigmas.iter().sum::<f64>() / sigmas.len() as f64;
    let plan = plan_video(&cfg, Split::Training, 0);
    let video_sigma = noise_sigma(&render_video(&cfg, &plan), plan.frames);
    println!("noise σ: clips {clip_sigma:.4} (0.08), videos {video_sigma:.4} (0.04)");
    assert!((0.07..0.09).contains(&clip_sigma), "clip noise {clip_sigma}");
    assert!((0.034..0.046).contains(&video_sigma), "video noise {video_sigma}");
    for plan in plans(&cfg) {
        assert!((3.0..=5.0).contains(&plan.amplitude) && (1.6..=2.4).contains(&plan.period));
        assert!(plan.looks.iter().all(|l| (2.5..=4.0).contains(&l.radius)));
    }
    // Without the shift the clips use the target distribution.
    let unshifted = SynthConfig { clip_shift: false, ..cfg };
    let info = (0..30).map(|i| render_clip(&unshifted, i, &mut buf)).collect::<Vec<_>>();
    assert!(info.iter().all(|c| (3.0..=5.0).contains(&c.amplitude) && (1.6..=2.4).contains(&c.period)));
    assert!((0.034..0.046).contains(&noise_sigma(&buf, unshifted.clip_frames)));
}

#[test]
fn clips_are_a_function_of_their_index() {
    let cfg = small_cfg(9, 1);
    let (mut a, mut b) = (vec![0u8; clip_bytes(&cfg)], vec![0u8; clip_bytes(&cfg)]);
    assert_eq!(render_clip(&cfg, 3, &mut a), render_clip(&cfg, 3, &mut b));
    assert_eq!(a, b);
    let other = render_clip(&cfg, 4, &mut b);
    assert_ne!(a, b);
    assert_eq!(Motion::of_index(other.label), Motion::Pulse);
}

fn lofi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lofi"))
}

fn run_synth(out: &Path, seed: u64, threads: &str) {
    let status = lofi()
        .args(["synth", "--videos", "4", "--clips", "30", "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .env("RAYON_NUM_THREADS", threads)
        .status()
        .expect("lofi runs");
    assert!(status.success(), "lofi synth failed");
}

/// Every file under `dir` (relative path → bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn lofi_synth_is_byte_identical_for_a_seed_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    run_synth(&a, 1, "1");
    run_synth(&b, 1, "2");
    run_synth(&c, 2, "2");
    let (ta, tb, tc) = (tree(&a), tree(&b), tree(&c));
    let names: Vec<&str> = ta.iter().map(|(n, _)| n.as_str()).collect();
    for expected in
        ["annotations.json", "synth.json", "clips/frames.npy", "clips/labels.json", "frames/train_0000/meta.json"]
    {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    assert_eq!(names.iter().filter(|n| n.ends_with("frames.npy")).count(), 8 + 1);
    assert!(ta == tb, "seed 1 differs between 1 and 2 threads");
    assert!(ta != tc, "seeds 1 and 2 gave the same data");
    // No temporary files are left behind.
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");

    // The annotations load in data::annotations with the class order of the generator, and every
    // video opens in the frame store with the annotated duration.
    let ann = Annotations::load(&a.join("annotations.json"), SegmentPolicy::Keep).unwrap();
    assert!(ann.report.is_clean(), "{:?}", ann.report);
    let names: Vec<&str> = Motion::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(ann.classes, names);
    assert_eq!(ann.subset("training").count(), 4);
    assert_eq!(ann.subset("validation").count(), 4);
    for video in &ann.videos {
        let store = open_video(&a.join("frames"), &video.id).unwrap();
        assert_eq!(store.meta().frames as f64, video.duration * FPS as f64, "{}", video.id);
        assert!(!video.segments.is_empty());
        let index: usize = video.id.rsplit('_').next().unwrap().parse().unwrap();
        assert!(video.segments.iter().all(|s| s.class == index % 6), "{}", video.id);
    }
    // A rerun over existing output replaces it with identical bytes.
    run_synth(&a, 1, "2");
    assert!(tree(&a) == tb);
}

#[test]
fn lofi_synth_rejects_bad_flags_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, value) in [("--videos", "0"), ("--ctx-p", "1.5"), ("--wander-sigma", "-1")] {
        let out =
            lofi().args(["synth", "--out"]).arg(tmp.path().join("x")).arg(format!("{flag}={value}")).output().unwrap();
        assert!(!out.status.success(), "{flag} {value} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}

//! The two-stage baseline end to end through the CLI — `acp` → `extract` → `head` → `infer` →
//! `eval` on a small synthetic dataset — checking the files of every stage and that the training
//! losses fall; then the stages' answers to bad input: each a clear error naming what is wrong,
//! a non-zero exit, and nothing already written lost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lofi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lofi")).args(args).output().expect("run lofi")
}

fn ok(args: &[&str]) -> String {
    let out = lofi(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lofi {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The error text of a command that must fail.
fn fails(args: &[&str]) -> String {
    let out = lofi(args);
    assert!(!out.status.success(), "lofi {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn dataset(dir: &Path, videos: &str, clips: &str) -> PathBuf {
    let data = dir.join("data");
    ok(&["synth", "--videos", videos, "--clips", clips, "--seed", "2", "--out", p(&data)]);
    data
}

/// Total loss of every logged step.
fn losses(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter_map(|v| v["loss"]["total"].as_f64())
        .collect()
}

/// Two head steps of batch 2: enough to write a run directory and `final.safetensors`.
fn train_head_briefly(data: &Path, features: &Path, out: &Path) {
    let steps = ["--steps", "2", "--batch", "2", "--quiet"];
    let mut args = vec!["train", "--stage", "head", "--data", p(data), "--features", p(features), "--out", p(out)];
    args.extend(steps);
    ok(&args);
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn acp_extract_head_infer_eval_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "6", "600");
    let acp = dir.path().join("acp");
    let said = ok(&[
        "train",
        "--stage",
        "acp",
        "--data",
        p(&data),
        "--out",
        p(&acp),
        "--steps",
        "60",
        "--batch",
        "32",
        "--quiet",
    ]);
    assert!(said.contains("held-out clip accuracy"), "{said}");
    for f in ["config.toml", "metrics.jsonl", "final.safetensors", "summary.json", "checkpoints"] {
        assert!(acp.join(f).exists(), "acp wrote no {f}");
    }
    let l = losses(&acp);
    assert_eq!(l.len(), 60);
    assert!(mean(&l[50..]) < mean(&l[..10]), "ACP loss did not fall: {l:?}");

    let features = dir.path().join("features");
    ok(&[
        "extract",
        "--encoder",
        p(&acp.join("final.safetensors")),
        "--data",
        p(&data),
        "--out",
        p(&features),
        "--quiet",
    ]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(features.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["videos"].as_array().map(Vec::len), Some(12), "both splits extracted");
    assert_eq!(index["feature_dim"], 64);
    assert_eq!(index["fidelity"]["snippets"], 32);
    assert!(features.join("train_0000.npy").is_file());

    let head = dir.path().join("head");
    ok(&["train", "--stage", "head", "--data", p(&data), "--features", p(&features), "--out", p(&head)]
        .iter()
        .copied()
        .chain(["--epochs", "30", "--batch", "3", "--quiet"])
        .collect::<Vec<_>>());
    let l = losses(&head);
    assert_eq!(l.len(), 60, "6 videos in batches of 3 for 30 epochs");
    assert!(mean(&l[50..]) < 0.85 * mean(&l[..10]), "head loss did not fall: {l:?}");

    let det = dir.path().join("det.json");
    let said =
        ok(&["infer", "--head", p(&head.join("final.safetensors")), "--features", p(&features), "--out", p(&det)]);
    assert!(said.contains("6 videos"), "{said}");
    let classes = dir.path().join("det.classes.json");
    let scores: serde_json::Value = serde_json::from_slice(&std::fs::read(&classes).unwrap()).unwrap();
    assert_eq!(scores["class"].as_array().map(Vec::len), Some(6));
    assert_eq!(scores["results"].as_object().map(|o| o.len()), Some(6));

    let report = ok(&["eval", "--gt", p(&data.join("annotations.json")), "--pred", p(&det), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["num_pred"].as_u64().unwrap_or(0) > 0, "{v}");
    let avg = v["average_mAP"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&avg), "{v}");
}

#[test]
fn unknown_stages_keys_and_presets_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let e = fails(&["train", "--stage", "finetune", "--out", p(&out)]);
    assert!(e.contains("finetune") && e.contains("acp") && e.contains("head"), "{e}");

    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[optim]\nlearning_rate = 0.1\n").unwrap();
    let e = fails(&["train", "--stage", "head", "--config", p(&cfg), "--out", p(&out)]);
    assert!(e.contains("bad.toml") && e.contains("learning_rate"), "{e}");

    std::fs::write(&cfg, "[model]\nencoder = \"resnet34\"\n").unwrap();
    let e = fails(&["train", "--stage", "acp", "--config", p(&cfg), "--out", p(&out)]);
    assert!(e.contains("resnet34") && e.contains("resnet18") && e.contains("synthetic-tiny"), "{e}");

    std::fs::write(&cfg, "[model]\nhead = \"bmn\"\n").unwrap();
    let e = fails(&["train", "--stage", "head", "--config", p(&cfg), "--out", p(&out)]);
    assert!(e.contains("bmn") && e.contains("gtad-activitynet"), "{e}");
    assert!(!out.exists(), "nothing is written for a refused configuration");
}

#[test]
fn missing_inputs_and_empty_splits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "0");
    let out = dir.path().join("run");
    // No clip set.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = fails(&["train", "--stage", "acp", "--data", p(&empty), "--out", p(&out)]);
    assert!(e.contains("clips") && e.contains("labels.json"), "{e}");
    // No annotations.
    let e = fails(&["extract", "--encoder", "random", "--data", p(&empty), "--out", p(&out)]);
    assert!(e.contains("annotations.json"), "{e}");
    // Features whose training split is empty.
    let features = dir.path().join("features");
    ok(&["extract", "--encoder", "random", "--data", p(&data), "--out", p(&features), "--quiet"]);
    let only_val = dir.path().join("val-only");
    std::fs::create_dir_all(&only_val).unwrap();
    let ann = std::fs::read_to_string(data.join("annotations.json")).unwrap().replace("\"training\"", "\"validation\"");
    std::fs::write(only_val.join("annotations.json"), ann).unwrap();
    let e = fails(&["train", "--stage", "head", "--data", p(&only_val), "--features", p(&features), "--out", p(&out)]);
    assert!(e.contains("training split is empty"), "{e}");
    // The head stage without features.
    let e = fails(&["train", "--stage", "head", "--data", p(&data), "--out", p(&out)]);
    assert!(e.contains("--features"), "{e}");
    // A non-empty directory that is not a feature store is not overwritten by extract.
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let e = fails(&["extract", "--encoder", "random", "--data", p(&data), "--out", p(&mine)]);
    assert!(e.contains("notes.txt"), "{e}");
    assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "keep me");
}

#[test]
fn features_of_another_width_do_not_reach_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "0");
    let features = dir.path().join("features");
    ok(&["extract", "--encoder", "random", "--data", p(&data), "--out", p(&features), "--quiet"]);
    let head = dir.path().join("head");
    train_head_briefly(&data, &features, &head);
    // A store of 32-wide features (a resnet-style width) for the same videos.
    let narrow = dir.path().join("narrow");
    std::fs::create_dir_all(&narrow).unwrap();
    let store = lofi::data::features::FeatureStore::open(&features).unwrap();
    let mut index = store.index.clone();
    index.feature_dim = 32;
    for v in &index.videos {
        lofi::data::features::write_video(&narrow, &v.id, &v.subset, v.duration, 32, 32, &vec![0.5; 32 * 32]).unwrap();
    }
    lofi::data::features::write_index(&narrow, &index).unwrap();
    let e = fails(&[
        "infer",
        "--head",
        p(&head.join("final.safetensors")),
        "--features",
        p(&narrow),
        "--out",
        p(&dir.path().join("d.json")),
    ]);
    assert!(e.contains("32-wide") && e.contains("64 channels"), "{e}");
}

#[test]
fn runs_are_not_overwritten_and_resume_checks_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "240");
    let run = dir.path().join("run");
    let args = ["train", "--stage", "acp", "--data", p(&data), "--out", p(&run), "--steps", "4", "--batch", "16"];
    ok(&args);
    let before = std::fs::read(run.join("final.safetensors")).unwrap();
    let e = fails(&args);
    assert!(e.contains("already holds a run") && e.contains("--resume"), "{e}");
    assert!(std::fs::read(run.join("final.safetensors")).unwrap() == before, "the earlier run's weights are intact");
    let e = fails(&[&args[..], &["--resume", "--seed", "9"]].concat());
    assert!(e.contains("seed"), "{e}");
    // Resuming a finished run does no step and keeps its result.
    ok(&[&args[..], &["--resume"]].concat());
    assert!(std::fs::read(run.join("final.safetensors")).unwrap() == before);
    // A run directory without checkpoints starts at step 0 and says so.
    let fresh = dir.path().join("fresh");
    let out = Command::new(env!("CARGO_BIN_EXE_lofi"))
        .args([
            "train",
            "--stage",
            "acp",
            "--data",
            p(&data),
            "--out",
            p(&fresh),
            "--steps",
            "2",
            "--batch",
            "16",
            "--resume",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("starting at step 0"));
}

#[test]
fn a_nan_loss_stops_the_run_naming_stage_step_and_term() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "240");
    let run = dir.path().join("run");
    let cfg = dir.path().join("explode.toml");
    std::fs::write(&cfg, "[optim]\nkind = \"sgd\"\nlr = 1e30\n[schedule]\nkind = \"constant\"\n").unwrap();
    let e = fails(
        &["train", "--stage", "acp", "--data", p(&data), "--out", p(&run), "--config", p(&cfg)]
            .iter()
            .copied()
            .chain(["--steps", "20", "--batch", "16", "--checkpoint-every", "1", "--quiet"])
            .collect::<Vec<_>>(),
    );
    assert!(e.contains("stage acp, step") && e.contains("loss term total"), "{e}");
    assert!(!run.join("final.safetensors").exists());
    // Every checkpoint left behind reads back (the last good one is intact).
    let device = lofi::Device::cpu();
    for (step, path) in lofi::train::checkpoint::list(&run).unwrap() {
        let c = lofi::train::checkpoint::read(&path, &device).unwrap();
        assert_eq!(c.position.step, step);
    }
}

#[test]
fn a_budget_too_small_for_one_step_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "240");
    let run = dir.path().join("run");
    let e = fails(&[
        "train",
        "--stage",
        "acp",
        "--data",
        p(&data),
        "--out",
        p(&run),
        "--steps",
        "2",
        "--batch",
        "64",
        "--memory-budget",
        "4MiB",
    ]);
    assert!(e.contains("out of memory budget") && e.contains("fidelity 1x32") && e.contains("batch 64"), "{e}");
    assert!(!run.join("metrics.jsonl").exists(), "no step ran");
    let e = fails(&["train", "--stage", "acp", "--data", p(&data), "--out", p(&run), "--memory-budget=-1"]);
    assert!(e.contains("--memory-budget"), "{e}");
}

#[test]
fn lofi_configurations_and_fidelities_the_encoder_cannot_take_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), "2", "240");
    let acp = dir.path().join("acp");
    ok(&["train", "--stage", "acp", "--data", p(&data), "--out", p(&acp), "--steps", "2", "--batch", "16", "--quiet"]);
    let features = dir.path().join("features");
    ok(&[
        "extract",
        "--encoder",
        p(&acp.join("final.safetensors")),
        "--data",
        p(&data),
        "--out",
        p(&features),
        "--quiet",
    ]);
    let head = dir.path().join("head");
    train_head_briefly(&data, &features, &head);
    let (enc, hd) = (acp.join("final.safetensors"), head.join("final.safetensors"));
    let run = dir.path().join("lofi");
    let base =
        ["train", "--stage", "lofi", "--data", p(&data), "--encoder", p(&enc), "--head", p(&hd), "--out", p(&run)];
    let e = fails(&[&base[..], &["--lofi", "ts"]].concat());
    assert!(e.contains("--lofi") && e.contains("c-short") && e.contains("c-long"), "{e}");
    let e = fails(&[&base[..], &["--lofi", "t", "--fidelity", "16x8"]].concat());
    assert!(e.contains("16x8") && e.contains("16×16"), "{e}");
    let e = fails(&["train", "--stage", "lofi", "--data", p(&data), "--out", p(&run), "--head", p(&hd)]);
    assert!(e.contains("--encoder"), "{e}");
    // A short T-LoFi run works and logs its fidelity on every step.
    let said = ok(&[&base[..], &["--lofi", "t", "--epochs", "1", "--batch", "2", "--quiet"]].concat());
    assert!(said.contains("16x32"), "{said}");
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(text.lines().all(|l| l.contains("\"fidelity\":\"16x32\"")), "{text}");
    assert!(run.join("head.safetensors").is_file() && run.join("final.safetensors").is_file());
}

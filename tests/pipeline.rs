//! `lofi pipeline` end to end at a reduced size (a few videos, a few steps per stage): every
//! method's chain of jobs runs, the report has the promised structure, the plots are PNGs, the
//! training losses fall, and running the same command again skips every job and changes nothing.
//! Then its answers to bad input.

use std::path::Path;
use std::process::{Command, Output};

const SMALL: &str = r#"
[synth]
videos = 6
clips = 360

[stage.acp]
data = { steps = 40, batch = 32 }

[stage.head]
data = { epochs = 12, batch = 3 }

[stage.lofi]
data = { epochs = 2, batch = 3 }

[stage.e2e-full]
data = { epochs = 2, batch = 3 }

[stage.acp-plus]
data = { steps = 6, batch = 16 }
"#;

fn lofi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lofi")).args(args).output().expect("run lofi")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn max_step_peak(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter_map(|v| v["peak_bytes"].as_u64())
        .max()
        .expect("a step with a peak")
}

fn losses(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter_map(|v| v["loss"]["total"].as_f64())
        .collect()
}

fn falls(run: &Path) {
    let l = losses(run);
    let k = (l.len() / 4).max(1);
    let (first, last) = (l[..k].iter().sum::<f64>() / k as f64, l[l.len() - k..].iter().sum::<f64>() / k as f64);
    assert!(last < first, "{}: loss did not fall: {l:?}", run.display());
}

#[test]
fn a_reduced_pipeline_runs_every_method_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    let out = dir.path().join("pipe");
    let run = || lofi(&["pipeline", "--out", p(&out), "--config", p(&cfg), "--seeds", "3", "--quiet"]);
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("lofi-c-long") && said.contains("report.md"), "{said}");

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().expect("rows");
    let methods: Vec<&str> = rows.iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(
        methods,
        ["random", "acp", "acp-plus", "lofi-s", "lofi-t", "lofi-st", "lofi-c-short", "lofi-c-long", "e2e-full"]
    );
    for r in rows {
        assert_eq!(r["seed"], 3, "{r}");
        let map = r["mAP"].as_array().expect("mAP");
        assert_eq!(map.len(), 10, "{r}");
        assert!(map.iter().all(|v| v.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v))), "{r}");
        let avg = r["average_mAP"].as_f64().expect("average");
        let mean = map.iter().filter_map(|v| v.as_f64()).sum::<f64>() / 10.0;
        assert!((avg - mean).abs() < 1e-9, "{r}");
        let stages = r["stages"].as_array().expect("stages");
        assert!(stages.len() >= 4, "{r}");
        for s in stages {
            assert!(
                s["name"].is_string() && s["wall_s"].as_f64().is_some_and(|w| w >= 0.0) && s["peak_bytes"].is_u64(),
                "{s}"
            );
        }
    }
    let lofi_t = rows.iter().find(|r| r["method"] == "lofi-t").unwrap();
    // A training job's peak is its high-water mark, at least every step's peak (each step resets
    // the step peak; the job's must not be the last step's).
    for job in ["acp", "head/acp", "lofi-t"] {
        let stage = lofi_t["stages"].as_array().unwrap().iter().find(|s| s["name"] == job).unwrap();
        let steps = max_step_peak(&out.join("seed-3").join(job));
        assert!(stage["peak_bytes"].as_u64().unwrap() >= steps, "{job}: job peak {stage} below a step's {steps}");
    }
    let names: Vec<&str> = lofi_t["stages"].as_array().unwrap().iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        ["data", "acp", "features/acp", "head/acp", "lofi-t", "features/lofi-t", "head/lofi-t", "eval/lofi-t"]
    );

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for needle in
        ["Table 1", "Table 2", "full fidelity", "16x32", "32x22 → 16x32 → 22x27", "gain over ACP", "head/lofi-t"]
    {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
    for png in ["average_map.png", "loss_seed3.png"] {
        let bytes = std::fs::read(out.join("plots").join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5000, "{png}");
    }
    let seed = out.join("seed-3");
    falls(&seed.join("acp"));
    for head in ["random", "acp", "lofi-t", "e2e-full"] {
        falls(&seed.join("head").join(head));
    }
    // The LoFi stage logs the fidelity of every step; C-LoFi long changes it per epoch.
    let text = std::fs::read_to_string(seed.join("lofi-c-long/metrics.jsonl")).unwrap();
    let fidelities: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["fidelity"].as_str().map(String::from))
        .collect();
    assert_eq!(fidelities.first().map(String::as_str), Some("32x22"));
    assert_eq!(fidelities.last().map(String::as_str), Some("16x32"));

    // The same command again: every job is skipped and the report is unchanged.
    let before = std::fs::read(out.join("report.json")).unwrap();
    let started = std::time::Instant::now();
    let again = run();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(started.elapsed().as_secs_f64() < 10.0, "nothing should run again");
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(after["rows"], before["rows"]);

    // A job whose output is gone (an interrupted run) is redone, and only it.
    std::fs::remove_dir_all(seed.join("eval/acp")).unwrap();
    let third = lofi(&["pipeline", "--out", p(&out), "--config", p(&cfg), "--seeds", "3"]);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{stderr}");
    assert!(stderr.contains("seed 3: eval/acp\n") && stderr.contains("seed 3: head/acp: done, skipped"), "{stderr}");
}

#[test]
fn bad_seeds_data_and_configs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pipe");
    let e = lofi(&["pipeline", "--out", p(&out), "--seeds", "0,x"]);
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("--seeds"));

    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("annotations.json"),
        r#"{"database": {"v1": {"subset": "training", "duration": 10.0, "annotations": []}}}"#,
    )
    .unwrap();
    let e = lofi(&["pipeline", "--out", p(&out), "--data", p(&data)]);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success() && stderr.contains("--data") && stderr.contains("validation"), "{stderr}");

    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "methods = [\"lofi-x\"]\n").unwrap();
    let e = lofi(&["pipeline", "--out", p(&out), "--config", p(&cfg)]);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success() && stderr.contains("bad.toml") && stderr.contains("lofi-x"), "{stderr}");
    std::fs::write(&cfg, "[stage.lofi-t]\ndata = { epochs = 1 }\n").unwrap();
    let e = lofi(&["pipeline", "--out", p(&out), "--config", p(&cfg)]);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success() && stderr.contains("stage.lofi-t"), "{stderr}");
    let e = lofi(&["pipeline", "--out", p(&out), "--recipe", "imagenet"]);
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("--recipe"));
}

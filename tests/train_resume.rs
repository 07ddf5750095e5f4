//! Exact resume: a CPU training run killed with SIGKILL at random moments — inside a step, and
//! inside a checkpoint write — and resumed each time ends with final weights bitwise equal to an
//! uninterrupted run with the same seed and thread count; its metrics log holds every step exactly
//! once. A corrupt newest checkpoint is refused with its name and the previous one is used; a
//! leftover temporary file of an interrupted write is ignored.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: &str = "24";

fn lofi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lofi"))
}

/// A small synthetic dataset with a clip set (the ACP stage's input).
fn dataset(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let ok = lofi()
        .args(["synth", "--videos", "2", "--clips", "240", "--seed", "5", "--out"])
        .arg(&data)
        .output()
        .expect("run lofi synth");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    data
}

fn train(data: &Path, out: &Path, resume: bool) -> Command {
    let mut c = lofi();
    c.args(["train", "--stage", "acp", "--steps", STEPS, "--batch", "48", "--checkpoint-every", "2", "--keep", "2"])
        .args(["--threads", "2", "--quiet", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        c.arg("--resume");
    }
    c
}

fn kill(mut child: Child) {
    // SIGKILL: no destructor, no flush, nothing of lofi's own clean-up runs.
    let _ = child.kill();
    let _ = child.wait();
}

/// True while some checkpoint write is in flight (its temporary file exists).
fn writing(out: &Path) -> bool {
    std::fs::read_dir(out.join("checkpoints"))
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp")))
        .unwrap_or(false)
}

fn steps_logged(out: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(out.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .filter(|v| v.get("eval").is_none())
        .map(|v| v["step"].as_u64().expect("step"))
        .collect()
}

#[test]
fn killed_and_resumed_runs_end_bitwise_equal_to_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let reference = dir.path().join("reference");
    let started = Instant::now();
    let done = train(&data, &reference, false).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let full_run = started.elapsed();
    let expected = std::fs::read(reference.join("final.safetensors")).unwrap();

    let run = dir.path().join("interrupted");
    let mut rng = lofi::rng::Rng::seeded(2026);
    let (mut kills, mut kills_in_write) = (0, 0);
    let mut finished = false;
    for attempt in 0..40 {
        let child = train(&data, &run, attempt > 0).spawn().unwrap();
        let hunt_write = attempt % 3 == 2;
        let deadline = Instant::now() + full_run.mul_f64(rng.uniform_range(0.15, 0.6));
        let mut child = child;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                assert!(status.success(), "attempt {attempt}: {err}");
                finished = true;
                break;
            }
            if hunt_write && writing(&run) {
                kill(child);
                kills += 1;
                kills_in_write += 1;
                break;
            }
            if !hunt_write && Instant::now() >= deadline {
                kill(child);
                kills += 1;
                break;
            }
            // A write takes milliseconds: poll fast while hunting for one.
            std::thread::sleep(Duration::from_micros(if hunt_write { 100 } else { 2000 }));
        }
        if finished {
            break;
        }
    }
    assert!(finished, "the run never completed");
    assert!(kills >= 3, "only {kills} kills landed before the run completed");
    println!("{kills} kills, {kills_in_write} inside a checkpoint write");
    assert!(std::fs::read(run.join("final.safetensors")).unwrap() == expected, "final weights differ");
    let steps: u64 = STEPS.parse().unwrap();
    assert_eq!(steps_logged(&run), (0..steps).collect::<Vec<_>>(), "every step logged once, in order");
}

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_previous_one_and_temporaries_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let reference = dir.path().join("reference");
    assert!(train(&data, &reference, false).output().unwrap().status.success());
    let expected = std::fs::read(reference.join("final.safetensors")).unwrap();

    // A finished run keeps its two newest checkpoints (steps 22 and 24).
    let run = dir.path().join("run");
    assert!(train(&data, &run, false).output().unwrap().status.success());
    let ckpts = run.join("checkpoints");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&ckpts).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert_eq!(names.len(), 2, "keep 2: {names:?}");
    // Corrupt the newest (the final step's) checkpoint: flip bytes in its tensor data.
    let newest = names[1].clone();
    let mut bytes = std::fs::read(&newest).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 64..] {
        *b ^= 0x5a;
    }
    std::fs::write(&newest, &bytes).unwrap();
    // An orphan temporary file, as a kill inside a write leaves it.
    std::fs::write(ckpts.join("step-000000099.safetensors.tmp"), &bytes[..n / 2]).unwrap();
    std::fs::remove_file(run.join("final.safetensors")).unwrap();

    let out = train(&data, &run, true).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let newest_name = newest.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        std::fs::read(run.join("final.safetensors")).unwrap() == expected,
        "not resumed from {newest_name}'s predecessor"
    );

    // Without --quiet the refusal names the corrupt file (the resumed run rewrote it: corrupt it again).
    let mut bytes = std::fs::read(&newest).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&newest, &bytes).unwrap();
    let mut loud = lofi();
    loud.args(["train", "--stage", "acp", "--steps", STEPS, "--batch", "48", "--checkpoint-every", "2", "--keep", "2"])
        .args(["--threads", "2", "--resume", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run);
    let out = loud.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&newest_name) && stderr.contains("corrupt"), "{stderr}");
}

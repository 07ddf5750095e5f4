//! `lofi info --model gtad --in-channels N` prints the G-TAD head's parameter count; a bad model or
//! width is a clear error, never a panic.

use std::process::Command;

fn lofi(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lofi")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gtad_parameter_count_at_official_widths() {
    let (ok, out, err) = lofi(&["info", "--model", "gtad", "--in-channels", "512"]);
    assert!(ok, "{err}");
    assert!(out.contains("parameters: 5,584,772"), "{out}");
    let (ok, out, _) = lofi(&["info", "--model", "gtad"]);
    assert!(ok && out.contains("in_channels: 512"), "512 is the default: {out}");
}

#[test]
fn bad_model_or_width_is_an_error() {
    let (ok, _, err) = lofi(&["info", "--model", "bmn"]);
    assert!(!ok && err.contains("--model") && !err.contains("panicked"), "{err}");
    let (ok, _, err) = lofi(&["info", "--model", "gtad", "--in-channels", "510"]);
    assert!(!ok && err.contains("--in-channels") && !err.contains("panicked"), "{err}");
}

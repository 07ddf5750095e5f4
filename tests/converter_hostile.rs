//! `tools/convert_torch_checkpoint.py` on untrusted files (issue 12, item 5), through its own
//! test script `tools/convert_torch_checkpoint_hostile_test.py`: lying views (negative strides and
//! offsets, zero-stride expansion, views past the storage), a zip bomb, an inflation cap, output
//! == input, a missing numpy, and mutation runs — each failure one error line naming the file and
//! the tensor, no traceback, no file left behind. Without python3 + numpy + safetensors it prints
//! SKIPPED, except under CI (`CI` set), whose `.ci/run` installs them, where it fails.

use std::path::Path;
use std::process::Command;

#[test]
fn converter_refuses_hostile_checkpoints_in_one_line() {
    let python = std::env::var("LOFI_PYTHON").unwrap_or_else(|_| "python3".into());
    let ready = Command::new(&python)
        .args(["-c", "import numpy, safetensors"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ready {
        assert!(std::env::var_os("CI").is_none(), "{python} with numpy and safetensors is required in CI");
        println!(
            "SKIPPED converter_refuses_hostile_checkpoints_in_one_line: {python} with numpy and safetensors not found"
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/convert_torch_checkpoint_hostile_test.py");
    let out = Command::new(&python).arg(&script).output().unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

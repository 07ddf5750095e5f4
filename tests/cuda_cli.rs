//! The CUDA subcommands as a user runs them: `selftest` and `bench` exit 3 with the skipped line
//! when there is no CUDA device (and must pass where there is one), `info` works everywhere.

use std::process::Command;

fn lofi(args: &[&str]) -> (i32, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_lofi")).args(args).output().unwrap_or_else(|e| panic!("running lofi: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn has_gpu() -> bool {
    lofi::backend::cuda::device_count().is_ok()
}

#[test]
fn help_lists_the_subcommands() {
    let (code, text) = lofi(&["--help"]);
    assert_eq!(code, 0, "{text}");
    for cmd in ["info", "selftest", "bench"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}

#[test]
fn info_reports_cpu_cuda_and_kernel_embedding() {
    let (code, text) = lofi(&["info"]);
    assert_eq!(code, 0, "{text}");
    for want in ["cpu:", "CUDA driver:", "NVRTC:", "cuBLAS:", "kernels:", "CUDA devices:"] {
        assert!(text.contains(want), "info lacks {want:?}: {text}");
    }
}

#[test]
fn selftest_exits_3_without_a_gpu_and_0_with_one() {
    let (code, text) = lofi(&["selftest"]);
    if has_gpu() {
        assert_eq!(code, 0, "selftest failed on this GPU:\n{text}");
        assert!(text.contains("PASS") && !text.contains("FAIL"), "{text}");
    } else {
        assert_eq!(code, 3, "{text}");
        assert!(text.contains("no CUDA device — skipped"), "{text}");
    }
}

#[test]
fn bench_exits_3_without_a_gpu() {
    if has_gpu() {
        println!("SKIPPED bench_exits_3_without_a_gpu: a GPU is present (tools/gpu_check.sh runs bench)");
        return;
    }
    let (code, text) = lofi(&["bench"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("no CUDA device — skipped"), "{text}");
}

#[test]
fn a_bad_kernel_source_is_a_usage_error() {
    let (code, text) = lofi(&["selftest", "--kernels", "cubin"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("auto, fatbin, ptx or nvrtc"), "{text}");
}

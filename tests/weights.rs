//! Weight files: save/load round trips give bit-identical outputs, loads report missing /
//! unexpected / mis-shaped tensors by name and change nothing when refused, writes are atomic, and
//! `tools/convert_torch_checkpoint.py` turns the torchvision and TSM-zoo fixtures into the golden
//! `tsm_resnet18_tiny` parameters and passes its own self-test (G-TAD names, refused globals); these
//! run python3 with the pinned numpy and safetensors (`LOFI_PYTHON` overrides the interpreter).

mod common;

use std::path::Path;
use std::process::Command;

use common::golden::{golden_dir, Case};
use lofi::autograd::Var;
use lofi::nn::gtad::{Gtad, GtadConfig};
use lofi::nn::weights::{self, LoadPolicy};
use lofi::nn::{Builder, Module, ResNetTsm, ResNetTsmConfig, Stem};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

/// A fresh scratch directory for one test, removed when dropped.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn small_gtad(seed: u64) -> Gtad {
    let cfg = GtadConfig {
        h_dim_1d: 16,
        h_dim_2d: 8,
        h_dim_3d: 12,
        gcnext_groups: 4,
        gcnext_width_group: 2,
        inner_bins: 6,
        context_bins: 2,
        ..GtadConfig::activitynet(8)
    };
    Gtad::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(seed)), &cfg).unwrap()
}

fn outputs(m: &Gtad) -> Vec<Vec<f32>> {
    let v: Vec<f32> = Rng::seeded(9).uniform_vec(2 * 8 * 7, -1.0, 1.0).into_iter().map(|x| x as f32).collect();
    let x = Var::constant(Tensor::from_vec(v, [2, 8, 7], &Device::cpu()).unwrap());
    let o = m.forward(&x).unwrap();
    [o.confidence_map, o.start, o.end].iter().map(|t| t.tensor().to_vec::<f32>().unwrap()).collect()
}

#[test]
fn round_trip_gives_bit_identical_outputs() {
    let dir = scratch();
    let path = dir.path().join("gtad.safetensors");
    let (a, b) = (small_gtad(1), small_gtad(2));
    assert_ne!(outputs(&a), outputs(&b), "different seeds, different weights");
    weights::save(&path, &a.params()).unwrap();
    let report = weights::load(&path, &b.params(), LoadPolicy::Strict).unwrap();
    assert_eq!(report.loaded.len(), a.params().len());
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    assert_eq!(outputs(&a), outputs(&b));
    assert!(!dir.path().join("gtad.safetensors.tmp").exists(), "the temporary file was renamed");
    // overwriting an existing file works the same way
    weights::save(&path, &b.params()).unwrap();
}

#[test]
fn bn_buffers_travel_with_the_weights() {
    let dir = scratch();
    let path = dir.path().join("enc.safetensors");
    let enc =
        ResNetTsm::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(1)), &ResNetTsmConfig::synthetic_tiny())
            .unwrap();
    let rm = enc.params().into_iter().find(|p| p.name() == "bn1.running_mean").unwrap();
    rm.set(Tensor::full(0.25f32, rm.value().shape().clone(), &Device::cpu()).unwrap()).unwrap();
    weights::save(&path, &enc.params()).unwrap();
    let other =
        ResNetTsm::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(2)), &ResNetTsmConfig::synthetic_tiny())
            .unwrap();
    weights::load(&path, &other.params(), LoadPolicy::Strict).unwrap();
    let got = other.params().into_iter().find(|p| p.name() == "bn1.running_mean").unwrap();
    assert!(got.value().to_vec::<f32>().unwrap().iter().all(|&v| v == 0.25));
}

#[test]
fn f32_file_loads_into_f64_parameters() {
    let dir = scratch();
    let path = dir.path().join("w.safetensors");
    let a = small_gtad(1);
    weights::save(&path, &a.params()).unwrap();
    let cfg = *a.config();
    let b = Gtad::new(&Builder::new(&Device::cpu(), DType::F64, Rng::seeded(3)), &cfg).unwrap();
    weights::load(&path, &b.params(), LoadPolicy::Strict).unwrap();
    let (pa, pb) = (a.params(), b.params());
    let want: Vec<f64> = pa[0].value().to_vec::<f32>().unwrap().iter().map(|&v| v as f64).collect();
    assert_eq!(pb[0].value().to_vec::<f64>().unwrap(), want);
}

#[test]
fn load_reports_missing_unexpected_and_misshaped_by_name() {
    let dir = scratch();
    let path = dir.path().join("w.safetensors");
    let a = small_gtad(1);
    let mut params = a.params();
    params.retain(|p| p.name() != "regu_s.1.bias");
    let extra = lofi::nn::Param::new(
        "fc.weight",
        Tensor::zeros([3, 2], DType::F32, &Device::cpu()).unwrap(),
        lofi::nn::ParamKind::Weight,
    );
    params.push(extra);
    weights::save(&path, &params).unwrap();
    let b = small_gtad(2);
    let before = outputs(&b);
    let err = weights::load(&path, &b.params(), LoadPolicy::Strict).unwrap_err().to_string();
    assert!(err.contains("missing: regu_s.1.bias") && err.contains("unexpected: fc.weight"), "{err}");
    assert!(err.contains("w.safetensors"), "the error names the file: {err}");
    assert_eq!(outputs(&b), before, "a refused load changes nothing");
    let report = weights::load(&path, &b.params(), LoadPolicy::Partial).unwrap();
    assert_eq!(report.missing, vec!["regu_s.1.bias".to_string()]);
    assert_eq!(report.unexpected, vec!["fc.weight".to_string()]);

    // another width: every tensor that depends on it is named, even under Partial
    let cfg = GtadConfig { h_dim_3d: 10, ..*a.config() };
    let c = Gtad::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(4)), &cfg).unwrap();
    let err = weights::load(&path, &c.params(), LoadPolicy::Partial).unwrap_err().to_string();
    assert!(err.contains("localization.0.weight") && err.contains("localization.2.weight"), "{err}");
}

#[test]
fn unreadable_files_are_errors_naming_the_file() {
    let dir = scratch();
    let a = small_gtad(1);
    let missing = dir.path().join("nope.safetensors");
    let err = weights::load(&missing, &a.params(), LoadPolicy::Strict).unwrap_err().to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}").unwrap();
    let err = weights::load(&corrupt, &a.params(), LoadPolicy::Strict).unwrap_err().to_string();
    assert!(err.contains("corrupt.safetensors"), "{err}");
    let err = weights::save(&dir.path().join("no/such/dir/w.safetensors"), &a.params()).unwrap_err().to_string();
    assert!(err.contains("no/such/dir"), "{err}");
}

/// Runs a script of tools/ with python3 (or `$LOFI_PYTHON`); panics with its stderr on failure.
fn python(script: &str, args: &[&Path]) {
    let python = std::env::var("LOFI_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools").join(script);
    let out = Command::new(&python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (needs numpy and safetensors): {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether python3 (or `$LOFI_PYTHON`) with numpy and safetensors is here. Without it the converter
/// tests say SKIPPED — except in CI (`CI` set), whose `.ci/run` installs both, where it is a failure.
fn python_ready(test: &str) -> bool {
    let python = std::env::var("LOFI_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import numpy, safetensors"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{test}: {python} with numpy and safetensors is required in CI");
        println!("SKIPPED {test}: {python} with numpy and safetensors not found (pip install numpy safetensors)");
    }
    ok
}

fn convert(src: &Path, dst: &Path) {
    python("convert_torch_checkpoint.py", &[src, dst]);
}

#[test]
fn converter_maps_gtad_checkpoints_and_refuses_foreign_globals() {
    // Hand-built torch-zip files: a DataParallel G-TAD state dict (strided tensor included), a
    // pickle naming os.system, a legacy non-zip file.
    if !python_ready("converter_maps_gtad_checkpoints_and_refuses_foreign_globals") {
        return;
    }
    python("convert_torch_checkpoint_test.py", &[]);
}

#[test]
fn converted_fixtures_equal_golden_parameters_and_load_into_the_tiny_encoder() {
    if !python_ready("converted_fixtures_equal_golden_parameters_and_load_into_the_tiny_encoder") {
        return;
    }
    let golden = Case::load("tsm_resnet18_tiny");
    let dir = scratch();
    for fixture in ["tiny_resnet_torchvision", "tiny_tsm_zoo"] {
        let dst = dir.path().join(format!("{fixture}.safetensors"));
        convert(&golden_dir().join("fixtures").join(format!("{fixture}.pth")), &dst);
        let bytes = std::fs::read(&dst).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for name in golden.names("param.") {
            let short = &name["param.".len()..];
            let view = st.tensor(short).unwrap_or_else(|e| panic!("{fixture}: {short}: {e}"));
            let got: Vec<f32> =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            assert_eq!(view.shape(), golden.shape(&name).as_slice(), "{fixture}: {short}");
            assert_eq!(got, golden.f32(&name), "{fixture}: {short} must convert exactly");
        }

        let widths: Vec<usize> =
            golden.hyper("widths").as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let cfg =
            ResNetTsmConfig { stem_width: widths[0], widths, stem: Stem::Imagenet, ..ResNetTsmConfig::resnet18() };
        let enc = ResNetTsm::new(&Builder::new(&Device::cpu(), DType::F32, Rng::seeded(5)), &cfg).unwrap();
        let report = weights::load(&dst, &enc.params(), LoadPolicy::Partial).unwrap();
        assert_eq!(report.loaded.len(), golden.names("param.").len(), "{fixture}");
        assert_eq!(
            report.unexpected,
            vec!["fc.bias".to_string(), "fc.weight".to_string()],
            "{fixture}: the classifier"
        );
        // the fixtures hold no BN running statistics: those stay at their initial values
        assert!(report.missing.iter().all(|n| n.ends_with("running_mean") || n.ends_with("running_var")), "{fixture}");
        for p in enc.params().iter().filter(|p| p.kind() == lofi::nn::ParamKind::Weight) {
            assert_eq!(p.value().to_vec::<f32>().unwrap(), golden.f32(&format!("param.{}", p.name())), "{}", p.name());
        }
    }
}

#[test]
fn two_saves_of_the_same_weights_are_byte_identical() {
    // The metadata map's iteration order differs between maps; the files must not.
    let dir = scratch();
    let m = small_gtad(4);
    let meta: std::collections::BTreeMap<String, String> =
        (0..12).map(|i| (format!("lofi.key{i}"), format!("value {i}"))).collect();
    let (a, b) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    weights::save_with_metadata(&a, &m.params(), &meta).unwrap();
    weights::save_with_metadata(&b, &m.params(), &meta).unwrap();
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
    let back = weights::read_metadata(&a).unwrap();
    assert_eq!(back.get("lofi.key7").map(String::as_str), Some("value 7"));
    assert_eq!(back.get("format").map(String::as_str), Some("pt"));
}

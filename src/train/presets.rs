//! Named presets: the encoders (`resnet18`, `resnet50`, `synthetic-tiny`), the heads
//! (`gtad-activitynet`, `gtad-synthetic`), each encoder's full fidelity and snippet sampler, and
//! the fidelity syntax of the command line (`25x224` = 25 snippets at 224², or `LxHxW`).
//!
//! `gtad-synthetic` is G-TAD with every width scaled to the synthetic benchmark's 64-d features at
//! L = 32 (docs/pipeline.md gives its parameter count): 1-D width 64 (official 256), GCNeXt 8
//! groups × 4 (32 × 4), 2-D widths 64 → 32 (512 → 128), SGAlign 8 inner + 2 context bins (32 + 4;
//! the synthetic videos have 32 snippets where ActivityNet's have 100), k = 3 and the input conv's
//! 4 groups as the official head.

use crate::data::sampler::SamplerConfig;
use crate::fidelity::Fidelity;
use crate::nn::gtad::GtadConfig;
use crate::nn::ResNetTsmConfig;
use crate::{Error, Result};

pub const ENCODER_PRESETS: [&str; 3] = ["resnet18", "resnet50", "synthetic-tiny"];
pub const HEAD_PRESETS: [&str; 2] = ["gtad-activitynet", "gtad-synthetic"];

/// The encoder configuration of a preset name.
pub fn encoder_config(name: &str) -> Result<ResNetTsmConfig> {
    ResNetTsmConfig::preset(name)
}

/// The G-TAD configuration of a head preset for `in_channels`-wide snippet features.
pub fn head_config(name: &str, in_channels: usize) -> Result<GtadConfig> {
    match name {
        "gtad-activitynet" => Ok(GtadConfig::activitynet(in_channels)),
        "gtad-synthetic" => Ok(GtadConfig {
            h_dim_1d: 64,
            h_dim_2d: 32,
            h_dim_3d: 64,
            gcnext_groups: 8,
            gcnext_width_group: 4,
            inner_bins: 8,
            context_bins: 2,
            ..GtadConfig::activitynet(in_channels)
        }),
        other => Err(Error::Config {
            flag: "--head".into(),
            msg: format!("unknown head preset '{other}' ({})", HEAD_PRESETS.join(", ")),
        }),
    }
}

/// The fidelity an encoder preset extracts at by default: the synthetic benchmark's 32 snippets
/// at 32², or the paper's 100 at 224².
pub fn full_fidelity(encoder: &str) -> Fidelity {
    if encoder == "synthetic-tiny" {
        Fidelity::new(32, 32, 32)
    } else {
        Fidelity::new(100, 224, 224)
    }
}

/// How frames are cut for an encoder preset at `fidelity`: the synthetic sampler (4 frames at
/// stride 2, no flip, the benchmark's normalisation) or the paper's (8 at stride 8, ImageNet).
pub fn sampler(encoder: &str, fidelity: Fidelity) -> SamplerConfig {
    if encoder == "synthetic-tiny" {
        SamplerConfig::synthetic(fidelity)
    } else {
        SamplerConfig::paper(fidelity)
    }
}

/// Parses `LxS` (L snippets at S×S) or `LxHxW`; `flag` names the option in errors.
pub fn parse_fidelity(text: &str, flag: &str) -> Result<Fidelity> {
    let bad = |msg: &str| Error::Config {
        flag: flag.into(),
        msg: format!("{text:?}: {msg} (expected LxS, e.g. 25x224, or LxHxW)"),
    };
    let parts: Vec<&str> = text.trim().split(['x', 'X']).collect();
    let nums: Vec<usize> = parts
        .iter()
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad("not a whole number")))
        .collect::<Result<_>>()?;
    let f = match *nums.as_slice() {
        [l, s] => Fidelity::new(l, s, s),
        [l, h, w] => Fidelity::new(l, h, w),
        _ => return Err(bad("wrong number of parts")),
    };
    if f.snippets == 0 || f.height == 0 || f.width == 0 {
        return Err(bad("every part must be positive"));
    }
    // 65535 is the frame store's own limit; it keeps every size computed from a fidelity small.
    if f.snippets > 100_000 || f.height > 65_535 || f.width > 65_535 {
        return Err(bad("too large"));
    }
    Ok(f)
}

/// `25x224` (square) or `25x224x160`.
pub fn fidelity_name(f: &Fidelity) -> String {
    if f.height == f.width {
        format!("{}x{}", f.snippets, f.height)
    } else {
        format!("{}x{}x{}", f.snippets, f.height, f.width)
    }
}

/// Smallest frame side the encoder takes: each stride-2 stage halves the map, and the last stage
/// must keep at least one pixel.
pub fn min_frame_side(cfg: &ResNetTsmConfig) -> usize {
    let stem: usize = match cfg.stem {
        crate::nn::Stem::Imagenet => 4,
        crate::nn::Stem::Small => 1,
    };
    stem * cfg.stage_strides.iter().product::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fidelities_parse_and_print() {
        assert_eq!(parse_fidelity("25x224", "--fidelity").unwrap(), Fidelity::new(25, 224, 224));
        assert_eq!(parse_fidelity("16x32x24", "--fidelity").unwrap(), Fidelity::new(16, 32, 24));
        for bad in ["", "25", "0x224", "25x", "axb", "1x2x3x4", "-1x32"] {
            let e = parse_fidelity(bad, "--fidelity").unwrap_err().to_string();
            assert!(e.contains("--fidelity"), "{bad}: {e}");
        }
        assert_eq!(fidelity_name(&Fidelity::new(25, 224, 224)), "25x224");
        assert_eq!(fidelity_name(&Fidelity::new(16, 32, 24)), "16x32x24");
    }

    #[test]
    fn presets_are_known_and_unknown_ones_listed() {
        for e in ENCODER_PRESETS {
            assert!(encoder_config(e).is_ok());
        }
        let e = head_config("bmn", 64).unwrap_err().to_string();
        assert!(e.contains("gtad-activitynet") && e.contains("gtad-synthetic"), "{e}");
        assert_eq!(head_config("gtad-activitynet", 512).unwrap().param_count(), 5_584_772);
        assert_eq!(min_frame_side(&encoder_config("synthetic-tiny").unwrap()), 16);
        assert_eq!(min_frame_side(&encoder_config("resnet18").unwrap()), 32);
    }
}

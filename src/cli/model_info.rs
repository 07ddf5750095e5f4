//! The model half of `lofi info`: what `--model gtad --in-channels N` prints. `cli/info.rs` owns
//! the subcommand and its flags; this file only formats what the library computes
//! (`GtadConfig::param_count`; no model is built).

use lofi::nn::gtad::GtadConfig;

/// The widest input accepted: 2^24 channels, far beyond any video feature. The count is affine in
/// the input width (≈ 192 parameters per channel), so below this bound it stays under 2^32 and
/// cannot wrap even on a 32-bit `usize`; above it `param_count` could wrap and print nonsense.
pub const MAX_IN_CHANNELS: usize = 1 << 24;

/// One line per fact about the G-TAD head at the official ActivityNet widths for `in_channels`.
pub fn gtad_summary(in_channels: usize) -> anyhow::Result<String> {
    let bad = |msg: String| lofi::Error::Config { flag: "--in-channels".into(), msg };
    if in_channels == 0 || !in_channels.is_multiple_of(4) {
        return Err(bad(format!("{in_channels} (G-TAD's first conv has 4 groups: a positive multiple of 4)")).into());
    }
    if in_channels > MAX_IN_CHANNELS {
        return Err(bad(format!("{in_channels} (at most {MAX_IN_CHANNELS})")).into());
    }
    let cfg = GtadConfig::activitynet(in_channels);
    Ok(format!(
        "model: gtad (ActivityNet widths, D = L)\n\
         in_channels: {}\n\
         h_dim_1d / h_dim_2d / h_dim_3d: {} / {} / {}\n\
         sgalign bins: {} inner + {} context ({} channels into localization)\n\
         parameters: {}\n",
        cfg.in_channels,
        cfg.h_dim_1d,
        cfg.h_dim_2d,
        cfg.h_dim_3d,
        cfg.inner_bins,
        cfg.context_bins,
        cfg.goi_channels(),
        thousands(cfg.param_count())
    ))
}

/// 5584772 → "5,584,772".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_count_is_printed_with_separators() {
        let text = gtad_summary(512).unwrap();
        assert!(text.contains("parameters: 5,584,772\n"), "{text}");
        assert!(text.contains("9216 channels"), "{text}");
        assert!(gtad_summary(510).is_err());
        assert!(gtad_summary(MAX_IN_CHANNELS).unwrap().contains("parameters: 3,2"), "≈ 192 per channel");
        let huge = gtad_summary(usize::MAX - 3).unwrap_err().to_string();
        assert!(huge.contains("--in-channels") && huge.contains("at most"), "{huge}");
        assert_eq!(thousands(328_100), "328,100");
        assert_eq!(thousands(999), "999");
    }
}

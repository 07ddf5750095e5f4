//! The model half of `lofi info`: what `--model gtad --in-channels N` prints. `cli/info.rs` owns
//! the subcommand and its flags; this file only formats what the library computes
//! (`GtadConfig::param_count`; no model is built).

use lofi::nn::gtad::GtadConfig;

/// One line per fact about the G-TAD head at the official ActivityNet widths for `in_channels`.
pub fn gtad_summary(in_channels: usize) -> anyhow::Result<String> {
    if in_channels == 0 || !in_channels.is_multiple_of(4) {
        anyhow::bail!("invalid value for --in-channels: {in_channels} (G-TAD's first conv has 4 groups)");
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
        assert_eq!(thousands(328_100), "328,100");
        assert_eq!(thousands(999), "999");
    }
}

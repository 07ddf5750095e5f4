//! The `lofi` subcommands, one file each. This is the binary's side of the crate: it parses flags,
//! calls the library, prints and chooses the exit status (the library never prints or exits).

pub mod eval;
// TODO(issue 5): `cli/info.rs` (another branch) calls `model_info::gtad_summary` for
// `lofi info --model gtad`; until that lands nothing in the binary uses it.
#[allow(dead_code)]
pub mod model_info;
pub mod prepare;
pub mod synth;

/// A progress bar on stderr (hidden when stderr is not a terminal, as in tests and CI logs).
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

//! The `lofi` subcommands, one file each. This is the binary's side of the crate: it parses flags,
//! calls the library, prints and chooses the exit status (the library never prints or exits).

pub mod eval;
// TODO(issue 5): `cli/info.rs` (another branch) calls `model_info::gtad_summary` for
// `lofi info --model gtad`; until that lands nothing in the binary uses it.
#[allow(dead_code)]
pub mod model_info;

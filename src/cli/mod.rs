//! The `lofi` subcommands, one file each. This is the binary's side of the crate: it parses flags,
//! calls the library, prints and chooses the exit status (the library never prints or exits).

pub mod eval;

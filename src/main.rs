//! The `lofi` command line: one subcommand per user task (DESIGN.md §1). Each subcommand's flags
//! and glue live in `src/cli/`; the library does the work and never prints or exits.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "lofi", version, about = "LoFi-E2E temporal action localization")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the synthetic untrimmed-video benchmark (ActivityNet-format JSON + frames + clips).
    Synth(cli::synth::Args),
    /// Decode videos with ffmpeg into the frame store at a chosen fps and short side.
    Prepare(cli::prepare::Args),
    /// ActivityNet detection mAP of a result file at tIoU thresholds.
    Eval(cli::eval::EvalArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Synth(args) => cli::synth::run(args),
        Command::Prepare(args) => cli::prepare::run(args),
        Command::Eval(args) => cli::eval::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

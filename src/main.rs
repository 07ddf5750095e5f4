//! The `lofi` command line: parses the subcommand, runs it, and turns an error into a message on
//! stderr and a non-zero exit status (never a panic).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "lofi", version, about = "LoFi-E2E temporal action localization")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// ActivityNet detection mAP of a result file at tIoU thresholds.
    Eval(cli::eval::EvalArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
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

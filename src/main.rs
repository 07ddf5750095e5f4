//! The `lofi` binary: parse the command line, dispatch to `cli/`, map the outcome to an exit code
//! (0 success, 1 failure, 2 usage error from clap, 3 skipped: no CUDA device).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_default_sigpipe();
    lofi::memory::host::keep_freed_memory_for_reuse();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}

/// `lofi info | head` must end quietly when the reader goes away, as other command-line tools do;
/// Rust ignores SIGPIPE by default, which turns the closed pipe into a panic inside `println!`.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: installs the default disposition for SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

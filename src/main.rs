//! The `lofi` binary: parse the command line, dispatch to `cli/`, map the outcome to an exit code
//! (0 success, 1 failure, 2 bad flag — clap's own usage errors and every `Error::Config` a
//! command returns —, 3 skipped: no CUDA device).

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
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(if is_flag_error(&e) { EXIT_USAGE } else { cli::EXIT_FAILURE })
        }
    }
}

/// A flag's value cannot be used (clap exits with the same code for its own usage errors).
const EXIT_USAGE: u8 = 2;

/// Whether the error is, anywhere in its chain, a bad command-line value.
fn is_flag_error(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| matches!(cause.downcast_ref::<lofi::Error>(), Some(lofi::Error::Config { .. })))
}

/// The error and its causes joined by ": ", each cause once: `Error::Io` already prints its OS
/// error, which is also its `source()`, and `{:#}` would print it a second time. Each part is
/// cut to a bounded excerpt, since parts may quote user input; the cut is in the middle, so a
/// long path quoted early does not cost the advice a message ends with.
fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|prev| prev.ends_with(&text)) {
            continue;
        }
        parts.push(lofi::jsonio::excerpt_middle(&text));
    }
    parts.join(": ")
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

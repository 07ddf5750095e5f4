//! How training reports progress to a person: an indicatif bar (stage, epoch, step, loss,
//! frames/s, ETA) when stderr is a terminal, a plain progress line every few seconds when it is
//! not (logs, CI), nothing with `--quiet`. Notes (resumed, a corrupt checkpoint skipped) always go
//! to stderr unless quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use lofi::train::metrics::StepRecord;
use lofi::train::observer::Observer;

/// Seconds between plain progress lines.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub enum Progress {
    Quiet,
    Bar(indicatif::ProgressBar),
    Plain { last: Option<Instant>, started: Instant, first: u64 },
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg} {elapsed_precise} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            Progress::Bar(bar)
        } else {
            Progress::Plain { last: None, started: Instant::now(), first: 0 }
        }
    }
}

fn describe(r: &StepRecord) -> String {
    let loss = r.loss.get("total").map_or(String::new(), |l| format!("loss {l:.4}"));
    let speed = if r.frames_per_s > 0.0 {
        format!("{:.0} frames/s", r.frames_per_s)
    } else {
        format!("{:.0} samples/s", r.samples_per_s)
    };
    format!("epoch {} {loss} {speed}", r.epoch)
}

impl Observer for Progress {
    fn start(&mut self, stage: &str, first: u64, total: u64) {
        match self {
            Progress::Quiet => {}
            Progress::Bar(bar) => {
                bar.set_prefix(stage.to_string());
                bar.set_length(total);
                bar.set_position(first);
                bar.reset_eta();
            }
            Progress::Plain { started, first: f, last } => {
                *started = Instant::now();
                *f = first;
                *last = None;
                eprintln!("{stage}: steps {first}..{total}");
            }
        }
    }

    fn step(&mut self, r: &StepRecord, total: u64) {
        match self {
            Progress::Quiet => {}
            Progress::Bar(bar) => {
                bar.set_position(r.step + 1);
                bar.set_message(describe(r));
            }
            Progress::Plain { last, started, first } => {
                let now = Instant::now();
                let due = last.is_none_or(|t| now.duration_since(t) >= PLAIN_EVERY) || r.step + 1 == total;
                if due {
                    *last = Some(now);
                    let done = (r.step + 1).saturating_sub(*first).max(1);
                    let per_step = started.elapsed().as_secs_f64() / done as f64;
                    let eta = per_step * total.saturating_sub(r.step + 1) as f64;
                    eprintln!("{}: step {}/{total} {} eta {:.0}s", r.stage, r.step + 1, describe(r), eta);
                }
            }
        }
    }

    fn note(&mut self, message: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Bar(bar) => bar.println(message),
            Progress::Plain { .. } => eprintln!("{message}"),
        }
    }

    fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

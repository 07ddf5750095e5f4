//! How a training run reports progress without printing: the caller (the CLI) passes an
//! `Observer` and decides what to show — a progress bar on a terminal, plain lines in logs, or
//! nothing. The library never prints.

use crate::train::metrics::StepRecord;

pub trait Observer {
    /// A run of `total` steps starts at step `first` (> 0 when resumed).
    fn start(&mut self, stage: &str, first: u64, total: u64);
    /// A step finished.
    fn step(&mut self, record: &StepRecord, total: u64);
    /// Something the user should know (resumed from a checkpoint, a corrupt checkpoint skipped).
    fn note(&mut self, message: &str);
    fn finish(&mut self);
}

/// Reports nothing (tests, `--quiet`).
pub struct Silent;

impl Observer for Silent {
    fn start(&mut self, _: &str, _: u64, _: u64) {}
    fn step(&mut self, _: &StepRecord, _: u64) {}
    fn note(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

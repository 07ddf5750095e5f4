//! The one place where the data pipeline makes a random generator: the crate's `rng::Rng`, on the
//! named stream `stream` of the master seed, child `index`.
//!
//! Every random draw (a synthetic video, a crop, an epoch's order) comes from a stream keyed by
//! (seed, stream name, index), never from a generator shared between threads, so results do not
//! depend on the thread count or on the order in which work is scheduled.

use crate::rng::{Rng, Seeds};

/// The generator of stream `stream`, item `index`, under `seed`.
pub fn stream_rng(seed: u64, stream: &str, index: u64) -> Rng {
    Seeds::new(seed).stream(stream).child(index)
}

//! The one place where the data pipeline makes a random generator.
//!
//! Every random draw (a synthetic video, a crop, an epoch's order) comes from a stream keyed by
//! (seed, stream name, index), never from a generator shared between threads, so results do not
//! depend on the thread count or on the order in which work is scheduled. Swap this function to
//! change the generator everywhere.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of stream `stream`, item `index`, under `seed`.
pub fn stream_rng(seed: u64, stream: &str, index: u64) -> ChaCha8Rng {
    // ChaCha is a PRF of its key, so the key can be the plain concatenation; the stream name is
    // folded with FNV-1a, which (unlike std's DefaultHasher) is fixed across platforms and releases.
    let mut name_hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream.bytes() {
        name_hash = (name_hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&name_hash.to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    key[24..].copy_from_slice(b"lofidata");
    ChaCha8Rng::from_seed(key)
}

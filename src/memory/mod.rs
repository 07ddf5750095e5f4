//! Memory accounting: the per-device pool with a hard budget. See `pool.rs`.

pub mod cuda;
pub mod host;
pub mod pool;
pub mod size;

pub use pool::{accounted_bytes, Pool, PoolStats, Reservation, ALIGN};
pub use size::parse_size;

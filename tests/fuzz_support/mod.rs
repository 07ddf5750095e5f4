//! The fuzz harness shared by `tests/fuzz_readers.rs` (≥ 10,000 inputs per reader inside
//! `cargo test`) and `tools/fuzz.sh` (≥ 1,000,000 per reader): a counting allocator, structure-
//! aware mutators and the driver.

pub mod alloc;
pub mod driver;
pub mod mutate;

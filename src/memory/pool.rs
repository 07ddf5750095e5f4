//! The memory pool: every tensor and every workspace on every device is accounted here.
//!
//! The pool does not hand out memory itself; it is the ledger that every allocation must pass. An
//! allocation first *reserves* its bytes (which fails with `OutOfBudget` past the budget), then the
//! device allocates; dropping the returned `Reservation` gives the bytes back. Because the Meta
//! device goes through the same ledger with the same sizes, a dry run on Meta predicts the peak of a
//! real run exactly (the planner builds on that).
//!
//! Sizes are rounded up to `ALIGN` bytes on every device: the CUDA allocator hands out 256-byte
//! aligned blocks, and using one rule everywhere keeps Meta, CPU and CUDA accounting identical.

use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// Granularity of accounted sizes (bytes), the alignment of CUDA allocations.
pub const ALIGN: usize = 256;

/// Bytes an allocation of `bytes` is accounted as.
pub const fn accounted_bytes(bytes: usize) -> usize {
    bytes.div_ceil(ALIGN) * ALIGN
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: usize,
    /// The high-water mark since the last `reset_peak` (a step's peak).
    pub peak: usize,
    /// The high-water mark over the pool's whole life, never reset (a job's peak).
    pub lifetime_peak: usize,
    pub budget: usize,
    /// Number of live reservations.
    pub live: usize,
    /// Every byte ever reserved, and how many reservations: the traffic a step generates, for the
    /// step-time model (each allocation is a kernel output or workspace that is written once).
    pub total_reserved: u64,
    pub reservations: u64,
}

#[derive(Debug)]
pub struct Pool {
    label: String,
    state: Mutex<PoolStats>,
}

impl Pool {
    pub fn new(label: impl Into<String>, budget: usize) -> Arc<Pool> {
        Arc::new(Pool {
            label: label.into(),
            state: Mutex::new(PoolStats {
                in_use: 0,
                peak: 0,
                lifetime_peak: 0,
                budget,
                live: 0,
                total_reserved: 0,
                reservations: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolStats> {
        // A poisoned ledger only means another thread panicked mid-update of plain integers; the
        // numbers are still consistent, so keep going rather than cascade the panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves `bytes` (rounded to `ALIGN`); the reservation is released when dropped.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation> {
        let accounted = accounted_bytes(bytes);
        let mut s = self.lock();
        if s.in_use.saturating_add(accounted) > s.budget {
            return Err(Error::OutOfBudget {
                device: self.label.clone(),
                requested: accounted,
                in_use: s.in_use,
                budget: s.budget,
            });
        }
        s.in_use += accounted;
        s.live += 1;
        s.total_reserved += accounted as u64;
        s.reservations += 1;
        s.peak = s.peak.max(s.in_use);
        s.lifetime_peak = s.lifetime_peak.max(s.in_use);
        Ok(Reservation { pool: Arc::clone(self), bytes: accounted })
    }

    pub fn stats(&self) -> PoolStats {
        *self.lock()
    }
    pub fn in_use(&self) -> usize {
        self.lock().in_use
    }
    pub fn peak(&self) -> usize {
        self.lock().peak
    }
    /// The high-water mark over the pool's whole life (`reset_peak` does not touch it).
    pub fn lifetime_peak(&self) -> usize {
        self.lock().lifetime_peak
    }
    pub fn budget(&self) -> usize {
        self.lock().budget
    }
    pub fn label(&self) -> &str {
        &self.label
    }
    pub fn set_budget(&self, budget: usize) {
        self.lock().budget = budget;
    }
    /// Starts a new peak measurement from the current in-use bytes.
    pub fn reset_peak(&self) {
        let mut s = self.lock();
        s.peak = s.in_use;
    }
}

/// Proof that bytes were reserved in a pool; gives them back on drop.
#[derive(Debug)]
pub struct Reservation {
    pool: Arc<Pool>,
    bytes: usize,
}

impl Reservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut s = self.pool.lock();
        s.in_use -= self.bytes;
        s.live -= 1;
    }
}

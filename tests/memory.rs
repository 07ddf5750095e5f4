//! The pool's accounting is exact and real: Meta predicts the CPU peak, a hand-counted graph
//! matches, the real heap high-water mark agrees with the pool, and the budget is enforced.
//!
//! This binary installs a counting global allocator, so its tests run one at a time (`SERIAL`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use lofi::autograd::Var;
use lofi::nn::{Builder, ResNetTsm, ResNetTsmConfig};
use lofi::ops::{elementwise, matmul};
use lofi::rng::Rng;
use lofi::{DType, Device, Error, Tensor};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static HIGH: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as System::alloc.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            HIGH.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as System::dealloc.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;
static SERIAL: Mutex<()> = Mutex::new(());

/// Forward + backward of the tiny TSM-ResNet on `dev`; returns the pool's peak above the bytes in
/// use before the step (model parameters and input).
fn tiny_step(dev: &Device, snippets: usize) -> usize {
    let cfg = ResNetTsmConfig::synthetic_tiny();
    let model = ResNetTsm::new(&Builder::new(dev, DType::F32, Rng::seeded(3)), &cfg).unwrap();
    let x = Var::leaf(Tensor::zeros([snippets * cfg.frames, 3, 32, 32], DType::F32, dev).unwrap());
    let up = Tensor::zeros([snippets, cfg.feature_dim()], DType::F32, dev).unwrap();
    let base = dev.pool().in_use();
    dev.pool().reset_peak();
    let y = model.forward(&x).unwrap();
    let grads = y.backward_with(up).unwrap();
    drop((y, grads));
    dev.pool().peak() - base
}

#[test]
fn meta_and_cpu_report_equal_peaks() {
    let _s = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let meta = tiny_step(&Device::meta(usize::MAX), 8);
    let cpu = tiny_step(&Device::cpu_with_budget(usize::MAX), 8);
    assert!(cpu > 0);
    assert_eq!(meta, cpu);
}

#[test]
fn peak_of_a_hand_written_graph() {
    let _s = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dev = Device::cpu_with_budget(usize::MAX);
    // Every tensor below is 64×64 f32 = 16,384 B (a multiple of the 256 B accounting unit).
    const T: usize = 64 * 64 * 4;
    let x = Var::leaf(Tensor::zeros([64, 64], DType::F32, &dev).unwrap());
    let w = Var::leaf(Tensor::zeros([64, 64], DType::F32, &dev).unwrap());
    let u = Tensor::zeros([64, 64], DType::F32, &dev).unwrap();
    dev.pool().reset_peak();
    // in use: x, w, u = 3T
    // matmul → h (4T); relu → y (5T), saving y; h is then dropped (matmul saves x and w, not h): 4T
    let y = elementwise::relu(&matmul::matmul(&x, &w).unwrap()).unwrap();
    // backward: relu's dh (5T); matmul's dx (6T) and dw (7T) while dh is still alive = the peak;
    // then the nodes go and dh with them.
    let grads = y.backward_with(u.clone()).unwrap();
    assert_eq!(dev.pool().peak(), 7 * T);
    // left: x, w, u, y, dx, dw
    assert_eq!(dev.pool().in_use(), 6 * T);
    drop(grads);
}

#[test]
fn heap_high_water_matches_pool_peak() {
    let _s = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Live buffers only: the buffer cache's idle buffers are the next test's subject.
    lofi::memory::host::set_buffer_cache(false);
    let dev = Device::cpu_with_budget(usize::MAX);
    let cfg = ResNetTsmConfig::synthetic_tiny();
    let model = ResNetTsm::new(&Builder::new(&dev, DType::F32, Rng::seeded(3)), &cfg).unwrap();
    let x = Var::leaf(Tensor::zeros([64 * cfg.frames, 3, 32, 32], DType::F32, &dev).unwrap());
    let up = Tensor::zeros([64, cfg.feature_dim()], DType::F32, &dev).unwrap();
    let pool_base = dev.pool().in_use();
    dev.pool().reset_peak();
    let heap_base = CURRENT.load(Ordering::SeqCst);
    HIGH.store(heap_base, Ordering::SeqCst);
    let y = model.forward(&x).unwrap();
    let grads = y.backward_with(up).unwrap();
    let heap = HIGH.load(Ordering::SeqCst) - heap_base;
    let pool = dev.pool().peak() - pool_base;
    drop((y, grads));
    let slack = pool / 10 + (4 << 20);
    assert!(pool > 50 << 20, "the step must be large enough to mean something ({pool} B)");
    eprintln!("heap high-water {heap} B, pool peak {pool} B");
    assert!(heap.abs_diff(pool) <= slack, "heap high-water {heap} B vs pool peak {pool} B (allowed ±{slack} B)");
    lofi::memory::host::set_buffer_cache(true);
}

/// With the host buffer cache on (the default), a steady step takes every tensor buffer from the
/// cache — the heap does not rise during it — and the heap stays within the cache's bound of three
/// times the live peak.
#[test]
fn steady_steps_reuse_cached_buffers_and_the_cache_is_bounded() {
    let _s = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    lofi::memory::host::set_buffer_cache(false);
    lofi::memory::host::set_buffer_cache(true);
    let dev = Device::cpu_with_budget(usize::MAX);
    let cfg = ResNetTsmConfig::synthetic_tiny();
    let heap_start = CURRENT.load(Ordering::SeqCst);
    let model = ResNetTsm::new(&Builder::new(&dev, DType::F32, Rng::seeded(3)), &cfg).unwrap();
    let x = Var::leaf(Tensor::zeros([64 * cfg.frames, 3, 32, 32], DType::F32, &dev).unwrap());
    let up = Tensor::zeros([64, cfg.feature_dim()], DType::F32, &dev).unwrap();
    let step = || {
        let y = model.forward(&x).unwrap();
        drop(y.backward_with(up.clone()).unwrap());
    };
    dev.pool().reset_peak();
    HIGH.store(CURRENT.load(Ordering::SeqCst), Ordering::SeqCst);
    for _ in 0..3 {
        step();
    }
    let pool = dev.pool().lifetime_peak();
    let heap = HIGH.load(Ordering::SeqCst) - heap_start;
    assert!(heap <= 3 * pool + (4 << 20), "heap {heap} B above 3 × the pool peak {pool} B");
    // A fourth step: nothing new beyond the autograd graph's small bookkeeping.
    let before = CURRENT.load(Ordering::SeqCst);
    HIGH.store(before, Ordering::SeqCst);
    step();
    let rise = HIGH.load(Ordering::SeqCst) - before;
    eprintln!("heap {heap} B (pool peak {pool} B), rise during a steady step {rise} B");
    assert!(rise < pool / 20, "a steady step allocated {rise} B (pool peak {pool} B)");
}

#[test]
fn exceeding_the_budget_is_an_error_not_a_panic() {
    let _s = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dev = Device::cpu_with_budget(1 << 20);
    let a = Tensor::zeros([1 << 17], DType::F32, &dev).unwrap(); // 512 KiB
    match Tensor::zeros([1 << 18], DType::F32, &dev) {
        Err(Error::OutOfBudget { requested, in_use, budget, device }) => {
            assert_eq!(device, "cpu");
            assert_eq!((requested, in_use, budget), (1 << 20, 1 << 19, 1 << 20));
        }
        other => panic!("expected OutOfBudget, got {other:?}"),
    }
    // a forward that does not fit fails cleanly and frees what it had taken
    let x = Var::leaf(a);
    let r = matmul::matmul(
        &lofi::ops::shape::reshape(&x, [512, 256]).unwrap(),
        &Var::leaf(Tensor::zeros([256, 256], DType::F32, &dev).unwrap()),
    );
    assert!(matches!(r, Err(Error::OutOfBudget { .. })));
    drop(x);
    lofi::autograd::clear_tape();
    assert_eq!(dev.pool().in_use(), 0);
}

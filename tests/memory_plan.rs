//! The planner's prediction is the dry run, and the dry run is exact: for a matrix of small real
//! end-to-end steps — every encoder preset scaled down (≤ 4 snippets, ≤ 64², ≤ 2 videos), every
//! recompute policy, two snippets-per-call values, fp32 and bf16 — the Meta prediction equals the
//! CPU pool's measured peak byte for byte, and the process heap's high-water mark during the steps
//! stays within 10 % + 8 MiB of it (the heap also holds host-side targets, kernel scratch and the
//! allocator's own slack; under bf16 also the CPU's transient f32 stand-ins, measured apart). A
//! counting global allocator measures the heap, with the host buffer cache off so that the heap
//! holds live buffers only (the cache's bound is tested in tests/memory.rs).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use lofi::backend::cpu::reduced;
use lofi::fidelity::Fidelity;
use lofi::nn::Recompute;
use lofi::rng::Seeds;
use lofi::train::optimizer::OptimConfig;
use lofi::train::spec::{HeadSpec, Precision, StepSpec};
use lofi::train::step::{train_step, StepContext, StepInput};
use lofi::{Device, Tensor};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping with atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc's contract, passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn spec(
    encoder: &str,
    side: usize,
    snippets: usize,
    videos: usize,
    k: usize,
    recompute: Recompute,
    precision: Precision,
) -> StepSpec {
    let dim = lofi::train::presets::encoder_config(encoder).unwrap().feature_dim();
    StepSpec {
        encoder: Some(encoder.into()),
        head: HeadSpec::Tal { preset: "gtad-synthetic".into(), in_channels: dim, classes: vec![String::new(); 3] },
        fidelity: Fidelity::new(snippets, side, side),
        batch: videos,
        snippets_per_call: k,
        recompute,
        precision,
        optim: OptimConfig::default(),
    }
}

/// (CPU pool peak, heap high-water above the heap at the start) of two steps of `s`.
fn measure(s: &StepSpec) -> (usize, usize) {
    let dev = Device::cpu_with_budget(usize::MAX);
    let model = s.build_model(&dev, &Seeds::new(1)).unwrap();
    let mut opt = s.build_optimizer(&model).unwrap();
    let mut batch = s.placeholder_batch(&Device::cpu()).unwrap();
    if let StepInput::Frames(f) = &batch.input {
        let v: Vec<u8> = (0..f.numel()).map(|i| (i * 131 % 251) as u8).collect();
        batch.input = StepInput::Frames(Tensor::from_vec(v, f.dims().to_vec(), &Device::cpu()).unwrap());
    }
    // The heap already holds the model, its inputs and whatever the test harness keeps; the
    // pool's peak counts the model too, so compare the heap's rise plus the model's pool bytes.
    let base_pool = dev.pool().in_use();
    let base_heap = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base_heap, Ordering::Relaxed);
    let mut pool_peak = 0;
    for step in 0..2 {
        let ctx = StepContext {
            stage: "memory",
            step,
            seeds: Seeds::new(0),
            lr_factor: 1.0,
            snippet_weight: 1.0,
            snippets_per_call: s.snippets_per_call,
            recompute: s.recompute,
            precision: s.precision,
            device: &dev,
        };
        pool_peak = pool_peak.max(train_step(&model, &mut opt, &batch, &ctx).unwrap().peak_bytes);
    }
    let heap_rise = PEAK.load(Ordering::Relaxed) - base_heap;
    (pool_peak, heap_rise + base_pool)
}

/// The heap a step may use beyond its pool's peak: 10% + 8 MiB, plus, under bf16 on the CPU, the
/// f32 stand-ins of one kernel call (`backend::cpu::reduced`: host memory outside every pool, a
/// CPU artefact — a GPU computes on the bf16 buffers themselves).
fn heap_limit(pool_peak: usize, standins: usize) -> usize {
    pool_peak + pool_peak / 10 + (8 << 20) + standins
}

#[test]
fn meta_predicts_the_cpu_pool_peak_exactly_and_the_heap_stays_close() {
    // The heap must hold the live tensors only: without the host buffer cache's idle buffers
    // (memory::host; its own bound is tested in tests/memory.rs).
    lofi::memory::host::set_buffer_cache(false);
    let mut rows = Vec::new();
    let configs: [(&str, usize, usize, usize); 3] =
        [("synthetic-tiny", 64, 4, 2), ("resnet18", 32, 3, 2), ("resnet50", 32, 3, 1)];
    for (encoder, side, snippets, videos) in configs {
        for k in [1, snippets * videos] {
            for recompute in [Recompute::None, Recompute::Chunk, Recompute::Stage] {
                for precision in [Precision::Fp32, Precision::Bf16] {
                    let s = spec(encoder, side, snippets, videos, k, recompute, precision);
                    let predicted = s.dry_run_peak().unwrap();
                    reduced::reset_standin_peak();
                    let (measured, heap) = measure(&s);
                    let standins = reduced::standin_peak_bytes();
                    let what =
                        format!("{encoder} {side}² L{snippets}×{videos} k{k} {recompute:?} {}", precision.name());
                    assert_eq!(predicted, measured, "{what}");
                    if precision == Precision::Fp32 {
                        assert_eq!(standins, 0, "{what}: an f32 step needs no stand-ins");
                    }
                    let limit = heap_limit(measured, standins);
                    rows.push(format!("{what}: pool {measured} B, heap {heap} B, bf16 stand-ins {standins} B"));
                    assert!(heap <= limit, "{what}: heap {heap} B above {limit} B");
                }
            }
        }
    }
    println!("{}", rows.join("\n"));
}

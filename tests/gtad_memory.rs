//! Memory of one G-TAD head training step (forward, loss, backward) measured by the pool: on the
//! Meta device at the official widths (C_in 512, batch 1, L = 25 / 50 / 100), and Meta = CPU at
//! small widths. `docs/memory.md` quotes the Meta numbers; this test recomputes them and fails when
//! the document no longer matches the code. Run with `--nocapture` to print them.

use lofi::autograd::Var;
use lofi::loss::{gtad_loss, GtadTargets, RegDraws};
use lofi::nn::gtad::{Gtad, GtadConfig};
use lofi::nn::{Builder, Module};
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

struct StepMemory {
    params: usize,
    peak: usize,
}

/// Peak pool bytes of forward + loss + backward for one sample of length `l` (parameters
/// included), after which everything but the parameters is freed.
fn step(model: &Gtad, dev: &Device, l: usize) -> StepMemory {
    let params = dev.pool().in_use();
    let c = model.config().in_channels;
    let x = Var::constant(Tensor::zeros([1, c, l], DType::F32, dev).unwrap());
    // Targets with every bucket populated, so no guard changes the graph.
    let iou: Vec<f32> = (0..l * l).map(|i| ((i * 7) % 10) as f32 / 10.0 + 0.05).collect();
    let se: Vec<f32> = (0..l).map(|i| if i % 4 == 0 { 0.9 } else { 0.1 }).collect();
    let targets = GtadTargets::new(1, l, iou, se.clone(), se).unwrap();
    let draws = RegDraws::sample(&mut Rng::seeded(1), l * l);
    dev.pool().reset_peak();
    let out = model.forward(&x).unwrap();
    let loss = gtad_loss(&out.confidence_map, &out.start, &out.end, &targets, &draws).unwrap();
    drop(out);
    let grads = loss.total.backward().unwrap();
    assert_eq!(grads.len(), model.params().len(), "every parameter gets a gradient");
    drop((grads, loss, x));
    assert_eq!(dev.pool().in_use(), params, "the step frees everything it allocated");
    StepMemory { params, peak: dev.pool().peak() }
}

#[test]
fn meta_peaks_at_official_widths_match_docs() {
    let dev = Device::meta(usize::MAX);
    let model = Gtad::new(&Builder::new(&dev, DType::F32, Rng::seeded(1)), &GtadConfig::activitynet(512)).unwrap();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/memory.md")).unwrap();
    let mut last = 0;
    let mut missing = Vec::new();
    for l in [25, 50, 100] {
        let m = step(&model, &dev, l);
        println!(
            "L = {l}: parameters {} B, step peak {} B ({} B above the parameters)",
            m.params,
            m.peak,
            m.peak - m.params
        );
        assert!(m.peak > last, "peaks grow with L");
        last = m.peak;
        let row = format!("| {l} | {} | {} |", m.peak, m.peak - m.params);
        if !doc.contains(&row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "docs/memory.md lacks the rows {missing:?}");
}

#[test]
fn meta_accounts_exactly_like_the_cpu() {
    let cfg = GtadConfig {
        h_dim_1d: 16,
        h_dim_2d: 8,
        h_dim_3d: 12,
        gcnext_groups: 4,
        gcnext_width_group: 2,
        inner_bins: 6,
        context_bins: 2,
        ..GtadConfig::activitynet(8)
    };
    let peak = |dev: Device| {
        let model = Gtad::new(&Builder::new(&dev, DType::F32, Rng::seeded(1)), &cfg).unwrap();
        let m = step(&model, &dev, 9);
        (m.params, m.peak)
    };
    let cpu = peak(Device::cpu_with_budget(usize::MAX));
    assert!(cpu.1 > cpu.0);
    assert_eq!(peak(Device::meta(usize::MAX)), cpu);
}

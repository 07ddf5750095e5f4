//! `lofi plan`: which fidelity, batch, snippets per encoder call and recompute setting of an
//! end-to-end step fit a memory budget, and the predicted step time (`lofi::plan`). Without
//! `--fidelity` it plans the paper's configurations at their largest batch and prints the Pareto
//! front of pixels × snippets against batch.

use std::path::PathBuf;

use lofi::memory::parse_size;
use lofi::plan::{fidelity_grid, pareto_front, PlanQuery, PlanRow, DEFAULT_CUDA_OVERHEAD};
use lofi::train::budget::RecomputeSetting;
use lofi::train::cost::DeviceRates;
use lofi::train::presets::parse_fidelity;
use lofi::train::spec::Precision;
use lofi::DeviceKind;

use super::device::parse_device;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Device memory budget (e.g. 32GiB, 32GB, 3e10)
    #[arg(long)]
    budget: String,
    /// cpu, cuda or cuda:N (sets the overhead and rate defaults)
    #[arg(long, default_value = "cuda")]
    device: String,
    /// Encoder preset: resnet18, resnet50, synthetic-tiny
    #[arg(long, default_value = "resnet18")]
    encoder: String,
    /// Head preset: gtad-activitynet, gtad-synthetic
    #[arg(long, default_value = "gtad-activitynet")]
    head: String,
    /// fp32 or bf16; default: both when listing the paper's configurations, else fp32
    #[arg(long)]
    precision: Option<String>,
    /// Fidelities, comma-separated (LxS or LxHxW); default: the paper's configurations
    #[arg(long)]
    fidelity: Option<String>,
    /// Videos per device; default: the largest that fits
    #[arg(long)]
    videos: Option<usize>,
    /// Snippets per encoder call; default: one video's snippets
    #[arg(long)]
    snippets_per_call: Option<usize>,
    /// auto (the cheapest that fits), none, chunk, stage
    #[arg(long, default_value = "auto")]
    recompute: String,
    /// Classes of the snippet classifier
    #[arg(long, default_value_t = 200)]
    classes: usize,
    /// Fixed device memory outside the pool (default: 0 on cpu, the documented CUDA overhead)
    #[arg(long)]
    overhead: Option<String>,
    /// Device rates measured by `lofi bench device --json` (default: documented ones)
    #[arg(long)]
    rates: Option<PathBuf>,
    /// Largest batch the search tries
    #[arg(long, default_value_t = 256)]
    max_videos: usize,
    /// Print a JSON array instead of tables
    #[arg(long)]
    json: bool,
}

fn gib(b: usize) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

fn table(title: &str, rows: &[PlanRow]) {
    println!("{title}");
    println!(
        "  {:<11} {:<5} {:>6} {:>8} {:<5} {:<9} {:>11} {:>10} {:>9} {:>10}  fits",
        "fidelity", "name", "videos", "snip/call", "prec", "recompute", "peak", "overhead", "step s", "frames/s"
    );
    for r in rows {
        println!(
            "  {:<11} {:<5} {:>6} {:>8} {:<5} {:<9} {:>11} {:>10} {:>9.3} {:>10.0}  {}",
            r.fidelity,
            r.name.as_deref().unwrap_or(""),
            r.videos,
            r.snippets_per_call,
            r.precision,
            r.recompute,
            gib(r.peak_bytes),
            gib(r.overhead_bytes),
            r.step_s,
            r.frames_per_s,
            if r.fits { "yes" } else { "no" }
        );
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let budget = parse_size(&args.budget, "--budget")?;
    let device = parse_device(&args.device)?;
    let overhead = match &args.overhead {
        Some(o) => parse_size(o, "--overhead")?,
        None if matches!(device, DeviceKind::Cuda(_)) => DEFAULT_CUDA_OVERHEAD,
        None => 0,
    };
    let rates = match &args.rates {
        Some(p) => DeviceRates::load(p)?,
        None => DeviceRates::default_for(device),
    };
    let fidelities = match &args.fidelity {
        Some(list) => list.split(',').map(|f| parse_fidelity(f, "--fidelity")).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    if args.videos == Some(0) || args.snippets_per_call == Some(0) || args.max_videos == 0 {
        anyhow::bail!("invalid value for --videos / --snippets-per-call / --max-videos: must be at least 1");
    }
    let precisions = match &args.precision {
        Some(p) => vec![Precision::parse(p, "--precision")?],
        None if fidelities.is_empty() => vec![Precision::Fp32, Precision::Bf16],
        None => vec![Precision::Fp32],
    };
    let query = PlanQuery {
        budget,
        device,
        encoder: args.encoder.clone(),
        head: args.head.clone(),
        classes: args.classes,
        precision: precisions[0],
        fidelities: fidelities.clone(),
        videos: args.videos,
        snippets_per_call: args.snippets_per_call,
        recompute: RecomputeSetting::parse(&args.recompute, "--recompute")?,
        overhead_bytes: overhead,
        rates,
        max_videos: args.max_videos,
    };
    let mut rows = Vec::new();
    for &precision in &precisions {
        rows.extend(PlanQuery { precision, ..query.clone() }.plan()?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "lofi plan: {} + {} on {}, budget {} ({} fixed overhead outside the pool), rates of {}",
        args.encoder,
        args.head,
        args.device,
        gib(budget),
        gib(overhead),
        query.rates.device
    );
    table(if args.videos.is_some() { "planned steps:" } else { "largest batch that fits:" }, &rows);
    if fidelities.is_empty() && args.videos.is_none() {
        for &precision in &precisions {
            let grid = PlanQuery { fidelities: fidelity_grid(), precision, ..query.clone() };
            let front = pareto_front(&grid.plan()?);
            let title = format!(
                "Pareto front of pixels × snippets vs batch, {} (grid 25/50/100 × 112/158/224):",
                precision.name()
            );
            table(&title, &front);
        }
    }
    Ok(())
}

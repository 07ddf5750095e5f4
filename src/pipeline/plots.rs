//! PNG plots of a pipeline run (plotters, bitmap backend, the DejaVu Sans face embedded so that no
//! system font is needed): `average_map.png` — every method's average mAP on every seed, the mean
//! marked; `loss_seed<N>.png` — the total training loss of each training job of a seed against
//! its progress through training (encoder stages on the left, heads on the right).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use super::{Method, Outcome};
use crate::{Error, Result};

const FONT: &str = "sans-serif";

fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| Error::invalid("plots", "the embedded font did not load"));
    });
    result
}

fn plot_error(path: &Path, e: impl std::fmt::Debug) -> Error {
    Error::data(format!("plot {}", path.display()), format!("{e:?}"))
}

/// Writes every plot into `dir`.
pub fn write(dir: &Path, outcome: &Outcome) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    register_font()?;
    average_map(&dir.join("average_map.png"), outcome)?;
    let mut seeds: Vec<u64> = outcome.curves.iter().map(|c| c.0).collect();
    seeds.dedup();
    for seed in seeds {
        losses(&dir.join(format!("loss_seed{seed}.png")), outcome, seed)?;
    }
    Ok(())
}

fn average_map(path: &Path, outcome: &Outcome) -> Result<()> {
    let methods: Vec<Method> =
        Method::ALL.into_iter().filter(|m| outcome.rows.iter().any(|r| r.method == m.name())).collect();
    let top = outcome.rows.iter().map(|r| r.average_map).fold(0.0f64, f64::max).max(0.01) * 100.0 * 1.1;
    let root = BitMapBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("average mAP (tIoU 0.5:0.05:0.95) per method and seed", (FONT, 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..methods.len() as f64 - 0.5, 0f64..top)
        .map_err(|e| plot_error(path, e))?;
    let names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
    chart
        .configure_mesh()
        .x_labels(methods.len())
        .x_label_formatter(&|x| {
            names
                .get(x.round() as usize)
                .filter(|_| (x - x.round()).abs() < 1e-6)
                .map_or(String::new(), |s| s.to_string())
        })
        .y_desc("average mAP (%)")
        .disable_x_mesh()
        .draw()
        .map_err(|e| plot_error(path, e))?;
    for (i, m) in methods.iter().enumerate() {
        let values: Vec<f64> =
            outcome.rows.iter().filter(|r| r.method == m.name()).map(|r| 100.0 * r.average_map).collect();
        let x = i as f64;
        chart
            .draw_series(values.iter().enumerate().map(|(k, v)| {
                Circle::new((x - 0.15 + 0.3 * k as f64 / values.len().max(1) as f64, *v), 4, BLUE.filled())
            }))
            .map_err(|e| plot_error(path, e))?;
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.3, mean), (x + 0.3, mean)],
                BLACK.stroke_width(2),
            )))
            .map_err(|e| plot_error(path, e))?;
    }
    root.present().map_err(|e| plot_error(path, e))
}

fn losses(path: &Path, outcome: &Outcome, seed: u64) -> Result<()> {
    let root = BitMapBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let (left, right) = root.split_horizontally(600);
    let curves: Vec<&(u64, String, Vec<crate::train::metrics::StepRecord>)> =
        outcome.curves.iter().filter(|c| c.0 == seed && !c.2.is_empty()).collect();
    let panels: [(&str, &DrawingArea<BitMapBackend, plotters::coord::Shift>, bool); 2] =
        [("encoder stages", &left, false), ("heads", &right, true)];
    for (title, area, heads) in panels {
        let chosen: Vec<_> = curves.iter().filter(|c| c.1.starts_with("head/") == heads).collect();
        let top = chosen
            .iter()
            .flat_map(|c| c.2.iter().filter_map(|r| r.loss.get("total").copied()))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.05;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("seed {seed}: training loss, {title}"), (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..top)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc("fraction of training")
            .y_desc("total loss")
            .draw()
            .map_err(|e| plot_error(path, e))?;
        for (i, (_, name, records)) in chosen.iter().map(|c| (c.0, &c.1, &c.2)).enumerate() {
            let n = records.len().saturating_sub(1).max(1) as f64;
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = records
                .iter()
                .enumerate()
                .filter_map(|(k, r)| r.loss.get("total").map(|v| (k as f64 / n, *v)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(1)))
                .map_err(|e| plot_error(path, e))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 12))
            .draw()
            .map_err(|e| plot_error(path, e))?;
    }
    root.present().map_err(|e| plot_error(path, e))
}

//! `report.md` and `report.json` of a pipeline run: the paper's Table 1 (pre-training method:
//! random, ACP, ACP+, LoFi-E2E = C-LoFi long) and Table 2 (each LoFi configuration) in the same
//! shape — mAP at tIoU 0.5 / 0.75 / 0.95 and the average, mean ± sd over seeds, the paired gain over
//! ACP with its sd — the full-fidelity end-to-end row, every seed's average mAP, and the wall time
//! and pool peak of every job.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::data::atomic::{write_file, write_json};
use crate::train::config::{Stage, TrainConfig};
use crate::train::lofi::FidelityPlan;
use crate::train::presets::fidelity_name;
use crate::{Error, Result};

use super::{Method, Outcome, PipelineOptions, Row};

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (mean, sd)
}

/// Per method: the rows by seed.
fn by_method(rows: &[Row]) -> BTreeMap<String, BTreeMap<u64, &Row>> {
    let mut out: BTreeMap<String, BTreeMap<u64, &Row>> = BTreeMap::new();
    for r in rows {
        out.entry(r.method.clone()).or_default().insert(r.seed, r);
    }
    out
}

/// What the report says about one method.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MethodSummary {
    pub seeds: Vec<u64>,
    /// Mean over seeds of mAP at each threshold (fractions).
    #[serde(rename = "mAP_mean")]
    pub map_mean: Vec<f64>,
    #[serde(rename = "mAP_sd")]
    pub map_sd: Vec<f64>,
    #[serde(rename = "average_mAP_mean")]
    pub average_mean: f64,
    #[serde(rename = "average_mAP_sd")]
    pub average_sd: f64,
    /// average mAP − ACP's, on the seeds both have (fractions).
    pub paired_gain: Vec<f64>,
    pub paired_gain_mean: f64,
    pub paired_gain_sd: f64,
}

pub fn summarise(rows: &[Row]) -> BTreeMap<String, MethodSummary> {
    let methods = by_method(rows);
    let acp = methods.get(Method::Acp.name());
    methods
        .iter()
        .map(|(name, seeds)| {
            let k = seeds.values().map(|r| r.map.len()).min().unwrap_or(0);
            let (map_mean, map_sd): (Vec<f64>, Vec<f64>) =
                (0..k).map(|t| mean_sd(&seeds.values().map(|r| r.map[t]).collect::<Vec<_>>())).unzip();
            let (average_mean, average_sd) = mean_sd(&seeds.values().map(|r| r.average_map).collect::<Vec<_>>());
            let paired_gain: Vec<f64> = seeds
                .iter()
                .filter_map(|(s, r)| acp.and_then(|a| a.get(s)).map(|a| r.average_map - a.average_map))
                .collect();
            let (paired_gain_mean, paired_gain_sd) = mean_sd(&paired_gain);
            let summary = MethodSummary {
                seeds: seeds.keys().copied().collect(),
                map_mean,
                map_sd,
                average_mean,
                average_sd,
                paired_gain,
                paired_gain_mean,
                paired_gain_sd,
            };
            (name.clone(), summary)
        })
        .collect()
}

fn pct(mean: f64, sd: f64) -> String {
    format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * sd)
}

/// A table row: mAP@0.5, @0.75, @0.95, average, paired gain.
fn cells(s: &MethodSummary, with_gain: bool) -> String {
    let at = |i: usize| match (s.map_mean.get(i), s.map_sd.get(i)) {
        (Some(m), Some(d)) => pct(*m, *d),
        _ => "–".into(),
    };
    let gain =
        if with_gain && !s.paired_gain.is_empty() { pct(s.paired_gain_mean, s.paired_gain_sd) } else { "–".into() };
    format!("{} | {} | {} | {} | {}", at(0), at(5), at(9), pct(s.average_mean, s.average_sd), gain)
}

/// The fidelity column of Table 2 for a method.
fn fidelity_of(opts: &PipelineOptions, method: Method) -> String {
    let resolved = || -> Result<String> {
        let acp = TrainConfig::from_table(Stage::Acp, opts.recipe.overlay(Stage::Acp)?, Path::new("recipe"))?;
        let (stage, lofi) = match method.lofi() {
            Some(c) => (Stage::Lofi, Some(c)),
            None if method == Method::E2eFull => (Stage::E2eFull, None),
            None => {
                return Ok(format!("– / {}", fidelity_name(&crate::train::presets::full_fidelity(&acp.model.encoder))))
            }
        };
        let mut table = opts.recipe.overlay(stage)?;
        if let Some(o) = opts.config.stage.get(stage.name()) {
            crate::train::config::merge_tables(&mut table, o.clone());
        }
        let mut cfg = TrainConfig::from_table(stage, table, Path::new("pipeline config"))?;
        if let Some(c) = lofi {
            cfg.lofi.config = c;
        }
        let plan = FidelityPlan::resolve(stage, &cfg.lofi, &acp.model.encoder)?;
        Ok(plan.fidelities().iter().map(fidelity_name).collect::<Vec<_>>().join(" → "))
    };
    resolved().unwrap_or_else(|_| "?".into())
}

fn bytes(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
}

pub fn markdown(opts: &PipelineOptions, outcome: &Outcome) -> String {
    let summary = summarise(&outcome.rows);
    let n = opts.seeds.len();
    let mut md = String::new();
    let _ = writeln!(md, "# LoFi-E2E pipeline report\n");
    let _ = writeln!(md, "Command: `{}`  ", opts.command);
    let _ = writeln!(
        md,
        "Recipe {}, seeds {:?}, data {}. mAP in %, mean ± sd over {n} seed(s); the gain is the paired difference of \
         average mAP from ACP on the same seed (mean ± sd).\n",
        opts.recipe.name(),
        opts.seeds,
        opts.data.as_ref().map_or("synthetic benchmark (dataset seed 1000 + seed)".into(), |d| d.display().to_string())
    );
    let table = |md: &mut String, title: &str, methods: &[(Method, &str)], fidelity: bool| {
        let _ = writeln!(md, "## {title}\n");
        let head = if fidelity {
            "| Method | TR / SR | mAP@0.5 | mAP@0.75 | mAP@0.95 | Avg | gain over ACP |"
        } else {
            "| Method | mAP@0.5 | mAP@0.75 | mAP@0.95 | Avg | gain over ACP |"
        };
        let _ = writeln!(md, "{head}");
        let _ =
            writeln!(md, "{}", if fidelity { "|---|---|---|---|---|---|---|" } else { "|---|---|---|---|---|---|" });
        for (m, label) in methods {
            if let Some(s) = summary.get(m.name()) {
                let with_gain = *m != Method::Acp;
                if fidelity {
                    let _ = writeln!(md, "| {label} | {} | {} |", fidelity_of(opts, *m), cells(s, with_gain));
                } else {
                    let _ = writeln!(md, "| {label} | {} |", cells(s, with_gain));
                }
            }
        }
        let _ = writeln!(md);
    };
    table(
        &mut md,
        "Table 1: pre-training method (frozen encoder, head trained on its features)",
        &[
            (Method::Random, "random init (no video pre-training)"),
            (Method::Acp, "ACP"),
            (Method::AcpPlus, "ACP+"),
            (Method::LofiCLong, "LoFi-E2E (C-LoFi long)"),
        ],
        false,
    );
    table(
        &mut md,
        "Table 2: LoFi configuration (TR = snippets, SR = frame side during end-to-end training)",
        &[
            (Method::Acp, "ACP"),
            (Method::LofiS, "S"),
            (Method::LofiT, "T"),
            (Method::LofiSt, "ST"),
            (Method::LofiCShort, "C short"),
            (Method::LofiCLong, "C long"),
        ],
        true,
    );
    table(
        &mut md,
        "Beyond the paper: end-to-end at full fidelity",
        &[(Method::Acp, "ACP"), (Method::E2eFull, "E2E full")],
        true,
    );

    let _ = writeln!(md, "## Average mAP (%) per seed\n");
    let _ =
        writeln!(md, "| Method | {} |", opts.seeds.iter().map(|s| format!("seed {s}")).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(n));
    let methods = by_method(&outcome.rows);
    for m in Method::ALL {
        if let Some(seeds) = methods.get(m.name()) {
            let vals: Vec<String> = opts
                .seeds
                .iter()
                .map(|s| seeds.get(s).map_or("–".into(), |r| format!("{:.2}", 100.0 * r.average_map)))
                .collect();
            let _ = writeln!(md, "| {} | {} |", m.name(), vals.join(" | "));
        }
    }
    let _ = writeln!(md, "\n## Cost of every job (wall time, pool peak)\n");
    let _ =
        writeln!(md, "| Job | {} |", opts.seeds.iter().map(|s| format!("seed {s}")).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(n));
    let mut jobs: BTreeMap<String, BTreeMap<u64, (f64, usize)>> = BTreeMap::new();
    for r in &outcome.rows {
        for j in &r.stages {
            jobs.entry(j.name.clone()).or_default().insert(r.seed, (j.wall_s, j.peak_bytes));
        }
    }
    for (job, seeds) in &jobs {
        let vals: Vec<String> = opts
            .seeds
            .iter()
            .map(|s| seeds.get(s).map_or("–".into(), |(w, p)| format!("{w:.1} s, {}", bytes(*p))))
            .collect();
        let _ = writeln!(md, "| {job} | {} |", vals.join(" | "));
    }
    md
}

/// Writes `report.md` and `report.json` into `out`.
pub fn write(out: &Path, opts: &PipelineOptions, outcome: &Outcome) -> Result<()> {
    write_file(&out.join("report.md"), markdown(opts, outcome).as_bytes())?;
    let json = serde_json::json!({
        "command": opts.command,
        "recipe": opts.recipe.name(),
        "seeds": opts.seeds,
        "thresholds": crate::eval::default_thresholds(),
        "rows": outcome.rows,
        "summary": summarise(&outcome.rows),
    });
    write_json(&out.join("report.json"), &json).map_err(|e| Error::data("report.json", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, seed: u64, avg: f64) -> Row {
        Row { method: method.into(), seed, map: vec![avg; 10], average_map: avg, stages: Vec::new() }
    }

    #[test]
    fn gains_are_paired_by_seed() {
        let rows = vec![row("acp", 0, 0.40), row("acp", 1, 0.30), row("lofi-t", 0, 0.45), row("lofi-t", 1, 0.33)];
        let s = summarise(&rows);
        let t = &s["lofi-t"];
        assert!((t.paired_gain_mean - 0.04).abs() < 1e-12);
        assert!((t.paired_gain_sd - (0.01f64 * 0.01 * 2.0).sqrt()).abs() < 1e-12, "{}", t.paired_gain_sd);
        assert!((t.average_mean - 0.39).abs() < 1e-12);
        assert_eq!(mean_sd(&[2.0]), (2.0, 0.0));
    }
}

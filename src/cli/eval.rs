//! `lofi eval --gt GT.json --pred PRED.json [--subset validation] [--tiou 0.5:0.05:0.95] [--json]`:
//! ActivityNet detection mAP of a result file, printed as a table or as one JSON object.
//!
//! Relies on `lofi::eval` for every number and on the annotation and result-file readers for
//! path-naming errors. Ground truth is read with the `Keep` segment policy by default, as the official
//! evaluator does; flawed ground-truth segments and set-aside predictions are reported on stderr
//! (and in the JSON object), never silently. See docs/eval.md.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use lofi::data::annotations::{Annotations, SegmentPolicy, SegmentReport};
use lofi::eval::{evaluate, parse_thresholds, Evaluation};
use lofi::jsonio::{excerpt, refuse_unknown_keys, UnknownKey};
use lofi::post::detections::ResultFile;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Flags of `lofi eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// Ground truth in the ActivityNet-1.3 or HACS-1.1 layout.
    #[arg(long)]
    pub gt: PathBuf,
    /// Detections in the ActivityNet result layout.
    #[arg(long)]
    pub pred: PathBuf,
    /// Which subset of the ground truth to evaluate.
    #[arg(long, default_value = "validation")]
    pub subset: String,
    /// tIoU thresholds: start:step:stop, a comma list, or one value.
    #[arg(long, default_value = "0.5:0.05:0.95")]
    pub tiou: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Flawed ground-truth segments (reversed, empty, negative, beyond the duration): keep them
    /// as written (the official evaluator's behaviour), clip them to the video, or drop them.
    /// They are counted and reported whichever is chosen.
    #[arg(long, default_value = "keep", value_name = "keep|clip|drop")]
    pub gt_segments: SegmentPolicy,
    /// Refuse ground-truth and result files holding keys their layout does not define (by
    /// default each such key is a warning naming the key, the video and the file).
    #[arg(long)]
    pub strict: bool,
}

/// Runs the evaluation and prints the result.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let thresholds = parse_thresholds(&args.tiou)?;
    let gt = Annotations::load(&args.gt, args.gt_segments).context("reading the ground truth")?;
    unknown_keys(&args.gt, &gt.unknown_keys, "database", args.strict).context("reading the ground truth")?;
    let pred = ResultFile::load(&args.pred).context("reading the predictions")?;
    unknown_keys(&args.pred, &pred.unknown_keys, "results", args.strict).context("reading the predictions")?;
    let ev = evaluate(&gt, &args.subset, &pred.results, &thresholds)
        .with_context(|| format!("evaluating {} against {}", args.pred.display(), args.gt.display()))?;
    report_warnings(&gt.report, &ev)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &JsonReport { ev: &ev, gt: &gt.report })?;
        writeln!(out)?;
    } else {
        write_table(&mut out, &args.subset, &ev)?;
    }
    out.flush()?;
    Ok(())
}

/// One warning per unknown key (the key, its video when it sits under `videos_at.<id>`, the
/// file), or under `--strict` an error naming the first.
fn unknown_keys(file: &Path, keys: &[UnknownKey], videos_at: &str, strict: bool) -> anyhow::Result<()> {
    if strict {
        refuse_unknown_keys(file, keys)?;
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    for key in keys {
        let video = key.entry_under(videos_at).map(|v| format!(" (video {})", excerpt(v))).unwrap_or_default();
        writeln!(err, "warning: {}: {}{video}; ignored (--strict refuses it)", file.display(), key.describe())?;
    }
    Ok(())
}

fn report_warnings(gt: &SegmentReport, ev: &Evaluation) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    if !gt.is_clean() {
        writeln!(
            err,
            "warning: ground truth: {} reversed, {} zero-length, {} negative-start, {} beyond-duration segments \
             (kept as written, as the official evaluator does; e.g. {})",
            gt.reversed,
            gt.zero_length,
            gt.negative_start,
            gt.beyond_duration,
            gt.examples.join(", ")
        )?;
    }
    let c = &ev.counts;
    let notes = [
        (c.label_not_in_subset, "ignored: label is not a class of the subset"),
        (c.reversed_segment, "ignored: segment end < start"),
        (c.nan_value, "ignored: NaN score or time"),
        (c.zero_length_segment, "scored as misses: zero-length segment"),
        (c.unknown_video, "scored as false positives: video id not in the ground truth"),
        (c.video_of_other_subset, "scored as false positives: video of another subset"),
    ];
    for (n, what) in notes.iter().filter(|(n, _)| *n > 0) {
        writeln!(err, "warning: {n} predictions {what}")?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, subset: &str, ev: &Evaluation) -> anyhow::Result<()> {
    writeln!(
        out,
        "subset {subset}: {} classes, {} ground-truth segments, {} predictions",
        ev.classes.len(),
        ev.num_gt,
        ev.num_pred
    )?;
    writeln!(out, "tIoU    mAP")?;
    for (t, m) in ev.thresholds.iter().zip(&ev.map) {
        writeln!(out, "{t:.2}    {:.2}%", 100.0 * m)?;
    }
    writeln!(out, "average mAP {:.2}%", 100.0 * ev.average_map)?;
    Ok(())
}

/// The `--json` object: `thresholds`, `mAP`, `average_mAP`, `per_class` (class order of the
/// subset), `ignored` and `scored` prediction counts, sizes and ground-truth flaw counts.
struct JsonReport<'a> {
    ev: &'a Evaluation,
    gt: &'a SegmentReport,
}

impl Serialize for JsonReport<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct PerClass<'a>(&'a Evaluation);
        impl Serialize for PerClass<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.classes.len()))?;
                for (class, ap) in self.0.classes.iter().zip(&self.0.ap) {
                    map.serialize_entry(class, ap)?;
                }
                map.end()
            }
        }
        let (ev, c, gt) = (self.ev, &self.ev.counts, self.gt);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("thresholds", &ev.thresholds)?;
        map.serialize_entry("mAP", &ev.map)?;
        map.serialize_entry("average_mAP", &ev.average_map)?;
        map.serialize_entry("per_class", &PerClass(ev))?;
        map.serialize_entry(
            "ignored",
            &serde_json::json!({
                "label_not_in_subset": c.label_not_in_subset,
                "reversed_segment": c.reversed_segment,
                "nan_value": c.nan_value,
            }),
        )?;
        map.serialize_entry(
            "scored",
            &serde_json::json!({
                "zero_length_segment": c.zero_length_segment,
                "unknown_video": c.unknown_video,
                "video_of_other_subset": c.video_of_other_subset,
            }),
        )?;
        map.serialize_entry("num_gt", &ev.num_gt)?;
        map.serialize_entry("num_pred", &ev.num_pred)?;
        map.serialize_entry(
            "gt_segment_flaws",
            &serde_json::json!({
                "reversed": gt.reversed,
                "zero_length": gt.zero_length,
                "negative_start": gt.negative_start,
                "beyond_duration": gt.beyond_duration,
            }),
        )?;
        map.end()
    }
}

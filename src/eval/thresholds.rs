//! tIoU thresholds: the default set, and the `--tiou` syntax (`start:step:stop`, a comma list, or
//! one number).
//!
//! The default must be bit-identical to numpy's `linspace(0.5, 0.95, 10)` (the 9th value is
//! 0.8999999999999999, not 0.9), because a prediction whose tIoU is exactly 0.9 is a hit at one and
//! a miss at the other. [`linspace`] therefore follows numpy's arithmetic: `i·step + start`, with
//! the last value set to `stop`. It relies on nothing else and does not evaluate anything.

use crate::{Error, Result};

/// numpy `linspace(start, stop, num)` (endpoint included), value for value.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut values: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = values.last_mut() {
        *last = stop;
    }
    values
}

/// The ActivityNet thresholds 0.5:0.05:0.95.
pub fn default_thresholds() -> Vec<f64> {
    linspace(0.5, 0.95, 10)
}

/// Parses `start:step:stop` (the same grid as `linspace`), `a,b,c`, or a single value. Every value
/// must lie in [0, 1].
pub fn parse_thresholds(spec: &str) -> Result<Vec<f64>> {
    let bad = |msg: String| Error::Config {
        flag: "--tiou".into(),
        msg,
    };
    let number = |s: &str| -> Result<f64> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("{s:?} is not a number")))
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let values = match parts.as_slice() {
        [start, step, stop] => {
            let (start, step, stop) = (number(start)?, number(step)?, number(stop)?);
            let intervals = (stop - start) / step;
            let rounded = intervals.round();
            if !(step > 0.0 && intervals.is_finite() && (0.0..=1e6).contains(&rounded)) {
                return Err(bad(format!(
                    "{spec:?}: need start ≤ stop and a positive step"
                )));
            }
            if (intervals - rounded).abs() > 1e-6 {
                return Err(bad(format!(
                    "{spec:?}: the step does not divide stop − start"
                )));
            }
            linspace(start, stop, rounded as usize + 1)
        }
        [_] => spec.split(',').map(number).collect::<Result<Vec<f64>>>()?,
        _ => {
            return Err(bad(format!(
                "{spec:?}: expected start:step:stop or a comma list"
            )))
        }
    };
    check_thresholds(&values).map_err(|msg| bad(format!("{spec:?}: {msg}")))?;
    Ok(values)
}

/// `Err(reason)` unless `values` is a non-empty list of numbers in [0, 1].
pub fn check_thresholds(values: &[f64]) -> std::result::Result<(), String> {
    if values.is_empty() {
        return Err("no threshold given".into());
    }
    match values.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        Some(t) => Err(format!("threshold {t} is not in [0, 1]")),
        None => Ok(()),
    }
}

//! Where a step's time goes, by kernel: while switched on (`lofi bench step --profile`), every
//! `backend::launch` (and the allocation of new CPU tensors) is timed and summed under the name of
//! the ops function that launched it (the type name of its closure, e.g. `ops::conv::forward`).
//! Off by default: one relaxed atomic load per launch. On the CPU a kernel returns when it is done, so the sums are the kernels' own time;
//! on CUDA they are launch times only (asynchronous), so the table is for CPU profiling.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

static ON: AtomicBool = AtomicBool::new(false);
static TIMES: Mutex<Option<HashMap<&'static str, (u64, Duration)>>> = Mutex::new(None);

/// One row of the profile: the launching op, how many launches, their summed time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KernelTime {
    pub op: String,
    pub calls: u64,
    pub seconds: f64,
}

/// Starts (or restarts) collecting, dropping what was collected before.
pub fn start() {
    if let Ok(mut t) = TIMES.lock() {
        *t = Some(HashMap::new());
    }
    ON.store(true, Ordering::Relaxed);
}

/// Stops collecting and returns the rows, the most expensive first.
pub fn stop() -> Vec<KernelTime> {
    ON.store(false, Ordering::Relaxed);
    let map = TIMES.lock().ok().and_then(|mut t| t.take()).unwrap_or_default();
    // Closures of one function (several launches in it) share its row.
    let mut by_op: HashMap<String, (u64, Duration)> = HashMap::new();
    for (name, (calls, d)) in map {
        let e = by_op.entry(short_name(name)).or_insert((0, Duration::ZERO));
        e.0 += calls;
        e.1 += d;
    }
    let mut rows: Vec<KernelTime> =
        by_op.into_iter().map(|(op, (calls, d))| KernelTime { op, calls, seconds: d.as_secs_f64() }).collect();
    rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then_with(|| a.op.cmp(&b.op)));
    rows
}

pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

pub fn record(name: &'static str, elapsed: Duration) {
    if let Ok(mut t) = TIMES.lock() {
        if let Some(map) = t.as_mut() {
            let e = map.entry(name).or_insert((0, Duration::ZERO));
            e.0 += 1;
            e.1 += elapsed;
        }
    }
}

/// `lofi::ops::conv::forward::{{closure}}` → `ops::conv::forward`.
fn short_name(name: &str) -> String {
    let mut s = name.strip_prefix("lofi::").unwrap_or(name);
    while let Some(rest) = s.strip_suffix("::{{closure}}") {
        s = rest;
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_names_are_shortened_to_the_launching_function() {
        assert_eq!(short_name("lofi::ops::conv::forward::{{closure}}"), "ops::conv::forward");
        assert_eq!(short_name("lofi::ops::a::b::{{closure}}::{{closure}}"), "ops::a::b");
        assert_eq!(short_name("other::f"), "other::f");
    }
}

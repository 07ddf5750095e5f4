//! Seeded randomness: reproducible, named streams independent, children independent of how much
//! of the parent was consumed and of the thread that draws them.

use lofi::rng::{Rng, Seeds};
use rayon::prelude::*;

fn draw(mut r: Rng, n: usize) -> Vec<u64> {
    (0..n).map(|_| r.next_u64()).collect()
}

#[test]
fn same_seed_same_stream_different_names_differ() {
    let s = Seeds::new(42);
    assert_eq!(draw(s.stream("init"), 8), draw(Seeds::new(42).stream("init"), 8));
    assert_ne!(draw(s.stream("init"), 8), draw(s.stream("data"), 8));
    assert_ne!(draw(s.stream("init"), 8), draw(Seeds::new(43).stream("init"), 8));
}

#[test]
fn children_do_not_depend_on_consumption_or_threads() {
    let parent = Seeds::new(7).stream("augment");
    let mut consumed = parent.clone();
    for _ in 0..100 {
        consumed.next_u64();
    }
    assert_eq!(draw(parent.child(3), 4), draw(consumed.child(3), 4));
    let serial: Vec<Vec<u64>> = (0..64).map(|i| draw(parent.child(i), 4)).collect();
    for threads in [1, 2, 4] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let parallel: Vec<Vec<u64>> =
            pool.install(|| (0..64u64).into_par_iter().map(|i| draw(parent.child(i), 4)).collect());
        assert_eq!(serial, parallel, "{threads} threads");
    }
}

#[test]
fn distributions_have_the_right_moments() {
    let mut r = Rng::seeded(1);
    let n = 200_000;
    let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
    let mean = u.iter().sum::<f64>() / n as f64;
    assert!((mean - 0.5).abs() < 0.005 && u.iter().all(|&x| (0.0..1.0).contains(&x)));
    let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
    let zm = z.iter().sum::<f64>() / n as f64;
    let zv = z.iter().map(|x| (x - zm).powi(2)).sum::<f64>() / n as f64;
    assert!(zm.abs() < 0.01 && (zv - 1.0).abs() < 0.02, "normal mean {zm}, var {zv}");
    let mut v: Vec<u32> = (0..10).collect();
    r.shuffle(&mut v);
    let mut sorted = v.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert!((0..1000).all(|_| r.below(7) < 7));
}

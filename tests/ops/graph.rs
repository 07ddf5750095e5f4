use super::check_all;
use crate::common::rand_f64;
use lofi::ops::graph::{self, GraphStyle};
use lofi::ops::shape;
use lofi::rng::Rng;
use lofi::{DType, Device, Tensor};

/// Neighbours by a direct −‖x_i − x_j‖² in f64, descending, lower index first on ties.
fn brute_knn(x: &[f64], b: usize, c: usize, l: usize, k: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for bi in 0..b {
        let at = |ch: usize, j: usize| x[(bi * c + ch) * l + j];
        for i in 0..l {
            let d: Vec<f64> = (0..l).map(|j| -(0..c).map(|ch| (at(ch, i) - at(ch, j)).powi(2)).sum::<f64>()).collect();
            let mut order: Vec<usize> = (0..l).collect();
            order.sort_by(|&p, &q| d[q].total_cmp(&d[p]));
            out.extend(order[..k].iter().map(|&j| j as i64));
        }
    }
    out
}

#[test]
fn knn_matches_direct_distances_and_puts_self_first() {
    let mut r = Rng::seeded(90);
    let (b, c, l, k) = (2, 5, 9, 3);
    let x = rand_f64(&mut r, &[b, c, l], -1.0, 1.0);
    let idx = graph::knn(&x, k).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(idx, brute_knn(&x.to_f64_vec().unwrap(), b, c, l, k));
    for (row, n) in idx.chunks(k).enumerate() {
        assert_eq!(n[0], (row % l) as i64, "node {row} is its own nearest neighbour");
    }
}

#[test]
fn knn_breaks_ties_by_lower_index() {
    // Nodes 0, 2 and 3 coincide, node 1 is far: node 3's neighbours are 0, 2, 3 (all at distance 0).
    let x = Tensor::from_vec(vec![1.0f32, 9.0, 1.0, 1.0, 2.0, 7.0, 2.0, 2.0], [1, 2, 4], &Device::cpu()).unwrap();
    let idx = graph::knn(&x, 3).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(&idx[9..12], &[0, 2, 3]);
    assert_eq!(&idx[3..6], &[1, 0, 2], "node 1: itself, then the tied nodes in index order");
}

#[test]
fn knn_scores_are_negative_squared_distances() {
    let x = Tensor::from_vec(vec![0.0f64, 1.0, 3.0, 0.0, 2.0, 0.0], [1, 2, 3], &Device::cpu()).unwrap();
    // nodes (0, 0), (1, 2), (3, 0)
    let s = graph::knn_scores(&x).unwrap().to_f64_vec().unwrap();
    assert_eq!(s, vec![0.0, -5.0, -9.0, -5.0, 0.0, -8.0, -9.0, -8.0, 0.0]);
}

#[test]
fn knn_rejects_more_neighbours_than_nodes() {
    let x = Tensor::zeros([1, 2, 3], DType::F64, &Device::cpu()).unwrap();
    assert!(graph::knn(&x, 4).is_err());
    assert!(graph::knn(&x, 0).is_err());
}

fn fixed_idx() -> Tensor {
    // [B=2, L=5, k=3] with repeated neighbours and nodes nobody picks.
    let v = vec![0i64, 2, 2, 1, 0, 4, 2, 2, 2, 3, 1, 0, 4, 4, 3, 1, 1, 0, 0, 1, 2, 2, 3, 4, 3, 3, 3, 4, 0, 1];
    Tensor::from_vec(v, [2, 5, 3], &Device::cpu()).unwrap()
}

#[test]
fn gradcheck_graph_feature_style1_and_style2() {
    let mut r = Rng::seeded(91);
    let x = rand_f64(&mut r, &[2, 3, 5], -1.0, 1.0);
    let idx = fixed_idx();
    check_all(std::slice::from_ref(&x), |v| graph::graph_feature(&v[0], &idx, GraphStyle::NeighbourSelf));
    check_all(&[x], |v| graph::graph_feature(&v[0], &idx, GraphStyle::Neighbours));
}

#[test]
fn graph_feature_style1_layout_is_neighbour_then_self() {
    let x = Tensor::from_vec((0..10).map(|i| i as f64).collect::<Vec<_>>(), [1, 2, 5], &Device::cpu()).unwrap();
    let idx =
        Tensor::from_vec(vec![4i64, 0, 1, 1, 3, 3, 2, 2, 0, 0, 4, 1, 2, 3, 4], [1, 5, 3], &Device::cpu()).unwrap();
    let y = graph::graph_feature_fwd(&x, &idx, GraphStyle::NeighbourSelf).unwrap();
    assert_eq!(y.dims(), &[1, 4, 5, 3]);
    let v = y.to_f64_vec().unwrap();
    assert_eq!(&v[0..3], &[4.0, 0.0, 1.0], "channel 0, node 0: x[0, idx]");
    assert_eq!(&v[15..18], &[9.0, 5.0, 6.0], "channel 1, node 0");
    assert_eq!(&v[30..36], &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], "self half repeats x[0, i] k times");
}

#[test]
fn gradcheck_knn_then_gather_in_one_function() {
    // The GCNeXt path: neighbours recomputed from the (perturbed) input, gradient through the gather.
    let mut r = Rng::seeded(92);
    let x = rand_f64(&mut r, &[2, 4, 7], -1.0, 1.0);
    check_all(&[x], |v| {
        let idx = graph::knn(v[0].tensor(), 3)?;
        graph::graph_feature(&v[0], &idx, GraphStyle::NeighbourSelf)
    });
}

#[test]
fn gradcheck_max_over_k() {
    let mut r = Rng::seeded(93);
    // Distinct values spaced well beyond the finite-difference step: no ties, no switching.
    let mut vals: Vec<f64> = (0..2 * 3 * 5 * 3).map(|i| i as f64 * 0.01).collect();
    r.shuffle(&mut vals);
    let x = Tensor::from_vec(vals, [2, 3, 5, 3], &Device::cpu()).unwrap();
    check_all(&[x], |v| graph::max_lastdim(&v[0]));
}

#[test]
fn max_over_k_routes_ties_to_the_first_maximum() {
    let x = lofi::autograd::Var::leaf(Tensor::from_vec(vec![1.0f64, 3.0, 3.0, -1.0], [1, 4], &Device::cpu()).unwrap());
    let y = graph::max_lastdim(&x).unwrap();
    assert_eq!(y.tensor().to_f64_vec().unwrap(), vec![3.0]);
    let g = y.backward().unwrap();
    assert_eq!(g.get(x.id().unwrap()).unwrap().to_f64_vec().unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn gradcheck_mean_over_k_of_the_neighbours() {
    // SGAlign's context feature: style-2 gather, then the mean over k.
    let mut r = Rng::seeded(94);
    let x = rand_f64(&mut r, &[2, 3, 5], -1.0, 1.0);
    let idx = fixed_idx();
    check_all(&[x], |v| shape::mean_axis(&graph::graph_feature(&v[0], &idx, GraphStyle::Neighbours)?, 3));
}

#[test]
fn graph_feature_rejects_out_of_range_neighbours() {
    let x = Tensor::zeros([1, 2, 3], DType::F64, &Device::cpu()).unwrap();
    let idx = Tensor::from_vec(vec![0i64, 3, 1], [1, 3, 1], &Device::cpu()).unwrap();
    assert!(graph::graph_feature_fwd(&x, &idx, GraphStyle::Neighbours).is_err());
    let short = Tensor::from_vec(vec![0i64, 1], [1, 2, 1], &Device::cpu()).unwrap();
    assert!(graph::graph_feature_fwd(&x, &short, GraphStyle::Neighbours).is_err(), "one row per node");
}

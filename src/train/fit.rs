//! Non-negative least squares for the step-time model's calibration (`train::rates`): the costs
//! per unit of a handful of counts (FLOPs, bytes, allocations) that best explain measured step
//! times, none of them negative (a negative cost would let one count cancel another and predict
//! nonsense outside the calibration set).
//!
//! Exact for the few unknowns it serves (≤ 10): every subset of the unknowns is fitted by plain
//! least squares and the best fit whose costs are all ≥ 0 wins; a subset whose columns are
//! linearly dependent is skipped.

/// Minimises Σ_i (Σ_j a[i][j]·x_j − b_i)² over x ≥ 0. Columns that are zero in every row get
/// x_j = 0. `None` when `a` is empty or ragged, or no subset can be solved.
pub fn nonnegative_least_squares(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let cols = a.first()?.len();
    if a.len() != b.len() || a.iter().any(|r| r.len() != cols) || cols == 0 || cols > 16 {
        return None;
    }
    // Scale every column to unit norm: counts range over 12 orders of magnitude (FLOPs against
    // allocations), which would make the normal equations' pivots meaningless.
    let norms: Vec<f64> = (0..cols).map(|j| a.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt()).collect();
    let mut best: Option<(f64, Vec<f64>)> = None;
    for mask in 1u32..(1 << cols) {
        let idx: Vec<usize> = (0..cols).filter(|&j| mask >> j & 1 == 1 && norms[j] > 0.0).collect();
        if idx.len() != mask.count_ones() as usize {
            continue;
        }
        let Some(x) = least_squares(a, b, &idx, &norms) else { continue };
        if x.iter().any(|&v| v < 0.0) {
            continue;
        }
        let mut full = vec![0.0; cols];
        for (&j, &v) in idx.iter().zip(&x) {
            full[j] = v / norms[j];
        }
        let residual: f64 = a
            .iter()
            .zip(b)
            .map(|(r, &bi)| {
                let e = r.iter().zip(&full).map(|(p, q)| p * q).sum::<f64>() - bi;
                e * e
            })
            .sum();
        if best.as_ref().is_none_or(|(r, _)| residual < *r) {
            best = Some((residual, full));
        }
    }
    best.map(|(_, x)| x)
}

/// Unconstrained least squares over the (scaled) columns `idx`: the normal equations solved by
/// Gaussian elimination with partial pivoting; `None` when they are (numerically) singular.
fn least_squares(a: &[Vec<f64>], b: &[f64], idx: &[usize], norms: &[f64]) -> Option<Vec<f64>> {
    let n = idx.len();
    let col = |r: &[f64], k: usize| r[idx[k]] / norms[idx[k]];
    // [AᵀA | Aᵀb]
    let mut m = vec![vec![0.0; n + 1]; n];
    for (r, &bi) in a.iter().zip(b) {
        for (p, row) in m.iter_mut().enumerate() {
            for (q, v) in row[..n].iter_mut().enumerate() {
                *v += col(r, p) * col(r, q);
            }
            row[n] += col(r, p) * bi;
        }
    }
    for c in 0..n {
        let pivot = (c..n).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[pivot][c].abs() < 1e-10 {
            return None;
        }
        m.swap(c, pivot);
        let pivot_row = m[c].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (v, p) in row[c..].iter_mut().zip(&pivot_row[c..]) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..n).map(|c| m[c][n] / m[c][c]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_known_nonnegative_costs_across_scales() {
        // b = 2e-12·flops + 3e-6·allocations, exactly
        let rows = [(1e10, 100.0), (3e9, 4000.0), (5e10, 50.0), (2e8, 900.0)];
        let a: Vec<Vec<f64>> = rows.iter().map(|&(f, n)| vec![f, n, 0.0]).collect();
        let b: Vec<f64> = rows.iter().map(|&(f, n)| 2e-12 * f + 3e-6 * n).collect();
        let x = nonnegative_least_squares(&a, &b).unwrap();
        assert!((x[0] / 2e-12 - 1.0).abs() < 1e-9 && (x[1] / 3e-6 - 1.0).abs() < 1e-9, "{x:?}");
        assert_eq!(x[2], 0.0, "an all-zero column costs nothing");
    }

    #[test]
    fn a_cost_the_data_would_make_negative_is_zero() {
        // the unconstrained fit of b against [1, t] on these points has a negative slope
        let a = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
        let b = vec![3.0, 2.0, 1.5];
        let x = nonnegative_least_squares(&a, &b).unwrap();
        assert_eq!(x[1], 0.0);
        assert!((x[0] - 13.0 / 6.0).abs() < 1e-12, "{x:?}");
    }

    #[test]
    fn ragged_or_empty_input_is_refused() {
        assert!(nonnegative_least_squares(&[], &[]).is_none());
        assert!(nonnegative_least_squares(&[vec![1.0], vec![1.0, 2.0]], &[1.0, 2.0]).is_none());
        assert!(nonnegative_least_squares(&[vec![1.0]], &[1.0, 2.0]).is_none());
    }
}

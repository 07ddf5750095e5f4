//! Matrix product and the linear layer (y = x·Wᵀ + b, PyTorch's weight layout [out, in]).

use super::{check_same, elementwise, empty_like};
use crate::autograd::{record, Var};
use crate::backend::launch;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// op(a)·op(b) for 2-D tensors, op = transpose when the flag is set.
pub fn matmul_fwd(a: &Tensor, b: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
    check_same("matmul", &[a, b])?;
    let [ar, ac] = a.shape().dims_n::<2>("matmul")?;
    let [br, bc] = b.shape().dims_n::<2>("matmul")?;
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if trans_b { (bc, br) } else { (br, bc) };
    if k != k2 {
        return Err(Error::shape("matmul", format!("inner sizes differ: {} · {}", a.shape(), b.shape())));
    }
    let y = empty_like(a, [m, n], a.dtype())?;
    super::cost::add_gemm(m, n, k, a.dtype());
    launch(a.device(), |be| be.matmul(a, b, &y, 1, m, k, n, trans_a, trans_b, 0.0))?;
    Ok(y)
}

/// a[m, k] · b[k, n].
pub fn matmul(a: &Var, b: &Var) -> Result<Var> {
    let y = matmul_fwd(a.tensor(), b.tensor(), false, false)?;
    let (sa, sb) = (b.requires_grad().then(|| a.tensor().clone()), a.requires_grad().then(|| b.tensor().clone()));
    Ok(record("matmul", &[a, b], y, move |g| {
        let ga = sb.map(|b| matmul_fwd(g, &b, false, true)).transpose()?;
        let gb = sa.map(|a| matmul_fwd(&a, g, true, false)).transpose()?;
        Ok(vec![ga, gb])
    }))
}

/// x[n, in] · W[out, in]ᵀ + b[out].
pub fn linear(x: &Var, w: &Var, b: Option<&Var>) -> Result<Var> {
    let y = matmul_fwd(x.tensor(), w.tensor(), false, true)?;
    let (sx, sw) = (w.requires_grad().then(|| x.tensor().clone()), x.requires_grad().then(|| w.tensor().clone()));
    let y = record("linear", &[x, w], y, move |g| {
        let gx = sw.map(|w| matmul_fwd(g, &w, false, false)).transpose()?;
        let gw = sx.map(|x| matmul_fwd(g, &x, true, false)).transpose()?;
        Ok(vec![gx, gw])
    });
    match b {
        Some(b) => elementwise::add_channel(&y, b),
        None => Ok(y),
    }
}

//! The ACP classification loss: mean softmax cross-entropy of snippet logits [N, K] against class
//! ids (SPEC §a, TSM's K400 recipe; lofi's ACP stage on snippet features).

use crate::autograd::Var;
use crate::ops::loss::cross_entropy;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Mean cross-entropy of `logits` [N, K] against `targets` (one class id per row).
pub fn classification_loss(logits: &Var, targets: &[usize]) -> Result<Var> {
    let ids = targets
        .iter()
        .map(|&t| i64::try_from(t).map_err(|_| Error::invalid("classification_loss", format!("class id {t}"))))
        .collect::<Result<Vec<i64>>>()?;
    let target = Tensor::from_vec(ids, [targets.len()], logits.tensor().device())?;
    cross_entropy(logits, &target)
}

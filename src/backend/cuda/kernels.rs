//! The kernel registry: which `.cu` module holds which entry point, for which dtypes, and the
//! embedded forms of each module (NVRTC source always; nvcc's PTX and fatbin when the build had
//! nvcc). This is the one list of names the Rust side launches: launches take a `Kernel`, and the
//! PTX entry test (`tests/cuda_ptx_entries.rs`) checks every `Kernel::ALL` × dtype against the PTX.

use crate::tensor::DType;
use crate::{Error, Result};

/// One kernel module as embedded by build.rs.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// File stem of `kernels/<stem>.cu`.
    pub stem: &'static str,
    /// The source with `common.cuh` inlined, ready for NVRTC.
    pub source: &'static str,
    /// nvcc's PTX for compute_80 (None when built without nvcc).
    pub ptx: Option<&'static str>,
    /// nvcc's fatbin: sm_80 and sm_90 code plus compute_90 PTX (None when built without nvcc).
    pub fatbin: Option<&'static [u8]>,
}

mod generated {
    use super::Embedded;
    include!(concat!(env!("OUT_DIR"), "/kernels.rs"));
}

/// `nvcc --version`'s release line when the build compiled the kernels, else None.
pub const NVCC_VERSION: Option<&str> = generated::NVCC_VERSION;
/// Every kernel module embedded in this binary, one per `kernels/*.cu`.
pub const EMBEDDED: &[Embedded] = generated::EMBEDDED;

/// A kernel module: one `kernels/<stem>.cu`, loaded lazily as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Elementwise,
    Shift,
    Reduce,
    Optim,
    Graph,
    Align,
    Loss,
    Gather,
    Pool,
    Layout,
    Convert,
    Norm,
    Conv,
}

impl Module {
    pub const ALL: [Module; 13] = [
        Module::Elementwise,
        Module::Shift,
        Module::Reduce,
        Module::Optim,
        Module::Graph,
        Module::Align,
        Module::Loss,
        Module::Gather,
        Module::Pool,
        Module::Layout,
        Module::Convert,
        Module::Norm,
        Module::Conv,
    ];

    pub const fn stem(self) -> &'static str {
        match self {
            Module::Elementwise => "elementwise",
            Module::Shift => "shift",
            Module::Reduce => "reduce",
            Module::Optim => "optim",
            Module::Graph => "graph",
            Module::Align => "align",
            Module::Loss => "loss",
            Module::Gather => "gather",
            Module::Pool => "pool",
            Module::Layout => "layout",
            Module::Convert => "convert",
            Module::Norm => "norm",
            Module::Conv => "conv",
        }
    }

    /// The embedded forms of this module.
    pub fn embedded(self) -> Result<&'static Embedded> {
        EMBEDDED
            .iter()
            .find(|e| e.stem == self.stem())
            .ok_or_else(|| Error::Cuda(format!("kernels/{}.cu is not embedded in this binary", self.stem())))
    }
}

/// Dtypes every CUDA kernel is stamped for (bf16 only where __CUDA_ARCH__ ≥ 800).
pub const KERNEL_DTYPES: [DType; 2] = [DType::F32, DType::BF16];

macro_rules! kernels {
    ($($variant:ident => $module:ident, $stem:literal;)*) => {
        /// An entry point family: `<stem>_<dtype>` in one module.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kernel { $($variant),* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$variant),*];

            pub const fn stem(self) -> &'static str {
                match self { $(Kernel::$variant => $stem),* }
            }
            pub const fn module(self) -> Module {
                match self { $(Kernel::$variant => Module::$module),* }
            }
        }
    };
}

kernels! {
    ReluFwd => Elementwise, "relu_fwd";
    ReluBwd => Elementwise, "relu_bwd";
    SigmoidFwd => Elementwise, "sigmoid_fwd";
    SigmoidBwd => Elementwise, "sigmoid_bwd";
    AddFwd => Elementwise, "add_fwd";
    SubFwd => Elementwise, "sub_fwd";
    MulFwd => Elementwise, "mul_fwd";
    ScaleFwd => Elementwise, "scale_fwd";
    Fill => Elementwise, "fill";
    AddChannelFwd => Elementwise, "add_channel_fwd";
    ShiftFwd => Shift, "shift_fwd";
    ShiftBwd => Shift, "shift_bwd";
    SumAxisFwd => Reduce, "sum_axis_fwd";
    SumAxisWideFwd => Reduce, "sum_axis_wide_fwd";
    BroadcastAxisFwd => Reduce, "broadcast_axis_fwd";
    SgdUpdate => Optim, "sgd_update";
    SgdMomentumUpdate => Optim, "sgd_momentum_update";
    KnnScoreFwd => Graph, "knn_score_fwd";
    KnnTopkFwd => Graph, "knn_topk_fwd";
    GraphGatherFwd => Graph, "graph_gather_fwd";
    GraphGatherBwd => Graph, "graph_gather_bwd";
    MaxLastdimFwd => Graph, "max_lastdim_fwd";
    MaxLastdimBwd => Graph, "max_lastdim_bwd";
    Align1dFwd => Align, "align1d_fwd";
    Align1dBwd => Align, "align1d_bwd";
    Align1dLongBwd => Align, "align1d_long_bwd";
    SoftmaxXentFwd => Loss, "softmax_xent_fwd";
    SoftmaxXentBwd => Loss, "softmax_xent_bwd";
    WeightedBceFwd => Loss, "weighted_bce_fwd";
    WeightedBceBwd => Loss, "weighted_bce_bwd";
    GatherAxisFwd => Gather, "gather_axis_fwd";
    ScatterPlanFwd => Gather, "scatter_plan_fwd";
    ScatterAddAxisFwd => Gather, "scatter_add_axis_fwd";
    AdamUpdate => Optim, "adam_update";
    MaxPool2dFwd => Pool, "maxpool2d_fwd";
    MaxPool2dBwd => Pool, "maxpool2d_bwd";
    Permute => Layout, "permute";
    CopyIntoAxis => Layout, "copy_into_axis";
    CopyFromAxis => Layout, "copy_from_axis";
    CastFromU8 => Convert, "cast_u8_to";
    CastFromF32 => Convert, "cast_f32_to";
    CastFromBf16 => Convert, "cast_bf16_to";
    NormalizeFrames => Convert, "normalize_frames";
    BnFwdTrain => Norm, "bn_fwd_train";
    BnFwdStats => Norm, "bn_fwd_stats";
    BnBwdTrain => Norm, "bn_bwd_train";
    BnBwdStats => Norm, "bn_bwd_stats";
    BnUpdateRunning => Norm, "bn_update_running";
    Im2col => Conv, "im2col";
    Col2im => Conv, "col2im";
    ToStage => Conv, "to_stage";
    FromStage => Conv, "from_stage";
}

impl Kernel {
    /// The entry point's name: `relu_fwd` + f32 → `relu_fwd_f32`. The only place names are built.
    pub fn entry_name(self, dtype: DType) -> Result<String> {
        if !KERNEL_DTYPES.contains(&dtype) {
            return Err(Error::DType {
                op: self.stem(),
                got: dtype.to_string(),
                expected: "f32 or bf16 (CUDA kernels)".into(),
            });
        }
        Ok(format!("{}_{}", self.stem(), dtype.name()))
    }

    /// Every (kernel, dtype) entry name the Rust side can launch.
    pub fn all_entry_names() -> Vec<(Module, String)> {
        Kernel::ALL
            .iter()
            .flat_map(|k| KERNEL_DTYPES.iter().map(move |&d| (k.module(), format!("{}_{}", k.stem(), d.name()))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_is_embedded_and_every_embedded_file_is_a_module() {
        for m in Module::ALL {
            let e = m.embedded().unwrap_or_else(|err| panic!("{err}"));
            assert!(e.source.contains("extern \"C\""), "{} has no entry points", m.stem());
        }
        for e in EMBEDDED {
            assert!(Module::ALL.iter().any(|m| m.stem() == e.stem), "kernels/{}.cu has no Module variant", e.stem);
        }
    }

    #[test]
    fn entry_names_carry_the_dtype_and_refuse_others() {
        assert_eq!(Kernel::ReluFwd.entry_name(DType::F32).ok().as_deref(), Some("relu_fwd_f32"));
        assert_eq!(Kernel::SgdUpdate.entry_name(DType::BF16).ok().as_deref(), Some("sgd_update_bf16"));
        assert!(matches!(Kernel::Fill.entry_name(DType::F64), Err(Error::DType { .. })));
        assert_eq!(Kernel::all_entry_names().len(), Kernel::ALL.len() * KERNEL_DTYPES.len());
    }
}

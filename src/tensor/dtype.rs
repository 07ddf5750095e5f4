//! Element types. f64 exists for the CPU reference and gradcheck only; bf16/f16 come from `half`.

use half::{bf16, f16};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    BF16,
    F16,
    I32,
    I64,
    U8,
}

impl DType {
    /// The dtype a weight gradient of activations in `self` is accumulated and kept in: f32 for
    /// bf16/f16 (the bf16 policy — summed over hundreds of im2col chunks, a bf16 accumulator is
    /// off by percents), else `self`.
    pub const fn weight_grad(self) -> DType {
        if self.is_reduced_float() {
            DType::F32
        } else {
            self
        }
    }
    pub const fn size_in_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::BF16 | DType::F16 => 2,
            DType::U8 => 1,
        }
    }

    /// A 16-bit float (bf16, f16): the reduced precision of the bf16 policy.
    pub const fn is_reduced_float(self) -> bool {
        matches!(self, DType::BF16 | DType::F16)
    }

    pub const fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::BF16 | DType::F16)
    }

    /// The suffix of CUDA entry points (`relu_fwd_f32`) and the safetensors spelling's stem.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that can live in a tensor. `bytemuck::Pod` gives free byte views for I/O and copies.
pub trait Element: bytemuck::Pod + Send + Sync + Copy + Default + std::fmt::Debug + 'static {
    const DTYPE: DType;
    fn as_f64(self) -> f64;
    fn of_f64(v: f64) -> Self;
}

macro_rules! element {
    ($t:ty, $d:expr, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn as_f64(self) -> f64 {
                $to(self)
            }
            fn of_f64(v: f64) -> Self {
                $from(v)
            }
        }
    };
}

element!(f32, DType::F32, |x: f32| x as f64, |v: f64| v as f32);
element!(f64, DType::F64, |x: f64| x, |v: f64| v);
element!(bf16, DType::BF16, |x: bf16| x.to_f64(), bf16::from_f64);
element!(f16, DType::F16, |x: f16| x.to_f64(), f16::from_f64);
element!(i32, DType::I32, |x: i32| x as f64, |v: f64| v as i32);
element!(i64, DType::I64, |x: i64| x as f64, |v: f64| v as i64);
element!(u8, DType::U8, |x: u8| x as f64, |v: f64| v as u8);

//! Models: parameters, the module builder, basic layers, the TSM-ResNet encoder and the G-TAD head.

pub mod builder;
pub mod classifier;
pub mod gtad;
pub mod layers;
pub mod param;
pub mod precision;
pub mod resnet_tsm;
pub mod weights;

pub use builder::{Builder, Init};
pub use classifier::Classifier;
pub use layers::{BatchNorm2d, Conv1d, Conv2d, Linear, Module};
pub use param::{Param, ParamKind};
pub use resnet_tsm::{BlockKind, Recompute, ResNetTsm, ResNetTsmConfig, ResidualBlock, Stem};

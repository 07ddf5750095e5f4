//! The G-TAD head (SPEC §b, ActivityNet configuration, goi_style 1, kern_2d 1, D = L): GCNeXt
//! blocks (`gcnext`), sub-graph alignment (`sgalign`) and the network with its configuration
//! (`head`). Parameter names are the official state_dict names (`backbone1.0.weight`,
//! `backbone1.2.tconvs.0.weight`, `regu_s.1.weight`, `localization.0.weight`, …) and no parameter
//! depends on L, so weights move between L = 100, 50 and 25.

pub mod gcnext;
pub mod head;
pub mod sgalign;

pub use gcnext::{Gcnext, GcnextConfig};
pub use head::{Gtad, GtadConfig, GtadOutput};
pub use sgalign::{anchors, SgAlign};

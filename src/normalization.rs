//! Per-channel input normalisation of an encoder preset: `x_norm = (x/255 − mean) / std` on RGB
//! frames stored as u8. The data pipeline hands frames over as u8 together with the preset's
//! `Normalization`; the encoder applies it on the device so that uploads stay 1 byte per pixel.
//! It sits at the bottom of the crate, beside `fidelity.rs`, because the sampler (data), the
//! `normalize_frames` kernels (backend, ops) and the encoder presets (nn) all use it.

/// Mean and standard deviation per RGB channel, in units of [0, 1] pixel values.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalization {
    /// torchvision / TSM ImageNet statistics (SPEC §a).
    pub const IMAGENET: Normalization = Normalization { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    /// The synthetic benchmark's `(x/255 − 0.5)/0.25` (SYNTHETIC.md §3).
    pub const SYNTHETIC: Normalization = Normalization { mean: [0.5; 3], std: [0.25; 3] };

    /// Normalised value of one u8 pixel of channel `c` (0 = R, 1 = G, 2 = B).
    pub fn apply(&self, value: u8, c: usize) -> f32 {
        (value as f32 / 255.0 - self.mean[c]) / self.std[c]
    }
}

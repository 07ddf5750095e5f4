//! Fidelity = how many snippets per video and at which frame size the encoder sees them
//! (paper §3.2). Full fidelity is 100 snippets at 224²; the LoFi configurations trade one for the other.

/// Snippets per video (temporal fidelity) and frame height/width (spatial fidelity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fidelity {
    pub snippets: usize,
    pub height: usize,
    pub width: usize,
}

impl Fidelity {
    pub const fn new(snippets: usize, height: usize, width: usize) -> Self {
        Fidelity { snippets, height, width }
    }
}

/// How a snippet is cut from the frame sequence (paper §3: "64 consecutive frames, stride 8 → 8
/// frames"): `frames` frames per snippet (T), `stride` frames apart (r). The sampler places them
/// symmetrically around the snippet centre (see `data::sampler::frame_indices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SnippetFrames {
    pub frames: usize,
    pub stride: usize,
}

impl SnippetFrames {
    /// The paper's TSM snippets: 8 frames at stride 8.
    pub const PAPER: SnippetFrames = SnippetFrames { frames: 8, stride: 8 };
    /// The synthetic benchmark's snippets: 4 frames at stride 2, offsets (−3, −1, +1, +3) around
    /// the centre, a 1 s window at 8 fps (SYNTHETIC.md §3).
    pub const SYNTHETIC: SnippetFrames = SnippetFrames { frames: 4, stride: 2 };
}

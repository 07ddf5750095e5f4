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
        Fidelity {
            snippets,
            height,
            width,
        }
    }
}

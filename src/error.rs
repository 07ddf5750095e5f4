//! The one error type of the library, grouped by kind. Every variant carries the facts a user needs
//! to find the fault (op, shape, dtype, file, JSON path, video id, requested/in-use/budget bytes).
//! The CLI wraps it in anyhow; the library never prints and never exits.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- memory -------------------------------------------------------------------------------
    /// An allocation would exceed the pool's budget. Never a panic, never a driver OOM.
    #[error("out of memory budget on {device}: requested {requested} B with {in_use} B in use, budget {budget} B")]
    OutOfBudget {
        device: String,
        requested: usize,
        in_use: usize,
        budget: usize,
    },

    // ---- shapes, dtypes, devices ---------------------------------------------------------------
    #[error("{op}: shape mismatch: {msg}")]
    Shape { op: &'static str, msg: String },
    #[error("{op}: dtype {got} not supported (expected {expected})")]
    DType {
        op: &'static str,
        got: String,
        expected: String,
    },
    #[error("{op}: tensors on different devices ({a} vs {b})")]
    DeviceMismatch {
        op: &'static str,
        a: String,
        b: String,
    },
    #[error("{op}: invalid argument: {msg}")]
    InvalidArgument { op: &'static str, msg: String },

    // ---- autograd -------------------------------------------------------------------------------
    #[error("autograd: {0}")]
    Autograd(String),

    // ---- user input: files, JSON, data -----------------------------------------------------------
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Malformed structured input; `location` is a JSON path such as `database.v1.annotations[3].segment`.
    #[error("{path}: at {location}: {msg}")]
    Parse {
        path: PathBuf,
        location: String,
        msg: String,
    },
    /// Bad data that is not a parse error (a video with no frames, a missing tensor, ...).
    #[error("{what}: {msg}")]
    Data { what: String, msg: String },
    /// A command-line or configuration value that cannot be used.
    #[error("invalid value for {flag}: {msg}")]
    Config { flag: String, msg: String },

    // ---- CUDA -------------------------------------------------------------------------------------
    /// No usable CUDA driver or device (the caller decides whether that means "skip").
    #[error("no CUDA device: {0}")]
    NoCuda(String),
    #[error("CUDA: {0}")]
    Cuda(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            msg: msg.into(),
        }
    }
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }
    pub fn data(what: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Data {
            what: what.into(),
            msg: msg.into(),
        }
    }
}

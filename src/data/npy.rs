//! u8 `.npy` arrays, the frame store's dense format: header handling through `npyz`, raw C-order
//! bytes after it so a reader can seek straight to frame i.
//!
//! Only `|u1` C-order arrays are accepted; anything else is an error naming the file.

use crate::error::{Error, Result};
use npyz::WriterBuilder;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use std::path::{Path, PathBuf};

/// Shape and data offset of a u8 C-order `.npy` file, checked against the file's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyU8 {
    pub shape: Vec<usize>,
    pub data_offset: u64,
}

fn npy_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), location: "npy header".into(), msg: msg.into() }
}

/// Largest header accepted, bytes. numpy writes headers of a few hundred bytes (and its own
/// reader refuses more than 10,000 by default); the length field could claim 4 GiB, which the
/// header parser would otherwise allocate before reading a byte.
pub const MAX_HEADER_BYTES: u64 = 10_000;

/// The bytes of the header (magic, version, length and dictionary), read with the length field
/// checked against [`MAX_HEADER_BYTES`] and the file's size first.
fn bounded_header(path: &Path, file: &mut File, file_len: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut prefix = [0u8; 12];
    let io = |e| Error::io(path, e);
    file.read_exact(&mut prefix[..10]).map_err(|_| npy_error(path, "truncated: no npy header"))?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(npy_error(path, "not an npy file (bad magic)"));
    }
    let (fixed, len) = match prefix[6] {
        1 => (10u64, u16::from_le_bytes([prefix[8], prefix[9]]) as u64),
        2 | 3 => {
            file.read_exact(&mut prefix[10..12]).map_err(|_| npy_error(path, "truncated npy header"))?;
            (12u64, u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as u64)
        }
        v => return Err(npy_error(path, format!("unsupported npy version {v}"))),
    };
    if len > MAX_HEADER_BYTES || fixed + len > file_len {
        return Err(npy_error(path, format!("header length {len} (at most {MAX_HEADER_BYTES}, and within the file)")));
    }
    let mut bytes = prefix[..fixed as usize].to_vec();
    bytes.resize((fixed + len) as usize, 0);
    file.read_exact(&mut bytes[fixed as usize..]).map_err(io)?;
    Ok(bytes)
}

/// Reads and validates the header of the u8 array at `path`.
pub fn read_header(path: &Path) -> Result<NpyU8> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let bytes = bounded_header(path, &mut file, file_len)?;
    let header = npyz::NpyHeader::from_reader(&mut &bytes[..]).map_err(|e| npy_error(path, e.to_string()))?;
    let data_offset = bytes.len() as u64;
    let descr = header.dtype().descr();
    if descr != "'|u1'" {
        return Err(npy_error(path, format!("dtype {descr}, expected |u1 (uint8)")));
    }
    if header.order() != npyz::Order::C {
        return Err(npy_error(path, "Fortran order; expected C order"));
    }
    let mut shape = Vec::with_capacity(header.shape().len());
    let mut elements: u64 = 1;
    for &dim in header.shape() {
        elements = elements
            .checked_mul(dim)
            .ok_or_else(|| npy_error(path, format!("shape {:?} overflows", header.shape())))?;
        shape.push(usize::try_from(dim).map_err(|_| npy_error(path, format!("dimension {dim} too large")))?);
    }
    if file_len < data_offset.saturating_add(elements) {
        return Err(npy_error(
            path,
            format!("truncated: shape {shape:?} needs {elements} data bytes, file has {}", file_len - data_offset),
        ));
    }
    Ok(NpyU8 { shape, data_offset })
}

fn header_bytes(shape: &[usize]) -> std::io::Result<Vec<u8>> {
    let dtype = npyz::DType::new_scalar(
        "|u1".parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?,
    );
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    npyz::WriteOptions::new_header_only().dtype(dtype).shape(&shape).writer(&mut out).write_header_only()?;
    Ok(out)
}

/// Elements of `shape`, or `None` when the product overflows.
pub fn checked_elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Writes a whole u8 array with the given shape (C order) to `path` and syncs it. Not atomic by
/// itself: callers write into a temporary folder or name and rename.
pub fn write_u8(path: &Path, shape: &[usize], data: &[u8]) -> Result<()> {
    let mut writer = ArrayWriter::create(path, shape)?;
    writer.write(data)?;
    writer.finish()
}

/// Streams the data of a u8 array whose shape is known up front into a `.npy` file, so an array
/// larger than memory (a million trimmed clips) is written piece by piece; `finish` checks that
/// exactly the declared number of bytes arrived and syncs the file.
pub struct ArrayWriter {
    path: PathBuf,
    file: std::io::BufWriter<File>,
    expected: u64,
    written: u64,
}

impl ArrayWriter {
    pub fn create(path: &Path, shape: &[usize]) -> Result<Self> {
        let expected = checked_elements(shape)
            .ok_or_else(|| Error::shape("npy::ArrayWriter", format!("shape {shape:?} overflows")))?;
        let header = header_bytes(shape).map_err(|e| Error::io(path, e))?;
        let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| Error::io(path, e))?);
        file.write_all(&header).map_err(|e| Error::io(path, e))?;
        Ok(ArrayWriter { path: path.to_path_buf(), file, expected: expected as u64, written: 0 })
    }

    /// Appends the next bytes of the array (C order).
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let total = self.written.saturating_add(bytes.len() as u64);
        if total > self.expected {
            return Err(Error::shape("npy::ArrayWriter", format!("{total} bytes for an array of {}", self.expected)));
        }
        self.file.write_all(bytes).map_err(|e| Error::io(&self.path, e))?;
        self.written = total;
        Ok(())
    }

    /// Checks the byte count, flushes and fsyncs.
    pub fn finish(mut self) -> Result<()> {
        if self.written != self.expected {
            return Err(Error::shape(
                "npy::ArrayWriter",
                format!("{} bytes written for an array of {}", self.written, self.expected),
            ));
        }
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file.get_ref().sync_all().map_err(|e| Error::io(&self.path, e))
    }
}

/// Streams frames of a fixed shape [H, W, C] into a `.npy` array [T, H, W, C] whose T is known only
/// at the end (a decoder's output): a header for T = 0 holds the place and is rewritten by `finish`.
pub struct FrameWriter {
    path: PathBuf,
    file: std::io::BufWriter<File>,
    frame_shape: Vec<usize>,
    header_len: usize,
    frames: usize,
}

impl FrameWriter {
    pub fn create(path: &Path, frame_shape: &[usize]) -> Result<Self> {
        let mut shape = vec![0];
        shape.extend_from_slice(frame_shape);
        let header = header_bytes(&shape).map_err(|e| Error::io(path, e))?;
        let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| Error::io(path, e))?);
        file.write_all(&header).map_err(|e| Error::io(path, e))?;
        Ok(FrameWriter {
            path: path.to_path_buf(),
            file,
            frame_shape: frame_shape.to_vec(),
            header_len: header.len(),
            frames: 0,
        })
    }

    pub fn frame_shape(&self) -> &[usize] {
        &self.frame_shape
    }

    pub fn push(&mut self, frame: &[u8]) -> Result<()> {
        let expected = checked_elements(&self.frame_shape).unwrap_or(usize::MAX);
        if frame.len() != expected {
            return Err(Error::data(
                self.path.display().to_string(),
                format!("frame of {} bytes, expected {:?} = {expected}", frame.len(), self.frame_shape),
            ));
        }
        self.file.write_all(frame).map_err(|e| Error::io(&self.path, e))?;
        self.frames += 1;
        Ok(())
    }

    /// Rewrites the header with the final frame count, syncs the file and returns the count.
    pub fn finish(mut self) -> Result<usize> {
        let mut shape = vec![self.frames];
        shape.extend_from_slice(&self.frame_shape);
        let header = header_bytes(&shape).map_err(|e| Error::io(&self.path, e))?;
        // The header is padded to 64 bytes; the digits of T cannot push a 4-d u8 header past its
        // first 128-byte block, but check rather than corrupt the data.
        if header.len() != self.header_len {
            return Err(Error::data(
                self.path.display().to_string(),
                format!("npy header grew from {} to {} bytes", self.header_len, header.len()),
            ));
        }
        let io = |e| Error::io(&self.path, e);
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.file.write_all(&header).map_err(io)?;
        self.file.flush().map_err(io)?;
        self.file.get_ref().sync_all().map_err(io)?;
        Ok(self.frames)
    }
}

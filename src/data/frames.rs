//! The frame store: one folder per video under a root, holding `meta.json` and either JPEG frames
//! `img_00001.jpg …` (the layout TAL codebases use) or one u8 array `frames.npy` [T, H, W, 3].
//! Both readers sit behind [`FrameStore`], which hands out full-size RGB frames; resizing and
//! cropping are the sampler's job.
//!
//! Every failure (missing file, corrupt JPEG or npy, zero frames, size mismatch) is an error that
//! names the video id and the file.

use crate::data::npy;
use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Name of the per-video description file.
pub const META_FILE: &str = "meta.json";
/// Name of the dense frame array of an `npy` video.
pub const NPY_FILE: &str = "frames.npy";
/// Largest frame a store may declare: 64 Mpx (8192 × 8192), 192 MiB of RGB. It bounds what one
/// frame read allocates, whatever a `meta.json` or a JPEG header claims.
pub const MAX_FRAME_PIXELS: usize = 1 << 26;

/// How a video's frames are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameFormat {
    Jpeg,
    Npy,
}

/// Contents of `meta.json`: frame rate, frame count and frame size of one stored video.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoMeta {
    pub format: FrameFormat,
    pub fps: f64,
    pub frames: usize,
    pub height: usize,
    pub width: usize,
}

impl VideoMeta {
    /// Bytes of one RGB frame.
    pub fn frame_bytes(&self) -> usize {
        self.height * self.width * 3
    }
}

/// The error for a fault in video `id`'s file `path`.
pub fn video_error(id: &str, path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::data(format!("video {id} ({})", path.display()), msg.to_string())
}

/// Read access to one stored video.
pub trait FrameStore: Send + Sync {
    fn id(&self) -> &str;
    fn meta(&self) -> &VideoMeta;
    /// Calls `visit(index, rgb)` for each of `indices` (ascending, each below `meta().frames`) with
    /// the frame as RGB u8 [H, W, 3].
    fn read_frames(&self, indices: &[usize], visit: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()>;
}

/// File name of frame `index` (0-based) in a JPEG folder: `img_00001.jpg` is frame 0.
pub fn jpeg_name(index: usize) -> String {
    format!("img_{:05}.jpg", index + 1)
}

/// Rejects ids that would leave the store's root (annotations are user input).
pub fn check_video_id(id: &str) -> Result<()> {
    if id.is_empty() || id == "." || id == ".." || id.contains(['/', '\\']) {
        return Err(Error::data(format!("video {id:?}"), "not a valid video id (must be a plain folder name)"));
    }
    Ok(())
}

/// Writes `meta.json` into the video folder `dir` (atomically).
pub fn write_meta(dir: &Path, meta: &VideoMeta) -> Result<()> {
    crate::data::atomic::write_json(&dir.join(META_FILE), meta)
}

/// Opens video `id` under `root`, reading and checking its `meta.json` (and the npy header).
pub fn open_video(root: &Path, id: &str) -> Result<Box<dyn FrameStore>> {
    check_video_id(id)?;
    let dir = root.join(id);
    let meta_path = dir.join(META_FILE);
    if !dir.is_dir() {
        return Err(video_error(id, &dir, "video folder not found in the frame store"));
    }
    let text = fs::read(&meta_path).map_err(|e| video_error(id, &meta_path, e))?;
    let meta: VideoMeta = crate::jsonio::parse_json(&meta_path, &text).map_err(|e| match e {
        Error::Parse { location, msg, .. } => video_error(id, &meta_path, format!("at {location}: {msg}")),
        other => other,
    })?;
    if meta.frames == 0 {
        return Err(video_error(id, &meta_path, "video has zero frames"));
    }
    // 65535 is the JPEG limit; it also keeps H·W·3 and frame offsets far from overflow.
    let size_ok = (1..=65535).contains(&meta.height)
        && (1..=65535).contains(&meta.width)
        && meta.height * meta.width <= MAX_FRAME_PIXELS;
    if !(size_ok && meta.fps > 0.0 && meta.fps.is_finite()) {
        return Err(video_error(
            id,
            &meta_path,
            format!("invalid size {}x{} or fps {}", meta.width, meta.height, meta.fps),
        ));
    }
    match meta.format {
        FrameFormat::Jpeg => Ok(Box::new(JpegStore { id: id.to_string(), dir, meta })),
        FrameFormat::Npy => NpyStore::open(id, dir, meta).map(|s| Box::new(s) as Box<dyn FrameStore>),
    }
}

/// A folder of JPEG frames.
struct JpegStore {
    id: String,
    dir: PathBuf,
    meta: VideoMeta,
}

impl FrameStore for JpegStore {
    fn id(&self) -> &str {
        &self.id
    }
    fn meta(&self) -> &VideoMeta {
        &self.meta
    }
    fn read_frames(&self, indices: &[usize], visit: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        // Allocated on the first frame whose header agrees with meta.json: a meta claiming a huge
        // frame costs nothing until a JPEG of that size exists.
        let mut rgb = Vec::new();
        for &index in indices {
            let path = self.dir.join(jpeg_name(index));
            if index >= self.meta.frames {
                return Err(video_error(
                    &self.id,
                    &path,
                    format!("frame {index} beyond the {} frames", self.meta.frames),
                ));
            }
            let bytes = fs::read(&path).map_err(|e| video_error(&self.id, &path, e))?;
            decode_jpeg(&bytes, &self.meta, &mut rgb).map_err(|msg| video_error(&self.id, &path, msg))?;
            visit(index, &rgb)?;
        }
        Ok(())
    }
}

/// Decodes one JPEG into `out` (resized to RGB [H, W, 3]), checking its size against `meta`. The
/// decoder is told the frame size, so a header claiming a larger image is refused before it
/// allocates.
fn decode_jpeg(bytes: &[u8], meta: &VideoMeta, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(meta.width)
        .set_max_height(meta.height);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    // The limits make a header larger than the frame fail here, before anything is allocated.
    decoder.decode_headers().map_err(|e| {
        format!("corrupt JPEG, or not the {}x{} frame meta.json declares: {e:?}", meta.width, meta.height)
    })?;
    let (width, height) = decoder.dimensions().ok_or("corrupt JPEG: no dimensions")?;
    if (height, width) != (meta.height, meta.width) {
        return Err(format!("JPEG is {width}x{height}, meta.json says {}x{}", meta.width, meta.height));
    }
    out.resize(meta.frame_bytes(), 0);
    decoder.decode_into(out).map_err(|e| format!("corrupt JPEG: {e:?}"))
}

/// One `frames.npy` u8 array [T, H, W, 3]; frames are read by seeking, never the whole file.
struct NpyStore {
    id: String,
    path: PathBuf,
    meta: VideoMeta,
    data_offset: u64,
}

impl NpyStore {
    fn open(id: &str, dir: PathBuf, meta: VideoMeta) -> Result<Self> {
        let path = dir.join(NPY_FILE);
        // The video error names the file already; keep only what went wrong.
        let header = npy::read_header(&path).map_err(|e| match e {
            Error::Parse { msg, .. } => video_error(id, &path, msg),
            Error::Io { source, .. } => video_error(id, &path, source),
            other => video_error(id, &path, other),
        })?;
        let expected = [meta.frames, meta.height, meta.width, 3];
        if header.shape != expected {
            return Err(video_error(
                id,
                &path,
                format!("array shape {:?} does not match meta.json (expected {expected:?})", header.shape),
            ));
        }
        Ok(NpyStore { id: id.to_string(), path, meta, data_offset: header.data_offset })
    }
}

impl FrameStore for NpyStore {
    fn id(&self) -> &str {
        &self.id
    }
    fn meta(&self) -> &VideoMeta {
        &self.meta
    }
    fn read_frames(&self, indices: &[usize], visit: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let err = |e: std::io::Error| video_error(&self.id, &self.path, e);
        let mut file = fs::File::open(&self.path).map_err(err)?;
        let frame_bytes = self.meta.frame_bytes();
        let mut rgb = vec![0u8; frame_bytes];
        for &index in indices {
            if index >= self.meta.frames {
                return Err(video_error(
                    &self.id,
                    &self.path,
                    format!("frame {index} beyond the {} frames", self.meta.frames),
                ));
            }
            let offset = self.data_offset + (index * frame_bytes) as u64;
            file.seek(SeekFrom::Start(offset)).map_err(err)?;
            file.read_exact(&mut rgb).map_err(err)?;
            visit(index, &rgb)?;
        }
        Ok(())
    }
}

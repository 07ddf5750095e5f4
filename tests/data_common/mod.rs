//! Helpers shared by the data tests: small frame stores written into temporary folders.
#![allow(dead_code)] // each test binary uses its own subset of the helpers

use lofi::data::frames::{jpeg_name, write_meta, FrameFormat, VideoMeta, NPY_FILE};
use lofi::data::npy;
use std::path::Path;

/// Frame `t` of a test video: a pattern that encodes the frame index and the pixel position.
pub fn pattern_frame(t: usize, height: usize, width: usize) -> Vec<u8> {
    let mut out = vec![0u8; height * width * 3];
    for y in 0..height {
        for x in 0..width {
            let p = (y * width + x) * 3;
            out[p] = (t % 256) as u8;
            out[p + 1] = (x * 255 / (width - 1).max(1)) as u8;
            out[p + 2] = (y * 255 / (height - 1).max(1)) as u8;
        }
    }
    out
}

/// Writes an `npy` video `id` of `frames` pattern frames under `root`.
pub fn write_npy_video(root: &Path, id: &str, frames: usize, height: usize, width: usize) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..frames).flat_map(|t| pattern_frame(t, height, width)).collect();
    npy::write_u8(&dir.join(NPY_FILE), &[frames, height, width, 3], &data).unwrap();
    write_meta(&dir, &VideoMeta { format: FrameFormat::Npy, fps: 8.0, frames, height, width }).unwrap();
}

/// Encodes one RGB frame as a JPEG file.
pub fn write_jpeg(path: &Path, rgb: &[u8], height: usize, width: usize, quality: u8) {
    let encoder = jpeg_encoder::Encoder::new_file(path, quality).unwrap();
    encoder.encode(rgb, width as u16, height as u16, jpeg_encoder::ColorType::Rgb).unwrap();
}

/// Writes a JPEG-folder video `id` of `frames` pattern frames under `root`.
pub fn write_jpeg_video(root: &Path, id: &str, frames: usize, height: usize, width: usize) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    for t in 0..frames {
        write_jpeg(&dir.join(jpeg_name(t)), &pattern_frame(t, height, width), height, width, 90);
    }
    write_meta(&dir, &VideoMeta { format: FrameFormat::Jpeg, fps: 8.0, frames, height, width }).unwrap();
}

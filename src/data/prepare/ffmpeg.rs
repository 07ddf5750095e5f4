//! Running `ffmpeg` and `ffprobe` for `lofi prepare`: the decode commands (JPEG files, or a PPM
//! stream copied into `.npy`), the container's duration, and the verdict on whether a decode is
//! complete.
//!
//! - Children die with lofi: on Linux each gets `PR_SET_PDEATHSIG = SIGKILL` before it runs, so a
//!   SIGKILL of lofi does not leave decoders running.
//! - ffmpeg exits 0 after "partial file" on a truncated video, so success is not taken from its
//!   status alone: the decoded frame count is compared with duration × fps, and its stderr is read
//!   for the messages demuxers print on truncated input.

use crate::data::frames::{jpeg_name, FrameFormat, VideoMeta, MAX_FRAME_PIXELS, NPY_FILE};
use crate::data::npy::FrameWriter;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

/// The programs and the decode settings.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    pub ffmpeg: &'a Path,
    pub ffprobe: &'a Path,
    pub fps: f64,
    pub short_side: usize,
}

/// A finished decode: the stored video's description and what ffmpeg said on stderr.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub meta: VideoMeta,
    pub stderr_tail: String,
}

/// Makes `cmd`'s child die when lofi does (Linux), instead of running on as an orphan.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: getpid is async-signal-safe and runs in the parent.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the forked child before exec and calls only
        // async-signal-safe functions (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died between fork and prctl: the signal will never come.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Fails with installation advice unless `program -version` runs.
pub fn check_program(program: &Path, flag: &str) -> Result<(), String> {
    let mut cmd = Command::new(program);
    cmd.arg("-version").stdout(Stdio::null()).stderr(Stdio::null());
    die_with_parent(&mut cmd);
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        _ => Err(format!(
            "cannot run `{} -version`; install ffmpeg, which brings ffprobe (Debian/Ubuntu: `apt-get install ffmpeg`) \
             or pass {flag} PATH",
            program.display()
        )),
    }
}

impl Decoder<'_> {
    /// ffmpeg arguments shared by both formats: quiet, one thread, first video stream, fps + scale.
    fn command(&self, file: &Path) -> Command {
        let s = self.short_side;
        // -2 keeps the aspect ratio with an even long side; the short side is exactly S.
        let filter = format!("fps={},scale=w='if(lte(iw,ih),{s},-2)':h='if(lte(iw,ih),-2,{s})'", self.fps);
        let mut cmd = Command::new(self.ffmpeg);
        cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i"])
            .arg(file)
            .args(["-map", "0:v:0", "-an", "-sn", "-vf", &filter]);
        die_with_parent(&mut cmd);
        cmd
    }

    /// The container's duration in seconds (the first video stream's when the container has
    /// none), or `None` when ffprobe cannot say.
    pub fn duration(&self, file: &Path) -> Option<f64> {
        let mut cmd = Command::new(self.ffprobe);
        cmd.args(["-v", "error", "-select_streams", "v:0", "-show_entries", "format=duration:stream=duration"])
            .args(["-of", "json"])
            .arg(file)
            .stdin(Stdio::null());
        die_with_parent(&mut cmd);
        let out = cmd.output().ok().filter(|o| o.status.success())?;
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let seconds = |v: &serde_json::Value| v.as_str().and_then(|s| s.trim().parse::<f64>().ok());
        seconds(&value["format"]["duration"])
            .or_else(|| seconds(&value["streams"][0]["duration"]))
            .filter(|d| d.is_finite() && *d > 0.0)
    }

    /// Decodes `file` into the empty folder `dir` as `format`.
    pub fn decode(&self, file: &Path, dir: &Path, format: FrameFormat) -> Result<Decoded, String> {
        match format {
            FrameFormat::Jpeg => self.decode_jpeg(file, dir),
            FrameFormat::Npy => self.decode_npy(file, dir),
        }
    }

    fn decode_jpeg(&self, file: &Path, dir: &Path) -> Result<Decoded, String> {
        let output = self
            .command(file)
            .args(["-q:v", "2", "-start_number", "1"])
            .arg(dir.join("img_%05d.jpg"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
        if !output.status.success() {
            return Err(ffmpeg_message(&output.stderr, &output.status.to_string()));
        }
        let frames = fs::read_dir(dir).map_err(|e| e.to_string())?.count();
        if frames == 0 {
            return Err("ffmpeg produced no frames".into());
        }
        // Frames are numbered contiguously from img_00001.jpg; the first one gives the size.
        if !dir.join(jpeg_name(frames - 1)).is_file() {
            return Err(format!("ffmpeg wrote {frames} files but not {}", jpeg_name(frames - 1)));
        }
        let first = fs::read(dir.join(jpeg_name(0))).map_err(|e| e.to_string())?;
        let mut decoder = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(&first));
        decoder.decode_headers().map_err(|e| format!("ffmpeg wrote an unreadable JPEG: {e:?}"))?;
        let (width, height) = decoder.dimensions().ok_or("ffmpeg wrote a JPEG without dimensions")?;
        let meta = VideoMeta { format: FrameFormat::Jpeg, fps: self.fps, frames, height, width };
        Ok(Decoded { meta, stderr_tail: stderr_tail(&output.stderr) })
    }

    fn decode_npy(&self, file: &Path, dir: &Path) -> Result<Decoded, String> {
        let mut child = self
            .command(file)
            .args(["-f", "image2pipe", "-c:v", "ppm", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
        // Drain stderr on its own thread so a chatty ffmpeg cannot block on a full pipe.
        let mut stderr = child.stderr.take().ok_or("ffmpeg stderr missing")?;
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let stdout = child.stdout.take().ok_or("ffmpeg stdout missing")?;
        let written = write_ppm_stream(BufReader::new(stdout), &dir.join(NPY_FILE));
        if written.is_err() {
            // Do not wait on a decoder whose output we stopped reading.
            let _ = child.kill();
        }
        let status = child.wait().map_err(|e| format!("ffmpeg: {e}"))?;
        let stderr = stderr_thread.join().unwrap_or_default();
        if !status.success() && written.is_ok() {
            return Err(ffmpeg_message(&stderr, &status.to_string()));
        }
        let (frames, height, width) = written?;
        if frames == 0 {
            return Err("ffmpeg produced no frames".into());
        }
        let meta = VideoMeta { format: FrameFormat::Npy, fps: self.fps, frames, height, width };
        Ok(Decoded { meta, stderr_tail: stderr_tail(&stderr) })
    }
}

/// Messages demuxers and decoders print on truncated input (ffmpeg still exits 0 after them).
const TRUNCATION_MARKS: [&str; 4] = ["partial file", "ended prematurely", "truncat", "end of file"];

/// Whether a decode of `decoded` frames is complete, given the container's `duration` and the
/// target `fps`: `Err(reason)` when it is short, or when ffmpeg reported truncated input.
/// One frame or 2 % may be missing (the fps filter rounds at both ends).
pub fn judge_completeness(decoded: usize, duration: Option<f64>, fps: f64, stderr_tail: &str) -> Result<(), String> {
    let lower = stderr_tail.to_ascii_lowercase();
    let said = TRUNCATION_MARKS.iter().find(|m| lower.contains(*m));
    if let Some(seconds) = duration {
        let expected = (seconds * fps).round();
        let slack = (0.02 * expected).max(1.0);
        if (decoded as f64) + slack < expected {
            let ffmpeg = if stderr_tail.is_empty() { String::new() } else { format!("; ffmpeg: {stderr_tail}") };
            return Err(format!(
                "short decode: {decoded} of the {expected} frames that {seconds:.3} s at {fps} fps give \
                 (truncated or damaged video){ffmpeg}"
            ));
        }
    }
    match said {
        Some(mark) => Err(format!("ffmpeg reported truncated input ({mark:?}): {stderr_tail}")),
        None => Ok(()),
    }
}

/// The last lines of ffmpeg's stderr, joined, at most a few hundred bytes.
pub fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    crate::jsonio::excerpt(&lines[lines.len().saturating_sub(3)..].join(" | "))
}

fn ffmpeg_message(stderr: &[u8], status: &str) -> String {
    format!("ffmpeg failed ({status}): {}", stderr_tail(stderr))
}

/// Reads one whitespace-delimited ASCII number of a PPM header.
fn ppm_number(reader: &mut impl BufRead) -> Result<Option<usize>, String> {
    let mut digits = String::new();
    loop {
        let mut byte = [0u8];
        if reader.read(&mut byte).map_err(|e| e.to_string())? == 0 {
            return if digits.is_empty() { Ok(None) } else { Err("truncated PPM header".into()) };
        }
        match byte[0] {
            b'0'..=b'9' if digits.len() < 12 => digits.push(byte[0] as char),
            b'0'..=b'9' => return Err("PPM header number too long".into()),
            b' ' | b'\t' | b'\n' | b'\r' if digits.is_empty() => {}
            b' ' | b'\t' | b'\n' | b'\r' => return digits.parse().map(Some).map_err(|e| format!("PPM header: {e}")),
            other => return Err(format!("unexpected byte {other:#x} in PPM header")),
        }
    }
}

/// Copies a stream of binary PPM (P6, maxval 255) frames into a `.npy` array; returns (T, H, W).
pub fn write_ppm_stream(mut reader: impl BufRead, path: &Path) -> Result<(usize, usize, usize), String> {
    let mut writer: Option<FrameWriter> = None;
    let mut frame = Vec::new();
    loop {
        let mut magic = [0u8; 2];
        match reader.read(&mut magic[..1]).map_err(|e| e.to_string())? {
            0 => break,
            _ => reader.read_exact(&mut magic[1..]).map_err(|e| e.to_string())?,
        }
        if &magic != b"P6" {
            return Err(format!("ffmpeg output is not a PPM stream (magic {magic:?})"));
        }
        let (Some(width), Some(height), Some(255)) =
            (ppm_number(&mut reader)?, ppm_number(&mut reader)?, ppm_number(&mut reader)?)
        else {
            return Err("unsupported PPM header (need 8-bit P6)".into());
        };
        if width == 0 || height == 0 || width > 65535 || height > 65535 || width * height > MAX_FRAME_PIXELS {
            return Err(format!("ffmpeg produced a {width}x{height} frame (at most {MAX_FRAME_PIXELS} pixels)"));
        }
        if writer.is_none() {
            writer = Some(FrameWriter::create(path, &[height, width, 3]).map_err(|e| e.to_string())?);
        }
        frame.resize(height * width * 3, 0);
        reader.read_exact(&mut frame).map_err(|e| format!("truncated frame: {e}"))?;
        if let Some(w) = writer.as_mut() {
            if w.frame_shape() != [height, width, 3] {
                return Err(format!("frame size changed to {width}x{height} mid-video"));
            }
            w.push(&frame).map_err(|e| e.to_string())?;
        }
    }
    match writer {
        Some(w) => {
            let shape = w.frame_shape().to_vec();
            let frames = w.finish().map_err(|e| e.to_string())?;
            Ok((frames, shape[0], shape[1]))
        }
        None => Ok((0, 0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_decode_or_a_truncation_message_is_not_complete() {
        assert!(judge_completeness(32, Some(4.0), 8.0, "").is_ok());
        assert!(judge_completeness(31, Some(4.0), 8.0, "").is_ok(), "one frame of slack");
        let short = judge_completeness(15, Some(4.0), 8.0, "stream 0: partial file").unwrap_err();
        assert!(short.contains("15 of the 32") && short.contains("partial file"), "{short}");
        assert!(judge_completeness(32, None, 8.0, "File ended prematurely").is_err());
        assert!(judge_completeness(10, None, 8.0, "").is_ok(), "no duration, no message: nothing to judge");
    }

    #[test]
    fn ppm_streams_with_absurd_headers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        for bad in [&b"P6 99999999999999999999 1 255\n"[..], b"P6 0 1 255\n", b"P5 1 1 255\n", b"P6 2 2 255\nabc"] {
            assert!(write_ppm_stream(bad, &path).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let ok = [&b"P6 1 1 255\n"[..], &[1, 2, 3]].concat();
        assert_eq!(write_ppm_stream(&ok[..], &path).unwrap(), (1, 1, 1));
    }
}

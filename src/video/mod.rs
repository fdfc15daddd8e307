//! Videos: recognised by content, decoded with FFmpeg from the item's bytes in memory, and
//! hashed with vPDQ (Meta's video hash: a PDQ hash per selected frame) bit for bit as the
//! reference (`vpdq` 0.2.5, built against the same FFmpeg libraries) computes it.
//!
//! [`sniff`] tells a video container from its first bytes; [`hash_video`] decodes and hashes
//! it. Decoding lives in the crate-private `ffi` module (the `video` cargo feature, on by
//! default); without it a video is reported as not decoded ([`VideoError`]), never skipped.
//!
//! vPDQ as the reference computes it: the frame rate `r` is the stream's average frame rate
//! (else its real base rate); with `s` seconds per hash, frame `n` (0-based, in decoding
//! output order) is hashed when `n % max(1, trunc(s · r)) == 0` (`s = 0`: every frame); the
//! frame is converted to RGB24 at the stream's size by swscale with `SWS_AREA`, then hashed
//! with PDQ ([`crate::perceptual::pdq`]); its timestamp is `(float)n / (float)r` seconds.

#[cfg(feature = "video")]
mod ffi;

use crate::perceptual::pdq::PdqHash;
#[cfg(feature = "video")]
use crate::perceptual::pdq::{PdqHasher, PixelBuffer, MIN_HASHABLE_DIM};

/// A video container, as told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoFormat {
    /// ISO base media: MP4, MOV, 3GP, M4V (an `ftyp` box first).
    Mp4,
    /// Matroska or WebM (EBML header).
    Matroska,
    /// AVI (`RIFF....AVI `).
    Avi,
    /// Flash video (`FLV\x01`).
    Flv,
    /// MPEG transport stream (sync byte 0x47 every 188 bytes).
    MpegTs,
}

impl VideoFormat {
    /// The name records use: `mp4`, `matroska`, `avi`, `flv`, `mpegts`.
    pub fn name(self) -> &'static str {
        match self {
            VideoFormat::Mp4 => "mp4",
            VideoFormat::Matroska => "matroska",
            VideoFormat::Avi => "avi",
            VideoFormat::Flv => "flv",
            VideoFormat::MpegTs => "mpegts",
        }
    }
}

/// Packets of a transport stream looked at by [`sniff`] (fewer when the item is shorter, but
/// at least two).
const TS_PACKETS: usize = 5;
const TS_PACKET: usize = 188;

/// Bytes [`sniff`] looks at: on an item's first `SNIFF_LEN` bytes it answers as on the whole
/// item (a caller reading a stream reads this much before deciding how to read the rest).
pub const SNIFF_LEN: usize = TS_PACKETS * TS_PACKET;

/// Whether this build decodes videos (the `video` cargo feature).
pub const DECODES: bool = cfg!(feature = "video");

/// The video container `bytes` start with, if any. Only the first bytes are read. Animated GIF
/// is an image ([`crate::perceptual::decode::sniff`]), not a video.
pub fn sniff(bytes: &[u8]) -> Option<VideoFormat> {
    let at = |i: usize, m: &[u8]| bytes.get(i..i + m.len()) == Some(m);
    if at(4, b"ftyp") {
        // The box size is at least its 8-byte header plus the 4-byte major brand.
        let size = u32::from_be_bytes(bytes[..4].try_into().ok()?);
        if size >= 12 || size == 1 {
            return Some(VideoFormat::Mp4);
        }
    }
    // QuickTime files made before `ftyp` start with a `moov`, `mdat`, `wide` or `free` atom.
    if bytes.len() >= 16
        && [&b"moov"[..], b"mdat", b"wide", b"free", b"skip"]
            .iter()
            .any(|m| at(4, m))
        && (at(12, b"mvhd")
            || at(12, b"mdat")
            || at(12, b"moov")
            || at(12, b"wide")
            || at(12, b"free"))
    {
        return Some(VideoFormat::Mp4);
    }
    if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(VideoFormat::Matroska);
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(VideoFormat::Avi);
    }
    if at(0, b"FLV\x01") {
        return Some(VideoFormat::Flv);
    }
    let packets = (bytes.len() / TS_PACKET).min(TS_PACKETS);
    if packets >= 2 && (0..packets).all(|k| bytes[k * TS_PACKET] == 0x47) {
        return Some(VideoFormat::MpegTs);
    }
    None
}

/// Bounds on what one video may make vigie decode, checked before the frames they bound are
/// allocated (the decoder is told the pixel bound too).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoLimits {
    /// Longest video, in seconds, by the container's stated duration.
    pub max_duration_s: f64,
    /// Most frames decoded (all of them count, hashed or not).
    pub max_frames: u64,
    /// Largest frame, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest video read into memory to be decoded, in bytes, when it cannot be decoded in
    /// place: a tar member read out of a compressed stream, a file read with read()
    /// (`--no-mmap`). A larger one is hashed exactly as it streams and fails as a video not
    /// decoded. (A mapped file or a member of a mapped tar is decoded in place, whatever its
    /// size: the other limits bound its work.)
    pub max_bytes: u64,
}

impl Default for VideoLimits {
    /// 4 hours, 1,000,000 frames (9 h at 30 fps), 8K UHD (7680 × 4320 pixels), 4 GiB
    /// buffered.
    fn default() -> Self {
        VideoLimits {
            max_duration_s: 4.0 * 3600.0,
            max_frames: 1_000_000,
            max_pixels: 7680 * 4320,
            max_bytes: 4 << 30,
        }
    }
}

/// Whether and how videos are hashed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoConfig {
    /// Compute vPDQ on items that sniff as videos.
    pub vpdq: bool,
    /// Seconds between hashed frames (the reference's `secondsPerHash`); 0 hashes every frame.
    pub seconds_per_hash: f64,
    /// Decoding bounds.
    pub limits: VideoLimits,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            vpdq: false,
            seconds_per_hash: 1.0,
            limits: VideoLimits::default(),
        }
    }
}

/// One hashed frame.
#[derive(Clone, Copy, Debug)]
pub struct VpdqFrame {
    /// 0-based frame number in decoding output order.
    pub frame: u64,
    /// Its PDQ hash.
    pub hash: PdqHash,
    /// Its PDQ quality, 0–100.
    pub quality: u8,
    /// Seconds from the start, as the reference computes it (float32 `frame / frame_rate`).
    pub timestamp: f32,
}

/// Frames are equal when every field is, the timestamp bit for bit (so that `Eq` holds).
impl PartialEq for VpdqFrame {
    fn eq(&self, o: &VpdqFrame) -> bool {
        (
            self.frame,
            self.hash,
            self.quality,
            self.timestamp.to_bits(),
        ) == (o.frame, o.hash, o.quality, o.timestamp.to_bits())
    }
}

impl Eq for VpdqFrame {}

impl std::hash::Hash for VpdqFrame {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (
            self.frame,
            self.hash,
            self.quality,
            self.timestamp.to_bits(),
        )
            .hash(h);
    }
}

impl VpdqFrame {
    /// The frame as python-threatexchange serializes it in a vPDQ signal
    /// (`str(VpdqCompactFeature)`): `pdq_hex,quality,timestamp`, the timestamp formatted by
    /// Python's `f"{t:.3}"`: three significant digits (`0.0`, `0.0333`, `12.0`, `1e+02`), not
    /// three decimals.
    pub fn to_signal(&self) -> String {
        format!(
            "{},{},{}",
            self.hash.to_hex(),
            self.quality,
            py_format_3(f64::from(self.timestamp))
        )
    }
}

/// Python's `format(x, ".3")` of a finite float: three significant digits, like `g` but a
/// fixed-point result keeps at least one digit after the point, and the exponent form starts
/// one power of ten earlier: when the exponent is below -4 or at least 2 (`1e+02`, two
/// exponent digits at least).
fn py_format_3(x: f64) -> String {
    const P: i32 = 3;
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust rounds to the nearest (ties to even on the exact binary value), as Python does.
    let sci = format!("{:.*e}", (P - 1) as usize, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() && x != 0.0 {
        "-"
    } else {
        ""
    };
    if (-4..P - 1).contains(&exp) {
        let (int, frac) = if exp >= 0 {
            let k = (exp + 1) as usize;
            (digits[..k].to_string(), digits[k..].to_string())
        } else {
            ("0".to_string(), "0".repeat((-exp - 1) as usize) + &digits)
        };
        let frac = frac.trim_end_matches('0');
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let rest = digits[1..].trim_end_matches('0');
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{point}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

/// The vPDQ hash of one video.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoHashes {
    /// The container.
    pub format: VideoFormat,
    /// Size of the hashed frames.
    pub width: u32,
    /// Size of the hashed frames.
    pub height: u32,
    /// Frames per second, as the reference takes it.
    pub frame_rate: f64,
    /// Frames decoded (hashed or not).
    pub frames_decoded: u64,
    /// Duration in seconds: the container's, else frames decoded / frame rate.
    pub duration_s: f64,
    /// The hashed frames, in frame order.
    pub frames: Vec<VpdqFrame>,
}

/// Why an item that sniffs as a video has no vPDQ hash. The message starts with the cause.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VideoError(String);

/// The reference's frame step: `trunc(seconds_per_hash · frame_rate)` frames, at least 1.
pub fn frame_step(seconds_per_hash: f64, frame_rate: f64) -> u64 {
    // `as` saturates (and NaN gives 0), as the bounds below want.
    let m = (seconds_per_hash * frame_rate) as i64;
    m.max(1) as u64
}

/// Computes the vPDQ hash of `bytes` when they sniff as a video and `cfg.vpdq` is on: `None`
/// otherwise (the only cost then is the sniff).
///
/// # Errors
/// A [`VideoError`] for a video that cannot be decoded or hashed (corrupt, unsupported, over
/// the limits, or vigie built without the `video` feature).
pub fn hash_video(bytes: &[u8], cfg: &VideoConfig) -> Option<Result<VideoHashes, VideoError>> {
    if !cfg.vpdq {
        return None;
    }
    let format = sniff(bytes)?;
    Some(decode_and_hash(bytes, format, cfg))
}

#[cfg(not(feature = "video"))]
fn decode_and_hash(
    _bytes: &[u8],
    _format: VideoFormat,
    _cfg: &VideoConfig,
) -> Result<VideoHashes, VideoError> {
    Err(VideoError("built without video support".into()))
}

#[cfg(feature = "video")]
fn decode_and_hash(
    bytes: &[u8],
    format: VideoFormat,
    cfg: &VideoConfig,
) -> Result<VideoHashes, VideoError> {
    if !(cfg.seconds_per_hash >= 0.0 && cfg.seconds_per_hash.is_finite()) {
        return Err(VideoError(format!(
            "bad seconds per hash {}",
            cfg.seconds_per_hash
        )));
    }
    let limits = cfg.limits;
    let mut stream: Option<ffi::StreamInfo> = None;
    let mut info = |i: &ffi::StreamInfo| -> Result<i64, String> {
        if let Some(d) = i.duration_s {
            if d > limits.max_duration_s {
                return Err(format!(
                    "video too long: {d:.1} s over {} s",
                    limits.max_duration_s
                ));
            }
        }
        if (i.width as usize) < MIN_HASHABLE_DIM || (i.height as usize) < MIN_HASHABLE_DIM {
            return Err(format!(
                "video too small to hash: {}x{} (PDQ needs {MIN_HASHABLE_DIM} pixels a side)",
                i.width, i.height
            ));
        }
        stream = Some(*i);
        Ok(frame_step(cfg.seconds_per_hash, i.frame_rate) as i64)
    };
    let mut hasher = PdqHasher::new();
    let mut frames = Vec::new();
    let mut decoded = 0u64;
    let mut on_frame = |f: ffi::Frame<'_>| -> Result<(), String> {
        let px = PixelBuffer::rgb(f.rgb, f.width as usize, f.height as usize)
            .map_err(|e| format!("frame {}: {e}", f.number))?;
        let r = hasher.hash(px);
        frames.push((f.number, r));
        Ok(())
    };
    let mut count = |n: u64| decoded = n;
    ffi::decode(bytes, &limits, &mut info, &mut on_frame, &mut count).map_err(VideoError)?;
    let Some(stream) = stream else {
        return Err(VideoError("no video stream".into()));
    };
    // The reference's timestamp: float32 frame number over the float32 frame rate.
    let rate = stream.frame_rate as f32;
    Ok(VideoHashes {
        format,
        width: stream.width,
        height: stream.height,
        frame_rate: stream.frame_rate,
        frames_decoded: decoded,
        duration_s: stream
            .duration_s
            .unwrap_or(decoded as f64 / stream.frame_rate),
        frames: frames
            .into_iter()
            .map(|(n, r)| VpdqFrame {
                frame: n,
                hash: r.hash,
                quality: r.quality,
                timestamp: n as f32 / rate,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python 3.11's `format(float(numpy.float32(t)), ".3")`; the function also agreed with
    /// Python on 239,045 float32 timestamps (every 7th frame to 40,000 at common frame rates,
    /// and random ones) when it was written.
    #[test]
    fn timestamps_are_formatted_as_python_does() {
        let cases: [(f32, &str); 14] = [
            (0.0, "0.0"),
            (1.0 / 30.0, "0.0333"),
            (2.0 / 30.0, "0.0667"),
            (1.0, "1.0"),
            (12.0, "12.0"),
            (99.94, "99.9"),
            (99.96, "1e+02"),
            (100.2, "1e+02"),
            (123.4, "1.23e+02"),
            (1.125, "1.12"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3599.0, "3.6e+03"),
            (0.233_566_67, "0.234"),
        ];
        for (t, want) in cases {
            assert_eq!(py_format_3(f64::from(t)), want, "{t}");
        }
    }

    fn padded(head: &[u8]) -> Vec<u8> {
        let mut v = head.to_vec();
        v.resize(64, 0);
        v
    }

    #[test]
    fn sniffs_containers_by_their_first_bytes() {
        // ISO base media: a 0x20-byte `ftyp` box (mp4 files made by ffmpeg), and a 3GP one.
        assert_eq!(
            sniff(&padded(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41")),
            Some(VideoFormat::Mp4)
        );
        assert_eq!(
            sniff(&padded(b"\0\0\0\x143gp4\0\0\0\0")),
            None,
            "no `ftyp` at offset 4"
        );
        assert_eq!(
            sniff(&padded(b"\0\0\0\x18ftyp3gp4\0\0\x02\x003gp4")),
            Some(VideoFormat::Mp4)
        );
        // A box too small to hold its major brand is no `ftyp`.
        assert_eq!(sniff(&padded(b"\0\0\0\x08ftyp")), None);
        // QuickTime without `ftyp`: `moov` then `mvhd`.
        assert_eq!(
            sniff(&padded(b"\0\0\x01\0moov\0\0\0\x6cmvhd")),
            Some(VideoFormat::Mp4)
        );
        assert_eq!(
            sniff(&padded(&[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81])),
            Some(VideoFormat::Matroska)
        );
        assert_eq!(
            sniff(&padded(b"RIFF\x10\0\0\0AVI LIST")),
            Some(VideoFormat::Avi)
        );
        // A WAV file is RIFF too, but not AVI.
        assert_eq!(sniff(&padded(b"RIFF\x10\0\0\0WAVEfmt ")), None);
        assert_eq!(
            sniff(&padded(b"FLV\x01\x05\0\0\0\x09")),
            Some(VideoFormat::Flv)
        );
    }

    #[test]
    fn transport_streams_need_sync_bytes_at_every_packet() {
        let mut ts = vec![0u8; 188 * 6];
        for k in 0..6 {
            ts[k * 188] = 0x47;
        }
        assert_eq!(sniff(&ts), Some(VideoFormat::MpegTs));
        ts[3 * 188] = 0x46;
        assert_eq!(sniff(&ts), None);
        // One packet is not enough to tell (any file may start with 'G').
        assert_eq!(sniff(&ts[..188]), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[test]
    fn images_and_short_or_empty_items_are_no_video() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\0\0\0"), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), None);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), None);
        let mut gif = b"GIF89a".to_vec();
        gif.resize(188 * 3, 0);
        assert_eq!(sniff(&gif), None, "an animated GIF stays an image");
    }

    #[test]
    fn frame_step_is_the_references() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 29.97), 29);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(2.5, 24.0), 60);
    }

    #[test]
    fn signal_strings_are_python_threatexchanges() {
        let f = VpdqFrame {
            frame: 30,
            hash: PdqHash([0xab; 32]),
            quality: 100,
            timestamp: 30.0 / 29.97f32,
        };
        assert_eq!(f.to_signal(), format!("{},100,1.0", "ab".repeat(32)));
        let f = VpdqFrame {
            timestamp: 0.0,
            quality: 7,
            ..f
        };
        assert_eq!(f.to_signal(), format!("{},7,0.0", "ab".repeat(32)));
    }

    #[test]
    fn a_video_is_hashed_only_when_asked() {
        let mp4 = padded(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41");
        assert!(hash_video(&mp4, &VideoConfig::default()).is_none());
        let cfg = VideoConfig {
            vpdq: true,
            ..VideoConfig::default()
        };
        assert!(hash_video(b"not a video", &cfg).is_none());
        // A truncated container is a failure with a reason, never a panic nor a skip.
        let err = hash_video(&mp4, &cfg).unwrap().unwrap_err();
        assert!(!err.to_string().is_empty());
        #[cfg(not(feature = "video"))]
        assert_eq!(err.to_string(), "built without video support");
    }
}

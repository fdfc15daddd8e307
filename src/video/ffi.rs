//! FFmpeg decoding of a video held in memory: the crate's only calls into libavformat,
//! libavcodec and libswscale (through `ffmpeg-sys-next`), and so its only `unsafe` beside
//! `read/mmap.rs`.
//!
//! The demuxer reads the item's bytes through a custom AVIO context whose read and seek
//! callbacks walk a byte slice (a mapped file, a tar member in place): nothing is extracted to
//! disk. The decode loop is the vPDQ reference's (`vpdq/cpp/vpdq/cpp/hashing/filehasher.cpp`
//! and `ffmpegwrapper.cpp` in facebook/ThreatExchange, version 0.2.5), step for step, since the
//! frames it hands out and their numbering decide the hashes:
//!
//! - the first stream of type video; its decoder from `codecpar`; the frame rate from
//!   `avg_frame_rate`, else `r_frame_rate`;
//! - packets from `av_read_frame` until it fails; each packet of the video stream sent, then
//!   frames received until EAGAIN/EOF; a send or receive error ends the video as failed;
//! - after the last packet, one flush with the blank packet `av_read_frame` left, whose stream
//!   index is 0: so the decoder is drained only when the video stream is stream 0 (the
//!   reference's quirk, kept: it decides which trailing frames exist);
//! - frame `n` (0-based, in output order) is converted when `n % frame_mod == 0`: swscale from
//!   the decoder's size and pixel format to RGB24 at the stream's size, `SWS_AREA`, into a
//!   frame from `av_frame_get_buffer(.., 0)` (the same alignment, so the same code path).
//!
//! Deviations, only where the reference is undefined or crashes: a decoder without a valid
//! pixel format or size fails the video (swscale would abort the process, as it does the
//! reference's), a frame whose size or pixel format differs from the one the scaler was made
//! for fails the video (the reference would read past the frame), and the bounds of [`super::VideoLimits`] are checked before anything is
//! allocated for a frame. The decoder runs on one thread (`thread_count = 1`; the reference's
//! slice threads give the same pixels): vigie spreads items over cores instead.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Once;

use ffmpeg_sys_next as ff;

use super::VideoLimits;

/// AVIO buffer size: what the demuxer reads through the callback at a time.
const IO_BUFFER: usize = 64 << 10;

/// What the decoder found out about a video before its frames.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamInfo {
    /// Width and height of the converted frames (the stream's `codecpar`).
    pub width: u32,
    pub height: u32,
    /// Frames per second as the reference takes it (`avg_frame_rate`, else `r_frame_rate`).
    pub frame_rate: f64,
    /// The container's duration in seconds, when it states one.
    pub duration_s: Option<f64>,
}

/// A decoded frame handed to the caller: packed RGB24 (`width * 3` bytes a row, no padding).
pub(crate) struct Frame<'a> {
    pub number: u64,
    pub width: u32,
    pub height: u32,
    pub rgb: &'a [u8],
}

/// The cursor the AVIO callbacks move over the item's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// `read_packet`: copies up to `buf_size` bytes from the cursor.
unsafe extern "C" fn read_packet(opaque: *mut c_void, buf: *mut u8, buf_size: c_int) -> c_int {
    // SAFETY: `opaque` is the `Cursor` that `decode` passed to `avio_alloc_context`; it
    // outlives the AVIO context (freed before `decode` returns) and nothing else touches it
    // while FFmpeg runs on this thread.
    let cur = unsafe { &mut *(opaque as *mut Cursor<'_>) };
    let left = cur.bytes.len().saturating_sub(cur.pos);
    let n = left.min(usize::try_from(buf_size).unwrap_or(0));
    if n == 0 {
        return ff::AVERROR_EOF;
    }
    // SAFETY: FFmpeg hands a writable buffer of `buf_size` bytes, and `n <= buf_size`; the
    // source range `pos..pos + n` lies within `bytes` (`n <= left`).
    unsafe { ptr::copy_nonoverlapping(cur.bytes.as_ptr().add(cur.pos), buf, n) };
    cur.pos += n;
    n as c_int
}

/// `seek`: moves the cursor (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`) or tells the size
/// (`AVSEEK_SIZE`); a position outside the bytes is refused.
unsafe extern "C" fn seek(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    // SAFETY: as in `read_packet`.
    let cur = unsafe { &mut *(opaque as *mut Cursor<'_>) };
    let len = cur.bytes.len() as i64;
    let whence = whence & !ff::AVSEEK_FORCE;
    let base = match whence {
        ff::AVSEEK_SIZE => return len,
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => cur.pos as i64,
        libc::SEEK_END => len,
        _ => return i64::from(ff::AVERROR(libc::EINVAL)),
    };
    match base.checked_add(offset) {
        Some(p) if (0..=len).contains(&p) => {
            cur.pos = p as usize;
            p
        }
        _ => i64::from(ff::AVERROR(libc::EINVAL)),
    }
}

/// Everything FFmpeg allocated for one video, freed on drop whatever the path out.
struct Session {
    io: *mut ff::AVIOContext,
    fmt: *mut ff::AVFormatContext,
    codec: *mut ff::AVCodecContext,
    sws: *mut ff::SwsContext,
    packet: *mut ff::AVPacket,
    frame: *mut ff::AVFrame,
    rgb: *mut ff::AVFrame,
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or owned by this session, allocated by the matching
        // FFmpeg allocator; each free function accepts null and nulls what it frees. The
        // format context is closed before the AVIO context it reads from is freed (with
        // AVFMT_FLAG_CUSTOM_IO, avformat_close_input leaves `pb` to us).
        unsafe {
            ff::av_frame_free(&mut self.rgb);
            ff::av_frame_free(&mut self.frame);
            ff::av_packet_free(&mut self.packet);
            ff::sws_freeContext(self.sws);
            self.sws = ptr::null_mut();
            ff::avcodec_free_context(&mut self.codec);
            ff::avformat_close_input(&mut self.fmt);
            if !self.io.is_null() {
                ff::av_freep(ptr::addr_of_mut!((*self.io).buffer) as *mut c_void);
                ff::avio_context_free(&mut self.io);
            }
        }
    }
}

/// Silences FFmpeg's logging once: the library never prints.
fn quiet() {
    static ONCE: Once = Once::new();
    // SAFETY: av_log_set_level only stores an int.
    ONCE.call_once(|| unsafe { ff::av_log_set_level(ff::AV_LOG_QUIET) });
}

/// Decodes the video in `bytes` as the vPDQ reference does, calling `info` once the stream is
/// known (it returns the frame step, or an error that ends the decode before any frame),
/// `on_frame` with every selected frame (an `Err` stops), and `decoded` with the number of
/// frames decoded at the end.
///
/// # Errors
/// Why the video could not be opened or decoded, or the callbacks' error.
pub(crate) fn decode(
    bytes: &[u8],
    limits: &VideoLimits,
    info: &mut dyn FnMut(&StreamInfo) -> Result<i64, String>,
    on_frame: &mut dyn FnMut(Frame<'_>) -> Result<(), String>,
    decoded: &mut dyn FnMut(u64),
) -> Result<(), String> {
    quiet();
    let mut cursor = Cursor { bytes, pos: 0 };
    let mut s = Session {
        io: ptr::null_mut(),
        fmt: ptr::null_mut(),
        codec: ptr::null_mut(),
        sws: ptr::null_mut(),
        packet: ptr::null_mut(),
        frame: ptr::null_mut(),
        rgb: ptr::null_mut(),
    };
    // SAFETY: every FFmpeg call below gets pointers owned by `s` (checked non-null after
    // allocation) or by FFmpeg's own structures reached through them, as the API documents;
    // `cursor` outlives `s` (declared before it, dropped after it). Struct fields are read
    // only from contexts FFmpeg filled in. Each `unsafe` step is commented where it relies on
    // more than that.
    unsafe {
        let buf = ff::av_malloc(IO_BUFFER) as *mut u8;
        if buf.is_null() {
            return Err("out of memory".into());
        }
        s.io = ff::avio_alloc_context(
            buf,
            IO_BUFFER as c_int,
            0,
            ptr::addr_of_mut!(cursor) as *mut c_void,
            Some(read_packet),
            None,
            Some(seek),
        );
        if s.io.is_null() {
            ff::av_free(buf as *mut c_void);
            return Err("out of memory".into());
        }
        s.fmt = ff::avformat_alloc_context();
        if s.fmt.is_null() {
            return Err("out of memory".into());
        }
        (*s.fmt).pb = s.io;
        (*s.fmt).flags |= ff::AVFMT_FLAG_CUSTOM_IO;
        // On failure avformat_open_input frees the context and nulls `s.fmt`.
        if ff::avformat_open_input(&mut s.fmt, ptr::null(), ptr::null(), ptr::null_mut()) != 0 {
            return Err("cannot open video (unknown or corrupt container)".into());
        }
        if ff::avformat_find_stream_info(s.fmt, ptr::null_mut()) < 0 {
            return Err("cannot find the video stream info".into());
        }
        let nb = (*s.fmt).nb_streams as usize;
        let streams = (*s.fmt).streams;
        // SAFETY: `streams` holds `nb_streams` valid stream pointers.
        let index = (0..nb).find(|&i| {
            let par = (**streams.add(i)).codecpar;
            !par.is_null() && (*par).codec_type == ff::AVMediaType::AVMEDIA_TYPE_VIDEO
        });
        let Some(index) = index else {
            return Err("no video stream".into());
        };
        let stream = *streams.add(index);
        let par = (*stream).codecpar;
        let (width, height) = ((*par).width, (*par).height);
        if width <= 0 || height <= 0 {
            return Err(format!("bad frame size {width}x{height}"));
        }
        let pixels = width as u64 * height as u64;
        if pixels > limits.max_pixels {
            return Err(format!(
                "video too large: {width}x{height} over {} pixels",
                limits.max_pixels
            ));
        }
        let codec = ff::avcodec_find_decoder((*par).codec_id);
        if codec.is_null() {
            return Err("no decoder for the video codec".into());
        }
        s.codec = ff::avcodec_alloc_context3(codec);
        if s.codec.is_null() {
            return Err("out of memory".into());
        }
        if ff::avcodec_parameters_to_context(s.codec, par) < 0 {
            return Err("bad codec parameters".into());
        }
        (*s.codec).thread_count = 1;
        // The decoder refuses frames larger than the limit before allocating them.
        (*s.codec).max_pixels = i64::try_from(limits.max_pixels).unwrap_or(i64::MAX);
        if ff::avcodec_open2(s.codec, codec, ptr::null_mut()) < 0 {
            return Err("cannot open the video decoder".into());
        }
        let mut rate = (*stream).avg_frame_rate;
        if rate.num == 0 || rate.den == 0 {
            rate = (*stream).r_frame_rate;
        }
        let frame_rate = f64::from(rate.num) / f64::from(rate.den);
        if frame_rate == 0.0 || !frame_rate.is_finite() {
            return Err("the frame rate is zero".into());
        }
        let duration = (*s.fmt).duration;
        let duration_s = (duration > 0 && duration != ff::AV_NOPTS_VALUE)
            .then(|| duration as f64 / f64::from(ff::AV_TIME_BASE));
        let frame_mod = info(&StreamInfo {
            width: width as u32,
            height: height as u32,
            frame_rate,
            duration_s,
        })?;

        let (src_w, src_h, src_fmt) = ((*s.codec).width, (*s.codec).height, (*s.codec).pix_fmt);
        // swscale asserts (aborts the process) on a pixel format it has no descriptor for,
        // such as the NONE of a stream whose header is broken: the reference crashes there;
        // vigie fails the video instead.
        if src_w <= 0
            || src_h <= 0
            || ff::av_pix_fmt_desc_get(src_fmt).is_null()
            || ff::sws_isSupportedInput(src_fmt) <= 0
        {
            return Err(format!(
                "cannot convert the video's frames ({src_w}x{src_h}, pixel format {})",
                src_fmt as c_int
            ));
        }
        s.sws = ff::sws_getContext(
            src_w,
            src_h,
            src_fmt,
            width,
            height,
            ff::AVPixelFormat::AV_PIX_FMT_RGB24,
            ff::SWS_AREA,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null(),
        );
        if s.sws.is_null() {
            return Err("cannot convert the video's pixel format".into());
        }
        s.packet = ff::av_packet_alloc();
        s.frame = ff::av_frame_alloc();
        s.rgb = ff::av_frame_alloc();
        if s.packet.is_null() || s.frame.is_null() || s.rgb.is_null() {
            return Err("out of memory".into());
        }
        (*s.rgb).format = ff::AVPixelFormat::AV_PIX_FMT_RGB24 as c_int;
        (*s.rgb).width = width;
        (*s.rgb).height = height;
        if ff::av_frame_get_buffer(s.rgb, 0) < 0 {
            return Err("out of memory".into());
        }
        let row = width as usize * 3;
        let mut packed = vec![0u8; row * height as usize];
        let mut count: u64 = 0;
        let frame_mod = frame_mod.max(1) as u64;

        let mut process = |s: &mut Session, flush: bool| -> Result<(), String> {
            if !flush && (*s.packet).stream_index as usize != index {
                ff::av_packet_unref(s.packet);
                return Ok(());
            }
            if flush && index != 0 {
                // The blank packet's stream index is 0: the reference flushes only then.
                return Ok(());
            }
            if ff::avcodec_send_packet(s.codec, s.packet) < 0 {
                return Err("cannot send a packet to the decoder".into());
            }
            loop {
                let r = ff::avcodec_receive_frame(s.codec, s.frame);
                if r == ff::AVERROR(libc::EAGAIN) || r == ff::AVERROR_EOF {
                    break;
                }
                if r < 0 {
                    return Err("cannot decode a frame".into());
                }
                let n = count;
                count += 1;
                if count > limits.max_frames {
                    return Err(format!("over {} frames", limits.max_frames));
                }
                if n.is_multiple_of(frame_mod) {
                    let f = &*s.frame;
                    if f.width != src_w
                        || f.height != src_h
                        || f.format != src_fmt as c_int
                        || (*s.codec).height != src_h
                    {
                        return Err(format!(
                            "frame {n} changes size or pixel format ({}x{}): not supported",
                            f.width, f.height
                        ));
                    }
                    let rgb = &*s.rgb;
                    // SAFETY: the frame matches the scaler's source size and format (checked
                    // above), and `s.rgb` was allocated for its destination.
                    ff::sws_scale(
                        s.sws,
                        f.data.as_ptr() as *const *const u8,
                        f.linesize.as_ptr(),
                        0,
                        src_h,
                        rgb.data.as_ptr(),
                        rgb.linesize.as_ptr(),
                    );
                    let stride = rgb.linesize[0] as usize;
                    for (y, dst) in packed.chunks_exact_mut(row).enumerate() {
                        // SAFETY: row `y` of the RGB frame starts `y * stride` bytes into its
                        // buffer and holds at least `row` bytes (`stride >= row`).
                        let src = std::slice::from_raw_parts(rgb.data[0].add(y * stride), row);
                        dst.copy_from_slice(src);
                    }
                    on_frame(Frame {
                        number: n,
                        width: width as u32,
                        height: height as u32,
                        rgb: &packed,
                    })?;
                }
            }
            ff::av_packet_unref(s.packet);
            Ok(())
        };

        while ff::av_read_frame(s.fmt, s.packet) == 0 {
            process(&mut s, false)?;
        }
        process(&mut s, true)?;
        decoded(count);
    }
    Ok(())
}

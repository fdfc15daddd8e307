//! The video path (sniff, FFmpeg demuxing and decoding from memory through the custom AVIO
//! callbacks, frame checks, swscale, PDQ) on any bytes: a bad video is an error for its item,
//! never a panic, an abort or a hang, and never an allocation past the limits. Small limits
//! keep each input cheap; every frame is hashed so that the conversion path is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::video::{hash_video, VideoConfig, VideoLimits};

fuzz_target!(|data: &[u8]| {
    let cfg = VideoConfig {
        vpdq: true,
        seconds_per_hash: 0.0,
        limits: VideoLimits {
            max_duration_s: 600.0,
            max_frames: 64,
            max_pixels: 1 << 20,
            max_bytes: 64 << 20,
        },
    };
    if let Some(Ok(v)) = hash_video(data, &cfg) {
        assert!(v.frames.len() as u64 <= v.frames_decoded);
        assert!(v.frames.iter().all(|f| f.quality <= 100));
    }
});

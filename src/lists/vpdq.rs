//! vPDQ signals: the known videos of a list, each a bag of frame hashes.
//!
//! Two shapes carry them. python-threatexchange's signal string (a `vpdq` line of a local
//! signal list, a `vpdq` row of a dataset CSV) is a JSON array of `"pdq_hex,quality,timestamp"`
//! strings, one per hashed frame ([`parse_signal`]). The vPDQ reference CLI writes one file per
//! video, one `frame,quality,pdq_hex,timestamp` line per frame ([`ListFormat::VpdqFrames`],
//! [`FramesFile`]). Every frame is checked as python-threatexchange's
//! `VpdqCompactFeature.assert_valid` checks it (64 hex digits, quality 0 to 100, a timestamp
//! that is a number ≥ 0; vigie also refuses NaN and infinities), and a video is one record:
//! a bad frame makes the whole video malformed, so that a known video is never entered with
//! part of its frames (which would change its match percentages).

use crate::perceptual::pdq::PdqHash;
use crate::video::VpdqFrame;

use super::{quote, ListFormat};

/// Longest line of a ThreatExchange list (lines or dataset CSV): a vPDQ signal is one line,
/// about 75 bytes a frame, so 16 MiB holds some 220,000 frames (61 hours at one hash a
/// second). Longer lines are reported and skipped without being buffered whole.
pub(super) const MAX_SIGNAL_LINE: usize = 16 << 20;

/// Most frames of one known video, as vigie decodes at most by default
/// ([`crate::video::VideoLimits`]).
pub(super) const MAX_FRAMES: usize = 1_000_000;

/// Parses a vPDQ signal string: a JSON array of `"pdq_hex,quality,timestamp"` strings. Frame
/// numbers are the frames' places in the array.
pub(super) fn parse_signal(value: &[u8]) -> Result<Box<[VpdqFrame]>, String> {
    let items: Vec<String> = serde_json::from_slice(value).map_err(|e| {
        format!(
            "a vpdq signal is a JSON array of \"pdq_hex,quality,timestamp\" strings ({e}): {}",
            quote(value)
        )
    })?;
    if items.is_empty() {
        return Err("vpdq signal [] holds no frame (a video with no frames)".into());
    }
    if items.len() > MAX_FRAMES {
        return Err(format!(
            "vpdq signal of {} frames (at most {MAX_FRAMES})",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut it = s.split(',');
            match (it.next(), it.next(), it.next(), it.next()) {
                (Some(h), Some(q), Some(t), None) => frame(i as u64, h, q, t),
                _ => Err(format!(
                    "not \"pdq_hex,quality,timestamp\": {}",
                    quote(s.as_bytes())
                )),
            }
            .map_err(|r| format!("vpdq frame {} of {}: {r}", i + 1, items.len()))
        })
        .collect()
}

/// One frame from its fields, checked.
fn frame(number: u64, hex: &str, quality: &str, timestamp: &str) -> Result<VpdqFrame, String> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "PDQ hash is not 64 hex digits: {}",
            quote(hex.as_bytes())
        ));
    }
    let hash =
        PdqHash::from_hex(hex).map_err(|_| format!("bad PDQ hash {}", quote(hex.as_bytes())))?;
    let quality = Some(quality)
        .filter(|q| !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|q| q.parse::<u8>().ok())
        .filter(|&q| q <= 100)
        .ok_or_else(|| {
            format!(
                "quality is not a number from 0 to 100: {}",
                quote(quality.as_bytes())
            )
        })?;
    let ts = timestamp
        .parse::<f32>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| {
            format!(
                "timestamp is not a number of seconds ≥ 0: {}",
                quote(timestamp.as_bytes())
            )
        })?;
    Ok(VpdqFrame {
        frame: number,
        hash,
        quality,
        timestamp: ts,
    })
}

/// Whether a line is a frame of the vPDQ reference CLI's output,
/// `frame,quality,pdq_hex,timestamp` (format detection).
pub(super) fn is_frame_line(t: &[u8]) -> bool {
    let f: Vec<&[u8]> = t.split(|&b| b == b',').collect();
    let num = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_digit);
    f.len() == 4
        && num(f[0])
        && num(f[1])
        && f[1].len() <= 3
        && f[2].len() == 64
        && f[2].iter().all(u8::is_ascii_hexdigit)
        && !f[3].is_empty()
        && f[3].iter().all(|&b| b.is_ascii_digit() || b == b'.')
}

/// The video of a [`ListFormat::VpdqFrames`] file, gathered line by line: the file is one
/// record, entered when its last line has been read.
#[derive(Default)]
pub(super) struct FramesFile {
    frames: Vec<VpdqFrame>,
    /// Line of the first frame.
    pub(super) first_line: u64,
    /// A line was bad: the video is not entered.
    pub(super) broken: bool,
}

impl FramesFile {
    /// Reads one `frame,quality,pdq_hex,timestamp` line. After the first bad line the others
    /// are not looked at: the problem said the video is not entered.
    pub(super) fn line(&mut self, rec: &[u8], line: u64) -> Result<(), String> {
        if self.broken {
            return Ok(());
        }
        let r = self.parse(rec);
        if r.is_err() {
            self.broken = true;
            self.frames = Vec::new();
        }
        if self.first_line == 0 {
            self.first_line = line;
        }
        r.map_err(|reason| {
            format!(
                "{reason}; the video of this {} file is not entered",
                ListFormat::VpdqFrames
            )
        })
    }

    fn parse(&mut self, rec: &[u8]) -> Result<(), String> {
        if self.frames.len() >= MAX_FRAMES {
            return Err(format!("more than {MAX_FRAMES} frames"));
        }
        let text = std::str::from_utf8(rec)
            .map_err(|_| format!("not a frame line (not UTF-8): {}", quote(rec)))?;
        let mut it = text.split(',').map(str::trim);
        let (Some(n), Some(q), Some(h), Some(t), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(format!(
                "not a frame line (frame,quality,pdq_hex,timestamp): {}",
                quote(rec)
            ));
        };
        let number = Some(n)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("frame number is not a number: {}", quote(n.as_bytes())))?;
        self.frames.push(frame(number, h, q, t)?);
        Ok(())
    }

    /// The video's frames, unless a line was bad or there was none.
    pub(super) fn finish(self) -> Option<Box<[VpdqFrame]>> {
        (!self.broken && !self.frames.is_empty()).then(|| self.frames.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{read_list_from, ListEntry, ListFormat, ListHash, ListProblem, ListType};
    use super::*;

    const A: &str = "dadb999c25266273529cadac8dcb52c22324ad3bce99726c38668d93c799f06c";
    const B: &str = "c8feb0fc73910f830fc6307cf039e7030fc61b9cf8717cf00fce00070003fffe";

    type Read = (
        ListFormat,
        Vec<(Box<[VpdqFrame]>, u64, Option<Vec<u8>>)>,
        Vec<ListProblem>,
    );

    fn read(input: &[u8], path: &str, declared: Option<ListType>) -> Read {
        let (mut entries, mut problems) = (Vec::new(), Vec::new());
        let s = read_list_from(
            input,
            Path::new(path),
            declared,
            |e: ListEntry<'_>| match e.hash {
                ListHash::Vpdq(f) => entries.push((f, e.line, e.name.map(|n| n.into_owned()))),
                other => panic!("not vpdq: {other:?}"),
            },
            |p| problems.push(p),
        )
        .unwrap();
        (s.format, entries, problems)
    }

    fn fr(frame: u64, hex: &str, quality: u8, timestamp: f32) -> VpdqFrame {
        VpdqFrame {
            frame,
            hash: PdqHash::from_hex(hex).unwrap(),
            quality,
            timestamp,
        }
    }

    #[test]
    fn signal_lines_and_dataset_csv() {
        let signal = format!("[\"{A},100,0.0\", \"{B},68,1.0\"]");
        let want: Box<[VpdqFrame]> = Box::new([fr(0, A, 100, 0.0), fr(1, B, 68, 1.0)]);
        let (f, e, p) = read(format!("vpdq {signal}\n").as_bytes(), "x.txt", None);
        assert_eq!(f, ListFormat::ThreatExchange);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e, vec![(want.clone(), 1, None)]);

        let quoted = signal.replace('"', "\"\"");
        let csv = format!(
            "signal_type,signal_str,collab,category,tags\r\n\
             vpdq,\"{quoted}\",\"a, b\",INVESTIGATION_SEED,\r\n"
        );
        let (f, e, p) = read(csv.as_bytes(), "x.csv", Some(ListType::Vpdq));
        assert_eq!(f, ListFormat::TeDataset);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e, vec![(want, 2, None)]);
    }

    #[test]
    fn bad_frames_make_the_signal_malformed() {
        let bad = [
            ("[]".to_string(), "no frame"),
            (format!("[\"{A},101,0.0\"]"), "quality"),
            (format!("[\"{A},-1,0.0\"]"), "quality"),
            (format!("[\"{A},50,-0.5\"]"), "timestamp"),
            (format!("[\"{A},50,NaN\"]"), "timestamp"),
            (format!("[\"{A},50,inf\"]"), "timestamp"),
            (format!("[\"{A},50,1e39\"]"), "timestamp"),
            (format!("[\"{},50,0.0\"]", &A[1..]), "64 hex"),
            (format!("[\"{}x,50,0.0\"]", &A[1..]), "64 hex"),
            (format!("[\"{A},50\"]"), "pdq_hex,quality,timestamp"),
            (format!("[\"{A},50,0.0,1\"]"), "pdq_hex,quality,timestamp"),
            (format!("[\"{A},100,0.0\", 7]"), "JSON array"),
            (format!("[\"{A},100,0.0\""), "JSON array"),
            ("{}".to_string(), "JSON array"),
        ];
        for (signal, why) in bad {
            let (_, e, p) = read(format!("vpdq {signal}\n").as_bytes(), "x.txt", None);
            assert!(e.is_empty(), "{signal}");
            assert_eq!(p.len(), 1, "{signal}");
            assert!(p[0].reason.contains(why), "{signal}: {}", p[0].reason);
        }
        // Declared pdq: a vpdq line is another type.
        let (_, e, p) = read(
            format!("vpdq [\"{A},100,0.0\"]\n").as_bytes(),
            "x.txt",
            Some(ListType::Pdq),
        );
        assert!(e.is_empty());
        assert!(p[0].reason.contains("says vpdq but pdq"), "{}", p[0].reason);
    }

    #[test]
    fn a_huge_signal_line_is_bounded() {
        let mut line = b"vpdq [".to_vec();
        let item = format!("\"{A},100,0.0\", ");
        while line.len() <= MAX_SIGNAL_LINE {
            line.extend_from_slice(item.as_bytes());
        }
        line.extend_from_slice(format!("\"{A},100,0.0\"]\nvpdq [\"{B},1,2.5\"]\n").as_bytes());
        let (_, e, p) = read(&line, "x.txt", None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].1, 2);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].reason.contains("longer than 16 MiB"),
            "{}",
            p[0].reason
        );
    }

    #[test]
    fn a_frames_file_is_one_video_named_by_its_stem() {
        let text = format!("0,100,{A},0.000\n1,68,{B},0.033\n\n");
        let (f, e, p) = read(text.as_bytes(), "dir/clip-1.txt", None);
        assert_eq!(f, ListFormat::VpdqFrames);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            e,
            vec![(
                Box::new([fr(0, A, 100, 0.0), fr(1, B, 68, 0.033)]) as Box<[_]>,
                1,
                Some(b"clip-1".to_vec())
            )]
        );

        // One bad frame: one problem at its line, no video.
        let text = format!("0,100,{A},0.000\n1,168,{B},0.033\n2,100,{A},x\n");
        let (_, e, p) = read(text.as_bytes(), "clip.txt", None);
        assert!(e.is_empty());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 2);
        assert!(p[0].reason.contains("quality") && p[0].reason.contains("not entered"));

        // Declared as something else: refused whole.
        let err = read_list_from(
            format!("0,100,{A},0.000\n").as_bytes(),
            Path::new("clip.txt"),
            Some(ListType::Pdq),
            |_| {},
            |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("vpdq frames"), "{err}");
    }

    #[test]
    fn no_prefix_or_byte_flip_panics() {
        let signal = format!("vpdq [\"{A},100,0.0\", \"{B},68,1.0\"]\n");
        let csv = format!(
            "signal_type,signal_str,collab,category,tags\r\nvpdq,\"{}\",c,,\r\n",
            signal[5..].trim_end().replace('"', "\"\"")
        );
        let frames = format!("0,100,{A},0.000\n1,68,{B},0.033\n");
        for input in [signal, csv, frames] {
            let b = input.as_bytes();
            for cut in 0..b.len() {
                let mut flipped = b.to_vec();
                flipped[cut] ^= 0x55;
                for bytes in [&b[..cut], &flipped[..]] {
                    for forced in [None, Some(ListFormat::VpdqFrames)] {
                        let _ = super::super::read_list_from_as(
                            bytes,
                            Path::new("x"),
                            None,
                            forced,
                            |_| {},
                            |_| {},
                        );
                    }
                }
            }
        }
    }
}

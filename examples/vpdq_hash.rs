//! Prints the vPDQ frames of the videos given, in the form of `scripts/vpdq_reference.py`
//! (`NAME,FRAME,QUALITY,PDQ_HEX,TIMESTAMP`), for comparing vigie with the live reference.
//!
//! `cargo run --release --example vpdq_hash -- [--seconds-per-hash F] VIDEO...`
use std::time::Instant;

use vigie::video::{hash_video, VideoConfig};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = VideoConfig {
        vpdq: true,
        ..VideoConfig::default()
    };
    if args.first().map(String::as_str) == Some("--seconds-per-hash") && args.len() > 1 {
        cfg.seconds_per_hash = args[1].parse().expect("seconds per hash");
        args.drain(..2);
    }
    let t = Instant::now();
    let mut failed = 0;
    for path in &args {
        let bytes = std::fs::read(path).expect("read");
        let name = std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy();
        match hash_video(&bytes, &cfg) {
            Some(Ok(v)) => {
                for f in &v.frames {
                    println!(
                        "{name},{},{},{},{:?}",
                        f.frame,
                        f.quality,
                        f.hash.to_hex(),
                        f64::from(f.timestamp)
                    );
                }
            }
            Some(Err(e)) => {
                eprintln!("{name}: {e}");
                failed += 1;
            }
            None => {
                eprintln!("{name}: not a video");
                failed += 1;
            }
        }
    }
    eprintln!("wall_s {:.3}", t.elapsed().as_secs_f64());
    std::process::exit(i32::from(failed > 0));
}

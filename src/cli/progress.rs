//! The command line's progress display, on stderr and only when stderr is a terminal, and
//! not when the records go to a terminal on stdout (the display would leave stale lines
//! between them in the scrollback; they show the progress themselves). The engine's workers report
//! through [`vigie::engine::Progress`] into atomic counters (one relaxed add per item); a
//! thread of its own draws them.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use vigie::model::Verdict;

/// Whether a display may be drawn: asked for, and stderr a terminal. (The caller leaves it
/// off when records go to a terminal on stdout.)
fn drawable(enabled: bool) -> bool {
    enabled && std::io::stderr().is_terminal()
}

/// Items and bytes done, updated by the workers.
#[derive(Debug, Default)]
struct Counters {
    items: AtomicU64,
    bytes: AtomicU64,
    matched: AtomicU64,
    failed: AtomicU64,
}

/// A running progress display; [`TermProgress::finish`] (or dropping it) clears it.
pub struct TermProgress {
    counters: Arc<Counters>,
    stop: Option<mpsc::Sender<()>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl vigie::engine::Progress for TermProgress {
    fn item_done(&self) {
        self.counters.items.fetch_add(1, Ordering::Relaxed);
    }

    fn bytes_read(&self, n: u64) {
        self.counters.bytes.fetch_add(n, Ordering::Relaxed);
    }

    fn item_verdict(&self, verdict: Verdict) {
        match verdict {
            Verdict::Match => &self.counters.matched,
            Verdict::Failed => &self.counters.failed,
            _ => return,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// `s` seconds as `1h02m`, `3m07s` or `12s`.
fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

impl TermProgress {
    /// Starts a display when `enabled` and the terminals allow it (else it only counts).
    /// `total` is the inputs' size when known (files named one by one): the display then
    /// shows how much is done and an estimate of the time left.
    pub fn start(enabled: bool, total: Option<u64>) -> TermProgress {
        let counters = Arc::new(Counters::default());
        if !drawable(enabled) {
            return TermProgress {
                counters,
                stop: None,
                handle: None,
            };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let shown = counters.clone();
        let handle = thread::spawn(move || {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            loop {
                let items = shown.items.load(Ordering::Relaxed);
                let bytes = shown.bytes.load(Ordering::Relaxed);
                let matched = shown.matched.load(Ordering::Relaxed);
                let failed = shown.failed.load(Ordering::Relaxed);
                let secs = bar.elapsed().as_secs_f64().max(1e-3);
                let rate = bytes as f64 / secs;
                let done = match total.filter(|&t| t > 0) {
                    Some(t) => {
                        let left = t.saturating_sub(bytes) as f64;
                        let eta = if rate > 0.0 && bytes > 0 {
                            format!(", ETA {}", duration(left / rate))
                        } else {
                            String::new()
                        };
                        format!(
                            "{:.1} of {:.1} MB ({:.0} %{eta})",
                            bytes as f64 / 1e6,
                            t as f64 / 1e6,
                            (bytes as f64 * 100.0 / t as f64).min(100.0)
                        )
                    }
                    None => format!("{:.1} MB", bytes as f64 / 1e6),
                };
                bar.set_message(format!(
                    "{items} items, {done}, {:.1} MB/s; {matched} matched, {failed} failed",
                    rate / 1e6
                ));
                bar.tick();
                if rx.recv_timeout(Duration::from_millis(150))
                    != Err(mpsc::RecvTimeoutError::Timeout)
                {
                    break;
                }
            }
            bar.finish_and_clear();
        });
        TermProgress {
            counters,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops and clears the display.
    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// `index build`'s display: which list is being read, of how many, its size, for how long.
/// Lines printed through [`ListProgress::println`] go above it, never through it.
pub struct ListProgress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl ListProgress {
    /// Starts a display when `enabled` and stderr is a terminal (`index build` writes
    /// nothing on stdout).
    pub fn start(enabled: bool) -> ListProgress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        ListProgress {
            bar,
            started: Instant::now(),
        }
    }

    /// List `i` (0-based) of `n`, at `path`, of `size` bytes if known, is being read.
    pub fn reading(&mut self, i: usize, n: usize, path: &Path, size: Option<u64>) {
        self.started = Instant::now();
        if let Some(bar) = &self.bar {
            let size = size.map_or(String::new(), |s| format!(" ({:.1} MB)", s as f64 / 1e6));
            bar.set_message(format!(
                "reading list {} of {n}: {}{size}",
                i + 1,
                path.display()
            ));
            if i == 0 {
                // The first draw, with the first message.
                bar.enable_steady_tick(Duration::from_millis(150));
            }
        }
    }

    /// Seconds since the current list started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Prints `f`'s lines above the display.
    pub fn println(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the display.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

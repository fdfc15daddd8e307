//! The command line's progress display, on stderr and only when stderr is a terminal. The
//! engine's workers report through [`vigie::engine::Progress`] into atomic counters (one
//! relaxed add per item); a thread of its own draws them.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Items and bytes done, updated by the workers.
#[derive(Debug, Default)]
struct Counters {
    items: AtomicU64,
    bytes: AtomicU64,
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
}

impl TermProgress {
    /// Starts a display when `enabled` and stderr is a terminal (else it only counts).
    pub fn start(enabled: bool) -> TermProgress {
        let counters = Arc::new(Counters::default());
        if !enabled || !std::io::stderr().is_terminal() {
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
                let secs = bar.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{items} items, {:.1} MB ({:.1} MB/s)",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs
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

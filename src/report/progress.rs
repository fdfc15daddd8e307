//! A progress display on stderr, only when stderr is a terminal; it reads the workers' atomic
//! counters from its own thread so the hot path pays one relaxed add per item.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::Counters;

/// A running progress display; dropping it (or [`Progress::finish`]) clears it.
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts a display of `counters` when `enabled` and stderr is a terminal.
    pub fn start(counters: Arc<Counters>, enabled: bool) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress {
                stop: None,
                handle: None,
            };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            loop {
                let items = counters.items.load(Ordering::Relaxed);
                let bytes = counters.bytes.load(Ordering::Relaxed);
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
        Progress {
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

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_now();
    }
}

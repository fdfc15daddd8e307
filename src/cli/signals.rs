//! SIGINT and SIGTERM end a run cleanly: the first one sets the flag the library's jobs
//! watch (`RunOptions::stop`): reading stops, what was finished is written, the summary says
//! the run is incomplete, temporary files go, and vigie exits with 128 + the signal's number
//! (130, 143), as shells report a process a signal ended. A second one ends the process at
//! once.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The stop flag and which signal set it.
pub struct Signals {
    /// Set by the first SIGINT or SIGTERM.
    pub stop: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install() -> io::Result<Signals> {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, stop.clone())?;
            signal_hook::flag::register_usize(sig, which.clone(), sig as usize)?;
            signal_hook::flag::register(sig, stop.clone())?;
        }
        Ok(Signals { stop, which })
    }

    /// No handler: the default dispositions stay (jobs that cannot stop half-way).
    pub fn none() -> Signals {
        Signals {
            stop: Arc::new(AtomicBool::new(false)),
            which: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The signal that stopped the run, with its name.
    pub fn received(&self) -> Option<(u8, &'static str)> {
        match self.which.load(Ordering::Relaxed) as i32 {
            SIGINT => Some((SIGINT as u8, "SIGINT")),
            SIGTERM => Some((SIGTERM as u8, "SIGTERM")),
            _ => None,
        }
    }
}

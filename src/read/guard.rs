//! A file truncated while it is mapped: the process-wide SIGBUS guard of input maps.
//!
//! Reading a page of a map that lies past the end of its (since shrunk) file raises SIGBUS,
//! whose default action kills the process: no record, no summary (issue 16, point 8). Every
//! input map is registered here for its life; the first registration installs, once for the
//! process, a SIGBUS handler that
//!
//! * for a fault inside a registered map, marks that map as faulted, maps anonymous zero pages
//!   over the rest of it (from the faulting page to its end, in one `mmap(MAP_FIXED)`) and
//!   returns: the faulting load runs again and reads zeros, and [`Guard::faulted`] then makes
//!   the item a failed `read` item (see `Map::changed`), never a record;
//! * for any other fault, hands it to the disposition it replaced (Rust's own stack-overflow
//!   handler, which restores the default and returns so that the fault kills the process as
//!   before), or restores the default disposition itself.
//!
//! The registry is a fixed array of [`SLOTS`] slots (no allocation, no lock: the handler may
//! only use async-signal-safe operations). Each slot is a seqlock: an owner writes its range
//! between two increments of `seq`, and the handler uses a range only when it read the same
//! even `seq` before and after it, so a slot being reused by another thread is never read
//! torn. A map is registered before it is used and unregistered before it is unmapped (the
//! guard is the first field of `Map`), so every consistent live range is a mapping of ours.
//! When every slot is taken, [`register`] says so and the caller reads the file instead.
//!
//! The library thus owns SIGBUS in the process (README, ARCHITECTURE): an application that
//! installs its own SIGBUS handler after the first input was mapped replaces this guard.
//! Index maps are not registered: an index truncated under a running scan still kills the
//! process, as answers read from zeros would be wrong without a word.

#![allow(unsafe_code)]

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

/// Input maps that can be guarded at once. Each worker holds at most a batch of opened files
/// (32) and one archive; past this, files are read instead of mapped.
pub(crate) const SLOTS: usize = 1024;

struct Slot {
    /// Taken by an owner (a [`Guard`]).
    taken: AtomicBool,
    /// Even when `start`/`len` are stable, odd while the owner writes them.
    seq: AtomicUsize,
    /// First address of the map (page-aligned); 0 when the slot holds none.
    start: AtomicUsize,
    /// Mapped bytes.
    len: AtomicUsize,
    /// A read past the end of the file was turned into zeros.
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    taken: AtomicBool::new(false),
    seq: AtomicUsize::new(0),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static REGISTRY: [Slot; SLOTS] = [FREE; SLOTS];
/// Where the next search for a free slot starts (a hint only).
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A registered map; unregistered on drop.
pub(crate) struct Guard {
    slot: usize,
}

impl Guard {
    /// Did a read of this map fault (the file shrank) and read zeros instead?
    pub(crate) fn faulted(&self) -> bool {
        REGISTRY[self.slot].faulted.load(Ordering::Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let s = &REGISTRY[self.slot];
        write_range(s, 0, 0);
        s.taken.store(false, Ordering::Release);
    }
}

fn write_range(s: &Slot, start: usize, len: usize) {
    let seq = s.seq.load(Ordering::Relaxed);
    s.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    s.start.store(start, Ordering::Relaxed);
    s.len.store(len, Ordering::Relaxed);
    s.seq.store(seq.wrapping_add(2), Ordering::Release);
}

/// Registers the map of `len` bytes at `start`, installing the handler first if needed.
/// `None` when the handler cannot be installed (or on a platform without it) or every slot is
/// taken: the map would not be protected, so the caller reads the file instead.
pub(crate) fn register(start: *const u8, len: usize) -> Option<Guard> {
    if !install() || len == 0 {
        return None;
    }
    let first = NEXT.load(Ordering::Relaxed);
    for i in 0..SLOTS {
        let slot = (first + i) % SLOTS;
        let s = &REGISTRY[slot];
        if s.taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            s.faulted.store(false, Ordering::Relaxed);
            write_range(s, start as usize, len);
            NEXT.store((slot + 1) % SLOTS, Ordering::Relaxed);
            return Some(Guard { slot });
        }
    }
    None
}

/// The registered map holding `addr`, with its range. Async-signal-safe: atomics only.
fn find(addr: usize) -> Option<(&'static Slot, usize, usize)> {
    REGISTRY.iter().find_map(|s| {
        let before = s.seq.load(Ordering::Acquire);
        if before % 2 == 1 {
            return None;
        }
        let start = s.start.load(Ordering::Relaxed);
        let len = s.len.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if s.seq.load(Ordering::Relaxed) != before || start == 0 {
            return None;
        }
        (addr >= start && addr - start < len).then_some((s, start, len))
    })
}

#[cfg(target_os = "linux")]
mod handler {
    use super::*;
    use std::sync::OnceLock;

    /// The disposition the guard replaced, called for faults outside our maps.
    struct Previous(libc::sigaction);
    // SAFETY: a plain C struct of integers and function addresses, written once before the
    // handler is installed and only read afterwards.
    unsafe impl Sync for Previous {}
    unsafe impl Send for Previous {}

    static PREVIOUS: OnceLock<Previous> = OnceLock::new();
    static INSTALLED: OnceLock<bool> = OnceLock::new();

    pub(super) fn install() -> bool {
        *INSTALLED.get_or_init(|| {
            // SAFETY: sigaction with a zeroed (then filled) struct is the documented way to
            // read and set a disposition; `on_sigbus` only does async-signal-safe work.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                    return false;
                }
                let _ = PREVIOUS.set(Previous(old));
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_sigbus as *const () as usize;
                new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(libc::SIGBUS, &new, std::ptr::null_mut()) == 0
            }
        })
    }

    /// The SIGBUS handler (see the module doc). Async-signal-safe: atomics, `mmap`,
    /// `sigaction`, and the previous handler (which had to be safe itself).
    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler; for SIGBUS its
        // address field is the faulting address.
        let addr = unsafe { (*info).si_addr() } as usize;
        if let Some((slot, start, len)) = find(addr) {
            // Marked before the zeros appear: whoever reads a zero page sees the mark after.
            slot.faulted.store(true, Ordering::Release);
            let page = page_size();
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            // SAFETY: [from, end) lies inside one live map of ours (registered, so not yet
            // unmapped: the owner unregisters before unmapping, and the faulting thread is
            // reading it). Replacing its pages with private anonymous zero pages changes only
            // bytes that no longer exist in the file, read as plain `u8`s; the map's owner
            // unmaps the whole range as before.
            let p = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                return;
            }
        }
        // Not ours (or the zero pages could not be mapped): what would have happened without
        // the guard happens.
        match PREVIOUS.get().map(|p| p.0) {
            Some(prev)
                if prev.sa_sigaction != libc::SIG_DFL && prev.sa_sigaction != libc::SIG_IGN =>
            {
                // SAFETY: the previous handler was installed for this signal with these flags;
                // it is called as the kernel would have called it.
                unsafe {
                    if prev.sa_flags & libc::SA_SIGINFO != 0 {
                        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                            std::mem::transmute(prev.sa_sigaction);
                        f(sig, info, ctx);
                    } else {
                        let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
                        f(sig);
                    }
                }
            }
            _ => {
                // SAFETY: restoring the default disposition; returning re-runs the faulting
                // instruction, which now kills the process with SIGBUS as before.
                unsafe {
                    let mut dfl: libc::sigaction = std::mem::zeroed();
                    dfl.sa_sigaction = libc::SIG_DFL;
                    libc::sigemptyset(&mut dfl.sa_mask);
                    libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
                }
            }
        }
    }

    fn page_size() -> usize {
        // SAFETY: sysconf is async-signal-safe and has no preconditions.
        match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        }
    }
}

#[cfg(target_os = "linux")]
use handler::install;

/// Off Linux the guard is not installed: input files are read, never mapped unguarded.
#[cfg(not(target_os = "linux"))]
fn install() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many threads registering and dropping maps at once never share a slot, and a full
    /// registry refuses instead of overwriting.
    #[test]
    fn registry_is_exclusive_under_concurrency() {
        std::thread::scope(|s| {
            for t in 0..8usize {
                s.spawn(move || {
                    for i in 0..2000usize {
                        let start = (t + 1) << 40 | (i + 1) << 20;
                        let g = register(start as *const u8, 4096).expect("a free slot");
                        let (slot, st, len) = find(start + 100).expect("registered");
                        assert!(std::ptr::eq(slot, &REGISTRY[g.slot]));
                        assert_eq!((st, len), (start, 4096));
                        assert!(find(start + 4096).is_none_or(|(s, ..)| !std::ptr::eq(s, slot)));
                        drop(g);
                    }
                });
            }
        });
    }
}

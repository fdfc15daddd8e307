//! The members of a 7z archive as items ([`crate::source::sevenz`] reads the header).
//!
//! Each block is decoded once, front to back: a solid block's members come out one after
//! another and are read in that order, small ones buffered and hashed by the pool in
//! batches, large ones hashed as they stream ([`read_member`]), so memory stays flat
//! whatever the block's size. A member is reported only once its bytes are all there and
//! their CRC-32 equals the archive's; one that fails is a failed `decompress` item, never a
//! digest. A block's stream that fails (damage, a cut) fails the member being read and every
//! member after it in the block; members before it stand, each verified.
//!
//! Before a block is decoded, from the header: encrypted (`encrypted`), a method not decoded
//! (`unsupported`, named), a block expanding past `--max-ratio` times its packed bytes, the
//! archive's blocks past `--max-scan` or `--max-ratio` times the archive, past the budget of
//! nested containers (`limit`): every member of it is a failed item, nothing decoded. A
//! member over `--max-expanded` is a failed `limit` item, decoded past (its block is read for
//! the members after it).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{container_itself, read_member, Ctx, Streamed, BATCH_BYTES, BATCH_MEMBERS};
use crate::model::{FailKind, Failure, Location};
use crate::read::Data;
use crate::source::archive::Expansion;
use crate::source::sevenz::{self, Entry, EntryKind, Fault, Folder, SevenZ, SevenZError};

/// A block this small passes the ratio check whatever its packed size.
const RATIO_SLACK: u64 = 1 << 16;

/// Reads the 7z archive `data` (at `path`, or nested under `ctx`'s chain): its members, then,
/// at the top, its own record (its digests). An archive whose header cannot be read is its own
/// record failed with the reason (its digests kept), or nested, a failed item at its place.
pub(super) fn archive(ctx: &Ctx<'_>, path: PathBuf, data: &Data) {
    let len = data.len() as u64;
    let unread = match sevenz::open(data.bytes(), &ctx.cfg.open.limits) {
        Ok(a) => {
            members(ctx, &path, data, &a);
            None
        }
        Err(e) => {
            let f = Failure::new(
                kind(&e),
                format!("7z archive: {e}: its members were not read"),
            );
            Some(f)
        }
    };
    if ctx.stopped() {
        return;
    }
    if ctx.nest.depth > 0 {
        // Nested: its own record was given by its parent.
        if let Some(f) = unread {
            ctx.fail(ctx.loc(&path, None, 0, len), f);
        }
    } else if unread.is_some() || ctx.cfg.open.container_records {
        container_itself(ctx, path, data, unread);
    } else if let Some(why) = data.changed() {
        // --members-only: no record of its own, but its members may have been read from a
        // file that changed under them.
        let why = format!("{why}: the digests of its members may be wrong");
        ctx.fail(
            ctx.loc(&path, None, 0, len),
            Failure::new(FailKind::Read, why),
        );
    }
}

fn kind(e: &SevenZError) -> FailKind {
    match e.fault {
        Fault::Malformed => FailKind::Archive,
        Fault::Encrypted => FailKind::Encrypted,
        Fault::Unsupported => FailKind::Unsupported,
        Fault::Limit => FailKind::Limit,
    }
}

/// Where a member is: its name, the offset of its block's packed data, its size.
fn loc(ctx: &Ctx<'_>, path: &Path, e: &Entry, f: Option<&Folder>) -> Location {
    ctx.loc(path, Some(&e.name), f.map_or(0, |f| f.packed.start), e.size)
}

fn name(e: &Entry) -> String {
    String::from_utf8_lossy(&e.name).into_owned()
}

/// Items buffered for the pool.
struct Batch<'c, 'a> {
    ctx: &'c Ctx<'a>,
    items: Vec<(Location, Data)>,
    bytes: u64,
}

impl Batch<'_, '_> {
    fn push(&mut self, loc: Location, bytes: Vec<u8>) {
        self.bytes += bytes.len() as u64;
        self.items.push((loc, Data::from_vec(bytes)));
        if self.items.len() >= BATCH_MEMBERS || self.bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.bytes = 0;
        self.ctx.hash_items(std::mem::take(&mut self.items));
    }
}

fn members(ctx: &Ctx<'_>, path: &Path, data: &Data, a: &SevenZ) {
    let limits = ctx.cfg.open.limits;
    let len = data.len() as u64;
    let mut expansion = Expansion::new(limits, Some(len), ctx.nest.budget.clone());
    let mut batch = Batch {
        ctx,
        items: Vec::new(),
        bytes: 0,
    };
    let mut decoded = 0u64;
    for f in &a.folders {
        if ctx.stopped() {
            return;
        }
        decoded = decoded.saturating_add(f.unpack_size);
        let refusal = refusal(ctx, f, decoded, len);
        if !block(ctx, path, data, a, f, refusal, &mut expansion, &mut batch) {
            batch.flush();
            return;
        }
    }
    // Members without data: empty files (items of 0 bytes), directories, anti items.
    for e in a.entries.iter().filter(|e| e.folder.is_none()) {
        if let Some(f) = expansion.count() {
            batch.flush();
            ctx.fail(loc(ctx, path, e, None), f);
            return;
        }
        let l = loc(ctx, path, e, None);
        if e.kind == EntryKind::File && !ctx.delivered(&l) {
            batch.push(l, Vec::new());
        }
    }
    batch.flush();
}

/// Why a block is not decoded at all, from the header: see the module doc.
fn refusal(ctx: &Ctx<'_>, f: &Folder, decoded: u64, archive_len: u64) -> Option<Failure> {
    let limits = &ctx.cfg.open.limits;
    if let Some(e) = f.problem() {
        return Some(Failure::new(kind(&e), e.reason));
    }
    let ratio = limits.max_ratio;
    let packed = f.packed.end - f.packed.start;
    let limit = |why: String| Some(Failure::new(FailKind::Limit, why));
    if f.unpack_size > packed.saturating_mul(ratio).max(RATIO_SLACK) {
        return limit(format!(
            "its block declares {} bytes from {packed} packed: over the {ratio}:1 expansion \
             limit (--max-ratio), not decompressed",
            f.unpack_size
        ));
    }
    if decoded > limits.max_scan {
        return limit(format!(
            "the archive's blocks expand to more than {} bytes (--max-scan), not decompressed",
            limits.max_scan
        ));
    }
    if decoded > archive_len.saturating_mul(ratio).max(RATIO_SLACK) {
        return limit(format!(
            "the archive's blocks expand to more than {ratio} times its {archive_len} bytes \
             (--max-ratio), not decompressed"
        ));
    }
    match &ctx.nest.budget {
        Some(b) if !b.charge(f.unpack_size) => limit(b.exceeded()),
        _ => None,
    }
}

/// Counts the bytes read through it and their CRC-32.
struct Counted<R> {
    inner: R,
    len: u64,
    crc: flate2::Crc,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Reads one block's members in order (see the module doc); false when the walk is to stop
/// (a stop asked for, or past `--max-members`).
#[allow(clippy::too_many_arguments)]
fn block(
    ctx: &Ctx<'_>,
    path: &Path,
    data: &Data,
    a: &SevenZ,
    f: &Folder,
    refusal: Option<Failure>,
    expansion: &mut Expansion,
    batch: &mut Batch<'_, '_>,
) -> bool {
    let max_expanded = ctx.cfg.open.limits.max_expanded;
    // Why the members not read yet are not: the block refused, or its stream failed.
    let mut broken: Option<(FailKind, String)> = refusal.map(|r| (r.kind, r.message));
    let mut reader = None;
    if broken.is_none() {
        match f.reader(data.bytes()) {
            Ok(r) => reader = Some(r),
            Err(e) => broken = Some((kind(&e), e.reason)),
        }
    }
    for &i in &f.members {
        let e = &a.entries[i];
        let l = loc(ctx, path, e, Some(f));
        if let Some(over) = expansion.count() {
            batch.flush();
            ctx.fail(l, over);
            return false;
        }
        let n = name(e);
        let (Some(r), None) = (reader.as_mut(), &broken) else {
            let (k, why) = broken.clone().unwrap_or((FailKind::Archive, String::new()));
            let why = format!("7z member {n:?}: {why}: its content was not read");
            ctx.fail(l, Failure::new(k, why));
            continue;
        };
        let over = e.size > max_expanded;
        if over {
            let why = format!(
                "7z member {n:?} declares {} bytes: over the limit of {max_expanded} bytes per \
                 item (--max-expanded), not read",
                e.size
            );
            ctx.fail(l.clone(), Failure::new(FailKind::Limit, why));
        }
        let keep = !over && !ctx.delivered(&l);
        let mut counted = Counted {
            inner: r.take(e.size),
            len: 0,
            crc: flate2::Crc::new(),
        };
        let read = read_member(ctx, &mut counted, e.size, keep, "7z");
        let decode_fail = |why: String| {
            Failure::new(
                FailKind::Decompress,
                format!("7z member {n:?}: {why}, so no digest of it is reported"),
            )
        };
        let out = match read {
            Err(_) if ctx.stopped() => return false,
            Err(err) => {
                let why = format!("its block's {} stream fails: {err}", f.methods());
                ctx.fail(l, decode_fail(why.clone()));
                broken = Some((FailKind::Decompress, why));
                continue;
            }
            Ok(out) => out,
        };
        if counted.len != e.size {
            let why = format!(
                "its block's {} stream ends after {} of its {} bytes",
                f.methods(),
                counted.len,
                e.size
            );
            ctx.fail(l, decode_fail(why.clone()));
            broken = Some((FailKind::Decompress, why));
            continue;
        }
        if let Some(want) = e.crc.filter(|&w| w != counted.crc.sum()) {
            let why = format!(
                "CRC-32 {:08x} of its bytes, {want:08x} in the archive: its bytes are corrupt",
                counted.crc.sum()
            );
            ctx.fail(l, decode_fail(why));
            continue;
        }
        match out {
            Streamed::Buffered(buf) => batch.push(l, buf),
            Streamed::Hashed(digests, not_decoded, head) => {
                let failure = not_decoded.or_else(|| ctx.unopened(&head));
                ctx.finish_with(l, Ok(digests), None, failure);
            }
            Streamed::Passed => {}
        }
    }
    true
}

//! 7z archives: the header read by vigie's own parser, every count and size bounded before
//! anything is allocated; each block ("folder") decoded once, front to back, by the codec
//! crates (LZMA, LZMA2, BCJ and Delta filters from `lzma-rust2`, PPMd from `ppmd-rust`, BZip2
//! from `bzip2`, Deflate from `flate2`); its members cut from the decoded stream in order
//! ([`Folder::members`]), each checked against its CRC-32 by the caller.
//!
//! Why not `sevenz-rust2`: its releases that build on vigie's Rust (up to 0.20.2, Rust 1.85)
//! allocate from the header's counts unchecked (`vec![..; num_files]`, the next header's and
//! the encoded header's sizes), so a few crafted bytes abort the process; the releases that
//! bound them (0.21 on) need Rust 1.93. The codecs it is built on are used here directly.
//!
//! What is refused, before decoding: encrypted blocks or headers (7zAES) are
//! [`Fault::Encrypted`]; a method no codec here decodes (BCJ2, Deflate64, …) is
//! [`Fault::Unsupported`], named; a dictionary or model over [`MEMLIMIT`], a header over
//! [`MAX_HEADER`], more members than `--max-members` are [`Fault::Limit`]; anything
//! inconsistent is [`Fault::Malformed`].

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;

use super::archive::Limits;

/// The signature a 7z archive starts with.
pub const SIGNATURE: &[u8; 6] = b"7z\xBC\xAF\x27\x1C";
/// Bytes of the signature header: signature, version, start header CRC and start header.
const SIGNATURE_HEADER_LEN: u64 = 32;

/// Most memory one decoder may ask for from the header (an LZMA or LZMA2 dictionary, once
/// bounded by the bytes it decodes; a PPMd model): 256 MiB, as for xz streams
/// ([`super::stream::XZ_MEMLIMIT`]). `7z -mx9` asks for 64 MiB.
pub const MEMLIMIT: u64 = super::stream::XZ_MEMLIMIT;

/// Largest (decoded) header read: 64 MiB, the header of about a million members.
pub const MAX_HEADER: u64 = 64 << 20;

/// Most coders in one block (7-Zip writes at most 4: BCJ2 and its three LZMA streams).
const MAX_CODERS: u64 = 32;

/// Whether `bytes` start with a 7z signature header.
pub fn is_7z(bytes: &[u8]) -> bool {
    bytes.len() >= SIGNATURE_HEADER_LEN as usize && bytes.starts_with(SIGNATURE)
}

/// What kind of problem a [`SevenZError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The archive's bytes are inconsistent, cut short, or fail a CRC.
    Malformed,
    /// Encrypted (7zAES): not read.
    Encrypted,
    /// A method (or a form of block) no decoder here reads.
    Unsupported,
    /// Over a bound of [`Limits`] or of this module.
    Limit,
}

/// Why an archive, or one of its blocks, cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SevenZError {
    /// Its kind.
    pub fault: Fault,
    /// What is wrong.
    pub reason: String,
}

impl SevenZError {
    fn malformed(reason: impl Into<String>) -> SevenZError {
        SevenZError {
            fault: Fault::Malformed,
            reason: reason.into(),
        }
    }

    fn new(fault: Fault, reason: impl Into<String>) -> SevenZError {
        SevenZError {
            fault,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SevenZError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for SevenZError {}

/// What a member of a 7z archive is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A file (possibly empty).
    File,
    /// A directory.
    Directory,
    /// An "anti" item (a deletion marker of an update): nothing to read.
    Anti,
}

/// One member as the header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path, UTF-8 (from the header's UTF-16).
    pub name: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes.
    pub size: u64,
    /// The CRC-32 of its bytes, when the archive records one.
    pub crc: Option<u32>,
    /// The block holding its bytes; `None` for an empty file, a directory, an anti item.
    pub folder: Option<usize>,
}

/// One coder of a block: a method and its properties.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Coder {
    id: u64,
    props: Vec<u8>,
    /// Bytes it outputs.
    unpack_size: u64,
}

/// A block of packed data: one or more members decoded from it one after another (a solid
/// block holds many).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Coders in the order they decode (the one reading the packed bytes first).
    chain: Vec<Coder>,
    /// Where its packed bytes are in the archive.
    pub packed: Range<u64>,
    /// Bytes it decodes to.
    pub unpack_size: u64,
    /// Its members, indices into [`SevenZ::entries`], in the order their bytes come.
    pub members: Vec<usize>,
    /// Why it cannot be decoded: set when its form is one the chain cannot express (BCJ2).
    unsupported: Option<String>,
}

impl Folder {
    /// Its methods, in the archive's notation, e.g. `"LZMA2"`, `"BCJ LZMA"`, `"7zAES LZMA2"`.
    pub fn methods(&self) -> String {
        let names: Vec<&str> = self.chain.iter().rev().map(|c| method_name(c.id)).collect();
        names.join(" ")
    }

    /// Why its members cannot be read, before anything is decoded: encrypted, a method not
    /// decoded here, or a decoder asking for more memory than [`MEMLIMIT`].
    pub fn problem(&self) -> Option<SevenZError> {
        if self.chain.iter().any(|c| c.id == ID_AES) {
            let why = format!("encrypted ({})", self.methods());
            return Some(SevenZError::new(Fault::Encrypted, why));
        }
        if let Some(what) = &self.unsupported {
            return Some(SevenZError::new(Fault::Unsupported, what.clone()));
        }
        for c in &self.chain {
            if !DECODED.contains(&c.id) {
                let why = format!("compressed with {}", method_name(c.id));
                return Some(SevenZError::new(Fault::Unsupported, why));
            }
            match decoder_memory(c) {
                Err(e) => return Some(e),
                Ok(m) if m > MEMLIMIT => {
                    let why = format!(
                        "its {} decoder needs {m} bytes of memory, over the limit of \
                         {MEMLIMIT}",
                        method_name(c.id)
                    );
                    return Some(SevenZError::new(Fault::Limit, why));
                }
                Ok(_) => {}
            }
        }
        None
    }

    /// A reader of its decoded bytes, from the archive `bytes`: exactly
    /// [`Folder::unpack_size`] bytes at most (fewer when the data is cut short: the caller
    /// counts). Every coder's output is bounded by its declared size.
    ///
    /// # Errors
    /// [`Folder::problem`], or a decoder that cannot start on these bytes.
    pub fn reader<'a>(&self, bytes: &'a [u8]) -> Result<Box<dyn Read + Send + 'a>, SevenZError> {
        if let Some(e) = self.problem() {
            return Err(e);
        }
        let range = usize::try_from(self.packed.start)
            .ok()
            .zip(usize::try_from(self.packed.end).ok())
            .filter(|(s, e)| s <= e && *e <= bytes.len())
            .ok_or_else(|| SevenZError::malformed("packed data past the end of the archive"))?;
        let mut r: Box<dyn Read + Send + 'a> = Box::new(&bytes[range.0..range.1]);
        for c in &self.chain {
            r = Box::new(decoder(c, r)?.take(c.unpack_size));
        }
        Ok(r)
    }
}

/// A 7z archive's header, read and checked: its members and its blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SevenZ {
    /// Every member, in the header's order.
    pub entries: Vec<Entry>,
    /// Every block, in the order of their packed data.
    pub folders: Vec<Folder>,
}

const ID_COPY: u64 = 0x00;
const ID_DELTA: u64 = 0x03;
const ID_BCJ_X86: u64 = 0x0303_0103;
const ID_BCJ_PPC: u64 = 0x0303_0205;
const ID_BCJ_IA64: u64 = 0x0303_0401;
const ID_BCJ_ARM: u64 = 0x0303_0501;
const ID_BCJ_ARMT: u64 = 0x0303_0701;
const ID_BCJ_SPARC: u64 = 0x0303_0805;
const ID_BCJ2: u64 = 0x0303_011B;
const ID_ARM64: u64 = 0x0A;
const ID_RISCV: u64 = 0x0B;
const ID_LZMA2: u64 = 0x21;
const ID_LZMA: u64 = 0x03_0101;
const ID_PPMD: u64 = 0x03_0401;
const ID_DEFLATE: u64 = 0x04_0108;
const ID_DEFLATE64: u64 = 0x04_0109;
const ID_BZIP2: u64 = 0x04_0202;
const ID_AES: u64 = 0x06F1_0701;

/// Methods decoded here.
const DECODED: &[u64] = &[
    ID_COPY,
    ID_DELTA,
    ID_BCJ_X86,
    ID_BCJ_PPC,
    ID_BCJ_IA64,
    ID_BCJ_ARM,
    ID_BCJ_ARMT,
    ID_BCJ_SPARC,
    ID_ARM64,
    ID_RISCV,
    ID_LZMA2,
    ID_LZMA,
    ID_PPMD,
    ID_DEFLATE,
    ID_BZIP2,
];

/// A method's name as 7-Zip prints it (`7z i`), or its id in hex.
fn method_name(id: u64) -> &'static str {
    match id {
        ID_COPY => "Copy",
        ID_DELTA => "Delta",
        ID_BCJ_X86 => "BCJ",
        ID_BCJ_PPC => "PPC",
        ID_BCJ_IA64 => "IA64",
        ID_BCJ_ARM => "ARM",
        ID_BCJ_ARMT => "ARMT",
        ID_BCJ_SPARC => "SPARC",
        ID_BCJ2 => "BCJ2",
        ID_ARM64 => "ARM64",
        ID_RISCV => "RISCV",
        ID_LZMA2 => "LZMA2",
        ID_LZMA => "LZMA",
        ID_PPMD => "PPMD",
        ID_DEFLATE => "Deflate",
        ID_DEFLATE64 => "Deflate64",
        ID_BZIP2 => "BZip2",
        ID_AES => "7zAES",
        0x04_F7_11_01 => "ZSTD",
        0x04_F7_11_02 => "Brotli",
        0x04_F7_11_04 => "LZ4",
        0x06F0_0181 => "AES256CBC",
        _ => "an unknown method",
    }
}

/// The memory a coder's decoder asks for, from its properties (an LZMA dictionary is bounded
/// by the bytes it decodes: it never holds more).
fn decoder_memory(c: &Coder) -> Result<u64, SevenZError> {
    let bad =
        |what: &str| SevenZError::malformed(format!("{} properties {what}", method_name(c.id)));
    Ok(match c.id {
        ID_LZMA => {
            let p: [u8; 5] = c
                .props
                .get(..5)
                .and_then(|p| p.try_into().ok())
                .ok_or_else(|| bad("too short"))?;
            let dict = u64::from(u32::from_le_bytes([p[1], p[2], p[3], p[4]]));
            dict.min(c.unpack_size)
        }
        ID_LZMA2 => u64::from(lzma2_dict(c)?).min(c.unpack_size),
        ID_PPMD => {
            let (_, mem) = ppmd_props(c)?;
            u64::from(mem)
        }
        _ => 0,
    })
}

fn lzma2_dict(c: &Coder) -> Result<u32, SevenZError> {
    let bits = u32::from(
        *c.props
            .first()
            .ok_or_else(|| SevenZError::malformed("LZMA2 properties too short"))?,
    );
    if bits > 40 {
        return Err(SevenZError::malformed("LZMA2 dictionary size over 4 GiB"));
    }
    Ok(if bits == 40 {
        u32::MAX
    } else {
        (2 | (bits & 1)) << (bits / 2 + 11)
    })
}

fn ppmd_props(c: &Coder) -> Result<(u32, u32), SevenZError> {
    let p = c
        .props
        .get(..5)
        .ok_or_else(|| SevenZError::malformed("PPMD properties too short"))?;
    let order = u32::from(p[0]);
    let mem = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
    if !(ppmd_rust::PPMD7_MIN_ORDER..=ppmd_rust::PPMD7_MAX_ORDER).contains(&order)
        || !(ppmd_rust::PPMD7_MIN_MEM_SIZE..=ppmd_rust::PPMD7_MAX_MEM_SIZE).contains(&mem)
    {
        return Err(SevenZError::malformed(
            "PPMD order or memory size out of range",
        ));
    }
    Ok((order, mem))
}

/// The decoder of one coder over `input`.
fn decoder<'a>(
    c: &Coder,
    input: Box<dyn Read + Send + 'a>,
) -> Result<Box<dyn Read + Send + 'a>, SevenZError> {
    use lzma_rust2::filter::{bcj::BcjReader, delta::DeltaReader};
    let start =
        |e: io::Error| SevenZError::malformed(format!("{} decoder: {e}", method_name(c.id)));
    Ok(match c.id {
        ID_COPY => input,
        ID_LZMA => {
            let mem = decoder_memory(c)?;
            let props = c.props[0];
            // The dictionary is allocated at most as large as what it decodes.
            let dict = u32::try_from(mem).unwrap_or(u32::MAX);
            Box::new(
                lzma_rust2::LzmaReader::new_with_props(input, c.unpack_size, props, dict, None)
                    .map_err(start)?,
            )
        }
        ID_LZMA2 => {
            let dict = u32::try_from(decoder_memory(c)?)
                .unwrap_or(u32::MAX)
                .max(4096);
            Box::new(lzma_rust2::Lzma2Reader::new(input, dict, None))
        }
        ID_PPMD => {
            let (order, mem) = ppmd_props(c)?;
            let d = ppmd_rust::Ppmd7Decoder::new(input, order, mem)
                .map_err(|e| SevenZError::malformed(format!("PPMD decoder: {e}")))?;
            Box::new(d)
        }
        ID_BZIP2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
        ID_DEFLATE => Box::new(flate2::read::DeflateDecoder::new(input)),
        ID_DELTA => {
            let distance = usize::from(c.props.first().copied().unwrap_or(0)) + 1;
            Box::new(DeltaReader::new(input, distance))
        }
        ID_BCJ_X86 => Box::new(BcjReader::new_x86(input, 0)),
        ID_BCJ_PPC => Box::new(BcjReader::new_ppc(input, 0)),
        ID_BCJ_IA64 => Box::new(BcjReader::new_ia64(input, 0)),
        ID_BCJ_ARM => Box::new(BcjReader::new_arm(input, 0)),
        ID_BCJ_ARMT => Box::new(BcjReader::new_arm_thumb(input, 0)),
        ID_BCJ_SPARC => Box::new(BcjReader::new_sparc(input, 0)),
        ID_ARM64 => Box::new(BcjReader::new_arm64(input, 0)),
        ID_RISCV => Box::new(BcjReader::new_riscv(input, 0)),
        other => {
            let why = format!("compressed with {}", method_name(other));
            return Err(SevenZError::new(Fault::Unsupported, why));
        }
    })
}

/// A cursor over header bytes; every read is bounds-checked.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Cur<'a> {
        Cur { b, pos: 0 }
    }

    fn left(&self) -> u64 {
        (self.b.len() - self.pos) as u64
    }

    fn short() -> SevenZError {
        SevenZError::malformed("header cut short")
    }

    fn u8(&mut self) -> Result<u8, SevenZError> {
        let v = *self.b.get(self.pos).ok_or_else(Cur::short)?;
        self.pos += 1;
        Ok(v)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], SevenZError> {
        if n > self.left() {
            return Err(Cur::short());
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, SevenZError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// 7z's variable-length number: the first byte's high bits say how many bytes follow.
    fn num(&mut self) -> Result<u64, SevenZError> {
        let first = self.u8()?;
        let mut mask = 0x80u8;
        let mut value = 0u64;
        for i in 0..8 {
            if first & mask == 0 {
                let high = u64::from(first & mask.wrapping_sub(1));
                return Ok(value | (high << (8 * i)));
            }
            value |= u64::from(self.u8()?) << (8 * i);
            mask >>= 1;
        }
        Ok(value)
    }

    /// A count of things each taking at least one more byte of the header: bounded by the
    /// bytes left, so that nothing is allocated from a count the header cannot hold.
    fn count(&mut self, what: &str) -> Result<usize, SevenZError> {
        let n = self.num()?;
        if n > self.left() {
            return Err(SevenZError::malformed(format!(
                "{what}: {n} declared in a header of {} bytes",
                self.b.len()
            )));
        }
        Ok(n as usize)
    }

    /// A bit vector of `n` bits, most significant bit first.
    fn bits(&mut self, n: usize) -> Result<Vec<bool>, SevenZError> {
        let bytes = self.take(n.div_ceil(8) as u64)?;
        Ok((0..n)
            .map(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect())
    }

    /// A bit vector preceded by an "all defined" byte. Every defined item is followed by a
    /// value of its own (a CRC), so more than the bytes left cannot all be defined.
    fn all_or_bits(&mut self, n: usize) -> Result<Vec<bool>, SevenZError> {
        if self.u8()? != 0 {
            if n as u64 > self.left() {
                return Err(Cur::short());
            }
            Ok(vec![true; n])
        } else {
            self.bits(n)
        }
    }

    fn expect(&mut self, id: u8, what: &str) -> Result<(), SevenZError> {
        let got = self.u8()?;
        if got != id {
            return Err(SevenZError::malformed(format!(
                "{what} expected (property {id:#x}), found property {got:#x}"
            )));
        }
        Ok(())
    }
}

const K_END: u8 = 0x00;
const K_HEADER: u8 = 0x01;
const K_ARCHIVE_PROPERTIES: u8 = 0x02;
const K_ADDITIONAL_STREAMS: u8 = 0x03;
const K_MAIN_STREAMS: u8 = 0x04;
const K_FILES: u8 = 0x05;
const K_PACK_INFO: u8 = 0x06;
const K_UNPACK_INFO: u8 = 0x07;
const K_SUBSTREAMS: u8 = 0x08;
const K_SIZE: u8 = 0x09;
const K_CRC: u8 = 0x0A;
const K_FOLDER: u8 = 0x0B;
const K_UNPACK_SIZE: u8 = 0x0C;
const K_NUM_UNPACK_STREAM: u8 = 0x0D;
const K_EMPTY_STREAM: u8 = 0x0E;
const K_EMPTY_FILE: u8 = 0x0F;
const K_ANTI: u8 = 0x10;
const K_NAME: u8 = 0x11;
const K_ENCODED_HEADER: u8 = 0x17;

/// A block as its header describes it, before its packed data is located.
struct RawFolder {
    chain: Vec<Coder>,
    /// Output streams of all its coders.
    outputs: usize,
    /// Sizes of every coder's output, in coder order.
    unpack_sizes: Vec<u64>,
    /// Index of the coder whose output is the block's.
    main: usize,
    /// Decode order, coder indices.
    order: Vec<usize>,
    crc: Option<u32>,
    unsupported: Option<String>,
    packed_streams: usize,
}

/// The streams part of a header: packed streams, blocks, and the members' sizes and CRCs.
#[derive(Default)]
struct Streams {
    pack_pos: u64,
    pack_sizes: Vec<u64>,
    folders: Vec<RawFolder>,
    /// Per block, the sizes and CRCs of the members it holds.
    substreams: Vec<Vec<(u64, Option<u32>)>>,
}

fn read_folder(c: &mut Cur<'_>) -> Result<RawFolder, SevenZError> {
    let ncoders = c.num()?;
    if ncoders == 0 || ncoders > MAX_CODERS {
        return Err(SevenZError::malformed(format!(
            "a block with {ncoders} coders"
        )));
    }
    let mut coders = Vec::new();
    let (mut total_in, mut total_out) = (0u64, 0u64);
    let mut complex = false;
    for _ in 0..ncoders {
        let flags = c.u8()?;
        let id_len = u64::from(flags & 0x0F);
        if flags & 0x80 != 0 {
            return Err(SevenZError::new(
                Fault::Unsupported,
                "a coder with alternative methods",
            ));
        }
        let id_bytes = c.take(id_len)?;
        let id = if id_len > 8 {
            u64::MAX
        } else {
            id_bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
        };
        let (nin, nout) = if flags & 0x10 != 0 {
            (c.num()?, c.num()?)
        } else {
            (1, 1)
        };
        if nin > MAX_CODERS || nout == 0 || nout > MAX_CODERS {
            return Err(SevenZError::malformed(format!(
                "a coder with {nin} inputs and {nout} outputs"
            )));
        }
        complex |= nin != 1 || nout != 1;
        total_in += nin;
        total_out += nout;
        let props = if flags & 0x20 != 0 {
            let n = c.count("coder properties")?;
            c.take(n as u64)?.to_vec()
        } else {
            Vec::new()
        };
        coders.push((id, props, nin));
    }
    let bind_pairs = total_out - 1;
    if total_in < bind_pairs {
        return Err(SevenZError::malformed("more bind pairs than coder inputs"));
    }
    let mut binds = Vec::new();
    for _ in 0..bind_pairs {
        let (i, o) = (c.num()?, c.num()?);
        if i >= total_in || o >= total_out {
            return Err(SevenZError::malformed("a bind pair out of range"));
        }
        binds.push((i, o));
    }
    let packed = total_in - bind_pairs;
    let mut packed_in = Vec::new();
    if packed == 1 {
        let free = (0..total_in).find(|i| !binds.iter().any(|b| b.0 == *i));
        packed_in.push(free.ok_or_else(|| SevenZError::malformed("no packed stream in a block"))?);
    } else {
        for _ in 0..packed {
            let i = c.num()?;
            if i >= total_in {
                return Err(SevenZError::malformed("a packed stream out of range"));
            }
            packed_in.push(i);
        }
    }
    // The block's output: the one output no bind pair consumes.
    let main = (0..total_out)
        .find(|o| !binds.iter().any(|b| b.1 == *o))
        .ok_or_else(|| SevenZError::malformed("every coder output is bound: no block output"))?
        as usize;
    let chain: Vec<Coder> = coders
        .iter()
        .map(|(id, props, _)| Coder {
            id: *id,
            props: props.clone(),
            unpack_size: 0,
        })
        .collect();
    let mut order = Vec::new();
    let mut unsupported = None;
    if complex || packed != 1 {
        let names: Vec<&str> = coders.iter().map(|(id, _, _)| method_name(*id)).collect();
        unsupported = Some(format!(
            "compressed with {} (a block of several streams)",
            names.join(" ")
        ));
    } else {
        // Simple coders: input i and output i are coder i's. From the coder reading the
        // packed stream, follow each output to the coder it feeds, up to the block's output.
        let mut at = packed_in[0] as usize;
        loop {
            if order.contains(&at) || order.len() > chain.len() {
                return Err(SevenZError::malformed("the coders of a block form a loop"));
            }
            order.push(at);
            if at == main {
                break;
            }
            let next = binds
                .iter()
                .find(|b| b.1 == at as u64)
                .ok_or_else(|| SevenZError::malformed("a coder's output goes nowhere"))?;
            at = next.0 as usize;
        }
        if order.len() != chain.len() {
            return Err(SevenZError::malformed("a coder of a block is not used"));
        }
    }
    Ok(RawFolder {
        chain,
        outputs: total_out as usize,
        unpack_sizes: Vec::new(),
        main,
        order,
        crc: None,
        unsupported,
        packed_streams: packed as usize,
    })
}

fn read_streams(c: &mut Cur<'_>) -> Result<Streams, SevenZError> {
    let mut s = Streams::default();
    let mut id = c.u8()?;
    if id == K_PACK_INFO {
        s.pack_pos = c.num()?;
        let n = c.count("packed streams")?;
        id = c.u8()?;
        if id == K_SIZE {
            for _ in 0..n {
                s.pack_sizes.push(c.num()?);
            }
            id = c.u8()?;
        } else {
            return Err(SevenZError::malformed("packed streams without sizes"));
        }
        if id == K_CRC {
            let defined = c.all_or_bits(n)?;
            for d in defined {
                if d {
                    c.u32()?;
                }
            }
            id = c.u8()?;
        }
        if id != K_END {
            return Err(SevenZError::malformed(
                "packed stream information not terminated",
            ));
        }
        id = c.u8()?;
    }
    if id == K_UNPACK_INFO {
        c.expect(K_FOLDER, "block list")?;
        let n = c.count("blocks")?;
        if c.u8()? != 0 {
            return Err(SevenZError::new(
                Fault::Unsupported,
                "blocks stored elsewhere (external)",
            ));
        }
        for _ in 0..n {
            s.folders.push(read_folder(c)?);
        }
        c.expect(K_UNPACK_SIZE, "block sizes")?;
        for f in &mut s.folders {
            for _ in 0..f.outputs {
                f.unpack_sizes.push(c.num()?);
            }
        }
        id = c.u8()?;
        if id == K_CRC {
            let defined = c.all_or_bits(n)?;
            for (f, d) in s.folders.iter_mut().zip(defined) {
                if d {
                    f.crc = Some(c.u32()?);
                }
            }
            id = c.u8()?;
        }
        if id != K_END {
            return Err(SevenZError::malformed("block information not terminated"));
        }
        id = c.u8()?;
    }
    let unpack = |f: &RawFolder| f.unpack_sizes.get(f.main).copied().unwrap_or(0);
    let mut counts = vec![1usize; s.folders.len()];
    if id == K_SUBSTREAMS {
        id = c.u8()?;
        if id == K_NUM_UNPACK_STREAM {
            for n in counts.iter_mut() {
                let k = c.num()?;
                // Every member but a block's last takes a size byte at least.
                if k > c.left() + 1 {
                    return Err(SevenZError::malformed(format!(
                        "a block of {k} members in a header of {} bytes",
                        c.b.len()
                    )));
                }
                *n = k as usize;
            }
            id = c.u8()?;
        }
        let sizes_given = id == K_SIZE;
        for (f, &n) in s.folders.iter().zip(&counts) {
            let mut v = Vec::new();
            if n == 0 {
                s.substreams.push(v);
                continue;
            }
            let total = unpack(f);
            let mut sum = 0u64;
            if sizes_given {
                for _ in 1..n {
                    let size = c.num()?;
                    sum = sum
                        .checked_add(size)
                        .filter(|&s| s <= total)
                        .ok_or_else(|| SevenZError::malformed("members larger than their block"))?;
                    v.push((size, None));
                }
            } else if n > 1 {
                return Err(SevenZError::malformed(
                    "a block of several members without their sizes",
                ));
            }
            v.push((total - sum, None));
            s.substreams.push(v);
        }
        if sizes_given {
            id = c.u8()?;
        }
        if id == K_CRC {
            let wanted: usize = s
                .folders
                .iter()
                .zip(&counts)
                .filter(|(f, &n)| !(n == 1 && f.crc.is_some()))
                .map(|(_, &n)| n)
                .sum();
            if wanted as u64 > c.left() * 8 + 8 {
                return Err(SevenZError::malformed(
                    "more CRCs declared than the header holds",
                ));
            }
            let defined = c.all_or_bits(wanted)?;
            let mut d = defined.into_iter();
            for (f, subs) in s.folders.iter().zip(s.substreams.iter_mut()) {
                if subs.len() == 1 && f.crc.is_some() {
                    continue;
                }
                for sub in subs.iter_mut() {
                    if d.next() == Some(true) {
                        sub.1 = Some(c.u32()?);
                    }
                }
            }
            id = c.u8()?;
        }
        if id != K_END {
            return Err(SevenZError::malformed(
                "member stream information not terminated",
            ));
        }
        if c.u8()? != K_END {
            return Err(SevenZError::malformed("stream information not terminated"));
        }
    } else {
        for f in &s.folders {
            s.substreams.push(vec![(unpack(f), None)]);
        }
        if id != K_END {
            return Err(SevenZError::malformed("stream information not terminated"));
        }
    }
    // A block holding one member: the block's CRC is the member's.
    for (f, subs) in s.folders.iter().zip(s.substreams.iter_mut()) {
        if let [only] = subs.as_mut_slice() {
            only.1 = only.1.or(f.crc);
        }
    }
    Ok(s)
}

/// Places every block's packed data in the archive of `len` bytes and sets its coders'
/// sizes; a block whose data lies outside is malformed.
fn locate(s: &Streams, len: u64) -> Result<Vec<Folder>, SevenZError> {
    let mut at = SIGNATURE_HEADER_LEN
        .checked_add(s.pack_pos)
        .filter(|&a| a <= len)
        .ok_or_else(|| SevenZError::malformed("packed data starts past the end of the archive"))?;
    let mut next_pack = 0usize;
    let mut folders = Vec::new();
    for f in &s.folders {
        let start = at;
        for _ in 0..f.packed_streams {
            let size = *s
                .pack_sizes
                .get(next_pack)
                .ok_or_else(|| SevenZError::malformed("fewer packed streams than blocks need"))?;
            next_pack += 1;
            at = at.checked_add(size).filter(|&e| e <= len).ok_or_else(|| {
                SevenZError::malformed("packed data runs past the end of the archive")
            })?;
        }
        let mut chain = Vec::new();
        for &i in &f.order {
            let mut c = f.chain[i].clone();
            c.unpack_size = f.unpack_sizes[i];
            chain.push(c);
        }
        folders.push(Folder {
            chain,
            packed: start..at,
            unpack_size: f.unpack_sizes.get(f.main).copied().unwrap_or(0),
            members: Vec::new(),
            unsupported: f.unsupported.clone(),
        });
    }
    Ok(folders)
}

/// Decodes an encoded header's block (7-Zip compresses headers with LZMA by default, and
/// encrypts them with `-mhe=on`), bounded by [`MAX_HEADER`] and `--max-ratio`.
fn decode_header(bytes: &[u8], c: &mut Cur<'_>, limits: &Limits) -> Result<Vec<u8>, SevenZError> {
    let s = read_streams(c)?;
    let folders = locate(&s, bytes.len() as u64)?;
    let (Some(f), Some(raw)) = (folders.first(), s.folders.first()) else {
        return Err(SevenZError::malformed("an encoded header without a block"));
    };
    if f.chain.iter().any(|c| c.id == ID_AES) {
        return Err(SevenZError::new(
            Fault::Encrypted,
            "its header is encrypted (7zAES, 7z -mhe), so were its member names",
        ));
    }
    if let Some(e) = f.problem() {
        return Err(SevenZError::new(
            e.fault,
            format!("its header: {}", e.reason),
        ));
    }
    let packed = f.packed.end - f.packed.start;
    let by_ratio = packed.saturating_mul(limits.max_ratio).max(1 << 16);
    if f.unpack_size > MAX_HEADER.min(by_ratio) {
        return Err(SevenZError::new(
            Fault::Limit,
            format!(
                "its header declares {} bytes from {packed} packed: over the limit of {} \
                 (64 MiB, or --max-ratio times its packed size)",
                f.unpack_size,
                MAX_HEADER.min(by_ratio)
            ),
        ));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(f.unpack_size as usize)
        .map_err(|e| SevenZError::new(Fault::Limit, e.to_string()))?;
    f.reader(bytes)?
        .read_to_end(&mut out)
        .map_err(|e| SevenZError::malformed(format!("its header does not decode: {e}")))?;
    if out.len() as u64 != f.unpack_size {
        return Err(SevenZError::malformed("its header is cut short"));
    }
    if let Some(crc) = raw.crc {
        if crc32(&out) != crc {
            return Err(SevenZError::malformed("its header fails its CRC"));
        }
    }
    Ok(out)
}

/// The CRC-32 (IEEE) of `b`.
pub fn crc32(b: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(b);
    c.sum()
}

/// Reads and checks the header of the 7z archive `bytes` (see the module doc).
///
/// # Errors
/// A [`SevenZError`] saying why no member can be read: malformed, an encrypted header,
/// more members than `limits.max_members`, a header over [`MAX_HEADER`].
pub fn open(bytes: &[u8], limits: &Limits) -> Result<SevenZ, SevenZError> {
    if !is_7z(bytes) {
        return Err(SevenZError::malformed("no 7z signature header"));
    }
    if bytes[6] != 0 {
        return Err(SevenZError::new(
            Fault::Unsupported,
            format!("format version {}.{}", bytes[6], bytes[7]),
        ));
    }
    let start = &bytes[12..32];
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if stored == 0 && start.iter().all(|&b| b == 0) {
        return Err(SevenZError::malformed(
            "its start header is empty (an archive never finished, or damaged)",
        ));
    }
    if crc32(start) != stored {
        return Err(SevenZError::malformed("its start header fails its CRC"));
    }
    let u64_at = |i: usize| u64::from_le_bytes(start[i..i + 8].try_into().unwrap_or([0; 8]));
    let (offset, size) = (u64_at(0), u64_at(8));
    let crc = u32::from_le_bytes([start[16], start[17], start[18], start[19]]);
    if size == 0 {
        return Ok(SevenZ::default());
    }
    let range = SIGNATURE_HEADER_LEN
        .checked_add(offset)
        .and_then(|s| Some(s..s.checked_add(size)?))
        .filter(|r| r.end <= bytes.len() as u64)
        .ok_or_else(|| {
            SevenZError::malformed(format!(
                "its header ({size} bytes at {offset}) lies past the end of the archive \
                 ({} bytes): cut short?",
                bytes.len()
            ))
        })?;
    let next = &bytes[range.start as usize..range.end as usize];
    if crc32(next) != crc {
        return Err(SevenZError::malformed("its header fails its CRC"));
    }
    let mut c = Cur::new(next);
    match c.u8()? {
        K_ENCODED_HEADER => {
            let decoded = decode_header(bytes, &mut c, limits)?;
            let mut h = Cur::new(&decoded);
            h.expect(K_HEADER, "header")?;
            read_header(bytes.len() as u64, &mut h, limits)
        }
        K_HEADER => read_header(bytes.len() as u64, &mut c, limits),
        other => Err(SevenZError::malformed(format!(
            "no header where its start header points (property {other:#x})"
        ))),
    }
}

fn read_header(len: u64, c: &mut Cur<'_>, limits: &Limits) -> Result<SevenZ, SevenZError> {
    let mut id = c.u8()?;
    if id == K_ARCHIVE_PROPERTIES {
        loop {
            if c.u8()? == K_END {
                break;
            }
            let n = c.num()?;
            c.take(n)?;
        }
        id = c.u8()?;
    }
    if id == K_ADDITIONAL_STREAMS {
        return Err(SevenZError::new(
            Fault::Unsupported,
            "additional header streams",
        ));
    }
    let mut streams = Streams::default();
    if id == K_MAIN_STREAMS {
        streams = read_streams(c)?;
        id = c.u8()?;
    }
    let mut folders = locate(&streams, len)?;
    let mut entries = Vec::new();
    if id == K_FILES {
        entries = read_files(c, limits)?;
        id = c.u8()?;
    }
    if id != K_END {
        return Err(SevenZError::malformed("header not terminated"));
    }
    // The members with bytes take the blocks' streams in order.
    let mut with_stream = entries
        .iter_mut()
        .enumerate()
        .filter(|(_, e)| e.kind == EntryKind::File && e.folder.is_some());
    for (fi, (f, subs)) in folders.iter_mut().zip(&streams.substreams).enumerate() {
        for &(size, crc) in subs {
            let (i, e) = with_stream
                .next()
                .ok_or_else(|| SevenZError::malformed("more streams than members with data"))?;
            e.size = size;
            e.crc = crc;
            e.folder = Some(fi);
            f.members.push(i);
        }
    }
    if with_stream.next().is_some() {
        return Err(SevenZError::malformed(
            "more members with data than streams",
        ));
    }
    Ok(SevenZ { entries, folders })
}

/// The members' list: names, which have data (their block is set later), which are
/// directories or empty files.
fn read_files(c: &mut Cur<'_>, limits: &Limits) -> Result<Vec<Entry>, SevenZError> {
    let n = c.count("members")?;
    if n as u64 > limits.max_members {
        return Err(SevenZError::new(
            Fault::Limit,
            format!(
                "it declares {n} members, more than {} (--max-members): not read",
                limits.max_members
            ),
        ));
    }
    let mut empty_stream = vec![false; n];
    let mut empty_file: Vec<bool> = Vec::new();
    let mut anti: Vec<bool> = Vec::new();
    let mut names: Vec<Vec<u8>> = Vec::new();
    loop {
        let id = c.u8()?;
        if id == K_END {
            break;
        }
        let size = c.num()?;
        let mut p = Cur::new(c.take(size)?);
        let empties = empty_stream.iter().filter(|&&e| e).count();
        match id {
            K_EMPTY_STREAM => empty_stream = p.bits(n)?,
            K_EMPTY_FILE => empty_file = p.bits(empties)?,
            K_ANTI => anti = p.bits(empties)?,
            K_NAME => {
                if p.u8()? != 0 {
                    return Err(SevenZError::new(
                        Fault::Unsupported,
                        "member names stored elsewhere (external)",
                    ));
                }
                let raw = p.take(p.left())?;
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|u| u16::from_le_bytes([u[0], u[1]]))
                    .collect();
                for name in units.split_inclusive(|&u| u == 0) {
                    let Some((&0, name)) = name.split_last() else {
                        return Err(SevenZError::malformed("a member name not terminated"));
                    };
                    names.push(String::from_utf16_lossy(name).into_bytes());
                }
                if names.len() != n {
                    return Err(SevenZError::malformed(format!(
                        "{} names for {n} members",
                        names.len()
                    )));
                }
            }
            _ => {} // times, attributes, padding: not needed
        }
    }
    let mut k = 0;
    let mut entries = Vec::new();
    entries
        .try_reserve_exact(n)
        .map_err(|e| SevenZError::new(Fault::Limit, e.to_string()))?;
    for (i, &empty) in empty_stream.iter().enumerate() {
        let name = names.get_mut(i).map(std::mem::take).unwrap_or_default();
        let (kind, folder) = if !empty {
            (EntryKind::File, Some(usize::MAX))
        } else {
            let is_file = empty_file.get(k).copied().unwrap_or(false);
            let is_anti = anti.get(k).copied().unwrap_or(false);
            k += 1;
            let kind = match (is_anti, is_file) {
                (true, _) => EntryKind::Anti,
                (false, true) => EntryKind::File,
                (false, false) => EntryKind::Directory,
            };
            (kind, None)
        };
        entries.push(Entry {
            name,
            kind,
            size: 0,
            crc: None,
            folder,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/containers/");
        std::fs::read(format!("{p}{name}")).unwrap()
    }

    fn contents(bytes: &[u8]) -> Vec<(String, Result<Vec<u8>, String>)> {
        let a = open(bytes, &Limits::default()).unwrap();
        let mut out = Vec::new();
        for f in &a.folders {
            let mut r = match f.reader(bytes) {
                Ok(r) => r,
                Err(e) => {
                    for &m in &f.members {
                        let name = String::from_utf8_lossy(&a.entries[m].name).into_owned();
                        out.push((name, Err(e.to_string())));
                    }
                    continue;
                }
            };
            for &m in &f.members {
                let e = &a.entries[m];
                let mut buf = Vec::new();
                let got = (&mut r).take(e.size).read_to_end(&mut buf);
                let name = String::from_utf8_lossy(&e.name).into_owned();
                let ok = got.is_ok() && buf.len() as u64 == e.size && e.crc == Some(crc32(&buf));
                out.push((name, if ok { Ok(buf) } else { Err("bad".into()) }));
            }
        }
        out
    }

    #[test]
    fn every_method_decodes_and_verifies() {
        let c = fixture("../containers/c.txt.gz");
        let mut want = Vec::new();
        flate2::read::GzDecoder::new(&c[..])
            .read_to_end(&mut want)
            .unwrap();
        for f in [
            "archive.7z",
            "solid.7z",
            "lzma.7z",
            "bzip2.7z",
            "ppmd.7z",
            "deflate.7z",
            "copy.7z",
            "bcj.7z",
        ] {
            let got = contents(&fixture(f));
            let c = got
                .iter()
                .find(|(n, _)| n == "c.txt")
                .unwrap_or_else(|| panic!("{f}: {got:?}"));
            assert_eq!(c.1.as_deref().ok(), Some(&want[..]), "{f}");
            assert!(got.iter().all(|(_, r)| r.is_ok()), "{f}");
        }
    }

    #[test]
    fn solid_blocks_hold_many_members_in_order() {
        let z = fixture("solid.7z");
        let a = open(&z, &Limits::default()).unwrap();
        assert_eq!(a.folders.len(), 1);
        assert!(a.folders[0].members.len() >= 3);
        let names: Vec<_> = a.folders[0]
            .members
            .iter()
            .map(|&m| a.entries[m].name.clone())
            .collect();
        assert!(names.contains(&b"dir/photo.jpg".to_vec()), "{names:?}");
        assert!(a.entries.iter().any(|e| e.kind == EntryKind::Directory));
        assert!(a
            .entries
            .iter()
            .any(|e| e.kind == EntryKind::File && e.folder.is_none()));
    }

    #[test]
    fn encryption_is_told_apart() {
        let a = open(&fixture("encrypted.7z"), &Limits::default()).unwrap();
        assert!(a
            .folders
            .iter()
            .all(|f| f.problem().is_some_and(|e| e.fault == Fault::Encrypted)));
        let e = open(&fixture("encrypted-header.7z"), &Limits::default()).unwrap_err();
        assert_eq!(e.fault, Fault::Encrypted, "{e}");
    }

    #[test]
    fn truncated_and_corrupt_never_panic() {
        let z = fixture("solid.7z");
        for cut in 0..z.len() {
            if let Ok(a) = open(&z[..cut], &Limits::default()) {
                for f in &a.folders {
                    if let Ok(mut r) = f.reader(&z[..cut]) {
                        let _ = io::copy(&mut r, &mut io::sink());
                    }
                }
            }
        }
        for i in 0..z.len() {
            for v in [0u8, 0xFF, 0x80, 0x01] {
                let mut c = z.clone();
                c[i] = v;
                if let Ok(a) = open(&c, &Limits::default()) {
                    for f in &a.folders {
                        if let Ok(mut r) = f.reader(&c) {
                            let _ = io::copy(&mut r, &mut io::sink());
                        }
                    }
                }
            }
        }
    }

    /// A 7z whose next header is `h` (plain or encoded), its start header and CRCs right.
    fn with_header(packed: &[u8], h: &[u8]) -> Vec<u8> {
        let mut start = Vec::new();
        start.extend((packed.len() as u64).to_le_bytes());
        start.extend((h.len() as u64).to_le_bytes());
        start.extend(crc32(h).to_le_bytes());
        let mut z = SIGNATURE.to_vec();
        z.extend([0, 4]);
        z.extend(crc32(&start).to_le_bytes());
        z.extend(start);
        z.extend(packed);
        z.extend(h);
        z
    }

    /// Counts and sizes that the header cannot hold are refused before anything is allocated
    /// from them: 2^40 members, 2^40 packed streams, an encoded header declaring 2^40 bytes, a
    /// block declaring an LZMA2 dictionary of 4 GiB for 4 GiB of output.
    #[test]
    fn crafted_counts_and_sizes_are_refused_before_allocation() {
        let huge = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1]; // 7z number: 2^56
        let mut h = vec![K_HEADER, K_FILES];
        h.extend(huge);
        h.push(K_END);
        h.push(K_END);
        let e = open(&with_header(&[], &h), &Limits::default()).unwrap_err();
        assert_eq!(e.fault, Fault::Malformed, "{e}");
        let mut h = vec![K_HEADER, K_MAIN_STREAMS, K_PACK_INFO, 0];
        h.extend(huge);
        let e = open(&with_header(&[], &h), &Limits::default()).unwrap_err();
        assert_eq!(e.fault, Fault::Malformed, "{e}");
        // An encoded header: one packed stream of 5 bytes, one Copy block declaring 2^56.
        let mut h = vec![K_ENCODED_HEADER, K_PACK_INFO, 0, 1, K_SIZE, 5, K_END];
        h.extend([K_UNPACK_INFO, K_FOLDER, 1, 0, 1, 0x01, 0x00, K_UNPACK_SIZE]);
        h.extend(huge);
        h.extend([K_END, K_END]);
        let e = open(&with_header(b"01234", &h), &Limits::default()).unwrap_err();
        assert_eq!(e.fault, Fault::Limit, "{e}");
        // A block: LZMA2 with a 4 GiB dictionary (property 40), 2^56 bytes out: refused.
        let mut h = vec![
            K_HEADER,
            K_MAIN_STREAMS,
            K_PACK_INFO,
            0,
            1,
            K_SIZE,
            5,
            K_END,
        ];
        h.extend([
            K_UNPACK_INFO,
            K_FOLDER,
            1,
            0,
            1,
            0x21,
            0x21,
            1,
            40,
            K_UNPACK_SIZE,
        ]);
        h.extend(huge);
        h.extend([K_END, K_END, K_FILES, 1, K_END, K_END]);
        let a = open(&with_header(b"01234", &h), &Limits::default()).unwrap();
        let f = &a.folders[0];
        assert_eq!(f.problem().map(|e| e.fault), Some(Fault::Limit));
        assert!(f.reader(&with_header(b"01234", &h)).is_err());
    }

    #[test]
    fn counts_are_bounded_by_the_header() {
        let mut c = Cur::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        assert!(c.count("x").is_err());
        let l = Limits {
            max_members: 1,
            ..Limits::default()
        };
        let e = open(&fixture("solid.7z"), &l).unwrap_err();
        assert_eq!(e.fault, Fault::Limit);
    }
}

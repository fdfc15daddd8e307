//! Where items come from: paths given on the command line or in a list, directory trees
//! walked in parallel, and archives opened in place.
//!
//! [`walk`] turns inputs into `Found` events (a regular file to read, a failure, a skipped
//! special file); [`open`] turns one regular file into items: the file itself, or the members
//! of the tar archive it holds (found by its header, never by its name), read in place from the
//! memory map, or streamed through a decoder for `.tar.gz`, `.tar.zst`, `.tar.xz`, `.tar.bz2`;
//! or the members of the zip it holds ([`zip`]: found by its end record, also behind a
//! self-extractor's stub); or the members of a 7z ([`sevenz`]: found by its signature header,
//! each block decoded once); or the content of a single compressed stream ([`stream`]).
//! Every tar's and zip's members come out as one [`archive::Member`] type.

pub mod archive;
pub mod open;
pub mod sevenz;
pub mod stream;
pub mod tar;
pub mod walk;
pub mod zip;

pub use archive::Limits;
pub use open::OpenOptions;
pub(crate) use open::{open_file, Container};
pub(crate) use walk::{walk_inputs, Found};
pub use walk::{FileFilter, Shard, WalkOptions};

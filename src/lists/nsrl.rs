//! NIST NSRL Reference Data Set readers: RDS 2.x `NSRLFile.txt` rows ([`NsrlText`], fed by
//! the text loop in `text.rs`, split by `csv_rows.rs`; the header layout is read here) and
//! RDSv3 SQLite databases.
//!
//! RDS 2.x names its columns in a header line, so both layouts (2.0: `"SHA-1","MD5",
//! "CRC32","FileName",...`; 1.5: `"SHA-1","FileName",...,"MD4","MD5","CRC32",...`) are read
//! from the header, never from fixed positions. `FileName` keeps the vendor's bytes (often
//! Latin-1), and may hold commas inside its quotes.
//!
//! RDSv3 is an SQLite database in one of two shapes: "full" (normalised tables, `FILE` is a
//! view joining them) and "minimal" (`FILE` is a flat table, with a `DISTINCT_HASH` view).
//! Both expose `FILE(sha256, sha1, md5, file_name, file_size, package_id)`, which is what is
//! read, row by row through one prepared statement, with the database opened read-only.

use std::borrow::Cow;
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::csv_rows::{CsvRows, Fed, Fields};
use super::text::{at_line, Out, Record, Records};
use super::{
    parse_hex, quote, ListEntry, ListError, ListFormat, ListProblem, ListSummary, ListType,
};
use crate::hash::Algo;

/// The first 16 bytes of every SQLite 3 database file.
pub(super) const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// The columns of an `NSRLFile.txt`, from its header line.
#[derive(Clone, Debug)]
pub(super) struct Cols {
    /// (column, algorithm) of each digest column read.
    hashes: Vec<(usize, Algo)>,
    /// The `FileName` column.
    name: Option<usize>,
    /// Number of columns.
    len: usize,
}

impl Cols {
    /// Reads the header line's fields.
    pub(super) fn from_header(
        fields: &Fields<'_>,
        declared: Option<ListType>,
        notes: &mut Vec<String>,
    ) -> Result<Cols, String> {
        let mut cols = Cols {
            hashes: Vec::new(),
            name: None,
            len: fields.len(),
        };
        for (i, f) in fields.iter().enumerate() {
            match f.trim_ascii() {
                b"SHA-1" => cols.hashes.push((i, Algo::Sha1)),
                b"MD5" => cols.hashes.push((i, Algo::Md5)),
                b"SHA-256" => cols.hashes.push((i, Algo::Sha256)),
                b"FileName" => cols.name = Some(i),
                c @ (b"CRC32" | b"MD4") => {
                    let note = format!(
                        "NSRL column {} skipped: vigie does not compute it",
                        String::from_utf8_lossy(c)
                    );
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                }
                _ => {}
            }
        }
        if cols.hashes.is_empty() {
            return Err("NSRL header without a SHA-1, MD5 or SHA-256 column".into());
        }
        if let Some(d) = declared {
            let ListType::Exact(d) = d else {
                return Err(format!(
                    "{d} was declared but NSRL lists hold no {d} hashes"
                ));
            };
            cols.hashes.retain(|&(_, a)| a == d);
            if cols.hashes.is_empty() {
                return Err(format!(
                    "{d} was declared but the NSRL file has no {d} column"
                ));
            }
        }
        Ok(cols)
    }

    /// Reads one data row: one entry per digest column.
    fn row(&self, fields: &Fields<'_>, line: u64, out: &mut Out<'_>) {
        if fields.len() != self.len {
            let all: Vec<&[u8]> = fields.iter().collect();
            out.problem(
                line,
                format!(
                    "{} fields where the NSRL header names {}: {}",
                    fields.len(),
                    self.len,
                    quote(&all.join(&b","[..]))
                ),
            );
            return;
        }
        let name = self
            .name
            .and_then(|i| fields.get(i))
            .filter(|n| !n.is_empty());
        for &(i, algo) in &self.hashes {
            let hex = fields.get(i).unwrap_or_default().trim_ascii();
            match parse_hex(hex, Some(ListType::Exact(algo)), None) {
                Ok(hash) => {
                    out.entry(ListEntry::new(hash, line).with_name(name.map(Cow::Borrowed)))
                }
                Err(reason) => out.problem(line, format!("{algo} column: {reason}")),
            }
        }
    }
}

/// [`ListFormat::Nsrl`]: `NSRLFile.txt`, a quoted CSV whose header line (repeated where
/// split parts were concatenated) names the columns.
pub(super) struct NsrlText {
    declared: Option<ListType>,
    rows: CsvRows,
    cols: Option<Cols>,
}

impl NsrlText {
    pub(super) fn new(declared: Option<ListType>) -> Self {
        NsrlText {
            declared,
            rows: CsvRows::new(super::MAX_LINE),
            cols: None,
        }
    }

    /// One record: a header, or a row read with the last header's columns.
    fn read(&mut self, line: u64, out: &mut Out<'_>) -> Result<(), String> {
        let fields = self.rows.fields();
        if fields.get(0) == Some(b"SHA-1") {
            self.cols = Some(
                Cols::from_header(&fields, self.declared, out.notes)
                    .map_err(|r| at_line(line, r))?,
            );
            return Ok(());
        }
        match &self.cols {
            Some(cols) => cols.row(&fields, line, out),
            None => out.problem(line, "data before the NSRL header line".into()),
        }
        Ok(())
    }
}

impl Records for NsrlText {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        match self.rows.feed(r.line, r.rec) {
            Ok(Fed::Record) => self.read(self.rows.line(), out),
            Ok(Fed::More) => Ok(()),
            Err(reason) => {
                out.problem(self.rows.line(), reason);
                Ok(())
            }
        }
    }

    fn pending(&self) -> bool {
        self.rows.pending()
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), String> {
        match self.rows.flush() {
            true => self.read(self.rows.line(), out),
            false => Ok(()),
        }
    }
}

/// Reads an RDSv3 database: every row of `FILE`, one entry per digest column (only the
/// declared algorithm's when one is declared). The record number in problems is the row
/// number in `FILE`'s order.
pub(super) fn read_rdsv3(
    path: &Path,
    declared: Option<ListType>,
    mut on_entry: impl FnMut(ListEntry<'_>),
    mut on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    let err = |what: &str, e: rusqlite::Error| ListError::Format {
        path: path.to_owned(),
        reason: format!("{what}: SQLite: {e} (a truncated or damaged RDSv3 database?)"),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err("cannot open the database", e))?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'FILE' AND type IN ('table', 'view')",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| err("reading the schema", e))?;
    let shape = match kind.as_deref() {
        Some("view") => "full",
        Some(_) => "minimal",
        None => {
            return Err(ListError::Format {
                path: path.to_owned(),
                reason: "SQLite database without a FILE table or view: not an NSRL RDSv3 \
                         database"
                    .into(),
            })
        }
    };
    let algos: Vec<Algo> = [Algo::Sha256, Algo::Sha1, Algo::Md5]
        .into_iter()
        .filter(|&a| match declared {
            None => true,
            Some(ListType::Exact(d)) => d == a,
            Some(ListType::Pdq | ListType::Img(_) | ListType::Vpdq) => false,
        })
        .collect();
    if algos.is_empty() {
        return Err(ListError::Format {
            path: path.to_owned(),
            reason: format!(
                "{} was declared but RDSv3 holds sha256, sha1 and md5 only",
                declared.map(|d| d.to_string()).unwrap_or_default()
            ),
        });
    }
    let columns: Vec<&str> = algos.iter().map(|a| a.name()).collect();
    let sql = format!("SELECT {}, file_name FROM FILE", columns.join(", "));
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| err("FILE has no sha256, sha1, md5 and file_name columns", e))?;
    let mut rows = stmt.query([]).map_err(|e| err("reading FILE", e))?;
    let mut summary = ListSummary {
        format: ListFormat::Rdsv3,
        nul_terminated: false,
        notes: vec![format!("RDSv3 {shape} shape")],
        lines: 0,
    };
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(err(&format!("row {}", summary.lines + 1), e)),
        };
        summary.lines += 1;
        let line = summary.lines;
        let name = match row.get_ref(algos.len()) {
            Ok(ValueRef::Text(t) | ValueRef::Blob(t)) if !t.is_empty() => Some(t),
            _ => None,
        };
        for (i, &algo) in algos.iter().enumerate() {
            let hex = match row.get_ref(i) {
                Ok(ValueRef::Text(t)) => t,
                Ok(ValueRef::Null) => {
                    on_problem(ListProblem {
                        line,
                        reason: format!("{algo} is NULL"),
                    });
                    continue;
                }
                Ok(other) => {
                    on_problem(ListProblem {
                        line,
                        reason: format!("{algo} is not text but {:?}", other.data_type()),
                    });
                    continue;
                }
                Err(e) => return Err(err(&format!("row {line}"), e)),
            };
            match parse_hex(hex.trim_ascii(), Some(ListType::Exact(algo)), None) {
                Ok(hash) => on_entry(ListEntry::new(hash, line).with_name(name.map(Cow::Borrowed))),
                Err(reason) => on_problem(ListProblem {
                    line,
                    reason: format!("{algo}: {reason}"),
                }),
            }
        }
    }
    Ok(summary)
}

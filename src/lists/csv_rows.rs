//! The CSV text formats: [`CsvRows`] splits records into fields with the `csv` crate's parser
//! (`csv-core`, the state machine under `csv::Reader`), and the parsers of the ThreatExchange
//! dataset CSV ([`TeCsv`]) and the legacy ThreatExchange state file ([`TeLegacy`]) read them
//! (NSRL 2.x's are in `nsrl.rs`).
//!
//! Records come from the text loop one line at a time, so every line stays bounded; a quoted
//! field may hold line feeds, and the record then goes on over the next lines (a blank one
//! included), up to the same bound in all, and is numbered by its first line.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};

use super::text::{at_line, label, Out, Record, Records};
use super::{parse_hex, parse_signal, quote, ListEntry, ListType};

/// The fields of one CSV record.
pub(super) struct Fields<'a> {
    data: &'a [u8],
    ends: &'a [usize],
    /// The record as read (its lines joined by line feeds), for problems.
    pub(super) raw: &'a [u8],
}

impl<'a> Fields<'a> {
    /// How many fields.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`, unquoted.
    pub(super) fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    /// The last field.
    pub(super) fn last(&self) -> Option<&'a [u8]> {
        self.get(self.len().checked_sub(1)?)
    }

    /// Every field, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A CSV record splitter fed line by line: commas separate, double quotes quote (`""` is a
/// quote inside quotes), only a line feed ends a record (a CR inside a line is data).
pub(super) struct CsvRows {
    parser: Reader,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// Bytes and field ends written for the record being read.
    written: (usize, usize),
    raw: Vec<u8>,
    /// First line of the record being read.
    line: u64,
    /// A record is open (a quoted field went on past a line end).
    pending: bool,
    /// Longest record, all its lines included.
    max: usize,
}

/// What feeding one line gave.
pub(super) enum Fed {
    /// A record ended: [`CsvRows::fields`] holds it.
    Record,
    /// The record goes on over the next line.
    More,
}

impl CsvRows {
    /// A splitter of records of at most `max` bytes.
    pub(super) fn new(max: usize) -> Self {
        CsvRows {
            parser: ReaderBuilder::new()
                .terminator(Terminator::Any(b'\n'))
                .build(),
            data: vec![0; 256],
            ends: vec![0; 16],
            written: (0, 0),
            raw: Vec::new(),
            line: 0,
            pending: false,
            max,
        }
    }

    /// True while a record is open.
    pub(super) fn pending(&self) -> bool {
        self.pending
    }

    /// The line the current record started on.
    pub(super) fn line(&self) -> u64 {
        self.line
    }

    /// Feeds line `line` (without its line end).
    ///
    /// # Errors
    /// When the record grows past the bound: it is dropped, and the reason says so.
    pub(super) fn feed(&mut self, line: u64, rec: &[u8]) -> Result<Fed, String> {
        if self.pending {
            self.raw.push(b'\n');
        } else {
            self.parser.reset();
            self.written = (0, 0);
            self.raw.clear();
            self.line = line;
        }
        if self.raw.len() + rec.len() > self.max {
            self.pending = false;
            return Err(format!(
                "record longer than {} MiB over {} lines (an unclosed quote?; skipped): {}",
                self.max >> 20,
                line - self.line + 1,
                quote(&self.raw)
            ));
        }
        self.raw.extend_from_slice(rec);
        // (An empty input would tell the parser the data ended: a blank line inside quotes is
        // its line feed alone.)
        let ended = (!rec.is_empty() && self.parse(rec)) || self.parse(b"\n");
        self.pending = !ended;
        Ok(if ended { Fed::Record } else { Fed::More })
    }

    /// Ends the input: true when an open record was closed by it (an unclosed quote).
    pub(super) fn flush(&mut self) -> bool {
        let open = std::mem::replace(&mut self.pending, false);
        open && self.parse(b"")
    }

    /// The fields of the record that just ended.
    pub(super) fn fields(&self) -> Fields<'_> {
        Fields {
            data: &self.data[..self.written.0],
            ends: &self.ends[..self.written.1],
            raw: &self.raw,
        }
    }

    /// Parses `input` into the current record: true when the record ended.
    fn parse(&mut self, mut input: &[u8]) -> bool {
        loop {
            let (res, nin, nout, nend) = self.parser.read_record(
                input,
                &mut self.data[self.written.0..],
                &mut self.ends[self.written.1..],
            );
            input = &input[nin..];
            self.written.0 += nout;
            self.written.1 += nend;
            match res {
                // Both stay within the record's bytes, which `max` bounds.
                ReadRecordResult::OutputFull => self.data.resize(self.data.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::InputEmpty => return false,
                ReadRecordResult::Record => return true,
                ReadRecordResult::End => return false,
            }
        }
    }
}

/// Feeds `r` to `rows`: the record's first line and its fields when it ended, nothing when
/// it goes on or was too long (then reported).
fn fed<'a>(rows: &'a mut CsvRows, r: &Record<'_>, out: &mut Out<'_>) -> Option<(u64, Fields<'a>)> {
    match rows.feed(r.line, r.rec) {
        Ok(Fed::Record) => Some((rows.line(), rows.fields())),
        Ok(Fed::More) => None,
        Err(reason) => {
            out.problem(rows.line(), reason);
            None
        }
    }
}

/// The columns of a ThreatExchange dataset CSV, from its header.
#[derive(Clone, Copy, Debug)]
struct CsvCols {
    kind: usize,
    value: usize,
    label: Option<usize>,
}

impl CsvCols {
    fn from_header(fields: &Fields<'_>) -> Result<CsvCols, String> {
        let col = |name: &[u8]| fields.iter().position(|f| f.trim_ascii() == name);
        match (col(b"signal_type"), col(b"signal_str")) {
            (Some(kind), Some(value)) => Ok(CsvCols {
                kind,
                value,
                label: col(b"category"),
            }),
            _ => Err("ThreatExchange CSV header without signal_type and signal_str".into()),
        }
    }
}

/// [`ListFormat::TeDataset`](super::ListFormat::TeDataset): a header naming the columns,
/// then `signal_type,signal_str,...,category,...` rows.
pub(super) struct TeCsv {
    declared: Option<ListType>,
    rows: CsvRows,
    cols: Option<CsvCols>,
}

impl TeCsv {
    pub(super) fn new(declared: Option<ListType>) -> Self {
        TeCsv {
            declared,
            rows: CsvRows::new(super::vpdq::MAX_SIGNAL_LINE),
            cols: None,
        }
    }
}

/// One record of a ThreatExchange dataset CSV: the header first, then rows.
fn te_csv_row(
    cols: &mut Option<CsvCols>,
    declared: Option<ListType>,
    fields: &Fields<'_>,
    line: u64,
    out: &mut Out<'_>,
) -> Result<(), String> {
    let Some(cols) = *cols else {
        *cols = Some(CsvCols::from_header(fields).map_err(|r| at_line(line, r))?);
        return Ok(());
    };
    let field = |i: usize| fields.get(i).map(<[u8]>::trim_ascii);
    let (Some(kind), Some(value)) = (field(cols.kind), field(cols.value)) else {
        out.problem(
            line,
            format!(
                "{} fields, no signal_type or signal_str: {}",
                fields.len(),
                quote(fields.raw)
            ),
        );
        return Ok(());
    };
    let parsed = parse_signal(kind, value, declared).map(|hash| {
        ListEntry::new(hash, line).with_label(
            cols.label
                .and_then(field)
                .filter(|l| !l.is_empty())
                .map(label),
        )
    });
    out.parsed(line, parsed);
    Ok(())
}

impl Records for TeCsv {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let TeCsv {
            declared,
            rows,
            cols,
        } = self;
        match fed(rows, &r, out) {
            Some((line, fields)) => te_csv_row(cols, *declared, &fields, line, out),
            None => Ok(()),
        }
    }

    fn pending(&self) -> bool {
        self.rows.pending()
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), String> {
        let TeCsv {
            declared,
            rows,
            cols,
        } = self;
        if !rows.flush() {
            return Ok(());
        }
        te_csv_row(cols, *declared, &rows.fields(), rows.line(), out)
    }
}

/// [`ListFormat::TeLegacy`](super::ListFormat::TeLegacy): header-less
/// `indicator,[indicator_id,]descriptor_id,added_on,labels` rows.
pub(super) struct TeLegacy {
    /// The type the file name gives.
    te_type: Option<ListType>,
    declared: Option<ListType>,
    rows: CsvRows,
}

impl TeLegacy {
    pub(super) fn new(te_type: Option<ListType>, declared: Option<ListType>) -> Self {
        TeLegacy {
            te_type,
            declared,
            rows: CsvRows::new(super::MAX_LINE),
        }
    }
}

/// One row of a legacy ThreatExchange state file.
fn te_legacy_row(
    te_type: Option<ListType>,
    declared: Option<ListType>,
    fields: &Fields<'_>,
    line: u64,
    out: &mut Out<'_>,
) {
    let (Some(indicator), true) = (fields.get(0), fields.len() >= 4) else {
        out.problem(
            line,
            format!(
                "{} fields where a legacy ThreatExchange line has 4 or 5 \
                     (indicator,[indicator_id,]descriptor_id,added_on,labels): {}",
                fields.len(),
                quote(fields.raw)
            ),
        );
        return;
    };
    let parsed = parse_hex(indicator.trim_ascii(), te_type, declared).map(|hash| {
        ListEntry::new(hash, line).with_label(
            fields
                .last()
                .map(<[u8]>::trim_ascii)
                .filter(|l| !l.is_empty())
                .map(label),
        )
    });
    out.parsed(line, parsed);
}

impl Records for TeLegacy {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if let Some((line, fields)) = fed(&mut self.rows, &r, out) {
            te_legacy_row(self.te_type, self.declared, &fields, line, out);
        }
        Ok(())
    }

    fn pending(&self) -> bool {
        self.rows.pending()
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), String> {
        if self.rows.flush() {
            let fields = self.rows.fields();
            te_legacy_row(self.te_type, self.declared, &fields, self.rows.line(), out);
        }
        Ok(())
    }
}
